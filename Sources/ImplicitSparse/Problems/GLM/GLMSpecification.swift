import Dispatch
import Foundation
import Sparse

/// A generalized linear model described by names and numbers — what a command line or a
/// configuration file gives — turned into the concrete `GeneralizedLinearModel<Fit, Reg>` by
/// one dispatch (`withModel`), so callers never name the generic types and the compiler
/// specializes the solver for every pair. `fit`, `hypergradient` and `heldOutCriterion` are
/// the three things `isparse solve|hypergrad|tune glm` do, as library calls.
public struct GLMSpecification: Sendable {
    public enum DatafitKind: String, CaseIterable, Sendable { case quadratic, logistic, huber, poisson }
    public enum PenaltyKind: String, CaseIterable, Sendable { case l1, enet, wl1, nnl1, mcp, scad, group, box }

    public var datafit: DatafitKind
    public var penalty: PenaltyKind
    public var fitIntercept = false
    /// Huber's δ (default 1.35, scikit-learn's `HuberRegressor` ε).
    public var delta = 1.35
    /// MCP's γ (default 3) or SCAD's (default 3.7, Fan & Li).
    public var gamma: Double?
    /// The elastic net's α (default 0.5).
    public var l1Ratio = 0.5
    /// ωⱼ of the weighted ℓ1 (one per feature).
    public var penaltyWeights: [Double]?
    /// One group label per feature (consecutive features per group) for the group lasso.
    public var groupLabels: [Int]?
    /// The box's bounds (the same for every feature).
    public var lower = -Double.infinity, upper = Double.infinity
    public var sampleWeights: [Double]?

    public init(datafit: DatafitKind, penalty: PenaltyKind) {
        self.datafit = datafit
        self.penalty = penalty
    }

    /// Builds the concrete model at strength λ and hands it to `visitor`.
    /// - Throws: what the datafit, the penalty or the model's checks throw (naming the entry),
    ///   `.invalidArgument` for a missing weights or groups list.
    public func withModel<V: GLMVisitor>(design: CSCMatrix, targets: [Double], lambda: Double, _ visitor: V) throws -> V.Output {
        switch datafit {
        case .quadratic: return try withPenalty(Quadratic(targets: targets), design: design, lambda: lambda, visitor)
        case .logistic: return try withPenalty(try Logistic(labels: targets), design: design, lambda: lambda, visitor)
        case .huber: return try withPenalty(try Huber(targets: targets, delta: delta), design: design, lambda: lambda, visitor)
        case .poisson: return try withPenalty(Poisson(targets: targets), design: design, lambda: lambda, visitor)
        }
    }

    private func withPenalty<Fit: Datafit, V: GLMVisitor>(_ fit: Fit, design: CSCMatrix, lambda: Double, _ visitor: V) throws -> V.Output {
        func run<Reg: Penalty>(_ penalty: Reg) throws -> V.Output {
            try visitor.visit(try GeneralizedLinearModel(design: design, datafit: fit, penalty: penalty, fitIntercept: fitIntercept,
                                                         sampleWeights: sampleWeights))
        }
        switch penalty {
        case .l1: return try run(try L1(lambda: lambda))
        case .enet: return try run(try ElasticNet(lambda: lambda, l1Ratio: l1Ratio))
        case .wl1:
            guard let penaltyWeights else { throw SparseError.invalidArgument("the weighted ℓ1 penalty needs one weight per feature") }
            return try run(try WeightedL1(lambda: lambda, weights: penaltyWeights))
        case .nnl1: return try run(try NonNegativeL1(lambda: lambda))
        case .mcp: return try run(try MCP(lambda: lambda, gamma: gamma ?? 3))
        case .scad: return try run(try SCAD(lambda: lambda, gamma: gamma ?? 3.7))
        case .group:
            guard let groupLabels else { throw SparseError.invalidArgument("the group lasso needs one group label per feature") }
            guard groupLabels.count == design.columns else {
                throw SparseError.dimensionMismatch(operation: "the group lasso", expected: "\(design.columns) group labels", actual: "\(groupLabels.count)")
            }
            return try run(try GroupLasso(lambda: lambda, groups: try GroupLasso.contiguousGroups(labels: groupLabels)))
        case .box:
            return try run(try BoxConstraint(lower: [Double](repeating: lower, count: design.columns),
                                             upper: [Double](repeating: upper, count: design.columns)))
        }
    }

