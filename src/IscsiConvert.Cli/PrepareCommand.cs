using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
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
            Description = @"The boot NIC's device ID, e.g. PCI\VEN_8086&DEV_100E&SUBSYS_001E8086&REV_02 (repeatable; --nic, --storage or --reg is needed).",
            AllowMultipleArgumentsPerToken = false,
        };
        var driver = new Option<string[]>("--driver")
        {
            Description = "A driver package (its .inf, or a folder holding one) to install if it serves the NIC best: files, INF as oemN.inf, service (repeatable).",
        };
        var storage = new Option<string[]>("--storage")
        {
            Description = @"A storage controller's device ID (virtio-scsi, AHCI, NVMe…) whose driver is made boot-critical the same way (repeatable).",
        };
        var pciPath = new Option<string[]>("--pci-path")
        {
            Description = "The boot NIC's PCI location as lspci -P prints it (00:1e.0/01:01.0), one per --nic in order: on Windows XP–7 the Critical Device Database also gets the device-path entry PCIROOT(0)#PCI(1E00)#PCI(0100).",
        };
        var service = new Option<string?>("--service")
        {
            Description = "Use this service of the image for the NIC without reading an INF (the image lacks the INF but has the service): Net-class CDDB entries on XP–7, boot start everywhere.",
        };
        var allowDirty = new Option<bool>("--allow-dirty-hive")
        {
            Description = "Edit a dirty hive whose transaction logs exist but cannot be applied, as it is (what the logs hold is lost). Dirty hives without logs are edited with a warning.",
        };
        var partition = new Option<int?>("--partition", "-p") { Description = "The Windows partition, when the image holds several installations." };
        var os = new Option<string?>("--os") { Description = "The Windows version to match INFs for (win7-x86, win7-x64, …) when the image has no SOFTWARE hive." };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Print what would change and write nothing." };
        var reg = new Option<string[]>("--reg")
        {
            Description = @"A regedit file (5.00 or REGEDIT4) whose values are set too (repeatable, usable without --nic): HKEY_LOCAL_MACHINE\SYSTEM is the SYSTEM hive (CurrentControlSet the control set the image boots), HKEY_LOCAL_MACHINE\SOFTWARE the SOFTWARE hive; deletions ([-KEY], ""name""=-) go through the plan too; other roots are refused.",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print the plan (with --dry-run) or what was written as a JSON document (docs/schemas/prepare-report.schema.json) instead of text.",
        };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "Write the changes into this new differencing image over IMAGE (VHDX over VHDX, VHD over VHD, QCOW2 over QCOW2, raw or VMDK) and leave IMAGE untouched. Not created when the command fails.",
        };
        var outputFormat = new Option<string?>("--output-format")
        {
            Description = "With --output: write a full copy of IMAGE in this format (raw, vhd, vhdx, vmdk, qcow2) holding the changes, instead of a differencing child. IMAGE is left untouched.",
        };
        outputFormat.AcceptOnlyFromAmong("raw", "vhd", "vhdx", "vmdk", "qcow2");
        var command = new Command("prepare",
            "Make a Windows image bootable from iSCSI: the boot NIC's driver (found among the image's INFs, ranked as Plug and Play ranks them) " +
            "gets boot start: on Windows XP–7 with Critical Device Database entries; on Windows 8 and later with the network-boot BootFlags bit. " +
            "A driver from --driver is installed too: files, INF as oemN.inf, catalog, service; on Vista and later in the driver store, and " +
            "on Windows 8 and later in the DriverDatabase of SYSTEM (and of the DRIVERS hive where there is one).")
        { image, nic, driver, storage, pciPath, service, reg, allowDirty, partition, os, dryRun, output, outputFormat, json };
        command.SetAction(parse =>
        {
            bool write = !parse.GetValue(dryRun);
            string imagePath = parse.GetValue(image)!;
            if ((parse.GetValue(nic)?.Length ?? 0) + (parse.GetValue(storage)?.Length ?? 0) + (parse.GetValue(reg)?.Length ?? 0) == 0)
            {
                throw new UsageException("Name the boot NIC with --nic ID (or a controller with --storage ID, or a regedit file with --reg FILE).");
            }
            DiskFormat? copyFormat = parse.GetValue(outputFormat) is { } f ? Enum.Parse<DiskFormat>(f, ignoreCase: true) : null;
            if (copyFormat is not null && parse.GetValue(output) is null)
            {
                throw new UsageException("--output-format names the format of the copy written to --output FILE; give --output too.");
            }
            string? target = write ? parse.GetValue(output) : null;
            if (target is not null && File.Exists(target))
            {
                throw new UsageException($"--output: '{target}' exists; name a new file for the {(copyFormat is null ? "differencing image" : "copy")}.");
            }
            IscsiBootBuilder builder = Describe(parse);
            // The image is written in place only without --output; a dry run and an output image only read it.
            var access = write && target is null ? ImageAccess.ReadWrite : ImageAccess.ReadOnly;
            using WindowsImage windows = WindowsImage.Open(imagePath, access,
                new WindowsImageOptions { Logger = console.Logger, AllowDirtyHive = parse.GetValue(allowDirty), ParentPath = console.ParentPath });
            WindowsImageInstallation installation = InstallationChoice.Choose(console, windows, parse.GetValue(partition));
            IscsiBootPlan plan;
            try
            {
                plan = installation.PrepareIscsiBoot(builder);
            }
            catch (WindowsVersionUnknownException)
            {
                throw new UsageException($"{imagePath}: the image does not say which Windows it is (no SOFTWARE hive, or no version or architecture in it); name it with --os, e.g. --os win10-x64 or --os win7-x86.");
            }
            IscsiBootPlan result = plan;
            if (write)
            {
                using var bar = new ProgressBar(console);
                result = target is null ? plan.Apply(bar)
                    : copyFormat is { } format ? plan.ApplyToCopy(target, format, bar)
                    : plan.ApplyTo(target, bar);
            }
            if (parse.GetValue(json))
            {
                console.Output.WriteLine(PrepareReport.From(result, imagePath, target, copyFormat, write).ToJson());
                return CliApp.Success;
            }
            WriteText(console, result, write);
            if (target is not null)
            {
                console.Output.WriteLine(copyFormat is { } written
                    ? $"written to the {written.ToString().ToLowerInvariant()} copy {target} of {imagePath} (left unchanged)."
                    : $"written to the differencing image {target} over {imagePath} (left unchanged).");
            }
            return CliApp.Success;
        });
        return command;

        // The builder the options describe (each value checked as it is added: a bad PCI path or .reg file is a usage or data error before the image is opened).
        IscsiBootBuilder Describe(ParseResult parse)
        {
            var boot = new IscsiBootBuilder();
            string[] nics = parse.GetValue(nic) ?? Array.Empty<string>();
            string[] paths = parse.GetValue(pciPath) ?? Array.Empty<string>();
            if (paths.Length > nics.Length)
            {
                throw new UsageException($"{paths.Length} --pci-path for {nics.Length} --nic; give one per NIC, in the same order.");
            }
            for (int i = 0; i < nics.Length; i++)
            {
                try
                {
                    boot = boot.WithBootAdapter(nics[i], i < paths.Length ? paths[i] : null);
                }
                catch (FormatException ex)
                {
                    throw new UsageException("--pci-path: " + ex.Message, ex);
                }
            }
            foreach (string id in parse.GetValue(storage) ?? Array.Empty<string>())
            {
                boot = boot.WithStorageController(id);
            }
            if (parse.GetValue(service) is { } serviceName)
            {
                boot = boot.WithService(serviceName);
            }
            foreach (string package in parse.GetValue(driver) ?? Array.Empty<string>())
            {
                boot = boot.WithDriverPackage(package);
            }
            if (parse.GetValue(os) is { } name)
            {
                boot = boot.ForTarget(OptionValues.TargetOs(name));
            }
            foreach (string file in parse.GetValue(reg) ?? Array.Empty<string>())
            {
                boot = boot.WithRegFile(file);
            }
            return boot;
        }
    }

    // The text report: every change with its old and new value, in the order they are written.
    internal static void WriteText(CliConsole console, IscsiBootPlan plan, bool write)
    {
        console.Output.WriteLine($"Windows on {(plan.PartitionIndex is { } p ? "partition " + p : "the bare volume")}, {plan.ControlSet}{(plan.Target is { } t ? ", target " + t : string.Empty)}:");
        foreach (string d in plan.Drivers)
        {
            console.Output.WriteLine("  driver  " + d);
        }
        foreach (string folder in plan.Folders)
        {
            console.Output.WriteLine((write ? "  mkdir   " : "  would mkdir ") + folder);
        }
        foreach (FileCopy f in plan.Files)
        {
            console.Output.WriteLine((write ? "  copy    " : "  would copy ") + f);
        }
        foreach (RegistryChange c in plan.Changes)
        {
            bool delete = c.Operation != RegistryOperation.SetValue;
            console.Output.WriteLine((write ? (delete ? "  delete  " : "  set     ") : (delete ? "  would delete " : "  would set ")) + c);
        }
        foreach (string warning in plan.Warnings)
        {
            // Warnings go to standard error, like every other command's (and not with --quiet).
            Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(console.Logger, "{Warning}", warning);
        }
        if (plan.IsEmpty)
        {
            console.Output.WriteLine("  nothing to change: the image is already prepared.");
        }
        console.Output.WriteLine(write ? $"{plan.Files.Count} file(s) and {plan.Changes.Count} value(s) written." : "dry run: nothing was written.");
    }
}
