import Dispatch
import Foundation

/// The held-out criterion of the lasso or the elastic net as a function of θ = log λ (a
/// `TuningObjective` for the outer optimizers): C(θ) = the validation MSE of w*(e^θ), with its
/// hypergradient dC/dθ from the support-reduced implicit system. Across evaluations it keeps
/// what can be reused: the previous solution as the inner solver's warm start, X's CSC copy,
/// and one `LinearSolveStrategy` for the adjoints (a CHOLMOD analysis is kept while the
/// support's pattern stays). Counts the inner solves, epochs and seconds it used.
/// A tuning criterion of λ with what it spent (the held-out loss, cross-validation).
public protocol TuningCriterion: AnyObject {
    /// C(θ) and ∇C at θ = [log λ].
    func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double])
    /// C at λ without the hypergradient (a grid's point), warm-started.
    func validationLoss(lambda: Double) throws -> Double
    var lambdaMax: Double { get }
    var innerSolves: Int { get }
    var innerEpochs: Int { get }
    var solveSeconds: Double { get }
    var hypergradientSeconds: Double { get }
}

public final class HeldOutRegression: TuningCriterion {
    public let problemDesign: CSRMatrix
    public let targets: [Double]
    public let validation: CSRMatrix
    public let validationTargets: [Double]
    public let penalty: RegularizedLeastSquares.Penalty
    public let fitIntercept: Bool
    /// The inner solves' duality-gap tolerance (relative, as `RegularizedLeastSquares.solve`).
    public let tolerance: Double
    public let lambdaMax: Double
    let csc: CSCMatrix
    let strategy = LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000), name: "tuning adjoint")
    var warmStart: [Double]?
    public private(set) var innerSolves = 0
    public private(set) var innerEpochs = 0
    public private(set) var solveSeconds = 0.0
    public private(set) var hypergradientSeconds = 0.0
    /// The last evaluation's solution and hypergradient report.
    public private(set) var lastSolution: RegularizedLeastSquares.Solution?
    public private(set) var lastHypergradient: LassoHypergradient?

    public init(design: CSRMatrix, targets: [Double], validation: CSRMatrix, validationTargets: [Double],
                penalty: RegularizedLeastSquares.Penalty = .lasso, fitIntercept: Bool = false, tolerance: Double = 1e-8) throws {
        guard penalty != .ridge else { throw SparseError.invalidArgument("held-out tuning of λ needs an ℓ1 part (lasso or elastic net)") }
        guard validation.columns == design.columns, validation.rows == validationTargets.count, validation.rows > 0 else {
            throw SparseError.dimensionMismatch(operation: "HeldOutRegression", expected: "validation data with \(design.columns) features and one target per row",
                                                actual: "\(validation.rows) × \(validation.columns), \(validationTargets.count) targets")
        }
        self.problemDesign = design
        self.targets = targets
        self.validation = validation
        self.validationTargets = validationTargets
        self.penalty = penalty
        self.fitIntercept = fitIntercept
        self.tolerance = tolerance
        self.lambdaMax = try RegularizedLeastSquares.lambdaMax(design: design, targets: targets, penalty: penalty, fitIntercept: fitIntercept)
        self.csc = design.toCSC()
    }

    /// C(θ) and [dC/dθ] at θ = [log λ].
    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        guard theta.count == 1, theta[0].isFinite else { throw SparseError.invalidArgument("θ must be [log λ], finite") }
        let problem = try RegularizedLeastSquares(design: problemDesign, targets: targets, penalty: penalty, lambda: Foundation.exp(theta[0]),
                                                  fitIntercept: fitIntercept)
        let start = DispatchTime.now().uptimeNanoseconds
        let solution = try problem.solve(tolerance: tolerance, warmStart: warmStart, designCSC: csc)
        let middle = DispatchTime.now().uptimeNanoseconds
        let h = try problem.hypergradient(at: solution.weights, validation: validation, validationTargets: validationTargets,
                                          strategy: strategy, designCSC: csc, kinkTolerance: 0)
        solveSeconds += Double(middle - start) * 1e-9
        hypergradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - middle) * 1e-9
        innerSolves += 1
        innerEpochs += solution.iterations
        warmStart = solution.weights
        lastSolution = solution
        lastHypergradient = h
        return (h.validationLoss, [h.hypergradient])
    }

    /// Validation MSE at λ (no hypergradient), warm-started like `evaluate`.
    public func validationLoss(lambda: Double) throws -> Double {
        let problem = try RegularizedLeastSquares(design: problemDesign, targets: targets, penalty: penalty, lambda: lambda, fitIntercept: fitIntercept)
        let solution = try problem.solve(tolerance: tolerance, warmStart: warmStart, designCSC: csc)
        warmStart = solution.weights
        innerSolves += 1
        innerEpochs += solution.iterations
        return try problem.validationLoss(solution.weights, validation: validation, targets: validationTargets)
    }
}

