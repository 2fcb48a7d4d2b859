#!/usr/bin/env bash
# End-to-end benchmark of docs/benchmarks.md ("prepare, whole process"): the job image factories repeat — install a
# 320 KiB NIC driver package into a Windows 7 image and make it boot-critical — done by `iscsi-convert prepare` and by
# the fastest pipeline a Linux admin assembles from stock tools (qemu-storage-daemon exporting the Windows partition
# over FUSE, ntfs-3g on it, cp of the driver and INF, hivexregedit --merge of the same registry change, unmount, fsync),
# each run on a fresh copy of the fixture, alternating, RUNS times per image size. Prints per size the medians, the
# paired ratio, our peak RSS, and the bytes each side wrote to the image file — counted in one more, untimed run of
# each under `strace -f -y` (the write system calls on the image file's descriptor, in every thread: ours, and
# qemu-storage-daemon's for the pipeline) — beside GNU time's file-system output blocks (which also count whole pages
# dirtied, so they read higher). Unattended; exits non-zero on the first failed run.
#
#   benchmarks/e2e/run.sh [RUNS] [SIZES…]         e.g.  run.sh 7 1G 16G      (fixtures are built once in $E2E_DIR)
#   TOOL=/path/to/iscsi-convert benchmarks/e2e/run.sh …   times that binary (e.g. the AOT one) instead of publishing
#   E2E_DIR=/tmp/e2e-perf TOOL=/tmp/iscsiconvert-aot/iscsi-convert benchmarks/e2e/run.sh 7 1G 16G 64G
#                                                 the quiet-machine run of docs/benchmarks.md (after publish-aot.sh)
#   WINDOWS=10 benchmarks/e2e/run.sh …           the same job on the Windows 10 fixture (fixture.sh WINDOWS=10): ours
#                                                 stages the package the Windows 8+ way (driver store, oemN.inf,
#                                                 DriverDatabase); the pipeline copies the same files to the same paths
#                                                 and merges the same registry values, both taken once per fixture from
#                                                 `prepare --dry-run --json` (driver-store name and oemN slot included)
set -euo pipefail
runs=${1:-5}; shift || true
[ $# -gt 0 ] && sizes=("$@") || sizes=(1G 16G)
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
dir=${E2E_DIR:-${TMPDIR:-/tmp}/iscsiconvert-e2e}
mkdir -p "$dir"
nic='PCI\VEN_8086&DEV_10D3'
windows=${WINDOWS:-7}
case "$windows" in
  7)  prefix=fixture- os=(--os win7-x64) ;;
  10) prefix=fixture-win10- os=() ;;   # the version comes from the fixture's SOFTWARE hive
  *)  echo "WINDOWS must be 7 or 10"; exit 1 ;;
esac

if [ -n "${TOOL:-}" ]; then
  tool=$TOOL   # e.g. the Native AOT binary of benchmarks/e2e/publish-aot.sh
else
  echo "== publishing iscsi-convert (Release, framework-dependent, JIT)"
  dotnet publish "$root/src/IscsiConvert.Cli" -c Release -o "$dir/tool" -v quiet -nologo >/dev/null
  tool="$dir/tool/iscsi-convert"
fi
echo "== timing $tool"

# The pipeline, as one timed command: serve the partition, mount, copy, merge, unmount, stop, fsync the image.
cat > "$dir/pipeline.sh" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
image=$1 offset=$2 length=$3 pkg=$4 reg=$5 files=${6:-}
work=$(mktemp -d); touch "$work/raw"; mkdir "$work/mnt"
# On a failure (e.g. the merge), unmount and stop the export: a leftover daemon would hold the image's write lock.
trap 'set +e; fusermount -u "$work/mnt" 2>/dev/null; umount "$work/raw" 2>/dev/null; [ -n "${qsd:-}" ] && kill "$qsd" 2>/dev/null; rm -rf "$work"' EXIT
qemu-storage-daemon --blockdev "driver=vhdx,node-name=disk,file.driver=file,file.filename=$image" \
  --blockdev "driver=raw,node-name=part,file=disk,offset=$offset,size=$length" \
  --export "type=fuse,id=e,node-name=part,mountpoint=$work/raw,writable=on" & qsd=$!
until mountpoint -q "$work/raw" && [ "$(stat -c %s "$work/raw")" -gt 0 ]; do sleep 0.01; done
ntfs-3g "$work/raw" "$work/mnt"
if [ -z "$files" ]; then   # Windows 7: the driver and the INF as oemN.inf
  cp "$pkg/benchnic.sys" "$work/mnt/Windows/System32/drivers/benchnic.sys"
  cp "$pkg/benchnic.inf" "$work/mnt/Windows/INF/oem0.inf"
else                       # Windows 8+: FILES lists SOURCE<TAB>PATH (driver store folder, drivers, oemN.inf)
  while IFS=$'\t' read -r source path; do
    mkdir -p "$(dirname "$work/mnt/$path")"
    cp "$source" "$work/mnt/$path"
  done < "$files"
fi
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$work/mnt/Windows/System32/config/SYSTEM" "$reg"
fusermount -u "$work/mnt"
# ntfs-3g may still hold the exported file for a moment after its unmount returns (seen under load): retry.
for _ in $(seq 100); do umount "$work/raw" 2>/dev/null && break; sleep 0.02; done
kill "$qsd"; wait "$qsd" || true; qsd=
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$image"
rm -rf "$work"
SH
chmod +x "$dir/pipeline.sh"

