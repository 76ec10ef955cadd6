#!/usr/bin/env bash
# README's main job on built-in data: installs what the package needs, builds isparse in
# release mode, and tunes λ of the lasso on the built-in generated text-like problem
# (n = 50 000, p = 65 000, about 10⁶ nonzeros) by following the hypergradient of the
# validation loss (bounded L-BFGS in log λ), with a progress line, a 30-point grid for
# comparison, and the SVG plot tune-lasso.svg. Extra arguments are passed to
# `isparse tune lasso` (e.g. --optimizer gd --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product isparse
.build/release/isparse tune lasso --grid 30 --plot tune-lasso.svg "$@"
