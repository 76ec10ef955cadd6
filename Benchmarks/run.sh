#!/usr/bin/env bash
# Runs the sparse-core benchmarks and their Python peers on the same files in one run and
# prints the docs/BENCHMARKS.md table. Usage: bash Benchmarks/run.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-5}
bash ../scripts/setup.sh
python3 -m pip install -q scipy numpy pyamg "scikit-sparse==0.4.16" >/dev/null 2>&1 || echo "note: a peer did not install; its rows are skipped"
swift build -c release --product sparse-bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
.build/release/sparse-bench generate --out data
.build/release/sparse-bench run --data data --repeat "$repeats"
python3 peers/peers.py --data data --repeat "$repeats"
python3 peers/peers_amg.py --data data --repeat 3
python3 peers/report.py data
echo
echo "Interleaved rounds (SpMV, CG):"
for k in 0 1 2 3 4; do
    .build/release/sparse-bench run --data data --repeat "$repeats" --only copy,spmv,cg --out "round$k-ours.json" > /dev/null
    python3 peers/peers.py --data data --repeat "$repeats" --only spmv,cg --out "round$k-peers.json" > /dev/null
done
python3 peers/rounds.py data 5
