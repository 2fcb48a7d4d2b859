using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.Json;
using IscsiConvert.Storage;
using Microsoft.Extensions.Logging;

namespace IscsiConvert.Cli;

/// <summary>The `iscsi-convert` command tree. Output goes to the given writers so that tests can read it.</summary>
internal static class CliApp
{
    /// <summary>Exit code when the command did what was asked, or found nothing to do.</summary>
    public const int Success = 0;

    /// <summary>Exit code for a problem with the input (a corrupt or unsupported image, a file in use).</summary>
    public const int DataError = 1;

    /// <summary>Exit code for a bad command line.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a write refused as unsafe (a dirty, uncleanly shut down or hibernated volume): nothing was written.</summary>
    public const int Refused = 3;

    /// <summary>Exit code when Ctrl-C or SIGTERM stopped a command (128 + SIGINT, as shells report it); what it had started was removed.</summary>
    public const int Interrupted = 130;

    /// <summary>The exit codes as --help and docs/cli.md list them.</summary>
    public const string ExitCodesHelp =
        "Exit codes: 0 done (or nothing to do), 1 a problem with the data (corrupt, unsupported or missing file), " +
        "2 a usage error (bad option, missing argument, unknown name), 3 refused as unsafe (e.g. a hibernated or " +
        "uncleanly shut down Windows volume; nothing was written), 130 interrupted by Ctrl-C or SIGTERM (a conversion's " +
        "partial output removed).";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool isTerminal = false)
    {
        var console = new CliConsole(stdout, stderr, isTerminal)
        {
            // Before parsing, so that even a bad command line is reported as JSON to a caller that asked for it.
            Json = args.Contains("--json", StringComparer.Ordinal),
        };
        RootCommand root = BuildRoot(console);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // A bad command line is exit code 2 (as documented), whichever command it was for.
            return console.Fail(UsageError, "usage", string.Join(Environment.NewLine, parse.Errors.Select(e => WithoutTypeName(e.Message))),
                $"Run '{CommandName(parse)} --help' to see the commands and options.");
        }
        if (parse.CommandResult.Command.Name != "create" && parse.CommandResult.Command.Options.Any(o => o.Name == "--parent"))
        {
            console.ParentPath = parse.GetValue<string>("--parent");
        }
        console.Verbosity = parse.GetValue<bool>("--verbose") ? LogLevel.Debug : parse.GetValue<bool>("--quiet") ? LogLevel.Error : LogLevel.Warning;
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (UsageException ex)
        {
            return console.Fail(UsageError, "usage", ex.Message, $"Run '{CommandName(parse)} --help' to see the options.");
        }
        catch (DataProblemException ex)
        {
            return console.Fail(DataError, "data", ex.Message, ex.Hint.Length > 0 ? ex.Hint : null);
        }
        catch (UnsafeToWriteException ex)
        {
            // The message says why and what to do in Windows (shut down fully, turn hibernation off).
            return console.Fail(Refused, "refused", ex.Message, "Nothing was written. Fix the image as the message says, then run the command again.");
        }
        catch (ParentChainException ex)
        {
            return console.Fail(DataError, "data", ex.Message,
                "If the parent image was moved or renamed, name it with --parent PATH; 'iscsi-convert disk info IMAGE --parent PATH' checks that it fits.");
        }
        catch (IscsiConvertException ex)
        {
            return console.Fail(DataError, "data", ex.Message, parse.CommandResult.Parent is System.CommandLine.Parsing.CommandResult { Command.Name: "reg" or "inf" }
                ? "The file is damaged or not in the format this command reads."
                : "The image or file is damaged or not in a supported format; 'iscsi-convert disk info IMAGE' shows what is readable.");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return console.Fail(DataError, "data", ex.Message, "Check the path.");
        }
        catch (UnauthorizedAccessException ex)
        {
            return console.Fail(DataError, "data", ex.Message, "Check the file's permissions, or run as a user who may write it.");
        }
        catch (IOException ex)
        {
            // An image in use by another program is a refusal (UnsafeToWriteException, above); what is left is a path
            // of the wrong kind: a file that exists where a new one is made, a folder where a file is read.
            return console.Fail(DataError, "data", ex.Message, "Check the paths: a new file needs a name not taken yet; inside an image, 'iscsi-convert fs ls IMAGE PATH' shows what is there.");
        }
        catch (ArgumentException ex) when (console.ParentPath is not null && ex.ParamName == "options")
        {
            // The only open option the command line sets that can be wrong for an image: --parent for an image that has none.
            return console.Fail(UsageError, "usage", "--parent: " + WithoutParameterName(ex) + ".",
                "Leave out --parent: it names the moved parent of a differencing image; 'iscsi-convert disk info IMAGE' shows whether an image has a parent.");
        }
        catch (ArgumentException ex)
        {
            return console.Fail(DataError, "data", WithoutParameterName(ex), $"Check the names and values given; '{CommandName(parse)} --help' says what each one is.");
        }
        catch (NotSupportedException ex) when (parse.CommandResult.Command.Name is "prepare")
        {
            // The engine's "the image has no service X; supply the driver package that installs it".
            return console.Fail(DataError, "data", ex.Message, "Give the driver package with --driver DIR (the folder holding its .inf, or the .inf itself); 'iscsi-convert match IMAGE --hwid ID --driver DIR' shows what it would pick.");
        }
        catch (Exception ex) when (ex is NotSupportedException or OperationCanceledException)
        {
            return console.Fail(DataError, "data", ex.Message, null);
        }
    }

    internal static RootCommand BuildRoot(CliConsole console)
    {
        var root = new RootCommand(string.Join(Environment.NewLine,
            "iscsi-convert: prepare an offline Windows disk image (raw, VHD, VHDX, VMDK, QCOW2) to boot from iSCSI, so that",
            "it does not stop with 0x7B INACCESSIBLE_BOOT_DEVICE when served by iPXE sanboot. Nothing runs in Windows; no",
            "native tools are needed.",
            string.Empty,
            "Getting started:",
            "  iscsi-convert demo                      see it work on a sample disk it builds (and removes)",
            "  iscsi-convert inspect IMAGE             the Windows on IMAGE: version, drivers, whether prepare can run on it",
            "  iscsi-convert prepare IMAGE --nic 'PCI\\VEN_8086&DEV_100E' --dry-run",
            "                                          the plan for that boot NIC, nothing written; without --dry-run it",
            "                                          writes (--output CHILD writes a differencing child, IMAGE untouched)",
            "  iscsi-convert COMMAND --help            a command's options",
            string.Empty,
            "Reports take --json; --verbose shows the details. Docs: docs/getting-started.md and docs/cli.md in the repository.",
            ExitCodesHelp));
        // On every command (recursive); read back by name in Run.
        root.Options.Add(new Option<bool>("--verbose", "-v") { Description = "Also print details (the debug log) on standard error.", Recursive = true });
        root.Options.Add(new Option<bool>("--quiet", "-q") { Description = "Print no progress bar and no warnings: only the result and errors.", Recursive = true });
        root.Subcommands.Add(DiskCommands.Build(console));
        root.Subcommands.Add(RegCommands.Build(console));
        root.Subcommands.Add(InfCommands.Build(console));
        root.Subcommands.Add(FsCommands.Build(console));
        root.Subcommands.Add(InspectCommand.Build(console));
        root.Subcommands.Add(MatchCommand.Build(console));
        root.Subcommands.Add(PrepareCommand.Build(console));
        root.Subcommands.Add(DemoCommand.Build(console));
        AddJsonToEveryCommand(root);
        AddParentToEveryCommandThatOpensImages(root);
        return root;
    }

    /// <summary>The commands whose IMAGE (or IN) may be a differencing image: they all open it through CliConsole.OpenDisk.</summary>
    private static readonly string[][] CommandsThatOpenImages =
    {
        new[] { "disk", "info" }, new[] { "disk", "convert" }, new[] { "disk", "format" },
        new[] { "fs", "ls" }, new[] { "fs", "cat" }, new[] { "fs", "check" }, new[] { "fs", "put" }, new[] { "fs", "mkdir" }, new[] { "fs", "rm" },
        new[] { "inspect" }, new[] { "match" }, new[] { "prepare" },
        // On a disk image (--hive): the image is opened through WindowsImage with the same --parent.
        new[] { "reg", "export" }, new[] { "reg", "set" }, new[] { "reg", "delete" }, new[] { "reg", "import" },
    };

    // One --parent for every command that opens an image (disk create's own --parent makes a new child instead),
    // read back by name in Run like --verbose.
    private static void AddParentToEveryCommandThatOpensImages(RootCommand root)
    {
        foreach (string[] names in CommandsThatOpenImages)
        {
            Command command = root;
            foreach (string name in names)
            {
                command = command.Subcommands.Single(c => c.Name == name);
            }
            command.Options.Add(new Option<string>("--parent")
            {
                Description = "The parent of a differencing image, when it was moved or renamed (instead of the paths stored in the image).",
            });
        }
    }

    // Commands that report define their own --json; the others get one too, so that a script can always ask for
    // errors as JSON (read in Run before parsing).
    private static void AddJsonToEveryCommand(Command command)
    {
        foreach (Command sub in command.Subcommands)
        {
            AddJsonToEveryCommand(sub);
        }
        if (command.Subcommands.Count == 0 && !command.Options.Any(o => o.Name == "--json"))
        {
            command.Options.Add(new Option<bool>("--json") { Description = "Print errors as a JSON object on standard output (the output of this command is text)." });
        }
    }

    /// <summary>
    /// The parser's "Cannot parse argument 'x' for option '--partition' as expected type 'System.Nullable`1[System.Int32]'"
    /// with the .NET type said in words.
    /// </summary>
    internal static string WithoutTypeName(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @" as expected type '([^']*)'\.?", m =>
            m.Groups[1].Value.Contains("Int", StringComparison.Ordinal) ? ": expected a whole number." : ": not a valid value.");

    /// <summary>An ArgumentException's message without .NET's " (Parameter 'name')" tail, which means nothing to a user.</summary>
    internal static string WithoutParameterName(ArgumentException ex) =>
        ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : ex.Message;

    // "iscsi-convert disk info": the command the line was for, for "Run '... --help'".
    private static string CommandName(ParseResult parse)
    {
        var names = new System.Collections.Generic.List<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = parse.CommandResult; r is System.CommandLine.Parsing.CommandResult c && c.Command is not RootCommand; r = r.Parent)
        {
            names.Insert(0, c.Command.Name);
        }
        names.Insert(0, "iscsi-convert");
        return string.Join(" ", names);
    }
}

