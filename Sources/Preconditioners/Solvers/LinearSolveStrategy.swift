import Dispatch
import Foundation
import Sparse

/// The built-in linear solvers by name (the CLI's `--linear-solver`, a test's loop over
/// methods): each name makes a `LinearSolver` value. Any other conformer plugs in through
/// `LinearSolveStrategy(solver:)` just the same.
public enum LinearSolveMethod: String, CaseIterable, Sendable {
    case automatic, cholesky, lu, dense, cg, minres, gmres, bicgstab, lsqr
    /// CG on the normal equations AᵀA u = Aᵀb (JAXopt's default; any square A).
    case normalCG = "normal-cg"

    /// The solver value: the automatic policy, a direct method within `memoryBudget`, or a
    /// Krylov method with Jacobi preconditioning when `jacobi` and the operator has a
    /// diagonal (CG and MINRES need a symmetric operator; normal CG is unpreconditioned).
    public func solver(options: KrylovOptions = KrylovOptions(relativeTolerance: 1e-10), memoryBudget: Int? = nil,
                       jacobi: Bool = true) -> any LinearSolver {
        switch self {
        case .automatic: return AutomaticLinearSolver(options: options, memoryBudget: memoryBudget, jacobi: jacobi)
        case .cholesky: return CholeskySolver(memoryBudget: memoryBudget)
        case .lu: return LUSolver(memoryBudget: memoryBudget)
        case .dense: return DenseSolver()
        case .cg, .minres, .gmres, .bicgstab, .lsqr, .normalCG:
            let method = KrylovSolver.Method(rawValue: rawValue)!
            return DiagonalWhenAvailable(method: method, options: options, jacobi: jacobi && method != .normalCG && method != .lsqr)
        }
    }
}

/// A requested Krylov method with Jacobi preconditioning when the operator has a usable
/// diagonal (a requested method must not fail for want of one).
struct DiagonalWhenAvailable: LinearSolver {
    let method: KrylovSolver.Method
    let options: KrylovOptions
    let jacobi: Bool
    var name: String { method.rawValue }
    func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        let usable = jacobi && (a.diagonal.map { d in d.allSatisfy { $0.isFinite && (method == .minres ? $0 > 0 : $0 != 0) } } ?? false)
        return try KrylovSolver(method, preconditioner: usable ? .jacobi : .none, options: options).prepare(a)
    }
}

/// A named linear system: a solver value, the state it prepared (factor, analysis,
/// preconditioner), the last solution of each direction (A u = b, Aᵀ u = b) as the next warm
/// start of that direction, and the last report. The state
/// is reused while the operator keeps the same pattern identity (`LinearOperator.patternIdentity`)
/// — refactorized when its values identity changes, used as it is when it does not — and
/// prepared anew otherwise. Share one strategy between an inner solve and the adjoint to share
/// one factorization; `release()` frees it. Not safe for concurrent use.
public final class LinearSolveStrategy {
    /// The solver value (any conformer).
    public var solver: any LinearSolver {
        didSet { release() }
    }
    /// The system's name in reports.
    public let name: String
    /// Krylov options of the built-in solvers (kept for callers that make a related solver).
    public let options: KrylovOptions
    /// Largest relative residual ‖b − Au‖/‖b‖ accepted from any method (checked on every
    /// answer from a true product): max(10⁴·tolerance, 10⁻⁶) by default.
    public var acceptableResidual: Double
    public private(set) var lastReport: LinearSolveReport?
    /// What the strategy did over its life (reuse across a tuning run is measured by these):
    /// states prepared anew (an analysis and factorization, a hierarchy, a preconditioner),
    /// reuses of a kept state on the same pattern (refactorized numerically when the values
    /// changed, used as it is otherwise), solves, and
    /// solves made on its behalf by a specialized path (`adopt`, e.g. a dense factorization).
    public private(set) var counts = Counts()
    public struct Counts: Sendable, Equatable {
        public var preparations = 0
        public var updates = 0
        public var solves = 0
        public var adopted = 0
        public init() {}
        public static func + (a: Counts, b: Counts) -> Counts {
            var c = Counts()
            c.preparations = a.preparations + b.preparations
            c.updates = a.updates + b.updates
            c.solves = a.solves + b.solves
            c.adopted = a.adopted + b.adopted
            return c
        }
    }

    private var state: (any LinearSolverState)?
    private var pattern: PatternIdentity?
    /// The last solution of A u = b ([0]) and of Aᵀ u = b ([1]): an adjoint's right-hand side
    /// has nothing to do with the forward one, so the forward solution would be a poor start
    /// for it (it cost an iterative adjoint 50× its iterations on a graph Laplacian).
    private var warmStarts: [[Double]?] = [nil, nil]

