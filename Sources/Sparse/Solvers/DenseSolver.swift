import Dispatch
import Foundation

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
        return DenseSolverState(matrix: g, factor: factor, symmetric: symmetric, reason: joinedReason(reason, "LAPACK \(factor.kind == .cholesky ? "Cholesky" : "LU") of \(n) unknowns"
                                + (a.denseColumnMajor == nil ? ", formed densely" : "")),
                                seconds: elapsedSeconds(since: start), values: a.valuesIdentity)
    }

    /// A as a dense column-major array; whether it is symmetric, and whether it must be
    /// positive (semi)definite (a Gram operator with D ≥ 0, β ≥ 0).
    static func form(_ a: any LinearOperator) throws -> ([Double], Bool, Bool) {
        let n = a.rows
        if let dense = a.denseColumnMajor {
            return (dense, a.isSymmetric, a.isPositiveDefinite)
        }
        if let gram = a.gramStructure {
            let g = gram.rowMajor.denseGram(weights: gram.weights, shift: gram.shift)
            let positive = gram.shift >= 0 && (gram.weights?.allSatisfy { $0 >= 0 } ?? true)
            return (g, true, positive)
        }
        var g = [Double](repeating: 0, count: n * n)
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
        return LinearSolveOutcome(solution: used.solve(b), seconds: elapsedSeconds(since: start))
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

/// A symmetric positive semidefinite system formed densely and factorized by a rank-revealing
/// Cholesky (LAPACK `dpotrf`, then the pivoted `dpstrf` when a pivot is near zero — see
/// `DenseFactorization.semidefinite`): at full rank the ordinary solution, below it the
/// minimum-norm least-squares solution A⁺b, with the numerical rank in the outcome and the
/// report (`rank`, `fellBack`) — a singular system is a value, not an error. For Gram matrices
/// of supports with duplicated or dependent columns, where the solution of the fitted model is
/// not unique. The automatic policy takes it for dense operators declared positive
/// semidefinite (`isPositiveSemidefinite` without `isPositiveDefinite`).
///
/// Memory: 8·n² bytes for the matrix and as much for the factor (twice for a pivoted one).
public struct RankRevealingDenseSolver: LinearSolver {
    /// Refuse operators larger than this (n); default 4000.
    public var maximumDimension: Int
    public var reason: String
    public var name: String { "rank-revealing dense" }

    public init(maximumDimension: Int = 4000, reason: String = "requested") {
        self.maximumDimension = maximumDimension
        self.reason = reason
    }

    /// - Throws: `LinearSolveError.unsuitableOperator` for an operator not declared symmetric;
    ///   `.factorTooLarge` above `maximumDimension`; `.nonFinite`.
    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        guard a.rows == a.columns, a.isSymmetric else {
            throw LinearSolveError.unsuitableOperator(method: name, reason: "the operator must be square and declared symmetric (positive semidefinite)")
        }
        let n = a.rows
        guard n <= maximumDimension else {
            throw SparseError.factorTooLarge(predictedBytes: 8 * n * n, budgetBytes: 8 * maximumDimension * maximumDimension)
        }
        return try RankRevealingDenseState(a, reason: reason)
    }
}

final class RankRevealingDenseState: LinearSolverState {
    private var factor: DenseFactorization
    private var values: ValuesIdentity?
    private let baseReason: String
    private var setupSeconds: Double
    var rank: Int { factor.rank }
    var method: String { factor.rank < factor.dimension ? "pseudo-inverse" : "dense cholesky" }
    var fellBack: Bool { factor.rank < factor.dimension }
    var reason: String {
        let n = factor.dimension
        let what = factor.rank < n
            ? "rank \(factor.rank) of \(n): singular, the minimum-norm least-squares solution from the pivoted Cholesky factor (LAPACK dpstrf)"
            : "full rank \(n) by a rank-revealing Cholesky (LAPACK dpotrf; dpstrf when a pivot is near zero)"
        return joinedReason(baseReason, what)
    }
    var memoryBytes: Int { factor.memoryBytes }
    var timings: LinearSolverTimings { LinearSolverTimings(factorize: setupSeconds) }

    init(_ a: any LinearOperator, reason: String) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let (g, _, _) = try DenseSolver.form(a)
        factor = try DenseFactorization.semidefinite(g, dimension: a.rows)
        values = a.valuesIdentity
        baseReason = reason
        setupSeconds = elapsedSeconds(since: start)
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        try checkLength("RankRevealingDenseSolver.solve", "right-hand side", expected: factor.dimension, actual: b.count)
        let start = DispatchTime.now().uptimeNanoseconds
        // Symmetric: the transposed solve is the same.
        return LinearSolveOutcome(solution: factor.solve(b), seconds: elapsedSeconds(since: start), rank: factor.rank,
                                  minimumNorm: factor.rank < factor.dimension)
    }

    func update(_ a: any LinearOperator) throws {
        if let values, let incoming = a.valuesIdentity, values == incoming { return }
        guard a.rows == factor.dimension, a.isSymmetric else { throw SparseError.patternMismatch("RankRevealingDenseSolver update: another dimension or not symmetric") }
        let start = DispatchTime.now().uptimeNanoseconds
        let (g, _, _) = try DenseSolver.form(a)
        factor = try DenseFactorization.semidefinite(g, dimension: a.rows)
        values = a.valuesIdentity
        setupSeconds = elapsedSeconds(since: start)
    }
}
