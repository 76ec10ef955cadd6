import _Differentiation
import Foundation

/// ∂F/∂x of a condition as an explicit sparse matrix, from its sparsity pattern — detected
/// from the primitives F is written with (`SparsityDetection`) or declared by the caller — and
/// one vector–Jacobian product of F per color (issue 29).
///
/// The pattern is found once, at the first evaluation, and coloured once: the rows
/// (`JacobianColoring(kind: .rows)`: rows sharing a column get different colors), or, for a
/// condition declared symmetric (a gradient, whose ∂F/∂x is a Hessian), a star coloring
/// (`.symmetric`), which needs fewer colors. At each (x, θ), Swift's reverse mode gives Jᵀs_c
/// for every color's seed s_c, decompressed on the pattern into a CSR matrix with the same
/// pattern every time (so a factorization's numeric refactor and AMG's numeric rebuild
/// apply). Handed to `RootSolution` as its `explicitJacobian`, the matrix reaches the
/// automatic policy, so CHOLMOD, UMFPACK or CG + AMG serve a condition whose Jacobian nobody
/// wrote by hand.
///
/// A pattern that misses an entry (a declared one that is too small, or code that built a
/// vector from `.scalars` by hand and so dropped the detection's trace) would give a wrong
/// matrix silently; every evaluation therefore checks the matrix against one more
/// vector–Jacobian product with a pseudo-random vector w (‖Jᵀw − Mᵀw‖ against ‖Jᵀw‖) and
/// throws `ImplicitError.invalidCondition` naming the column when they differ. Cost per
/// evaluation: (colors + 1) pullbacks of F and O(nnz) decompression; once: one traced
/// evaluation of F and the coloring. Memory: the pattern twice, the coloring and the values.
public final class SparseJacobian<Hyperparameters: Differentiable>: @unchecked Sendable {
    public typealias Condition = RootSolution<Hyperparameters>.Condition
    /// The pattern (declared, or detected at the first evaluation; nil before it).
    public var pattern: CSRMatrix? { lock.withLock { state?.pattern } }
    public var coloring: JacobianColoring? { lock.withLock { state?.coloring } }
    /// True when the pattern was detected from the primitives rather than declared.
    public let detected: Bool
    /// True when ∂F/∂x is declared symmetric (star coloring).
    public let symmetric: Bool
    /// Seconds spent detecting the pattern and colouring it (once), and in the last evaluation
    /// (products, decompression and the check).
    public var detectionSeconds: Double { lock.withLock { state?.detectionSeconds ?? 0 } }
    public var coloringSeconds: Double { lock.withLock { state?.coloringSeconds ?? 0 } }
    public var lastEvaluationSeconds: Double { lock.withLock { lastSeconds } }
    /// Evaluations so far.
    public var evaluations: Int { lock.withLock { count } }
    fileprivate let condition: Condition
    private let declared: CSRMatrix?
    fileprivate let lock = NSLock()
    private struct Prepared { var pattern: CSRMatrix; var coloring: JacobianColoring; var detectionSeconds: Double; var coloringSeconds: Double }
    private var state: Prepared?
    /// The row coloring of ∂F/∂θ's pattern (`hyperparameterMatrix`), once computed.
    fileprivate var thetaColoring: JacobianColoring?
    fileprivate var thetaDense = false
    private var lastSeconds = 0.0
    private var count = 0

    /// - Parameters:
    ///   - condition: F(x, θ), the same closure the `RootSolution` holds.
    ///   - pattern: a superset of ∂F/∂x's nonzeros (its values are ignored), n × n; nil to
    ///     detect it from the primitives at the first evaluation.
    ///   - symmetric: ∂F/∂x is symmetric (F is a gradient): the pattern is then coloured by a
    ///     star coloring (it must be structurally symmetric; otherwise the rows are coloured).
    public init(condition: @escaping Condition, pattern: CSRMatrix? = nil, symmetric: Bool = false) {
        self.condition = condition
        self.declared = pattern
        self.detected = pattern == nil
        self.symmetric = symmetric
        if let pattern { state = Self.prepare(pattern, symmetric: symmetric, detectionSeconds: 0) }
    }

