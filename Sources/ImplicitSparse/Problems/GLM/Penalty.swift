import Foundation
import Sparse

/// The regularizer g(w) of a generalized linear model, with a strength λ (the hyperparameter
/// that tuning and hypergradients move, in log scale).
///
/// A penalty acts on blocks of coordinates: single coordinates for a separable penalty
/// (`SeparablePenalty`: ℓ1, elastic net, MCP, box…), given groups for a block penalty
/// (`GroupLasso`). What a conforming type states is what the working-set solver, the KKT
/// certificate and the implicit layer need (skglm's penalty interface, as a Swift protocol):
///
/// - its value (+∞ outside a constraint),
/// - the proximal operator of `step`·g on a block,
/// - the distance of −∇F to the subdifferential ∂g on a block (0 exactly at a stationary point:
///   the KKT residual and the working set's scores; the Fréchet subdifferential for nonconvex
///   penalties),
/// - the prox's Jacobian with respect to its input and to λ on a block (its pattern gives the
///   implicit layer's support reduction),
/// - λ_max where it is defined, and the fixed-point step the implicit layer may use.
///
/// Conformers: `L1`, `ElasticNet`, `WeightedL1`, `NonNegativeL1`, `MCP`, `SCAD`, `BoxConstraint`,
/// `GroupLasso`. A new penalty is a new conforming type in its own file; neither the solver,
/// the implicit layer nor the CLI changes (`Examples/Sources/CustomPenalty` defines one outside
/// the library).
public protocol Penalty: Sendable {
    /// A short name ("l1", "mcp", …) for reports.
    var name: String { get }
    /// λ ≥ 0.
    var strength: Double { get }
    /// False for a penalty without a strength (box constraints): λ is then ignored.
    var hasStrength: Bool { get }
    /// The same penalty at another strength.
    func withStrength(_ lambda: Double) -> Self
    /// False for MCP and SCAD: the solver then returns a stationary point, certified by its
    /// KKT residual, and says so.
    var isConvex: Bool { get }
    /// Disjoint ranges covering 0..<p for a block penalty; nil for a separable one.
    var blocks: [Range<Int>]? { get }
    /// The largest coordinate this penalty describes plus one (nil: any p).
    var dimension: Int? { get }
    /// A step η > 0 for which the prox of ηg is single-valued and its fixed points are the
    /// stationary points (1 for a convex penalty; below MCP's γ and SCAD's γ − 1).
    var fixedPointStep: Double { get }

    /// prox_{step·gⱼ}(v) for a coordinate that is a block of its own (the solver's hot path;
    /// a default goes through `blockProx`).
    func prox(_ v: Double, step: Double, coordinate j: Int) -> Double
    /// dist(−g, ∂gⱼ(x)) for a coordinate that is a block of its own (a default goes through
    /// `blockSubdifferentialDistance`).
    func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double
    /// True when a coordinate that is a block of its own is clamped at x (0 for the ℓ1 family).
    func isZero(_ x: Double, coordinate j: Int) -> Bool
    /// g on a block.
    func blockValue(_ x: UnsafeBufferPointer<Double>, block: Range<Int>) -> Double
    /// v ← prox_{step·g}(v) on a block.
    func blockProx(_ v: UnsafeMutableBufferPointer<Double>, step: Double, block: Range<Int>)
    /// dist(−gradient, ∂g(x)) on a block, in the Euclidean norm.
    func blockSubdifferentialDistance(_ x: UnsafeBufferPointer<Double>, gradient: UnsafeBufferPointer<Double>, block: Range<Int>) -> Double
    /// ∂prox/∂v (k × k, row-major) and ∂prox/∂λ (k) at v on a block of k coordinates.
    func blockProxJacobian(_ v: [Double], step: Double, block: Range<Int>) -> (jacobian: [Double], strength: [Double])
    /// True when a block is zero at x (`x` is the block's values): the coordinates a path's
    /// support counts.
    func isZero(_ x: UnsafeBufferPointer<Double>, block: Range<Int>) -> Bool
    /// The smallest λ at which w = 0 is optimal given ∇F at w = 0 (unpenalized coordinates at
    /// their optimum); nil when the penalty has no such threshold (box constraints).
    func lambdaMax(gradientAtZero g: [Double]) -> Double?
    /// Coordinates the penalty leaves free at any λ (ωⱼ = 0), which λ_max is computed with.
    var unpenalizedCoordinates: [Int] { get }
    /// Checks the penalty against p features (weights, groups, bounds), naming the bad entry.
    func validate(features p: Int) throws
    /// True when, with a quadratic datafit, the degrees of freedom of the fit are the support
    /// size (the ℓ1 family: Zou, Hastie & Tibshirani 2007; Tibshirani & Taylor 2012, for X_S of
    /// full rank): Stein's unbiased risk estimate then applies (`SteinUnbiasedRiskCriterion`).
    /// Default false.
    var degreesOfFreedomAreSupportSize: Bool { get }
    /// For a duality gap at v = −Xᵀu (u the datafit's gradient): the largest s ∈ (0, 1] with
    /// g*(s·v) finite, and g*(s·v). nil when the penalty gives no gap (nonconvex, or a
    /// constraint that scaling cannot satisfy). Default nil.
    func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)?
}

