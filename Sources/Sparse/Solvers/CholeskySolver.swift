import Dispatch
import Foundation

/// Sparse Cholesky through CHOLMOD as a `LinearSolver`: for an explicit symmetric matrix
/// (A + βI read from its upper triangle), or for a Gram operator XᵀX + βI straight from X
/// (`cholmod_l_factorize_p` on Xᵀ: XᵀX is never formed). Updates on the same pattern are
/// numeric refactorizations; equal values are not refactorized at all.
///
/// Memory: the input as 64-bit CSC plus the predicted factor (`predictedFactorBytes`).
public struct CholeskySolver: LinearSolver {
    public var ordering: CholeskyFactorization.Ordering
    /// Largest predicted factor (bytes) allowed; `SparseError.factorTooLarge` above it.
    public var memoryBudget: Int?
    /// Largest predicted factorization work (flops) allowed;
    /// `LinearSolveError.tooExpensive` above it. nil: no limit.
    public var flopBudget: Double?
    /// A symbolic analysis already made for this operator (the automatic policy analyzes
    /// before it chooses); used instead of analyzing again when its dimension matches.
    public var analysis: CholeskyFactorization?
    public var reason: String

    public var name: String { "cholesky" }

    public init(ordering: CholeskyFactorization.Ordering = .automatic, memoryBudget: Int? = nil, flopBudget: Double? = nil,
                reason: String = "requested") {
        self.ordering = ordering
        self.memoryBudget = memoryBudget
        self.flopBudget = flopBudget
        self.reason = reason
    }

    /// The symbolic analysis alone: predicted factor size and work, before numeric work.
    /// - Throws: `.factorTooLarge` over the memory budget; `LinearSolveError` for an operator
    ///   that is neither an explicit symmetric matrix nor a Gram operator.
    public func analyze(_ a: any LinearOperator) throws -> CholeskyFactorization {
        if let analysis, analysis.dimension == a.rows { return analysis }
        if let gram = a.gramStructure, gram.weights == nil {
            return try CholeskyFactorization(gramOf: gram.rowMajor, ordering: ordering, memoryBudget: memoryBudget)
        }
        return try CholeskyFactorization(symmetric: try Self.symmetricMatrix(a), ordering: ordering, memoryBudget: memoryBudget)
    }

    static func symmetricMatrix(_ a: any LinearOperator) throws -> CSRMatrix {
        guard a.rows == a.columns else {
            throw LinearSolveError.unsuitableOperator(method: "cholesky", reason: "\(a.rows) × \(a.columns) is not square")
        }
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("cholesky") }
        guard a.isSymmetric || m.isSymmetric(tolerance: 0) else {
            throw LinearSolveError.unsuitableOperator(method: "cholesky", reason: "the matrix is not symmetric")
        }
        return m
    }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        let factor = try analyze(a)
        if let flopBudget, factor.predictedFlops > flopBudget {
            throw LinearSolveError.tooExpensive(method: "cholesky", predictedFlops: factor.predictedFlops, budgetFlops: flopBudget)
        }
        let state = CholeskySolverState(factor: factor, reason: reason)
        try state.load(a, first: true)
        return state
    }
}

final class CholeskySolverState: LinearSolverState {
    let factor: CholeskyFactorization
    let reason: String
    /// The explicit matrix's pattern last factorized (the Gram form needs none).
    private var pattern: PatternIdentity?
    private var values: ValuesIdentity?
    var method: String { "cholesky" }
    var details: LinearSolverDetails { LinearSolverDetails(cholesky: factor) }
    var memoryBytes: Int { factor.predictedFactorBytes }
    var timings: LinearSolverTimings { LinearSolverTimings(analyze: factor.analyzeSeconds, factorize: factor.factorizeSeconds) }

    init(factor: CholeskyFactorization, reason: String) {
        self.factor = factor
        self.reason = joinedReason(reason, factor.form == .outerProduct ? "CHOLMOD factorize_p on Xᵀ (XᵀX not formed)" : "")
    }

    func load(_ a: any LinearOperator, first: Bool) throws {
        if !first, let values, let incoming = a.valuesIdentity, values == incoming, factor.isFactorized { return }
        if let gram = a.gramStructure, gram.weights == nil, factor.form == .outerProduct {
            guard gram.columnMajor.columns == factor.dimension else { throw SparseError.patternMismatch("Cholesky update: another dimension") }
            if first && !factor.isFactorized { try factor.factorize(shift: gram.shift) }
            // The outer-product form takes the values of A = Xᵀ in its CSC order: X's CSR values.
            else { try factor.refactor(values: gram.rowMajor.values, shift: gram.shift) }
        } else {
            let m = try CholeskySolver.symmetricMatrix(a)
            guard factor.form == .symmetric, m.rows == factor.dimension else {
                throw SparseError.patternMismatch("Cholesky update: the operator's form or dimension differs from the analyzed one")
            }
            if first && !factor.isFactorized {
                try factor.factorize()
            } else if let pattern, pattern == m.patternIdentity {
                // The same pattern by its token: the values alone (no comparison of the arrays).
                try factor.refactor(values: m.values)
            } else {
                try factor.refactor(m)
            }
            pattern = m.patternIdentity
        }
        values = a.valuesIdentity
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let x = try factor.solve(b)
        return LinearSolveOutcome(solution: x, seconds: elapsedSeconds(since: start))
    }

    func update(_ a: any LinearOperator) throws { try load(a, first: false) }
}
