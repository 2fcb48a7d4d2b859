using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace IscsiConvert.Cli;

/// <summary>
/// While alive, Ctrl-C (SIGINT) and SIGTERM cancel <see cref="Token"/> instead of ending the process, so that a long
/// command can stop at a safe point and remove what it had started (a conversion's OUT.partial).
/// </summary>
internal sealed class InterruptSignals : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public InterruptSignals()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _cancel.Token;

    /// <summary>"Ctrl-C" or "SIGTERM": what stopped the command, for its message.</summary>
    public string Signal { get; private set; } = string.Empty;

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _cancel.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Keep the process alive: the command returns once it has cleaned up.
        context.Cancel = true;
        Signal = context.Signal == PosixSignal.SIGINT ? "Ctrl-C" : "SIGTERM";
        _cancel.Cancel();
    }
}
