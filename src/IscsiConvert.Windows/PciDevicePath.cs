using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace IscsiConvert.Windows;

/// <summary>
/// A PCI location as <c>lspci -P</c> prints it (each bridge, then the device: <c>00:1e.0/01:01.0</c>, bus:device.function
/// in hex) turned into the device-path form the Critical Device Database also accepts,
/// <c>PCIROOT(0)#PCI(1E00)#PCI(0100)</c>: the root bus, then device and function of every hop, two hex digits each
/// (Cyberus Technology, "Windows on iSCSI", part 3).
/// </summary>
public static class PciDevicePath
{
    /// <summary>Converts <paramref name="lspciPath"/>; throws <see cref="FormatException"/> naming the part that is wrong.</summary>
    public static string ToCriticalDeviceKey(string lspciPath)
    {
        if (string.IsNullOrWhiteSpace(lspciPath))
        {
            throw new FormatException("A PCI path is needed, e.g. 00:1e.0/01:01.0.");
        }
        string text = lspciPath.Trim();
        // lspci -D adds a domain (0000:00:1e.0); only domain 0 has the PCIROOT(0)… form.
        var hops = new List<(int Bus, int Device, int Function)>();
        foreach (string part in text.Split('/'))
        {
            string p = part.Trim();
            string[] fields = p.Split(':');
            if (fields.Length == 3 && int.TryParse(fields[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int domain) && domain == 0)
            {
                fields = new[] { fields[1], fields[2] };
            }
            int dot = fields.Length == 2 ? fields[1].IndexOf('.') : -1;
            if (dot < 0 ||
                !int.TryParse(fields[0], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int bus) || bus > 0xFF ||
                !int.TryParse(fields[1].Substring(0, dot), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int device) || device > 0x1F ||
                !int.TryParse(fields[1].Substring(dot + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int function) || function > 7)
            {
                throw new FormatException($"'{p}' in the PCI path '{text}' is not bus:device.function in hex (00:1e.0; device up to 1f, function up to 7).");
            }
            hops.Add((bus, device, function));
        }
        var key = new StringBuilder();
        key.Append("PCIROOT(").Append(hops[0].Bus.ToString("X", CultureInfo.InvariantCulture)).Append(')');
        foreach ((_, int device, int function) in hops)
        {
            key.Append("#PCI(").Append(device.ToString("X2", CultureInfo.InvariantCulture)).Append(function.ToString("X2", CultureInfo.InvariantCulture)).Append(')');
        }
        return key.ToString();
    }
}
