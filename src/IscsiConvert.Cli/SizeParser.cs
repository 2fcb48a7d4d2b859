using System;
using System.Globalization;

namespace IscsiConvert.Cli;

/// <summary>Parses sizes such as "64G", "512MiB", "1.5T" or "1048576" (binary units: K = 1024).</summary>
internal static class SizeParser
{
    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        string s = text.Trim();
        if (s.EndsWith("iB", StringComparison.OrdinalIgnoreCase))
        {
            s = s.Substring(0, s.Length - 2);
        }
        else if (s.EndsWith("B", StringComparison.OrdinalIgnoreCase) && s.Length > 1 && !char.IsDigit(s[s.Length - 2]))
        {
            s = s.Substring(0, s.Length - 1);
        }
        long unit = 1;
        if (s.Length > 0 && char.IsLetter(s[s.Length - 1]))
        {
            unit = char.ToUpperInvariant(s[s.Length - 1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                'P' => 1L << 50,
                _ => 0,
            };
            if (unit == 0)
            {
                return false;
            }
            s = s.Substring(0, s.Length - 1);
        }
        if (!decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal number) || number <= 0)
        {
            return false;
        }
        decimal total = number * unit;
        if (total > long.MaxValue)
        {
            return false;
        }
        bytes = (long)Math.Ceiling(total);
        return true;
    }

    /// <summary>Formats a byte count the way `qemu-img info` does in its human lines: "10 GiB", "1.5 MiB".</summary>
    public static string Format(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        double value = bytes;
        int i = 0;
        while (value >= 1024 && i < units.Length - 1)
        {
            value /= 1024;
            i++;
        }
        return i == 0 ? $"{bytes} B" : value.ToString(value % 1 == 0 ? "0" : "0.##", CultureInfo.InvariantCulture) + " " + units[i];
    }
}
