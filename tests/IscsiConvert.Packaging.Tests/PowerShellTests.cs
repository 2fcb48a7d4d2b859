using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Packaging.Tests;

/// <summary>
/// The PowerShell module for real: PowerShell 7 (a dotnet tool), the netstandard2.0 assemblies loaded with Add-Type,
/// the module imported, an image inspected, planned (-WhatIf) and prepared to a copy by the recipe script
/// docs/recipes/powershell/Prepare-IscsiImage.ps1, the result read back by the oracles.
/// </summary>
public sealed class PowerShellTests : IClassFixture<BuiltModule>
{
    private readonly string _module;

    public PowerShellTests(BuiltModule module)
    {
        _module = module.Folder;
    }

    private static string Recipe => Path.Combine(TestData.RepoRoot, "docs", "recipes", "powershell", "Prepare-IscsiImage.ps1");

    [Fact]
    public void AddTypeThenTheModulePreparesACopyAndLeavesTheImage()
    {
        using var tmp = new TempDir();
        string image = SampleImage.Create(tmp.File("golden.img"));
        string output = tmp.File("iscsi.img");

        // Add-Type from the lib folder, then the module from the repository (which finds the types loaded).
        ToolResult r = PowerShell.RunScript(tmp.Path, Recipe, "-Image", image, "-Nic", SampleImage.BootNic, "-Output", output,
            "-ModulePath", Path.Combine(TestData.RepoRoot, "powershell", "IscsiConvert", "IscsiConvert.psd1"), "-LibPath", Path.Combine(_module, "lib"));
        Programs.Checked(r);

        Assert.Contains("Windows: Windows 7 Professional", r.StdOut, StringComparison.Ordinal);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(output + ".report.json"));
        JsonElement root = report.RootElement;
        Assert.True(root.GetProperty("Applied").GetBoolean());
        int planned = root.GetProperty("Planned").GetInt32();
        Assert.True(planned > 0);
        Assert.Equal(planned, root.GetProperty("Changes").GetArrayLength());
        Assert.Contains(root.GetProperty("Changes").EnumerateArray(), c => c.GetProperty("Name").GetString() == "Start" && c.GetProperty("NewValue").GetString() == "0");
        JsonElement installation = root.GetProperty("Installations").EnumerateArray().Single();
        Assert.Equal("ControlSet001", installation.GetProperty("ControlSet").GetString());
        Assert.Contains(installation.GetProperty("Drivers").EnumerateArray(), d => d.GetProperty("InfName").GetString()!.Equals("net1000.inf", StringComparison.OrdinalIgnoreCase));

