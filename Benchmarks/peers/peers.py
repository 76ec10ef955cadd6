#!/usr/bin/env python3
"""Python peers of sparse-bench on the same files: numpy copy, scipy.sparse SpMV,
scikit-sparse CHOLMOD (analyze / factorize / solve) and scipy.sparse.linalg.cg.
Every number is the median of --repeat runs. Writes DATA/peers.json."""
import argparse, json, os, statistics, time

import numpy as np
import scipy
import scipy.io
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def timed(repeats, fn):
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="copy,spmv,cholmod,cg")
    ap.add_argument("--out", default="peers.json")
    args = ap.parse_args()
    only = set(args.only.split(","))
    r = args.repeat
    out = {"numpy": np.__version__, "scipy": scipy.__version__}

    n = 20_000_000
    if "copy" in only:
      src = np.full(n, 1.5)
      dst = np.zeros(n)
      out["copy_GBps"] = 16 * n / timed(max(r, 5) * 2, lambda: np.copyto(dst, src)) / 1e9
      print(f"numpy copy: {out['copy_GBps']:.2f} GB/s", flush=True)

    for name in (["grid", "powerlaw"] if "spmv" in only else []):
        a = sp.csr_matrix(scipy.io.mmread(f"{args.data}/{name}.mtx"))
        a.indices = a.indices.astype(np.int32)
        x = np.ones(a.shape[1])
        nbytes = 12 * a.nnz + 8 * (a.shape[0] + 1) + 8 * a.shape[1] + 8 * a.shape[0]
        s = timed(r * 4, lambda: a @ x)
        out[f"spmv_{name}_s"] = s
        out[f"spmv_{name}_GBps"] = nbytes / s / 1e9
        print(f"scipy spmv {name}: {s:.5f} s, {nbytes / s / 1e9:.2f} GB/s", flush=True)

    try:
        from sksparse.cholmod import analyze
        have_sksparse = True
    except ImportError:
        have_sksparse = False
    out["scikit_sparse"] = have_sksparse
    if have_sksparse and "cholmod" in only:
        import warnings
        warnings.simplefilter("ignore")
        for name, suffix, use_long in [("grid", "", False), ("graph", "", False), ("grid", "_long", True), ("graph", "_long", True)]:
            a = sp.csc_matrix(scipy.io.mmread(f"{args.data}/{name}.mtx"))
            if use_long:
                # The 64-bit interface (cholmod_l_*) that our binding uses: same indices width.
                a.indices = a.indices.astype(np.int64)
                a.indptr = a.indptr.astype(np.int64)
            b = a @ np.ones(a.shape[1])
            an, fa, so = [], [], []
            for _ in range(r):
                t0 = time.perf_counter(); f = analyze(a, use_long=use_long); t1 = time.perf_counter()
                f.cholesky_inplace(a); t2 = time.perf_counter()
                xs = f(b); t3 = time.perf_counter()
                an.append(t1 - t0); fa.append(t2 - t1); so.append(t3 - t2)
            res = np.linalg.norm(a @ xs - b) / np.linalg.norm(b)
            key = f"cholmod{suffix}_{name}"
            out[f"{key}_analyze_s"] = statistics.median(an)
            out[f"{key}_factorize_s"] = statistics.median(fa)
            out[f"{key}_solve_s"] = statistics.median(so)
            out[f"{key}_total_s"] = statistics.median([x + y + z for x, y, z in zip(an, fa, so)])
            out[f"{key}_residual"] = float(res)
            print(f"scikit-sparse{suffix} {name}: analyze {statistics.median(an):.3f}, factorize {statistics.median(fa):.3f}, "
                  f"solve {statistics.median(so):.3f} s, residual {res:.1e}", flush=True)

    if "cg" in only:
        cg_peer(args, r, out)
    with open(f"{args.data}/{args.out}", "w") as fh:
        json.dump(out, fh, indent=2, sort_keys=True)


def cg_peer(args, r, out):
    a = sp.csr_matrix(scipy.io.mmread(f"{args.data}/grid.mtx"))
    a.indices = a.indices.astype(np.int32)
    b = a @ np.ones(a.shape[1])
    iters = 40
    count = [0]

    def cb(_):
        count[0] += 1

    def run():
        count[0] = 0
        spla.cg(a, b, rtol=1e-300, atol=0.0, maxiter=iters, callback=cb)

    s = timed(r, run)
    out["cg_iterations"] = count[0]
    out["cg_per_iteration_s"] = s / count[0]
    print(f"scipy cg: {count[0]} iterations, {s / count[0]:.5f} s per iteration", flush=True)


if __name__ == "__main__":
    main()
