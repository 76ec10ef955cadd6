// swift-tools-version:6.1
import PackageDescription

// Examples a user can copy: each depends on the library as a user's package would (here by
// path), runs on small generated data, and checks its answer against an independent oracle
// (exit 1 when it disagrees). CI builds and runs every one (`bash scripts/examples.sh`).
let package = Package(
    name: "ImplicitSparseExamples",
    dependencies: [
        .package(name: "ImplicitSparse", path: ".."),
    ],
    targets: [
        .executableTarget(name: "CustomCondition", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "WeightedLassoHypergradient", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "GraphProblem", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "TuneFromSwift", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "ReadAndConvert", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "CustomPenalty", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "FixedPointModel", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "QuickStart", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
        .executableTarget(name: "APITour", dependencies: [.product(name: "ImplicitSparse", package: "ImplicitSparse")]),
    ]
    // The Swift 6 language mode (the tools version's default): the examples are what a client
    // package writes, and the README's snippet comes from one of them.
)
