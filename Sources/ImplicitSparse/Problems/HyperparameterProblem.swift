import Dispatch
import Foundation

/// A model whose solution x*(θ) depends on hyperparameters θ (regularization strengths), which
/// it can solve (warm-started), evaluate a held-out loss at, and differentiate that loss at,
/// through the implicit layer. Every shipped model conforms — `GeneralizedLinearModel` (any
/// datafit × penalty), `RegularizedLeastSquares` (lasso, elastic net, ridge),
/// `GraphLeastSquares`, `GraphTotalVariation`, `GraphNet` —, and so can a user's: the generic
/// `HeldOutCriterion` tunes any of them with `Tuner`, and `finiteDifference(of:at:)` checks
/// any of them.
///
/// Hyperparameters are given on their natural scale; derivatives are taken in their
/// logarithms (d/d log h = h ∂/∂h, which is 0 for a hyperparameter held at 0).
public protocol HyperparameterProblem {
    /// What a solve returns (x* with its certificate).
    associatedtype Solution
    /// What the outer loss needs besides the solution: held-out rows and their loss
    /// (`any LinearModelLoss` for the regression models), validation nodes and their loss
    /// (`NodeLoss` for the graph models).
    associatedtype HeldOut

    /// The names of the hyperparameters, in order ("λ", "ε").
    var hyperparameterNames: [String] { get }
    /// Their values.
    var hyperparameters: [Double] { get }
    /// The same model at other hyperparameters.
    /// - Throws: the model's own error for values it refuses (λ ≤ 0, a non-unique solution).
    func with(hyperparameters: [Double]) throws -> Self
    /// The linear solver this model's solves and adjoints use by default, told how many solves
    /// one prepared state will serve.
    func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy
    /// Solves the model. `warmStart` is a solution of the same model at other
    /// hyperparameters (ignored by direct methods); `tolerance` is the model's own relative
    /// certificate target (KKT residual, duality gap or linear residual; nil: the model's
    /// default), never silently loosened: a solve that does not reach it throws.
    func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution
    /// The work and the certificate of a solve, in terms every model shares.
    func summary(of solution: Solution) -> SolveSummary
    /// The held-out loss at a solution.
    func value(of heldOut: HeldOut, at solution: Solution) throws -> Double
    /// The held-out loss and its gradient in log θ (one component per hyperparameter), with
    /// the adjoint's report, the condition's residual, the generalized support and whether
    /// the derivative is unique.
    func hypergradient(of heldOut: HeldOut, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]>
}

/// What a solve did, in terms every `HyperparameterProblem` shares.
public struct SolveSummary: Sendable, Encodable {
    /// Iterations of the model's solver (epochs, ADMM or Krylov iterations; 0 for a direct solve).
    public var iterations: Int
    public var seconds: Double
    /// The optimality certificate reached and its name ("KKT residual", "duality gap",
    /// "relative residual").
    public var certificate: Double
    public var certificateName: String
    /// Nonzero weights, or fused groups; nil for a model without a sparse support.
    public var supportSize: Int?
    /// False for a stationary point of a nonconvex model.
    public var globalOptimum: Bool

    public init(iterations: Int, seconds: Double, certificate: Double, certificateName: String, supportSize: Int? = nil,
                globalOptimum: Bool = true) {
        self.iterations = iterations
        self.seconds = seconds
        self.certificate = certificate
        self.certificateName = certificateName
        self.supportSize = supportSize
        self.globalOptimum = globalOptimum
    }
}

/// An outer loss of a linear model's weights w and intercept b: the held-out rows' loss
/// (`HeldOutLoss`, any datafit as the per-row loss), or one of the user's.
public protocol LinearModelLoss {
    /// L(w, b) and its gradient in w and in b.
    func valueAndGradient(_ w: [Double], intercept b: Double) throws -> (value: Double, weights: [Double], intercept: Double)
}

