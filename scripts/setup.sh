#!/usr/bin/env bash
# Installs the system libraries ImplicitSparse links against (Debian bookworm packages).
# Idempotent; needs root (as on the project's machines) or sudo.
set -euo pipefail
packages=(libsuitesparse-dev libopenblas-dev liblapacke-dev zlib1g-dev)
if dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -vq "install ok installed" \
   || ! dpkg-query -W "${packages[@]}" >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q "${packages[@]}"
fi
