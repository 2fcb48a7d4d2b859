#!/usr/bin/env bash
# Publishes `iscsi-convert` as a Native AOT binary (the release build of the performance issue: no JIT at start-up)
# into OUT_DIR (default $TMPDIR/iscsiconvert-aot). Needs clang and zlib1g-dev (Debian: apt-get install clang
# zlib1g-dev); the AOT compiler package is restored from the NuGet feed, its version chosen by the SDK. Not run by CI
# (it takes minutes); the libraries' and the CLI's trim/AOT analyzers run on every ordinary build instead.
#
#   benchmarks/e2e/publish-aot.sh [OUT_DIR]        then:  TOOL=OUT_DIR/iscsi-convert benchmarks/e2e/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${TMPDIR:-/tmp}/iscsiconvert-aot}
rid=linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
dotnet publish "$here/../../src/IscsiConvert.Cli" -c Release -r "$rid" -p:IscsiConvertAot=true -o "$out" -nologo
echo "AOT binary: $out/iscsi-convert ($(du -h "$out/iscsi-convert" | cut -f1))"
