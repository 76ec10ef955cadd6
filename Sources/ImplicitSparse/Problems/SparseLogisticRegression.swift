import Foundation
import Sparse

/// Sparse logistic regression in skglm's and scikit-learn's elastic-net convention,
///
///     min (1/n) Σᵢ log(1 + exp(−yᵢ xᵢᵀw)) + λ(α‖w‖₁ + (1 − α)/2‖w‖²),   yᵢ ∈ {−1, 1},
///
/// with α ∈ (0, 1] (α = 1: ℓ1 only). Labels 0/1 are mapped to −1/1. No intercept. Solved by
/// `ProximalNewton`; the certificate is the duality gap (`certificate`).
public struct SparseLogisticRegression: Sendable {
    public let design: CSRMatrix
    /// yᵢ ∈ {−1, 1}.
    public let labels: [Double]
    public let lambda: Double
    public let l1Ratio: Double

    /// - Throws: `.dimensionMismatch`; `.invalidArgument` for a label other than −1, 0, 1 (naming
    ///   its row), labels mixing 0 and −1, λ ≤ 0 or α ∉ (0, 1].
    public init(design: CSRMatrix, labels: [Double], lambda: Double, l1Ratio: Double = 1) throws {
        guard labels.count == design.rows else {
            throw SparseError.dimensionMismatch(operation: "SparseLogisticRegression", expected: "\(design.rows) labels",
                                                actual: "\(labels.count)")
        }
        guard lambda > 0, lambda.isFinite else { throw SparseError.invalidArgument("λ must be positive and finite, got \(lambda)") }
        guard l1Ratio > 0, l1Ratio <= 1 else { throw SparseError.invalidArgument("l1 ratio must be in (0, 1], got \(l1Ratio)") }
        self.design = design
        self.labels = try Self.signedLabels(labels)
        self.lambda = lambda
        self.l1Ratio = l1Ratio
    }

    /// Labels as ±1: {−1, 1} kept, {0, 1} mapped to {−1, 1}.
    /// - Throws: `.invalidArgument` naming the first row whose label is not −1, 0 or 1, or a
    ///   mix of 0 and −1.
    public static func signedLabels(_ labels: [Double]) throws -> [Double] {
        if let bad = labels.firstIndex(where: { $0 != -1 && $0 != 0 && $0 != 1 }) {
            throw SparseError.invalidArgument("label of row \(bad + 1) is \(labels[bad]); logistic regression needs labels ±1 or 0/1")
        }
        let hasZero = labels.contains(0), hasMinusOne = labels.contains(-1)
        if hasZero && hasMinusOne {
            throw SparseError.invalidArgument("labels mix 0 and −1; logistic regression needs labels ±1 or 0/1")
        }
        return hasZero ? labels.map { $0 == 0 ? -1 : 1 } : labels
    }

    /// λ_max = ‖Xᵀy‖∞/(2nα): the smallest λ with w* = 0 (the loss' gradient at 0 is −Xᵀy/(2n)).
    public static func lambdaMax(design: CSRMatrix, labels: [Double], l1Ratio: Double = 1) throws -> Double {
        let y = try signedLabels(labels)
        let c = try design.multiplyTransposed(y)
        return (c.map(abs).max() ?? 0) / (2 * Double(max(design.rows, 1)) * l1Ratio)
    }

    var n: Double { Double(max(design.rows, 1)) }

    /// log(1 + exp(m)), without overflow.
    @inline(__always) static func softplus(_ m: Double) -> Double { m > 0 ? m + Foundation.log1p(Foundation.exp(-m)) : Foundation.log1p(Foundation.exp(m)) }

    /// σ(t) = 1/(1 + exp(−t)).
    @inline(__always) static func sigmoid(_ t: Double) -> Double { t >= 0 ? 1 / (1 + Foundation.exp(-t)) : Foundation.exp(t) / (1 + Foundation.exp(t)) }

    /// (1/n) Σ log(1 + exp(−yᵢzᵢ)) at z = Xw.
    public func loss(margins z: [Double]) -> Double {
        var total = 0.0
        for i in 0..<z.count { total += Self.softplus(-labels[i] * z[i]) }
        return total / n
    }

    public func penalty(_ w: [Double]) -> Double {
        var l1 = 0.0, l2 = 0.0
        for v in w { l1 += abs(v); l2 += v * v }
        return lambda * (l1Ratio * l1 + (1 - l1Ratio) / 2 * l2)
    }

    public func objective(_ w: [Double]) throws -> Double { loss(margins: try design.multiply(w)) + penalty(w) }