extension HeldOutLoss: LinearModelLoss {}

extension HyperparameterProblem {
    /// The default strategy for one solve and its adjoint.
    public var defaultStrategy: LinearSolveStrategy { defaultStrategy(expectedSolves: 2) }

    /// Solves at the model's hyperparameters with its default tolerance and strategy.
    public func solve(warmStart: Solution? = nil) throws -> Solution {
        try solve(warmStart: warmStart, tolerance: nil, strategy: defaultStrategy)
    }

    /// Central finite differences of the held-out loss in the log of each hyperparameter
    /// (nil for one held at 0), re-solving at `tolerance` (default 10⁻¹²) warm-started from
    /// `solution`: an independent check of `hypergradient(of:at:strategy:)`. Away from kinks
    /// of the solution path (support changes, group merges) the two agree to O(h²) plus the
    /// solves' error over h.
    public func finiteDifference(of heldOut: HeldOut, at solution: Solution, step h: Double = 1e-4, tolerance: Double = 1e-12,
                                 strategy: LinearSolveStrategy? = nil) throws -> [Double?] {
        guard h > 0, h.isFinite else { throw SparseError.invalidArgument("the finite-difference step must be positive and finite, got \(h)") }
        let strategy = strategy ?? defaultStrategy(expectedSolves: 4 * hyperparameters.count)
        let theta = hyperparameters
        return try theta.indices.map { k -> Double? in
            guard theta[k] > 0 else { return nil }
            var values: [Double] = []
            for sign in [1.0, -1.0] {
                var shifted = theta
                shifted[k] = theta[k] * Foundation.exp(sign * h)
                let side = try with(hyperparameters: shifted)
                values.append(try side.value(of: heldOut, at: try side.solve(warmStart: solution, tolerance: tolerance, strategy: strategy)))
            }
            return (values[0] - values[1]) / (2 * h)
        }
    }
}

/// The held-out criterion of any `HyperparameterProblem`, C(θ) with θ the logs of the tuned
/// hyperparameters (all positive ones by default), and its hypergradient: each evaluation is
/// a solve warm-started from the last one and one adjoint, with one `LinearSolveStrategy`
/// kept across evaluations (a factorization's symbolic analysis, an AMG hierarchy). What
/// `Tuner` minimizes for any model; `CrossValidated` sums it over folds.
public final class HeldOutCriterion<Problem: HyperparameterProblem>: TuningCriterion {
    public let problem: Problem
    public let heldOut: Problem.HeldOut
    /// The indices of the hyperparameters θ covers, in θ's order.
    public let tuned: [Int]
    public let tolerance: Double?
    public let strategy: LinearSolveStrategy
    public private(set) var innerSolves = 0
    public private(set) var innerEpochs = 0
    public private(set) var solveSeconds = 0.0
    public private(set) var hypergradientSeconds = 0.0
    public private(set) var lastSupportSize = 0
    /// The last model solved and its solution (the next solve's warm start).
    public private(set) var last: (problem: Problem, solution: Problem.Solution)?
    var cachedLambdaMax: Double??

    /// - Parameters:
    ///   - problem: the model at its starting hyperparameters (those not tuned stay fixed).
    ///   - heldOut: the held-out data and loss.
    ///   - tuned: which hyperparameters to tune (default: every positive one).
    ///   - tolerance: the inner solves' tolerance (nil: the model's default).
    ///   - strategy: the linear solver of the solves and adjoints (default: the model's, told
    ///     that it serves many solves).
    /// - Throws: `.invalidArgument` for an index out of range, repeated, or of a
    ///   hyperparameter that is not positive (its logarithm is θ).
    public init(problem: Problem, heldOut: Problem.HeldOut, tuned: [Int]? = nil, tolerance: Double? = nil,
                strategy: LinearSolveStrategy? = nil) throws {
        let values = problem.hyperparameters
        let tuned = tuned ?? values.indices.filter { values[$0] > 0 }
        guard !tuned.isEmpty, Set(tuned).count == tuned.count, tuned.allSatisfy({ values.indices.contains($0) }) else {
            throw SparseError.invalidArgument("tune at least one of the \(values.count) hyperparameters (\(problem.hyperparameterNames.joined(separator: ", "))), each once")
        }
        if let bad = tuned.first(where: { !(values[$0] > 0 && values[$0].isFinite) }) {
            throw SparseError.invalidArgument("\(problem.hyperparameterNames[bad]) = \(values[bad]) cannot be tuned on a log scale: start it positive")
        }
        self.problem = problem
        self.heldOut = heldOut
        self.tuned = tuned
        self.tolerance = tolerance
        self.strategy = strategy ?? problem.defaultStrategy(expectedSolves: 40)
    }

