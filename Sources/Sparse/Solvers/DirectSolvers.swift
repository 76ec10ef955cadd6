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
    private var pattern: PatternIdentity?
    private var values: ValuesIdentity?
    var method: String { "cholesky" }
    var details: LinearSolverDetails { LinearSolverDetails(cholesky: factor) }
    var memoryBytes: Int { factor.predictedFactorBytes }
    var timings: LinearSolverTimings { LinearSolverTimings(analyze: factor.analyzeSeconds, factorize: factor.factorizeSeconds) }

    init(factor: CholeskyFactorization, reason: String) {
        self.factor = factor
        let gram = factor.form == .outerProduct ? "; CHOLMOD factorize_p on Xᵀ (XᵀX not formed)" : ""
        self.reason = reason + gram
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
            if first && !factor.isFactorized { try factor.factorize() } else { try factor.refactor(m) }
        }
        pattern = a.patternIdentity
        values = a.valuesIdentity
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let x = try factor.solve(b)
        return LinearSolveOutcome(solution: x, seconds: elapsedSeconds(since: start))
    }

    func update(_ a: any LinearOperator) throws { try load(a, first: false) }
}

/// Sparse LU through UMFPACK as a `LinearSolver`, with transposed solves from the same
/// factor. Memory: A as 64-bit CSC plus the LU factors (`predictedFactorBytes`).
public struct LUSolver: LinearSolver {
    /// Largest predicted factor (bytes); `SparseError.factorTooLarge` above it.
    public var memoryBudget: Int?
    public var reason: String
    public var name: String { "lu" }

    public init(memoryBudget: Int? = nil, reason: String = "requested") {
        self.memoryBudget = memoryBudget
        self.reason = reason
    }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        guard a.rows == a.columns else {
            throw LinearSolveError.unsuitableOperator(method: "lu", reason: "\(a.rows) × \(a.columns) is not square")
        }
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("lu") }
        let factor = try LUFactorization(m)
        if let memoryBudget, factor.predictedFactorBytes > memoryBudget {
            throw SparseError.factorTooLarge(predictedBytes: factor.predictedFactorBytes, budgetBytes: memoryBudget)
        }
        try factor.factorize()
        return LUSolverState(factor: factor, reason: reason, values: a.valuesIdentity)
    }
}

final class LUSolverState: LinearSolverState {
    let factor: LUFactorization
    let reason: String
    private var values: ValuesIdentity?
    var method: String { "lu" }
    var details: LinearSolverDetails { LinearSolverDetails(lu: factor) }
    var memoryBytes: Int { factor.predictedFactorBytes }
    var timings: LinearSolverTimings { LinearSolverTimings(analyze: factor.analyzeSeconds, factorize: factor.factorizeSeconds) }

    init(factor: LUFactorization, reason: String, values: ValuesIdentity?) {
        self.factor = factor
        self.reason = reason
        self.values = values
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let x = try factor.solve(b, transposed: transposed)
        return LinearSolveOutcome(solution: x, seconds: elapsedSeconds(since: start))
    }

    func update(_ a: any LinearOperator) throws {
        if let values, let incoming = a.valuesIdentity, values == incoming { return }
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("lu") }
        try factor.refactor(m)
        values = a.valuesIdentity
    }
}

/// A small system formed densely and factorized by LAPACK (Cholesky when symmetric positive
/// definite, else LU): below about a thousand unknowns this beats a sparse analysis. A Gram
/// operator XᵀX + βI is formed from the rows of X (Σᵢ kᵢ² flops for kᵢ nonzeros in row i).
///
/// Memory: 8·n² bytes (twice for a transposed solve of an unsymmetric matrix).
public struct DenseSolver: LinearSolver {
    /// Refuse operators larger than this (n); default 4000 (128 MB).
    public var maximumDimension: Int
    public var reason: String
    public var name: String { "dense" }

    public init(maximumDimension: Int = 4000, reason: String = "requested") {
        self.maximumDimension = maximumDimension
        self.reason = reason
    }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        guard a.rows == a.columns else {
            throw LinearSolveError.unsuitableOperator(method: "dense", reason: "\(a.rows) × \(a.columns) is not square")
        }
        let n = a.rows
        guard n <= maximumDimension else {
            throw SparseError.factorTooLarge(predictedBytes: 8 * n * n, budgetBytes: 8 * maximumDimension * maximumDimension)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (g, symmetric, positive) = try Self.form(a)
        let factor: DenseFactorization
        do {
            factor = try DenseFactorization(columnMajor: g, dimension: n, symmetricPositiveDefinite: symmetric)
        } catch SparseError.singularMatrix where symmetric && positive {
            // A Gram matrix that is singular (β = 0, dependent columns): report it as
            // Cholesky's failure, like CHOLMOD's, so a policy falls back (the column is unknown).
            throw SparseError.notPositiveDefinite(column: 0)
        }
        if positive && factor.kind != .cholesky { throw SparseError.notPositiveDefinite(column: 0) }
        return DenseSolverState(matrix: g, factor: factor, symmetric: symmetric, reason: reason + "; \(n) unknowns formed densely, LAPACK "
                                + (factor.kind == .cholesky ? "Cholesky" : "LU"),
                                seconds: elapsedSeconds(since: start), values: a.valuesIdentity)
    }

