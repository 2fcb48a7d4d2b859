using System;
using System.Threading;

namespace IscsiConvert.Fuzzing;

/// <summary>
/// The thread executions run on (4 MiB stack), kept for a whole run: starting a thread per execution cost more than
/// many parsers' work (the start, and a finalizer per thread). Its allocations are measured per execution
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> before and after). A thread that does not come back within the
/// timeout is abandoned, still running, and the next execution gets a fresh one.
/// </summary>
public sealed class ExecutionThread : IDisposable
{
    private readonly string _name;
    private Worker? _worker;

    public ExecutionThread(string name)
    {
        _name = name;
    }

    /// <summary>Runs <paramref name="work"/>; false when it was still running after <paramref name="timeout"/> (a hang).</summary>
    public bool TryRun(Action work, TimeSpan timeout, out Exception? thrown, out long allocated)
    {
        Worker worker = _worker ??= new Worker(_name);
        if (!worker.TryRun(work, timeout, out thrown, out allocated))
        {
            _worker = null; // stuck in the parser: left behind (a background thread), never reused
            return false;
        }
        return true;
    }

    public void Dispose()
    {
        _worker?.Stop();
        _worker = null;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _start = new(0);
        private readonly SemaphoreSlim _done = new(0);
        private Action? _work;
        private Exception? _thrown;
        private long _allocated;
        private volatile bool _stopping;

        public Worker(string name)
        {
            var thread = new Thread(Loop, maxStackSize: 4 << 20) { IsBackground = true, Name = name };
            thread.Start();
        }

        public bool TryRun(Action work, TimeSpan timeout, out Exception? thrown, out long allocated)
        {
            _work = work;
            _start.Release();
            if (!_done.Wait(timeout))
            {
                thrown = null;
                allocated = 0;
                return false;
            }
            thrown = _thrown;
            allocated = _allocated;
            return true;
        }

        public void Stop()
        {
            _stopping = true;
            _start.Release();
        }

        private void Loop()
        {
            while (true)
            {
                _start.Wait();
                if (_stopping)
                {
                    return;
                }
                Action work = _work!;
                _work = null;
                _thrown = null;
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    work();
                }
                catch (Exception ex)
                {
                    _thrown = ex;
                }
                _allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                _done.Release();
            }
        }
    }
}
