#!/usr/bin/env bash
# Issue 17's measurements for docs/SCALING.md (release builds):
#  1. memory bandwidth of this machine: a STREAM-like triad on 1 and 2 threads;
#  2. graph-ls hypergradient on the 10⁷-node grid (--grid 3163x3163, λ = 10, ε = 0): isparse
#     (2 threads; auto and CG + AMG) against isparse-mpi on 1 and 2 ranks (CG + GAMG, CG +
#     BoomerAMG, Jacobi-CG), interleaved rounds, medians, ratios to our best, memory;
#  3. the same on a 10⁶-node power-law graph file (heavy-tailed degrees, nodes numbered by
#     degree; λ = 10, ε = 0.01), 1 and 2 ranks: what contiguous row blocks cost there (ours
#     with CG + AMG and Jacobi-CG; isparse's automatic policy is left out: 81.5 s in one round).
#  4. the model's inputs: one and two ranks of CG + GAMG on the 10⁶- and 10⁷-node grids and
#     the power-law graph (set-up, iterations, milliseconds per iteration, partition).
#  7. (section partition) row blocks balanced by nonzeros (--partition balanced) against PETSc's
#     even split on the 10⁶-node power-law graph, 2 ranks, PETSc's and the library's Jacobi-CG;
#     PT-Scotch's renumbering (--partition ptscotch) on a 10⁵-node one.
#  6. (section library) the library's own CG + Jacobi on the distributed matrix (isparse-mpi
#     --backend library) against PETSc's, 1 and 2 ranks, the 10⁶ grid and power-law graph.
#  8. (section lasso) the lasso hypergradient with the rows of X over the ranks (isparse-mpi
#     hypergrad lasso, working sets on their Gram matrices) on 1 and 2 ranks against isparse
#     hypergrad lasso (coordinate descent) on a generated 2·10⁶-feature binary text-like file
#     (2·10⁵ rows, 1 000 duplicated and 1 000 dependent columns), λ = λ_max/1000.
#  5. (section gamg) GAMG's smoothed (PETSc's default) against unsmoothed aggregates (ours) on a
#     2·10⁴-node power-law graph and the 10⁶-node grid, one rank, set-up and total seconds.
# BoomerAMG is left out on the power-law graph: at 2 ranks its run was stopped after 7 minutes.
# Usage: bash Benchmarks/run-petsc.sh [ROUNDS] [SECTIONS]   (default 3 rounds, sections
#        "bandwidth grid powerlaw model"; about 40 minutes in all)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-3}
sections=${2:-bandwidth grid powerlaw model gamg}
want() { [[ " $sections " == *" $1 "* ]]; }
bash ../scripts/setup.sh --petsc
python3 -m pip install -q numpy >/dev/null 2>&1 || true
(cd .. && swift build -c release --product isparse) > /dev/null
(cd ../PETSc && swift build -c release --product isparse-mpi) > /dev/null
isparse=$(cd .. && pwd)/.build/release/isparse
isparse_mpi=$(cd ../PETSc && pwd)/.build/release/isparse-mpi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "date: $(date -u +%Y-%m-%d)  commit: $(git -C .. rev-parse --short HEAD)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
echo "PETSc $(pkg-config --modversion PETSc), $(mpirun --version | head -1)"
gcc -O3 -fopenmp peers/stream_triad.c -o data/stream_triad 2>/dev/null || { mkdir -p data && gcc -O3 -fopenmp peers/stream_triad.c -o data/stream_triad; }
if want bandwidth; then
echo "memory bandwidth (triad, best of 10 passes; 3 runs each):"
for t in 1 2; do for k in 1 2 3; do OMP_NUM_THREADS=$t data/stream_triad; done; done
fi
if want grid; then
echo
echo "10⁷-node grid, graph-ls hypergradient, λ = 10, ε = 0 ($rounds rounds):"
python3 peers/petsc_scaling.py "$isparse" "$isparse_mpi" "$rounds" --grid 3163x3163 --lambda 10 --epsilon 0 -- \
    ours:auto ours:amg ours:cg mpi:1:cg+gamg mpi:2:cg+gamg mpi:2:cg+boomeramg mpi:1:cg+jacobi mpi:2:cg+jacobi
fi
mkdir -p data/graph
g=data/graph
[ -f data/graph/powerlaw.mtx ] || python3 peers/graph_data.py data/graph powerlaw powerlaw 1000000 3000000
if want powerlaw; then
echo
echo "10⁶-node power-law graph file, graph-ls hypergradient, λ = 10, ε = 0.01 ($rounds rounds):"
python3 peers/petsc_scaling.py "$isparse" "$isparse_mpi" "$rounds" --graph $g/powerlaw.mtx --signal $g/powerlaw-y.txt \
    --train $g/powerlaw-train.txt --val $g/powerlaw-val.txt --lambda 10 --epsilon 0.01 -- \
    ours:amg ours:cg mpi:1:cg+jacobi mpi:2:cg+jacobi mpi:2:cg+gamg
