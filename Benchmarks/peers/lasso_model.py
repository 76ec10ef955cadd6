"""The lasso rows of docs/SCALING.md's model: `isparse-mpi hypergrad lasso` (rows of X over K
ranks, working sets solved on their Gram matrices) projected from one measured rank to X with
Z nonzeros, p features and n rows, for K = 1 … 64; printed as Markdown.

Per working set (S of them, the last of |W| columns), every rank:
  compute   the whole-problem check (X w and Xᵀr over its Z/K nonzeros), the set's rows
            copied and its Gram matrix formed — work on rows, T_rows·(Z/Z0)/K — and the work
            every rank repeats on whole p-vectors (the scores and the selection of the set,
            the reduced products' updates) and on G (coordinate descent), T_repl, which does not
            shrink with K. T_repl = 2·T2 − T1 − 2·comm(2) from the measured 1- and 2-rank
            times (it also absorbs what two ranks on one node lose to shared memory
            bandwidth, so it is an upper bound), T_rows = T1 − T_repl; the same sets and epochs
            at every K and size (an assumption: they depend on the data, not on K);
  reduce    one all-reduce of p + 3 doubles (correlations, ‖r‖², ỹᵀr, 1ᵀr), one of |W|² + |W|
            (the Gram matrix and X̃_Wᵀỹ), three small ones (the set's centering and scale);
  adjoint   one all-reduce of p + 3 (the validation gradient), one of |S|² (the support's
            Gram matrix), five small ones.
All-reduce of B bytes over K ranks: 2α·log2 K + 2(K − 1)/K · B/β (reduce-scatter + all-gather).
α = 2 µs, β = 10 GB/s (an InfiniBand-class network; assumptions, not measured here).
Memory per rank: X's rows 12 Z/K + 8 n/K (CSR) and their targets 8 n/K; the adjoint's
transposed copy of the rows 12 Z/K + 4 p; one working set's rows ≤ 12 Z/K; the replicated
p-vectors (w, correlations, the candidates' scores and indices, Xᵀr, the validation gradient,
the adjoint's vectors: about 10 of 8 bytes) 80 p; G 8|W|²; with --val-fraction the seeded
permutation of all n rows, 8 n, on every rank (a --val file avoids it).

Usage: lasso_model.py T1 T2 Z0 SETS WSIZE SUPPORT Z N P
  T1, T2: measured seconds (solve + hypergradient) on one and two ranks for Z0 nonzeros; SETS, WSIZE,
  SUPPORT: its working sets, last working-set size and support; Z, N, P: the projected problem.
"""
import math
import sys

t1, t2, z0, sets, wsize, support, z, n, p = (float(a) for a in sys.argv[1:10])
alpha, beta = 2e-6, 10e9


def allreduce(nbytes, k):
    if k == 1:
        return 0.0
    return 2 * alpha * math.log2(k) + 2 * (k - 1) / k * nbytes / beta


def communication(k):
    per_set = allreduce(8 * (p + 3), k) + allreduce(8 * (wsize * wsize + wsize), k) + 3 * allreduce(8, k)
    adjoint = allreduce(8 * (p + 3), k) + allreduce(8 * support * support, k) + 5 * allreduce(8, k)
    return sets * per_set + adjoint


t_repl = max(2 * t2 - t1 - 2 * communication(2), 0.0)
t_rows = t1 - t_repl


def row(k):
    compute = t_rows * (z / z0) / k + t_repl
    comm = communication(k)
    sent = 2 * (k - 1) / k * 8 * (sets * (p + wsize * wsize + wsize) + p + support * support) if k > 1 else 0
    memory = (12 * z / k + 16 * n / k) + (12 * z / k + 4 * p) + 12 * z / k + 80 * p + 8 * wsize * wsize
    return compute, comm, sent, memory


print(f"X: {z:.3g} nonzeros, {n:.3g} rows, {p:.3g} features; measured: {t1:.2f} s on one rank for {z0:.3g} nonzeros, "
      f"and {t2:.2f} s on two, {sets:.0f} working sets, the last of {wsize:.0f} columns, support {support:.0f}; "
      f"T_rows = {t_rows:.2f} s, T_repl = {t_repl:.2f} s")
print()
print("| ranks | compute (s) | communication (s) | sent per rank (MB) | time (s) | efficiency | memory per rank (GB) | + split permutation (GB) |")
print("|---|---|---|---|---|---|---|---|")
base = None
for k in [1, 2, 4, 8, 16, 32, 64]:
    compute, comm, sent, memory = row(k)
    total = compute + comm
    base = base or total
    print(f"| {k} | {compute:.2f} | {comm:.3f} | {sent / 1e6:.0f} | {total:.2f} | {base / (k * total):.2f} | {memory / 1e9:.2f} | {8 * n / 1e9:.2f} |")
