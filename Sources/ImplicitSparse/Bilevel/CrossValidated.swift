import Foundation

/// k-fold cross-validation of any model: C(θ) = Σ_f (n_f/n) C_f(θ) over held-out criteria,
/// one per fold (each trained on the other folds' rows), and its hypergradient, the same
/// weighted sum. Generic over problems: the folds can be `HeldOutGLM`s of any datafit ×
/// penalty, or any other `LambdaPathCriterion` sharing θ's meaning.
public final class CrossValidated: LambdaPathCriterion {
    public let folds: [any LambdaPathCriterion]
    /// n_f/n per fold.
    public let weights: [Double]
    /// λ_max of the whole data (the folds' own differ slightly; the tuner's bounds use this one).
    public let lambdaMax: Double

    /// - Throws: `.invalidArgument` for no folds, weights not one per fold or not positive, or
    ///   folds of different dimensions.
    public init(folds: [any LambdaPathCriterion], weights: [Double], lambdaMax: Double) throws {
        guard let first = folds.first, folds.allSatisfy({ $0.dimension == first.dimension }) else {
            throw SparseError.invalidArgument("cross-validation needs at least one fold, all of one dimension")
        }
        guard weights.count == folds.count, weights.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw SparseError.invalidArgument("cross-validation needs one positive weight per fold")
        }
        self.folds = folds
        self.weights = weights
        self.lambdaMax = lambdaMax
    }

    public var dimension: Int { folds[0].dimension }
    public func theta(lambda: Double) -> [Double] { folds[0].theta(lambda: lambda) }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        var value = 0.0, gradient = [Double](repeating: 0, count: theta.count)
        for (fold, weight) in zip(folds, weights) {
            let (v, g) = try fold.evaluate(theta)
            value += weight * v
            for j in gradient.indices where j < g.count { gradient[j] += weight * g[j] }
        }
        return (value, gradient)
    }

    public func value(at theta: [Double]) throws -> Double {
        try zip(folds, weights).reduce(0) { $0 + $1.1 * (try $1.0.value(at: theta)) }
    }

    public var innerSolves: Int { folds.reduce(0) { $0 + $1.innerSolves } }
    public var innerEpochs: Int { folds.reduce(0) { $0 + $1.innerEpochs } }
    public var solveSeconds: Double { folds.reduce(0) { $0 + $1.solveSeconds } }
    public var hypergradientSeconds: Double { folds.reduce(0) { $0 + $1.hypergradientSeconds } }
    public var linearAlgebra: LinearSolveStrategy.Counts { folds.reduce(LinearSolveStrategy.Counts()) { $0 + $1.linearAlgebra } }
    public var lastSupportSize: Int { folds.last?.lastSupportSize ?? 0 }
}
