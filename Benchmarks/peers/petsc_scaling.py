"""Issue 17's measurements (Benchmarks/run-petsc.sh): graph-ls hypergradients on the PETSc
backend (`mpirun -q -np K isparse-mpi hypergrad graph-ls`) against the single-process
`isparse hypergrad graph-ls` (2 threads), interleaved rounds on the same problem.

Timed scope on both sides: from the loaded data to the hypergradient — the system matrix,
the solver's set-up, the forward solve and the adjoint solve. Reading/generating the graph and
the node data is excluded on both sides (isparse: seconds.solve + seconds.hypergradient;
isparse-mpi: seconds.total − seconds.read). Peak memory: GNU time's maximum RSS for isparse,
PETSc's per-rank peak (summed over ranks) for isparse-mpi.

Usage: python3 petsc_scaling.py ISPARSE ISPARSE_MPI ROUNDS PROBLEM-ARGS... -- CASES
  a case is ours:METHOD (isparse --linear-solver METHOD), mpi:K:SOLVER (isparse-mpi on K ranks,
  PETSc's KSP) or lib:K:SOLVER (isparse-mpi --backend library: the library's own Krylov method on
  the distributed matrix, its sums reduced over the ranks); an mpi or lib case may end in
  :PARTITION (--partition none|ptscotch|auto).
"""
import json
import statistics
import subprocess
import sys
import tempfile


def run_ours(isparse, args, method):
    with tempfile.NamedTemporaryFile() as timing:
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", timing.name, isparse, "hypergrad", "graph-ls", *args,
                              "--linear-solver", method, "--threads", "2", "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            return {"failed": out.stderr.strip()}
        j = json.loads(out.stdout)
        rss = int(open(timing.name).read().split()[-1]) * 1024
    return {"seconds": j["seconds"]["solve"] + j["seconds"]["hypergradient"], "logLambda": j["gradient"]["logLambda"],
            "loss": j["validationLoss"], "memory": rss, "solver": j["linearSolver"],
            "iterations": None}


def run_mpi(isparse_mpi, args, ranks, solver, backend="petsc", partition=None):
    extra = ["--partition", partition] if partition else []
    out = subprocess.run(["mpirun", "-q", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), isparse_mpi, "hypergrad", "graph-ls",
                          *args, "--solver", solver, "--backend", backend, *extra, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        return {"failed": out.stderr.strip()}
    j = json.loads(out.stdout)
    s = j["seconds"]
    return {"seconds": s["total"] - s["read"], "logLambda": j["gradient"]["logLambda"], "loss": j["validationLoss"],
            "memory": j["peakMemoryAllRanks"], "solver": j["linearSolver"], "iterations": (j["iterations"], j["adjointIterations"]),
            "setup": s["setup"], "partition": j.get("partition")}


def main():
    isparse, isparse_mpi, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    split = sys.argv.index("--")
    args, cases = sys.argv[4:split], sys.argv[split + 1:]
    results = {case: [] for case in cases}
    for r in range(rounds):
        for case in cases:
            kind = case.split(":")
            if kind[0] == "ours":
                result = run_ours(isparse, args, kind[1])
            else:
                result = run_mpi(isparse_mpi, args, int(kind[1]), kind[2], "library" if kind[0] == "lib" else "petsc",
                                 kind[3] if len(kind) > 3 else None)
            results[case].append(result)
            brief = result.get("failed") or f"{result['seconds']:.2f} s"
            print(f"  round {r + 1}: {case}: {brief}", file=sys.stderr, flush=True)
    reference = next(results[c] for c in cases if c.startswith("ours"))[0]
    base = {c: statistics.median(x["seconds"] for x in results[c]) for c in cases if all("failed" not in x for x in results[c])}
    ours_cases = [c for c in cases if c.startswith("ours") and c in base]
    best_ours = min(ours_cases, key=lambda c: base[c]) if ours_cases else None
    print(f"| case | solver | seconds, median [min–max] of {rounds} | ratio to {best_ours} (median of per-round ratios) | iterations (forward, adjoint) | peak memory | nonzeros per rank (min–max); halo per product (max per rank) | d loss/d log λ, relative to {cases[0]} |")
    print("|---|---|---|---|---|---|---|---|")
    for case in cases:
        runs = results[case]
        if any("failed" in x for x in runs):
            print(f"| {case} | failed: {next(x['failed'] for x in runs if 'failed' in x)[:80]} | | | | | | |")
            continue
        times = [x["seconds"] for x in runs]
        ratios = [x["seconds"] / y["seconds"] for x, y in zip(runs, results[best_ours])] if best_ours else []
        iterations = runs[0]["iterations"]
        g = runs[0]["logLambda"]
        p = runs[0].get("partition")
        spread = f"{p['nonzerosPerRankMin']}–{p['nonzerosPerRankMax']}; {p['ghostsPerProductMax']}" if p else "—"
        print(f"| {case} | {runs[0]['solver']} | {statistics.median(times):.2f} [{min(times):.2f}–{max(times):.2f}] | "
              f"{statistics.median(ratios):.2f}× [{min(ratios):.2f}–{max(ratios):.2f}] | {iterations if iterations else '—'} | "
              f"{statistics.median(x['memory'] for x in runs) / 2**30:.2f} GiB | {spread} | {abs(g - reference['logLambda']) / abs(reference['logLambda']):.1e} |")


if __name__ == "__main__":
    main()
