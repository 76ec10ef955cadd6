import Dispatch
import Foundation

/// A linear solver as a value (lineax's `init(operator) → state`, Accelerate's symbolic /
/// numeric split): `prepare` does the set-up work for an operator — symbolic analysis and
/// numeric factorization, or a preconditioner — and returns a reusable `LinearSolverState`
/// that solves with A and Aᵀ as often as needed and takes new values on the same pattern.
///
/// Built-in conformers: `CholeskySolver`, `LUSolver`, `DenseSolver` (this module),
/// `KrylovSolver` with a `PreconditionerChoice` and the `AutomaticLinearSolver` policy
/// (module `Preconditioners`). A user-written conformer plugs in wherever a built-in one
/// does: `LinearSolveStrategy(solver:)`, which `RootSolution(condition:…, strategy:…)` and
/// every model of the implicit layer take.
public protocol LinearSolver {
    /// A short name for reports ("cholesky", "cg+amg", …).
    var name: String { get }
    /// Set-up work for `a`.
    /// - Throws: the method's typed errors (`SparseError.notPositiveDefinite`,
    ///   `.factorTooLarge`, `LinearSolveError.needsExplicitMatrix`, …).
    func prepare(_ a: any LinearOperator) throws -> any LinearSolverState
    /// The Krylov options this solver iterates with (tolerance, iteration cap), when it has
    /// any; nil for direct solvers (default).
    var krylovOptions: KrylovOptions? { get }
    /// This solver with other Krylov options (itself when it has none): how
    /// `LinearSolveStrategy(solver:options:)` makes its options the one tolerance in force.
    func withKrylovOptions(_ options: KrylovOptions) -> any LinearSolver
}

extension LinearSolver {
    public var krylovOptions: KrylovOptions? { nil }
    public func withKrylovOptions(_ options: KrylovOptions) -> any LinearSolver { self }
}

/// What `LinearSolver.prepare` returns: solves with the prepared operator (or its transpose),
/// and takes new values on the same pattern. States own their C handles and are not safe for
/// concurrent use.
public protocol LinearSolverState: AnyObject {
    /// What the state does ("cholesky", "cg", …) — the method a report names.
    var method: String { get }
    /// The preconditioner a Krylov state applies ("none" for direct states).
    var preconditioner: String { get }
    /// Why this method was taken ("requested" for an explicit choice; the policy's reason).
    var reason: String { get }
    /// True when a first choice failed numerically and a fallback is in use.
    var fellBack: Bool { get }
    /// The objects the state built, for reports (factor sizes, an AMG hierarchy).
    var details: LinearSolverDetails { get }
    /// Bytes the state holds beyond the operator (factor, preconditioner).
    var memoryBytes: Int { get }
    /// Seconds of set-up split as analysis, numeric factorization and preconditioner set-up.
    var timings: LinearSolverTimings { get }
    /// Solves A x = b, or Aᵀ x = b when `transposed`. Krylov states start from
    /// `initialGuess` when given.
    /// - Throws: `LinearSolveError.notConverged` when an iterative method misses its
    ///   tolerance; the direct methods' typed errors.
    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome
    /// New values on the pattern the state was prepared for (refactorization, preconditioner
    /// rebuild). - Throws: `SparseError.patternMismatch` when the pattern differs.
    func update(_ a: any LinearOperator) throws
}

extension LinearSolverState {
    public var preconditioner: String { "none" }
    public var reason: String { "requested" }
    public var fellBack: Bool { false }
    public var details: LinearSolverDetails { LinearSolverDetails() }
}

/// What a state built, for reports.
public struct LinearSolverDetails {
    public var cholesky: CholeskyFactorization?
    public var lu: LUFactorization?
    /// The preconditioner a Krylov state applies.
    public var preconditioner: (any LinearOperator)?
    public init(cholesky: CholeskyFactorization? = nil, lu: LUFactorization? = nil, preconditioner: (any LinearOperator)? = nil) {
        self.cholesky = cholesky
        self.lu = lu
        self.preconditioner = preconditioner
    }
}

/// Set-up and solve times of a state, in seconds.
public struct LinearSolverTimings: Sendable {
    public var analyze = 0.0
    public var factorize = 0.0
    public var setup = 0.0
    public init(analyze: Double = 0, factorize: Double = 0, setup: Double = 0) {
        self.analyze = analyze
        self.factorize = factorize
        self.setup = setup
    }
}

