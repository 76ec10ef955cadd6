"""How well a Jacobi-CG probe of P iterations predicts the iterations Jacobi-CG then takes
(docs/BENCHMARKS.md, "The automatic policy on generated graphs"): on graph-ls's system
K = M + 0.01 I + λL of a graph written by run-graph-policy.sh (M: 80 % training nodes, seeded),
Jacobi-PCG from a random right-hand side to 10⁻¹⁰, and the policy's prediction rule — the
slower of the whole probe's rate and its second half's, continued from where the probe
stopped — read after 20 and after 10 iterations.
Usage: python3 Benchmarks/peers/probe_length.py Benchmarks/data/pl-1000000.mtx 1
"""
import sys
import numpy as np
import scipy.io
import scipy.sparse as sp

path, lam = sys.argv[1], float(sys.argv[2])
w = scipy.io.mmread(path).tocsr()
if sp.triu(w, 1).nnz == 0 or sp.tril(w, -1).nnz == 0:
    w = w + w.T
w.data[:] = 1
laplacian = sp.diags(np.asarray(w.sum(1)).ravel()) - w
mask = (np.random.default_rng(5).random(w.shape[0]) >= 0.2).astype(float)
a = (sp.diags(mask + 0.01) + lam * laplacian).tocsr()
dinv = 1 / a.diagonal()
b = np.random.default_rng(0).random(a.shape[0]) - 0.5
x = np.zeros_like(b); r = b.copy(); z = dinv * r; p = z.copy(); rz = r @ z
history = [np.linalg.norm(r)]
for _ in range(20000):
    q = a @ p
    alpha = rz / (p @ q)
    x += alpha * p; r -= alpha * q
    history.append(np.linalg.norm(r))
    if history[-1] <= 1e-10 * history[0]:
        break
    z = dinv * r; rz_new = r @ z; p = z + (rz_new / rz) * p; rz = rz_new
h = np.array(history)


def predicted(probe):
    overall = (h[probe] / h[0]) ** (1 / probe)
    middle = probe // 2
    late = (h[probe] / h[middle]) ** (1 / (probe - middle))
    rate = max(overall, late)
    return probe + np.log(1e-10 * h[0] / h[probe]) / np.log(rate)


print(f"{path} λ = {lam:g}: Jacobi-CG took {len(h) - 1} iterations; a 20-iteration probe predicts "
      f"{predicted(20):.0f}, a 10-iteration probe {predicted(10):.0f}")
