#!/usr/bin/env python3
"""Median over interleaved rounds (ours, then scipy, then ours, …) of the SpMV and CG ratios:
the machines are noisy, so each ratio is formed within a round and the rounds' median is
reported. Usage: rounds.py DATA ROUNDS"""
import json, statistics, sys

data, rounds = sys.argv[1], int(sys.argv[2])
rows = {}
for k in range(rounds):
    o = json.load(open(f"{data}/round{k}-ours.json"))
    p = json.load(open(f"{data}/round{k}-peers.json"))
    for name in ["grid", "powerlaw"]:
        rows.setdefault(f"SpMV {name}: ours (2 threads) / scipy GB/s", []).append(o[f"spmv_{name}_GBps"] / p[f"spmv_{name}_GBps"])
        rows.setdefault(f"SpMV {name}: ours (1 thread) / scipy GB/s", []).append(o[f"spmv_{name}_1thread_GBps"] / p[f"spmv_{name}_GBps"])
        rows.setdefault(f"SpMV {name}: ours (2 threads) / our copy GB/s", []).append(o[f"spmv_{name}_GBps"] / o["copy_GBps"])
    rows.setdefault("CG grid 10⁶: ours / scipy s per iteration", []).append(o["cg_per_iteration_s"] / p["cg_per_iteration_s"])
print(f"| ratio (median of {rounds} interleaved rounds) | median | min | max |")
print("|---|---|---|---|")
for name, values in rows.items():
    print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