        SampleImage.AssertUnprepared(tmp, image);
        SampleImage.AssertPrepared(tmp, output);
    }

    private static string BuilderRecipe => Path.Combine(TestData.RepoRoot, "docs", "recipes", "powershell", "Use-IscsiBootBuilder.ps1");

    /// <summary>
    /// The fluent API called from a PowerShell script with no module in between (docs/recipes/powershell/Use-IscsiBootBuilder.ps1):
    /// Add-Type, <c>[IscsiConvert.Windows.WindowsImage]::Open</c>, a plain <c>IscsiBootBuilder</c> chain passed to
    /// <c>PrepareIscsiBoot</c>, then <c>Apply()</c> in place — a second run plans nothing and writes no byte — and
    /// <c>ApplyTo(child)</c> over an untouched copy, read back through qemu-img. The oracles (ntfscat, hivexget) say
    /// what was written.
    /// </summary>
    [Fact]
    public void AScriptUsesTheBuilderDirectlyInPlaceAndIntoADifferencingChild()
    {
        using var tmp = new TempDir();
        string lib = Path.Combine(_module, "lib");
        string image = SampleImage.Create(tmp.File("golden.img"));
        string pristine = tmp.File("pristine.img");
        File.Copy(image, pristine);

        string output = Programs.Checked(PowerShell.RunScript(tmp.Path, BuilderRecipe, "-Image", image, "-Nic", SampleImage.BootNic, "-LibPath", lib));
        Assert.Contains("builder: ", output, StringComparison.Ordinal);
        Assert.Contains(@"  SYSTEM\ControlSet001\Services\E1G60\Start = REG_DWORD 0 (was 3)", output, StringComparison.Ordinal);
        Assert.Matches(@"plan: [1-9]\d* value\(s\), 0 file\(s\), empty: False", output);
        Assert.Matches(@"applied: True, [1-9]\d* value\(s\) written to ", output);
        SampleImage.AssertPrepared(tmp, image);

        // A no-op: the same builder again plans nothing and the image keeps every byte.
        string prepared = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(image)));
        output = Programs.Checked(PowerShell.RunScript(tmp.Path, BuilderRecipe, "-Image", image, "-Nic", SampleImage.BootNic, "-LibPath", lib));
        Assert.Contains("plan: 0 value(s), 0 file(s), empty: True", output, StringComparison.Ordinal);
        Assert.Equal(prepared, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(image))));

        // Into a differencing child (a QCOW2 overlay over a raw image): the parent stays as it was.
        string before = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(pristine)));
        string child = tmp.File("iscsi.qcow2");
        output = Programs.Checked(PowerShell.RunScript(tmp.Path, BuilderRecipe, "-Image", pristine, "-Nic", SampleImage.BootNic, "-LibPath", lib, "-Output", child));
        Assert.Contains("value(s) written to " + child, output, StringComparison.Ordinal);
        Assert.Equal(before, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(pristine))));
        Oracle.Require("qemu-img");
        Assert.Equal(pristine, QemuImg.Info(child).GetProperty("full-backing-filename").GetString());
        string flat = tmp.File("iscsi-flat.img");
        QemuImg.ConvertToRaw(child, "qcow2", flat);
        SampleImage.AssertPrepared(tmp, flat);
        SampleImage.AssertUnprepared(tmp, pristine);
    }

    [Fact]
    public void TheBuiltModuleLoadsItsOwnAssembliesAndRefusesWithoutWriting()
    {
        using var tmp = new TempDir();
        string image = SampleImage.Create(tmp.File("golden.img"));
        string script = tmp.File("refuse.ps1");
        // A NIC no INF in the image serves: a terminating error, and the image keeps its bytes.
        File.WriteAllText(script, """
            param($Module, $Image)
            $ErrorActionPreference = 'Stop'
            Import-Module $Module
            $before = (Get-FileHash -LiteralPath $Image).Hash
            try { Invoke-IscsiBootPreparation -Path $Image -Nic 'PCI\VEN_1234&DEV_5678' -Confirm:$false; 'no error' }
            catch { "refused: $($_.Exception.Message)" }
            if ((Get-FileHash -LiteralPath $Image).Hash -eq $before) { 'unchanged' } else { 'CHANGED' }
            (Get-Help Invoke-IscsiBootPreparation).Synopsis
            "version: $((Get-Module IscsiConvert).Version)"
            """);
        string output = Programs.Checked(PowerShell.RunScript(tmp.Path, script, _module, image));

        Assert.Contains("refused: No INF in the image serves PCI\\VEN_1234&DEV_5678", output, StringComparison.Ordinal);
        Assert.Contains("unchanged", output, StringComparison.Ordinal);
        Assert.Contains("Makes the Windows on a disk image bootable from iSCSI", output, StringComparison.Ordinal);
        Assert.Contains("version: " + LocalFeed.Version, output, StringComparison.Ordinal); // the packages' one version
        SampleImage.AssertUnprepared(tmp, image);
    }

    /// <summary>
    /// docs/powershell.md's table for Windows PowerShell 5.1 (which cannot run here) is the real closure: the files are
    /// exactly what eng/build-psmodule.sh publishes to lib/, and each is listed after every assembly it depends on, as
    /// the netstandard2.0 restore of IscsiConvert.Windows (obj/project.assets.json) resolves the dependencies.
    /// </summary>
    [Fact]
    public void TheDocumentedLoadOrderIsTheDependencyClosure()
    {
        string doc = File.ReadAllText(Path.Combine(TestData.RepoRoot, "docs", "powershell.md"));
        string[] documented = System.Text.RegularExpressions.Regex.Matches(doc, @"^\| \d+ \| ([\w.]+)\.dll \|", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToArray();
        string[] published = Directory.GetFiles(Path.Combine(_module, "lib"), "*.dll").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(published, documented.Order(StringComparer.Ordinal).ToArray());

        using JsonDocument assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.RepoRoot, "src", "IscsiConvert.Windows", "obj", "project.assets.json")));
        JsonElement target = assets.RootElement.GetProperty("targets").GetProperty("netstandard2.0");
        int checkedEdges = 0;
        foreach (JsonProperty library in target.EnumerateObject())
        {
            string name = library.Name.Split('/')[0];
            int at = Array.IndexOf(documented, name);
            if (at < 0 || !library.Value.TryGetProperty("dependencies", out JsonElement dependencies))
            {
                continue;
            }
            foreach (JsonProperty dependency in dependencies.EnumerateObject())
            {
                int dependencyAt = Array.IndexOf(documented, dependency.Name);
                if (dependencyAt >= 0)
                {
                    Assert.True(dependencyAt < at, $"docs/powershell.md loads {name} (#{at + 1}) before its dependency {dependency.Name} (#{dependencyAt + 1})");
                    checkedEdges++;
                }
            }
        }
        Assert.True(checkedEdges > 10, $"only {checkedEdges} dependency edges were found in project.assets.json");
        Assert.Equal("IscsiConvert.Windows", documented[^1]); // it references every other layer

        // PowerShell 7's shorter list is a part of it, in the same order.
        string[] ps7 = { "Microsoft.Extensions.Logging.Abstractions", "IscsiConvert.Core", "IscsiConvert.Storage", "IscsiConvert.Ntfs", "IscsiConvert.Registry", "IscsiConvert.Drivers", "IscsiConvert.Windows" };
        Assert.Contains("foreach ($name in '" + string.Join("', '", ps7.Take(3)), doc.Replace("\n        ", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(ps7, documented.Where(ps7.Contains).ToArray());
    }
}