/// k-fold cross-validation of the lasso / elastic net in θ = log λ: the rows are split into k
/// folds (seeded); fold f's criterion is the held-out MSE of the model trained on the other
/// folds. C(θ) is their mean over folds weighted by fold size (the MSE over all rows), and
/// dC/dθ the same combination of the folds' hypergradients: one warm-started inner solve and
/// one adjoint per fold and evaluation.
public final class CrossValidatedRegression: TuningCriterion {
    public let folds: [HeldOutRegression]
    let weights: [Double]
    /// λ_max of the whole data (the folds' own differ slightly; bounds are set from this one).
    public let lambdaMax: Double

    public init(design: CSRMatrix, targets: [Double], folds k: Int, seed: UInt64 = 0,
                penalty: RegularizedLeastSquares.Penalty = .lasso, fitIntercept: Bool = false, tolerance: Double = 1e-8) throws {
        let n = design.rows
        guard k >= 2, k <= n else { throw SparseError.invalidArgument("cross-validation needs 2 ≤ folds ≤ rows (\(n)), got \(k)") }
        var random = SplitMix64(seed: seed)
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        var folds: [HeldOutRegression] = [], weights: [Double] = []
        for f in 0..<k {
            let held = order[(n * f / k)..<(n * (f + 1) / k)].sorted()
            var inFold = [Bool](repeating: false, count: n)
            for i in held { inFold[i] = true }
            let train = (0..<n).filter { !inFold[$0] }
            folds.append(try HeldOutRegression(design: try design.selectingRows(train), targets: train.map { targets[$0] },
                                               validation: try design.selectingRows(held), validationTargets: held.map { targets[$0] },
                                               penalty: penalty, fitIntercept: fitIntercept, tolerance: tolerance))
            weights.append(Double(held.count) / Double(n))
        }
        self.folds = folds
        self.weights = weights
        self.lambdaMax = try RegularizedLeastSquares.lambdaMax(design: design, targets: targets, penalty: penalty, fitIntercept: fitIntercept)
    }

    /// C(θ) = Σ_f (n_f/n)·MSE_f(θ) and its derivative, θ = [log λ].
    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        var value = 0.0, gradient = 0.0
        for (fold, weight) in zip(folds, weights) {
            let (v, g) = try fold.evaluate(theta)
            value += weight * v
            gradient += weight * g[0]
        }
        return (value, [gradient])
    }

    /// C at λ without the hypergradient.
    public func validationLoss(lambda: Double) throws -> Double {
        try zip(folds, weights).reduce(0) { $0 + $1.1 * (try $1.0.validationLoss(lambda: lambda)) }
    }

    public var innerSolves: Int { folds.reduce(0) { $0 + $1.innerSolves } }
    public var innerEpochs: Int { folds.reduce(0) { $0 + $1.innerEpochs } }
    public var solveSeconds: Double { folds.reduce(0) { $0 + $1.solveSeconds } }
    public var hypergradientSeconds: Double { folds.reduce(0) { $0 + $1.hypergradientSeconds } }
}
