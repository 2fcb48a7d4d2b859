using System;
using System.IO;

namespace IscsiConvert.Cli;

/// <summary>A one-line progress bar on a terminal's error stream; silent when the stream is redirected or with --quiet.</summary>
internal sealed class ProgressBar : IProgress<ProgressReport>, IDisposable
{
    private const int Width = 30;
    private readonly TextWriter _error;
    private readonly bool _enabled;
    private bool _drawn;

    public ProgressBar(CliConsole console)
    {
        _error = console.Error;
        _enabled = console.ShowProgress;
    }

    public void Report(ProgressReport value)
    {
        if (!_enabled)
        {
            return;
        }
        int filled = (int)Math.Round(value.Fraction * Width);
        string bar = new string('#', filled) + new string('.', Width - filled);
        _error.Write($"\r{value.Stage,-10} [{bar}] {value.Fraction * 100,5:0.0}% {SizeParser.Format(value.Completed)} of {SizeParser.Format(value.Total)}   ");
        _drawn = true;
    }

    public void Dispose()
    {
        if (_drawn)
        {
            _error.WriteLine();
        }
    }
}
