import Foundation
import Sparse

/// The data term of a generalized linear model, F(w, b) = (1/S) Σᵢ sᵢ fᵢ(xᵢᵀw + b), given by
/// its per-row loss fᵢ of the linear predictor zᵢ = xᵢᵀw + b (sᵢ the sample weights, S = Σ sᵢ;
/// all 1 by default, S = n).
///
/// Everything a solver needs follows from the per-row derivatives: the gradient ∇F = Xᵀu
/// with uᵢ = sᵢ f′ᵢ(zᵢ)/S, the Hessian XᵀDX with Dᵢ = sᵢ f″ᵢ(zᵢ)/S (prox-Newton's model and
/// the implicit layer's reduced system), and per-coordinate Lipschitz constants
/// `curvatureBound`·Σᵢ sᵢ X²ᵢⱼ/S where f″ is bounded. The per-row functions are called O(n)
/// times per Newton step, never inside the coordinate loop: a new datafit costs nothing in
/// the solver's hot path.
///
/// A conforming type holds its targets (`targets.count` rows); `GeneralizedLinearModel`
/// checks them against the design with `validate(rows:)`.
public protocol Datafit: Sendable {
    /// A short name ("quadratic", "logistic", …) for reports.
    var name: String { get }
    /// yᵢ, one per row.
    var targets: [Double] { get }
    /// fᵢ(z).
    func loss(_ z: Double, row i: Int) -> Double
    /// f′ᵢ(z).
    func derivative(_ z: Double, row i: Int) -> Double
    /// f″ᵢ(z) (a generalized second derivative where f′ has kinks, as Huber's).
    func secondDerivative(_ z: Double, row i: Int) -> Double
    /// sup_z f″ᵢ(z) when bounded (quadratic 1, logistic 1/4, Huber 1); nil otherwise
    /// (Poisson): the solver's Newton model then uses the local curvature only.
    var curvatureBound: Double? { get }
    /// True when f″ is constant (least squares): one Newton model is the problem itself.
    var isQuadratic: Bool { get }
    /// The intercept minimizing F at w = 0 (Σᵢ sᵢ f′ᵢ(b) = 0), the start of the intercept's
    /// coordinate and the base of λ_max.
    func interceptAtZero(sampleWeights: [Double]?) -> Double
    /// Checks the targets (finite, in the datafit's domain), naming the first bad row.
    func validate() throws
    /// The same datafit on other targets (held-out rows, a cross-validation fold).
    func withTargets(_ targets: [Double]) throws -> Self
    /// The convex conjugate f*ᵢ(t) = sup_z tz − fᵢ(z), for the duality gap; nil outside its
    /// domain or when the datafit has none. Default nil (no gap: the KKT residual certifies).
    func conjugate(_ t: Double, row i: Int) -> Double?
}

extension Datafit {
    public func conjugate(_ t: Double, row i: Int) -> Double? { nil }

    public func validate() throws {
        if let bad = targets.firstIndex(where: { !$0.isFinite }) {
            throw SparseError.nonFinite(what: "the \(name) datafit's targets", index: bad)
        }
    }

}

/// Least squares, fᵢ(z) = ½(yᵢ − z)²: with sample weights all 1, F = (1/2n)‖y − Xw − b‖²
/// (scikit-learn's and skglm's `Quadratic`).
public struct Quadratic: Datafit {
    public let targets: [Double]
    public init(targets: [Double]) { self.targets = targets }
    public func withTargets(_ targets: [Double]) -> Quadratic { Quadratic(targets: targets) }
    public var name: String { "quadratic" }
    public func loss(_ z: Double, row i: Int) -> Double { let r = targets[i] - z; return 0.5 * r * r }
    public func conjugate(_ t: Double, row i: Int) -> Double? { 0.5 * t * t + t * targets[i] }
    public func derivative(_ z: Double, row i: Int) -> Double { z - targets[i] }
    public func secondDerivative(_ z: Double, row i: Int) -> Double { 1 }
    public var curvatureBound: Double? { 1 }
    public var isQuadratic: Bool { true }
    public func interceptAtZero(sampleWeights s: [Double]?) -> Double {
        var total = 0.0, weight = 0.0
        for i in 0..<targets.count { let si = s?[i] ?? 1; total += si * targets[i]; weight += si }
        return weight > 0 ? total / weight : 0
    }
}

