import Dispatch
import Foundation
import PETScShim
import Sparse

/// PETSc's Krylov methods (KSP) with its preconditioners (PC) as a `LinearSolver` value: it
/// plugs in wherever a built-in solver does (`LinearSolveStrategy(solver:)`,
/// `RootSolution(…, linearSolver:)`, `GraphLeastSquares.hypergradient(strategy:)`).
///
/// `prepare` takes a `DistributedMatrix` (every rank calls it with its row block; vectors are
/// then this rank's parts) or any operator with an explicit matrix (`CSRMatrix`), which is
/// copied into a sequential PETSc matrix of this process (vectors are whole). The stopping test
/// is ‖b − Ax‖ ≤ rtol·‖b‖ on the unpreconditioned residual for CG, GMRES and BiCGSTAB
/// (GMRES and BiCGSTAB precondition on the right); MINRES stops on its preconditioned residual.
/// PETSc's options database (`PETSc.initialize(options:)`, e.g. "-pc_gamg_threshold 0.02")
/// applies after these settings.
public struct PETScSolver: LinearSolver {
    public enum Method: String, CaseIterable, Sendable {
        case cg, minres, gmres
        case bicgstab
        /// PETSc's KSPType.
        var petscName: String { self == .bicgstab ? "bcgs" : rawValue }
    }

    public enum Preconditioner: String, CaseIterable, Sendable {
        case none, jacobi
        /// PETSc's aggregation algebraic multigrid (PCGAMG), with unsmoothed aggregates: the
        /// smoothed prolongator fills in on the rows of hubs, which made the set-up run for
        /// minutes on power-law graphs; the options database's "-pc_gamg_agg_nsmooths 1"
        /// restores PETSc's default.
        case gamg
        /// hypre's BoomerAMG (PCHYPRE), classical AMG.
        case boomeramg
        var petscName: String { self == .boomeramg ? "hypre" : rawValue }
    }

    public var method: Method
    public var preconditioner: Preconditioner
    public var options: KrylovOptions
    /// GMRES restart length.
    public var restart: Int

    public init(_ method: Method = .cg, preconditioner: Preconditioner = .gamg,
                options: KrylovOptions = KrylovOptions(), restart: Int = 30) {
        self.method = method
        self.preconditioner = preconditioner
        self.options = options
        self.restart = restart
    }

    public var name: String { "petsc-" + method.rawValue + (preconditioner == .none ? "" : "+" + preconditioner.rawValue) }

    /// - Throws: `LinearSolveError.needsExplicitMatrix` for a matrix-free operator,
    ///   `.unsuitableOperator` for CG or MINRES on an operator not declared symmetric,
    ///   `PETScError` from PETSc (PETSc not initialized included).
    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        try PETSc.requireInitialized()
        let matrix: DistributedMatrix
        if let distributed = a as? DistributedMatrix {
            matrix = distributed
        } else if let explicit = a.explicitMatrix {
            matrix = try DistributedMatrix(sequential: explicit, symmetric: a.isSymmetric, positiveDefinite: a.isPositiveDefinite)
        } else {
            throw LinearSolveError.needsExplicitMatrix(name)
        }
        if (method == .cg || method == .minres) && !matrix.isSymmetric {
            throw LinearSolveError.unsuitableOperator(method: name, reason: "\(method.rawValue) needs an operator declared symmetric")
        }
        return try PETScSolverState(solver: self, matrix: matrix)
    }
}

/// A prepared PETSc KSP on one matrix (owns the KSP; destroyed in deinit).
public final class PETScSolverState: LinearSolverState {
    public let solver: PETScSolver
    public private(set) var matrix: DistributedMatrix
    var ksp: UnsafeMutableRawPointer?
    public private(set) var timings = LinearSolverTimings()
    /// Levels of the GAMG hierarchy (0 for other preconditioners and for BoomerAMG, whose
    /// hierarchy PETSc does not report through this call).
    public private(set) var levels = 0
    /// The last solve's KSP converged reason ("KSP_CONVERGED_RTOL", …).
    public private(set) var lastReason = ""

    init(solver: PETScSolver, matrix: DistributedMatrix) throws {
        self.solver = solver
        self.matrix = matrix
        let options = solver.options
        let maxIterations = options.maxIterations ?? max(1000, 10 * matrix.globalRows)
        var handle: UnsafeMutableRawPointer?
        try PETSc.check(isp_ksp_create(matrix.handle, solver.method.petscName, solver.preconditioner.petscName,
                                       options.relativeTolerance, Int32(clamping: maxIterations), Int32(solver.restart), &handle),
                        "KSPCreate")
        ksp = handle
        try setUp()
    }

    deinit {
        if PETSc.isInitialized { _ = isp_ksp_destroy(&ksp) }
    }

