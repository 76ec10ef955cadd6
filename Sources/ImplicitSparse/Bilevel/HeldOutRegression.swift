import Dispatch
import Foundation

/// A tuning criterion C(θ) of log-scale hyperparameters with its hypergradient: what the
/// outer optimizers and `Tuner` minimize. A value and a hypergradient over θ are all it must
/// give; the work counters have defaults (0) for criteria that do not count.
public protocol TuningCriterion: AnyObject {
    /// θ's length (1 for log λ; 2 for the elastic net's strengths; p for feature weights).
    var dimension: Int { get }
    /// C(θ) and ∇C at θ.
    func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double])
    /// C at θ without the hypergradient (a grid's point), warm-started.
    func value(at theta: [Double]) throws -> Double
    var innerSolves: Int { get }
    var innerEpochs: Int { get }
    var solveSeconds: Double { get }
    var hypergradientSeconds: Double { get }
    /// The adjoints' linear algebra (prepared states, reuses, solves, dense factorizations).
    var linearAlgebra: LinearSolveStrategy.Counts { get }
    /// The support size (nonzero weights) of the last solve, where the model has one.
    var lastSupportSize: Int { get }
}

extension TuningCriterion {
    public var innerSolves: Int { 0 }
    public var innerEpochs: Int { 0 }
    public var solveSeconds: Double { 0 }
    public var hypergradientSeconds: Double { 0 }
    public var linearAlgebra: LinearSolveStrategy.Counts { LinearSolveStrategy.Counts() }
    public var lastSupportSize: Int { 0 }
}

/// The refinement of a criterion whose model has a regularization path from a λ_max down:
/// the start, the bounds and a grid are then given as fractions of λ_max.
public protocol LambdaPathCriterion: TuningCriterion {
    /// θ of the model's hyperparameters equal to a plain lasso's λ (every component from λ;
    /// the elastic net at its initial ℓ1 ratio): the start and the grid's points.
    func theta(lambda: Double) -> [Double]
    var lambdaMax: Double { get }
}

extension LambdaPathCriterion {
    /// C at a plain λ (`theta(lambda:)`), warm-started.
    public func validationLoss(lambda: Double) throws -> Double { try value(at: theta(lambda: lambda)) }
}

/// The least-squares lasso family as a function of log-scale hyperparameters, solved
/// warm-started: θ = [log λ] (lasso or elastic net at a fixed ℓ1 ratio α), (log λ₁, log λ₂)
/// (elastic net, λ₁ = λα, λ₂ = λ(1 − α)), or log(λω_j) per feature (weighted lasso). Keeps X's
/// CSC copy and the last solution (the next solve's warm start: the coordinate-descent
/// working set is rebuilt from its support) and counts solves, epochs and seconds. With a
/// `rowSpace` the rows of X are this process's part (see `LassoProblem`): every solve is
/// collective, by working sets on their Gram matrices, and no CSC copy is made.
public final class LassoFamily {
    public let design: CSRMatrix
    public let targets: [Double]
    /// The penalty for `.logLambda` (lasso or elastic net); for `.logStrengths` the ℓ1 ratio of
    /// `theta(lambda:)`.
    public let penalty: RegularizedLeastSquares.Penalty
    public let hyperparameters: LassoHyperparameters
    public let fitIntercept: Bool
    /// The inner solves' relative duality-gap tolerance.
    public let tolerance: Double
    /// λ_max of the plain lasso / elastic net at `penalty`.
    public let lambdaMax: Double
    let csc: CSCMatrix?
    /// How the rows are split over processes (nil: all here).
    public let rowSpace: VectorSpace?
    var warmStart: [Double]?
    public private(set) var solves = 0
    public private(set) var epochs = 0
    public private(set) var seconds = 0.0

