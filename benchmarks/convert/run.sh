#!/usr/bin/env bash
# `disk convert` against `qemu-img convert -t writeback` (docs/benchmarks.md, "disk convert, whole process"): both
# flush the new image before they exit (qemu-img's default cache mode for the output, `unsafe`, never flushes; ours
# always does, so `-t writeback` is the like-for-like baseline). Input: a 1 GiB dynamic VHDX holding 420 MiB of
# incompressible data in runs of 4 KiB..4 MiB spread over the whole disk, built once with python3 and qemu-img (none
# of our code). For each output format, RUNS alternating pairs (the order flips every pair, so both sides see the same
# load), each on a freshly removed output with the file system synced; prints per format the medians (wall, and CPU
# user+sys), the paired throughput ratio (qemu-img time / our time: ≥ 1 means we are at least as fast) and its median,
# and checks our last output once against the input with `qemu-img compare` (untimed).
#
#   benchmarks/convert/run.sh [RUNS] [FORMATS…]        e.g. run.sh 7 raw vhd vhdx vmdk qcow2 (the default list)
#   TOOL=/path/to/iscsi-convert benchmarks/convert/run.sh …   times that binary (e.g. the AOT one of
#                                                             benchmarks/e2e/publish-aot.sh) instead of publishing
#   QEMU_VMDK_RUNS=3 …    caps qemu-img's vmdk runs (it takes ~45 s a run with -t writeback); ours keeps RUNS
#   CONVERT_DIR=…         scratch folder (default $TMPDIR/iscsiconvert-convert; ~3 GiB while it runs)
set -euo pipefail
runs=${1:-5}; shift || true
[ $# -gt 0 ] && formats=("$@") || formats=(raw vhd vhdx vmdk qcow2)
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
dir=${CONVERT_DIR:-${TMPDIR:-/tmp}/iscsiconvert-convert}
mkdir -p "$dir"
input="$dir/input-1G-420M.vhdx"

if [ -n "${TOOL:-}" ]; then
  tool=$TOOL
else
  echo "== publishing iscsi-convert (Release, framework-dependent, JIT)"
  dotnet publish "$root/src/IscsiConvert.Cli" -c Release -o "$dir/tool" -v quiet -nologo >/dev/null
  tool="$dir/tool/iscsi-convert"
fi
echo "== timing $tool"

if [ ! -f "$input" ]; then
  echo "== building $input"
  python3 - "$dir/input.raw" <<'PY'
import os, random, sys
size, data, align = 1 << 30, 420 << 20, 4096
rng = random.Random(14)
runs, total = [], 0
while total < data:
    n = min(rng.randrange(1, 1025) * align, data - total)
    runs.append(n); total += n
# The free space is cut at random aligned points into one gap before each run (and one after the last).
free = (size - data) // align
cuts = sorted(rng.randrange(0, free + 1) for _ in range(len(runs)))
gaps = [b - a for a, b in zip([0] + cuts, cuts)]
fd = os.open(sys.argv[1], os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644)
os.ftruncate(fd, size)
pos = 0
for gap, n in zip(gaps, runs):
    pos += gap * align
    os.pwrite(fd, os.urandom(n), pos)
    pos += n
os.close(fd)
print(f"{len(runs)} runs, {total} bytes of data, last byte at {pos}")
PY
  qemu-img convert -f raw -O vhdx "$dir/input.raw" "$input.tmp"
  rm -f "$dir/input.raw"
  mv "$input.tmp" "$input"
fi
qemu-img info "$input" | sed -n 's/^\(virtual size\|disk size\): /  \1: /p'

results="$dir/results.tsv"; : > "$results"
qemu_format() { case "$1" in vhd) echo vpc ;; *) echo "$1" ;; esac; }
for format in "${formats[@]}"; do
  out="$dir/out.$format"
  qruns=$runs
  [ "$format" = vmdk ] && qruns=${QEMU_VMDK_RUNS:-$runs}
  for i in $(seq "$runs"); do
    order=(ours qemu); [ $((i % 2)) -eq 0 ] && order=(qemu ours)
    for who in "${order[@]}"; do
      [ "$who" = qemu ] && [ "$i" -gt "$qruns" ] && continue
      rm -f "$out" "$out.partial"; sync -f "$dir"
      if [ "$who" = ours ]; then
        cmd=("$tool" disk convert "$input" "$out" --format "$format")
      else
        cmd=(qemu-img convert -t writeback -f vhdx -O "$(qemu_format "$format")" "$input" "$out")
      fi
      /usr/bin/time -o "$dir/time.txt" -f "%e %U %S %M" "${cmd[@]}" >/dev/null
      echo "$format $who $i $(cat "$dir/time.txt")" >> "$results"
    done
  done
  # Our output, checked once against the input by qemu-img (untimed).
  rm -f "$out"; "$tool" disk convert "$input" "$out" --format "$format" >/dev/null
  qemu-img compare -q -f vhdx -F "$(qemu_format "$format")" "$input" "$out" && echo "  $format: qemu-img compare: identical"
  rm -f "$out"
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for fmt in dict.fromkeys(r[0] for r in rows):
    by = {w: {int(r[2]): r for r in rows if r[0] == fmt and r[1] == w} for w in ("ours", "qemu")}
    wall = {w: statistics.median(float(r[3]) for r in by[w].values()) for w in by}
    cpu = {w: statistics.median(float(r[4]) + float(r[5]) for r in by[w].values()) for w in by}
    pairs = [float(by["qemu"][i][3]) / float(by["ours"][i][3]) for i in sorted(by["qemu"]) if i in by["ours"]]
    print(f"{fmt}: iscsi-convert {wall['ours']:.2f} s (CPU {cpu['ours']:.2f} s), qemu-img -t writeback "
          f"{wall['qemu']:.2f} s (CPU {cpu['qemu']:.2f} s) (medians of {len(by['ours'])} / {len(by['qemu'])}); "
          f"throughput ours/qemu-img (median of {len(pairs)} pairs) {statistics.median(pairs):.2f}x "
          f"({', '.join(f'{p:.2f}' for p in pairs)}); our peak RSS {max(int(r[6]) for r in by['ours'].values()) / 1024:.0f} MiB")
PY
