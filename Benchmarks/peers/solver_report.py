"""Prints issue 12's table from the rounds of run-solvers.sh: per (data, model, λ_max/R), the
median solve seconds of isparse and of each peer over the rounds, the ratio ours/peer, and the
relative objective difference (ours − peer)/peer of the last round (negative: ours lower)."""
import glob, json, os, statistics, sys

directory = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(directory, "round*-*.jsonl"))):
    data, model = os.path.basename(path).split("-", 1)[1].rsplit(".", 1)[0].rsplit("-", 1)
    for line in open(path):
        r = json.loads(line)
        r["data"], r["model"] = data, model
        rows.append(r)
keys = sorted({(r["data"], r["model"], r["ratio"]) for r in rows})
peers = ["skglm", "celer", "sklearn"]
print("| data | model | λ | isparse (s) | " + " | ".join(f"{p} (s) | ours/{p} | Δobj vs {p}" for p in peers) + " | support |")
print("|---|---|---|---|" + "---|---|---|" * len(peers) + "---|")
for data, model, ratio in keys:
    sel = [r for r in rows if (r["data"], r["model"], r["ratio"]) == (data, model, ratio)]
    ours = [r for r in sel if r["peer"] == "isparse"]
    if not ours:
        continue
    ours_t = statistics.median(r["seconds"] for r in ours)
    cells = [f"{data}", model, f"λ_max/{ratio:g}", f"{ours_t:.3f}"]
    for p in peers:
        theirs = [r for r in sel if r["peer"] == p]
        if not theirs:
            cells += ["–", "–", "–"]
            continue
        t = statistics.median(r["seconds"] for r in theirs)
        d = (ours[-1]["objective"] - theirs[-1]["objective"]) / abs(theirs[-1]["objective"])
        cells += [f"{t:.3f}", f"{ours_t / t:.2f}", f"{d:+.1e}"]
    cells.append(str(ours[-1]["support"]))
    print("| " + " | ".join(cells) + " |")
