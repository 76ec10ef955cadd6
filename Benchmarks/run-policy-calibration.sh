#!/usr/bin/env bash
# The numbers behind the automatic policy's cost constants (docs/BENCHMARKS.md, "The automatic
# policy on generated graphs"): `isparse linsolve --rtol 1e-10` with cg+jacobi, cg+amg,
# cholesky and auto on A = I + 100 L of the generated graphs of run-graph-policy.sh (run it
# first: it makes data/), and on the 1000 × 1000 grid Laplacian + I. Prints iterations, AMG
# set-up, seconds per iteration, CHOLMOD's analysis and factorization, and auto's reason.
# Usage: bash Benchmarks/run-policy-calibration.sh
set -euo pipefail
cd "$(dirname "$0")"
isparse=../.build/release/isparse
for g in pl-100000 tree-100000 bt-100000 bt-1000000 pl-1000000; do
  [ -f "data/A-$g.mtx" ] || python3 - "$g" <<'PY'
import sys, numpy as np, scipy.io, scipy.sparse as sp
g = sys.argv[1]
w = scipy.io.mmread(f"data/{g}.mtx").tocsr()
laplacian = sp.diags(np.asarray(w.sum(1)).ravel()) - w
scipy.io.mmwrite(f"data/A-{g}.mtx", sp.tril(sp.eye(w.shape[0]) + 100 * laplacian).tocoo(), symmetry="symmetric")
PY
done
for m in pl-100000 tree-100000 bt-100000 bt-1000000 pl-1000000 grid; do
  for s in cg+jacobi cg+amg cholesky auto; do
    if [ "$m" = grid ]; then source=(--grid 1000); else source=("data/A-$m.mtx"); fi
    "$isparse" linsolve "${source[@]}" --solver "$s" --rtol 1e-10 --json | python3 -c '
import json, sys
j = json.load(sys.stdin); t = j["seconds"]; it = max(j["iterations"], 1)
print("%-12s %-10s → %-10s iterations %5d  setup %.3f s  per iteration %.2e s  analyze %.3f s  factorize %.3f s"
      % (sys.argv[1], sys.argv[2], j["linearSolver"], j["iterations"], t["setup"], t["solve"] / it, t["analyze"], t["factorize"]))
if sys.argv[2] == "auto": print("    reason:", j["reason"])
' "$m" "$s"
  done
done
