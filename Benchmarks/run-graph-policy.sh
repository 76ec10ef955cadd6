#!/usr/bin/env bash
# The automatic policy on generated graphs shaped like real ones, for graph-ls solve + adjoint
# (the hypergradient's two solves): power-law (Chung–Lu, heavy-tailed degrees) and tree-like
# (a preferential-attachment tree plus 10 % extra edges) graphs of 10⁵ and 10⁶ nodes, each
# method forced and auto, medians of REPEATS runs of (solve + hypergradient) seconds, the read
# excluded. Prints the table of BENCHMARKS.md ("The automatic policy on generated graphs").
# Usage: bash Benchmarks/run-graph-policy.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-3}
bash ../scripts/setup.sh
(cd .. && swift build -c release --product isparse)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
isparse=../.build/release/isparse
mkdir -p data
graphs=()
for n in 100000 1000000; do
  [ -f "data/pl-$n.mtx" ] || "$isparse" data generate graph power-law --nodes "$n" --average-degree 3 --exponent 2.2 --seed 1 --out "data/pl-$n.mtx" > /dev/null
  [ -f "data/tree-$n.mtx" ] || "$isparse" data generate graph tree-like --nodes "$n" --average-degree 2.2 --seed 1 --out "data/tree-$n.mtx" > /dev/null
  # A signal of one value per node (seeded): the graph's own built-in signal is for grids only.
  [ -f "data/signal-$n.txt" ] || awk -v n="$n" 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "%.6f\n", sin(i / 997) + rand() - 0.5 }' > "data/signal-$n.txt"
  graphs+=("pl-$n" "tree-$n")
done
out=$(mktemp -d)
for k in $(seq 1 "$repeats"); do
  for g in "${graphs[@]}"; do
    n=${g#*-}
    for method in auto cholesky cg amg; do
      "$isparse" hypergrad graph-ls --graph "data/$g.mtx" --signal "data/signal-$n.txt" --lambda 1 --epsilon 0.01 \
        --linear-solver "$method" --json > "$out/$g-$method-$k.json"
    done
  done
done
python3 - "$out" "$repeats" "${graphs[@]}" <<'PY'
import json, statistics, sys
out, repeats, graphs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| graph | nodes | edges | auto chose | auto (s) | CHOLMOD (s) | Jacobi-CG (s) | CG + AMG (s) | auto / best |")
print("|---|---|---|---|---|---|---|---|---|")
for g in graphs:
    cells, chose, info = {}, "", {}
    for method in ["auto", "cholesky", "cg", "amg"]:
        runs = [json.load(open(f"{out}/{g}-{method}-{k}.json")) for k in range(1, repeats + 1)]
        cells[method] = statistics.median(r["seconds"]["solve"] + r["seconds"]["hypergradient"] for r in runs)
        info = runs[0]
        if method == "auto":
            chose = runs[0]["linearSolver"]
    best = min(cells[m] for m in ["cholesky", "cg", "amg"])
    print(f"| {g} | {info['nodes']} | {info['edges']} | {chose} | {cells['auto']:.3f} | {cells['cholesky']:.3f} | {cells['cg']:.3f} | {cells['amg']:.3f} | {cells['auto'] / best:.2f} |")
PY