    /// λ given outright or as λ_max / ratio.
    public enum Strength: Sendable {
        case value(Double)
        case ratio(Double)
    }

    /// A solve's answer with everything a report prints.
    public struct Fit: Encodable, Sendable {
        public var datafit: String
        public var penalty: String
        public var lambda: Double
        /// nil for a penalty without a threshold (box).
        public var lambdaMax: Double?
        public var fitIntercept: Bool
        public var intercept: Double
        public var objective: Double
        public var kktResidual: Double
        /// The duality gap at the answer, where the pair has one (`dualityGap(_:intercept:)`).
        public var dualityGap: Double?
        public var tolerance: Double
        public var converged: Bool
        /// False for MCP and SCAD: a stationary point.
        public var globalOptimum: Bool
        public var solver: String
        public var iterations: Int
        public var newtonSteps: Int
        public var supportSize: Int
        public var seconds: Double
        /// w (not in the JSON report; written by `--output`).
        public var weights: [Double]
        enum CodingKeys: String, CodingKey {
            case datafit, penalty, lambda, lambdaMax, fitIntercept, intercept, objective, kktResidual, dualityGap, tolerance, converged, globalOptimum
            case solver, iterations, newtonSteps, supportSize, seconds
        }
    }

    /// Solves at λ (or λ_max/ratio).
    public func fit(design: CSCMatrix, targets: [Double], strength: Strength, tolerance: Double = 1e-8,
                    method: GLMSolver = .workingSet, maxIterations: Int? = nil) throws -> Fit {
        try withModel(design: design, targets: targets, lambda: 1,
                      FitVisitor(strength: strength, tolerance: tolerance, method: method, maxIterations: maxIterations))
    }

    /// The held-out loss this specification's criterion uses: the mean squared error for the
    /// quadratic datafit, the datafit's own mean loss otherwise.
    public var heldOutLossName: String { datafit == .quadratic ? "MSE" : "mean \(datafit.rawValue) loss" }

    /// A hypergradient with the solve it was computed at.
    public struct HypergradientResult {
        public var fit: Fit
        public var hypergradient: Hypergradient<Double>
        public var hypergradientSeconds: Double
        /// The central finite difference in log λ and its step, when asked for.
        public var finiteDifference: (derivative: Double, step: Double)?
    }

    /// Solves, then differentiates the held-out loss (`heldOutLossName`) in log λ; with
    /// `check`, also the central finite difference.
    public func hypergradient(design: CSCMatrix, targets: [Double], validation: CSCMatrix, validationTargets: [Double],
                              strength: Strength, tolerance: Double = 1e-8, check: Bool = false,
                              strategy: LinearSolveStrategy = LinearSolveStrategy(name: "GLM reduced system")) throws -> HypergradientResult {
        try withModel(design: design, targets: targets, lambda: 1,
                      HypergradientVisitor(specification: self, validation: validation, validationTargets: validationTargets, strength: strength,
                                           tolerance: tolerance, check: check, strategy: strategy))
    }

    /// The held-out criterion in θ = [log λ] for `Tuner`.
    public func heldOutCriterion(design: CSCMatrix, targets: [Double], validation: CSCMatrix, validationTargets: [Double],
                                 tolerance: Double = 1e-8) throws -> any LambdaPathCriterion {
        try withModel(design: design, targets: targets, lambda: 1,
                      CriterionVisitor(specification: self, validation: validation, validationTargets: validationTargets, tolerance: tolerance))
    }

