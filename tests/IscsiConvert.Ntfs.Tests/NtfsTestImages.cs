using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using IscsiConvert.Ntfs;
using IscsiConvert.Storage;
using IscsiConvert.Storage.Partitions;

namespace IscsiConvert.Tests;

/// <summary>An NTFS volume opened through the Storage layer: the disk image, its partition (if any) and the volume.</summary>
internal sealed class OpenedVolume : IDisposable
{
    private readonly VirtualDisk _disk;

    private OpenedVolume(VirtualDisk disk, NtfsVolume volume)
    {
        _disk = disk;
        Volume = volume;
    }

    public NtfsVolume Volume { get; }

    /// <summary>Opens a disk image; with a partition table the single NTFS partition, else the whole disk as a bare volume.</summary>
    public static OpenedVolume Open(string imagePath, NtfsOpenOptions? options = null)
    {
        VirtualDisk disk = DiskImage.Open(imagePath);
        try
        {
            PartitionTable? table = PartitionTable.Read(disk);
            SparseStream stream = table is null ? disk.Content : table.Open(table.Partitions.Single(p => p.MbrType == 0x07 || p.TypeName.Contains("data", StringComparison.OrdinalIgnoreCase)));
            return new OpenedVolume(disk, NtfsVolume.Open(stream, new NtfsOpenOptions { FilePath = imagePath, LeaveOpen = true, FollowJunctions = options?.FollowJunctions ?? false }));
        }
        catch
        {
            disk.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Volume.Dispose();
        _disk.Dispose();
    }
}

/// <summary>Runs an oracle whose standard output is binary (icat, ntfscat) and hashes it.</summary>
internal static class BinaryOracle
{
    public static (int ExitCode, string Sha256, long Length) Sha256Of(string tool, params string[] arguments)
    {
        var psi = new ProcessStartInfo(Oracle.Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1 << 16];
        long length = 0;
        Stream output = process.StandardOutput.BaseStream;
        int n;
        while ((n = output.Read(buffer, 0, buffer.Length)) > 0)
        {
            sha.AppendData(buffer, 0, n);
            length += n;
        }
        process.WaitForExit();
        _ = stderr.GetAwaiter().GetResult();
        return (process.ExitCode, Convert.ToHexString(sha.GetHashAndReset()), length);
    }

    /// <summary>The tool's whole standard output (for small outputs such as $Secure:$SDS); a failing tool fails the test.</summary>
    public static byte[] Bytes(string tool, params string[] arguments)
    {
        var psi = new ProcessStartInfo(Oracle.Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        string errors = stderr.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {errors}");
        }
        return output.ToArray();
    }

    public static string Sha256(Stream stream)
    {
        using var sha = SHA256.Create();
        return Convert.ToHexString(sha.ComputeHash(stream));
    }
}
