#!/usr/bin/env python3
"""Medians over interleaved rounds of the graph-ls rows and the ratios against scikit-sparse
(formed within each round). Usage: graph_report.py ROUNDS_DIR"""
import json, statistics, sys, os

folder = sys.argv[1]
print("| graph | peer | solve s (median) | hypergradient s | total s | total / peer | d loss/d log λ | rel. diff. to peer |")
print("|---|---|---|---|---|---|---|---|")
for name in ["grid", "powerlaw"]:
    path = os.path.join(folder, f"{name}.jsonl")
    if not os.path.exists(path):
        continue
    rows = [json.loads(line) for line in open(path)]
    for r in rows:
        if r.get("failed"):
            print(f"| {name} | {r['peer']} | failed | | | | | |")
    rows = [r for r in rows if not r.get("failed")]
    peers = sorted({r["peer"] for r in rows}, key=lambda p: (p != "isparse-auto", p))
    reference = [r for r in rows if r["peer"] in ("scikit-sparse", "scipy-cg+jacobi")]
    for peer in peers:
        mine = [r for r in rows if r["peer"] == peer]
        ratios = [(m["solve"] + m["hypergradient"]) / (p["solve"] + p["hypergradient"]) for m, p in zip(mine, reference)]
        solve = statistics.median(r["solve"] for r in mine)
        hyper = statistics.median(r["hypergradient"] for r in mine)
        d = mine[0]["logLambda"]
        rel = abs(d - reference[0]["logLambda"]) / abs(reference[0]["logLambda"]) if reference else float("nan")
        label = peer + (f" ({mine[0]['linearSolver']})" if "linearSolver" in mine[0] else "") + (f" (CHOLMOD: {mine[0]['cholmodError']})" if "cholmodError" in mine[0] else "")
        print(f"| {name} | {label} | {solve:.2f} | {hyper:.2f} | {solve + hyper:.2f} | {statistics.median(ratios):.2f} | {d:.10g} | {rel:.1e} |")
