"""The weak-scaling model of docs/SCALING.md for graph-ls hypergradients on the PETSc backend
(CG + GAMG, one forward and one adjoint solve), from 1 to 64 ranks, printed as Markdown.

T(K) = setup(K) + (iterations) × (t_it + comm_it(K)), per rank holding n_loc nodes:
  t_it       compute of one CG + GAMG iteration on n_loc nodes (measured here, 1 rank),
             scaled by the memory-bandwidth share when ranks share a node's bandwidth;
  comm_it    halo exchanges (1 for CG's product + 6 per AMG level: 2 pre- and 2 post-smoothing
             Chebyshev steps, the residual and the transfer) at α + bytes/β each, the fine level's
             halo shrinking by 1/3 per coarser level, plus 3 all-reduces (‖r‖, (r, z), (p, Ap)) at
             2α·log2 K and the coarsest solve's gather at α·log2 K;
  setup(K)   the 1-rank set-up (measured) plus 10 halo exchanges of P's rows (24 bytes per ghost)
             per level (aggregation rounds, smoothing of P, the Galerkin product).
Halo of a row-block ("strip") partition of an R×R grid numbered by rows: 2 neighbours × R
values, R = sqrt(K·n_loc), growing as sqrt(K); of a 2-D block partition: 4 × sqrt(n_loc),
constant. Power-law graph with contiguous row blocks, Jacobi-CG: one product per iteration, the ghost
count per rank measured at 2 ranks and taken to grow as (1 − 1/K)·(its 2-rank value × 2),
capped at the other ranks' nodes.

Constants that are assumptions, not measurements of this machine: α = 2 µs and β = 10 GB/s
(an InfiniBand-class network), a 64-core node with 300 GB/s. Measured here: t_it, setup,
iterations, bandwidth of 1 and 2 cores, the power-law ghost counts.
Iterations grow with the global size as (N/n_loc)^γ, γ from the measured counts at 10⁶ and 10⁷
nodes (GAMMA). A second table holds strong scaling of the 10⁷-node grid (n_loc = 10⁷/K,
compute scaled by n_loc), efficiency T(1)/(K·T(K)).
Load imbalance of the power-law graph numbered by degree: the rank holding the hubs does the
share s(K) = K^(−e) of all nonzeros, e fitted to the measured 2-rank share (PL_SHARE2).
Usage: scaling_model.py T_IT SETUP ITERATIONS N_LOC B1 B2 PL_T_IT PL_SETUP PL_ITERATIONS PL_GHOST_RATIO GAMMA PL_SHARE2
  (PL_*: the power-law graph's per-iteration compute, set-up and iterations on one rank, and
  its ghost values per rank at 2 ranks divided by the nodes per rank)
"""
import math
import sys

t_it, setup, iterations0, n_loc, b1, b2, pl_t_it, pl_setup, pl_iterations, ghost_ratio, gamma, share2 = (float(a) for a in sys.argv[1:13])
imbalance_exponent = math.log(share2) / math.log(0.5)
alpha, beta = 2e-6, 10e9
node_bandwidth, node_cores = 300e9, 64
levels = lambda n: max(1, math.ceil(math.log(max(n, 200) / 200, 9)) + 1)


def comm_per_iteration(k, halo_values, neighbours):
    if k == 1:
        return 0.0
    n = k * n_loc
    l = levels(n)
    halo = 0.0
    for level in range(l):
        exchanges = 7 if level == 0 else 6
        values = halo_values / (3 ** level)
        halo += exchanges * neighbours * (alpha + 8 * values / neighbours / beta)
    reductions = 3 * 2 * alpha * math.log2(k) + alpha * math.log2(k)
    return halo + reductions


def setup_time(k, halo_values, neighbours):
    if k == 1:
        return setup
    l = levels(k * n_loc)
    return setup + sum(10 * neighbours * (alpha + 24 * halo_values / (3 ** level) / neighbours / beta) for level in range(l))


def total(k, halo_values, neighbours, compute_scale=1.0):
    iterations = iterations0 * k ** gamma
    return setup_time(k, halo_values, neighbours) * compute_scale + iterations * (t_it * compute_scale + comm_per_iteration(k, halo_values, neighbours))


ks = [1, 2, 4, 8, 16, 32, 64]
print(f"Weak scaling: n_loc = {n_loc:.0f} nodes per rank; t_it = {t_it * 1e3:.1f} ms; set-up {setup:.2f} s; {iterations0:.0f} iterations (forward + adjoint) on one rank, growing as K^{gamma:.2f}")
print()
print("| ranks K | grid, row blocks, 1 rank per node | grid, 2-D blocks, 1 rank per node | grid, K ranks on one 64-core node (300 GB/s) | power-law, row blocks, Jacobi-CG, 1 rank per node |")
print("|---|---|---|---|---|")
base = total(1, 0, 2)
for k in ks:
    r = math.sqrt(k * n_loc)
    strip = base / total(k, 2 * r, 2)
    block = base / total(k, 4 * math.sqrt(n_loc), 4)
    # K ranks sharing one node's bandwidth: each core gets min(b1, B_node / K).
    share = max(1.0, b1 / (node_bandwidth / k)) if k <= node_cores else float("nan")
    node = base / total(k, 2 * r, 2, compute_scale=share) if k > 1 else 1.0
    # Power-law with Jacobi-CG (what runs well there): one product per iteration talking to up to
    # K − 1 ranks and moving g(K) ghost values, plus the three all-reduces.
    ghosts = min((k - 1) * n_loc, ghost_ratio * n_loc * 2 * (1 - 1 / k))
    pl_base = pl_setup + pl_iterations * pl_t_it
    pl_comm = ((k - 1) * alpha + 8 * ghosts / beta) + 3 * 2 * alpha * math.log2(k) if k > 1 else 0.0
    # The busiest rank does K·s(K) times the work of a balanced one.
    busiest = k * k ** (-imbalance_exponent)
    power = pl_base / (pl_setup + pl_iterations * (pl_t_it * busiest + pl_comm))
    print(f"| {k} | {strip:.2f} | {block:.2f} | {node:.2f} | {power:.2f} |")
print()
print("Strong scaling of the 10⁷-node grid (row blocks, 1 rank per node): efficiency T(1)/(K·T(K)), predicted seconds")
print()
print("| ranks K | nodes per rank | predicted seconds | efficiency |")
print("|---|---|---|---|")
total_nodes = 1e7
it_big = iterations0 * (total_nodes / n_loc) ** gamma
def strong(k):
    local = total_nodes / k
    scale = local / n_loc
    r = math.sqrt(total_nodes)
    comm = 0.0 if k == 1 else sum((7 if l == 0 else 6) * 2 * (alpha + 8 * r / (3 ** l) / 2 / beta) for l in range(levels(total_nodes))) + 7 * alpha * math.log2(k)
    set_up = setup * scale + (0.0 if k == 1 else sum(10 * 2 * (alpha + 24 * r / (3 ** l) / 2 / beta) for l in range(levels(total_nodes))))
    return set_up + it_big * (t_it * scale + comm)
for k in ks:
    print(f"| {k} | {total_nodes / k:.3g} | {strong(k):.2f} | {strong(1) / (k * strong(k)):.2f} |")
print()
print(f"power-law imbalance: the busiest rank holds K^(-{imbalance_exponent:.3f}) of the nonzeros ({share2:.2f} at 2 ranks)")
print(f"one node of this machine: 2 cores stream {b2 / 1e9:.1f} GB/s against {b1 / 1e9:.1f} GB/s for one: a bandwidth-bound 2-rank speed-up of at most {b2 / b1:.2f}×")