    public init(design: CSRMatrix, targets: [Double], penalty: RegularizedLeastSquares.Penalty = .lasso,
                hyperparameters: LassoHyperparameters = .logLambda, fitIntercept: Bool = false, tolerance: Double = 1e-8,
                designCSC: CSCMatrix? = nil, rowSpace: VectorSpace? = nil) throws {
        guard penalty != .ridge else { throw SparseError.invalidArgument("tuning λ needs an ℓ1 part (lasso, elastic net, weighted lasso)") }
        switch hyperparameters {
        case .logStrengths:
            guard penalty != .lasso else { throw SparseError.invalidArgument("(log λ₁, log λ₂) tuning is for the elastic net (an ℓ1 ratio below 1)") }
        case .logFeatureWeights:
            guard penalty == .lasso else { throw SparseError.invalidArgument("feature-weight tuning is for the (weighted) lasso") }
        case .logLambda: break
        }
        self.design = design
        self.targets = targets
        self.penalty = penalty
        self.hyperparameters = hyperparameters
        self.fitIntercept = fitIntercept
        self.tolerance = tolerance
        self.rowSpace = rowSpace?.isDistributed == true ? rowSpace : nil
        self.lambdaMax = try RegularizedLeastSquares.lambdaMax(design: design, targets: targets, penalty: penalty, fitIntercept: fitIntercept,
                                                               rowSpace: self.rowSpace)
        self.csc = self.rowSpace != nil ? nil : (designCSC ?? design.toCSC())
    }

    public var dimension: Int {
        switch hyperparameters {
        case .logLambda: return 1
        case .logStrengths: return 2
        case .logFeatureWeights: return design.columns
        }
    }

    public func theta(lambda: Double) -> [Double] {
        switch hyperparameters {
        case .logLambda: return [Foundation.log(lambda)]
        case .logStrengths:
            let alpha = penalty.l1Ratio
            return [Foundation.log(lambda * alpha), Foundation.log(lambda * (1 - alpha))]
        case .logFeatureWeights: return [Double](repeating: Foundation.log(lambda), count: design.columns)
        }
    }

    /// The problem at θ (with other targets for a perturbed solve).
    public func problem(_ theta: [Double], targets other: [Double]? = nil) throws -> RegularizedLeastSquares {
        guard theta.count == dimension, theta.allSatisfy(\.isFinite) else {
            throw SparseError.invalidArgument("θ must hold \(dimension) finite log-scale hyperparameters")
        }
        let y = other ?? targets
        switch hyperparameters {
        case .logLambda:
            return try RegularizedLeastSquares(design: design, targets: y, penalty: penalty, lambda: Foundation.exp(theta[0]),
                                               fitIntercept: fitIntercept, rowSpace: rowSpace)
        case .logStrengths:
            let l1 = Foundation.exp(theta[0]), l2 = Foundation.exp(theta[1])
            return try RegularizedLeastSquares(design: design, targets: y, penalty: .elasticNet(l1Ratio: l1 / (l1 + l2)),
                                               lambda: l1 + l2, fitIntercept: fitIntercept, rowSpace: rowSpace)
        case .logFeatureWeights:
            return try RegularizedLeastSquares(design: design, targets: y, penalty: .lasso, lambda: 1, fitIntercept: fitIntercept,
                                               penaltyWeights: theta.map { Foundation.exp($0) }, rowSpace: rowSpace)
        }
    }

    /// Solves at θ from the last solution.
    public func solve(_ theta: [Double], targets other: [Double]? = nil) throws -> (problem: RegularizedLeastSquares, weights: [Double]) {
        let problem = try problem(theta, targets: other)
        let start = DispatchTime.now().uptimeNanoseconds
        let solution = try problem.solve(tolerance: tolerance, solver: rowSpace == nil ? .coordinateDescent : .workingSets,
                                         warmStart: warmStart, designCSC: csc)
        seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        solves += 1
        epochs += solution.iterations
        warmStart = solution.weights
        return (problem, solution.weights)
    }

    /// ∇_θ of a loss with gradient `lossGradient` at the solution w of `problem`.
    func hypergradient(_ problem: RegularizedLeastSquares, _ w: [Double], lossGradient: [Double],
                       strategy: LinearSolveStrategy) throws -> [Double] {
        try LassoAdjoint.gradient(problem: problem.centered, solution: w, lossGradient: lossGradient,
                                        hyperparameters: hyperparameters, strategy: strategy, designCSC: csc).gradient
    }
}

