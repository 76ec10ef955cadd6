#!/usr/bin/env bash
# The automatic policy on graphs shaped like real ones, for graph-ls solve + adjoint (the
# hypergradient's two solves): power-law (Chung–Lu, heavy-tailed degrees), tree-like (a
# preferential-attachment tree plus 10 % random extra edges), tree-like bipartite (the extra
# edges close local 4-cycles, as in dependency graphs) of 10⁵ and 10⁶ nodes, and 2-D grids of
# 10⁶ and 10⁷ nodes; λ = 1 and λ = 100 (ε = 0.01). Each method forced and auto; medians of
# REPEATS runs of (solve + hypergradient) seconds, the read excluded. A forced method more
# than 3× slower than the best in the first round (it cannot be the best) is not repeated:
# its cell is that one run, marked ¹; a run over TIMEOUT seconds (default 150) is stopped and
# shown as such. Prints the table of docs/BENCHMARKS.md ("The automatic
# policy on generated graphs").
# Usage: bash Benchmarks/run-graph-policy.sh [REPEATS] [CASES…]   (CASES: e.g. pl-100000:1)
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-3}
shift || true
bash ../scripts/setup.sh
(cd .. && swift build -c release --product isparse)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
isparse=../.build/release/isparse
mkdir -p data
for n in 100000 1000000; do
  [ -f "data/pl-$n.mtx" ] || "$isparse" data generate graph power-law --nodes "$n" --average-degree 3 --exponent 2.2 --seed 1 --out "data/pl-$n.mtx" > /dev/null
  [ -f "data/tree-$n.mtx" ] || "$isparse" data generate graph tree-like --nodes "$n" --average-degree 2.2 --seed 1 --out "data/tree-$n.mtx" > /dev/null
  [ -f "data/bt-$n.mtx" ] || "$isparse" data generate graph tree-like --bipartite --nodes "$n" --average-degree 2.2 --seed 1 --out "data/bt-$n.mtx" > /dev/null
  # A signal of one value per node (seeded): the graph's own built-in signal is for grids only.
  [ -f "data/signal-$n.txt" ] || awk -v n="$n" 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "%.6f\n", sin(i / 997) + rand() - 0.5 }' > "data/signal-$n.txt"
done
if [ $# -gt 0 ]; then cases=("$@"); else
  cases=()
  for g in pl-100000 tree-100000 bt-100000 pl-1000000 tree-1000000 bt-1000000 grid-1000x1000 grid-3163x3163; do
    for lambda in 1 100; do cases+=("$g:$lambda"); done
  done
fi
out=$(mktemp -d)
run() {  # case method k
  local g=${1%%:*} lambda=${1##*:} input
  if [[ $g == grid-* ]]; then input=(--grid "${g#grid-}"); else input=(--graph "data/$g.mtx" --signal "data/signal-${g#*-}.txt"); fi
  # A run over TIMEOUT seconds (default 150) is stopped and recorded as "> TIMEOUT".
  if ! timeout "${TIMEOUT:-150}" "$isparse" hypergrad graph-ls "${input[@]}" --lambda "$lambda" --epsilon 0.01 --linear-solver "$2" --json > "$out/$1-$2-$3.json"; then
    echo "{\"timeout\": ${TIMEOUT:-150}, \"linearSolver\": \"$2\", \"seconds\": {\"solve\": ${TIMEOUT:-150}, \"hypergradient\": 0}}" > "$out/$1-$2-$3.json"
  fi
}
seconds() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["seconds"]["solve"] + r["seconds"]["hypergradient"])' "$1"; }
for c in "${cases[@]}"; do
  for method in auto cholesky cg amg; do run "$c" "$method" 1; done
  best=$(for m in cholesky cg amg; do seconds "$out/$c-$m-1.json"; done | sort -g | head -1)
  for k in $(seq 2 "$repeats"); do
    for method in auto cholesky cg amg; do
      t=$(seconds "$out/$c-$method-1.json")
      if [ "$method" != auto ] && python3 -c "import sys; sys.exit(0 if $t > 3 * $best else 1)"; then continue; fi
      run "$c" "$method" "$k"
    done
  done
  echo "done $c $(date -u +%H:%M:%S)" >&2
done
python3 - "$out" "$repeats" "${cases[@]}" <<'PY'
import json, os, statistics, sys
out, repeats, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| graph | λ | nodes | edges | auto chose | auto (s) | CHOLMOD (s) | Jacobi-CG (s) | CG + AMG (s) | auto / best |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in cases:
    g, lam = c.split(":")
    cells, text = {}, {}
    info = {}
    for method in ["auto", "cholesky", "cg", "amg"]:
        runs = [json.load(open(f"{out}/{c}-{method}-{k}.json")) for k in range(1, repeats + 1) if os.path.exists(f"{out}/{c}-{method}-{k}.json")]
        cells[method] = statistics.median(r["seconds"]["solve"] + r["seconds"]["hypergradient"] for r in runs)
        text[method] = f"{cells[method]:.3f}" + (" ¹" if len(runs) == 1 and repeats > 1 else "")
        if any("timeout" in r for r in runs):
            text[method] = f"> {runs[0]['timeout']} (stopped)"
        if method != "auto" and "nodes" in runs[0]:
            info = runs[0]
        if method == "auto":
            chose = runs[0]["linearSolver"]
    best = min(cells[m] for m in ["cholesky", "cg", "amg"])
    print(f"| {g} | {lam} | {info.get('nodes', '?')} | {info.get('edges', '?')} | {chose} | {text['auto']} | {text['cholesky']} | {text['cg']} | {text['amg']} | {cells['auto'] / best:.2f} |")
PY
