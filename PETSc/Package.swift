// swift-tools-version:6.1
// The optional PETSc backend: distributed operators and PETSc's Krylov methods and
// preconditioners behind the root package's `LinearSolver` interface, and `isparse-mpi`.
// A nested package (the Benchmarks/ pattern) so that the default build needs no MPI:
// it depends on the root package by path and on Debian's petsc-dev and libopenmpi-dev.
import PackageDescription

let package = Package(
    name: "ImplicitSparsePETSc",
    products: [
        .library(name: "PETScBackend", targets: ["PETScBackend"]),
        .executable(name: "isparse-mpi", targets: ["isparse-mpi"]),
    ],
    dependencies: [
        .package(name: "ImplicitSparse", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: - Implementation details
        .systemLibrary(name: "CPETSc", pkgConfig: "PETSc", providers: [.apt(["petsc-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        // PETSc's macros (PetscCall, PETSC_COMM_WORLD, MPI datatypes) behind plain C functions.
        .target(name: "PETScShim", dependencies: ["CPETSc", "CMPI"]),

        // MARK: - Public API
        .target(
            name: "PETScBackend",
            dependencies: [
                "PETScShim",
                .product(name: "ImplicitSparse", package: "ImplicitSparse"),
            ]
        ),
        .executableTarget(
            name: "isparse-mpi",
            dependencies: [
                "PETScBackend",
                .product(name: "ImplicitSparse", package: "ImplicitSparse"),
                // isparse's command-line core: exit codes, error lines, the JSON writer.
                .product(name: "ISparseCLICore", package: "ImplicitSparse"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "PETScBackendTests", dependencies: ["PETScBackend", "isparse-mpi"]),
    ],
    swiftLanguageModes: [.v5]
)