/// The squared error fᵢ(z) = (yᵢ − z)², twice `Quadratic`: the mean squared error as a
/// held-out loss (what `isparse hypergrad` reports for least-squares models).
public struct SquaredError: Datafit {
    public let targets: [Double]
    public init(targets: [Double]) { self.targets = targets }
    public func withTargets(_ targets: [Double]) -> SquaredError { SquaredError(targets: targets) }
    public var name: String { "squared error" }
    public func loss(_ z: Double, row i: Int) -> Double { let r = targets[i] - z; return r * r }
    public func conjugate(_ t: Double, row i: Int) -> Double? { 0.25 * t * t + t * targets[i] }
    public func derivative(_ z: Double, row i: Int) -> Double { 2 * (z - targets[i]) }
    public func secondDerivative(_ z: Double, row i: Int) -> Double { 2 }
    public var curvatureBound: Double? { 2 }
    public var isQuadratic: Bool { true }
    public func interceptAtZero(sampleWeights s: [Double]?) -> Double { Quadratic(targets: targets).interceptAtZero(sampleWeights: s) }
}

/// Logistic loss, fᵢ(z) = log(1 + exp(−yᵢz)) with labels yᵢ ∈ {−1, +1} (0/1 labels are mapped
/// to ±1 by `init(labels:)`).
public struct Logistic: Datafit {
    public let targets: [Double]
    /// - Throws: `.invalidArgument` naming the first label that is not ±1 or 0/1.
    public init(labels: [Double]) throws { targets = try SparseLogisticRegression.signedLabels(labels) }
    public func withTargets(_ targets: [Double]) throws -> Logistic { try Logistic(labels: targets) }
    public var name: String { "logistic" }
    public func loss(_ z: Double, row i: Int) -> Double { SparseLogisticRegression.softplus(-targets[i] * z) }
    /// With a = −t·yᵢ ∈ [0, 1]: a log a + (1 − a) log(1 − a).
    public func conjugate(_ t: Double, row i: Int) -> Double? {
        let a = -t * targets[i]
        guard a >= 0, a <= 1 else { return nil }
        return (a > 0 ? a * Foundation.log(a) : 0) + (a < 1 ? (1 - a) * Foundation.log(1 - a) : 0)
    }
    public func derivative(_ z: Double, row i: Int) -> Double {
        -targets[i] * SparseLogisticRegression.sigmoid(-targets[i] * z)
    }
    public func secondDerivative(_ z: Double, row i: Int) -> Double {
        let s = SparseLogisticRegression.sigmoid(targets[i] * z)
        return s * (1 - s)
    }
    public var curvatureBound: Double? { 0.25 }
    public var isQuadratic: Bool { false }
    public func interceptAtZero(sampleWeights s: [Double]?) -> Double {
        // σ(b) = weighted fraction of positive labels.
        var positive = 0.0, total = 0.0
        for i in 0..<targets.count { let si = s?[i] ?? 1; total += si; if targets[i] > 0 { positive += si } }
        guard total > 0, positive > 0, positive < total else { return 0 }
        return Foundation.log(positive / (total - positive))
    }
}

