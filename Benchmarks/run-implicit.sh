#!/usr/bin/env bash
# Issue 4's benchmarks: the lasso hypergradient step against our inner solve and against
# JAXopt's backward pass on the same files and λ (λ_max/100) in one run, then a reverse
# derivative through a user-written F against a hand-written one at n = 10⁶.
# Usage: bash Benchmarks/run-implicit.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-5}
bash ../scripts/setup.sh
python3 -m pip install -q jax jaxopt scikit-learn scipy numpy >/dev/null 2>&1 || echo "note: a peer did not install"
(cd .. && swift build -c release --product isparse)
swift build -c release --product implicit-bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
.build/release/implicit-bench generate --out data
isparse=../.build/release/isparse
common=(hypergrad lasso --data data/lasso-train.svm --val data/lasso-val.svm --lambda-ratio 100 --json)
for k in $(seq 1 "$repeats"); do
    "$isparse" "${common[@]}" --output data/lasso-w.mtx > "data/ours-cd-$k.json"
done
"$isparse" "${common[@]}" --solver fista > data/ours-fista.json
lambda=$(python3 -c "import json; print(json.load(open('data/ours-cd-1.json'))['lambda'])")
python3 peers/jaxopt_hypergrad.py --data data --lambda "$lambda" --weights data/lasso-w.mtx --repeat "$repeats" \
    --out data/jaxopt.json 2>/dev/null >/dev/null || echo "note: the JAXopt peer failed"
python3 peers/implicit_report.py data "$repeats"
echo
.build/release/implicit-bench reverse --repeat "$repeats"
