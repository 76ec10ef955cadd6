#!/usr/bin/env bash
# Issue 14's benchmarks: `isparse tune` against its own 30-point grid (same run, same files),
# against scikit-learn's LassoCV on the same 5 folds, and the weighted lasso (one weight per
# feature) against the plain lasso, on generated binary text-like data (power-law column
# frequencies, duplicated and dependent columns): p = 10⁵ (n = 50 000) and p = 2·10⁶
# (n = 200 000), split 60/20/20 into train / validation / test.
# Usage: [LARGE_REPEATS=R] bash Benchmarks/run-tune.sh [REPEATS] [PEER_REPEATS]   (medians over
# REPEATS runs of ours at p = 10⁵, default 3, and LARGE_REPEATS at p = 2·10⁶, default 1 — an
# elastic-net grid there takes tens of minutes; LassoCV takes minutes per run: PEER_REPEATS,
# default 1)
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-3}
peer_repeats=${2:-1}
bash ../scripts/setup.sh
python3 -m pip install -q scikit-learn scipy numpy >/dev/null 2>&1 || echo "note: a peer did not install"
(cd .. && swift build -c release --product isparse)
swift build -c release --product implicit-bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
.build/release/implicit-bench generate-tuning --out data --name tune100k
.build/release/implicit-bench generate-tuning --out data --name tune2m --rows 200000 --columns 2000000 --nonzeros-per-row 20 \
    --duplicates 5000 --dependent 5000
isparse=../.build/release/isparse
mkdir -p data/tune-runs
for name in tune100k tune2m; do
    # At p = 2·10⁶ one elastic-net grid takes tens of minutes: LARGE_REPEATS runs there (default 1).
    runs=$repeats
    if [ "$name" = tune2m ]; then runs=${LARGE_REPEATS:-1}; fi
    for model in lasso enet; do
        for k in $(seq 1 "$runs"); do
            echo "[$name $model run $k/$runs]" >&2
            "$isparse" tune "$model" --data "data/$name-train.svm" --val "data/$name-val.svm" --grid 30 --json --quiet \
                > "data/tune-runs/$name-$model-$k.json"
        done
    done
done
# Weighted lasso: 10⁵ tuned weights, started from the tuned lasso; both solutions scored on the test rows.
for k in $(seq 1 "$repeats"); do
    echo "[tune100k wlasso run $k/$repeats]" >&2
    "$isparse" tune wlasso --data data/tune100k-train.svm --val data/tune100k-val.svm --output data/tune-runs/wlasso-w.mtx \
        --json --quiet > "data/tune-runs/tune100k-wlasso-$k.json"
done
"$isparse" tune lasso --data data/tune100k-train.svm --val data/tune100k-val.svm --output data/tune-runs/lasso-w.mtx --json --quiet \
    > data/tune-runs/tune100k-lasso-output.json
# 5-fold cross-validation with an intercept: ours on all training rows against LassoCV on the same folds.
for k in $(seq 1 "$repeats"); do
    echo "[tune100k cv run $k/$repeats]" >&2
    "$isparse" tune lasso --data data/tune100k-train.svm --cv 5 --fit-intercept --json --quiet > "data/tune-runs/tune100k-cv-$k.json"
done
python3 peers/tune_peers.py --train data/tune100k-train.svm --folds 5 --seed 0 --repeat "$peer_repeats" --alphas 10 \
    --ours data/tune-runs/tune100k-cv-1.json --out data/tune-runs/lassocv.json
python3 peers/tune_report.py data "$repeats"
