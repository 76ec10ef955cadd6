#!/usr/bin/env bash
# README's test command: installs what the package needs, then runs the whole XCTest suite
# twice, then the PETSc backend's suite (scripts/test-petsc.sh), then builds and runs the examples package and builds the DocC documentation: a debug pass (internal invariant checks compiled in via SPARSE_INTERNAL_CHECKS) and a release pass (which also runs the
# large-size tests that skip themselves in debug builds). Ends with a plain
# 'N passed, N failed' line over both passes.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
passed=0; failed=0; status=0
for configuration in debug release; do
    echo "== swift test -c $configuration"
    log=$(mktemp)
    # The debug pass compiles the internal invariant checks in (Package.swift).
    checks=""; [ "$configuration" = debug ] && checks=1
    SPARSE_INTERNAL_CHECKS=$checks swift test -c "$configuration" --disable-swift-testing 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    [ "$code" -ne 0 ] && status=$code
    summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -n 1)
    rm -f "$log"
    if [ -z "$summary" ]; then
        echo "swift test -c $configuration ran no test (exit $code)"
        status=1
        continue
    fi
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failures=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures? .*/\1/')
    skipped=$(echo "$summary" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p')
    passed=$((passed + total - failures - ${skipped:-0}))
    failed=$((failed + failures))
done
# The optional PETSc backend (PETSc/): its packages installed, its package built, its tests
# run (one process, then 1-, 2- and 3-rank runs under mpirun).
echo "== PETSc backend (PETSc/, debug)"
log=$(mktemp)
bash scripts/test-petsc.sh 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
[ "$code" -ne 0 ] && status=$code
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$log" | tail -n 1)
rm -f "$log"
if [ -z "$summary" ]; then
    echo "the PETSc backend ran no test (exit $code)"
    status=1
    failed=$((failed + 1))
else
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failures=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures? .*/\1/')
    skipped=$(echo "$summary" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p')
    passed=$((passed + total - failures - ${skipped:-0}))
    failed=$((failed + failures))
fi
# The examples package (Examples/) and the documentation catalog build too.
echo "== examples"
if bash scripts/examples.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "== documentation"
if bash scripts/docs.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "tests: $passed passed, $failed failed (the examples and the documentation build count one each)"
exit "$status"
