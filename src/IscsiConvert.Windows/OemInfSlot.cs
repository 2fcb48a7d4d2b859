using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using IscsiConvert.Ntfs;

namespace IscsiConvert.Windows;

/// <summary>
/// The \Windows\INF\oemN.inf name a supplied INF is published under. An oemN.inf with the same bytes is the same INF
/// already published (by us or by Windows' setup) and is reused, as setup does; otherwise the lowest N that neither
/// the INF folder nor DriverDatabase\OemInfMap has taken. OemInfMap (Windows 8 and later) is a bitmap, most
/// significant bit first: the real Windows 10 hive in testdata holds "ff fc", oem0 – oem13 taken.
/// </summary>
internal sealed class OemInfSlot
{
    private OemInfSlot(int number, bool reused)
    {
        Number = number;
        Reused = reused;
    }

    public int Number { get; }

    /// <summary>True when an oemN.inf with the same content was already there.</summary>
    public bool Reused { get; }

    public string FileName => "oem" + Number.ToString(CultureInfo.InvariantCulture) + ".inf";

    public static OemInfSlot Choose(WindowsInstallation installation, byte[] infBytes, byte[]? oemInfMap, ISet<int> takenByPlan)
    {
        var taken = new HashSet<int>(takenByPlan);
        foreach (string name in installation.ListInfFiles())
        {
            if (Parse(name) is not int n)
            {
                continue;
            }
            taken.Add(n);
            string path = WindowsInstallation.WindowsFolder + @"\INF\" + name;
            NtfsEntry existing = installation.Volume.GetEntry(path);
            if (!takenByPlan.Contains(n) && existing.ReparseTag is null && existing.Size == infBytes.Length && SameBytes(installation.Volume, path, infBytes))
            {
                return new OemInfSlot(n, reused: true);
            }
        }
        int number = 0;
        while (taken.Contains(number) || IsSet(oemInfMap, number))
        {
            number++;
        }
        return new OemInfSlot(number, reused: false);
    }

    /// <summary>The bitmap with <paramref name="number"/>'s bit set (grown as needed; the input is not changed).</summary>
    public static byte[] SetBit(byte[]? oemInfMap, int number)
    {
        var map = new byte[Math.Max(oemInfMap?.Length ?? 0, number / 8 + 1)];
        oemInfMap?.CopyTo(map, 0);
        map[number / 8] |= (byte)(0x80 >> (number % 8));
        return map;
    }

    public static bool IsSet(byte[]? oemInfMap, int number) =>
        oemInfMap is not null && number / 8 < oemInfMap.Length && (oemInfMap[number / 8] & (0x80 >> (number % 8))) != 0;

    private static int? Parse(string name)
    {
        if (name.Length > 7 && name.StartsWith("oem", StringComparison.OrdinalIgnoreCase) && name.EndsWith(".inf", StringComparison.OrdinalIgnoreCase) &&
            int.TryParse(name.Substring(3, name.Length - 7), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n < 100_000)
        {
            return n;
        }
        return null;
    }

    private static bool SameBytes(NtfsVolume volume, string path, byte[] expected)
    {
        using Stream s = volume.OpenFile(path);
        var buffer = new byte[expected.Length];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = s.Read(buffer, read, buffer.Length - read);
            if (n == 0)
            {
                return false;
            }
            read += n;
        }
        return buffer.AsSpan().SequenceEqual(expected);
    }
}
