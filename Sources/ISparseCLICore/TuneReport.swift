import Foundation
import ImplicitSparse
import Preconditioners

/// The keys and lines `isparse tune` and `isparse-mpi tune` share, from the same numbers —
/// so that the two commands cannot drift apart. Each command adds its own keys between the
/// header and the result (isparse: folds, SURE's noise, the wlasso stage, the grid; isparse-mpi:
/// ranks and peak memory) and its own lines.
public struct TuneReport {
    /// "lasso", "enet", "wlasso" or "logreg".
    public var model: String
    /// Where the data came from (a file or the generated problem).
    public var source: String
    public var trainRows: Int, validationRows: Int, features: Int
    public var optimizer: String
    /// "held-out", "cv" or "sure".
    public var criterion: String
    public var lambdaMax: Double
    public var result: Tuner.Report
    /// The best point's λ (for wlasso the feature weights' geometric mean) and α (enet).
    public var lambda: Double, l1Ratio: Double?
    /// The validation rows' loss at the best point (nil: not computed — null in JSON).
    public var validationLoss: Double?
    public var supportSize: Int
    /// Inner solves and inner iterations (epochs) the tuning spent.
    public var innerSolves: Int, innerEpochs: Int
    public var linearAlgebra: LinearSolveStrategy.Counts
    public var stopReason: String

    public init(model: String, source: String, trainRows: Int, validationRows: Int, features: Int, optimizer: String,
                criterion: String, lambdaMax: Double, result: Tuner.Report, lambda: Double, l1Ratio: Double?,
                validationLoss: Double?, supportSize: Int, innerSolves: Int, innerEpochs: Int,
                linearAlgebra: LinearSolveStrategy.Counts, stopReason: String) {
        self.model = model
        self.source = source
        self.trainRows = trainRows
        self.validationRows = validationRows
        self.features = features
        self.optimizer = optimizer
        self.criterion = criterion
        self.lambdaMax = lambdaMax
        self.result = result
        self.lambda = lambda
        self.l1Ratio = l1Ratio
        self.validationLoss = validationLoss
        self.supportSize = supportSize
        self.innerSolves = innerSolves
        self.innerEpochs = innerEpochs
        self.linearAlgebra = linearAlgebra
        self.stopReason = stopReason
    }

    /// λ and the ℓ1 ratio of a point θ of `model`'s hyperparameters: log λ; (log λ₁, log λ₂)
    /// for enet (λ = λ₁ + λ₂, α = λ₁ / λ); log-weights for wlasso, summarized by their
    /// geometric mean.
    public static func describe(_ theta: [Double], model: String) -> (lambda: Double, l1Ratio: Double?) {
        switch model {
        case "enet":
            let l1 = Foundation.exp(theta[0]), l2 = Foundation.exp(theta[1])
            return (l1 + l2, l1 / (l1 + l2))
        case "wlasso":
            return (Foundation.exp(theta.reduce(0, +) / Double(max(theta.count, 1))), nil)
        default:
            return (Foundation.exp(theta[0]), nil)
        }
    }

    /// The keys that say what was tuned on what: model, data, rows, features, optimizer, criterion.
    public func setHeader(_ object: inout JSONObject) {
        setDataKeys(&object, model: model, source: source, trainRows: trainRows, validationRows: validationRows, features: features)
        object.set("optimizer", optimizer)
        object.set("criterion", criterion)
    }

    /// The keys of the result: the best point, its criterion and validation loss, the outer
    /// loop's counts, the adjoints' linear algebra, the stop reason and the trajectory.
    public func setResult(_ object: inout JSONObject) {
        object.set("lambdaMax", lambdaMax)
        object.set("lambda", lambda)
        if let l1Ratio { object.set("l1Ratio", l1Ratio) }
        object.set("criterionValue", result.bestValue)
        if let validationLoss { object.set("validationLoss", validationLoss) } else { object.setNull("validationLoss") }
        object.set("supportSize", supportSize)
        object.set("iterations", result.trajectory.count - 1)
        object.set("evaluations", result.evaluations)
        object.set("innerSolves", innerSolves)
        object.set("innerEpochs", innerEpochs)
        object.set("adjointLinearAlgebra", linearAlgebraJSON(linearAlgebra))
        object.set("stopReason", stopReason)
        object.set("trajectory", trajectoryJSON(result) { step, o in
            let (lambda, alpha) = Self.describe(step.theta, model: model)
            o.set("lambda", lambda)
            if let alpha { o.set("l1Ratio", alpha) }
        })
    }

    /// The "data:" line.
    public var dataLine: String { ISparseCLICore.dataLine(source: source, trainRows: trainRows, validationRows: validationRows, features: features) }

    /// The "outer:" line.
    public var outerLine: String {
        "outer: \(optimizer), \(result.trajectory.count - 1) iterations, \(result.evaluations) evaluations — \(stopReason)"
    }
}

/// The keys every regression report (hypergrad and tune, one process or many) opens with.
func setDataKeys(_ object: inout JSONObject, model: String, source: String, trainRows: Int, validationRows: Int, features: Int) {
    object.set("model", model)
    object.set("data", source)
    object.set("trainRows", trainRows)
    object.set("validationRows", validationRows)
    object.set("features", features)
}

/// The "data:" line of every regression report.
func dataLine(source: String, trainRows: Int, validationRows: Int, features: Int) -> String {
    "data: \(source): \(trainRows) training rows, \(validationRows) validation rows, \(features) features"
}