    /// The duality gap of w from z = Xw and the loss' gradient ∇F = Xᵀu (uᵢ = −yᵢσ(−yᵢzᵢ)/n):
    /// the dual point θ = −s·u, with (α = 1) s ≤ 1 scaling it into |Xⱼᵀθ| ≤ λ, and
    /// D(θ) = (1/n) Σ H(s·σ(−yᵢzᵢ)) − G*(Xᵀθ) (H the binary entropy; G*(v) = Σ(|vⱼ| − λα)₊²/(2λ(1 − α))
    /// for α < 1, s = 1 then). Nonnegative; zero exactly at the optimum.
    public func certificate(weights w: [Double], margins z: [Double], gradient: [Double]) -> Double {
        let largest = gradient.reduce(0) { max($0, abs($1)) }
        let bound = lambda * l1Ratio
        let s = l1Ratio == 1 && largest > bound ? bound / largest : 1
        var dual = 0.0
        for i in 0..<z.count {
            let p = s * Self.sigmoid(-labels[i] * z[i])
            if p > 0 && p < 1 { dual -= p * Foundation.log(p) + (1 - p) * Foundation.log1p(-p) }
        }
        dual /= n
        if l1Ratio < 1 {
            let ridge = lambda * (1 - l1Ratio)
            for g in gradient {
                let excess = max(abs(g) - bound, 0)
                dual -= excess * excess / (2 * ridge)
            }
        }
        return max(loss(margins: z) + penalty(w) - dual, 0)
    }

    /// The duality gap of w (one product with X and one with Xᵀ).
    public func dualityGap(_ w: [Double]) throws -> Double {
        let z = try design.multiply(w)
        let u = (0..<z.count).map { -labels[$0] * Self.sigmoid(-labels[$0] * z[$0]) / n }
        return certificate(weights: w, margins: z, gradient: try design.multiplyTransposed(u))
    }
}

extension SparseLogisticRegression {
    /// One point of a regularization path: λ, the solve's result and its objective.
    public struct PathPoint: Sendable {
        public var lambda: Double
        public var result: ProximalNewton.Result
        public var objective: Double
        public var supportSize: Int
    }

    /// Solves at this problem's λ and returns the path point.
    /// - Throws: `SparseLogisticRegressionError.notConverged` when the gap missed the target.
    public func solvePoint(tolerance: Double = 1e-8, warmStart: [Double]? = nil, designCSC: CSCMatrix? = nil,
                           options: ProximalNewton.Options = .init()) throws -> PathPoint {
        let result = try ProximalNewton(options: options).solve(self, tolerance: tolerance, warmStart: warmStart, design: designCSC)
        guard result.converged else {
            throw SparseLogisticRegressionError.notConverged(steps: result.newtonSteps, gap: result.dualityGap, target: result.targetGap)
        }
        return PathPoint(lambda: lambda, result: result, objective: try objective(result.solution),
                         supportSize: result.solution.filter { $0 != 0 }.count)
    }

    /// The regularization path over `count` values of λ spaced geometrically from λ_max down
    /// to λ_max/`ratio`, each solve warm-started from the previous solution.
    /// - Throws: `.invalidArgument` for count < 1 or ratio ≤ 1 or λ_max = 0; the solves' errors.
    public static func path(design: CSRMatrix, labels: [Double], l1Ratio: Double = 1, count: Int, ratio: Double,
                            tolerance: Double = 1e-8, options: ProximalNewton.Options = .init(),
                            designCSC: CSCMatrix? = nil) throws -> [PathPoint] {
        guard count >= 1, ratio > 1, ratio.isFinite else {
            throw SparseError.invalidArgument("a path needs at least 1 point and a ratio above 1, got \(count) and \(ratio)")
        }
        let lambdaMax = try lambdaMax(design: design, labels: labels, l1Ratio: l1Ratio)
        guard lambdaMax > 0 else { throw SparseError.invalidArgument("λ_max is 0: Xᵀy = 0") }
        let csc = designCSC ?? design.toCSC()
        var points: [PathPoint] = []
        var warm: [Double]?
        for k in 0..<count {
            let lambda = count == 1 ? lambdaMax / ratio : lambdaMax * Foundation.pow(ratio, -Double(k) / Double(count - 1))
            let problem = try SparseLogisticRegression(design: design, labels: labels, lambda: lambda, l1Ratio: l1Ratio)
            let point = try problem.solvePoint(tolerance: tolerance, warmStart: warm, designCSC: csc, options: options)
            warm = point.result.solution
            points.append(point)
        }
        return points
    }
}

/// Failures of the sparse logistic regression solve.
public enum SparseLogisticRegressionError: Error, CustomStringConvertible, Sendable {
    /// The proximal Newton solve stopped above the target gap (step limit, or rounding: no step lowers the objective).
    case notConverged(steps: Int, gap: Double, target: Double)

    public var description: String {
        switch self {
        case let .notConverged(steps, gap, target):
            return String(format: "inner solver (proximal Newton) did not converge: duality gap %.3e after %d Newton steps, tolerance %.3e (below about 1e-11·log 2 the gap is rounding: loosen --tol)",
                          gap, steps, target)
        }
    }
}
