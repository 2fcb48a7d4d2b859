using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using IscsiConvert.Drivers;
using IscsiConvert.Storage;
using IscsiConvert.Windows;

namespace IscsiConvert.Cli;

/// <summary>`iscsi-convert prepare IMAGE --nic ID`: make the Windows on an image start its boot NIC's driver at boot.</summary>
internal static class PrepareCommand
{
    public static Command Build(CliConsole console)
    {
        var image = new Argument<string>("IMAGE") { Description = "The disk image (raw, VHD, VHDX, VMDK, QCOW2)." };
        var nic = new Option<string[]>("--nic")
        {
            Description = @"The boot NIC's device ID, e.g. PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02 (repeatable).",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var driver = new Option<string[]>("--driver")
        {
            Description = "A driver package (its .inf, or a folder holding one) to install if it serves the NIC best: files, INF as oemN.inf, service (repeatable).",
        };
        var partition = new Option<int?>("--partition", "-p") { Description = "The Windows partition, when the image holds several installations." };
        var os = new Option<string?>("--os") { Description = "The Windows version to match INFs for (win7-x86, win7-x64, …) when the image has no SOFTWARE hive." };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Print what would change and write nothing." };
        var command = new Command("prepare",
            "Make a Windows image bootable from iSCSI: the boot NIC's driver (found among the image's INFs, ranked as Plug and Play ranks them) " +
            "gets boot start: on Windows XP–7 with Critical Device Database entries, and a driver from --driver is installed too (files, INF, " +
            "service); on Windows 8 and later with the network-boot BootFlags bit, for drivers the image already has (staging a new package " +
            "in the DriverDatabase is refused with a clear message).")
        { image, nic, driver, partition, os, dryRun };
        command.SetAction(parse =>
        {
            bool write = !parse.GetValue(dryRun);
            using VirtualDisk disk = DiskImage.Open(parse.GetValue(image)!, write ? DiskAccess.ReadWrite : DiskAccess.ReadOnly);
            string imagePath = parse.GetValue(image)!;
            IReadOnlyList<WindowsInstallation> found = WindowsInstallation.Find(disk, writable: write);
            try
            {
                WindowsInstallation? w = InstallationChoice.Choose(console, imagePath, found, parse.GetValue(partition));
                if (w is null)
                {
                    return CliApp.UsageError;
                }
                IscsiBoot boot = IscsiBoot.For(w);
                foreach (string id in parse.GetValue(nic)!)
                {
                    boot.WithBootAdapter(id);
                }
                foreach (string package in parse.GetValue(driver) ?? Array.Empty<string>())
                {
                    boot.WithDriverPackage(package);
                }
                if (parse.GetValue(os) is { } name)
                {
                    boot.ForTarget(TargetOs.Parse(name));
                }
                IscsiBootPlan plan = write ? boot.Apply() : boot.Plan();
                console.Output.WriteLine($"Windows on {(plan.PartitionIndex is { } p ? "partition " + p : "the bare volume")}, {plan.ControlSet}, target {plan.Target}:");
                foreach (string d in plan.Drivers)
                {
                    console.Output.WriteLine("  driver  " + d);
                }
                foreach (FileCopy f in plan.Files)
                {
                    console.Output.WriteLine((write ? "  copy    " : "  would copy ") + f);
                }
                foreach (RegistryChange c in plan.Changes)
                {
                    console.Output.WriteLine((write ? "  set     " : "  would set ") + c);
                }
                if (plan.Changes.Count == 0 && plan.Files.Count == 0)
                {
                    console.Output.WriteLine("  nothing to change: the image is already prepared.");
                }
                console.Output.WriteLine(write ? $"{plan.Files.Count} file(s) and {plan.Changes.Count} value(s) written." : "dry run: nothing was written.");
            }
            finally
            {
                foreach (WindowsInstallation w in found)
                {
                    w.Dispose();
                }
            }
            if (write)
            {
                disk.Flush();
            }
            return 0;
        });
        return command;
    }
}
