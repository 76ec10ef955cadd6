"""scikit-learn's LassoCV on the folds `isparse tune lasso --cv K` uses (the same seeded shuffle,
replicated here), timed over --repeat runs; and the CV MSE of isparse's chosen λ on those folds,
recomputed with scikit-learn's Lasso (tol 1e-6) as an independent check of its criterion value.
LassoCV's default is 100 values of λ down to λ_max/1000; on the p = 10⁵ data 10 values already
take scikit-learn's coordinate descent minutes (157 s), so the peer runs --alphas (default 10)
values: a faster and coarser peer than the default."""
import argparse, json, time, warnings
import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import Lasso, LassoCV
from sklearn.exceptions import ConvergenceWarning

MASK = (1 << 64) - 1


def splitmix(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def folds(n, k, seed):
    """CrossValidatedRegression's folds: Fisher–Yates with SplitMix64, contiguous slices."""
    rng = splitmix(seed)
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = next(rng) % (i + 1)
        order[i], order[j] = order[j], order[i]
    out = []
    for f in range(k):
        held = np.array(sorted(order[n * f // k:n * (f + 1) // k]))
        mask = np.ones(n, bool)
        mask[held] = False
        out.append((np.nonzero(mask)[0], held))
    return out


def cv_mse(X, y, lam, splits):
    total = 0.0
    for train, test in splits:
        model = Lasso(alpha=lam, fit_intercept=True, tol=1e-6, max_iter=20000).fit(X[train], y[train])
        r = y[test] - model.predict(X[test])
        total += float(r @ r)
    return total / X.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--alphas", type=int, default=10)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    X, y = load_svmlight_file(a.train)
    X = X.tocsc()
    splits = folds(X.shape[0], a.folds, a.seed)
    times, model = [], None
    for _ in range(a.repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model = LassoCV(cv=splits, alphas=a.alphas, fit_intercept=True, n_jobs=1).fit(X, y)
            times.append(time.perf_counter() - start)
    best = int(np.argmin(model.mse_path_.mean(axis=1)))
    ours = json.load(open(a.ours))
    result = {
        "seconds": times,
        "lambda": float(model.alpha_),
        "alphas": len(model.alphas_),
        "cvMSE": float(model.mse_path_.mean(axis=1)[best]),
        "cvMSERecomputed": cv_mse(X, y, float(model.alpha_), splits),
        "oursLambda": ours["lambda"],
        "oursCvMSERecomputed": cv_mse(X, y, ours["lambda"], splits),
    }
    json.dump(result, open(a.out, "w"), indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
