#!/usr/bin/env python3
"""Writes the graph benchmark's files: a Matrix Market symmetric pattern adjacency, a signal
(one value per line) and training / validation node lists (1-based), for
  grid RxC      — the 4-neighbour grid (node (r, c) = r*C + c + 1),
  powerlaw N M  — a Chung–Lu graph with power-law degrees (exponent 2.5, M edge draws,
                  self-loops and repeats dropped): heavy-tailed degrees.
Signal: a smooth function of the node index plus a step plus N(0, 0.3²) noise; 20 % of the
nodes validation, the rest training (seeded). Usage: graph_data.py OUT NAME grid R C | powerlaw N M"""
import sys
import numpy as np

out, name, kind = sys.argv[1], sys.argv[2], sys.argv[3]
rng = np.random.default_rng(13)
if kind == "grid":
    r, c = int(sys.argv[4]), int(sys.argv[5])
    n = r * c
    idx = np.arange(n).reshape(r, c)
    i = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    j = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    u, v = (np.arange(n) // c) / r, (np.arange(n) % c) / c
else:
    n, m = int(sys.argv[4]), int(sys.argv[5])
    w = (np.arange(n) + 1.0) ** (-1 / 1.5)
    p = w / w.sum()
    a, b = rng.choice(n, m, p=p), rng.choice(n, m, p=p)
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    pairs = np.unique(lo.astype(np.int64) * n + hi)
    i, j = pairs // n, pairs % n
    u, v = np.arange(n) / n, rng.random(n)
y = np.sin(3 * np.pi * u) * np.cos(2 * np.pi * v) + (u + v < 0.8) + 0.3 * rng.standard_normal(n)
with open(f"{out}/{name}.mtx", "w") as f:
    f.write("%%MatrixMarket matrix coordinate pattern symmetric\n")
    f.write(f"{n} {n} {len(i)}\n")
    hi, lo = np.maximum(i, j) + 1, np.minimum(i, j) + 1
    np.savetxt(f, np.column_stack([hi, lo]), fmt="%d")
np.savetxt(f"{out}/{name}-y.txt", y, fmt="%.10g")
order = rng.permutation(n)
cut = int(round(0.2 * n))
np.savetxt(f"{out}/{name}-val.txt", np.sort(order[:cut]) + 1, fmt="%d")
np.savetxt(f"{out}/{name}-train.txt", np.sort(order[cut:]) + 1, fmt="%d")
print(f"{name}: {n} nodes, {len(i)} edges")
