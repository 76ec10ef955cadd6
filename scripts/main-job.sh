#!/usr/bin/env bash
# README's main job on built-in data: installs what the package needs, builds isparse in
# release mode and solves the 1000×1000 grid Laplacian + I (10⁶ unknowns). Extra arguments
# are passed to `isparse linsolve` (e.g. --method cg --precond jacobi).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product isparse
.build/release/isparse linsolve --grid 1000 "$@"
