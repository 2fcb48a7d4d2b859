using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Registry;

namespace IscsiConvert.Windows;

/// <summary>
/// Windows 8 – 11 and Server 2012 – 2025 (a DriverDatabase in SYSTEM): no Critical Device Database. A supplied package
/// is staged the way offline DISM leaves it — driver store folder, oemN.inf, catalog, DriverDatabase keys in SYSTEM
/// and (on builds that have it) the DRIVERS hive, files, service — and the service becomes a boot driver: Start = 0
/// and the network-boot BootFlags bit for the NIC. A driver the image already has only gets the start values.
/// Every key and value has the name, type and layout Windows wrote for its own packages in the real Windows 10 hive
/// in testdata (docs/windows.md lists them with their sources).
/// </summary>
internal sealed class DriverDatabaseRules
{
    // BootFlags bit read by the boot loader: when it booted from the network (an iBFT is present), load this driver as
    // a boot driver. Windows sets it on its own NIC services (e1iexpress), Tcpip and iScsiPrt.
    internal const uint NetworkBootFlag = 0x1;

    // DriverPackages\<pkg> values of a third-party (oemN.inf) package. Version's first byte is 0x00 for them and 0xFF
    // for inbox packages; bytes 1 – 3 (ff 09 00) are the same in every package of the real hive.
    private const byte ThirdPartyVersionMarker = 0x00;
    private const int VersionLength = 48;
    // StatusFlags 0x12 and ConfigScope 7 are what the real hive's oem packages and PCI configurations carry.
    private const uint StatusFlags = 0x12;
    private const uint ConfigScope = 0x7;
    // We do not verify catalog signatures offline; 0x0D000004 with an empty SignerName is what lxc/distrobuilder writes
    // for the packages it stages offline (windows/driver_netkvm.go).
    private const uint SignerScore = 0x0D000004;

    private readonly DateTime _importDate;

    public DriverDatabaseRules(DateTime importDateUtc)
    {
        _importDate = importDateUtc;
    }

    public void Plan(BootPlanContext ctx, BootDevice device, DriverChoice choice)
    {
        string serviceKey = $@"{ctx.ControlSet}\Services\{choice.Service}";
        if (choice.Supplied is { } driver)
        {
            Stage(ctx, driver);
        }
        else if (ctx.System.Hive.OpenKey(serviceKey) is null)
        {
            throw new NotSupportedException($"The image has no service {choice.Service}; supply the driver package that installs it.");
        }
        ctx.System.SetDWord(serviceKey, "Start", 0);
        if (device.Role == BootDeviceRole.Network)
        {
            uint flags = RegistryChange.ReadDWord(ctx.System.Current(serviceKey, "BootFlags")) ?? 0;
            ctx.System.SetDWord(serviceKey, "BootFlags", flags | NetworkBootFlag);
        }
    }

    /// <summary>
    /// Stages a supplied package as offline DISM does: driver store folder, oemN.inf, catalog, files, the service key
    /// (boot start) and the DriverDatabase keys of SYSTEM and (where there is one) DRIVERS.
    /// </summary>
    public void Stage(BootPlanContext ctx, SuppliedDriver driver)
    {
        string store = driver.StoreFolderName(neutral: false);
        byte[]? map = CombinedOemInfMap(ctx);
        OemInfSlot slot = OemInfSlot.Choose(ctx.Installation, driver.InfBytes, map, ctx.OemNumbers);
        ctx.OemNumbers.Add(slot.Number);
        CriticalDeviceRules.StageFiles(ctx, driver, store, slot);
        ServiceKeyPlan.Plan(ctx, driver, store, imagePathRooted: true, owner: slot.FileName);
        PlanDatabase(ctx.System, ctx, driver, store, slot);
        if (ctx.Drivers is { } drivers)
        {
            PlanDatabase(drivers, ctx, driver, store, slot);
        }
    }