/// The held-out criterion of the lasso family: C(θ) = the validation MSE of w*(θ), with its
/// hypergradient from the support-reduced implicit system (`LassoAdjoint.gradient`).
/// Across evaluations it keeps what can be reused: the previous solution as the inner
/// solver's warm start, X's CSC copy, and one `LinearSolveStrategy` for the adjoints (a
/// factorization kept while the support's pattern stays). Counts what it spent.
public final class HeldOutRegression: LambdaPathCriterion {
    public let model: LassoFamily
    public let validation: CSRMatrix
    public let validationTargets: [Double]
    let strategy = LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000), name: "tuning adjoint")
    public private(set) var hypergradientSeconds = 0.0
    public private(set) var lastSupportSize = 0

    public init(model: LassoFamily, validation: CSRMatrix, validationTargets: [Double]) throws {
        let validationRows = model.rowSpace?.sum(Double(validation.rows)) ?? Double(validation.rows)
        guard validation.columns == model.design.columns, validation.rows == validationTargets.count, validationRows > 0 else {
            throw SparseError.dimensionMismatch(operation: "HeldOutRegression", expected: "validation data with \(model.design.columns) features and one target per row",
                                                actual: "\(validation.rows) × \(validation.columns), \(validationTargets.count) targets")
        }
        self.model = model
        self.validation = validation
        self.validationTargets = validationTargets
    }

    /// The lasso or elastic net in log λ (the first form of this criterion).
    /// With a `rowSpace`, `design`, `targets` and `validation` are this process's rows and
    /// every evaluation is collective (the same on every process).
    public convenience init(design: CSRMatrix, targets: [Double], validation: CSRMatrix, validationTargets: [Double],
                            penalty: RegularizedLeastSquares.Penalty = .lasso, hyperparameters: LassoHyperparameters = .logLambda,
                            fitIntercept: Bool = false, tolerance: Double = 1e-8, rowSpace: VectorSpace? = nil) throws {
        try self.init(model: LassoFamily(design: design, targets: targets, penalty: penalty, hyperparameters: hyperparameters,
                                         fitIntercept: fitIntercept, tolerance: tolerance, rowSpace: rowSpace),
                      validation: validation, validationTargets: validationTargets)
    }

    public var problemDesign: CSRMatrix { model.design }
    public var targets: [Double] { model.targets }
    public var dimension: Int { model.dimension }
    public var lambdaMax: Double { model.lambdaMax }
    public var innerSolves: Int { model.solves }
    public var innerEpochs: Int { model.epochs }
    public var solveSeconds: Double { model.seconds }
    public var linearAlgebra: LinearSolveStrategy.Counts { strategy.counts }
    public func theta(lambda: Double) -> [Double] { model.theta(lambda: lambda) }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        let (problem, w) = try model.solve(theta)
        let start = DispatchTime.now().uptimeNanoseconds
        let (loss, lossGradient) = try LassoAdjoint.validationLossAndGradient(problem: problem.centered, solution: w, validation: validation,
                                                                                   validationTargets: validationTargets)
        let gradient = try model.hypergradient(problem, w, lossGradient: lossGradient, strategy: strategy)
        hypergradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        lastSupportSize = w.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        return (loss, gradient)
    }

    public func value(at theta: [Double]) throws -> Double {
        let (problem, w) = try model.solve(theta)
        lastSupportSize = w.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        return try problem.validationLoss(w, validation: validation, targets: validationTargets)
    }
}

