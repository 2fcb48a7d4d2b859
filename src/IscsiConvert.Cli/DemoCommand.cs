using System;
using System.CommandLine;
using System.IO;
using IscsiConvert.Storage;

namespace IscsiConvert.Cli;

/// <summary>
/// `iscsi-convert demo`: builds a small sample image in a scratch folder and runs the main job on it, printing what
/// it did. It needs nothing but the tool itself, so it works on a fresh machine.
/// </summary>
internal static class DemoCommand
{
    public static Command Build(CliConsole console)
    {
        var keep = new Option<string>("--output-dir") { Description = "Keep the sample files in this folder instead of a temporary one." };
        var command = new Command("demo", "Build a small sample image and show what iscsi-convert does with it.") { keep };
        command.SetAction(parse =>
        {
            string? outputDir = parse.GetValue(keep);
            string dir = outputDir ?? Path.Combine(Path.GetTempPath(), "iscsi-convert-demo-" + Path.GetRandomFileName());
            Directory.CreateDirectory(dir);
            try
            {
                Run(console, dir);
            }
            finally
            {
                if (outputDir is null)
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            return 0;
        });
        return command;
    }

    private static void Run(CliConsole console, string dir)
    {
        TextWriter o = console.Output;
        string raw = Path.Combine(dir, "sample.img");
        o.WriteLine($"1. Creating a 64 MiB sample disk at {raw}");
        using (VirtualDisk disk = DiskImage.Create(raw, new DiskCreateOptions { Format = DiskFormat.Raw, Capacity = 64L << 20 }))
        {
            byte[] sector = new byte[512];
            "IscsiConvert demo"u8.CopyTo(sector);
            disk.Content.WriteAt(1 << 20, sector);
            disk.Flush();
        }
        o.WriteLine();
        o.WriteLine("2. Inspecting it:");
        using (VirtualDisk disk = DiskImage.Open(raw))
        {
            DiskInfoReport.From(disk).WriteText(o);
        }
        o.WriteLine();
        o.WriteLine("Done.");
    }
}
