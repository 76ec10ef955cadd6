#!/usr/bin/env bash
# README's test command: installs what the package needs, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test