    /// A strategy over any solver value. One place sets the tolerance: `options`, when given,
    /// are applied to a solver that iterates (`withKrylovOptions`: `KrylovSolver`,
    /// `AutomaticLinearSolver`, the PETSc solver) and are the strategy's; without them the
    /// solver's own options are (10⁻¹⁰ for a direct solver).
    public init(solver: any LinearSolver, name: String = "linear system", options: KrylovOptions? = nil) {
        let effective = options ?? solver.krylovOptions ?? KrylovOptions(relativeTolerance: 1e-10)
        self.solver = options.map { solver.withKrylovOptions($0) } ?? solver
        self.name = name
        self.options = effective
        self.acceptableResidual = effective.acceptableTrueResidual
    }

    /// A strategy over a built-in solver by name (`.automatic`: the policy).
    public convenience init(_ method: LinearSolveMethod = .automatic, options: KrylovOptions = KrylovOptions(relativeTolerance: 1e-10),
                            memoryBudget: Int? = nil, jacobi: Bool = true, name: String = "linear system") {
        self.init(solver: method.solver(options: options, memoryBudget: memoryBudget, jacobi: jacobi), name: name, options: options)
    }

    /// The prepared state, if any (for the AMG hierarchy or the factor's size in reports): kept
    /// for operators with a pattern identity (explicit matrices, Gram operators), never for a
    /// matrix-free operator, whose state cannot be reused.
    public var preparedState: (any LinearSolverState)? { state }

    /// Frees the prepared state (a factor, a hierarchy) and the warm start.
    public func release() {
        state = nil
        pattern = nil
        warmStarts = [nil, nil]
    }

    /// Prepares (or updates) the state for `a` without solving: the set-up work of a solve.
    @discardableResult
    public func prepare(_ a: some LinearOperator) throws -> any LinearSolverState {
        let (s, _) = try stateFor(a)
        return s
    }

    private func stateFor(_ a: some LinearOperator) throws -> (any LinearSolverState, Bool) {
        if let state, let pattern, let incoming = a.patternIdentity, pattern == incoming {
            try state.update(a)
            counts.updates += 1
            return (state, true)
        }
        release()
        // Every process prepares, and all agree on failure (a distributed operator).
        let prepared = try a.effectiveVectorSpace.agree("preparing \(solver.name) for \(name)") { try solver.prepare(a) }
        counts.preparations += 1
        // Only a state for an operator with a pattern identity can be reused; keeping any
        // other (a matrix-free operator's) would only keep its closure — and whatever that
        // captures, often this strategy itself — alive: a reference cycle.
        if let identity = a.patternIdentity {
            state = prepared
            pattern = identity
        }
        return (prepared, false)
    }

    /// Solves A u = b, or Aᵀ u = b when `transposed`, warm-starting an iterative method from
    /// `initialGuess` when given, else from the last solution of this system in the same
    /// direction.
    /// - Throws: the solver's typed errors; `LinearSolveError.inaccurate` when the answer's
    ///   true residual is above `acceptableResidual`.
    public func solve(_ a: some LinearOperator, _ b: [Double], transposed: Bool = false,
                      initialGuess: [Double]? = nil) throws -> [Double] {
        guard a.rows == a.columns else {
            throw SparseError.dimensionMismatch(operation: "LinearSolveStrategy.solve", expected: "a square operator",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        guard b.count == a.localRows else {
            throw SparseError.dimensionMismatch(operation: "LinearSolveStrategy.solve", expected: "a right-hand side of length \(a.localRows)",
                                                actual: "length \(b.count)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (state, reused) = try stateFor(a)
        let guess = initialGuess ?? warmStarts[transposed ? 1 : 0]
        let outcome = try state.solve(b, transposed: transposed, initialGuess: guess)
        counts.solves += 1
        // Reused: the prepared state, or (for an iterative method) the warm start.
        let report = LinearSolveReport(method: state.method, preconditioner: state.preconditioner,
                                       reason: joinedReason(joinedReason(state.reason, reused ? "reused the prepared state" : ""), outcome.stagnated ?? ""),
                                       relativeResidual: outcome.minimumNorm ? a.normalEquationResidual(outcome.solution, b, transposed: transposed)
                                           : a.relativeResidual(outcome.solution, b, transposed: transposed),
                                       iterations: outcome.iterations, fellBack: state.fellBack,
                                       reused: reused || (guess != nil && outcome.iterations > 0),
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, rank: outcome.rank)
        lastReport = report
        // A method may "converge" on its own terms and still miss the system (normal-equations
        // CG on a singular A, a direct solve swamped by rounding): check the true residual.
        guard report.relativeResidual.isFinite, report.relativeResidual <= acceptableResidual || a.effectiveVectorSpace.isZero(b) else {
            throw LinearSolveError.inaccurate(method: report.method, relativeResidual: report.relativeResidual,
                                              acceptable: acceptableResidual)
        }
        warmStarts[transposed ? 1 : 0] = outcome.solution
        return outcome.solution
    }

    /// Records a report of a solve made on the strategy's behalf (a specialized path).
    public func adopt(_ report: LinearSolveReport) {
        lastReport = report
        counts.adopted += 1
    }
}
