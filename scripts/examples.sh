#!/usr/bin/env bash
# Builds the examples package (Examples/, which depends on this package by path, as a user's
# package would) and runs every example on its small generated data. Each example checks its
# answer against an independent oracle (finite differences or a grid) and exits 1 on a
# mismatch. Ends with 'examples: N passed, N failed'.
set -uo pipefail
cd "$(dirname "$0")/../Examples"
swift build 2>&1 | tail -n 3
if [ "${PIPESTATUS[0]}" -ne 0 ]; then echo "examples: the package did not build"; exit 1; fi
passed=0; failed=0
for example in QuickStart CustomCondition WeightedLassoHypergradient GraphProblem TuneFromSwift ReadAndConvert CustomPenalty FixedPointModel APITour; do
    echo "== $example"
    if .build/debug/"$example"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "$example FAILED"; fi
done
echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
