using System;
using System.CommandLine;
using System.IO;

namespace IscsiConvert.Cli;

/// <summary>The `iscsi-convert` command tree. Output goes to the given writers so that tests can read it.</summary>
internal static class CliApp
{
    /// <summary>Exit code for a problem with the input (a corrupt or unsupported image, a file in use).</summary>
    public const int DataError = 1;

    /// <summary>Exit code for a bad command line.</summary>
    public const int UsageError = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool isTerminal = false)
    {
        var console = new CliConsole(stdout, stderr, isTerminal);
        RootCommand root = BuildRoot(console);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A bad command line is exit code 2 (as documented), whichever command it was for.
            foreach (System.CommandLine.Parsing.ParseError error in parse.Errors)
            {
                stderr.WriteLine($"error: {error.Message}");
            }
            stderr.WriteLine("Run with --help to see the commands and options.");
            return UsageError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (IscsiConvertException ex)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return DataError;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or OperationCanceledException)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return DataError;
        }
    }

    internal static RootCommand BuildRoot(CliConsole console)
    {
        var root = new RootCommand(
            "iscsi-convert: prepare offline Windows disk images for iSCSI boot. Inspect, create and convert raw, VHD, " +
            "VHDX, VMDK and QCOW2 images, read and edit registry hives, read and write NTFS volumes, read driver INFs and match them to an image's devices. Run 'iscsi-convert demo' for a first look.");
        root.Subcommands.Add(DiskCommands.Build(console));
        root.Subcommands.Add(RegCommands.Build(console));
        root.Subcommands.Add(InfCommands.Build(console));
        root.Subcommands.Add(FsCommands.Build(console));
        root.Subcommands.Add(InspectCommand.Build(console));
        root.Subcommands.Add(MatchCommand.Build(console));
        root.Subcommands.Add(PrepareCommand.Build(console));
        root.Subcommands.Add(DemoCommand.Build(console));
        return root;
    }
}

/// <summary>Where commands write: normal output, diagnostics, and whether a progress bar makes sense.</summary>
internal sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    public bool IsTerminal { get; }
}
