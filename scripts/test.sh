#!/usr/bin/env bash
# README's test command: installs what the package needs, then runs the whole XCTest suite
# twice — a debug pass (internal invariant checks compiled in via SPARSE_INTERNAL_CHECKS) and a
# release pass (which also runs the large-size tests that skip themselves in debug builds) —,
# then the PETSc backend's suite (scripts/test-petsc.sh), then builds and runs the examples
# package and builds the DocC documentation. Ends with a plain 'N passed, N failed' line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
passed=0; failed=0; status=0
# Adds the last 'Executed N tests, with F failures' line of log $1 to the totals; a log without
# one (the build failed, or no test ran) counts as a failure, reported with the label $2.
count() {
    local summary total failures skipped
    summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$1" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "$2 ran no test"
        status=1
        failed=$((failed + 1))
        return
    fi
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failures=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures? .*/\1/')
    skipped=$(echo "$summary" | sed -nE 's/.*with ([0-9]+) tests? skipped.*/\1/p')
    passed=$((passed + total - failures - ${skipped:-0}))
    failed=$((failed + failures))
}
for configuration in debug release; do
    echo "== swift test -c $configuration"
    log=$(mktemp)
    # The debug pass compiles the internal invariant checks in (Package.swift).
    checks=""; [ "$configuration" = debug ] && checks=1
    SPARSE_INTERNAL_CHECKS=$checks swift test -c "$configuration" --disable-swift-testing 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    [ "$code" -ne 0 ] && status=$code
    count "$log" "swift test -c $configuration (exit $code)"
    rm -f "$log"
done
# The optional PETSc backend (PETSc/): its packages installed, its package built, its tests
# run (one process, then 1-, 2- and 3-rank runs under mpirun).
echo "== PETSc backend (PETSc/, debug)"
log=$(mktemp)
bash scripts/test-petsc.sh 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
[ "$code" -ne 0 ] && status=$code
count "$log" "the PETSc backend (exit $code)"
rm -f "$log"
# The examples package (Examples/) and the documentation catalog build too.
echo "== examples"
if bash scripts/examples.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "== documentation"
if bash scripts/docs.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "tests: $passed passed, $failed failed (the examples and the documentation build count one each)"
exit "$status"
