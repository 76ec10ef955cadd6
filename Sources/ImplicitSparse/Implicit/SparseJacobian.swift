import _Differentiation
import Foundation

/// ∂F/∂x of a condition as an explicit sparse matrix, from a pattern the user declares and one
/// vector–Jacobian product of F per color (issue 29's first piece; sparsity *detection* from the
/// primitives is not built yet: the pattern is declared).
///
/// The rows of the pattern are coloured once (`JacobianColoring(kind: .rows)`: rows sharing a
/// column get different colors); at each (x, θ), Swift's reverse mode gives Jᵀs_c for every
/// color's seed s_c, decompressed on the pattern into a CSR matrix. Handed to `RootSolution`
/// as its `explicitJacobian`, the matrix reaches the automatic policy, so CHOLMOD, UMFPACK or
/// CG + AMG serve a condition whose Jacobian nobody wrote by hand.
///
/// A declared pattern that misses an entry would give a wrong matrix silently; every
/// evaluation therefore checks the matrix against one more vector–Jacobian product with a
/// pseudo-random vector w (‖Jᵀw − Mᵀw‖ against ‖Jᵀw‖) and throws
/// `ImplicitError.invalidCondition` naming the pattern when they differ. Cost per evaluation:
/// (colors + 1) pullbacks of F and O(nnz) decompression; memory: the pattern twice, the
/// coloring and the matrix's values.
public final class SparseJacobian<Hyperparameters: Differentiable>: @unchecked Sendable {
    public typealias Condition = RootSolution<Hyperparameters>.Condition
    public let pattern: CSRMatrix
    public let coloring: JacobianColoring
    /// Seconds spent colouring (once), and in the last evaluation (products and decompression).
    public let coloringSeconds: Double
    public private(set) var lastEvaluationSeconds = 0.0
    /// Evaluations so far.
    public private(set) var evaluations = 0
    private let condition: Condition
    private let lock = NSLock()

    /// - Parameters:
    ///   - condition: F(x, θ), the same closure the `RootSolution` holds.
    ///   - pattern: a superset of ∂F/∂x's nonzeros (its values are ignored); square (a
    ///     pattern that is not is refused by `matrix(_:_:)`).
    public init(condition: @escaping Condition, pattern: CSRMatrix) {
        let start = DispatchTime.now().uptimeNanoseconds
        self.condition = condition
        self.pattern = pattern
        self.coloring = JacobianColoring(pattern, kind: .rows)
        self.coloringSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// ∂F/∂x at (x, θ) on the pattern.
    /// - Throws: `.dimensionMismatch` for a pattern that is not square or when x or F(x, θ)
    ///   does not have the pattern's size,
    ///   `ImplicitError.invalidCondition` when the pattern misses nonzeros of ∂F/∂x.
    public func matrix(_ x: DifferentiableVector, _ theta: Hyperparameters) throws -> CSRMatrix {
        let start = DispatchTime.now().uptimeNanoseconds
        let n = pattern.rows
        guard pattern.rows == pattern.columns else {
            throw SparseError.dimensionMismatch(operation: "SparseJacobian", expected: "a square pattern (∂F/∂x is n × n)",
                                                actual: "\(pattern.rows) × \(pattern.columns)")
        }
        guard x.count == n else {
            throw SparseError.dimensionMismatch(operation: "SparseJacobian", expected: "x of length \(n)", actual: "\(x.count)")
        }
        let (value, pullback) = valueWithPullback(at: x, theta, of: condition)
        guard value.count == n else {
            throw SparseError.dimensionMismatch(operation: "SparseJacobian", expected: "F(x, θ) of length \(n)", actual: "\(value.count)")
        }
        let products = (0..<coloring.colorCount).map { c in pullback(DifferentiableVector(coloring.seed(c))).0.dense(count: n) }
        let matrix = try coloring.decompress(products)
        // The check: one more product with a pseudo-random w, against the matrix's transpose.
        var random = SplitMix64(seed: 0x5eed_0f_1ac0)
        let w = (0..<n).map { _ in random.nextUniform() - 0.5 }
        let exact = pullback(DifferentiableVector(w)).0.dense(count: n)
        let assembled = try matrix.multiplyTransposed(w)
        let scale = max(exact.reduce(0) { max($0, abs($1)) }, 1e-300)
        if let worst = (0..<n).max(by: { abs(exact[$0] - assembled[$0]) < abs(exact[$1] - assembled[$1]) }),
           abs(exact[worst] - assembled[worst]) > 1e-9 * scale {
            throw ImplicitError.invalidCondition(SparseError.invalidArgument("the declared Jacobian pattern misses nonzeros of ∂F/∂x: "
                + "a product with it differs from F's own by \(abs(exact[worst] - assembled[worst])) at column \(worst) (give a pattern "
                + "that covers every entry, or leave `explicitJacobian` out for the matrix-free adjoint)"))
        }
        lock.lock()
        evaluations += 1
        lastEvaluationSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        lock.unlock()
        return matrix
    }
}

/// How a `RootSolution` obtained ∂F/∂x for its last adjoint, for reports.
public struct JacobianSummary: Sendable, CustomStringConvertible {
    public enum Source: String, Sendable { case matrixFree = "matrix-free", assembled = "assembled by the caller", automaticSparse = "automatic sparse" }
    public var source: Source
    /// For `.automaticSparse`: the colors (products of F per evaluation, plus one check), the
    /// seconds of the coloring (once) and of the last evaluation.
    public var colors: Int?
    public var coloringSeconds: Double?
    public var evaluationSeconds: Double?
    public var description: String {
        guard source == .automaticSparse, let colors else { return source.rawValue }
        return String(format: "automatic sparse: %d colors, coloring %.3g s, last evaluation %.3g s", colors,
                      coloringSeconds ?? 0, evaluationSeconds ?? 0)
    }
}