extension Penalty {
    public func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)? { nil }
    public var degreesOfFreedomAreSupportSize: Bool { false }
    public var hasStrength: Bool { true }
    public var dimension: Int? { nil }
    public var unpenalizedCoordinates: [Int] { [] }
    public var fixedPointStep: Double { 1 }
    public func validate(features p: Int) throws {
        if let d = dimension, d != p {
            throw SparseError.dimensionMismatch(operation: "the \(name) penalty", expected: "\(p) features", actual: "\(d)")
        }
        if let blocks {
            var next = 0
            for (g, b) in blocks.enumerated() {
                guard b.lowerBound == next, !b.isEmpty else {
                    throw SparseError.invalidArgument("group \(g) (\(b)) does not start where the previous one ended (\(next)): groups must be contiguous, non-empty ranges covering the features in order")
                }
                next = b.upperBound
            }
            guard next == p else {
                throw SparseError.invalidArgument("the groups cover \(next) features, the design has \(p)")
            }
        }
    }

    /// g(w) over all coordinates (+∞ outside a constraint).
    public func value(_ w: [Double]) -> Double {
        w.withUnsafeBufferPointer { x in
            var total = 0.0
            forEachBlock(count: w.count) { b in total += blockValue(UnsafeBufferPointer(rebasing: x[b]), block: b) }
            return total
        }
    }

    /// max over blocks of dist(−∇F, ∂g): the KKT residual of w (0 at a stationary point).
    public func kktResidual(_ w: [Double], gradient: [Double]) -> Double {
        w.withUnsafeBufferPointer { x in
            gradient.withUnsafeBufferPointer { g in
                var worst = 0.0
                forEachBlock(count: w.count) { b in
                    worst = max(worst, blockSubdifferentialDistance(UnsafeBufferPointer(rebasing: x[b]),
                                                                    gradient: UnsafeBufferPointer(rebasing: g[b]), block: b))
                }
                return worst
            }
        }
    }

    /// prox_{step·g}(v) over all coordinates.
    public func prox(_ v: [Double], step: Double) -> [Double] {
        var out = v
        out.withUnsafeMutableBufferPointer { o in
            forEachBlock(count: v.count) { b in blockProx(UnsafeMutableBufferPointer(rebasing: o[b]), step: step, block: b) }
        }
        return out
    }

    /// The number of nonzero blocks of w (nonzero coordinates for a separable penalty).
    public func supportSize(_ w: [Double]) -> Int {
        w.withUnsafeBufferPointer { x in
            var count = 0
            forEachBlock(count: w.count) { b in if !isZero(UnsafeBufferPointer(rebasing: x[b]), block: b) { count += 1 } }
            return count
        }
    }

    public func isZero(_ x: UnsafeBufferPointer<Double>, block: Range<Int>) -> Bool { x.allSatisfy { $0 == 0 } }

    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        var value = x, gradient = g
        return withUnsafePointer(to: &value) { xp in
            withUnsafePointer(to: &gradient) { gp in
                blockSubdifferentialDistance(UnsafeBufferPointer(start: xp, count: 1), gradient: UnsafeBufferPointer(start: gp, count: 1), block: j..<j + 1)
            }
        }
    }

    public func isZero(_ x: Double, coordinate j: Int) -> Bool {
        var value = x
        return withUnsafePointer(to: &value) { isZero(UnsafeBufferPointer(start: $0, count: 1), block: j..<j + 1) }
    }

    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double {
        var x = v
        withUnsafeMutablePointer(to: &x) { blockProx(UnsafeMutableBufferPointer(start: $0, count: 1), step: step, block: j..<j + 1) }
        return x
    }

    func forEachBlock(count p: Int, _ body: (Range<Int>) -> Void) {
        if let blocks { for b in blocks { body(b) } } else { for j in 0..<p { body(j..<j + 1) } }
    }
}

