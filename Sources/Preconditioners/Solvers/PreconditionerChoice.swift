import Sparse

/// A preconditioner as a value a `KrylovSolver` carries: what to build, not the built object.
/// The matrix-based kinds are built from the operator's `preconditioningMatrix` (its explicit
/// matrix, or an approximation a matrix-free operator declares); Jacobi needs only a diagonal.
public enum PreconditionerChoice: @unchecked Sendable, CustomStringConvertible {
    case none
    case jacobi
    case ssor(omega: Double)
    case ic0
    case ict(dropTolerance: Double, fillPerColumn: Int)
    case ilu0
    case blockJacobi(blockSize: Int)
    case amg(SmoothedAggregationAMG.Options)
    /// The user's own: any operator applying M⁻¹ (a `Preconditioner` reports its set-up time
    /// and memory).
    case custom(name: String, build: (any LinearOperator) throws -> any LinearOperator)

    /// Smoothed-aggregation AMG with default options.
    public static var amg: PreconditionerChoice { .amg(SmoothedAggregationAMG.Options()) }

    public var name: String {
        switch self {
        case .none: return "none"
        case .jacobi: return "jacobi"
        case .ssor: return "ssor"
        case .ic0: return "ic0"
        case .ict: return "ict"
        case .ilu0: return "ilu0"
        case .blockJacobi: return "block-jacobi"
        case .amg: return "amg"
        case let .custom(name, _): return name
        }
    }

    public var description: String { name }

    /// True when M is symmetric positive definite for a symmetric positive definite A (what
    /// CG and MINRES need).
    public var isSymmetricChoice: Bool {
        switch self {
        case .ilu0: return false
        default: return true
        }
    }

    /// Builds M⁻¹ for `a`, or nil for `.none`.
    /// - Throws: `LinearSolveError.needsExplicitMatrix` when a matrix-based kind is asked for
    ///   an operator with neither an explicit nor a preconditioning matrix; the
    ///   preconditioners' own errors (zero diagonal, breakdown).
    public func build(for a: any LinearOperator) throws -> (any LinearOperator)? {
        func matrix() throws -> CSRMatrix {
            guard let m = a.preconditioningMatrix else { throw LinearSolveError.needsExplicitMatrix("the \(name) preconditioner") }
            return m
        }
        switch self {
        case .none: return nil
        case .jacobi:
            if let d = a.diagonal { return try JacobiPreconditioner(diagonal: d) }
            return try JacobiPreconditioner(try matrix())
        case let .ssor(omega): return try SSORPreconditioner(try matrix(), omega: omega)
        case .ic0: return try IncompleteCholeskyPreconditioner(try matrix(), kind: .zeroFill)
        case let .ict(drop, fill):
            return try IncompleteCholeskyPreconditioner(try matrix(), kind: .threshold(dropTolerance: drop, fillPerColumn: fill))
        case .ilu0: return try IncompleteLUPreconditioner(try matrix())
        case let .blockJacobi(size): return try BlockJacobiPreconditioner(try matrix(), blockSize: size)
        case let .amg(options):
            var m = try matrix()
            if a.isSymmetric { m = m.declaringSymmetric() }
            return try SmoothedAggregationAMG(m, options: options)
        case let .custom(_, build): return try build(a)
        }
    }
}

/// What a built preconditioner reports beyond its memory and set-up time.
public struct PreconditionerReport {
    /// The diagonal shift an incomplete factorization needed (0 when none).
    public var shift: Double?
    /// The AMG hierarchy, when the preconditioner is AMG.
    public var amg: SmoothedAggregationAMG?
}

extension LinearSolverState {
    /// The built preconditioner's report, or nil for direct states and `.none`.
    public var preconditionerReport: PreconditionerReport? {
        guard let built = details.preconditioner else { return nil }
        if let amg = built as? SmoothedAggregationAMG { return PreconditionerReport(shift: nil, amg: amg) }
        if let ic = built as? IncompleteCholeskyPreconditioner { return PreconditionerReport(shift: ic.shift, amg: nil) }
        if let ilu = built as? IncompleteLUPreconditioner { return PreconditionerReport(shift: ilu.shift, amg: nil) }
        return PreconditionerReport(shift: nil, amg: nil)
    }
    public var choleskyFactor: CholeskyFactorization? { details.cholesky }
    public var luFactor: LUFactorization? { details.lu }
}
