#!/usr/bin/env bash
# Builds and runs a client package that depends on this repository the way the README says a
# user's package does: by URL with a version requirement (`.package(url:, from: "0.1.0")`), in
# the Swift 6 language mode. The URL is a file:// clone of this repository's committed HEAD,
# tagged 0.1.0 there (SwiftPM resolves any git URL the same way), so the check needs no
# network. The client's code is the README's quick-start example (Examples/Sources/QuickStart),
# which checks its own answer. The path form is what Examples/ uses (scripts/examples.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/remote" "$work/Client/Sources/Client"
git clone -q "$root" "$work/remote/ImplicitSparse"
git -C "$work/remote/ImplicitSparse" tag -f 0.1.0 > /dev/null
cat > "$work/Client/Package.swift" <<SWIFT
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "Client",
    dependencies: [.package(url: "file://$work/remote/ImplicitSparse", from: "0.1.0")],
    targets: [.executableTarget(name: "Client", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")])]
)
SWIFT
cp "$root"/Examples/Sources/QuickStart/*.swift "$work/Client/Sources/Client/"
cd "$work/Client"
swift build 2>&1 | tail -n 3
if [ "${PIPESTATUS[0]}" -ne 0 ]; then echo "dependency check: the client did not build against the tag 0.1.0"; exit 1; fi
.build/debug/Client
echo "dependency check: a Swift 6 client built against ImplicitSparse 0.1.0 by URL and ran"
