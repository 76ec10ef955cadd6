#!/usr/bin/env bash
# Builds the DocC documentation of Sparse, Preconditioners and ImplicitSparse (swift-docc-plugin)
# and fails on any DocC warning. Before that it checks that every Swift code block of the
# articles (and of README.md) is a verbatim excerpt of the file its first line names (`// From Examples/…`): the
# examples package is built and run by scripts/examples.sh, so the samples are compiled code.
# Archives land in .build/plugins/Swift-DocC/outputs/TARGET.doccarchive.
set -uo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY' || exit 1
import glob, re, sys
bad = 0
for article in sorted(glob.glob("Sources/*/*.docc/*.md")) + ["README.md"]:
    text = open(article, encoding="utf-8").read()
    for block in re.findall(r"```swift\n(.*?)```", text, re.S):
        lines = block.rstrip("\n").split("\n")
        if lines[0].startswith("// Package.swift"):
            continue  # a manifest excerpt (scripts/dependency-check.sh builds a client by it)
        m = re.match(r"// From (\S+)$", lines[0])
        if not m:
            print(f"{article}: a Swift block does not start with '// From FILE'"); bad += 1; continue
        try:
            source = open(m.group(1), encoding="utf-8").read()
        except OSError:
            print(f"{article}: {m.group(1)} does not exist"); bad += 1; continue
        if "\n".join(lines[1:]) + "\n" not in source:
            print(f"{article}: a block is no longer a verbatim excerpt of {m.group(1)}"); bad += 1
print(f"documentation samples: {'all excerpts of compiled files' if bad == 0 else f'{bad} stale'}")
sys.exit(1 if bad else 0)
PY
log=$(mktemp)
swift package --allow-writing-to-package-directory generate-documentation \
    --target Sparse --target Preconditioners --target ImplicitSparse 2>&1 | tee "$log" | grep -E "warning|error|Finished|Generated" | head -n 40
code=${PIPESTATUS[0]}
warnings=$(grep -c "warning:" "$log" || true)
rm -f "$log"
if [ "$code" -ne 0 ]; then echo "documentation: the build failed (exit $code)"; exit 1; fi
if [ "$warnings" -ne 0 ]; then echo "documentation: $warnings DocC warnings"; exit 1; fi
echo "documentation: built without warnings"