/// Stein's unbiased risk estimate of the lasso family's fit of the training targets, a
/// criterion that needs no held-out rows (Stein, 1981; for the lasso Zou, Hastie & Tibshirani,
/// 2007): with ŷ = X w*(θ) + b and noise variance σ²,
///
///     SURE(θ) = ‖y − ŷ‖²/n − σ² + 2σ² df/n,
///
/// an unbiased estimate of the prediction risk ‖Xw_true − ŷ‖²/n under Gaussian noise. For the
/// lasso and the weighted lasso df = |S| (+1 with an intercept) exactly, piecewise constant in
/// θ, so ∇SURE is the residual term's hypergradient. Otherwise (elastic net) df is the
/// finite-difference Monte-Carlo estimate of Deledalle et al. (2014), df ≈ δᵀ(ŷ(y + εδ) −
/// ŷ(y))/ε with one seeded δ ~ N(0, I) and ε = 2σ/n^0.3: a second solve at the perturbed
/// targets, and a hypergradient through both solutions (one adjoint each).
public final class SteinUnbiasedRisk: LambdaPathCriterion {
    public let model: LassoFamily
    /// σ², given or estimated (`estimateNoiseVariance`).
    public let noiseVariance: Double
    /// True when df comes from the Monte-Carlo estimate.
    public let monteCarlo: Bool
    let perturbed: LassoFamily?
    let direction: [Double]
    let epsilon: Double
    let strategy = LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000), name: "SURE adjoint")
    let perturbedStrategy = LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000), name: "SURE perturbed adjoint")
    public private(set) var hypergradientSeconds = 0.0
    public private(set) var lastSupportSize = 0
    /// The last evaluation's degrees of freedom (exact or estimated).
    public private(set) var lastDegreesOfFreedom = 0.0

    /// - Parameters:
    ///   - model: the lasso family whose risk is estimated (on its own training data).
    ///   - noiseVariance: σ²; nil estimates it (`estimateNoiseVariance`).
    ///   - monteCarlo: force the Monte-Carlo df (nil: exact for ℓ1-only penalties, Monte-Carlo otherwise).
    ///   - seed: of the Monte-Carlo direction δ.
    public init(model: LassoFamily, noiseVariance: Double? = nil, monteCarlo: Bool? = nil, seed: UInt64 = 0) throws {
        guard model.rowSpace == nil else {
            throw SparseError.invalidArgument("SURE is computed on one process's rows; rows over processes are tuned on the held-out criterion")
        }
        let sigma2 = try noiseVariance ?? Self.estimateNoiseVariance(design: model.design, targets: model.targets, fitIntercept: model.fitIntercept)
        guard sigma2 > 0, sigma2.isFinite else { throw SparseError.invalidArgument("the noise variance σ² must be positive and finite, got \(sigma2)") }
        self.model = model
        self.noiseVariance = sigma2
        let exactAvailable = model.penalty == .lasso
        let useMonteCarlo = monteCarlo ?? !exactAvailable
        guard useMonteCarlo || exactAvailable else {
            throw SparseError.invalidArgument("the exact degrees of freedom |S| hold for ℓ1-only penalties; the elastic net needs the Monte-Carlo estimate")
        }
        self.monteCarlo = useMonteCarlo
        let n = model.design.rows
        if useMonteCarlo {
            var random = SplitMix64(seed: seed)
            direction = (0..<n).map { _ in random.nextGaussian() }
            let step = 2 * sigma2.squareRoot() / Foundation.pow(Double(n), 0.3)
            epsilon = step
            let shifted = zip(model.targets, direction).map { $0 + step * $1 }
            perturbed = try LassoFamily(design: model.design, targets: shifted, penalty: model.penalty, hyperparameters: model.hyperparameters,
                                        fitIntercept: model.fitIntercept, tolerance: model.tolerance, designCSC: model.csc)
        } else {
            direction = []
            epsilon = 0
            perturbed = nil
        }
    }

    /// σ̂² = ‖y − ŷ‖²/(n − |S| − [intercept]) of the lasso at λ_max/100 (the residual variance
    /// of a moderately regularized fit, after Reid, Tibshirani & Friedman, 2016).
    /// - Throws: `.invalidArgument` when n ≤ |S| + [intercept] (no degrees of freedom left).
    public static func estimateNoiseVariance(design: CSRMatrix, targets: [Double], fitIntercept: Bool) throws -> Double {
        let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: design, targets: targets, penalty: .lasso, fitIntercept: fitIntercept)
        let problem = try RegularizedLeastSquares(design: design, targets: targets, penalty: .lasso, lambda: lambdaMax / 100,
                                                  fitIntercept: fitIntercept)
        let w = try problem.solve(tolerance: 1e-8).weights
        let support = w.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } + (fitIntercept ? 1 : 0)
        guard design.rows > support else {
            throw SparseError.invalidArgument("cannot estimate σ²: the lasso at λ_max/100 uses \(support) degrees of freedom of \(design.rows) rows; give σ²")
        }
        let rss = try problem.validationLoss(w, validation: design, targets: targets) * Double(design.rows)
        return rss / Double(design.rows - support)
    }

    public var dimension: Int { model.dimension }
    public var lambdaMax: Double { model.lambdaMax }
    public var innerSolves: Int { model.solves + (perturbed?.solves ?? 0) }
    public var innerEpochs: Int { model.epochs + (perturbed?.epochs ?? 0) }
    public var solveSeconds: Double { model.seconds + (perturbed?.seconds ?? 0) }
    public var linearAlgebra: LinearSolveStrategy.Counts { strategy.counts + perturbedStrategy.counts }
    public func theta(lambda: Double) -> [Double] { model.theta(lambda: lambda) }

    /// The value and, when `withGradient`, the hypergradient.
    func compute(_ theta: [Double], withGradient: Bool) throws -> (value: Double, gradient: [Double]) {
        let (problem, w) = try model.solve(theta)
        // Both solves first (counted as inner solves), then the criterion and its gradient.
        let perturbedSolution = try perturbed.map { try $0.solve(theta) }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { hypergradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
        let n = Double(model.design.rows), sigma2 = noiseVariance
        // ‖y − ŷ‖²/n and its gradient in w: the held-out MSE machinery on the training rows.
        let (fit, fitGradient) = try LassoAdjoint.validationLossAndGradient(problem: problem.centered, solution: w,
                                                                                 validation: model.design, validationTargets: model.targets)
        lastSupportSize = w.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        guard let perturbed, let (problem2, w2) = perturbedSolution else {
            let df = Double(lastSupportSize + (model.fitIntercept ? 1 : 0))
            lastDegreesOfFreedom = df
            let value = fit - sigma2 + 2 * sigma2 * df / n
            guard withGradient else { return (value, []) }
            return (value, try model.hypergradient(problem, w, lossGradient: fitGradient, strategy: strategy))
        }
        // Monte-Carlo df = δᵀ(ŷ₂ − ŷ₁)/ε with ŷ = Xw + b(w), b = ȳ − μᵀw: linear in w with
        // gradient X̃ᵀδ = Xᵀδ − μ Σδ; ȳ's shift εδ̄ is constant in θ.
        let p1 = try model.design.multiply(w), p2 = try model.design.multiply(w2)
        let b1 = problem.centered.intercept(w), b2 = problem2.centered.intercept(w2)
        var df = 0.0
        for i in 0..<direction.count { df += direction[i] * ((p2[i] + b2) - (p1[i] + b1)) }
        df /= epsilon
        lastDegreesOfFreedom = df
        let value = fit - sigma2 + 2 * sigma2 * df / n
        guard withGradient else { return (value, []) }
        var linear = try model.design.multiplyTransposed(direction)
        if model.fitIntercept {
            let total = direction.reduce(0, +)
            for j in linear.indices { linear[j] -= problem.centered.columnMeans[j] * total }
        }
        let c = 2 * sigma2 / (n * epsilon)
        let g1 = try model.hypergradient(problem, w, lossGradient: zip(fitGradient, linear).map { $0 - c * $1 }, strategy: strategy)
        let g2 = try perturbed.hypergradient(problem2, w2, lossGradient: linear.map { c * $0 }, strategy: perturbedStrategy)
        return (value, zip(g1, g2).map { $0 + $1 })
    }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) { try compute(theta, withGradient: true) }
    public func value(at theta: [Double]) throws -> Double { try compute(theta, withGradient: false).value }
}

