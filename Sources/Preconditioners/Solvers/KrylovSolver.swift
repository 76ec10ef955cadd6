import Dispatch
import Sparse

/// A Krylov method with a preconditioner, as a `LinearSolver`: `prepare` builds the
/// preconditioner (the set-up work), each solve runs the method from the given initial guess.
/// An update on new values rebuilds the preconditioner (AMG rebuilds its hierarchy).
///
/// Memory: the method's vectors (CG 4–5, MINRES 7, BiCGSTAB 9, GMRES(m) m + 3 of n, LSQR 1
/// of m and 5 of n) plus the preconditioner's `memoryBytes`.
public struct KrylovSolver: LinearSolver {
    public enum Method: String, CaseIterable, Sendable {
        case cg, minres, gmres, bicgstab, lsqr
        /// CG on the normal equations AᵀA u = Aᵀb (any square A; JAXopt's default). Needs
        /// products with A and Aᵀ; unpreconditioned.
        case normalCG = "normal-cg"
    }

    public var method: Method
    public var preconditioner: PreconditionerChoice
    public var options: KrylovOptions
    /// GMRES restart length.
    public var restart: Int
    public var reason: String

    public var name: String {
        preconditioner.name == "none" ? method.rawValue : "\(method.rawValue)+\(preconditioner.name)"
    }

    public init(_ method: Method, preconditioner: PreconditionerChoice = .none, options: KrylovOptions = KrylovOptions(),
                restart: Int = 30, reason: String = "requested") {
        self.method = method
        self.preconditioner = preconditioner
        self.options = options
        self.restart = restart
        self.reason = reason
    }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        if method != .lsqr && a.rows != a.columns {
            throw LinearSolveError.unsuitableOperator(method: method.rawValue, reason: "\(a.rows) × \(a.columns) is not square")
        }
        if (method == .cg || method == .minres) && !a.isSymmetric {
            throw LinearSolveError.unsuitableOperator(method: method.rawValue, reason: "the operator is not known to be symmetric")
        }
        if (method == .normalCG || method == .lsqr) && a.vectorSpace?.isDistributed == true {
            throw LinearSolveError.unsuitableOperator(method: method.rawValue, reason: "the operator is distributed over processes; use cg, minres, gmres or bicgstab")
        }
        if (method == .normalCG || method == .lsqr) && !a.isSymmetric && !a.hasTransposeProduct {
            throw LinearSolveError.needsAdjointProduct(method.rawValue)
        }
        let state = KrylovSolverState(solver: self, operator: a)
        try state.buildPreconditioner()
        return state
    }
}

final class KrylovSolverState: LinearSolverState {
    let solver: KrylovSolver
    private var a: any LinearOperator
    private var built: (any LinearOperator)?
    private var builtTransposed: (any LinearOperator)?
    private var setupSeconds = 0.0

    init(solver: KrylovSolver, operator a: any LinearOperator) {
        self.solver = solver
        self.a = a
    }

    var method: String { solver.method.rawValue }
    var preconditioner: String { built == nil ? "none" : solver.preconditioner.name }
    var reason: String { solver.reason }
    var memoryBytes: Int { ((built as? any Preconditioner)?.memoryBytes ?? 0) + ((builtTransposed as? any Preconditioner)?.memoryBytes ?? 0) }
    var timings: LinearSolverTimings { LinearSolverTimings(setup: setupSeconds) }
    var details: LinearSolverDetails { LinearSolverDetails(preconditioner: built) }

