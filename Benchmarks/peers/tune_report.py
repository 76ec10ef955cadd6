"""The tuning benchmark's table: medians over the runs of Benchmarks/run-tune.sh."""
import json, os, statistics, sys
import numpy as np
from sklearn.datasets import load_svmlight_file

root, repeats = sys.argv[1], int(sys.argv[2])
runs = os.path.join(root, "tune-runs")


def load(name):
    """Every run of `name` on record (the script makes fewer at p = 2·10⁶)."""
    out = []
    for k in range(1, repeats + 1):
        path = os.path.join(runs, f"{name}-{k}.json")
        if os.path.exists(path) and os.path.getsize(path) > 0:
            out.append(json.load(open(path)))
    if not out:
        raise FileNotFoundError(name)
    return out


med = statistics.median
print("## tuning against its own 30-point grid (held-out validation MSE; medians over the runs)")
print("| data | model | runs | tuning s | grid s | tuning/grid | evaluations | tuned − grid best (relative) | support | λ_max/λ |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, label in [("tune100k", "p = 10⁵, n = 50 000"), ("tune2m", "p = 2·10⁶, n = 200 000")]:
    for model in ["lasso", "enet"]:
        try:
            rs = load(f"{name}-{model}")
        except FileNotFoundError:
            continue
        ratio = med(r["seconds"]["tuning"] / r["gridSeconds"] for r in rs)
        gap = med((r["criterionValue"] - r["gridBestValidationLoss"]) / r["gridBestValidationLoss"] for r in rs)
        extra = f", α = {rs[0]['l1Ratio']:.3f}" if "l1Ratio" in rs[0] else ""
        print(f"| {label} | {model} | {len(rs)} | {med(r['seconds']['tuning'] for r in rs):.2f} | {med(r['gridSeconds'] for r in rs):.2f} | "
              f"{ratio:.2f} | {med(r['evaluations'] for r in rs):.0f} | {gap:+.2e} | {rs[0]['supportSize']} | "
              f"{rs[0]['lambdaMax'] / rs[0]['lambda']:.0f}{extra} |")

print()
cv = load("tune100k-cv")
peer = json.load(open(os.path.join(runs, "lassocv.json")))
ours = med(r["seconds"]["tuning"] + r["seconds"]["final"] for r in cv)
theirs = med(peer["seconds"])
print("## 5-fold CV with an intercept (p = 10⁵, all 30 000 training rows, the same folds)")
print("| | seconds (median) | λ | CV MSE (own) | CV MSE (recomputed by sklearn Lasso, tol 1e-6) |")
print("|---|---|---|---|---|")
print(f"| isparse tune lasso --cv 5 (tuning + final solve) | {ours:.2f} | {cv[0]['lambda']:.4g} | {cv[0]['criterionValue']:.6g} | {peer['oursCvMSERecomputed']:.6g} |")
print(f"| scikit-learn LassoCV ({peer['alphas']} alphas, includes its refit; {len(peer['seconds'])} run(s)) | {theirs:.2f} | {peer['lambda']:.4g} | {peer['cvMSE']:.6g} | {peer['cvMSERecomputed']:.6g} |")
print(f"ratio isparse / LassoCV: {ours / theirs:.3f}; CV MSE (both recomputed) isparse − LassoCV: "
      f"{peer['oursCvMSERecomputed'] - peer['cvMSERecomputed']:+.3e}")

print()
wl = load("tune100k-wlasso")
Xt, yt = load_svmlight_file(os.path.join(root, "tune100k-test.svm"), n_features=wl[0]["features"])


def test_mse(path):
    lines = [l for l in open(path) if not l.startswith("%")]
    w = np.array([float(v) for v in lines[1:]])
    r = yt - Xt @ w
    return float(r @ r) / len(yt)


def per_step(r):
    stage = r["lassoStage"]
    lasso = (stage["innerSeconds"] + stage["hypergradientSeconds"]) / stage["evaluations"]
    weights = (r["seconds"]["inner"] + r["seconds"]["hypergradient"] - stage["innerSeconds"] - stage["hypergradientSeconds"]) / r["evaluations"]
    return weights, lasso

steps = [per_step(r) for r in wl]
print("## weighted lasso: 10⁵ tuned feature weights from the tuned lasso (p = 10⁵)")
print("| | validation MSE | test MSE | support | seconds per evaluation (solve + hypergradient, median) |")
print("|---|---|---|---|---|")
print(f"| lasso (tuned λ) | {wl[0]['lassoCriterionValue']:.6g} | {test_mse(os.path.join(runs, 'lasso-w.mtx')):.6g} | "
      f"{json.load(open(os.path.join(runs, 'tune100k-lasso-output.json')))['supportSize']} | {med(s[1] for s in steps):.3f} |")
print(f"| weighted lasso | {wl[0]['criterionValue']:.6g} | {test_mse(os.path.join(runs, 'wlasso-w.mtx')):.6g} | {wl[0]['supportSize']} | "
      f"{med(s[0] for s in steps):.3f} |")
print(f"weighted/lasso seconds per evaluation: {med(s[0] / s[1] for s in steps):.2f}; weight-stage evaluations {med(r['evaluations'] for r in wl):.0f}")
