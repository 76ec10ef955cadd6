import Dispatch
import Foundation

/// A Gaussian regression model whose degrees of freedom at a solution are known, so that
/// Stein's unbiased risk estimate (SURE) applies without held-out rows. Conformers:
/// `GeneralizedLinearModel` with the quadratic datafit and an ℓ1-type penalty (`L1`,
/// `WeightedL1`, `NonNegativeL1`: df = |S|, plus 1 for an intercept) and
/// `RegularizedLeastSquares` with the lasso penalty (the same). Other pairs report
/// `hasKnownDegreesOfFreedom` false — the elastic net, ridge, MCP, SCAD and the group lasso,
/// whose df are not the support size (`SteinUnbiasedRisk` estimates the elastic net's by a
/// Monte-Carlo finite difference), and non-quadratic datafits, for which SURE is not defined.
public protocol DegreesOfFreedomProblem: HyperparameterProblem {
    /// True when `degreesOfFreedom(at:)` is exact for this model.
    var hasKnownDegreesOfFreedom: Bool { get }
    /// df at a solution (nil when unknown).
    func degreesOfFreedom(at solution: Solution) -> Double?
    /// The training rows' mean squared error ‖y − Xw − b‖²/n, as this model's held-out loss.
    func trainingMeanSquaredError() throws -> HeldOut
    /// n, the training rows.
    var sampleCount: Int { get }
}

/// SURE(θ) = ‖y − ŷ(θ)‖²/n − σ² + 2σ²·df(θ)/n, an unbiased estimate of the prediction risk
/// of a Gaussian model (Stein 1981) from the training rows alone, for any
/// `DegreesOfFreedomProblem`. df is piecewise constant in θ (it changes where the support
/// does), so the hypergradient is that of the training error — one adjoint per evaluation,
/// through the model's own `hypergradient(of:at:strategy:)`.
public final class SteinUnbiasedRiskCriterion<Problem: DegreesOfFreedomProblem>: TuningCriterion {
    /// The training error's held-out criterion (solves, warm starts, counters).
    public let fit: HeldOutCriterion<Problem>
    /// σ², given or estimated.
    public let noiseVariance: Double
    /// True when σ² was estimated (RSS/(n − df) at the model as given).
    public let estimatedNoiseVariance: Bool
    /// df at the last evaluation.
    public private(set) var lastDegreesOfFreedom = 0.0

    /// - Parameters:
    ///   - problem: the model at its starting hyperparameters.
    ///   - noiseVariance: σ²; nil estimates it as RSS/(n − df) from a solve of `problem` as
    ///     given (choose hyperparameters that leave few residual degrees of freedom to noise,
    ///     e.g. the lasso at λ_max/100).
    ///   - tuned: the hyperparameters to tune, as `HeldOutCriterion`.
    ///   - tolerance: the inner solves' tolerance, as `HeldOutCriterion`.
    ///   - strategy: the linear solver, as `HeldOutCriterion`.
    /// - Throws: `.invalidArgument` when the model's df are unknown, σ² is not positive and
    ///   finite, or the estimate has no residual degrees of freedom (df ≥ n).
    public init(problem: Problem, noiseVariance: Double? = nil, tuned: [Int]? = nil, tolerance: Double? = nil,
                strategy: LinearSolveStrategy? = nil) throws {
        guard problem.hasKnownDegreesOfFreedom else {
            throw SparseError.invalidArgument("SURE needs the degrees of freedom: known for a quadratic datafit with an ℓ1-type penalty (l1, wl1, nnl1) or the lasso; this model's are not")
        }
        fit = try HeldOutCriterion(problem: problem, heldOut: try problem.trainingMeanSquaredError(), tuned: tuned, tolerance: tolerance,
                                   strategy: strategy)
        if let noiseVariance {
            guard noiseVariance > 0, noiseVariance.isFinite else { throw SparseError.invalidArgument("σ² must be positive and finite, got \(noiseVariance)") }
            self.noiseVariance = noiseVariance
            estimatedNoiseVariance = false
        } else {
            let solution = try problem.solve(warmStart: nil, tolerance: tolerance, strategy: fit.strategy)
            let df = problem.degreesOfFreedom(at: solution) ?? .nan
            let n = Double(problem.sampleCount)
            guard df < n else {
                throw SparseError.invalidArgument("σ² cannot be estimated: df = \(Int(df)) leaves no residual degrees of freedom among \(problem.sampleCount) rows; give it")
            }
            let mse = try problem.value(of: try problem.trainingMeanSquaredError(), at: solution)
            self.noiseVariance = mse * n / (n - df)
            estimatedNoiseVariance = true
        }
    }

    public var dimension: Int { fit.dimension }
    public var innerSolves: Int { fit.innerSolves }
    public var innerEpochs: Int { fit.innerEpochs }
    public var solveSeconds: Double { fit.solveSeconds }
    public var hypergradientSeconds: Double { fit.hypergradientSeconds }
    public var linearAlgebra: LinearSolveStrategy.Counts { fit.linearAlgebra }
    public var lastSupportSize: Int { fit.lastSupportSize }

    func correction() throws -> Double {
        guard let last = fit.last, let df = last.problem.degreesOfFreedom(at: last.solution) else {
            throw SparseError.invalidArgument("SURE: the degrees of freedom of the last solve are unknown")
        }
        lastDegreesOfFreedom = df
        let n = Double(fit.problem.sampleCount)
        return -noiseVariance + 2 * noiseVariance * df / n
    }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        let (value, gradient) = try fit.evaluate(theta)
        return (value + (try correction()), gradient)
    }

    public func value(at theta: [Double]) throws -> Double {
        try fit.value(at: theta) + (try correction())
    }
}

extension SteinUnbiasedRiskCriterion: LambdaPathCriterion where Problem: RegularizationPathProblem {
    public var lambdaMax: Double { fit.lambdaMax }
    public func theta(lambda: Double) -> [Double] { fit.theta(lambda: lambda) }
}

extension GeneralizedLinearModel: DegreesOfFreedomProblem {
    /// A quadratic datafit without sample weights and an ℓ1-type penalty.
    public var hasKnownDegreesOfFreedom: Bool {
        datafit.isQuadratic && sampleWeights == nil && penalty.degreesOfFreedomAreSupportSize
    }

    public func degreesOfFreedom(at solution: Solution) -> Double? {
        hasKnownDegreesOfFreedom ? Double(solution.supportSize + (fitIntercept ? 1 : 0)) : nil
    }

    public func trainingMeanSquaredError() throws -> any LinearModelLoss {
        try HeldOutLoss(design: design, loss: SquaredError(targets: datafit.targets))
    }

    public var sampleCount: Int { rows }
}

extension RegularizedLeastSquares: DegreesOfFreedomProblem {
    /// The lasso (unweighted, not constrained).
    public var hasKnownDegreesOfFreedom: Bool { penalty == .lasso && penaltyWeights == nil && !nonNegative }

    public func degreesOfFreedom(at solution: Solution) -> Double? {
        hasKnownDegreesOfFreedom ? Double(solution.weights.filter { $0 != 0 }.count + (fitIntercept ? 1 : 0)) : nil
    }

    public func trainingMeanSquaredError() throws -> any LinearModelLoss {
        try HeldOutLoss(design: design.toCSC(), loss: SquaredError(targets: targets))
    }

    public var sampleCount: Int { design.rows }
}
