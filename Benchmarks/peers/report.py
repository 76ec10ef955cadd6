#!/usr/bin/env python3
"""Prints the markdown table of docs/BENCHMARKS.md from DATA/ours.json and DATA/peers.json."""
import json, sys

data = sys.argv[1] if len(sys.argv) > 1 else "data"
o = json.load(open(f"{data}/ours.json"))
p = json.load(open(f"{data}/peers.json"))

print("| measurement | ImplicitSparse | peer | ratio | target |")
print("|---|---|---|---|---|")
print(f"| copy bandwidth, GB/s (ours: {int(o['threads'])} threads; numpy: 1) | {o['copy_GBps']:.2f} | {p['copy_GBps']:.2f} | | |")
for name, label in [("grid", "2-D grid Laplacian + I, 10⁶ rows"), ("powerlaw", "power-law random, 10⁶ rows")]:
    ours, peer = o[f"spmv_{name}_GBps"], p[f"spmv_{name}_GBps"]
    print(f"| SpMV {label}: GB/s vs scipy (1 thread) | {ours:.2f} | {peer:.2f} | {ours / peer:.2f}× | ≥ 1.3× |")
    print(f"| SpMV {label}: fraction of our copy bandwidth | {ours / o['copy_GBps']:.0%} | | | ≥ 70 % |")
    print(f"| SpMV {label}, 1 thread: GB/s vs scipy | {o[f'spmv_{name}_1thread_GBps']:.2f} | {peer:.2f} | {o[f'spmv_{name}_1thread_GBps'] / peer:.2f}× | |")
if p.get("scikit_sparse"):
    for name, label in [("grid", "grid Laplacian + I, 10⁶"), ("graph", "power-law graph Laplacian + I, 10⁵")]:
        for phase in ["analyze", "factorize", "solve", "total"]:
            ours, peer = o[f"cholmod_{name}_{phase}_s"], p[f"cholmod_{name}_{phase}_s"]
            target = "≤ 1.05×" if phase == "total" else ""
            print(f"| CHOLMOD {label}: {phase} s vs scikit-sparse (32-bit default) | {ours:.3f} | {peer:.3f} | {ours / peer:.2f}× | {target} |")
            if f"cholmod_long_{name}_{phase}_s" in p:
                peer = p[f"cholmod_long_{name}_{phase}_s"]
                print(f"| CHOLMOD {label}: {phase} s vs scikit-sparse use_long=True (64-bit, as ours) | {ours:.3f} | {peer:.3f} | {ours / peer:.2f}× | |")
        print(f"| CHOLMOD {label}: relative residual | {o[f'cholmod_{name}_residual']:.1e} | {p[f'cholmod_{name}_residual']:.1e} | | |")
ours, peer = o["cg_per_iteration_s"], p["cg_per_iteration_s"]
print(f"| CG, grid 10⁶, s per iteration vs scipy.sparse.linalg.cg ({int(o['cg_iterations'])} vs {int(p['cg_iterations'])} iterations) | {ours * 1e3:.2f} ms | {peer * 1e3:.2f} ms | {ours / peer:.2f}× | ≤ 0.5× |")
print(f"| dot product n = 2·10⁷: OpenBLAS vs plain Swift loop | {o['dot_openblas_s'] * 1e3:.2f} ms | {o['dot_swift_s'] * 1e3:.2f} ms | {o['dot_openblas_s'] / o['dot_swift_s']:.2f}× | |")

# AMG-preconditioned CG next to PyAMG and CHOLMOD (issue 3).
try:
    pa = json.load(open(f"{data}/peers_amg.json"))
except FileNotFoundError:
    pa = None
if pa is not None and "amg_poisson2d_setup_s" in o:
    print()
    print("| case | solver | setup s | iterations | solve s | total s | memory MiB | ratio of totals (ours / peer) |")
    print("|---|---|---|---|---|---|---|---|")
    labels = {"poisson2d": "2-D Poisson 1000²", "poisson3d": "3-D Poisson 100³", "graph1m": "power-law graph Laplacian + 0.1·I, 10⁶ nodes"}
    for name, label in labels.items():
        if f"amg_{name}_setup_s" not in o:
            continue
        mib = lambda b: f"{b / 1048576:.0f}"
        plain = " (plain aggregation)" if o.get(f"amg_{name}_plain_aggregation") == 1 else ""
        print(f"| {label} | ImplicitSparse AMG-PCG{plain}, {int(o[f'amg_{name}_levels'])} levels, complexity {o[f'amg_{name}_operator_complexity']:.2f} | "
              f"{o[f'amg_{name}_setup_s']:.2f} | {int(o[f'amg_{name}_iterations'])} | {o[f'amg_{name}_solve_s']:.2f} | "
              f"{o[f'amg_{name}_total_s']:.2f} | {mib(o[f'amg_{name}_memory_bytes'])} | |")
        if f"pyamg_{name}_total_s" in pa:
            ratio = o[f"amg_{name}_total_s"] / pa[f"pyamg_{name}_total_s"]
            print(f"| | PyAMG {pa['pyamg']} ({pa[f'pyamg_{name}_options']}) + its CG, {pa[f'pyamg_{name}_levels']} levels, complexity {pa[f'pyamg_{name}_operator_complexity']:.2f} | "
                  f"{pa[f'pyamg_{name}_setup_s']:.2f} | {pa[f'pyamg_{name}_iterations']} | {pa[f'pyamg_{name}_solve_s']:.2f} | "
                  f"{pa[f'pyamg_{name}_total_s']:.2f} | {mib(pa[f'pyamg_{name}_memory_bytes'])} (A, P, R) | {ratio:.2f}× (target ≤ 1.0×) |")
        if f"amgcholmod_{name}_total_s" in o:
            print(f"| | CHOLMOD through ImplicitSparse (analyze + factorize + solve) | | | | {o[f'amgcholmod_{name}_total_s']:.2f} | {mib(o[f'amgcholmod_{name}_memory_bytes'])} (factor) | AMG-PCG / CHOLMOD {o[f'amg_{name}_total_s'] / o[f'amgcholmod_{name}_total_s']:.2f}× |")
            if f"cholmod_amgcase_{name}_total_s" in pa:
                print(f"| | scikit-sparse CHOLMOD | | | | {pa[f'cholmod_amgcase_{name}_total_s']:.2f} | | |")
        elif f"amgcholmod_{name}_predicted_bytes" in o:
            print(f"| | CHOLMOD | not run: predicted factor {o[f'amgcholmod_{name}_predicted_bytes'] / 1073741824:.1f} GiB over the 8 GiB budget | | | | | |")