    private func setUp() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        try PETSc.check(isp_ksp_setup(ksp), "KSPSetUp (\(solver.preconditioner.rawValue) set-up)")
        timings.setup = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        var count: Int32 = 0
        _ = isp_ksp_levels(ksp, &count)
        levels = Int(count)
    }

    public var method: String { "petsc-" + solver.method.rawValue }
    public var preconditioner: String { solver.preconditioner.rawValue }
    public var reason: String { "requested (PETSc KSP \(solver.method.petscName), PC \(solver.preconditioner.petscName))" }
    /// PETSc's matrix on this rank and the state's own CSR copy (the preconditioner's memory is
    /// PETSc's and is seen in the process's resident memory, `PETSc.memory()`).
    public var memoryBytes: Int { matrix.memoryBytes }

    /// Solves with this rank's part of b (the whole b for a sequential matrix). Symmetric
    /// matrices solve transposed systems as they are.
    /// The true residual is checked after every solve: above the request but within
    /// `KrylovOptions.acceptableTrueResidual` the outcome carries a note (the attainable
    /// accuracy), above that it is an error.
    /// - Throws: `LinearSolveError.notConverged` when KSP diverged or ran out of iterations
    ///   (PETSc's reason in the status) or "converged" to a true residual above the acceptable
    ///   one (`.stagnation`), `PETScError`, `SparseError.dimensionMismatch`.
    public func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        guard b.count == matrix.localRows, initialGuess.map({ $0.count == matrix.localRows }) ?? true else {
            throw SparseError.dimensionMismatch(operation: "PETScSolverState.solve", expected: "\(matrix.localRows) local entries",
                                                actual: "\(b.count)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var x = initialGuess ?? [Double](repeating: 0, count: b.count)
        var iterations: Int32 = 0, why: Int32 = 0, norm = 0.0
        try PETSc.check(isp_ksp_solve(ksp, b, &x, initialGuess == nil ? 0 : 1, transposed && !matrix.isSymmetric ? 1 : 0,
                                      &iterations, &why, &norm), transposed ? "KSPSolveTranspose" : "KSPSolve")
        lastReason = String(cString: isp_ksp_reason_name(why))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        // The attained true residual (global: one product and a reduction, on every rank alike),
        // never NaN for a finite system. PETSc decides convergence on its recursive residual,
        // which keeps falling below the rounding floor, and has no stagnation test: a request
        // below the attainable accuracy ends "converged" with a larger true residual, or out of
        // iterations. Either is accepted, with a note, within the same factor as our own methods.
        let residual = try matrix.globalRelativeResidual(x, b)
        let options = solver.options
        if why > 0 && !(residual > options.relativeTolerance) { return LinearSolveOutcome(solution: x, iterations: Int(iterations), seconds: seconds) }
        if residual.isFinite, residual <= options.acceptableTrueResidual {
            let note = String(format: "PETSc %@ after %d iterations at the attainable accuracy: true relative residual %.2e (requested %.1e, accepted up to %.1e)",
                              lastReason, Int(iterations), residual, options.relativeTolerance, options.acceptableTrueResidual)
            return LinearSolveOutcome(solution: x, iterations: Int(iterations), seconds: seconds, stagnated: note)
        }
        let status: KrylovStatus = why > 0 ? .stagnation : why == -3 ? .maximumIterations : .breakdown  // -3: KSP_DIVERGED_ITS
        throw LinearSolveError.notConverged(method: "\(method) (PETSc \(lastReason))", status: status,
                                            iterations: Int(iterations), relativeResidual: residual)
    }

    /// New values on the same pattern: a `DistributedMatrix` from `withValues`, or an explicit
    /// matrix with the same pattern. The preconditioner is rebuilt (GAMG anew).
    public func update(_ a: any LinearOperator) throws {
        let next: DistributedMatrix
        if let distributed = a as? DistributedMatrix {
            next = distributed
        } else if let explicit = a.explicitMatrix {
            next = try DistributedMatrix(sequential: explicit, symmetric: a.isSymmetric, positiveDefinite: a.isPositiveDefinite)
        } else {
            throw LinearSolveError.needsExplicitMatrix(solver.name)
        }
        // The very matrix prepared (the same values): its KSP and preconditioner serve as they are.
        if next === matrix || (next.partition == matrix.partition && next.valuesIdentity == matrix.valuesIdentity
                               && next.patternIdentity == matrix.patternIdentity) { return }
        guard next.partition == matrix.partition, next.rowPointers == matrix.rowPointers,
              next.columnIndices == matrix.columnIndices else {
            throw SparseError.patternMismatch("PETScSolverState.update: the new matrix's pattern differs from the prepared one")
        }
        try PETSc.check(isp_ksp_operators_changed(ksp, next.handle), "KSPSetOperators")
        matrix = next
        try setUp()
    }
}

extension PETScSolver {
    public var krylovOptions: KrylovOptions? { options }
    public func withKrylovOptions(_ options: KrylovOptions) -> any LinearSolver {
        var solver = self
        solver.options = options
        return solver
    }
}
