// swift-tools-version:6.1
// libFuzzer targets for the parsers and constructors (docs/RELIABILITY.md). Built by
// scripts/fuzz.sh with -sanitize=fuzzer,address passed on the command line, so that no
// target of the library itself carries unsafe flags.
import PackageDescription

let package = Package(
    name: "ImplicitSparseFuzz",
    dependencies: [.package(name: "ImplicitSparse", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "Sparse", package: "ImplicitSparse")]),
    ] + ["fuzz-matrix-market", "fuzz-libsvm", "fuzz-libsvm-gzip", "fuzz-constructors",
           "fuzz-npz", "fuzz-npy", "fuzz-edge-list", "fuzz-graph"].map { name in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", .product(name: "Sparse", package: "ImplicitSparse")],
            path: "Sources/\(name)"
        )
    },
    swiftLanguageModes: [.v5]
)
