#!/usr/bin/env bash
# The automatic linear-solver policy against each method it chooses between, on the same
# files in one run: a power-law graph Laplacian + 0.1 I (63 000 nodes) and the 10⁶-node grid
# I + 100 L. Prints median seconds (setup + solve, the read excluded) and what auto chose.
# Usage: bash Benchmarks/run-policy.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")"
repeats=${1:-3}
bash ../scripts/setup.sh
python3 -m pip install -q scipy numpy >/dev/null 2>&1 || true
(cd .. && swift build -c release --product isparse)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
mkdir -p data
[ -f data/policy-grid.mtx ] || python3 peers/policy_matrices.py data
isparse=../.build/release/isparse
out=$(mktemp -d)
for k in $(seq 1 "$repeats"); do
  for matrix in powerlaw grid; do
    for method in auto cholesky cg-jacobi cg-amg; do
      case $method in
        cg-jacobi) args=(--method cg --precond jacobi) ;;
        cg-amg) args=(--method cg --precond amg) ;;
        *) args=(--method "$method") ;;
      esac
      "$isparse" linsolve "data/policy-$matrix.mtx" "${args[@]}" --rtol 1e-10 --json > "$out/$matrix-$method-$k.json"
    done
  done
done
python3 - "$out" "$repeats" <<'PY'
import json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
print("| matrix | auto chose | auto (s) | cholesky (s) | cg + jacobi (s) | cg + amg (s) | auto / best other |")
print("|---|---|---|---|---|---|---|")
for matrix in ["powerlaw", "grid"]:
    cells, chose = {}, ""
    for method in ["auto", "cholesky", "cg-jacobi", "cg-amg"]:
        runs = [json.load(open(f"{out}/{matrix}-{method}-{k}.json")) for k in range(1, repeats + 1)]
        cells[method] = statistics.median(r["seconds"]["total"] - r["seconds"]["read"] for r in runs)
        if method == "auto":
            chose = runs[0]["method"] + ("" if runs[0]["preconditioner"] == "none" else " + " + runs[0]["preconditioner"])
            reason = runs[0]["reason"]
    best = min(cells[m] for m in ["cholesky", "cg-jacobi", "cg-amg"])
    print(f"| {matrix} | {chose} | {cells['auto']:.3f} | {cells['cholesky']:.3f} | {cells['cg-jacobi']:.3f} | {cells['cg-amg']:.3f} | {cells['auto'] / best:.2f} |")
    print(f"\n{matrix}: {reason}\n", file=sys.stderr)
PY
