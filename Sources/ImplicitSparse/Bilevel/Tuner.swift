import Dispatch
import Foundation

/// The library's tuner: a criterion × an outer optimizer × bounds × an optional grid ×
/// progress, returning an `Encodable` report. Any `TuningCriterion` (a value and a
/// hypergradient over log-scale θ) can be tuned; a `LambdaPathCriterion` also gets its start,
/// bounds and grid from λ_max (`tune(_:path:)`). Its defaults are the CLI's: bounded L-BFGS, 30
/// outer iterations, a relative decrease of 10⁻⁴.
public struct Tuner {
    public var optimizer: any OuterOptimizer
    public var options: OuterOptions

    public init(optimizer: any OuterOptimizer = BoundedLBFGS(), options: OuterOptions = Tuner.defaultOptions) {
        self.optimizer = optimizer
        self.options = options
    }

    /// 30 outer iterations, a relative decrease of 10⁻⁴ (as `isparse tune --outer-tol`).
    public static var defaultOptions: OuterOptions {
        var options = OuterOptions(maxIterations: 30)
        options.relativeDecrease = 1e-4
        return options
    }

    /// The λ-path set-up of a `LambdaPathCriterion`: start at λ_max/`startRatio`, bounds
    /// λ ∈ [λ_max/`minRatio`, λ_max] per component, `gridPoints` values of λ from λ_max to
    /// λ_max/`minRatio` evaluated first (log-spaced, warm-started) for a plot or a comparison.
    public struct Path: Sendable {
        public var startRatio: Double
        public var minRatio: Double
        public var gridPoints: Int
        public init(startRatio: Double = 10, minRatio: Double = 1e4, gridPoints: Int = 0) {
            self.startRatio = startRatio
            self.minRatio = minRatio
            self.gridPoints = gridPoints
        }
    }

    /// What a tuning run did.
    public struct Report: Encodable, Sendable {
        public struct Step: Encodable, Sendable {
            public var iteration: Int
            public var theta: [Double]
            public var value: Double
            public var gradient: [Double]
            /// Seconds since the run began, when the step was accepted.
            public var seconds: Double
            /// The criterion's inner iterations (`innerEpochs`) spent since the previous step.
            public var innerIterations: Int
        }
        public struct GridPoint: Encodable, Sendable {
            public var theta: [Double]
            public var value: Double
        }
        public var optimizer: String
        public var start: [Double]
        public var best: [Double]
        public var bestValue: Double
        public var trajectory: [Step]
        public var grid: [GridPoint]
        public var evaluations: Int
        public var stopReason: String
        public var innerSolves: Int
        public var innerEpochs: Int
        public var solveSeconds: Double
        public var hypergradientSeconds: Double
        public var gridSeconds: Double
        public var seconds: Double

        /// The trajectory as the outer optimizers' steps (for `TuningPlot`).
        public var outerSteps: [OuterStep] {
            trajectory.map { OuterStep(iteration: $0.iteration, point: $0.theta, value: $0.value, gradient: $0.gradient, projectedGradientNorm: 0, evaluations: 0) }
        }
    }

    /// Minimizes `criterion` from `start` inside `bounds`, after evaluating `grid` (if any).
    /// `progress` sees every accepted step and stops the run by returning false.
    /// - Throws: `.invalidArgument` for a start or bounds of the wrong length; what the
    ///   criterion throws.
    public func tune(_ criterion: any TuningCriterion, from start: [Double], bounds: TuningBounds, grid: [[Double]] = [],
                     progress: ((OuterStep) -> Bool)? = nil) throws -> Report {
        let d = criterion.dimension
        guard start.count == d, bounds.lower.count == d, bounds.upper.count == d else {
            throw SparseError.invalidArgument("the start and the bounds must have the criterion's \(d) components")
        }
        guard start.allSatisfy(\.isFinite) else { throw SparseError.nonFinite(what: "the tuner's start", index: start.firstIndex { !$0.isFinite } ?? 0) }
        let began = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - began) * 1e-9 }
        var gridPoints: [Report.GridPoint] = []
        for theta in grid { gridPoints.append(Report.GridPoint(theta: theta, value: try criterion.value(at: theta))) }
        let gridSeconds = elapsed()
        var times: [(seconds: Double, iterations: Int)] = []
        var lastEpochs = criterion.innerEpochs
        let result = try optimizer.minimize({ try criterion.evaluate($0) }, from: start, bounds: bounds, options: options) { step in
            times.append((elapsed(), criterion.innerEpochs - lastEpochs))
            lastEpochs = criterion.innerEpochs
            return progress?(step) ?? true
        }
        let steps = result.trajectory.enumerated().map { k, step in
            Report.Step(iteration: step.iteration, theta: step.point, value: step.value, gradient: step.gradient,
                        seconds: k < times.count ? times[k].seconds : elapsed(), innerIterations: k < times.count ? times[k].iterations : 0)
        }
        return Report(optimizer: optimizer.name, start: start, best: result.best, bestValue: result.bestValue, trajectory: steps,
                      grid: gridPoints, evaluations: result.evaluations, stopReason: result.stopReason, innerSolves: criterion.innerSolves,
                      innerEpochs: criterion.innerEpochs, solveSeconds: criterion.solveSeconds,
                      hypergradientSeconds: criterion.hypergradientSeconds, gridSeconds: gridSeconds, seconds: elapsed())
    }

    /// The λ-path convenience: start, bounds and grid from λ_max.
    /// - Throws: `.invalidArgument` for ratios that are not above 1 or a λ_max that is not
    ///   positive and finite.
    public func tune(_ criterion: any LambdaPathCriterion, path: Path = Path(), progress: ((OuterStep) -> Bool)? = nil) throws -> Report {
        let lambdaMax = criterion.lambdaMax
        guard lambdaMax > 0, lambdaMax.isFinite else {
            throw SparseError.invalidArgument("λ_max is \(lambdaMax): the model has no regularization path to tune on (every weight is 0 at any λ)")
        }
        guard path.startRatio >= 1, path.minRatio > 1, path.startRatio <= path.minRatio, path.gridPoints >= 0 else {
            throw SparseError.invalidArgument("the start ratio must be in [1, the minimum ratio] and the minimum ratio above 1")
        }
        let upper = criterion.theta(lambda: lambdaMax), lower = criterion.theta(lambda: lambdaMax / path.minRatio)
        let bounds = TuningBounds(lower: zip(lower, upper).map { min($0, $1) }, upper: zip(lower, upper).map { max($0, $1) })
        let grid = (0..<path.gridPoints).map { k -> [Double] in
            let fraction = path.gridPoints == 1 ? 0 : Double(k) / Double(path.gridPoints - 1)
            return criterion.theta(lambda: lambdaMax * Foundation.pow(path.minRatio, -fraction))
        }
        return try tune(criterion, from: criterion.theta(lambda: lambdaMax / path.startRatio), bounds: bounds, grid: grid, progress: progress)
    }
}

extension TuningPlot {
    /// The criterion against λ of a one-hyperparameter `Tuner` run (θ = [log λ]): its outer
    /// steps, its grid and its best point, as `svg(title:criterion:trajectory:grid:best:)`.
    public static func svg(title: String, criterion: String, report: Tuner.Report) -> String {
        return svg(title: title, criterion: criterion, trajectory: report.outerSteps,
                   grid: report.grid.map { (Foundation.exp($0.theta[0]), $0.value) },
                   best: (Foundation.exp(report.best[0]), report.bestValue))
    }
}
