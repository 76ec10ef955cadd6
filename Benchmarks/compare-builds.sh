#!/usr/bin/env bash
# Times two builds of isparse side by side, interleaved run by run, on the issue-4 lasso
# hypergradient (built-in problem, λ = λ_max/100) and on `linsolve --grid 1000`, and prints
# medians and new/old ratios. Used to check that a refactoring costs nothing.
# Usage: bash Benchmarks/compare-builds.sh OLD_ISPARSE NEW_ISPARSE [REPEATS]
set -euo pipefail
old=$1; new=$2; repeats=${3:-5}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
out=$(mktemp -d)
cases=(
  "hypergrad|hypergrad lasso --lambda-ratio 100 --json"
  "cholesky|linsolve --grid 1000 --method cholesky --json"
  "cg-amg|linsolve --grid 1000 --method cg --precond amg --json"
  "cg-jacobi|linsolve --grid 1000 --method cg --precond jacobi --json"
)
for k in $(seq 1 "$repeats"); do
  for c in "${cases[@]}"; do
    name=${c%%|*}; args=${c#*|}
    for side in old new; do
      bin=$old; [ "$side" = new ] && bin=$new
      # shellcheck disable=SC2086
      "$bin" $args > "$out/$name-$side-$k.json"
    done
  done
done
python3 - "$out" "$repeats" <<'PY'
import json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
def load(name, side):
    return [json.load(open(f"{out}/{name}-{side}-{k}.json")) for k in range(1, repeats + 1)]
rows = [("hypergrad", "lasso hypergradient step (s)", lambda o: o["seconds"]["hypergradient"]),
        ("hypergrad", "lasso inner solve, CD (s)", lambda o: o["seconds"]["solve"]),
        ("cholesky", "linsolve --grid 1000 cholesky, total (s)", lambda o: o["seconds"]["total"] - o["seconds"]["read"]),
        ("cg-amg", "linsolve --grid 1000 cg + amg, setup + solve (s)", lambda o: o["seconds"]["setup"] + o["seconds"]["solve"]),
        ("cg-jacobi", "linsolve --grid 1000 cg + jacobi, solve (s)", lambda o: o["seconds"]["solve"])]
print("| measurement | old (median) | new (median) | new/old |")
print("|---|---|---|---|")
for name, label, f in rows:
    a = statistics.median(f(o) for o in load(name, "old")); b = statistics.median(f(o) for o in load(name, "new"))
    print(f"| {label} | {a:.4f} | {b:.4f} | {b/a:.3f} |")
h = [o["hypergradient"] for o in load("hypergrad", "old")][0], [o["hypergradient"] for o in load("hypergrad", "new")][0]
print(f"\nhypergradient: old {h[0]:.12g}, new {h[1]:.12g}")
PY
