using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using IscsiConvert.Storage;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Windows.Tests;

/// <summary>
/// The processor architecture from the PE header of the kernel image when the registry does not name it. The PE
/// headers are written here from the Microsoft PE/COFF specification; `file` (libmagic) says which machine each one is.
/// </summary>
public class ArchitectureTests
{
    /// <summary>
    /// A minimal native PE image: DOS header "MZ" with e_lfanew = 0x80, "PE\0\0", the COFF header (Machine, no
    /// sections, SizeOfOptionalHeader, Characteristics = executable), and an optional header with its magic
    /// (0x10B PE32, 0x20B PE32+) and Subsystem = 1 (native), as the kernel has.
    /// </summary>
    private static byte[] PeImage(ushort machine, bool pe32Plus)
    {
        var b = new byte[1024];
        b[0] = (byte)'M';
        b[1] = (byte)'Z';
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(b.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84), machine);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 16), (ushort)(pe32Plus ? 0xF0 : 0xE0));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 18), 0x0022);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x98), (ushort)(pe32Plus ? 0x20B : 0x10B));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x98 + 68), 1);
        return b;
    }

    /// <summary>What `file` calls the machine, mapped to the INF architecture names.</summary>
    private static string FileOracle(TempDir tmp, byte[] image)
    {
        Oracle.Require("file");
        string path = tmp.File(Guid.NewGuid().ToString("N") + ".exe");
        File.WriteAllBytes(path, image);
        string said = Oracle.RunChecked("file", "-b", path);
        Assert.Contains("for MS Windows", said, StringComparison.Ordinal);
        return said.Contains("x86-64", StringComparison.Ordinal) ? "amd64"
            : said.Contains("Aarch64", StringComparison.Ordinal) ? "arm64"
            : said.Contains("Intel 80386", StringComparison.Ordinal) ? "x86"
            : "unknown: " + said;
    }

    [Theory]
    [InlineData((ushort)0x8664, true)]
    [InlineData((ushort)0xAA64, true)]
    [InlineData((ushort)0x014C, false)]
    public void Pe_machine_names_the_architecture_file_names(ushort machine, bool pe32Plus)
    {
        using var tmp = new TempDir();
        byte[] image = PeImage(machine, pe32Plus);
        ushort? read = PeImageHeader.ReadMachine(image, out string? problem);
        Assert.Null(problem);
        Assert.Equal(FileOracle(tmp, image), PeImageHeader.ArchitectureOf(read!.Value));
    }

    [Fact]
    public void Damaged_pe_headers_name_no_machine()
    {
        byte[] good = PeImage(0x8664, true);
        Assert.Null(PeImageHeader.ReadMachine(good.AsSpan(0, 0x20), out string? shortProblem));
        Assert.Contains("MZ", shortProblem, StringComparison.Ordinal);

        byte[] noMz = (byte[])good.Clone();
        noMz[0] = 0;
        Assert.Null(PeImageHeader.ReadMachine(noMz, out _));

        foreach (uint lfanew in new uint[] { 0xFFFFFFFF, 0x7FFFFFFF, 1022, 1024 })
        {
            byte[] far = (byte[])good.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(far.AsSpan(0x3C), lfanew);
            Assert.Null(PeImageHeader.ReadMachine(far, out string? farProblem));
            Assert.Contains("beyond", farProblem, StringComparison.Ordinal);
        }

        byte[] noPe = (byte[])good.Clone();
        noPe[0x81] = (byte)'X';
        Assert.Null(PeImageHeader.ReadMachine(noPe, out string? peProblem));
        Assert.Contains("PE signature", peProblem, StringComparison.Ordinal);
        Assert.Null(PeImageHeader.ArchitectureOf(0x1234));
    }

    [Fact]
    public void Without_processor_architecture_in_the_registry_the_kernel_image_tells_it()
    {
        using var tmp = new TempDir();
        // A SYSTEM hive written by hivexregedit with a control set but no Session Manager\Environment.
        string system = HivexOracle.Build(tmp, "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]",
            "\"Current\"=dword:00000001",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services]");
        Assert.Null(HivexOracle.Get(system, @"\ControlSet001\Control\Session Manager\Environment", "PROCESSOR_ARCHITECTURE"));
        byte[] kernel = PeImage(0xAA64, true);
        string expected = FileOracle(tmp, kernel);
        byte[] hal = PeImage(0x014C, false);

        string image = NtfsImageBuilder.Build(tmp, tmp.File("arm.raw"), mount =>
        {
            string system32 = Path.Combine(mount, "Windows", "System32");
            Directory.CreateDirectory(Path.Combine(system32, "config"));
            File.Copy(system, Path.Combine(system32, "config", "SYSTEM"));
            File.WriteAllBytes(Path.Combine(system32, "ntoskrnl.exe"), kernel);
            File.WriteAllBytes(Path.Combine(system32, "hal.dll"), hal); // later in the order: not used while ntoskrnl.exe answers
        });
        using VirtualDisk disk = DiskImage.Open(image);
        IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk);
        using WindowsInstallation w = Assert.Single(found);
        WindowsSystemConfig config = w.ReadConfiguration();
        Assert.Null(config.ProcessorArchitecture);
        Assert.Equal(expected, config.Architecture);
        Assert.Equal(@"\Windows\System32\ntoskrnl.exe", config.ArchitectureSource);
    }

    [Fact]
    public void The_registry_value_comes_first_and_no_file_means_unknown()
    {
        string hive = TestData.Require("registry/win7-system/SYSTEM");
        using var tmp = new TempDir();
        // MANIFEST.md: Windows 7 SP1 x86; the volume has no kernel image, so the registry is the only source.
        string image = NtfsImageBuilder.BuildWindows(tmp, tmp.File("win7.raw"), hive);
        using VirtualDisk disk = DiskImage.Open(image);
        using WindowsInstallation w = Assert.Single(WindowsInstallation.Find(disk));
        WindowsSystemConfig config = w.ReadConfiguration();
        Assert.Equal("x86", config.Architecture);
        Assert.Equal(@"SYSTEM\ControlSet001\Control\Session Manager\Environment\PROCESSOR_ARCHITECTURE", config.ArchitectureSource);
        Assert.Equal(HivexOracle.Get(hive, @"\ControlSet001\Control\ProductOptions", "ProductType"), config.ProductType);
        Assert.Null(config.GetTargetOs()); // no SOFTWARE hive: no version

        using var tmp2 = new TempDir();
        string bare = HivexOracle.Build(tmp2, "SYSTEM", "HKEY_LOCAL_MACHINE\\SYSTEM",
            "[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]", "\"Current\"=dword:00000001", "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001]");
        string image2 = NtfsImageBuilder.BuildWindows(tmp2, tmp2.File("bare.raw"), bare);
        using VirtualDisk disk2 = DiskImage.Open(image2);
        using WindowsInstallation w2 = Assert.Single(WindowsInstallation.Find(disk2));
        WindowsSystemConfig c2 = w2.ReadConfiguration();
        Assert.Null(c2.Architecture);
        Assert.Null(c2.ArchitectureSource);
    }
}