results="$dir/results.tsv"; : > "$results"
written="$dir/written.tsv"; : > "$written"
# Sets cmd to WHO's command on a fresh sparse copy of the fixture (the image flushed, so no earlier write-back lingers).
fresh_copy() {
  cp --sparse=always "$fixture" "$dir/work.vhdx"
  sync "$dir/work.vhdx"
  if [ "$who" = ours ]; then
    cmd=("$tool" prepare "$dir/work.vhdx" --nic "$nic" --driver "$dir/pkg" "${os[@]}")
  elif [ "$windows" = 7 ]; then
    cmd=("$dir/pipeline.sh" "$dir/work.vhdx" "$offset" "$length" "$dir/pkg" "$dir/pipeline.reg")
  else
    cmd=("$dir/pipeline.sh" "$dir/work.vhdx" "$offset" "$length" "$dir/pkg" "$dir/pipeline-win10-$size.reg" "$dir/pipeline-win10-$size.files")
  fi
}
for size in "${sizes[@]}"; do
  fixture="$dir/$prefix$size.vhdx"
  if [ ! -f "$fixture" ]; then
    echo "== building the $size fixture (Windows $windows)"
    WINDOWS=$windows "$here/fixture.sh" "$dir" "$size" "${E2E_DATA_MB:-1000}" "${E2E_INFS:-1200}"
  fi
  read -r offset length < "$dir/$prefix$size.partition"
  if [ "$windows" = 10 ]; then
    # The pipeline's job, taken from our plan: every file to its path, every SYSTEM value as hivexregedit writes it.
    "$tool" prepare "$fixture" --nic "$nic" --driver "$dir/pkg" --dry-run --json > "$dir/plan-win10-$size.json"
    python3 - "$dir/plan-win10-$size.json" "$dir/pipeline-win10-$size.reg" "$dir/pipeline-win10-$size.files" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
types = {"REG_NONE": 0, "REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4, "REG_MULTI_SZ": 7, "REG_QWORD": 11}
keys = {}
with open(sys.argv[3], "w") as files:
    for c in plan["changes"]:
        if c["kind"] == "file":
            files.write(c["source"] + "\t" + c["path"].lstrip("\\").replace("\\", "/") + "\n")
        elif c["kind"] == "registry":
            if c["hive"] != "SYSTEM" or c["newData"] is None:
                sys.exit(f"the pipeline cannot do this change: {c}")
            data = bytes.fromhex(c["newData"])
            name = "@" if c["valueName"] == "" else '"' + c["valueName"].replace("\\", "\\\\").replace('"', '\\"') + '"'
            keys.setdefault(c["key"], []).append(f"{name}=hex({types[c['type']]:x}):" + ",".join(f"{b:02x}" for b in data))
        elif c["kind"] != "folder":
            sys.exit(f"the pipeline cannot do this change: {c}")
# hivexregedit creates a key only under an existing parent: every new ancestor gets its own section, parents first.
for key in list(keys):
    parts = key.split("\\")
    for i in range(1, len(parts)):
        keys.setdefault("\\".join(parts[:i]), [])
with open(sys.argv[2], "w") as reg:
    reg.write("Windows Registry Editor Version 5.00\n")
    for key, values in sorted(keys.items(), key=lambda kv: kv[0].count("\\")):
        reg.write(f"\n[HKEY_LOCAL_MACHINE\\SYSTEM\\{key}]\n" + "\n".join(values) + "\n")
PY
  fi
  for i in $(seq "$runs"); do
    for who in ours pipeline; do
      fresh_copy
      /usr/bin/time -o "$dir/time.txt" -f "%e %M %O" "${cmd[@]}" >/dev/null
      echo "$size $who $i $(cat "$dir/time.txt")" >> "$results"
    done
  done
  # Bytes written to the image file: one untimed run of each under strace (it slows the process down).
  for who in ours pipeline; do
    if command -v strace >/dev/null; then
      fresh_copy
      strace -f -y -qq -e trace=write,pwrite64,pwritev,pwritev2 -o "$dir/strace.txt" "${cmd[@]}" >/dev/null
      image_bytes=$(awk -v img="<$dir/work.vhdx>" 'index($0, img) && $NF ~ /^[0-9]+$/ { n += $NF } END { print n + 0 }' "$dir/strace.txt")
    else
      image_bytes=-1
    fi
    echo "$size $who $image_bytes" >> "$written"
  done
done

python3 - "$results" "$written" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
image = {(r[0], r[1]): int(r[2]) for r in (l.split() for l in open(sys.argv[2]) if l.strip())}
def mib(n): return "n/a (no strace)" if n < 0 else f"{n / 2**20:.2f} MiB ({n} bytes)"
for size in dict.fromkeys(r[0] for r in rows):
    by = {w: [r for r in rows if r[0] == size and r[1] == w] for w in ("ours", "pipeline")}
    med = {w: statistics.median(float(r[3]) for r in by[w]) for w in by}
    pairs = [float(p[3]) / float(o[3]) for o, p in zip(by["ours"], by["pipeline"])]
    print(f"{size}: iscsi-convert {med['ours']:.2f} s, pipeline {med['pipeline']:.2f} s (medians); "
          f"speed-up (pipeline/ours, median of {len(pairs)} pairs) {statistics.median(pairs):.2f}x "
          f"({', '.join(f'{p:.1f}' for p in pairs)}); "
          f"our peak RSS {max(int(r[4]) for r in by['ours']) / 1024:.0f} MiB (pipeline's largest process "
          f"{max(int(r[4]) for r in by['pipeline']) / 1024:.0f} MiB)")
    print(f"{size}: written to the image file: ours {mib(image.get((size, 'ours'), -1))}, pipeline "
          f"{mib(image.get((size, 'pipeline'), -1))}; file-system output blocks (GNU time, median): ours "
          f"{statistics.median(int(r[5]) for r in by['ours']) * 512 / 2**20:.2f} MiB, pipeline "
          f"{statistics.median(int(r[5]) for r in by['pipeline']) * 512 / 2**20:.2f} MiB")
PY