    private static func prepare(_ pattern: CSRMatrix, symmetric: Bool, detectionSeconds: Double) -> Prepared {
        let start = DispatchTime.now().uptimeNanoseconds
        var coloring = JacobianColoring(pattern, kind: .rows)
        if symmetric && pattern.rows == pattern.columns {
            let star = JacobianColoring(pattern, kind: .symmetric)
            // A pattern that is not structurally symmetric fails the recovery check: rows then.
            if star.isValid && star.colorCount <= coloring.colorCount { coloring = star }
        }
        return Prepared(pattern: pattern, coloring: coloring, detectionSeconds: detectionSeconds,
                        coloringSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// The pattern and its coloring, detecting them at (x, θ) the first time.
    private func prepared(_ x: DifferentiableVector, _ theta: Hyperparameters) throws -> Prepared {
        if let state = lock.withLock({ state }) { return state }
        let start = DispatchTime.now().uptimeNanoseconds
        let pattern = try SparsityDetection.jacobianPattern(of: condition, at: x, theta)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let ready = Self.prepare(pattern, symmetric: symmetric, detectionSeconds: seconds)
        lock.withLock { if state == nil { state = ready } }
        return lock.withLock { state! }
    }

    /// ∂F/∂x at (x, θ) on the pattern.
    /// - Throws: `.dimensionMismatch` for a pattern that is not square or when x or F(x, θ)
    ///   does not have the pattern's size; `ImplicitError.invalidCondition` when detection
    ///   refuses the condition (`SparsityDetection`) or the pattern misses nonzeros of ∂F/∂x.
    public func matrix(_ x: DifferentiableVector, _ theta: Hyperparameters) throws -> CSRMatrix {
        if let declared, declared.rows != declared.columns {
            throw SparseError.dimensionMismatch(operation: "SparseJacobian", expected: "a square pattern (∂F/∂x is n × n)",
                                                actual: "\(declared.rows) × \(declared.columns)")
        }
        let ready = try prepared(x, theta)
        let start = DispatchTime.now().uptimeNanoseconds
        let pattern = ready.pattern, coloring = ready.coloring
        let n = pattern.rows
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
            let origin = detected
                ? "the detected Jacobian pattern misses nonzeros of ∂F/∂x (the condition builds a vector outside the primitives that propagate patterns, so its trace was dropped)"
                : "the declared Jacobian pattern misses nonzeros of ∂F/∂x"
            throw ImplicitError.invalidCondition(SparseError.invalidArgument(origin
                + ": a product with it differs from F's own by \(abs(exact[worst] - assembled[worst])) at column \(worst) (declare a pattern "
                + "that covers every entry, or use the matrix-free adjoint)"))
        }
        lock.withLock {
            count += 1
            lastSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        }
        return matrix
    }

    /// What reports print: source, colors and seconds (before the first evaluation the colors
    /// of a detected pattern are unknown: nil).
    public var summary: JacobianSummary {
        lock.withLock {
            JacobianSummary(source: .automaticSparse, colors: state?.coloring.colorCount, coloringSeconds: state?.coloringSeconds,
                            evaluationSeconds: lastSeconds, detectionSeconds: state?.detectionSeconds,
                            patternSource: detected ? .detected : .declared, symmetric: state.map { $0.coloring.kind == .symmetric },
                            nonzeros: state?.pattern.nonzeroCount)
        }
    }
}

extension SparseJacobian where Hyperparameters == DifferentiableVector {
    /// The largest number of colors for which `hyperparameterMatrix` assembles ∂F/∂θ (one
    /// pullback per color); beyond it (a scalar θ has a dense column: n colors) it returns nil.
    public static var hyperparameterColorLimit: Int { 128 }

