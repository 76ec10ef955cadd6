#!/usr/bin/env python3
"""Reference for `isparse solve graph-tv` on small graphs: the same problem in CVXPY (its
default conic solver), ½Σ_T(x−y)² + λΣ_E|x_i−x_j| + (ε/2)‖x‖², from the same files; prints
one JSON line with the seconds (problem build excluded), the objective and max |x − x_ours|
against OURS.mtx (our solution, Matrix Market array). Usage:
graph_tv_cvxpy.py GRAPH.mtx Y.txt TRAIN.txt LAMBDA EPSILON OURS.mtx"""
import json, sys, time
import numpy as np, scipy.io, scipy.sparse as sp
import cvxpy as cp

g, yfile, tfile, lam, eps, ours = sys.argv[1:7]
lam, eps = float(lam), float(eps)
w = sp.triu(scipy.io.mmread(g).tocsr(), k=1).tocoo()
y = np.loadtxt(yfile)
train = np.loadtxt(tfile, dtype=np.int64) - 1
n, m = len(y), w.nnz
d = sp.csr_matrix((np.concatenate([np.ones(m), -np.ones(m)]), (np.concatenate([np.arange(m)] * 2), np.concatenate([w.row, w.col]))), shape=(m, n))
x = cp.Variable(n)
objective = 0.5 * cp.sum_squares(x[train] - y[train]) + lam * cp.norm1(d @ x) + 0.5 * eps * cp.sum_squares(x)
problem = cp.Problem(cp.Minimize(objective))
t0 = time.perf_counter()
problem.solve()
seconds = time.perf_counter() - t0
xo = scipy.io.mmread(ours).ravel()
def value(v):
    return float(0.5 * np.sum((v[train] - y[train]) ** 2) + lam * np.abs(d @ v).sum() + 0.5 * eps * v @ v)
print(json.dumps({"peer": "cvxpy-" + str(problem.solver_stats.solver_name), "seconds": seconds, "objective": value(x.value),
                  "oursObjective": value(xo), "maxAbsDifference": float(np.max(np.abs(x.value - xo)))}))
