import Dispatch
import Foundation

/// The held-out criterion of any `GeneralizedLinearModel` in θ = [log λ]: the held-out loss
/// (any `Datafit` as the per-row loss) of the solution at λ and its hypergradient through the
/// implicit layer. Each evaluation is a solve warm-started from the previous one (weights and
/// intercept) and one reduced adjoint; the counters say what they cost.
public final class HeldOutGLM<Fit: Datafit, Reg: Penalty, Loss: Datafit>: LambdaPathCriterion {
    public let model: GeneralizedLinearModel<Fit, Reg>
    public let heldOut: HeldOutLoss<Loss>
    public let tolerance: Double
    public let strategy: LinearSolveStrategy
    public let lambdaMax: Double
    public private(set) var innerSolves = 0
    public private(set) var innerEpochs = 0
    public private(set) var solveSeconds = 0.0
    public private(set) var hypergradientSeconds = 0.0
    public private(set) var lastSupportSize = 0
    /// The last solution (the next solve's warm start).
    public private(set) var lastSolution: GeneralizedLinearModel<Fit, Reg>.Solution?

    /// - Parameters:
    ///   - model: the model (its penalty's strength is replaced by exp θ at each evaluation).
    ///   - heldOut: the held-out rows and their loss.
    ///   - tolerance: the inner KKT tolerance.
    ///   - strategy: the reduced systems' linear solver, kept across evaluations.
    /// - Throws: what λ_max's computation throws; `.invalidArgument` when the penalty has no
    ///   λ_max (box constraints) or the held-out features differ.
    public init(model: GeneralizedLinearModel<Fit, Reg>, heldOut: HeldOutLoss<Loss>, tolerance: Double = 1e-8,
                strategy: LinearSolveStrategy = LinearSolveStrategy(name: "GLM reduced system")) throws {
        guard heldOut.design.columns == model.features else {
            throw SparseError.dimensionMismatch(operation: "HeldOutGLM", expected: "held-out data with \(model.features) features",
                                                actual: "\(heldOut.design.columns)")
        }
        guard let lambdaMax = try model.lambdaMax() else {
            throw SparseError.invalidArgument("the \(model.penalty.name) penalty has no strength to tune (no λ_max)")
        }
        self.model = model
        self.heldOut = heldOut
        self.tolerance = tolerance
        self.strategy = strategy
        self.lambdaMax = lambdaMax
    }

    public var dimension: Int { 1 }
    public var linearAlgebra: LinearSolveStrategy.Counts { strategy.counts }
    public func theta(lambda: Double) -> [Double] { [Foundation.log(lambda)] }

    func solve(_ theta: [Double]) throws -> (GeneralizedLinearModel<Fit, Reg>, GeneralizedLinearModel<Fit, Reg>.Solution) {
        guard theta.count == 1, theta[0].isFinite else { throw SparseError.invalidArgument("θ must be [log λ], finite; got \(theta)") }
        let problem = model.withStrength(Foundation.exp(theta[0]))
        let solution = try problem.solve(tolerance: tolerance, warmStart: lastSolution?.weights, warmIntercept: lastSolution?.intercept)
        innerSolves += 1
        innerEpochs += solution.iterations
        solveSeconds += solution.seconds
        lastSupportSize = solution.supportSize
        lastSolution = solution
        return (problem, solution)
    }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        let (problem, solution) = try solve(theta)
        let start = DispatchTime.now().uptimeNanoseconds
        let h = try problem.hypergradient(at: solution, heldOut: heldOut, strategy: strategy)
        hypergradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return (h.value, [h.gradient])
    }

    public func value(at theta: [Double]) throws -> Double {
        let (_, solution) = try solve(theta)
        return try heldOut.valueAndGradient(solution.weights, intercept: solution.intercept).value
    }
}
