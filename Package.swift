// swift-tools-version:6.1
import PackageDescription

// Internal invariant checks (O(nnz) per matrix construction) are compiled in only when the
// environment asks for them, as swift-collections' COLLECTIONS_INTERNAL_CHECKS: a package that
// depends on this one never pays for them, even in its debug builds. scripts/test.sh sets
// SPARSE_INTERNAL_CHECKS=1 for its debug pass.
let internalChecks: [SwiftSetting] = (Context.environment["SPARSE_INTERNAL_CHECKS"] ?? "").isEmpty
    ? [] : [.define("SPARSE_INTERNAL_CHECKS")]

let package = Package(
    name: "ImplicitSparse",
    products: [
        // MARK: - Public API
        .library(name: "Sparse", targets: ["Sparse"]),
        .library(name: "Preconditioners", targets: ["Preconditioners"]),
        .library(name: "ImplicitSparse", targets: ["ImplicitSparse"]),
        .executable(name: "isparse", targets: ["isparse"]),
        // For the PETSc backend's isparse-mpi (and other front ends): exit codes, error lines, JSON.
        .library(name: "ISparseCLICore", targets: ["ISparseCLICore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (scripts/docs.sh); a plugin, linked into nothing.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: - Implementation details (C shims: no stable Swift API)
        .systemLibrary(
            name: "CSuiteSparse",
            providers: [.apt(["libsuitesparse-dev", "libopenblas-dev", "liblapacke-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // MARK: - Public API
        .target(name: "Sparse", dependencies: ["CSuiteSparse", "CZlib"], swiftSettings: internalChecks),
        .target(name: "Preconditioners", dependencies: ["Sparse"]),
        .target(name: "ImplicitSparse", dependencies: ["Sparse", "Preconditioners"]),
        // The command-line core shared by isparse and isparse-mpi (exit codes, error lines, JSON).
        .target(name: "ISparseCLICore", dependencies: ["Sparse", "Preconditioners", "ImplicitSparse",
                                                 .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(
            name: "isparse",
            dependencies: [
                "Sparse", "Preconditioners", "ImplicitSparse", "ISparseCLICore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "SparseTests", dependencies: ["Sparse", "CSuiteSparse"]),
        .testTarget(name: "PreconditionersTests", dependencies: ["Preconditioners", "Sparse"]),
        .testTarget(name: "ImplicitSparseTests", dependencies: ["ImplicitSparse"]),
        .testTarget(name: "CLITests", dependencies: ["isparse", "Sparse", "Preconditioners", "ImplicitSparse", "ISparseCLICore",
                                                    .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    ],
    // Swift 5 language mode: the parallel kernels hand raw buffers to
    // DispatchQueue.concurrentPerform over disjoint blocks, which Swift 6's
    // Sendable checking cannot see is race-free.
    swiftLanguageModes: [.v5]
)
