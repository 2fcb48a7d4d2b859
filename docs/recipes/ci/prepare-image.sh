#!/usr/bin/env bash
# CI pipeline step: prepare a golden Windows image for iSCSI boot, keep a JSON report as a build artefact, and fail the
# build when iscsi-convert refuses (exit code 3: the image is hibernated or was not shut down cleanly) or cannot read
# the image (1). The golden image is never written: the step works on a copy and publishes it only when it is done.
#
# Usage:  prepare-image.sh GOLDEN OUTPUT NIC-ID [more iscsi-convert prepare options, e.g. --driver DIR]
# Env:    ISCSI_CONVERT  the tool (default: iscsi-convert on PATH, from `dotnet tool install -g iscsi-convert`)
#         ARTIFACTS      where the report and logs go (default: artifacts/iscsi-prepare); archive this folder
# Exit:   iscsi-convert's exit code: 0 prepared (or nothing to do), 1 data problem, 2 usage, 3 refused as unsafe.
#
# Tested end to end by tests/IscsiConvert.Packaging.Tests (CiRecipeTests). See docs/recipes/ci.md.
set -uo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 GOLDEN OUTPUT NIC-ID [iscsi-convert prepare options]" >&2
  exit 2
fi
golden=$1 output=$2 nic=$3
shift 3
tool=${ISCSI_CONVERT:-iscsi-convert}
artifacts=${ARTIFACTS:-artifacts/iscsi-prepare}
mkdir -p "$artifacts"

if [ -e "$output" ]; then
  echo "error: $output exists already; name a new file." >&2
  exit 2
fi

json_string() { # a JSON string literal for $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# What the image holds before (Windows version, drivers, whether prepare can run on it).
"$tool" inspect "$golden" --json >"$artifacts/inspect-before.json" 2>"$artifacts/inspect-before.err"
inspect_rc=$?

# Work on a copy (sparse, so a mostly empty image stays small); publish it under its name only when prepared.
partial="$output.partial"
rc=$inspect_rc
if [ "$inspect_rc" -eq 0 ]; then
  cp --sparse=always "$golden" "$partial" || { echo "error: cannot copy $golden to $partial" >&2; exit 1; }
  "$tool" prepare "$partial" --nic "$nic" "$@" >"$artifacts/prepare.log" 2>"$artifacts/prepare.err"
  rc=$?
fi

case $rc in
  0) status=prepared ;;
  1) status=data-error ;;
  2) status=usage-error ;;
  3) status=refused ;;
  *) status=failed ;;
esac

after=null
if [ "$rc" -eq 0 ]; then
  mv "$partial" "$output"
  if "$tool" inspect "$output" --json >"$artifacts/inspect-after.json" 2>>"$artifacts/prepare.err"; then
    after=$(cat "$artifacts/inspect-after.json")
  fi
else
  rm -f "$partial"
fi
before=null
[ "$inspect_rc" -eq 0 ] && before=$(cat "$artifacts/inspect-before.json")

{
  printf '{\n  "golden": %s,\n  "output": %s,\n  "nic": %s,\n' "$(json_string "$golden")" "$(json_string "$output")" "$(json_string "$nic")"
  printf '  "exitCode": %d,\n  "status": "%s",\n' "$rc" "$status"
  printf '  "before": %s,\n  "after": %s\n}\n' "$before" "$after"
} >"$artifacts/report.json"

if [ "$rc" -ne 0 ]; then
  reason=$(cat "$artifacts/inspect-before.err" "$artifacts/prepare.err" 2>/dev/null | grep -m1 '^error:' || true)
  # One line a CI server shows as the failure (GitHub Actions reads ::error::; others show it as text).
  echo "::error title=iscsi-convert prepare ($status, exit $rc)::${reason:-see $artifacts}"
  exit "$rc"
fi
echo "prepared $output; report in $artifacts/report.json"