    public var dimension: Int { tuned.count }
    public var linearAlgebra: LinearSolveStrategy.Counts { strategy.counts }
    /// θ of the starting model.
    public var start: [Double] { tuned.map { Foundation.log(problem.hyperparameters[$0]) } }

    /// The hyperparameters at θ (the untuned ones as the starting model has them).
    public func hyperparameters(theta: [Double]) throws -> [Double] {
        guard theta.count == tuned.count, theta.allSatisfy(\.isFinite) else {
            throw SparseError.invalidArgument("θ must have \(tuned.count) finite components (the logs of \(tuned.map { problem.hyperparameterNames[$0] }.joined(separator: ", "))); got \(theta)")
        }
        var values = problem.hyperparameters
        for (k, index) in tuned.enumerated() { values[index] = Foundation.exp(theta[k]) }
        return values
    }

    /// The model at θ, solved warm-started.
    public func solve(_ theta: [Double]) throws -> (problem: Problem, solution: Problem.Solution) {
        let model = try problem.with(hyperparameters: try hyperparameters(theta: theta))
        let start = DispatchTime.now().uptimeNanoseconds
        let solution = try model.solve(warmStart: last?.solution, tolerance: tolerance, strategy: strategy)
        solveSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let summary = model.summary(of: solution)
        innerSolves += 1
        innerEpochs += summary.iterations
        lastSupportSize = summary.supportSize ?? 0
        last = (model, solution)
        return (model, solution)
    }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        let (model, solution) = try solve(theta)
        let start = DispatchTime.now().uptimeNanoseconds
        let h = try model.hypergradient(of: heldOut, at: solution, strategy: strategy)
        hypergradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return (h.value, tuned.map { h.gradient[$0] })
    }

    public func value(at theta: [Double]) throws -> Double {
        let (model, solution) = try solve(theta)
        return try model.value(of: heldOut, at: solution)
    }
}

/// A model with a regularization path: a largest useful strength λ_max (every weight 0 above
/// it) and the hyperparameters of a plain λ. Its `HeldOutCriterion` is a
/// `LambdaPathCriterion`, so `Tuner.tune(_:path:)` sets the start, bounds and grid from λ_max.
public protocol RegularizationPathProblem: HyperparameterProblem {
    /// λ_max, or nil when the model has none.
    func pathLambdaMax() throws -> Double?
    /// The hyperparameters equal to a plain λ (the others as this model has them).
    func hyperparameters(lambda: Double) -> [Double]
}

extension HeldOutCriterion: LambdaPathCriterion where Problem: RegularizationPathProblem {
    /// The model's λ_max (NaN when it has none: `Tuner.tune(_:path:)` then refuses).
    public var lambdaMax: Double {
        if let cached = cachedLambdaMax { return cached ?? .nan }
        let value = (try? problem.pathLambdaMax()) ?? nil
        cachedLambdaMax = .some(value)
        return value ?? .nan
    }

    public func theta(lambda: Double) -> [Double] {
        let values = problem.hyperparameters(lambda: lambda)
        return tuned.map { Foundation.log(values[$0]) }
    }
}
