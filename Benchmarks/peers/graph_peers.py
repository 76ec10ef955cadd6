#!/usr/bin/env python3
"""The peer of `isparse hypergrad graph-ls`: SciPy builds K = M + εI + λL from the same files,
scikit-sparse's CHOLMOD factorizes it (its default supernodal Cholesky with AMD/METIS
ordering), solves K x = My, then the adjoint K u = ∇loss with the same factor, and
d loss/d log λ = −λ uᵀLx. Timed: the solve (build K + analyze + factorize + solve) and the
hypergradient (gradient + adjoint solve + the product), reading excluded, as ours.
Prints one JSON line. Usage: graph_peers.py GRAPH.mtx Y.txt TRAIN.txt VAL.txt LAMBDA [EPSILON]"""
import json, sys, time
import numpy as np
import scipy.io, scipy.sparse as sp
from sksparse.cholmod import cholesky

g, yfile, tfile, vfile, lam = sys.argv[1:6]
lam = float(lam)
eps = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
w = scipy.io.mmread(g).tocsr()
w.data[:] = 1.0
y = np.loadtxt(yfile)
train = np.loadtxt(tfile, dtype=np.int64) - 1
val = np.loadtxt(vfile, dtype=np.int64) - 1
n = w.shape[0]
t0 = time.perf_counter()
lap = sp.diags(np.asarray(w.sum(axis=1)).ravel()) - w
mask = np.zeros(n); mask[train] = 1
k = (sp.diags(mask + eps) + lam * lap).tocsc()
peer, extra = "scikit-sparse", {}
try:
    factor = cholesky(k)
    solve = factor
    extra["factorNonzeros"] = int(factor.L().nnz)
except Exception as error:  # CHOLMOD refuses (e.g. "problem too large" on a power-law graph)
    import scipy.sparse.linalg as sla
    peer, extra["cholmodError"] = "scipy-cg+jacobi", str(error).split(":")[-1].strip()
    inverse_diagonal = sp.diags(1 / k.diagonal())
    def solve(b):
        x, info = sla.cg(k, b, rtol=1e-10, atol=0, M=inverse_diagonal, maxiter=100000)
        assert info == 0, info
        return x
x = solve(mask * y)
t1 = time.perf_counter()
grad = np.zeros(n); grad[val] = 2 * (x[val] - y[val]) / len(val)
u = solve(grad)
d = -lam * u @ (lap @ x)
t2 = time.perf_counter()
loss = float(np.mean((x[val] - y[val]) ** 2))
print(json.dumps({"peer": peer, "solve": t1 - t0, "hypergradient": t2 - t1, "validationLoss": loss, "logLambda": float(d), **extra}))
