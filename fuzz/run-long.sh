#!/usr/bin/env bash
# Long mode of the parser fuzzer (docs/reliability.md): the same mutator and guards as the CI run, for longer.
#   fuzz/run-long.sh [seconds-per-parser] [parser-filter]
# Examples: fuzz/run-long.sh 3600            every parser for an hour each
#           fuzz/run-long.sh 600 NTFS        NTFS only, ten minutes
# Replay a failure exactly: ISCSICONVERT_FUZZ_SEED=<seed> ISCSICONVERT_FUZZ_EXECUTIONS=<iteration+1> ISCSICONVERT_FUZZ_FROM=<iteration> fuzz/run-long.sh 3600 <parser>
# (FROM skips running the iterations before it; their recipes are still drawn, so the input is the same)
# The figures of every run are appended to fuzz/results.txt (not committed unless they are recorded in the docs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3600}"
filter="${2:-}"
export ISCSICONVERT_FUZZ_SECONDS="$seconds"
export ISCSICONVERT_FUZZ_REPORT="${ISCSICONVERT_FUZZ_REPORT:-$PWD/fuzz/results.txt}"
export PATH="$PATH:/usr/sbin"
dotnet build tests/IscsiConvert.Fuzzing.Tests -c Release -v q
export ISCSICONVERT_FUZZ_ONLY="$filter"
where="FullyQualifiedName~ParserFuzzTests"
# Each parser runs for the whole time box; the test host must not time out meanwhile.
dotnet test tests/IscsiConvert.Fuzzing.Tests -c Release --no-build --filter "$where" \
  --logger "console;verbosity=detailed" -- RunConfiguration.TestSessionTimeout=0
tail -n 20 "$ISCSICONVERT_FUZZ_REPORT"
