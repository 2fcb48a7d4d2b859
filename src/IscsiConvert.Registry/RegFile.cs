using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace IscsiConvert.Registry;

/// <summary>The dialect of a .reg file, from its header line.</summary>
public enum RegFileFormat
{
    /// <summary>"REGEDIT4": ANSI text (Windows NT 4 and 9x regedit); hex(1), hex(2) and hex(7) data are ANSI strings.</summary>
    Regedit4,

    /// <summary>"Windows Registry Editor Version 5.00": UTF-16LE text with a byte order mark, as regedit exports it.</summary>
    Regedit5,
}

/// <summary>
/// A regedit .reg file read into typed operations (<see cref="Operations"/>), to inspect or to apply to an offline
/// hive with <see cref="ApplyTo"/>. The whole file is read and checked before anything is applied, so a bad file never
/// leaves a hive half-edited. Mapping <c>HKEY_LOCAL_MACHINE\SYSTEM\…</c> onto the SYSTEM hive's root is the caller's
/// choice, given as <see cref="RegFileOptions.RootPrefix"/>.
/// </summary>
public sealed class RegFile
{
    // Far beyond any real .reg file; bounds the memory a hostile file can make us use.
    private const long MaxFileBytes = 256L << 20;

    private RegFile(string fileName, RegFileFormat format, IReadOnlyList<RegFileOperation> operations)
    {
        FileName = fileName;
        Format = format;
        Operations = operations;
    }

    /// <summary>The file the operations came from (the path, or the name given for a stream or text).</summary>
    public string FileName { get; }

    /// <summary>The dialect named by the header.</summary>
    public RegFileFormat Format { get; }

    /// <summary>The operations in file order.</summary>
    public IReadOnlyList<RegFileOperation> Operations { get; }

    /// <summary>Reads a .reg file: UTF-16 with a byte order mark (regedit 5.00), UTF-8 with one, or ANSI text.</summary>
    /// <exception cref="RegFileParseException">The file is not valid .reg text; the message names the line and column.</exception>
    public static RegFile Load(string path, RegFileOptions? options = null)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(stream, path, options);
    }

    /// <summary>Reads .reg content from a stream (from its position); <paramref name="fileName"/> names it in errors.</summary>
    public static RegFile Read(Stream stream, string fileName, RegFileOptions? options = null)
    {
        if (stream is null)
        {
            throw new ArgumentNullException(nameof(stream));
        }
        if (fileName is null)
        {
            throw new ArgumentNullException(nameof(fileName));
        }
        options ??= new RegFileOptions();
        var buffer = new MemoryStream();
        byte[] chunk = new byte[1 << 16];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > MaxFileBytes)
            {
                throw new RegFileParseException(fileName, 1, 1, $"the file is larger than {MaxFileBytes >> 20} MiB; no .reg file is that large");
            }
            buffer.Write(chunk, 0, n);
        }
        return Parse(Decode(buffer.ToArray(), options.AnsiEncoding), fileName, options);
    }

    /// <summary>Reads .reg text that is already decoded; <paramref name="fileName"/> names it in errors.</summary>
    public static RegFile Parse(string text, string fileName, RegFileOptions? options = null)
    {
        if (text is null)
        {
            throw new ArgumentNullException(nameof(text));
        }
        if (fileName is null)
        {
            throw new ArgumentNullException(nameof(fileName));
        }
        var parser = new RegFileParser(text.Length > 0 && text[0] == '\uFEFF' ? text.Substring(1) : text, fileName, options ?? new RegFileOptions());
        List<RegFileOperation> operations = parser.Parse();
        return new RegFile(fileName, parser.Format, operations.AsReadOnly());
    }

    private static string Decode(byte[] bytes, Encoding? ansi)
    {
        if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE)
        {
            return Encoding.Unicode.GetString(bytes, 2, bytes.Length - 2);
        }
        if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF)
        {
            return Encoding.BigEndianUnicode.GetString(bytes, 2, bytes.Length - 2);
        }
        if (bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
        {
            return Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3);
        }
        return Windows1252.Decode(bytes, ansi);
    }

    /// <summary>
    /// Applies every operation in order to a hive opened writable: keys are created (with missing parents, as regedit
    /// does) or deleted with their subtrees, values set or deleted. Operations that find the hive already as asked —
    /// an existing key, a value with the same type and data, a deletion of something absent — change nothing, so
    /// applying a file twice leaves the hive unmodified the second time. Nothing is saved: call
    /// <see cref="RegistryHive.Save"/> (or drop the hive for a dry run).
    /// </summary>
    public RegFileApplyResult ApplyTo(RegistryHive hive)
    {
        if (hive is null)
        {
            throw new ArgumentNullException(nameof(hive));
        }
        hive.EnsureWritable();
        var changed = new List<RegFileOperation>();
        int unchanged = 0;
        foreach (RegFileOperation op in Operations)
        {
            if (Apply(hive, op))
            {
                changed.Add(op);
            }
            else
            {
                unchanged++;
            }
        }
        return new RegFileApplyResult(changed.AsReadOnly(), unchanged);
    }

    private static bool Apply(RegistryHive hive, RegFileOperation op)
    {
        RegistryKey? key = hive.OpenKey(op.KeyPath);
        switch (op.Kind)
        {
            case RegFileOperationKind.CreateKey:
                if (key is not null)
                {
                    return false;
                }
                hive.Root.CreateSubkey(op.KeyPath);
                return true;
            case RegFileOperationKind.DeleteKey:
                if (key is null)
                {
                    return false;
                }
                int cut = op.KeyPath.LastIndexOf('\\');
                RegistryKey parent = cut < 0 ? hive.Root : hive.OpenKey(op.KeyPath.Substring(0, cut))!;
                return parent.DeleteSubkeyTree(key.Name);
            case RegFileOperationKind.DeleteValue:
                return key is not null && key.DeleteValue(op.ValueName!);
            default:
                bool created = key is null;
                key ??= hive.Root.CreateSubkey(op.KeyPath);
                return key.SetValue(op.ValueName!, op.Type, op.Data) | created;
        }
    }
}

/// <summary>What <see cref="RegFile.ApplyTo"/> did: the operations that changed the hive, and how many found it as asked.</summary>
public sealed class RegFileApplyResult
{
    internal RegFileApplyResult(IReadOnlyList<RegFileOperation> changed, int unchanged)
    {
        Changed = changed;
        Unchanged = unchanged;
    }

    /// <summary>The operations that changed something, in file order.</summary>
    public IReadOnlyList<RegFileOperation> Changed { get; }

    /// <summary>The number of operations that found the hive already as they asked (no change).</summary>
    public int Unchanged { get; }
}