    /// A as a dense column-major array; whether it is symmetric, and whether it must be
    /// positive (semi)definite (a Gram operator with D ≥ 0, β ≥ 0).
    static func form(_ a: any LinearOperator) throws -> ([Double], Bool, Bool) {
        let n = a.rows
        var g = [Double](repeating: 0, count: n * n)
        if let gram = a.gramStructure {
            // G = XᵀDX + βI from the rows of X: G[a, b] += d_i x_ia x_ib.
            let r = gram.rowMajor
            let pointers = r.rowPointers, columns = r.columnIndices, values = r.values
            g.withUnsafeMutableBufferPointer { g in
                for i in 0..<r.rows {
                    let start = pointers[i], end = pointers[i + 1]
                    let d = gram.weights?[i] ?? 1
                    for k in start..<end {
                        let c = Int(columns[k]), vc = d * values[k]
                        for l in start..<end { g[c * n + Int(columns[l])] += vc * values[l] }
                    }
                }
                for j in 0..<n { g[j * n + j] += gram.shift }
            }
            let positive = gram.shift >= 0 && (gram.weights?.allSatisfy { $0 >= 0 } ?? true)
            return (g, true, positive)
        }
        if let m = a.explicitMatrix {
            // Column-major from CSR: entry (i, j) at j·n + i.
            for i in 0..<n {
                for k in m.rowPointers[i]..<m.rowPointers[i + 1] { g[Int(m.columnIndices[k]) * n + i] = m.values[k] }
            }
            return (g, a.isSymmetric || m.isSymmetric(tolerance: 0), a.isPositiveDefinite)
        }
        // Matrix-free: n products with the unit vectors.
        var e = [Double](repeating: 0, count: n)
        for j in 0..<n {
            e[j] = 1
            let column = try a.apply(e)
            for i in 0..<n { g[j * n + i] = column[i] }
            e[j] = 0
        }
        return (g, a.isSymmetric, a.isPositiveDefinite)
    }
}

final class DenseSolverState: LinearSolverState {
    private var matrix: [Double]
    private var factor: DenseFactorization
    private var transposedFactor: DenseFactorization?
    private let symmetric: Bool
    private var values: ValuesIdentity?
    let reason: String
    private let setupSeconds: Double
    var method: String { factor.kind == .cholesky ? "cholesky" : "lu" }
    var memoryBytes: Int { factor.memoryBytes + (transposedFactor?.memoryBytes ?? 0) }
    var timings: LinearSolverTimings { LinearSolverTimings(factorize: setupSeconds) }

    init(matrix: [Double], factor: DenseFactorization, symmetric: Bool, reason: String, seconds: Double, values: ValuesIdentity?) {
        self.matrix = matrix
        self.factor = factor
        self.symmetric = symmetric
        self.reason = reason
        self.setupSeconds = seconds
        self.values = values
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        let n = factor.dimension
        try checkLength("DenseSolver.solve", "right-hand side", expected: n, actual: b.count)
        let start = DispatchTime.now().uptimeNanoseconds
        var used = factor
        if transposed && !symmetric {
            if transposedFactor == nil {
                var t = [Double](repeating: 0, count: n * n)
                for i in 0..<n { for j in 0..<n { t[i * n + j] = matrix[j * n + i] } }
                transposedFactor = try DenseFactorization(columnMajor: t, dimension: n, symmetricPositiveDefinite: false)
            }
            used = transposedFactor!
        }
        var x = b
        var scratch = [Double](repeating: 0, count: n)
        x.withUnsafeMutableBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in used.solve(inPlace: xp.baseAddress!, scratch: sp.baseAddress!) }
        }
        return LinearSolveOutcome(solution: x, seconds: elapsedSeconds(since: start))
    }

    func update(_ a: any LinearOperator) throws {
        if let values, let incoming = a.valuesIdentity, values == incoming { return }
        guard a.rows == factor.dimension else { throw SparseError.patternMismatch("DenseSolver update: another dimension") }
        let (g, symmetric, _) = try DenseSolver.form(a)
        factor = try DenseFactorization(columnMajor: g, dimension: a.rows, symmetricPositiveDefinite: symmetric)
        matrix = g
        transposedFactor = nil
        values = a.valuesIdentity
    }
}
