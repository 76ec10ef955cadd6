#!/usr/bin/env bash
# Issue 12's inner-solver benchmark: `isparse solve` against skglm, celer and scikit-learn on
# the same generated binary text-like files (power-law column frequencies, duplicated and
# linearly dependent columns), tol 1e-8, no intercept, in interleaved rounds (ours, then the
# peers, per round); prints medians, ratios and objective differences (peers/solver_report.py)
# and the peak memory of one large solve against the size of X in CSC.
# Usage: bash Benchmarks/run-solvers.sh [REPEATS] [BLOCKS]   (REPEATS rounds, default 3; about 6
# minutes a round; BLOCKS a comma-separated subset of text-lasso,text-logreg,big-lasso, default all)
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-3}
blocks=${2:-text-lasso,text-logreg,big-lasso}
want() { [[ ",$blocks," == *",$1,"* ]]; }
bash ../scripts/setup.sh
python3 -m pip install -q scikit-learn skglm celer scipy numpy >/dev/null 2>&1 || echo "note: a peer did not install; its rows are skipped"
(cd .. && swift build -c release --product isparse) > /dev/null
swift build -c release --product implicit-bench > /dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
echo "peers: $(python3 -c 'import skglm, celer, sklearn; print("skglm", skglm.__version__, "celer", celer.__version__, "scikit-learn", sklearn.__version__)' 2>/dev/null || echo 'not all installed')"
.build/release/implicit-bench generate-solvers --out data --name text --rows 50000 --columns 100000 --nonzeros-per-row 25 \
    --duplicates 500 --dependent 500
.build/release/implicit-bench generate-solvers --out data --name big --rows 160000 --columns 2000000 --nonzeros-per-row 56 \
    --duplicates 2000 --dependent 2000
isparse=../.build/release/isparse
results=data/solver-rounds
rm -rf "$results"; mkdir -p "$results"

# ours DATA-LABEL MODEL FILE RATIOS: one isparse solve per λ, its solve seconds (reading excluded) as a JSON line.
ours() {
    local label=$1 model=$2 file=$3 ratios=$4 out=$5
    for ratio in ${ratios//,/ }; do
        "$isparse" solve "$model" --data "$file" --lambda-ratio "$ratio" --tol 1e-8 --json |
            python3 -c "import json, sys; j = json.load(sys.stdin); print(json.dumps({'peer': 'isparse', 'ratio': float($ratio), 'lambda': j['lambda'], 'seconds': j['seconds']['solve'], 'objective': j['objective'], 'support': j['supportSize']}))" >> "$out"
    done
}

for k in $(seq 1 "$repeats"); do
    echo "round $k / $repeats"
    if want text-lasso; then
        ours text lasso data/text.svm 10,100,1000 "$results/round$k-text-lasso.jsonl"
        python3 peers/solver_peers.py --data data/text.svm --ratios 10,100,1000 --peers skglm,celer,sklearn --out "$results/peers.jsonl"
        cat "$results/peers.jsonl" >> "$results/round$k-text-lasso.jsonl"
    fi
    if want text-logreg; then
        ours text logreg data/text-cls.svm 10,100 "$results/round$k-text-logreg.jsonl"
        python3 peers/solver_peers.py --data data/text-cls.svm --model logreg --ratios 10,100 --peers skglm --out "$results/peers.jsonl"
        cat "$results/peers.jsonl" >> "$results/round$k-text-logreg.jsonl"
    fi
    if want big-lasso; then
        ours big lasso data/big.svm 10,100,1000 "$results/round$k-big-lasso.jsonl"
        python3 peers/solver_peers.py --data data/big.svm --ratios 10,100,1000 --peers skglm,celer --out "$results/peers.jsonl"
        cat "$results/peers.jsonl" >> "$results/round$k-big-lasso.jsonl"
    fi
done
rm -f "$results/peers.jsonl"
python3 peers/solver_report.py "$results"
want big-lasso || exit 0
echo
echo "Peak memory (one isparse solve lasso on big.svm at λ_max/100, whole process: reading + CSR + CSC + solver):"
rss=$( { /usr/bin/time -f "%M" "$isparse" solve lasso --data data/big.svm --lambda-ratio 100 --tol 1e-8 > /dev/null; } 2>&1 | tail -n 1)
"$isparse" data info data/big.svm --json 2>/dev/null | python3 -c "
import json, sys
info = json.load(sys.stdin)
nnz, p = info['nonzeros'], info['columns']
csc = 12 * nnz + 8 * (p + 1)
rss = $rss * 1024
print(f'max RSS {rss / 2**20:.0f} MiB; X in CSC {csc / 2**20:.0f} MiB; ratio {rss / csc:.2f}')
" || echo "max RSS ${rss} KiB"