    // The oemN numbers taken per OemInfMap, in SYSTEM and in DRIVERS (either may be behind the other).
    private static byte[]? CombinedOemInfMap(BootPlanContext ctx)
    {
        byte[]? a = ctx.System.Current("DriverDatabase", "OemInfMap")?.GetBytes();
        byte[]? b = ctx.Drivers?.Current("DriverDatabase", "OemInfMap")?.GetBytes();
        if (a is null || b is null)
        {
            return a ?? b;
        }
        var map = new byte[Math.Max(a.Length, b.Length)];
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = (byte)((i < a.Length ? a[i] : 0) | (i < b.Length ? b[i] : 0));
        }
        return map;
    }

    private void PlanDatabase(HiveEdits h, BootPlanContext ctx, SuppliedDriver driver, string store, OemInfSlot slot)
    {
        const string Root = "DriverDatabase";
        string oem = slot.FileName;
        byte[]? map = h.Current(Root, "OemInfMap")?.GetBytes();
        if (!OemInfSlot.IsSet(map, slot.Number))
        {
            h.SetBinary(Root, "OemInfMap", OemInfSlot.SetBit(map, slot.Number));
        }
        InfFile inf = driver.Package.Inf;
        IReadOnlyList<InfModel> models = inf.GetModels(ctx.Target);
        // Each install section the models use, as the section chosen on the target (scsi_inst.NTamd64), with its function service.
        var configurations = new List<(string Section, string? Service, InfInstall Install)>();
        foreach (InfModel m in models)
        {
            if (inf.ChooseInstallSection(m.InstallSection, ctx.Target) is { } chosen && !configurations.Any(c => string.Equals(c.Section, chosen, StringComparison.OrdinalIgnoreCase)))
            {
                InfInstall install = inf.ResolveInstall(m.InstallSection, ctx.Target);
                configurations.Add((chosen, install.FunctionDriver?.Name, install));
            }
        }

        string infKey = $@"{Root}\DriverInfFiles\{oem}";
        h.SetMultiString(infKey, string.Empty, new[] { store });
        h.SetString(infKey, "Active", store);
        h.SetMultiString(infKey, "Configurations", configurations.Select(c => c.Section));

        string classGuid = Guid.Parse(inf.Version.ClassGuid!).ToString("B");
        foreach (InfModel m in models)
        {
            var ids = new List<string> { m.HardwareId };
            ids.AddRange(m.CompatibleIds);
            for (int i = 0; i < ids.Count; i++)
            {
                // The rank byte: 1 for the model line's hardware ID, 2 and up for its compatible IDs in order (the
                // real hive's 01 ff 00 00 / 02 ff 00 00; lxc/distrobuilder writes the same for netkvm's two IDs).
                h.SetBinary($@"{Root}\DeviceIds\{ids[i]}", oem, new byte[] { (byte)Math.Min(i + 1, 0xFF), 0xFF, 0x00, 0x00 });
            }
        }
        h.Set($@"{Root}\DeviceIds\{classGuid}", oem, RegistryValueType.None, Array.Empty<byte>());

        string pkg = $@"{Root}\DriverPackages\{store}";
        h.SetString(pkg, string.Empty, oem);
        h.SetBinary(pkg, "Version", EncodeVersion(Guid.Parse(inf.Version.ClassGuid!), inf.Version.DriverDate, inf.Version.DriverVersion));
        h.SetString(pkg, "Provider", inf.Version.Provider ?? string.Empty);
        h.SetDWord(pkg, "SignerScore", SignerScore);
        h.SetDWord(pkg, "StatusFlags", StatusFlags);
        h.SetString(pkg, "InfName", driver.OriginalInfName);
        h.SetString(pkg, "OemPath", $@"C:\Windows\System32\DriverStore\FileRepository\{store}");
        h.SetString(pkg, "SignerName", string.Empty);
        h.Set(pkg, "ImportDate", RegistryValueType.Binary, FileTime(_importDate), keepExisting: true);
        foreach ((string section, string? service, InfInstall install) in configurations)
        {
            string config = $@"{pkg}\Configurations\{section}";
            h.SetDWord(config, "ConfigFlags", 0);
            h.SetDWord(config, "ConfigScope", ConfigScope);
            if (service is not null)
            {
                h.SetString(config, "Service", service);
                // The service's AddReg, as Windows keeps it for the package (stornvme's Services\stornvme\Parameters).
                var skipped = new List<string>();
                InfRegistryData.Plan(h, $@"{config}\Services\{service}", install.FunctionDriver!.Registry, skipped);
            }
        }
        // Descriptors keep the INF's %token% (lower case, as Windows writes "%pci\cc_010802.devicedesc%") and the
        // package's Strings key resolves it; text written literally in the INF stays literal.
        var strings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        string Token(string raw, string resolved)
        {
            if (InfToken(raw) is not { } token)
            {
                return resolved;
            }
            strings[token.ToLowerInvariant()] = resolved;
            return "%" + token.ToLowerInvariant() + "%";
        }
        foreach (InfModel m in models)
        {
            if (inf.ChooseInstallSection(m.InstallSection, ctx.Target) is not { } chosen)
            {
                continue;
            }
            foreach (string id in new[] { m.HardwareId }.Concat(m.CompatibleIds))
            {
                string descriptor = $@"{pkg}\Descriptors\{id}";
                h.SetString(descriptor, "Configuration", chosen);
                h.SetString(descriptor, "Description", Token(m.RawDescription, m.Description));
                h.SetString(descriptor, "Manufacturer", Token(m.RawManufacturer, m.Manufacturer));
            }
        }
        foreach (KeyValuePair<string, string> s in strings)
        {
            h.SetString($@"{pkg}\Strings", s.Key, s.Value);
        }
    }

    /// <summary>The name of a text that is exactly one %token% reference, or null.</summary>
    internal static string? InfToken(string raw)
    {
        string t = raw.Trim();
        return t.Length > 2 && t[0] == '%' && t[t.Length - 1] == '%' && t.IndexOf('%', 1) == t.Length - 1 ? t.Substring(1, t.Length - 2) : null;
    }

    /// <summary>
    /// DriverPackages\&lt;pkg&gt;\Version, 48 bytes as the real Windows 10 hive holds them: 00 ff 09 00 (third party),
    /// 4 zero bytes, the class GUID (GUID byte order), the DriverVer date as a FILETIME, the DriverVer version as
    /// major.minor.build.revision in 16-bit parts from the high end of a little-endian 64-bit number, 8 zero bytes.
    /// </summary>
    internal static byte[] EncodeVersion(Guid classGuid, DateTime? driverDate, Version? driverVersion)
    {
        var v = new byte[VersionLength];
        v[0] = ThirdPartyVersionMarker;
        v[1] = 0xFF;
        v[2] = 0x09;
        classGuid.ToByteArray().CopyTo(v, DriverDatabase.VersionClassGuidOffset);
        if (driverDate is DateTime d)
        {
            BinaryPrimitives.WriteInt64LittleEndian(v.AsSpan(DriverDatabase.VersionDateOffset), DateTime.SpecifyKind(d.Date, DateTimeKind.Utc).ToFileTimeUtc());
        }
        if (driverVersion is Version ver)
        {
            ulong packed = ((ulong)(ushort)Math.Max(ver.Major, 0) << 48) | ((ulong)(ushort)Math.Max(ver.Minor, 0) << 32) |
                ((ulong)(ushort)Math.Max(ver.Build, 0) << 16) | (ushort)Math.Max(ver.Revision, 0);
            BinaryPrimitives.WriteUInt64LittleEndian(v.AsSpan(DriverDatabase.VersionVersionOffset), packed);
        }
        return v;
    }

    private static byte[] FileTime(DateTime utc)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToFileTimeUtc());
        return b;
    }
}
