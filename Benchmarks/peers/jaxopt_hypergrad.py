"""JAXopt peer for issue 4's hypergradient benchmark.

Loads the same LIBSVM files as `isparse hypergrad`, builds the same lasso
(1/2n)||y - Xw||^2 + lam ||w||_1 with X as a jax BCOO sparse matrix, and times
JAXopt's ProximalGradient(implicit_diff=True) (its default implicit solve,
normal-equations CG) on the validation MSE: value_and_grad(outer)(lam) minus
outer(lam) (the forward solve), both jit-compiled and warmed up, medians of
--repeat interleaved runs. The forward solve starts from our solution (--weights)
so that it stops after a few iterations and the backward pass is taken at the
same point as ours.
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("JAX_ENABLE_X64", "1")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.io  # noqa: E402
from jax.experimental import sparse as jsparse  # noqa: E402
from jaxopt import ProximalGradient  # noqa: E402
from jaxopt.prox import prox_lasso  # noqa: E402
from sklearn.datasets import load_svmlight_file  # noqa: E402

jax.config.update("jax_enable_x64", True)

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="data")
parser.add_argument("--lambda", dest="lam", type=float, required=True)
parser.add_argument("--weights", required=True)
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--out")
args = parser.parse_args()

X, y = load_svmlight_file(f"{args.data}/lasso-train.svm", n_features=65000)
Xv, yv = load_svmlight_file(f"{args.data}/lasso-val.svm", n_features=65000)
n = X.shape[0]
w0 = np.asarray(scipy.io.mmread(args.weights)).ravel()
Xb = jsparse.BCOO.from_scipy_sparse(X.tocoo())
Xvb = jsparse.BCOO.from_scipy_sparse(Xv.tocoo())
yb, yvb = jnp.asarray(y), jnp.asarray(yv)

# Step 1/L, L = ||X^T X||/n by power iteration (as ours).
v = np.ones(X.shape[1])
for _ in range(30):
    u = X.T @ (X @ v)
    L = np.linalg.norm(u)
    v = u / L
L /= n


def fun(w, data):
    A, b = data
    r = A @ w - b
    return 0.5 * jnp.mean(r ** 2)


solver = ProximalGradient(fun=fun, prox=prox_lasso, stepsize=1.0 / L, maxiter=1000, tol=1e-10,
                          implicit_diff=True)
w0j = jnp.asarray(w0)


def outer(lam, w0, A, b, Av, bv):
    w = solver.run(w0, hyperparams_prox=lam, data=(A, b)).params
    r = Av @ w - bv
    return jnp.mean(r ** 2)


# The data are jit arguments, not closed-over constants (XLA would constant-fold them).
operands = (w0j, Xb, yb, Xvb, yvb)
forward = jax.jit(outer)
value_and_grad = jax.jit(jax.value_and_grad(outer, argnums=0))
lam = jnp.asarray(args.lam)
forward(lam, *operands).block_until_ready()
value_and_grad(lam, *operands)[1].block_until_ready()
iterations = int(jax.jit(lambda l, w0, A, b: solver.run(w0, hyperparams_prox=l, data=(A, b)).state.iter_num)(lam, w0j, Xb, yb))

fwd_times, vg_times = [], []
value = grad = None
for _ in range(args.repeat):
    t = time.perf_counter()
    forward(lam, *operands).block_until_ready()
    fwd_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    value, grad = value_and_grad(lam, *operands)
    grad.block_until_ready()
    vg_times.append(time.perf_counter() - t)

result = {
    "jaxopt": __import__("importlib.metadata").metadata.version("jaxopt"),
    "jax": jax.__version__,
    "lambda": args.lam,
    "forwardIterations": iterations,
    "validationLoss": float(value),
    "hypergradient": float(grad) * args.lam,  # d loss / d log lambda
    "forwardSeconds": statistics.median(fwd_times),
    "valueAndGradSeconds": statistics.median(vg_times),
    "backwardSeconds": statistics.median(vg_times) - statistics.median(fwd_times),
}
print(json.dumps(result))
if args.out:
    with open(args.out, "w") as f:
        json.dump(result, f)
