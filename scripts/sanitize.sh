#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, in its own build folder.
# Usage: scripts/sanitize.sh address|thread
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh address|thread}
bash scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-"suppressions=$(pwd)/scripts/lsan.supp print_suppressions=0"}
# TSan cannot see inside OpenBLAS's and CHOLMOD's own (uninstrumented) threads; those are
# libraries, not our code, so reports from them are suppressed by name.
export TSAN_OPTIONS=${TSAN_OPTIONS:-"halt_on_error=0 suppressions=$(pwd)/scripts/tsan.supp"}
swift test --disable-swift-testing --sanitize="$kind" --scratch-path ".build-$kind" 2>&1 | tee ".build-$kind.log"
status=${PIPESTATUS[0]}
reports=$(grep -cE "^(==[0-9]+==ERROR: |WARNING: ThreadSanitizer)" ".build-$kind.log" || true)
echo "sanitizer $kind: exit $status, $reports reports"
exit "$status"
