using System;
using System.IO;
using IscsiConvert.Drivers;
using IscsiConvert.Tests;
using Xunit;

namespace IscsiConvert.Drivers.Tests;

/// <summary>Driver packages: every file the install needs is there; nothing escapes its folder.</summary>
public sealed class DriverPackageTests
{
    [Fact]
    public void DiskDevPackageIsCompleteOnlyWithItsFiles()
    {
        using var tmp = new TempDir();
        string pkg = Directory.CreateDirectory(tmp.File("pkg")).FullName;
        File.Copy(TestData.Require("inf/ms-pl/diskdev.inf"), Path.Combine(pkg, "diskdev.inf"));
        DriverPackage package = DriverPackage.Open(pkg);
        DriverPackageCheck check = package.Check(TargetOs.Windows10X64);
        Assert.Equal(new[] { @"amd64\disk.sys", "diskdev.cat" }, check.MissingFiles);
        Assert.False(check.IsComplete);

        Directory.CreateDirectory(Path.Combine(pkg, "AMD64"));
        File.WriteAllText(Path.Combine(pkg, "AMD64", "Disk.SYS"), "x"); // Windows names are case-insensitive
        File.WriteAllText(Path.Combine(pkg, "diskdev.cat"), "x");
        check = DriverPackage.Open(Path.Combine(pkg, "diskdev.inf")).Check(TargetOs.Windows10X64);
        Assert.Empty(check.MissingFiles);
        Assert.True(check.IsComplete);
        Assert.Equal("diskdev.cat", check.CatalogFile);
        Assert.Equal(Path.Combine(pkg, "AMD64", "Disk.SYS"), package.FindFile(@"amd64\disk.sys"));
    }

    [Theory]
    [InlineData(@"..\evil.sys")]
    [InlineData(@"C:\Windows\evil.sys")]
    [InlineData(@"\\?\C:\evil.sys")]
    [InlineData(@"\Windows\evil.sys")]
    [InlineData(@"sub\..\..\evil.sys")]
    [InlineData(@"evil.sys:stream")]
    [InlineData("CON")]
    [InlineData("con.sys")]
    [InlineData(@"sub\NUL.txt")]
    [InlineData("COM1.sys")]
    [InlineData("lpt9")]
    [InlineData("AUX .sys")]
    [InlineData("evil.sys.")]
    [InlineData("evil.sys ")]
    public void EscapingPathsAreRejected(string bad)
    {
        Assert.False(DriverPackage.IsSafeRelativePath(bad, allowSubfolders: true));
        using var tmp = new TempDir();
        string pkg = Directory.CreateDirectory(tmp.File("pkg")).FullName;
        File.WriteAllText(Path.Combine(pkg, "x.inf"),
            "[Version]\nSignature=\"$Windows NT$\"\nClass=System\n[Manufacturer]\nX=M,NTamd64\n[M.NTamd64]\nD=I,ROOT\\X\n" +
            "[I]\nCopyFiles=F\n[F]\n\"" + bad + "\"\n[DestinationDirs]\nDefaultDestDir=12\n");
        DriverPackageCheck check = DriverPackage.Open(pkg).Check(TargetOs.Windows10X64);
        Assert.Contains(bad, check.UnsafePaths);
        Assert.False(check.IsComplete);
        Assert.Throws<UnsafeToWriteException>(() => DriverPackage.Open(pkg).FindFile(bad));
    }

    [Theory]
    [InlineData("console.sys")]
    [InlineData("CONx.sys")]
    [InlineData("com10.sys")]
    [InlineData("lpt0")]
    [InlineData(@"sub\nulled.inf")]
    public void NamesThatOnlyLookLikeDevicesAreAccepted(string good) =>
        Assert.True(DriverPackage.IsSafeRelativePath(good, allowSubfolders: true));

    [Fact]
    public void EscapingSourceDiskPathIsRejected()
    {
        using var tmp = new TempDir();
        string pkg = Directory.CreateDirectory(tmp.File("pkg")).FullName;
        File.WriteAllText(Path.Combine(pkg, "x.inf"),
            "[Version]\nSignature=\"$Windows NT$\"\nClass=System\n[Manufacturer]\nX=M,NTamd64\n[M.NTamd64]\nD=I,ROOT\\X\n" +
            "[I]\nCopyFiles=F\n[F]\nok.sys\n[SourceDisksNames]\n1=Disk,,,..\\..\\outside\n[SourceDisksFiles]\nok.sys=1\n");
        DriverPackageCheck check = DriverPackage.Open(pkg).Check(TargetOs.Windows10X64);
        Assert.Contains(@"..\..\outside", check.UnsafePaths);
    }

    [Fact]
    public void FolderMustHoldExactlyOneInf()
    {
        using var tmp = new TempDir();
        string pkg = Directory.CreateDirectory(tmp.File("pkg")).FullName;
        Assert.Throws<UnsupportedFormatException>(() => DriverPackage.Open(pkg));
        File.WriteAllText(Path.Combine(pkg, "a.inf"), "[Version]\nSignature=\"$Windows NT$\"\n");
        File.WriteAllText(Path.Combine(pkg, "b.INF"), "[Version]\nSignature=\"$Windows NT$\"\n");
        Assert.Throws<UnsupportedFormatException>(() => DriverPackage.Open(pkg));
    }
}