/// Huber's loss of the residual r = yᵢ − z: ½r² for |r| ≤ δ, δ|r| − ½δ² beyond (quadratic
/// near the fit, linear for outliers; Huber 1964, skglm's `Huber`).
public struct Huber: Datafit {
    public let targets: [Double]
    /// δ > 0, where the loss turns linear.
    public let delta: Double
    /// - Throws: `.invalidArgument` for δ that is not positive and finite.
    public init(targets: [Double], delta: Double) throws {
        guard delta > 0, delta.isFinite else { throw SparseError.invalidArgument("Huber's δ must be positive and finite, got \(delta)") }
        self.targets = targets
        self.delta = delta
    }
    public func withTargets(_ targets: [Double]) throws -> Huber { try Huber(targets: targets, delta: delta) }
    public var name: String { "huber" }
    /// ½t² + t·yᵢ for |t| ≤ δ (the conjugate of the Huber function of the residual).
    public func conjugate(_ t: Double, row i: Int) -> Double? { abs(t) <= delta * (1 + 1e-12) ? 0.5 * t * t + t * targets[i] : nil }
    public func loss(_ z: Double, row i: Int) -> Double {
        let r = abs(targets[i] - z)
        return r <= delta ? 0.5 * r * r : delta * r - 0.5 * delta * delta
    }
    public func derivative(_ z: Double, row i: Int) -> Double {
        let r = targets[i] - z
        return -min(max(r, -delta), delta)
    }
    public func secondDerivative(_ z: Double, row i: Int) -> Double { abs(targets[i] - z) <= delta ? 1 : 0 }
    public var curvatureBound: Double? { 1 }
    public var isQuadratic: Bool { false }
    public func interceptAtZero(sampleWeights s: [Double]?) -> Double {
        // The weighted Huber location: a few Newton steps on the clipped residuals from the
        // median-free start ȳ (f″ may vanish, so steps are damped by the δ-band's weight).
        var b = Quadratic(targets: targets).interceptAtZero(sampleWeights: s)
        for _ in 0..<200 {
            var g = 0.0, h = 0.0
            for i in 0..<targets.count {
                let si = s?[i] ?? 1
                g += si * derivative(b, row: i)
                h += si * secondDerivative(b, row: i)
            }
            let total = s?.reduce(0, +) ?? Double(targets.count)
            let step = g / max(h, 1e-3 * total)
            b -= step
            if abs(step) <= 1e-13 * max(1, abs(b)) { break }
        }
        return b
    }
}

/// Poisson regression with the log link: fᵢ(z) = exp(z) − yᵢz for counts yᵢ ≥ 0 (the negative
/// log-likelihood up to a constant; scikit-learn's `PoissonRegressor` and skglm's `Poisson`).
/// f″ = exp(z) is unbounded, so the solver uses Newton models with a line search.
public struct Poisson: Datafit {
    public let targets: [Double]
    public init(targets: [Double]) { self.targets = targets }
    public func withTargets(_ targets: [Double]) -> Poisson { Poisson(targets: targets) }
    public var name: String { "poisson" }
    public func loss(_ z: Double, row i: Int) -> Double { Foundation.exp(z) - targets[i] * z }
    /// (t + yᵢ) log(t + yᵢ) − (t + yᵢ) for t + yᵢ ≥ 0.
    public func conjugate(_ t: Double, row i: Int) -> Double? {
        let s = t + targets[i]
        guard s >= 0 else { return nil }
        return s > 0 ? s * Foundation.log(s) - s : 0
    }
    public func derivative(_ z: Double, row i: Int) -> Double { Foundation.exp(z) - targets[i] }
    public func secondDerivative(_ z: Double, row i: Int) -> Double { Foundation.exp(z) }
    public var curvatureBound: Double? { nil }
    public var isQuadratic: Bool { false }
    public func validate() throws {
        if let bad = targets.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
            throw SparseError.invalidArgument("Poisson targets must be finite counts ≥ 0; row \(bad) has \(targets[bad])")
        }
    }
    public func interceptAtZero(sampleWeights s: [Double]?) -> Double {
        var total = 0.0, weight = 0.0
        for i in 0..<targets.count { let si = s?[i] ?? 1; total += si * targets[i]; weight += si }
        return total > 0 && weight > 0 ? Foundation.log(total / weight) : 0
    }
}
