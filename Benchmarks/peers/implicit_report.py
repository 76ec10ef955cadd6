"""Prints issue 4's hypergradient table from run-implicit.sh's JSON files."""
import json
import os
import statistics
import sys

data, repeats = sys.argv[1], int(sys.argv[2])
ours = [json.load(open(f"{data}/ours-cd-{k}.json")) for k in range(1, repeats + 1)]
fista = json.load(open(f"{data}/ours-fista.json"))
solve = statistics.median(o["seconds"]["solve"] for o in ours)
hyper = statistics.median(o["seconds"]["hypergradient"] for o in ours)
o = ours[0]
print(f"lasso at λ = λ_max/100 = {o['lambda']:.6g}: {o['trainRows']} training rows, {o['validationRows']} validation rows, "
      f"{o['features']} features; support {o['supportSize']}; linear solver {o['linearSolver']} ({o['linearSolverReason']})")
print(f"ours (median of {repeats}): inner solve (coordinate descent, {o['innerIterations']} epochs) {solve:.4f} s, "
      f"hypergradient step {hyper:.4f} s = {100 * hyper / solve:.1f} % of the solve")
print(f"ours with FISTA (1 run): inner solve {fista['seconds']['solve']:.2f} s ({fista['innerIterations']} iterations), "
      f"hypergradient step {fista['seconds']['hypergradient']:.4f} s = "
      f"{100 * fista['seconds']['hypergradient'] / fista['seconds']['solve']:.2f} % of the solve")
print(f"d loss / d log λ: ours {o['hypergradient']:.10g} (CD), {fista['hypergradient']:.10g} (FISTA)")
if os.path.exists(f"{data}/jaxopt.json"):
    j = json.load(open(f"{data}/jaxopt.json"))
    print(f"JAXopt {j['jaxopt']} (jax {j['jax']}), ProximalGradient(implicit_diff=True), default implicit solve "
          f"(normal-equations CG), warm-started at our solution ({j['forwardIterations']} forward iterations), median of {repeats}:")
    print(f"  value_and_grad {j['valueAndGradSeconds']:.4f} s − forward {j['forwardSeconds']:.4f} s = backward {j['backwardSeconds']:.4f} s")
    print(f"  its d loss / d log λ: {j['hypergradient']:.10g} (relative difference to ours {abs(j['hypergradient'] - o['hypergradient']) / abs(o['hypergradient']):.1e})")
    print(f"  ratio JAXopt backward / our hypergradient step: {j['backwardSeconds'] / hyper:.0f}×")
else:
    print("JAXopt: not measured (the peer failed to install or run)")
