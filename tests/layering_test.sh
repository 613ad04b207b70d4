#!/usr/bin/env bash
# The dependency rule of ARCHITECTURE.md, checked on every test run: the lower layers
# know nothing of the service (api) and, but for http -> schema, nothing of each other;
# core, at the bottom, knows none of them (config only core).
set -u
src="$(dirname "$0")/../src"
status=0
check() {  # check LAYER FORBIDDEN...
  local layer=$1; shift
  for other in "$@"; do
    if grep -rnE "#include \"$other/" "$src/$layer" 2>/dev/null; then
      echo "layering: $layer must not include $other/" >&2
      status=1
    fi
  done
}
check core api config http schema db security openapi
check config api http schema db security openapi
check http api db security openapi
check schema api http db security openapi
check db api config http schema security openapi
check security api http schema db openapi
check openapi api db security
# Nor do they know the product's name: thread names, application_name and temporary
# folders are given by api/ and main.cpp.
for layer in core config http schema db security; do
  if grep -rnE '"items[-_]' "$src/$layer"; then
    echo "layering: $layer must not name the product (take the name from the caller)" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $status