/// A penalty that is a sum of one-dimensional terms gⱼ(wⱼ): it states them per coordinate and
/// gets the block interface (blocks of one) for free.
public protocol SeparablePenalty: Penalty {
    /// gⱼ(x).
    func value(_ x: Double, coordinate j: Int) -> Double
    /// prox_{step·gⱼ}(v).
    func prox(_ v: Double, step: Double, coordinate j: Int) -> Double
    /// dist(−g, ∂gⱼ(x)).
    func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double
    /// (∂/∂v, ∂/∂λ) of prox_{step·gⱼ}(v).
    func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double)
}

extension SeparablePenalty {
    public var blocks: [Range<Int>]? { nil }
    public func blockValue(_ x: UnsafeBufferPointer<Double>, block: Range<Int>) -> Double {
        var total = 0.0
        for (k, j) in block.enumerated() { total += value(x[k], coordinate: j) }
        return total
    }
    public func blockProx(_ v: UnsafeMutableBufferPointer<Double>, step: Double, block: Range<Int>) {
        for (k, j) in block.enumerated() { v[k] = prox(v[k], step: step, coordinate: j) }
    }
    public func blockSubdifferentialDistance(_ x: UnsafeBufferPointer<Double>, gradient: UnsafeBufferPointer<Double>, block: Range<Int>) -> Double {
        var total = 0.0
        for (k, j) in block.enumerated() { let d = subdifferentialDistance(x[k], gradient: gradient[k], coordinate: j); total += d * d }
        return total.squareRoot()
    }
    public func blockProxJacobian(_ v: [Double], step: Double, block: Range<Int>) -> (jacobian: [Double], strength: [Double]) {
        let k = block.count
        var jacobian = [Double](repeating: 0, count: k * k), strength = [Double](repeating: 0, count: k)
        for (a, j) in block.enumerated() {
            let d = proxDerivatives(v[a], step: step, coordinate: j)
            jacobian[a * k + a] = d.value
            strength[a] = d.strength
        }
        return (jacobian, strength)
    }
}

@inline(__always) func softThreshold(_ v: Double, _ t: Double) -> Double { v > t ? v - t : (v < -t ? v + t : 0) }
@inline(__always) func signOf(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }

func checkStrength(_ lambda: Double, _ name: String) throws {
    guard lambda >= 0, lambda.isFinite else {
        throw SparseError.invalidArgument("the \(name) penalty's λ must be ≥ 0 and finite, got \(lambda)")
    }
}