/// k-fold cross-validation of the lasso family: the rows are split into k folds (seeded);
/// fold f's criterion is the held-out MSE of the model trained on the other folds. C(θ) is
/// their mean weighted by fold size (the MSE over all rows), and ∇C the same combination of
/// the folds' hypergradients: one warm-started inner solve and one adjoint per fold and
/// evaluation.
public final class CrossValidatedRegression: LambdaPathCriterion {
    public let folds: [HeldOutRegression]
    /// λ_max of the whole data (the folds' own differ slightly; bounds are set from this one).
    public let lambdaMax: Double
    let template: LassoFamily
    /// The size-weighted sum over the folds (`CrossValidated`, generic over problems).
    let combined: CrossValidated

    public init(design: CSRMatrix, targets: [Double], folds k: Int, seed: UInt64 = 0,
                penalty: RegularizedLeastSquares.Penalty = .lasso, hyperparameters: LassoHyperparameters = .logLambda,
                fitIntercept: Bool = false, tolerance: Double = 1e-8) throws {
        let n = design.rows
        var folds: [HeldOutRegression] = [], weights: [Double] = []
        for (train, held) in try Datasets.folds(rows: n, count: k, seed: seed) {
            folds.append(try HeldOutRegression(design: try design.selectingRows(train), targets: train.map { targets[$0] },
                                               validation: try design.selectingRows(held), validationTargets: held.map { targets[$0] },
                                               penalty: penalty, hyperparameters: hyperparameters, fitIntercept: fitIntercept,
                                               tolerance: tolerance))
            weights.append(Double(held.count) / Double(n))
        }
        self.folds = folds
        self.lambdaMax = try RegularizedLeastSquares.lambdaMax(design: design, targets: targets, penalty: penalty, fitIntercept: fitIntercept)
        self.template = folds[0].model
        self.combined = try CrossValidated(folds: folds, weights: weights, lambdaMax: lambdaMax)
    }

    public var dimension: Int { template.dimension }
    public func theta(lambda: Double) -> [Double] { template.theta(lambda: lambda) }

