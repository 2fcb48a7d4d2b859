using System.Collections.Generic;
using System.Linq;
using IscsiConvert.Drivers;

namespace IscsiConvert.Windows;

/// <summary>
/// The service key of a supplied package's function driver, from its AddService section and the service's AddReg
/// (HKR = the service key), as setup writes it; the start type is the boot's (0), not the INF's.
/// </summary>
internal static class ServiceKeyPlan
{
    /// <summary>Plans the service key of <paramref name="driver"/>'s service.</summary>
    /// <param name="ctx">The plan being built.</param>
    /// <param name="driver">The supplied driver whose AddService and AddReg are written.</param>
    /// <param name="storeFolder">The driver store folder the package is staged in, or null.</param>
    /// <param name="imagePathRooted">
    /// Windows 8 and later write a third-party driver's ImagePath as \SystemRoot\System32\drivers\x.sys (the real Windows
    /// 10 hive's oem services); XP – 7 as System32\drivers\x.sys, relative to the Windows folder.
    /// </param>
    /// <param name="owner">The oemN.inf that owns the service (Owners, REG_MULTI_SZ, Windows 8 and later), or null.</param>
    public static void Plan(BootPlanContext ctx, SuppliedDriver driver, string? storeFolder, bool imagePathRooted, string? owner)
    {
        InfService function = driver.Function;
        string key = $@"{ctx.ControlSet}\Services\{function.Name}";
        HiveEdits h = ctx.System;
        h.SetDWord(key, "Type", (uint)(function.ServiceType ?? 1));
        h.SetDWord(key, "Start", 0);
        h.SetDWord(key, "ErrorControl", (uint)(function.ErrorControl ?? 1));
        if (driver.ServiceBinaryPath(storeFolder) is { } binary)
        {
            string relative = binary.StartsWith(WindowsInstallation.WindowsFolder + @"\", System.StringComparison.OrdinalIgnoreCase)
                ? binary.Substring(WindowsInstallation.WindowsFolder.Length + 1)
                : binary.TrimStart('\\');
            h.SetExpandString(key, "ImagePath", imagePathRooted ? @"\SystemRoot\" + relative : relative);
        }
        if (function.LoadOrderGroup is { Length: > 0 } group)
        {
            h.SetString(key, "Group", group);
        }
        if (function.DisplayName is { Length: > 0 } display)
        {
            // Windows 8 and later keep an INF string reference for a third-party service: "@oem11.inf,%iwdbus.SVCDESC%;IWD
            // Bus Enumerator" in the real Windows 10 hive. XP – 7 write the text.
            string? raw = driver.Package.Inf.GetSection(function.InstallSection)?.Lines.FirstOrDefault(l => l.KeyIs("DisplayName"))?.RawText;
            h.SetString(key, "DisplayName", owner is not null && raw is not null && DriverDatabaseRules.InfToken(raw) is { } token
                ? $"@{owner},%{token}%;{display}"
                : display);
        }
        if (function.Description is { Length: > 0 } description)
        {
            h.SetString(key, "Description", description);
        }
        if (owner is not null)
        {
            h.SetMultiString(key, "Owners", new[] { owner });
        }
        var skipped = new List<string>();
        InfRegistryData.Plan(h, key, function.Registry, skipped);
        foreach (string s in skipped)
        {
            ctx.Warnings.Add($"{driver.InfName} service {function.Name}: {s}");
        }
    }
}