    /// k-fold cross-validation of the held-out loss in θ = [log λ] (`CrossValidated` over one
    /// `HeldOutGLM` per fold; the folds from `Datasets.folds`), λ_max from all rows.
    public func crossValidatedCriterion(design: CSRMatrix, targets: [Double], folds k: Int, seed: UInt64 = 0,
                                        tolerance: Double = 1e-8) throws -> any LambdaPathCriterion {
        guard targets.count == design.rows else {
            throw SparseError.dimensionMismatch(operation: "cross-validation", expected: "\(design.rows) targets", actual: "\(targets.count)")
        }
        var folds: [any LambdaPathCriterion] = [], weights: [Double] = []
        for (train, held) in try Datasets.folds(rows: design.rows, count: k, seed: seed) {
            folds.append(try heldOutCriterion(design: try design.selectingRows(train).toCSC(), targets: train.map { targets[$0] },
                                              validation: try design.selectingRows(held).toCSC(), validationTargets: held.map { targets[$0] },
                                              tolerance: tolerance))
            weights.append(Double(held.count) / Double(design.rows))
        }
        guard let lambdaMax = try withModel(design: design.toCSC(), targets: targets, lambda: 1, LambdaMaxVisitor()) else {
            throw SparseError.invalidArgument("the \(penalty.rawValue) penalty has no strength to tune (no λ_max)")
        }
        return try CrossValidated(folds: folds, weights: weights, lambdaMax: lambdaMax)
    }

    /// Stein's unbiased risk estimate in θ = [log λ] on the training rows alone
    /// (`SteinUnbiasedRiskCriterion`): the quadratic datafit with l1, wl1 or nnl1 (df = |S|).
    /// σ² given, or estimated as RSS/(n − df) at λ_max/100.
    /// - Throws: `.invalidArgument` for another pair (its degrees of freedom are not the
    ///   support size) or when σ² cannot be estimated.
    public func sureCriterion(design: CSCMatrix, targets: [Double], noiseVariance: Double?, tolerance: Double = 1e-8) throws
        -> (criterion: any LambdaPathCriterion, noiseVariance: Double, estimated: Bool) {
        try withModel(design: design, targets: targets, lambda: 1, SureVisitor(noiseVariance: noiseVariance, tolerance: tolerance))
    }

    func heldOut<Fit: Datafit>(_ fit: Fit, validation: CSCMatrix, targets: [Double]) throws -> HeldOutLoss<Fit> {
        try HeldOutLoss(design: validation, loss: try fit.withTargets(targets), scale: datafit == .quadratic ? 2 : 1)
    }
}

/// Work on a concrete `GeneralizedLinearModel` handed over by `GLMSpecification.withModel`.
public protocol GLMVisitor {
    associatedtype Output
    func visit<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>) throws -> Output
}

extension GeneralizedLinearModel {
    /// λ from a `GLMSpecification.Strength`: a ratio needs λ_max.
    func resolve(_ strength: GLMSpecification.Strength) throws -> (lambda: Double, lambdaMax: Double?) {
        let lambdaMax = try self.lambdaMax()
        guard penalty.hasStrength else { return (penalty.strength, nil) }
        switch strength {
        case .value(let lambda):
            guard lambda >= 0, lambda.isFinite else { throw SparseError.invalidArgument("λ must be ≥ 0 and finite, got \(lambda)") }
            return (lambda, lambdaMax)
        case .ratio(let ratio):
            guard let lambdaMax else { throw SparseError.invalidArgument("the \(penalty.name) penalty has no λ_max: give λ itself") }
            guard ratio > 0, ratio.isFinite else { throw SparseError.invalidArgument("the λ ratio must be positive and finite, got \(ratio)") }
            return (lambdaMax / ratio, lambdaMax)
        }
    }