/// One solve's answer.
public struct LinearSolveOutcome: Sendable {
    public var solution: [Double]
    /// Krylov iterations (0 for direct solves).
    public var iterations: Int
    public var seconds: Double
    /// The numerical rank of A when the method revealed it (nil otherwise).
    public var rank: Int?
    /// True when A was singular and `solution` is the minimum-norm least-squares solution
    /// A⁺b (its quality is then the normal-equation residual, not ‖b − Au‖).
    public var minimumNorm: Bool
    /// Set when an iterative method stopped at its attainable accuracy (`.stagnation`) above
    /// the requested tolerance but within `KrylovOptions.acceptableTrueResidual`: what it
    /// reached and what was asked.
    public var stagnated: String?
    public init(solution: [Double], iterations: Int = 0, seconds: Double = 0, rank: Int? = nil, minimumNorm: Bool = false,
                stagnated: String? = nil) {
        self.stagnated = stagnated
        self.solution = solution
        self.iterations = iterations
        self.seconds = seconds
        self.rank = rank
        self.minimumNorm = minimumNorm
    }
}

/// What a solve did: the method, why, and how good the answer is.
public struct LinearSolveReport: Sendable, CustomStringConvertible {
    /// "cholesky", "lu", "cg", "minres", "gmres", "bicgstab", "lsqr", "normal-cg", or a
    /// user-written solver's own name.
    public var method: String
    public var preconditioner: String
    public var reason: String
    /// ‖b − Au‖ / ‖b‖ from a true product (Aᵀ for transposed solves); for a minimum-norm
    /// least-squares answer of a singular A (`rank` below the dimension), the normal-equation
    /// residual ‖Aᵀ(Au − b)‖ / ‖Aᵀb‖.
    public var relativeResidual: Double
    /// Krylov iterations (0 for direct solves).
    public var iterations: Int
    /// True when the first choice failed numerically and a fallback produced the answer.
    public var fellBack: Bool
    /// True when an analysis, factor or preconditioner from an earlier call was reused.
    public var reused: Bool
    public var seconds: Double
    /// The numerical rank of A when the method revealed it (a rank-revealing factorization).
    public var rank: Int?

    public init(method: String, preconditioner: String = "none", reason: String, relativeResidual: Double = .nan,
                iterations: Int = 0, fellBack: Bool = false, reused: Bool = false, seconds: Double = 0, rank: Int? = nil) {
        self.rank = rank
        self.method = method
        self.preconditioner = preconditioner
        self.reason = reason
        self.relativeResidual = relativeResidual
        self.iterations = iterations
        self.fellBack = fellBack
        self.reused = reused
        self.seconds = seconds
    }

    public var description: String {
        let name = preconditioner == "none" ? method : "\(method)+\(preconditioner)"
        return "\(name) (\(reason)), relative residual \(formatScientific(relativeResidual)), \(iterations) iterations, "
            + "\(formatFixed(seconds)) s"
    }
}

func formatScientific(_ x: Double) -> String { String(format: "%.2e", x) }

/// A byte count in binary units ("1.5 GiB").
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// The non-empty parts of a reason joined by "; " (so that an empty part leaves no stray
/// separator).
public func joinedReason(_ parts: String...) -> String {
    parts.filter { !$0.isEmpty }.joined(separator: "; ")
}

func formatFixed(_ x: Double) -> String { String(format: "%.3f", x) }

/// Failures of the linear-solver values beyond the factorizations' own `SparseError`s.
public enum LinearSolveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A direct method or a matrix-based preconditioner was asked for an operator without an
    /// explicit matrix.
    case needsExplicitMatrix(String)
    /// The method ended but the true residual ‖b − Au‖/‖b‖ is far above the tolerance (e.g.
    /// normal-equations CG on a singular A, or a NaN from a broken operator).
    case inaccurate(method: String, relativeResidual: Double, acceptable: Double)
    /// The method needs products with Aᵀ and the operator only gives A.
    case needsAdjointProduct(String)
    /// The iterative method (and any fallback) ended without meeting the tolerance.
    case notConverged(method: String, status: KrylovStatus, iterations: Int, relativeResidual: Double)
    /// The operator is not square (the method needs a square one) or not symmetric (CG,
    /// MINRES, Cholesky need a symmetric one).
    case unsuitableOperator(method: String, reason: String)
    /// A direct factorization predicted to cost more work than the policy's budget.
    case tooExpensive(method: String, predictedFlops: Double, budgetFlops: Double)

    public var description: String {
        switch self {
        case let .needsExplicitMatrix(method):
            return "\(method) needs an explicit matrix; this operator is matrix-free"
        case let .inaccurate(method, residual, acceptable):
            return "\(method) returned a solution with relative residual \(residual) (acceptable: \(acceptable)); the system is singular or too ill-conditioned"
        case let .needsAdjointProduct(method):
            return "\(method) needs products with the transpose, which this operator does not give"
        case let .notConverged(method, status, iterations, residual):
            return "\(method) did not converge: \(status.rawValue) after \(iterations) iterations, relative residual \(residual)"
        case let .unsuitableOperator(method, reason):
            return "\(method) cannot solve with this operator: \(reason)"
        case let .tooExpensive(method, flops, budget):
            return "predicted \(method) work of \(formatScientific(flops)) flops exceeds the budget of \(formatScientific(budget))"
        }
    }
}

func elapsedSeconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}
