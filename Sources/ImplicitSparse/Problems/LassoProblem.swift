import Foundation
import Sparse

/// The lasso (and elastic net, in scikit-learn's parametrization)
/// min (1/2n)‖y − Xw − b‖² + λ(α‖w‖₁ + (1 − α)/2 ‖w‖²), with its duality gap. Without an
/// intercept b = 0. With one (`fitIntercept`), b is unpenalized and eliminated exactly
/// (b = ȳ − μᵀw with μ the column means): the problem becomes a lasso in the centered design
/// X̃ = X − 1μᵀ and targets ỹ = y − ȳ, and X̃ is never formed — its products cost those of X
/// plus O(n + p) (X̃w = Xw − (μᵀw)1, X̃ᵀr = Xᵀr − μ(1ᵀr)), so the sparsity of X is kept.
public struct LassoProblem: Sendable {
    public let design: CSRMatrix
    public let targets: [Double]
    public let lambda: Double
    /// α: 1 for the lasso, in (0, 1) for the elastic net.
    public let l1Ratio: Double
    public let fitIntercept: Bool
    /// μ, the column means of X (zero without an intercept).
    public let columnMeans: [Double]
    /// ȳ (zero without an intercept).
    public let targetMean: Double
    /// ỹ = y − ȳ.
    public let centeredTargets: [Double]