    func fitReport(_ s: Solution, lambda: Double, lambdaMax: Double?) -> GLMSpecification.Fit {
        GLMSpecification.Fit(datafit: datafit.name, penalty: penalty.name, lambda: lambda, lambdaMax: lambdaMax, fitIntercept: fitIntercept,
                             intercept: s.intercept, objective: s.objective, kktResidual: s.kktResidual,
                             dualityGap: dualityGap(s.weights, intercept: s.intercept), tolerance: s.tolerance,
                             converged: s.converged, globalOptimum: s.globalOptimum, solver: s.solver, iterations: s.iterations,
                             newtonSteps: s.newtonSteps, supportSize: s.supportSize, seconds: s.seconds, weights: s.weights)
    }
}

struct FitVisitor: GLMVisitor {
    let strength: GLMSpecification.Strength
    let tolerance: Double
    let method: GLMSolver
    let maxIterations: Int?
    func visit<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>) throws -> GLMSpecification.Fit {
        let (lambda, lambdaMax) = try model.resolve(strength)
        let problem = model.withStrength(lambda)
        let solution = try problem.solve(tolerance: tolerance, method: method, maxIterations: maxIterations)
        return problem.fitReport(solution, lambda: lambda, lambdaMax: lambdaMax)
    }
}

struct HypergradientVisitor: GLMVisitor {
    let specification: GLMSpecification
    let validation: CSCMatrix
    let validationTargets: [Double]
    let strength: GLMSpecification.Strength
    let tolerance: Double
    let check: Bool
    let strategy: LinearSolveStrategy
    func visit<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>) throws -> GLMSpecification.HypergradientResult {
        let (lambda, lambdaMax) = try model.resolve(strength)
        let problem = model.withStrength(lambda)
        let heldOut = try specification.heldOut(model.datafit, validation: validation, targets: validationTargets)
        let solution = try problem.solve(tolerance: tolerance)
        let start = DispatchTime.now().uptimeNanoseconds
        let h = try problem.hypergradient(at: solution, heldOut: heldOut, strategy: strategy)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        let fd = check ? try problem.finiteDifference(at: solution, heldOut: heldOut, tolerance: min(tolerance, 1e-12)) : nil
        return GLMSpecification.HypergradientResult(fit: problem.fitReport(solution, lambda: lambda, lambdaMax: lambdaMax), hypergradient: h,
                                                    hypergradientSeconds: seconds, finiteDifference: fd)
    }
}

struct LambdaMaxVisitor: GLMVisitor {
    func visit<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>) throws -> Double? { try model.lambdaMax() }
}

struct CriterionVisitor: GLMVisitor {
    let specification: GLMSpecification
    let validation: CSCMatrix
    let validationTargets: [Double]
    let tolerance: Double
    func visit<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>) throws -> any LambdaPathCriterion {
        try HeldOutGLM(model: model, heldOut: try specification.heldOut(model.datafit, validation: validation, targets: validationTargets),
                       tolerance: tolerance)
    }
}

struct SureVisitor: GLMVisitor {
    let noiseVariance: Double?
    let tolerance: Double
    func visit<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>) throws
        -> (criterion: any LambdaPathCriterion, noiseVariance: Double, estimated: Bool) {
        guard model.hasKnownDegreesOfFreedom else {
            throw SparseError.invalidArgument("SURE applies to the quadratic datafit with an ℓ1-type penalty (l1, wl1, nnl1), whose degrees of freedom are the support size; \(model.datafit.name) + \(model.penalty.name) has no known df: use a held-out set or `CrossValidated`")
        }
        guard let lambdaMax = try model.lambdaMax(), lambdaMax > 0 else {
            throw SparseError.invalidArgument("the \(model.penalty.name) penalty has λ_max = 0 here: nothing to tune")
        }
        let sure = try SteinUnbiasedRiskCriterion(problem: model.withStrength(lambdaMax / 100), noiseVariance: noiseVariance, tolerance: tolerance)
        return (sure, sure.noiseVariance, sure.estimatedNoiseVariance)
    }
}

