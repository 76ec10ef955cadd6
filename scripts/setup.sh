#!/usr/bin/env bash
# Installs the system libraries ImplicitSparse links against (Debian bookworm packages).
# With --petsc, also what the optional PETSc backend (the nested package PETSc/) needs:
# PETSc 3.18 with hypre and MUMPS, Open MPI and its mpirun, pkg-config (SwiftPM reads
# PETSc.pc and ompi-c.pc). Idempotent; needs root (as on the project's machines) or sudo.
set -euo pipefail
packages=(libsuitesparse-dev libopenblas-dev liblapacke-dev zlib1g-dev)
if [ "${1:-}" = "--petsc" ]; then
    packages+=(petsc-dev libopenmpi-dev openmpi-bin pkg-config)
fi
if dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -vq "install ok installed" \
   || ! dpkg-query -W "${packages[@]}" >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q "${packages[@]}"
fi
