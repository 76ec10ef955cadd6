#!/usr/bin/env bash
# README's main job on built-in data: installs what the package needs, builds isparse in
# release mode, and computes the hypergradient of the validation loss with respect to log λ
# for the lasso on the built-in generated text-like problem (n = 50 000, p = 65 000, about
# 10⁶ nonzeros), checked against a central finite difference. Extra arguments are passed to
# `isparse hypergrad lasso` (e.g. --lambda-ratio 20 --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product isparse
.build/release/isparse hypergrad lasso --check "$@"
