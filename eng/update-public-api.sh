#!/usr/bin/env bash
# Adds every symbol that the PublicApiAnalyzers report as undeclared (RS0016) to the project's PublicAPI.Unshipped.txt,
# and drops declared symbols that no longer exist (RS0017). Review the diff: it is the public API change.
# Usage: eng/update-public-api.sh src/IscsiConvert.Storage
set -euo pipefail
proj_dir=${1:?usage: $0 PROJECT_DIR}
unshipped="$proj_dir/PublicAPI.Unshipped.txt"
log=$(mktemp)
dotnet build "$proj_dir" -p:TreatWarningsAsErrors=false -nologo 2>&1 > "$log" || true
python3 - "$log" "$unshipped" <<'PY'
import re, sys
log, path = sys.argv[1], sys.argv[2]
text = open(log, encoding='utf-8').read()
add = set(re.findall(r"RS0016: Symbol '(.+?)' is not part of the declared public API", text))
remove = set(re.findall(r"RS0017: Symbol '(.+?)' is part of the declared API, but is either not public or could not be found", text))
lines = [l.rstrip('\n') for l in open(path, encoding='utf-8')]
header = [l for l in lines if l.startswith('#')] or ['#nullable enable']
body = set(l for l in lines if l and not l.startswith('#'))
body = (body | add) - remove
open(path, 'w', encoding='utf-8').write('\n'.join(header + sorted(body, key=lambda s: s.lower())) + '\n')
print(f"{path}: +{len(add)} -{len(remove)}")
PY
rm -f "$log"
