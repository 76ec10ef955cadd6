"""Issue 12's peers: skglm, celer and scikit-learn on the same LIBSVM files and λ as
`isparse solve`, tol 1e-8, no intercept. One process = one round: the file is loaded once,
each (solver, λ) is fitted once after a warm-up fit (numba compiles on the first call), and
the fit time and the objective computed here the same way for every solver are written as
JSON lines. Usage: solver_peers.py --data F --model lasso|logreg --ratios 10,100 --peers skglm,celer,sklearn --out FILE"""
import argparse, json, time, warnings
import numpy as np
from sklearn.datasets import load_svmlight_file

warnings.filterwarnings("ignore")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="lasso")
    ap.add_argument("--ratios", default="10,100,1000")
    ap.add_argument("--peers", default="skglm,celer,sklearn")
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    X, y = load_svmlight_file(args.data)
    X = X.tocsc()
    n = X.shape[0]
    if args.model == "logreg":
        y = np.where(y > 0, 1.0, -1.0)
        lmax = np.max(np.abs(X.T @ y)) / (2 * n)
    else:
        lmax = np.max(np.abs(X.T @ y)) / n
    rows = []
    for ratio in [float(r) for r in args.ratios.split(",")]:
        lam = lmax / ratio
        for peer in args.peers.split(","):
            model = make(peer, args.model, lam, args.tol)
            if model is None:
                continue
            if peer == "skglm":
                model.fit(X, y)  # numba's compilation, not timed
            t = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - t
            w = np.asarray(model.coef_).ravel()
            z = X @ w
            if args.model == "logreg":
                objective = np.mean(np.logaddexp(0, -y * z)) + lam * np.abs(w).sum()
            else:
                objective = np.sum((y - z) ** 2) / (2 * n) + lam * np.abs(w).sum()
            rows.append({"peer": peer, "ratio": ratio, "lambda": lam, "seconds": seconds, "objective": float(objective),
                         "support": int(np.sum(w != 0))})
    with open(args.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def make(peer, model, lam, tol):
    if model == "logreg":
        if peer == "skglm":
            from skglm import SparseLogisticRegression
            return SparseLogisticRegression(alpha=lam, fit_intercept=False, tol=tol, max_iter=100)
        return None  # only skglm is compared for sparse logistic regression
    if peer == "skglm":
        from skglm import Lasso
        return Lasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=1000, max_epochs=100000)
    if peer == "celer":
        import celer
        return celer.Lasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=1000)
    if peer == "sklearn":
        from sklearn.linear_model import Lasso
        return Lasso(alpha=lam, fit_intercept=False, tol=tol, max_iter=100000, selection="cyclic")
    raise SystemExit(f"unknown peer {peer}")


if __name__ == "__main__":
    main()