/// λ‖w‖₁ (the lasso's penalty).
public struct L1: SeparablePenalty {
    public let strength: Double
    /// - Throws: `.invalidArgument` for λ < 0 or not finite.
    public init(lambda: Double) throws { try checkStrength(lambda, "ℓ1"); strength = lambda }
    public var name: String { "l1" }
    public var degreesOfFreedomAreSupportSize: Bool { true }
    /// g* = ι(‖v‖∞ ≤ λ).
    public func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)? {
        let m = v.reduce(0) { max($0, abs($1)) }
        return (m > strength ? strength / m : 1, 0)
    }
    public var isConvex: Bool { true }
    public func withStrength(_ lambda: Double) -> L1 { (try? L1(lambda: max(lambda, 0))) ?? self }
    public func value(_ x: Double, coordinate j: Int) -> Double { strength * abs(x) }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double { softThreshold(v, step * strength) }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        x == 0 ? max(abs(g) - strength, 0) : abs(g + strength * signOf(x))
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        abs(v) > step * strength ? (1, -step * signOf(v)) : (0, 0)
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? { g.reduce(0) { max($0, abs($1)) } }
}

/// λ(α‖w‖₁ + (1 − α)/2‖w‖²), α ∈ (0, 1] (scikit-learn's parametrization).
public struct ElasticNet: SeparablePenalty {
    public let strength: Double
    /// α, the ℓ1 share.
    public let l1Ratio: Double
    /// - Throws: `.invalidArgument` for λ < 0 or α ∉ (0, 1].
    public init(lambda: Double, l1Ratio: Double) throws {
        try checkStrength(lambda, "elastic net")
        guard l1Ratio > 0, l1Ratio <= 1 else { throw SparseError.invalidArgument("the elastic net's l1 ratio must be in (0, 1], got \(l1Ratio)") }
        strength = lambda
        self.l1Ratio = l1Ratio
    }
    public var name: String { "enet" }
    /// g*(v) = Σ (|vⱼ| − λα)₊² / (2λ(1 − α)), finite everywhere.
    public func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)? {
        let l1 = strength * l1Ratio, l2 = strength * (1 - l1Ratio)
        guard l2 > 0 else { return L1Value(strength: l1).feasibility(v) }
        return (1, v.reduce(0) { let e = max(abs($1) - l1, 0); return $0 + e * e } / (2 * l2))
    }
    public var isConvex: Bool { true }
    public func withStrength(_ lambda: Double) -> ElasticNet { (try? ElasticNet(lambda: max(lambda, 0), l1Ratio: l1Ratio)) ?? self }
    public func value(_ x: Double, coordinate j: Int) -> Double { strength * (l1Ratio * abs(x) + (1 - l1Ratio) / 2 * x * x) }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double {
        softThreshold(v, step * strength * l1Ratio) / (1 + step * strength * (1 - l1Ratio))
    }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        let l1 = strength * l1Ratio, l2 = strength * (1 - l1Ratio)
        return x == 0 ? max(abs(g) - l1, 0) : abs(g + l1 * signOf(x) + l2 * x)
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        let a = step * strength * l1Ratio, c = 1 + step * strength * (1 - l1Ratio)
        guard abs(v) > a else { return (0, 0) }
        let numerator = v - a * signOf(v)
        return (1 / c, -step * l1Ratio * signOf(v) / c - numerator * step * (1 - l1Ratio) / (c * c))
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? { g.reduce(0) { max($0, abs($1)) } / l1Ratio }
}

