/// The Python side of `isparse bench --peers`, shipped inside the executable and written to the
/// work folder at run time. One process runs one round: it reads the cases (JSON), loads each
/// case's files once, warms up (numba and XLA compile on first call; not timed), times one
/// run per case, and prints one JSON line per case. A peer that does not import is reported
/// as skipped.
let benchPeerScript = #"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")

def load_npz(path):
    import scipy.sparse as sp
    return sp.load_npz(path)

def npy(path):
    import numpy as np
    return np.load(path)

def rhs(n):
    import numpy as np
    return np.sin(0.37 * np.arange(n)) + 0.5

def version(module):
    try:
        from importlib.metadata import version as v
        return v(module)
    except Exception:
        return "?"

def run_case(case):
    kind, peer, a = case["kind"], case["peer"], case["args"]
    import numpy as np
    if kind == "spmv":
        A = load_npz(a["matrix"]).tocsr(); x = np.ones(A.shape[1]); reps = int(a["repeats"])
        A @ x
        t = time.perf_counter()
        for _ in range(reps): A @ x
        return (time.perf_counter() - t) / reps, "scipy " + version("scipy"), ""
    if kind == "cholesky":
        from sksparse.cholmod import analyze
        A = load_npz(a["matrix"]).tocsc()
        A.indices = A.indices.astype(np.int64); A.indptr = A.indptr.astype(np.int64)
        b = rhs(A.shape[0])
        t = time.perf_counter()
        f = analyze(A, use_long=True); f.cholesky_inplace(A); x = f(b)
        s = time.perf_counter() - t
        return s, "scikit-sparse " + version("scikit-sparse"), "residual %.1e" % (np.linalg.norm(A @ x - b) / np.linalg.norm(b))
    if kind == "cg":
        import scipy.sparse.linalg as spla
        A = load_npz(a["matrix"]).tocsr(); b = rhs(A.shape[0]); its = int(a["iterations"])
        t = time.perf_counter()
        spla.cg(A, b, rtol=1e-300, atol=0, maxiter=its)
        return (time.perf_counter() - t) / its, "scipy " + version("scipy"), "per iteration"
    if kind == "amg":
        import pyamg
        A = load_npz(a["matrix"]).tocsr(); b = rhs(A.shape[0])
        t = time.perf_counter()
        ml = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric")
        res = []
        x = ml.solve(b, tol=1e-8, accel="cg", maxiter=1000, residuals=res)
        s = time.perf_counter() - t
        return s, "pyamg " + version("pyamg"), "%d iterations" % (len(res) - 1)
    if kind in ("lasso", "logreg"):
        X = load_npz(a["design"]).tocsc(); y = npy(a["targets"]); lam = float(a["lambda"]); tol = float(a["tol"])
        if peer == "skglm":
            if kind == "lasso":
                from skglm import Lasso
                make = lambda: Lasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=1000, max_epochs=100000)
            else:
                from skglm import SparseLogisticRegression
                make = lambda: SparseLogisticRegression(alpha=lam, fit_intercept=False, tol=tol, max_iter=100)
            name = "skglm " + version("skglm")
        elif peer == "celer":
            import celer
            make = lambda: celer.Lasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=1000)
            name = "celer " + version("celer")
        else:
            from sklearn.linear_model import Lasso
            make = lambda: Lasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=100000)
            name = "scikit-learn " + version("scikit-learn")
        if peer == "skglm":
            make().fit(X[: min(X.shape[0], 200)], y[: min(X.shape[0], 200)])  # numba compiles here
        m = make()
        t = time.perf_counter(); m.fit(X, y); s = time.perf_counter() - t
        w = np.asarray(m.coef_).ravel(); z = X @ w; n = X.shape[0]
        if kind == "logreg":
            obj = np.mean(np.logaddexp(0, -y * z)) + lam * np.abs(w).sum()
        else:
            obj = np.sum((y - z) ** 2) / (2 * n) + lam * np.abs(w).sum()
        return s, name, "objective %.12g" % obj
    if kind == "glm":
        from skglm import GeneralizedLinearEstimator
        from skglm.datafits import Huber, Poisson, Quadratic, QuadraticGroup
        from skglm.penalties import L1, MCPenalty, WeightedGroupL2
        from skglm.solvers import AndersonCD, ProxNewton, GroupBCD
        X = load_npz(a["design"]).tocsc(); y = npy(a["targets"]); lam = float(a["lambda"]); tol = float(a["tol"]); pair = a["pair"]
        n, p = X.shape
        if pair == "quadratic-group":
            g = int(a["groupSize"])
            def make(columns=p):
                grp_ptr = np.unique(np.arange(0, columns + g, g).clip(max=columns)).astype(np.int32)
                grp_indices = np.arange(columns, dtype=np.int32)
                weights = np.sqrt(np.diff(grp_ptr)).astype(np.float64)
                return GeneralizedLinearEstimator(QuadraticGroup(grp_ptr, grp_indices), WeightedGroupL2(lam, weights, grp_ptr, grp_indices),
                                                  GroupBCD(tol=tol, max_iter=1000, max_epochs=100000, fit_intercept=False))
            # numba compiles here, on every row (a row slice leaves groups empty: skglm divides by 0).
            make(min(p, 500)).fit(X[:, : min(p, 500)], y)
        elif pair == "poisson-l1":
            make = lambda: GeneralizedLinearEstimator(Poisson(), L1(lam), ProxNewton(tol=tol, max_iter=200, fit_intercept=False))
        elif pair == "logistic-l1":
            from skglm.datafits import Logistic
            make = lambda: GeneralizedLinearEstimator(Logistic(), L1(lam), ProxNewton(tol=tol, max_iter=200, fit_intercept=False))
        elif pair == "quadratic-l1":
            make = lambda: GeneralizedLinearEstimator(Quadratic(), L1(lam),
                                                      AndersonCD(tol=tol, max_iter=1000, max_epochs=100000, fit_intercept=False))
        elif pair == "huber-l1":
            make = lambda: GeneralizedLinearEstimator(Huber(float(a["delta"])), L1(lam),
                                                      AndersonCD(tol=tol, max_iter=1000, max_epochs=100000, fit_intercept=False))
        else:
            make = lambda: GeneralizedLinearEstimator(Quadratic(), MCPenalty(lam, float(a["gamma"])),
                                                      AndersonCD(tol=tol, max_iter=1000, max_epochs=100000, fit_intercept=False))
        if pair != "quadratic-group":
            make().fit(X[: min(n, 200)], y[: min(n, 200)])  # numba compiles here
        m = make()
        t = time.perf_counter(); m.fit(X, y); s = time.perf_counter() - t
        w = np.asarray(m.coef_).ravel(); z = X @ w
        if pair == "huber-l1":
            d = float(a["delta"]); r = np.abs(y - z)
            obj = np.mean(np.where(r < d, 0.5 * r ** 2, d * r - 0.5 * d ** 2)) + lam * np.abs(w).sum()
        elif pair == "poisson-l1":
            obj = np.mean(np.exp(z) - y * z) + lam * np.abs(w).sum()
        elif pair == "logistic-l1":
            obj = np.mean(np.logaddexp(0, -y * z)) + lam * np.abs(w).sum()
        elif pair == "quadratic-l1":
            obj = np.sum((y - z) ** 2) / (2 * n) + lam * np.abs(w).sum()
        elif pair == "quadratic-mcp":
            gm = float(a["gamma"]); aw = np.abs(w)
            pen = np.where(aw <= gm * lam, lam * aw - aw ** 2 / (2 * gm), gm * lam ** 2 / 2).sum()
            obj = np.sum((y - z) ** 2) / (2 * n) + pen
        else:
            g = int(a["groupSize"]); norms = [np.linalg.norm(w[k:k + g]) * np.sqrt(len(w[k:k + g])) for k in range(0, p, g)]
            obj = np.sum((y - z) ** 2) / (2 * n) + lam * np.sum(norms)
        return s, "skglm " + version("skglm"), "objective %.12g, support %d" % (obj, int(np.count_nonzero(w)))
    if kind == "hypergrad":
        os.environ.setdefault("JAX_ENABLE_X64", "1")
        import jax, jax.numpy as jnp
        from jax.experimental import sparse as jsparse
        from jaxopt import ProximalGradient
        from jaxopt.prox import prox_lasso
        jax.config.update("jax_enable_x64", True)
        X = load_npz(a["design"]).tocoo(); y = npy(a["targets"]); Xv = load_npz(a["validation"]).tocoo(); yv = npy(a["validationTargets"])
        w0 = jnp.asarray(npy(a["weights"])); lam = jnp.asarray(float(a["lambda"]))
        Xs = X.tocsr(); v = np.ones(X.shape[1])
        for _ in range(30):
            u = Xs.T @ (Xs @ v); L = np.linalg.norm(u); v = u / L
        L /= X.shape[0]
        def fun(w, data):
            A, b = data
            return 0.5 * jnp.mean((A @ w - b) ** 2)
        solver = ProximalGradient(fun=fun, prox=prox_lasso, stepsize=1.0 / L, maxiter=1000, tol=1e-10, implicit_diff=True)
        def outer(l, w0, A, b, Av, bv):
            w = solver.run(w0, hyperparams_prox=l, data=(A, b)).params
            return jnp.mean((Av @ w - bv) ** 2)
        ops = (w0, jsparse.BCOO.from_scipy_sparse(X), jnp.asarray(y), jsparse.BCOO.from_scipy_sparse(Xv), jnp.asarray(yv))
        fwd = jax.jit(outer); vg = jax.jit(jax.value_and_grad(outer, argnums=0))
        fwd(lam, *ops).block_until_ready(); vg(lam, *ops)[1].block_until_ready()
        t = time.perf_counter(); fwd(lam, *ops).block_until_ready(); f = time.perf_counter() - t
        t = time.perf_counter(); val, g = vg(lam, *ops); g.block_until_ready(); total = time.perf_counter() - t
        return max(total - f, 0.0), "jaxopt " + version("jaxopt"), "backward pass, d/dlogλ %.6g" % (float(g) * float(lam))
    if kind == "graph":
        import pyamg
        S = load_npz(a["system"]).tocsr(); b = npy(a["rhs"])
        t = time.perf_counter()
        ml = pyamg.smoothed_aggregation_solver(S, symmetry="symmetric")
        res = []
        x = ml.solve(b, tol=1e-10, accel="cg", maxiter=1000, residuals=res)
        s = time.perf_counter() - t
        return s, "pyamg " + version("pyamg"), "SA-AMG + CG to 1e-10, %d iterations" % (len(res) - 1)
    if kind == "tune":
        from sklearn.linear_model import lasso_path
        X = load_npz(a["design"]).tocsc(); y = npy(a["targets"]); Xv = load_npz(a["validation"]).tocsr(); yv = npy(a["validationTargets"])
        lmax = float(a["lambdaMax"]); count = int(a["grid"]); ratio = float(a["minRatio"])
        alphas = lmax * np.logspace(0, -np.log10(ratio), count)
        t = time.perf_counter()
        _, coefs, _ = lasso_path(X, y, alphas=alphas, tol=1e-8, max_iter=100000)
        errs = [np.mean((Xv @ coefs[:, k] - yv) ** 2) for k in range(coefs.shape[1])]
        s = time.perf_counter() - t
        k = int(np.argmin(errs))
        return s, "scikit-learn " + version("scikit-learn"), "%d-point grid, best λ_max/%.3g, val MSE %.6g" % (count, lmax / alphas[k], errs[k])
    raise ValueError("unknown case kind " + kind)

def main():
    cases = json.load(open(sys.argv[1]))
    for case in cases:
        out = {"id": case["id"], "peer": case["peer"]}
        try:
            seconds, name, detail = run_case(case)
            out.update(seconds=seconds, name=name, detail=detail)
        except ImportError as e:
            out["skipped"] = "not installed (%s)" % e
        except Exception as e:
            out["failed"] = "%s: %s" % (type(e).__name__, str(e)[:200])
        print(json.dumps(out), flush=True)

main()
"""#