    /// - Throws: `.dimensionMismatch`, `.nonFinite`, `.invalidArgument` (λ ≤ 0, α ∉ (0, 1]).
    public init(design: CSRMatrix, targets: [Double], lambda: Double, l1Ratio: Double = 1, fitIntercept: Bool = false) throws {
        guard targets.count == design.rows else {
            throw SparseError.dimensionMismatch(operation: "LassoProblem", expected: "\(design.rows) targets",
                                                actual: "\(targets.count)")
        }
        if let bad = targets.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "targets", index: bad) }
        guard lambda > 0, lambda.isFinite else { throw SparseError.invalidArgument("λ must be positive and finite, got \(lambda)") }
        guard l1Ratio > 0, l1Ratio <= 1 else { throw SparseError.invalidArgument("l1 ratio must be in (0, 1], got \(l1Ratio)") }
        if fitIntercept && design.rows == 0 { throw SparseError.invalidArgument("an intercept needs at least one row") }
        self.design = design
        self.targets = targets
        self.lambda = lambda
        self.l1Ratio = l1Ratio
        self.fitIntercept = fitIntercept
        (columnMeans, targetMean, centeredTargets) = try Self.centering(design, targets, fitIntercept)
    }

    static func centering(_ x: CSRMatrix, _ y: [Double], _ fitIntercept: Bool) throws -> ([Double], Double, [Double]) {
        guard fitIntercept, x.rows > 0 else { return ([Double](repeating: 0, count: x.columns), 0, y) }
        let n = Double(x.rows)
        let means = try x.multiplyTransposed([Double](repeating: 1 / n, count: x.rows))
        let mean = y.reduce(0, +) / n
        return (means, mean, y.map { $0 - mean })
    }

    /// λ_max = ‖X̃ᵀỹ‖∞ / (nα): the smallest λ with w* = 0 (X̃ᵀỹ = Xᵀ(y − ȳ) with an intercept).
    public static func lambdaMax(design: CSRMatrix, targets: [Double], l1Ratio: Double = 1, fitIntercept: Bool = false) throws -> Double {
        let (_, _, centered) = try centering(design, targets, fitIntercept)
        let c = try design.multiplyTransposed(centered)
        return c.map(abs).max().map { $0 / (Double(design.rows) * l1Ratio) } ?? 0
    }

    var n: Double { Double(design.rows) }

    /// X̃w (= Xw without an intercept).
    public func designProduct(_ w: [Double]) -> [Double] {
        var out = try! design.multiply(w)
        if fitIntercept {
            let shift = Vector.dot(columnMeans, w)
            for i in 0..<out.count { out[i] -= shift }
        }
        return out
    }

    /// X̃ᵀr (= Xᵀr without an intercept).
    public func designTransposedProduct(_ r: [Double]) -> [Double] {
        var out = try! design.multiplyTransposed(r)
        if fitIntercept {
            let total = r.reduce(0, +)
            for j in 0..<out.count { out[j] -= columnMeans[j] * total }
        }
        return out
    }

    /// The intercept b = ȳ − μᵀw of a solution w (0 without an intercept).
    public func intercept(_ w: [Double]) -> Double { fitIntercept ? targetMean - Vector.dot(columnMeans, w) : 0 }

    public func smooth(_ w: [Double]) -> (value: Double, gradient: [Double]) {
        let r = zip(designProduct(w), centeredTargets).map { $0 - $1 }
        var gradient = designTransposedProduct(r)
        let ridge = lambda * (1 - l1Ratio)
        for i in 0..<gradient.count { gradient[i] = gradient[i] / n + ridge * w[i] }
        let value = r.reduce(0) { $0 + $1 * $1 } / (2 * n) + ridge / 2 * w.reduce(0) { $0 + $1 * $1 }
        return (value, gradient)
    }

    public func prox(_ v: [Double], _ step: Double) -> [Double] {
        let t = step * lambda * l1Ratio
        return v.map { $0 > t ? $0 - t : ($0 < -t ? $0 + t : 0) }
    }

    public func penalty(_ w: [Double]) -> Double { lambda * l1Ratio * w.reduce(0) { $0 + abs($1) } }

    public func objective(_ w: [Double]) -> Double { smooth(w).value + penalty(w) }

    /// Duality gap P(w) − D(ν) with the dual point ν = s·(ỹ − X̃w)/n scaled into the dual
    /// feasible set (elastic net: the ridge part enters as in Friedman et al.'s augmented
    /// lasso). Nonnegative; zero exactly at the optimum.
    public func dualityGap(_ w: [Double]) -> Double {
        let residual = zip(centeredTargets, designProduct(w)).map { $0 - $1 }
        let ridge = lambda * (1 - l1Ratio)
        var correlation = designTransposedProduct(residual)
        for i in 0..<correlation.count { correlation[i] = correlation[i] / n - ridge * w[i] }
        let bound = lambda * l1Ratio
        let largest = correlation.map(abs).max() ?? 0
        let s = largest > bound ? bound / largest : 1
        // Primal and dual values (the ridge part written as an augmented least squares).
        let primal = objective(w)
        let residualNorm2 = residual.reduce(0) { $0 + $1 * $1 }
        let yr = zip(centeredTargets, residual).map(*).reduce(0, +)
        let wNorm2 = w.reduce(0) { $0 + $1 * $1 }
        let dual = (s * yr - s * s * residualNorm2 / 2) / n - ridge * s * s * wNorm2 / 2
        return max(primal - dual, 0)
    }

    /// ‖ỹ‖²/(2n): the scale of the CLI's --tol (the duality gap is divided by it).
    public var gapScale: Double { max(centeredTargets.reduce(0) { $0 + $1 * $1 } / (2 * n), 1e-300) }

    /// An upper bound estimate of the Lipschitz constant of ∇f: ‖X̃ᵀX̃‖/n by power iteration,
    /// plus the ridge part.
    public func lipschitzEstimate(iterations: Int = 20) -> Double {
        var v = [Double](repeating: 1, count: design.columns)
        var estimate = 0.0
        for _ in 0..<iterations {
            let w = designTransposedProduct(designProduct(v))
            estimate = Vector.norm(w)
            guard estimate > 0 else { break }
            v = w.map { $0 / estimate }
        }
        return estimate / n + lambda * (1 - l1Ratio)
    }

    /// Solves by FISTA to a duality gap ≤ tolerance·‖ỹ‖²/(2n) (scale-free, as the CLI's --tol).
    public func solve(tolerance: Double = 1e-8, warmStart: [Double]? = nil, maxIterations: Int = 20_000) -> ProximalGradient.Result {
        var options = ProximalGradient.Options()
        options.tolerance = tolerance * gapScale
        options.maxIterations = maxIterations
        let lipschitz = lipschitzEstimate()
        options.initialStep = lipschitz > 0 ? 0.99 / lipschitz : 1
        let solver = ProximalGradient(options: options)
        return solver.minimize(from: warmStart ?? [Double](repeating: 0, count: design.columns),
                               smooth: smooth, prox: prox, penalty: penalty, certificate: dualityGap)
    }
}
