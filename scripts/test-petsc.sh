#!/usr/bin/env bash
# The optional PETSc backend's tests (nested package PETSc/): installs petsc-dev, Open MPI and
# pkg-config (scripts/setup.sh --petsc), builds the package in debug and runs its XCTest suite:
# the solvers in one process, then `mpirun -q -np 1|2|3 isparse-mpi …` against the
# single-process library. Ends with the suite's 'Executed N tests' line; exit status of swift test.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --petsc || exit 1
cd PETSc || { echo "the PETSc/ package is missing"; exit 1; }
swift test --disable-swift-testing 2>&1
