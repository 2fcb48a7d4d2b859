using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Storage.Journal;

/// <summary>
/// One write transaction over the writable files of an image: enlists their <see cref="JournaledFileStream"/>s, owns
/// the <see cref="ImageJournal"/> beside the primary file, and ends by <see cref="Commit"/> or <see cref="Abort"/>.
/// </summary>
internal sealed class WriteTransactionCore
{
    private readonly List<(string RelativeName, JournaledFileStream File)> _files;
    private readonly ILogger _logger;
    private bool _ended;

    private WriteTransactionCore(ImageJournal journal, List<(string, JournaledFileStream)> files, ILogger logger)
    {
        Journal = journal;
        _files = files;
        _logger = logger;
    }

    public ImageJournal Journal { get; }

    public bool Ended => _ended;

    /// <summary>Starts a transaction over <paramref name="files"/> (the first is the primary file, beside which the journal lies).</summary>
    public static WriteTransactionCore Begin(IReadOnlyList<JournaledFileStream> files, ILogger logger)
    {
        JournaledFileStream primary = files[0];
        string folder = Path.GetDirectoryName(primary.FilePath) ?? ".";
        var named = new List<(string, JournaledFileStream)>();
        foreach (JournaledFileStream f in files)
        {
            if (f.InTransaction)
            {
                throw new InvalidOperationException($"{f.FilePath} is already in a write transaction.");
            }
            named.Add((RelativeName(folder, f.FilePath), f));
        }
        var core = new WriteTransactionCore(ImageJournal.Create(primary.FilePath), named, logger);
        foreach (JournaledFileStream f in files)
        {
            f.Enlist(core);
        }
        logger.LogDebug("Began a write transaction on {ImagePath} ({Files} file(s)), journal {Journal}", primary.FilePath, files.Count, core.Journal.Path);
        return core;
    }

    // Journal entries name files relative to the journal's folder, so that an image moved with its journal still recovers.
    private static string RelativeName(string folder, string path)
    {
        string prefix = folder.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? folder : folder + Path.DirectorySeparatorChar;
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new UnsupportedFormatException($"A write transaction needs every file of the image in the primary file's folder or below it; {path} is not", path);
        }
        return path.Substring(prefix.Length).Replace(Path.DirectorySeparatorChar, '/');
    }

    public void Commit()
    {
        ThrowIfEnded();
        _ended = true;
        var touched = _files.Where(f => f.File.Overlay!.Touched).ToList();
        try
        {
            if (touched.Count == 0)
            {
                Journal.Discard();
            }
            else
            {
                Journal.Commit(touched.Select(f => (f.RelativeName, f.File.Overlay!, (Stream)f.File.Inner)).ToList(), _logger);
            }
        }
        catch
        {
            // A failure after the commit point leaves the journal for the next open to finish; before it, the image is untouched.
            foreach ((_, JournaledFileStream f) in _files)
            {
                f.Leave(committed: false);
            }
            Journal.Dispose();
            throw;
        }
        foreach ((_, JournaledFileStream f) in _files)
        {
            f.Leave(committed: true);
        }
    }

    /// <summary>Ends the transaction without committing: the journal is deleted and no byte of the image was written.</summary>
    public void Abort()
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        foreach ((_, JournaledFileStream f) in _files)
        {
            f.Leave(committed: false);
        }
        Journal.Discard();
        _logger.LogDebug("Rolled back the write transaction of {Journal}", Journal.Path);
    }

    private void ThrowIfEnded()
    {
        if (_ended)
        {
            throw new InvalidOperationException("The write transaction has ended (committed or rolled back).");
        }
    }
}
