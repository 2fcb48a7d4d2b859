#!/usr/bin/env bash
# Builds the end-to-end benchmark fixture of docs/benchmarks.md ("prepare, whole process"): a dynamic VHDX of SIZE laid
# out like a Windows UEFI disk (GPT: EFI, MSR, basic data), its Windows partition formatted by mkntfs and filled
# through ntfs-3g with a Windows-7-like tree — the real Windows 7 SYSTEM hive from ../shared/testdata, a Windows-size
# \Windows\INF (INF_COUNT synthetic INFs), DATA_MB of incompressible files — plus the driver package to install (an
# e1000-style NIC INF and a 320 KiB driver binary; synthetic, no Microsoft file) and the .reg file that the FUSE
# pipeline merges with hivexregedit to make the same change as `iscsi-convert prepare`.
#
# WINDOWS=10 builds the Windows 10 variant instead (the Windows 8+ staging path): the real Windows 10 1709 x64 SYSTEM
# hive (the yarp-recovered, clean copy of SYSTEM_B in ../shared/testdata, as the CLI tests use it), a SOFTWARE hive
# saying Windows 10 Pro build 16299 (merged by hivexregedit into the minimal hivex hive; the engine reads the version
# from SOFTWARE) and an empty \Windows\System32\DriverStore\FileRepository, written as fixture-win10-SIZE.vhdx. Its
# pipeline .reg is not written here: it depends on the driver-store name and oemN slot, so run.sh derives it from
# `prepare --dry-run --json` on the fixture (the same registry change as ours, made by hivexregedit).
#
#   benchmarks/e2e/fixture.sh OUT_DIR SIZE [DATA_MB] [INF_COUNT]      e.g.  fixture.sh /tmp/e2e 16G 1000 1200
#   WINDOWS=10 benchmarks/e2e/fixture.sh OUT_DIR SIZE [DATA_MB] [INF_COUNT]
#
# Needs qemu-img, qemu-storage-daemon (Debian: qemu-system-common), sgdisk, mkntfs, ntfs-3g and FUSE.
set -euo pipefail
out=$1 size=$2 data_mb=${3:-1000} inf_count=${4:-1200}
here=$(cd "$(dirname "$0")" && pwd)
testdata="$here/../../../shared/testdata"
windows=${WINDOWS:-7}
case "$windows" in
  7)  hive="$testdata/registry/win7-system/SYSTEM"; image="$out/fixture-$size.vhdx" ;;
  10) hive="$testdata/registry/win10-dirty-system/SYSTEM_B.recovered-by-yarp"; image="$out/fixture-win10-$size.vhdx" ;;
  *)  echo "WINDOWS must be 7 or 10"; exit 1 ;;
esac
[ -f "$hive" ] || { echo "missing $hive (the shared test data)"; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'fusermount -u "$work/mnt" 2>/dev/null || true; [ -n "${qsd:-}" ] && kill "$qsd" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

if [ "$windows" = 10 ]; then
  # SOFTWARE saying Windows 10 Pro 1709 (build 16299), the values the CLI tests write for the same SYSTEM hive.
  cp "$testdata/registry/hivex-minimal/minimal" "$work/SOFTWARE"; chmod u+w "$work/SOFTWARE"
  cat > "$work/software.reg" <<'REG'
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT]

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Pro"
"CurrentVersion"="6.3"
"CurrentBuild"="16299"
"CurrentBuildNumber"="16299"
"EditionID"="Professional"
"InstallationType"="Client"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
REG
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$work/SOFTWARE" "$work/software.reg"
fi

rm -f "$image"
qemu-img create -q -f vhdx -o subformat=dynamic "$image" "$size"

# Serves the image (or a window of it) as a raw file over FUSE until the next `unserve`.
serve() { # serve OFFSET_BYTES SIZE_BYTES|whole
  touch "$work/raw"
  local node="driver=vhdx,node-name=disk,file.driver=file,file.filename=$image"
  if [ "$2" = whole ]; then
    qemu-storage-daemon --blockdev "$node" --export type=fuse,id=e,node-name=disk,mountpoint="$work/raw",writable=on &
  else
    qemu-storage-daemon --blockdev "$node" --blockdev "driver=raw,node-name=part,file=disk,offset=$1,size=$2" \
      --export type=fuse,id=e,node-name=part,mountpoint="$work/raw",writable=on &
  fi
  qsd=$!
  for _ in $(seq 200); do
    mountpoint -q "$work/raw" && [ "$(stat -c %s "$work/raw")" -gt 0 ] && return 0
    sleep 0.05
  done
  echo "qemu-storage-daemon did not export the image"; exit 1
}
unserve() { sync "$work/raw" 2>/dev/null || true; umount "$work/raw" 2>/dev/null || fusermount -u "$work/raw"; kill "$qsd" 2>/dev/null || true; wait "$qsd" 2>/dev/null || true; qsd=; }

serve 0 whole
sgdisk -o -n 1:2048:+100M -t 1:ef00 -c 1:"EFI system partition" \
          -n 2:0:+16M -t 2:0c01 -c 2:"Microsoft reserved partition" \
          -n 3:0:0 -t 3:0700 -c 3:"Basic data partition" "$work/raw" >/dev/null
read -r first last < <(sgdisk -i 3 "$work/raw" | awk '/First sector/{f=$3} /Last sector/{l=$3} END{print f, l}')
unserve
offset=$((first * 512)); length=$(((last - first + 1) * 512))

