#!/usr/bin/env bash
# Builds the PowerShell module folder: OUT/IscsiConvert/{IscsiConvert.psd1,IscsiConvert.psm1,lib/*.dll}, where lib holds
# the netstandard2.0 assemblies and their dependencies (what Windows PowerShell 5.1 needs; PowerShell 7 uses fewer).
# Usage: eng/build-psmodule.sh OUT [CONFIGURATION]   (default Release). See docs/powershell.md.
set -euo pipefail
out=${1:?usage: eng/build-psmodule.sh OUT [CONFIGURATION]}
configuration=${2:-Release}
root=$(cd "$(dirname "$0")/.." && pwd)
module="$out/IscsiConvert"
mkdir -p "$module/lib"
dotnet publish "$root/src/IscsiConvert.Windows/IscsiConvert.Windows.csproj" -f netstandard2.0 -c "$configuration" \
  -o "$module/lib" -nologo -v quiet -nodeReuse:false
rm -f "$module/lib/"*.deps.json
cp "$root/powershell/IscsiConvert/IscsiConvert.psm1" "$module/"
# The module has the packages' version: VersionPrefix from Directory.Build.props, the one place it is set.
version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' "$root/Directory.Build.props")
sed "s/ModuleVersion        = '0.0.0'/ModuleVersion        = '$version'/" "$root/powershell/IscsiConvert/IscsiConvert.psd1" >"$module/IscsiConvert.psd1"
echo "$module"
