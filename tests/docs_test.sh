#!/usr/bin/env bash
# The docs stand alone and stay true: the generated pages are what the code and the newest
# benchmark run say (settings, metrics, performance), every relative link resolves to a file
# of the repository, nothing points outside it, and every setting --help names is documented.
#
# Usage: tests/docs_test.sh ITEMS_API_BINARY NODE
set -u
bin=$(realpath "$1")
node=$2
root=$(cd "$(dirname "$0")/.." && pwd)
failures=0
fail() {
  echo "docs: $*" >&2
  failures=$((failures + 1))
}

# The generated pages, made again. `metrics` builds the service on a throwaway database: run
# where it can write nothing of the repository's.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && env -i PATH="$PATH" "$bin" settings) >"$work/configuration.md" || fail "items-api settings failed"
(cd "$work" && env -i PATH="$PATH" "$bin" metrics) >"$work/metrics.md" || fail "items-api metrics failed"
"$node" "$root/bench/report.mjs" >"$work/performance.md" || fail "bench/report.mjs failed"
for page in configuration metrics performance; do
  if ! diff -u "$root/docs/$page.md" "$work/$page.md" >"$work/$page.diff"; then
    fail "docs/$page.md is not what its generator writes now (regenerate it):"
    head -20 "$work/$page.diff" >&2
  fi
done

# Every setting --help names is in docs/configuration.md.
settings=$(env -i PATH="$PATH" "$bin" --help | sed -n 's/^  \([A-Z][A-Z0-9_]*\) .*/\1/p')
[ -n "$settings" ] || fail "no setting found in --help"
for name in $settings; do
  grep -q "^| \`$name\`" "$root/docs/configuration.md" || fail "$name is in --help but not in docs/configuration.md"
done

# The pages a user reads.
pages=("$root/README.md" "$root/bench/README.md" "$root/bench/results/history.md" "$root/src/openapi/README.md")
while IFS= read -r -d '' page; do pages+=("$page"); done < <(find "$root/docs" -name '*.md' -print0)

for page in "${pages[@]}"; do
  [ -f "$page" ] || { fail "${page#"$root"/} is missing"; continue; }
  rel=${page#"$root"/}
  dir=$(dirname "$page")
  # Markdown links [text](target): every relative one resolves to a file or folder of the
  # repository (anchors aside).
  while IFS= read -r target; do
    case "$target" in http://* | https://* | mailto:* | "#"*) continue ;; esac
    path=${target%%#*}
    resolved=$(realpath -m "$dir/$path")
    case "$resolved" in
      "$root"/*) [ -e "$resolved" ] || fail "$rel links to $target, which does not exist" ;;
      *) fail "$rel links to $target, outside the repository" ;;
    esac
  done < <(grep -o '](\([^)]*\))' "$page" | sed 's/^](\(.*\))$/\1/')
  # Nor does the text point outside it: the project's own notes beside the clone are not
  # the user's.
  if grep -nE '\.\./shared|(^|[^a-z/])(API|ARCHITECTURE|STYLE|TOOLCHAIN)\.md' "$page" >"$work/outside"; then
    fail "$rel refers to files outside the repository:"
    cat "$work/outside" >&2
  fi
done

# The README stays a page a newcomer reads in minutes.
lines=$(wc -l <"$root/README.md")
[ "$lines" -le 200 ] || fail "README.md has $lines lines (at most 200: topics go to docs/)"

if [ "$failures" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed ($failures problems)"; fi
[ "$failures" -eq 0 ]
