"""Issue 30's lasso rows (Benchmarks/run-petsc.sh, section lasso): the lasso hypergradient in
log λ with the rows of X over the ranks (`mpirun -q -np K isparse-mpi hypergrad lasso`, working
sets solved on their Gram matrices) against the single-process `isparse hypergrad lasso` (coordinate descent, or
FISTA), interleaved rounds on the same LIBSVM file.

Timed scope on both sides: the inner solve and the hypergradient (seconds.solve +
seconds.hypergradient); reading the file is reported apart (isparse-mpi's readSeconds; isparse
reads inside its wall time, printed as "wall"). Peak memory: GNU time's maximum RSS for
isparse, the sum over ranks of each rank's peak resident set for isparse-mpi. Every case's
hypergradient is compared with the first case's (relative difference).

Usage: python3 lasso_scaling.py ISPARSE ISPARSE_MPI ROUNDS FILE [ARGS...] -- CASES
  a case is ours:SOLVER (isparse --solver cd|fista) or mpi:K:SOLVER (isparse-mpi on K ranks,
  --solver ws|fista).
"""
import json
import statistics
import subprocess
import sys
import tempfile
import time


def run_ours(isparse, data, args, solver):
    with tempfile.NamedTemporaryFile() as timing:
        start = time.time()
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timing.name, isparse, "hypergrad", "lasso", "--data", data, *args,
                              "--solver", solver, "--json"], capture_output=True, text=True)
        wall = time.time() - start
        if out.returncode != 0:
            return {"failed": out.stderr.strip()}
        j = json.loads(out.stdout)
        rss = int(open(timing.name).read().split()[-1]) * 1024
    return {"seconds": j["seconds"]["solve"] + j["seconds"]["hypergradient"], "gradient": j["hypergradient"],
            "loss": j["validationLoss"], "memory": rss, "support": j["supportSize"], "iterations": j["innerIterations"],
            "wall": wall, "read": None}


def run_mpi(isparse_mpi, data, args, ranks, solver):
    start = time.time()
    out = subprocess.run(["mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), isparse_mpi, "hypergrad", "lasso",
                          "--data", data, *args, "--solver", solver, "--json"], capture_output=True, text=True)
    wall = time.time() - start
    if out.returncode != 0:
        return {"failed": out.stderr.strip()}
    j = json.loads(out.stdout)
    return {"seconds": j["seconds"]["solve"] + j["seconds"]["hypergradient"], "gradient": j["hypergradient"],
            "loss": j["validationLoss"], "memory": j["peakMemoryAllRanks"], "support": j["supportSize"],
            "iterations": j["innerIterations"], "wall": wall, "read": j["readSeconds"]}


def main():
    isparse, isparse_mpi, rounds, data = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    split = sys.argv.index("--")
    args, cases = sys.argv[5:split], sys.argv[split + 1:]
    results = {case: [] for case in cases}
    for r in range(rounds):
        for case in cases:
            kind = case.split(":")
            if kind[0] == "ours":
                result = run_ours(isparse, data, args, kind[1])
            else:
                result = run_mpi(isparse_mpi, data, args, int(kind[1]), kind[2])
            results[case].append(result)
            if "failed" in result:
                print(f"  round {r + 1} {case}: FAILED {result['failed']}", flush=True)
            else:
                print(f"  round {r + 1} {case}: {result['seconds']:.2f} s (wall {result['wall']:.1f} s)", flush=True)
    reference = None
    best = None
    rows = []
    for case in cases:
        ok = [x for x in results[case] if "failed" not in x]
        if not ok:
            rows.append((case, None))
            continue
        median = statistics.median(x["seconds"] for x in ok)
        if reference is None:
            reference = ok[0]["gradient"]
        best = median if best is None else min(best, median)
        rows.append((case, (median, ok)))
    print(f"{'case':18} {'median s':>9} {'ratio':>6} {'read s':>7} {'iters':>6} {'support':>7} {'peak memory':>12} {'d/dlogλ rel. diff':>18}")
    for case, entry in rows:
        if entry is None:
            print(f"{case:18} failed")
            continue
        median, ok = entry
        read = statistics.median(x["read"] for x in ok) if ok[0]["read"] is not None else float("nan")
        diff = max(abs(x["gradient"] - reference) / max(abs(reference), 1e-300) for x in ok)
        memory = statistics.median(x["memory"] for x in ok) / 2**20
        print(f"{case:18} {median:9.2f} {median / best:6.2f} {read:7.2f} {ok[0]['iterations']:6d} {ok[0]['support']:7d} "
              f"{memory:9.0f} MiB {diff:18.1e}")


if __name__ == "__main__":
    main()