fi
if want model; then
echo
echo "Model inputs (docs/SCALING.md): one rank, CG + GAMG, the 10⁶- and 10⁷-node grids and the power-law graph, seconds and iterations:"
for args in "--grid 1000x1000 --lambda 10 --epsilon 0" "--grid 3163x3163 --lambda 10 --epsilon 0" \
            "--graph $g/powerlaw.mtx --signal $g/powerlaw-y.txt --train $g/powerlaw-train.txt --val $g/powerlaw-val.txt --lambda 10 --epsilon 0.01"; do
    for np in 1 2; do
        mpirun -q --allow-run-as-root --oversubscribe -np $np "$isparse_mpi" hypergrad graph-ls $args --solver cg+gamg --json |
            python3 -c "import json, sys; j = json.load(sys.stdin); s = j['seconds']; it = j['iterations'] + j['adjointIterations']; print(f\"  {j['graph']}, {j['ranks']} rank(s): setup {s['setup']:.2f} s, {j['iterations']} + {j['adjointIterations']} iterations, {(s['solve'] + s['hypergradient']) / it * 1e3:.1f} ms per iteration, partition {j['partition']}\")"
    done
done
fi
if want library; then
echo
echo "The library's own Krylov methods on the distributed matrix (--backend library) against PETSc's, graph-ls hypergradient ($rounds rounds):"
echo "10⁶-node grid, λ = 10, ε = 0.01:"
python3 peers/petsc_scaling.py "$isparse" "$isparse_mpi" "$rounds" --grid 1000x1000 --lambda 10 --epsilon 0.01 -- \
    ours:cg mpi:1:cg+jacobi lib:1:cg+jacobi mpi:2:cg+jacobi lib:2:cg+jacobi
echo "10⁶-node power-law graph file, λ = 10, ε = 0.01:"
python3 peers/petsc_scaling.py "$isparse" "$isparse_mpi" "$rounds" --graph $g/powerlaw.mtx --signal $g/powerlaw-y.txt \
    --train $g/powerlaw-train.txt --val $g/powerlaw-val.txt --lambda 10 --epsilon 0.01 -- \
    ours:cg mpi:1:cg+jacobi lib:1:cg+jacobi mpi:2:cg+jacobi lib:2:cg+jacobi
fi
if want partition; then
echo
echo "Row blocks balanced by nonzeros (--partition balanced) on the 10⁶-node power-law graph file, λ = 10, ε = 0.01, 2 ranks ($rounds rounds):"
python3 peers/petsc_scaling.py "$isparse" "$isparse_mpi" "$rounds" --graph $g/powerlaw.mtx --signal $g/powerlaw-y.txt \
    --train $g/powerlaw-train.txt --val $g/powerlaw-val.txt --lambda 10 --epsilon 0.01 -- \
    ours:cg mpi:2:cg+jacobi:none mpi:2:cg+jacobi:balanced lib:2:cg+jacobi:none lib:2:cg+jacobi:balanced
echo "PT-Scotch (--partition ptscotch) against balanced blocks on the 10⁵-node power-law graph (isparse data generate, 2 ranks; at 10⁶ nodes PT-Scotch ran over 200 s), λ = 1, ε = 0.01:"
[ -f data/pl-100000.mtx ] || ../.build/release/isparse data generate graph power-law --nodes 100000 --average-degree 3 --exponent 2.2 --seed 1 --out data/pl-100000.mtx > /dev/null
[ -f data/signal-100000.txt ] || awk -v n=100000 'BEGIN { srand(7); for (i = 0; i < n; i++) printf "%.6f\n", sin(i / 997) + rand() - 0.5 }' > data/signal-100000.txt
python3 peers/petsc_scaling.py "$isparse" "$isparse_mpi" "$rounds" --graph data/pl-100000.mtx --signal data/signal-100000.txt --lambda 1 --epsilon 0.01 -- \
    ours:cg mpi:2:cg+jacobi:none mpi:2:cg+jacobi:balanced mpi:2:cg+jacobi:ptscotch
fi
if want gamg; then
echo
echo "GAMG smoothed (-pc_gamg_agg_nsmooths 1, PETSc's default) against unsmoothed (ours), one rank, cg+gamg:"
[ -f data/graph/pl20k.mtx ] || python3 peers/graph_data.py data/graph pl20k powerlaw 20000 60000 > /dev/null
for args in "--graph $g/pl20k.mtx --signal $g/pl20k-y.txt --train $g/pl20k-train.txt --val $g/pl20k-val.txt --lambda 10 --epsilon 0.01" \
            "--grid 1000x1000 --lambda 10 --epsilon 0"; do
    for smooths in 1 0; do
        "$isparse_mpi" hypergrad graph-ls $args --solver cg+gamg --petsc-options="-pc_gamg_agg_nsmooths $smooths" --json |
            python3 -c "import json, sys; j = json.load(sys.stdin); s = j['seconds']; print(f\"  {j['graph']}, nsmooths $smooths: setup {s['setup']:.2f} s, total {s['total'] - s['read']:.2f} s, {j['iterations']} + {j['adjointIterations']} iterations\")"
    done
done
fi
if want lasso; then
echo
mkdir -p data/lasso
[ -f data/lasso/text-2m.svm ] || "$isparse" data generate regression --rows 200000 --features 2000000 --nnz-per-row 20 --binary \
    --duplicate-columns 1000 --dependent-columns 1000 --support 200 --seed 1 --out data/lasso/text-2m.svm
echo "2·10⁶-feature lasso (data/lasso/text-2m.svm), hypergradient in log λ at λ_max/1000 ($rounds rounds):"
python3 peers/lasso_scaling.py "$isparse" "$isparse_mpi" "$rounds" data/lasso/text-2m.svm --lambda-ratio 1000 -- \
    ours:cd mpi:1:ws mpi:2:ws
fi
