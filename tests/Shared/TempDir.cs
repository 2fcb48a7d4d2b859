using System;
using System.IO;

namespace IscsiConvert.Tests;

/// <summary>A fresh scratch folder, deleted with everything in it on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates the folder under the system temp folder.</summary>
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "iscsiconvert-tests", System.IO.Path.GetRandomFileName());
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