/// λ Σⱼ ωⱼ|wⱼ| with ωⱼ ≥ 0 (ωⱼ = 0: feature j unpenalized).
public struct WeightedL1: SeparablePenalty {
    public let strength: Double
    public let weights: [Double]
    /// - Throws: `.invalidArgument` for λ < 0, or a weight that is negative or not finite (naming it).
    public init(lambda: Double, weights: [Double]) throws {
        try checkStrength(lambda, "weighted ℓ1")
        if let bad = weights.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            throw SparseError.invalidArgument("penalty weight \(bad) is \(weights[bad]); weights must be finite and ≥ 0")
        }
        strength = lambda
        self.weights = weights
    }
    public var name: String { "wl1" }
    public var degreesOfFreedomAreSupportSize: Bool { true }
    /// g* = ι(|vⱼ| ≤ λωⱼ); none with an unpenalized feature (ωⱼ = 0 needs vⱼ = 0 exactly).
    public func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)? {
        var scale = 1.0
        for j in v.indices where v[j] != 0 {
            guard weights[j] > 0 else { return nil }
            scale = min(scale, strength * weights[j] / abs(v[j]))
        }
        return (scale, 0)
    }
    public var isConvex: Bool { true }
    public var dimension: Int? { weights.count }
    public var unpenalizedCoordinates: [Int] { weights.indices.filter { weights[$0] == 0 } }
    public func withStrength(_ lambda: Double) -> WeightedL1 { (try? WeightedL1(lambda: max(lambda, 0), weights: weights)) ?? self }
    public func value(_ x: Double, coordinate j: Int) -> Double { strength * weights[j] * abs(x) }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double { softThreshold(v, step * strength * weights[j]) }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        let t = strength * weights[j]
        return x == 0 ? max(abs(g) - t, 0) : abs(g + t * signOf(x))
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        abs(v) > step * strength * weights[j] ? (1, -step * weights[j] * signOf(v)) : (0, 0)
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? {
        var largest = 0.0
        for j in 0..<min(g.count, weights.count) where weights[j] > 0 { largest = max(largest, abs(g[j]) / weights[j]) }
        return largest
    }
}

/// λ‖w‖₁ with w ≥ 0 (the non-negative lasso).
public struct NonNegativeL1: SeparablePenalty {
    public let strength: Double
    public init(lambda: Double) throws { try checkStrength(lambda, "non-negative ℓ1"); strength = lambda }
    public var name: String { "nnl1" }
    public var degreesOfFreedomAreSupportSize: Bool { true }
    /// g* = ι(vⱼ ≤ λ).
    public func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)? {
        let m = v.reduce(0) { max($0, $1) }
        return (m > strength ? strength / m : 1, 0)
    }
    public var isConvex: Bool { true }
    public func withStrength(_ lambda: Double) -> NonNegativeL1 { (try? NonNegativeL1(lambda: max(lambda, 0))) ?? self }
    public func value(_ x: Double, coordinate j: Int) -> Double { x < 0 ? .infinity : strength * x }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double { max(v - step * strength, 0) }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        x > 0 ? abs(g + strength) : max(-g - strength, 0)
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        v > step * strength ? (1, -step) : (0, 0)
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? { max(g.reduce(0) { max($0, -$1) }, 0) }
}

/// The minimax concave penalty (Zhang 2010): λ|x| − x²/(2γ) for |x| ≤ γλ, γλ²/2 beyond, γ > 1
/// in the usual scaling. Nonconvex: the solver returns a stationary point with its KKT
/// residual. Its prox with step η < γ is single-valued with Jacobian 1/(1 − η/γ) > 1 between
/// the thresholds, so the implicit layer's reduced system carries the penalty's negative
/// curvature −1/γ there and may be indefinite (it is solved by LU, and a singular one is
/// reported).
public struct MCP: SeparablePenalty {
    public let strength: Double
    public let gamma: Double
    /// - Throws: `.invalidArgument` for λ < 0 or γ ≤ 0.
    public init(lambda: Double, gamma: Double) throws {
        try checkStrength(lambda, "MCP")
        guard gamma > 0, gamma.isFinite else { throw SparseError.invalidArgument("MCP's γ must be positive and finite, got \(gamma)") }
        strength = lambda
        self.gamma = gamma
    }
    public var name: String { "mcp" }
    public var isConvex: Bool { false }
    public var fixedPointStep: Double { gamma / 2 }
    public func withStrength(_ lambda: Double) -> MCP { (try? MCP(lambda: max(lambda, 0), gamma: gamma)) ?? self }
    public func value(_ x: Double, coordinate j: Int) -> Double {
        let a = abs(x)
        return a <= gamma * strength ? strength * a - a * a / (2 * gamma) : gamma * strength * strength / 2
    }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double {
        let a = abs(v), s = signOf(v), lambda = strength
        if step < gamma {
            if a <= step * lambda { return 0 }
            if a <= gamma * lambda { return s * (a - step * lambda) / (1 - step / gamma) }
            return v
        }
        // η ≥ γ: the middle piece is concave, so the minimizer is 0, the threshold, or v.
        var best = 0.0, bestValue = a * a / (2 * step)
        for candidate in (a > gamma * lambda ? [v] : [s * gamma * lambda]) {
            let h = (candidate - v) * (candidate - v) / (2 * step) + value(candidate, coordinate: j)
            if h < bestValue { best = candidate; bestValue = h }
        }
        return best
    }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        let a = abs(x)
        if x == 0 { return max(abs(g) - strength, 0) }
        if a <= gamma * strength { return abs(g + signOf(x) * (strength - a / gamma)) }
        return abs(g)
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        let a = abs(v)
        guard step < gamma, a > step * strength else { return (0, 0) }
        if a <= gamma * strength { return (1 / (1 - step / gamma), -step * signOf(v) / (1 - step / gamma)) }
        return (1, 0)
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? { g.reduce(0) { max($0, abs($1)) } }
}