serve "$offset" "$length"
mkntfs -q -F -Q -L Windows -p "$first" -H 255 -S 63 "$work/raw" >/dev/null
mkdir -p "$work/mnt"
ntfs-3g -o big_writes "$work/raw" "$work/mnt"
w="$work/mnt/Windows"
mkdir -p "$w/System32/config" "$w/System32/drivers" "$w/INF" "$work/mnt/data"
cp "$hive" "$w/System32/config/SYSTEM"
if [ "$windows" = 10 ]; then
  cp "$work/SOFTWARE" "$w/System32/config/SOFTWARE"
  mkdir -p "$w/System32/DriverStore/FileRepository"
fi
python3 - "$w/INF" "$inf_count" <<'PY'
import os, sys
folder, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    # A plausible INF of a few KiB: a model section with PCI IDs that never match the benchmark's NIC.
    models = "".join(f"%Dev{i}_{k}% = Install{i}, PCI\\VEN_{0x1000 + i % 0xEFFF:04X}&DEV_{k:04X}\n" for k in range(40))
    text = (f"[Version]\nSignature=\"$Windows NT$\"\nClass=System\nClassGuid={{4D36E97D-E325-11CE-BFC1-08002BE10318}}\n"
            f"Provider=%Vendor%\nDriverVer=06/21/2006,6.1.7600.{i}\n\n[Manufacturer]\n%Vendor%=Models{i},NTamd64\n\n"
            f"[Models{i}.NTamd64]\n{models}\n[Install{i}]\nCopyFiles=Files{i}\n\n[Files{i}]\ndrv{i}.sys\n\n"
            f"[Install{i}.Services]\nAddService=drv{i},0x2,Service{i}\n\n[Service{i}]\nServiceType=1\nStartType=3\n"
            f"ErrorControl=1\nServiceBinary=%12%\\drv{i}.sys\n\n[Strings]\nVendor=\"Vendor {i}\"\n"
            + "".join(f"Dev{i}_{k}=\"Device {i}.{k}\"\n" for k in range(40)))
    with open(os.path.join(folder, f"inf{i:04d}.inf"), "w", newline="\r\n") as f:
        f.write(text)
PY
remaining=$data_mb
n=0
while [ "$remaining" -gt 0 ]; do
  chunk=$((remaining < 64 ? remaining : 64))
  head -c "${chunk}M" /dev/urandom > "$work/mnt/data/file$n.bin"
  remaining=$((remaining - chunk)); n=$((n + 1))
done
fusermount -u "$work/mnt"
unserve

# The driver package: an e1000-style NIC that the image's INFs do not serve.
pkg="$out/pkg"
rm -rf "$pkg"; mkdir -p "$pkg"
head -c $((320 * 1024)) /dev/urandom > "$pkg/benchnic.sys"
cat > "$pkg/benchnic.inf" <<'INF'
[Version]
Signature="$Windows NT$"
Class=Net
ClassGuid={4D36E972-E325-11CE-BFC1-08002BE10318}
Provider=%Vendor%
DriverVer=01/01/2020,1.0.0.0

[Manufacturer]
%Vendor%=Models,NTamd64,NTx86

[Models.NTamd64]
%Nic% = Install, PCI\VEN_8086&DEV_10D3

[Models.NTx86]
%Nic% = Install, PCI\VEN_8086&DEV_10D3

[SourceDisksNames]
1 = %Disk%

[SourceDisksFiles]
benchnic.sys = 1

[DestinationDirs]
DefaultDestDir = 12

[Install]
Characteristics = 0x84
BusType = 5
CopyFiles = Files

[Files]
benchnic.sys

[Install.Services]
AddService = benchnic, 2, Service

[Service]
ServiceType = 1
StartType = 3
ErrorControl = 1
ServiceBinary = %12%\benchnic.sys
LoadOrderGroup = NDIS

[Strings]
Vendor = "Benchmark Vendor"
Nic = "Benchmark NIC"
Disk = "Benchmark disk"
INF

if [ "$windows" = 10 ]; then
  echo "$offset $length" > "$out/fixture-win10-$size.partition"
  echo "fixture: $image ($(du -h "$image" | cut -f1) on disk), Windows 10, partition at byte $offset, $inf_count INFs, $data_mb MiB of data"
  exit 0
fi

# What the FUSE pipeline merges: the same CDDB entry, service and boot start as `prepare` writes.
cs=$(hivexget "$hive" '\Select' Current)
cat > "$out/pipeline.reg" <<REG
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet00$cs\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_10d3]
"ClassGUID"="{4D36E972-E325-11CE-BFC1-08002BE10318}"
"Service"="benchnic"

[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet00$cs\\Services\\benchnic]
"Type"=dword:00000001
"Start"=dword:00000000
"ErrorControl"=dword:00000001
"Group"="NDIS"
"ImagePath"=hex(2):73,00,79,00,73,00,74,00,65,00,6d,00,33,00,32,00,5c,00,44,00,52,00,49,00,56,00,45,00,52,00,53,00,5c,00,62,00,65,00,6e,00,63,00,68,00,6e,00,69,00,63,00,2e,00,73,00,79,00,73,00,00,00
REG
echo "$offset $length" > "$out/fixture-$size.partition"
echo "fixture: $image ($(du -h "$image" | cut -f1) on disk), partition at byte $offset, $inf_count INFs, $data_mb MiB of data"
