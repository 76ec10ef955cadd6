"""Writes the automatic-policy benchmark matrices (Matrix Market, symmetric):
power-law graph Laplacian + 0.1 I (Chung-Lu, 63 000 nodes, degree weights ∝ rank^-1/1.1,
mean degree about 6.7, largest about 10⁴) and the 10⁶-node grid graph Laplacian as I + 100 L
(Laplacian-regularized least squares)."""
import sys
import numpy as np
import scipy.io as sio
import scipy.sparse as sp

out = sys.argv[1] if len(sys.argv) > 1 else "data"
rng = np.random.default_rng(0)
n = 63000
w = np.arange(1, n + 1) ** (-1 / 1.1)
w = w / w.sum() * n * 8
m = int(w.sum() / 2)
p = w / w.sum()
i, j = rng.choice(n, m, p=p), rng.choice(n, m, p=p)
keep = i != j
a = sp.coo_matrix((np.ones(keep.sum()), (i[keep], j[keep])), shape=(n, n)).tocsr()
a = ((a + a.T) > 0).astype(float)
laplacian = sp.diags(np.asarray(a.sum(1)).ravel()) - a
sio.mmwrite(f"{out}/policy-powerlaw.mtx", (laplacian + 0.1 * sp.eye(n)).tocoo(), symmetry="symmetric")

k = 1000
e = np.ones(k)
path = sp.diags([e[:-1], e[:-1]], [-1, 1], shape=(k, k))
adjacency = sp.kron(sp.eye(k), path) + sp.kron(path, sp.eye(k))
grid = sp.diags(np.asarray(adjacency.sum(1)).ravel()) - adjacency
sio.mmwrite(f"{out}/policy-grid.mtx", (sp.eye(k * k) + 100 * grid).tocoo(), symmetry="symmetric")
