#!/usr/bin/env bash
# Builds and runs one libFuzzer target with AddressSanitizer.
# Usage: scripts/fuzz.sh TARGET SECONDS
#   TARGET: matrix-market | libsvm | libsvm-gzip | constructors | npz | npy | edge-list | graph
# New interesting inputs go to a scratch corpus; the seed corpus in Fuzz/corpus/TARGET is
# read only. Crashes, hangs (-timeout) and out-of-memory inputs (-rss_limit_mb) are written
# to Fuzz/crashes/; copy each into Tests/SparseTests/FuzzRegressionTests.swift once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:-600}
bash scripts/setup.sh
# libFuzzer's own main would clash with the one SwiftPM gives every executable, so the
# targets are instrumented for coverage and ASan and linked with libFuzzer's no-main
# runtime; their @main hands over to LLVMFuzzerRunDriver.
runtime=$(dirname "$(find "$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/clang" -name 'libclang_rt.fuzzer_no_main-x86_64.a' | head -n 1)")
swift build --package-path Fuzz --scratch-path .build-fuzz -c debug \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    -Xlinker "$runtime/libclang_rt.fuzzer_no_main-x86_64.a" -Xlinker -lstdc++ --product "fuzz-$target"
work=".build-fuzz/corpus-$target"
mkdir -p "$work" Fuzz/crashes
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
".build-fuzz/debug/fuzz-$target" "$work" "Fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=4096 \
    -artifact_prefix="Fuzz/crashes/$target-" -print_final_stats=1