/// The smoothly clipped absolute deviation penalty (Fan & Li 2001), γ > 2: λ|x| up to λ, a
/// quadratic joining piece (2γλ|x| − x² − λ²)/(2(γ − 1)) up to γλ, λ²(γ + 1)/2 beyond.
/// Nonconvex: as `MCP`, a stationary point certified by its KKT residual; the implicit
/// layer uses the step (γ − 1)/2.
public struct SCAD: SeparablePenalty {
    public let strength: Double
    public let gamma: Double
    /// - Throws: `.invalidArgument` for λ < 0 or γ ≤ 2.
    public init(lambda: Double, gamma: Double) throws {
        try checkStrength(lambda, "SCAD")
        guard gamma > 2, gamma.isFinite else { throw SparseError.invalidArgument("SCAD's γ must be above 2 and finite, got \(gamma)") }
        strength = lambda
        self.gamma = gamma
    }
    public var name: String { "scad" }
    public var isConvex: Bool { false }
    public var fixedPointStep: Double { (gamma - 1) / 2 }
    public func withStrength(_ lambda: Double) -> SCAD { (try? SCAD(lambda: max(lambda, 0), gamma: gamma)) ?? self }
    public func value(_ x: Double, coordinate j: Int) -> Double {
        let a = abs(x), l = strength
        if a <= l { return l * a }
        if a <= gamma * l { return (2 * gamma * l * a - a * a - l * l) / (2 * (gamma - 1)) }
        return l * l * (gamma + 1) / 2
    }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double {
        let a = abs(v), s = signOf(v), l = strength
        // The minimizer of (x − a)²/(2η) + g(x) over x ≥ 0 among each piece's candidate.
        var candidates = [min(max(a - step * l, 0), l), gamma * l, max(a, gamma * l)]
        let curvature = 1 / step - 1 / (gamma - 1)
        if curvature > 0 { candidates.append(min(max((a / step - gamma * l / (gamma - 1)) / curvature, l), gamma * l)) }
        var best = 0.0, bestValue = Double.infinity
        for x in candidates {
            let h = (x - a) * (x - a) / (2 * step) + value(x, coordinate: j)
            if h < bestValue { best = x; bestValue = h }
        }
        return s * best
    }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        let a = abs(x), l = strength
        if x == 0 { return max(abs(g) - l, 0) }
        if a <= l { return abs(g + signOf(x) * l) }
        if a <= gamma * l { return abs(g + signOf(x) * (gamma * l - a) / (gamma - 1)) }
        return abs(g)
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        let x = prox(v, step: step, coordinate: j), a = abs(x), l = strength
        guard x != 0, step < gamma - 1 else { return (0, 0) }
        if a < l { return (1, -step * signOf(v)) }
        if a == l { return (0, signOf(v)) }  // clamped at the first threshold
        if a < gamma * l {
            let c = (gamma - 1) - step
            return ((gamma - 1) / c, -step * gamma * signOf(v) / c)
        }
        return (1, 0)
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? { g.reduce(0) { max($0, abs($1)) } }
}

