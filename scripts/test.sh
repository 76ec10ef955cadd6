#!/usr/bin/env bash
# README's test command: installs what the package needs, then runs the whole XCTest suite
# twice — a debug pass (internal invariant checks compiled in via SPARSE_INTERNAL_CHECKS) and a
# release pass (which also runs the large-size tests that skip themselves in debug builds) —,
# then the PETSc backend's suite (scripts/test-petsc.sh), then builds and runs the examples
# package and builds the DocC documentation. Ends with a plain 'N passed, N failed' line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
passed=0; failed=0; skipped_total=0; status=0
# Skips a CI run may show: the size test that runs in the release pass only (skipped in debug).
allowed_skips="PreconditionerTests.testAMGIterationsNearlyIndependentOfSize@debug"
# Counts the tests of log $1 (label $2, configuration $3) by their own lines: a test passed,
# failed (however many assertions failed in it) or skipped; a log without an 'Executed' line
# (the build failed, or no test ran) counts as a failure. Skipped tests are printed by name
# with their reason; in CI (CI set) a skip not in $allowed_skips fails the run, because CI
# installs what every test needs.
count() {
    local summary tests_failed tests_skipped tests_passed name
    summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with" "$1" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "$2 ran no test"
        status=1
        failed=$((failed + 1))
        return
    fi
    tests_passed=$(grep -cE "^Test Case '.*' passed" "$1")
    tests_failed=$(grep -cE "^Test Case '.*' failed" "$1")
    tests_skipped=$(grep -cE "^Test Case '.*' skipped" "$1")
    passed=$((passed + tests_passed))
    failed=$((failed + tests_failed))
    skipped_total=$((skipped_total + tests_skipped))
    if [ "$tests_skipped" -gt 0 ]; then
        echo "$2: $tests_skipped skipped:"
        grep -E "Test skipped" "$1" | sed -E 's/^.*: ([A-Za-z0-9_]+\.[A-Za-z0-9_]+) : Test skipped - /  \1: /'
        for name in $(grep -E "^Test Case '.*' skipped" "$1" | sed -E "s/^Test Case '([^']*)' skipped.*/\1/"); do
            case " $allowed_skips " in
                *" $name@${3:-any} "*) ;;
                *) if [ -n "${CI:-}" ]; then echo "  $name must run in CI"; status=1; failed=$((failed + 1)); fi ;;
            esac
        done
    fi
}
for configuration in debug release; do
    echo "== swift test -c $configuration"
    log=$(mktemp)
    # The debug pass compiles the internal invariant checks in (Package.swift).
    checks=""; [ "$configuration" = debug ] && checks=1
    SPARSE_INTERNAL_CHECKS=$checks swift test -c "$configuration" --disable-swift-testing 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    [ "$code" -ne 0 ] && status=$code
    count "$log" "swift test -c $configuration (exit $code)" "$configuration"
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
# The examples package (Examples/), the documentation catalog and a client package by URL build too.
echo "== examples"
if bash scripts/examples.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "== documentation"
if bash scripts/docs.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "== a client package by URL and version (README's installation lines)"
if bash scripts/dependency-check.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
echo "tests: $passed passed, $failed failed, $skipped_total skipped (the examples, the documentation build and the dependency check count one each)"
exit "$status"
