// swift-tools-version:6.1
// Benchmarks live in their own package so that library users never resolve their
// dependencies (the swift-nio pattern); it depends on the root package by path.
import PackageDescription

let package = Package(
    name: "ImplicitSparseBenchmarks",
    dependencies: [
        .package(name: "ImplicitSparse", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "sparse-bench",
            dependencies: [
                .product(name: "Sparse", package: "ImplicitSparse"),
                .product(name: "Preconditioners", package: "ImplicitSparse"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "implicit-bench",
            dependencies: [
                .product(name: "ImplicitSparse", package: "ImplicitSparse"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