/// Box constraints lⱼ ≤ wⱼ ≤ uⱼ (the indicator of the box; no strength: λ is ignored and its
/// derivative is 0).
public struct BoxConstraint: SeparablePenalty {
    public let lower: [Double]
    public let upper: [Double]
    /// - Throws: `.invalidArgument` for bounds of different lengths, NaN, or lⱼ > uⱼ (naming j).
    public init(lower: [Double], upper: [Double]) throws {
        guard lower.count == upper.count else {
            throw SparseError.dimensionMismatch(operation: "BoxConstraint", expected: "\(lower.count) upper bounds", actual: "\(upper.count)")
        }
        if let bad = lower.indices.first(where: { lower[$0].isNaN || upper[$0].isNaN || lower[$0] > upper[$0] }) {
            throw SparseError.invalidArgument("bound \(bad): [\(lower[bad]), \(upper[bad])] is not an interval")
        }
        self.lower = lower
        self.upper = upper
    }
    public var name: String { "box" }
    public var strength: Double { 0 }
    public var hasStrength: Bool { false }
    public var isConvex: Bool { true }
    public var dimension: Int? { lower.count }
    public func withStrength(_ lambda: Double) -> BoxConstraint { self }
    public func value(_ x: Double, coordinate j: Int) -> Double { x >= lower[j] && x <= upper[j] ? 0 : .infinity }
    public func prox(_ v: Double, step: Double, coordinate j: Int) -> Double { min(max(v, lower[j]), upper[j]) }
    public func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        if lower[j] == upper[j] { return 0 }
        if x <= lower[j] { return max(-g, 0) }
        if x >= upper[j] { return max(g, 0) }
        return abs(g)
    }
    public func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        v > lower[j] && v < upper[j] ? (1, 0) : (0, 0)
    }
    public func isZero(_ x: Double, coordinate j: Int) -> Bool { !(x > lower[j] && x < upper[j]) }
    public func isZero(_ x: UnsafeBufferPointer<Double>, block: Range<Int>) -> Bool {
        // At a bound counts as clamped (the prox's Jacobian vanishes there).
        for (k, j) in block.enumerated() where x[k] > lower[j] && x[k] < upper[j] { return false }
        return true
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? { nil }
}

