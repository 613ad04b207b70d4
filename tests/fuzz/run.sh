#!/usr/bin/env bash
# Runs a libFuzzer target: first every committed input once (the regression tests: a
# finding, once fixed, is kept in tests/fuzz/corpus/), then fuzzing for SECONDS from them.
# New inputs go to a temporary folder (the committed corpus is not changed); a finding is
# written next to the binary (findings/) and fails the run.
# Usage: tests/fuzz/run.sh path/to/fuzzer [SECONDS=60]
set -euo pipefail
fuzzer=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$fuzzer" ] || { echo "no $fuzzer: ./dev test (or ./dev fuzz) builds it" >&2; exit 1; }
work=$(mktemp -d)
mkdir "$work/new"
trap 'rm -rf "$work"' EXIT
findings=$(dirname "$fuzzer")/findings
rm -rf "$findings" && mkdir -p "$findings"
"$fuzzer" "$here"/corpus/* >"$work/replay.log" 2>&1 || { cat "$work/replay.log" >&2; exit 1; }
echo "replayed $(ls "$here/corpus" | wc -l) committed inputs"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -dict="$here/http.dict" -artifact_prefix="$findings/" \
  -print_final_stats=1 "$work/new" "$here/corpus" >"$work/fuzz.log" 2>&1 || status=$?
grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$work/fuzz.log" | tail -40
[ "$status" -eq 0 ] || { echo "libFuzzer found something (exit $status): $findings" >&2; ls "$findings" >&2; exit 1; }