    func buildPreconditioner() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        builtTransposed = nil
        switch solver.method {
        case .normalCG:
            built = nil
        case .lsqr:
            // LSQR takes a right (column) preconditioner: the inverse column norms of A.
            if case .none = solver.preconditioner { built = nil; break }
            guard case .jacobi = solver.preconditioner, let m = a.explicitMatrix else {
                throw LinearSolveError.unsuitableOperator(method: "lsqr", reason: "LSQR takes no preconditioner or Jacobi column scaling of an explicit matrix")
            }
            var squares = [Double](repeating: 0, count: m.columns)
            for k in 0..<m.nonzeroCount { squares[Int(m.columnIndices[k])] += m.values[k] * m.values[k] }
            built = try JacobiPreconditioner(diagonal: squares.map { $0 > 0 ? $0.squareRoot() : 1 })
        case .cg, .minres:
            guard solver.preconditioner.isSymmetricChoice else {
                throw LinearSolveError.unsuitableOperator(method: solver.method.rawValue,
                                                          reason: "the \(solver.preconditioner.name) preconditioner is not symmetric")
            }
            built = try solver.preconditioner.build(for: a)
            // MINRES needs a positive definite M.
            if solver.method == .minres, let m = built, !(m.isPositiveDefinite) { built = nil }
        case .gmres, .bicgstab:
            built = try solver.preconditioner.build(for: a)
        }
        setupSeconds = elapsed(start)
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        let options = solver.options
        let symmetric = a.isSymmetric
        if transposed && !symmetric && !a.hasTransposeProduct { throw LinearSolveError.needsAdjointProduct(solver.method.rawValue) }
        let op: any LinearOperator = transposed && !symmetric ? TransposedOperator(a) : a
        var preconditioner = built
        if transposed && !symmetric && built != nil && !(built!.isSymmetric) {
            // An unsymmetric M (ILU) preconditions A, not Aᵀ: build one for Aᵀ once.
            if builtTransposed == nil {
                builtTransposed = try solver.preconditioner.build(for: TransposedMatrixOperator(a))
            }
            preconditioner = builtTransposed
        }
        let guess = initialGuess?.count == op.columns ? initialGuess : nil
        let result: KrylovResult
        switch solver.method {
        case .cg: result = try ConjugateGradient(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .minres: result = try MINRES(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .gmres:
            result = try GMRES(options: options, restart: solver.restart).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .bicgstab: result = try BiCGSTAB(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .lsqr: result = try LSQR(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .normalCG:
            let normal = NormalOperator(op)
            let rhs = try op.apply(b, transposed: true)
            result = try ConjugateGradient(options: options).solve(normal, rhs, initialGuess: guess)
        }
        return try Self.outcome(of: result, method: solver.method.rawValue, options: options)
    }

    /// A run's answer as a solve's outcome: converged, or stopped at the attainable accuracy
    /// (the rounding floor) within the acceptable factor of the request — solved, and the
    /// report says how far it got; anything else throws `LinearSolveError.notConverged`.
    static func outcome(of result: KrylovResult, method: String, options: KrylovOptions) throws -> LinearSolveOutcome {
        if result.status == .stagnation, result.relativeResidual <= options.acceptableTrueResidual {
            let note = String(format: "stagnated at the attainable accuracy after %d iterations: true relative residual %.2e (requested %.1e, accepted up to %.1e)",
                              result.iterations, result.relativeResidual, options.relativeTolerance, options.acceptableTrueResidual)
            return LinearSolveOutcome(solution: result.solution, iterations: result.iterations, seconds: result.seconds, stagnated: note)
        }
        guard result.status == .converged else {
            throw LinearSolveError.notConverged(method: method, status: result.status, iterations: result.iterations,
                                                relativeResidual: result.relativeResidual)
        }
        return LinearSolveOutcome(solution: result.solution, iterations: result.iterations, seconds: result.seconds)
    }

    func update(_ a: any LinearOperator) throws {
        guard a.rows == self.a.rows, a.columns == self.a.columns else {
            throw SparseError.patternMismatch("KrylovSolver update: the operator is \(a.rows) × \(a.columns), was \(self.a.rows) × \(self.a.columns)")
        }
        let sameValues = self.a.valuesIdentity != nil && self.a.valuesIdentity == a.valuesIdentity
        self.a = a
        guard !sameValues else { return }
        // AMG on the same pattern: a numeric rebuild on the kept aggregates.
        if let amg = built as? SmoothedAggregationAMG, var m = a.preconditioningMatrix, m.patternIdentity == amg.builtForPattern {
            let start = DispatchTime.now().uptimeNanoseconds
            if a.isSymmetric { m = m.declaringSymmetric() }
            built = try amg.rebuilt(for: m)
            builtTransposed = nil
            setupSeconds = elapsed(start)
            return
        }
        try buildPreconditioner()
    }

    private func elapsed(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
}

/// Aᵀ of an operator, as an operator.
struct TransposedOperator: LinearOperator {
    let base: any LinearOperator
    init(_ base: any LinearOperator) { self.base = base }
    var rows: Int { base.columns }
    var columns: Int { base.rows }
    var isSymmetric: Bool { base.isSymmetric }
    var isPositiveDefinite: Bool { base.isPositiveDefinite }
    var diagonal: [Double]? { base.diagonal }
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
        base.apply(x, into: y, transposed: !transposed, accumulate: accumulate)
    }
}

/// Aᵀ with the transposed preconditioning matrix (for building an unsymmetric M of Aᵀ).
struct TransposedMatrixOperator: LinearOperator {
    let base: any LinearOperator
    init(_ base: any LinearOperator) { self.base = base }
    var rows: Int { base.columns }
    var columns: Int { base.rows }
    var diagonal: [Double]? { base.diagonal }
    var preconditioningMatrix: CSRMatrix? { base.preconditioningMatrix?.transposed() }
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
        base.apply(x, into: y, transposed: !transposed, accumulate: accumulate)
    }
}

/// AᵀA, matrix-free (one product with A and one with Aᵀ per apply).
final class NormalOperator: LinearOperator {
    let base: any LinearOperator
    private var scratch: [Double]
    init(_ base: any LinearOperator) {
        self.base = base
        scratch = [Double](repeating: 0, count: base.rows)
    }
    var rows: Int { base.columns }
    var columns: Int { base.columns }
    var isSymmetric: Bool { true }
    var isPositiveDefinite: Bool { true }
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
        scratch.withUnsafeMutableBufferPointer { t in
            base.apply(x, into: t, transposed: false, accumulate: false)
            base.apply(UnsafeBufferPointer(t), into: y, transposed: true, accumulate: accumulate)
        }
    }
}

extension KrylovSolver {
    public var krylovOptions: KrylovOptions? { options }
    public func withKrylovOptions(_ options: KrylovOptions) -> any LinearSolver {
        var solver = self
        solver.options = options
        return solver
    }
}