    /// ∂F/∂θ (n × p) at (x, θ) from its detected pattern (θ traced) and one pullback per color
    /// of the pattern's rows — exact, where a central difference in θ crosses the kinks of a
    /// piecewise-smooth condition (a contact opening at θ − h). The pattern and coloring are
    /// computed at the first call and reused. Returns nil when the coloring needs more than
    /// `hyperparameterColorLimit` colors, or when F couples θ densely (a scalar θ read by a
    /// subscript): the caller differences in θ instead.
    public func hyperparameterMatrix(_ x: DifferentiableVector, _ theta: DifferentiableVector) throws -> CSRMatrix? {
        let coloring: JacobianColoring
        if lock.withLock({ thetaDense }) { return nil }
        if let ready = lock.withLock({ thetaColoring }) {
            coloring = ready
        } else {
            // θ coupled densely (a scalar θ read by a subscript, a reduction): no sparse ∂F/∂θ.
            guard let pattern = thetaPattern(x, theta) else {
                lock.withLock { thetaDense = true }
                return nil
            }
            coloring = JacobianColoring(pattern, kind: .rows)
            lock.withLock { thetaColoring = coloring }
        }
        guard coloring.colorCount <= Self.hyperparameterColorLimit else { return nil }
        let products = thetaProducts(x, theta, coloring)
        return try coloring.decompress(products)
    }

    /// The detected pattern of ∂F/∂θ, nil when F couples θ densely. (Kept apart from the
    /// pullbacks: in one function, the optimizer of Swift 6.3 crashed on the closure's two uses.)
    @inline(never)
    private func thetaPattern(_ x: DifferentiableVector, _ theta: DifferentiableVector) -> CSRMatrix? {
        let f: (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { a, b in self.condition(a, b) }
        return try? SparsityDetection.hyperparameterPattern(of: f, at: x, theta)
    }

    /// Jᵀ_θ s_c for every color's seed.
    @inline(never)
    private func thetaProducts(_ x: DifferentiableVector, _ theta: DifferentiableVector, _ coloring: JacobianColoring) -> [[Double]] {
        let (_, pullback) = valueWithPullback(at: x, theta, of: condition)
        let p = theta.count
        return (0..<coloring.colorCount).map { c in pullback(DifferentiableVector(coloring.seed(c))).1.dense(count: p) }
    }
}

/// How a `RootSolution` obtained ∂F/∂x for its last adjoint, for reports and JSON.
public struct JacobianSummary: Sendable, Codable, CustomStringConvertible {
    public enum Source: String, Sendable, Codable { case matrixFree = "matrix-free", assembled = "assembled by the caller", automaticSparse = "automatic sparse" }
    public enum PatternSource: String, Sendable, Codable { case detected, declared }
    public var source: Source
    /// For `.automaticSparse`: the colors (products of F per evaluation, plus one check), the
    /// seconds of the detection and coloring (once) and of the last evaluation, where the
    /// pattern came from, whether it was star-coloured as a symmetric matrix, its nonzeros.
    public var colors: Int?
    public var coloringSeconds: Double?
    public var evaluationSeconds: Double?
    public var detectionSeconds: Double?
    public var patternSource: PatternSource?
    public var symmetric: Bool?
    public var nonzeros: Int?

    public init(source: Source, colors: Int? = nil, coloringSeconds: Double? = nil, evaluationSeconds: Double? = nil,
                detectionSeconds: Double? = nil, patternSource: PatternSource? = nil, symmetric: Bool? = nil, nonzeros: Int? = nil) {
        self.source = source
        self.colors = colors
        self.coloringSeconds = coloringSeconds
        self.evaluationSeconds = evaluationSeconds
        self.detectionSeconds = detectionSeconds
        self.patternSource = patternSource
        self.symmetric = symmetric
        self.nonzeros = nonzeros
    }

    public var description: String {
        guard source == .automaticSparse, let colors else { return source.rawValue }
        return String(format: "automatic sparse (%@ pattern, %d nonzeros, %d %@colors): detection %.3g s, coloring %.3g s, last evaluation %.3g s",
                      patternSource?.rawValue ?? "declared", nonzeros ?? 0, colors, symmetric == true ? "star " : "",
                      detectionSeconds ?? 0, coloringSeconds ?? 0, evaluationSeconds ?? 0)
    }
}