    /// C(θ) = Σ_f (n_f/n)·MSE_f(θ) and its gradient.
    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) { try combined.evaluate(theta) }
    public func value(at theta: [Double]) throws -> Double { try combined.value(at: theta) }
    public var innerSolves: Int { combined.innerSolves }
    public var innerEpochs: Int { combined.innerEpochs }
    public var solveSeconds: Double { combined.solveSeconds }
    public var hypergradientSeconds: Double { combined.hypergradientSeconds }
    public var linearAlgebra: LinearSolveStrategy.Counts { combined.linearAlgebra }
    /// The last fold's support size.
    public var lastSupportSize: Int { combined.lastSupportSize }
}

/// The held-out criterion of sparse logistic regression in θ = [log λ] (ℓ1 ratio α fixed):
/// C(θ) = the validation rows' mean logistic loss of w*(e^θ), with its hypergradient
/// (`LogisticHypergradient`). Inner solves by proximal Newton, warm-started from the last
/// solution; epochs counted are the quadratic models' coordinate-descent epochs.
public final class HeldOutLogistic: LambdaPathCriterion {
    public let design: CSRMatrix
    public let labels: [Double]
    public let validation: CSRMatrix
    public let validationLabels: [Double]
    public let l1Ratio: Double
    public let tolerance: Double
    public let lambdaMax: Double
    let csc: CSCMatrix
    var warmStart: [Double]?
    let strategy = LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000), name: "logistic adjoint")
    public private(set) var innerSolves = 0
    public private(set) var innerEpochs = 0
    public private(set) var solveSeconds = 0.0
    public private(set) var hypergradientSeconds = 0.0
    public private(set) var lastSupportSize = 0

    public init(design: CSRMatrix, labels: [Double], validation: CSRMatrix, validationLabels: [Double], l1Ratio: Double = 1,
                tolerance: Double = 1e-8) throws {
        guard validation.columns == design.columns, validation.rows == validationLabels.count, validation.rows > 0 else {
            throw SparseError.dimensionMismatch(operation: "HeldOutLogistic", expected: "validation data with \(design.columns) features and one label per row",
                                                actual: "\(validation.rows) × \(validation.columns), \(validationLabels.count) labels")
        }
        self.design = design
        self.labels = try SparseLogisticRegression.signedLabels(labels)
        self.validation = validation
        self.validationLabels = try SparseLogisticRegression.signedLabels(validationLabels)
        self.l1Ratio = l1Ratio
        self.tolerance = tolerance
        self.lambdaMax = try SparseLogisticRegression.lambdaMax(design: design, labels: labels, l1Ratio: l1Ratio)
        self.csc = design.toCSC()
    }

    public var dimension: Int { 1 }
    public var linearAlgebra: LinearSolveStrategy.Counts { strategy.counts }
    public func theta(lambda: Double) -> [Double] { [Foundation.log(lambda)] }

    func solve(_ theta: [Double]) throws -> (SparseLogisticRegression, [Double]) {
        guard theta.count == 1, theta[0].isFinite else { throw SparseError.invalidArgument("θ must be [log λ], finite") }
        let problem = try SparseLogisticRegression(design: design, labels: labels, lambda: Foundation.exp(theta[0]), l1Ratio: l1Ratio)
        let start = DispatchTime.now().uptimeNanoseconds
        let point = try problem.solvePoint(tolerance: tolerance, warmStart: warmStart, designCSC: csc)
        solveSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        innerSolves += 1
        innerEpochs += point.result.modelEpochs
        warmStart = point.result.solution
        lastSupportSize = point.supportSize
        return (problem, point.result.solution)
    }

    public func evaluate(_ theta: [Double]) throws -> (value: Double, gradient: [Double]) {
        let (problem, w) = try solve(theta)
        let start = DispatchTime.now().uptimeNanoseconds
        let (loss, lossGradient) = try LogisticHypergradient.heldOutLossAndGradient(w, validation: validation, labels: validationLabels)
        let (derivative, _) = try LogisticHypergradient.gradient(problem: problem, solution: w, lossGradient: lossGradient,
                                                                 strategy: strategy, designCSC: csc)
        hypergradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return (loss, [derivative])
    }

    public func value(at theta: [Double]) throws -> Double {
        let (_, w) = try solve(theta)
        return try LogisticHypergradient.heldOutLossAndGradient(w, validation: validation, labels: validationLabels).loss
    }
}