/// <summary>
/// Where commands write: normal output, diagnostics, the log, and whether a progress bar makes sense. The one place
/// that knows --json, --verbose and --quiet: commands open images through it so that the libraries log here.
/// </summary>
internal sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
        Logger = new CliLogger(this);
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>True when standard error is a terminal (not redirected).</summary>
    public bool IsTerminal { get; }

    /// <summary>True when --json was given: errors are also printed as a JSON object on standard output.</summary>
    public bool Json { get; set; }

    /// <summary>The least severe log level printed: Warning by default, Debug with --verbose, Error with --quiet.</summary>
    public LogLevel Verbosity { get; set; } = LogLevel.Warning;

    /// <summary>A progress bar belongs on a terminal, and not with --quiet.</summary>
    public bool ShowProgress => IsTerminal && Verbosity <= LogLevel.Warning;

    /// <summary>The libraries' log, on standard error, filtered by <see cref="Verbosity"/>.</summary>
    public ILogger Logger { get; }

    /// <summary>The parent named with --parent (a differencing image's moved parent), or null for the stored paths.</summary>
    public string? ParentPath { get; set; }

    /// <summary>Opens a disk image with the libraries' log wired to this console, and the parent named with --parent.</summary>
    public VirtualDisk OpenDisk(string path, DiskAccess access = DiskAccess.ReadOnly) =>
        DiskImage.Open(path, new DiskOpenOptions { Access = access, Logger = Logger, ParentPath = ParentPath });

    /// <summary>Opens an image read-only for reporting: a missing parent is reported, not an error (as `qemu-img info`).</summary>
    public VirtualDisk OpenDiskForReport(string path) =>
        DiskImage.Open(path, new DiskOpenOptions { Logger = Logger, ParentPath = ParentPath, AllowMissingParent = true });

    /// <summary>
    /// Reports a failure: "error: ..." and what to do next on standard error, and with --json also
    /// <c>{"error": {"exitCode", "kind", "message", "hint"}}</c> on standard output. Returns <paramref name="exitCode"/>.
    /// </summary>
    public int Fail(int exitCode, string kind, string message, string? hint)
    {
        Error.WriteLine($"error: {message}");
        if (hint is not null)
        {
            Error.WriteLine(hint);
        }
        if (Json)
        {
            Output.WriteLine(CliJson.Serialize(new ErrorDocument(new ErrorBody(exitCode, kind, message, hint)), CliJson.ReportOptions));
        }
        return exitCode;
    }
}

/// <summary>The CLI's logger: one line per message on standard error, "warning: ..." style.</summary>
internal sealed class CliLogger : ILogger
{
    private readonly CliConsole _console;

    public CliLogger(CliConsole console)
    {
        _console = console;
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= _console.Verbosity;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }
        string level = logLevel switch
        {
            LogLevel.Trace or LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warning",
            _ => "error",
        };
        _console.Error.WriteLine($"{level}: {formatter(state, exception)}");
    }
}