/// The group lasso λ Σ_g ω_g‖w_g‖₂ over contiguous groups (Yuan & Lin 2006); ω_g defaults to
/// √|g|, ω_g = 0 leaves a group unpenalized. Block-separable: the prox shrinks each group's
/// norm, its Jacobian on an active group is the dense block (1 − t/‖v‖)I + t vvᵀ/‖v‖³.
public struct GroupLasso: Penalty {
    public let strength: Double
    public let groups: [Range<Int>]
    public let groupWeights: [Double]
    /// - Throws: `.invalidArgument` for λ < 0, a bad weight, or weights not one per group.
    public init(lambda: Double, groups: [Range<Int>], weights: [Double]? = nil) throws {
        try checkStrength(lambda, "group lasso")
        let w = weights ?? groups.map { Double($0.count).squareRoot() }
        guard w.count == groups.count else {
            throw SparseError.dimensionMismatch(operation: "GroupLasso", expected: "\(groups.count) group weights", actual: "\(w.count)")
        }
        if let bad = w.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
            throw SparseError.invalidArgument("group weight \(bad) is \(w[bad]); weights must be finite and ≥ 0")
        }
        strength = lambda
        self.groups = groups
        groupWeights = w
        var index = [Int: Int]()
        for (g, b) in groups.enumerated() { index[b.lowerBound] = g }
        groupOfStart = index
    }
    /// Groups from one label per feature (features of a group must be consecutive).
    /// - Throws: `.invalidArgument` naming the first feature whose label was already closed.
    public static func contiguousGroups(labels: [Int]) throws -> [Range<Int>] {
        var groups: [Range<Int>] = [], seen = Set<Int>()
        var start = 0
        for j in 0..<labels.count where j == labels.count - 1 || labels[j + 1] != labels[j] {
            guard seen.insert(labels[j]).inserted else {
                throw SparseError.invalidArgument("feature \(j): group \(labels[j]) appears again after another group; the features of a group must be consecutive")
            }
            groups.append(start..<j + 1)
            start = j + 1
        }
        return groups
    }
    private let groupOfStart: [Int: Int]
    public var name: String { "group" }
    public var isConvex: Bool { true }
    /// g* = ι(‖v_g‖₂ ≤ λω_g) per group; none with an unpenalized group (ω_g = 0).
    public func dualFeasibility(_ v: [Double]) -> (scale: Double, conjugate: Double)? {
        var scale = 1.0
        for (g, block) in groups.enumerated() {
            let norm = block.reduce(0.0) { $0 + v[$1] * v[$1] }.squareRoot()
            guard norm > 0 else { continue }
            guard groupWeights[g] > 0 else { return nil }
            scale = min(scale, strength * groupWeights[g] / norm)
        }
        return (scale, 0)
    }
    public var blocks: [Range<Int>]? { groups }
    public var dimension: Int? { groups.last?.upperBound ?? 0 }
    public var unpenalizedCoordinates: [Int] { groups.indices.filter { groupWeights[$0] == 0 }.flatMap { Array(groups[$0]) } }
    public func withStrength(_ lambda: Double) -> GroupLasso {
        (try? GroupLasso(lambda: max(lambda, 0), groups: groups, weights: groupWeights)) ?? self
    }
    @inline(__always) func weight(_ block: Range<Int>) -> Double { groupOfStart[block.lowerBound].map { groupWeights[$0] } ?? 1 }
    static func norm(_ x: UnsafeBufferPointer<Double>) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    public func blockValue(_ x: UnsafeBufferPointer<Double>, block: Range<Int>) -> Double { strength * weight(block) * Self.norm(x) }
    public func blockProx(_ v: UnsafeMutableBufferPointer<Double>, step: Double, block: Range<Int>) {
        let size = Self.norm(UnsafeBufferPointer(v)), t = step * strength * weight(block)
        let factor = size > t ? 1 - t / size : 0
        for k in 0..<v.count { v[k] *= factor }
    }
    public func blockSubdifferentialDistance(_ x: UnsafeBufferPointer<Double>, gradient: UnsafeBufferPointer<Double>, block: Range<Int>) -> Double {
        let t = strength * weight(block), size = Self.norm(x)
        if size == 0 { return max(Self.norm(gradient) - t, 0) }
        var total = 0.0
        for k in 0..<x.count { let d = gradient[k] + t * x[k] / size; total += d * d }
        return total.squareRoot()
    }
    public func blockProxJacobian(_ v: [Double], step: Double, block: Range<Int>) -> (jacobian: [Double], strength: [Double]) {
        let k = v.count, omega = weight(block), t = step * strength * omega
        let size = v.withUnsafeBufferPointer { Self.norm($0) }
        var jacobian = [Double](repeating: 0, count: k * k), dStrength = [Double](repeating: 0, count: k)
        guard size > t else { return (jacobian, dStrength) }
        for a in 0..<k {
            for b in 0..<k { jacobian[a * k + b] = t * v[a] * v[b] / (size * size * size) }
            jacobian[a * k + a] += 1 - t / size
            dStrength[a] = -step * omega * v[a] / size
        }
        return (jacobian, dStrength)
    }
    public func lambdaMax(gradientAtZero g: [Double]) -> Double? {
        var largest = 0.0
        g.withUnsafeBufferPointer { gp in
            for (i, b) in groups.enumerated() where groupWeights[i] > 0 && b.upperBound <= g.count {
                largest = max(largest, Self.norm(UnsafeBufferPointer(rebasing: gp[b])) / groupWeights[i])
            }
        }
        return largest
    }
}

/// ι(‖v‖∞ ≤ λ)'s scaling, shared by the ℓ1 family.
struct L1Value {
    let strength: Double
    func feasibility(_ v: [Double]) -> (scale: Double, conjugate: Double) {
        let m = v.reduce(0) { max($0, abs($1)) }
        return (m > strength ? strength / m : 1, 0)
    }
}
