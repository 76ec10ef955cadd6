import ArgumentParser
import Foundation
import ImplicitSparse

enum TuneModel: String, ExpressibleByArgument, CaseIterable { case lasso, enet }
enum OuterMethod: String, ExpressibleByArgument, CaseIterable { case gd, adam, lbfgs }
enum TuneCriterion: String, ExpressibleByArgument, CaseIterable { case heldout, cv }

/// Set by SIGINT; the outer loop stops at the next step and the run still writes its outputs.
nonisolated(unsafe) var tuneInterrupted: sig_atomic_t = 0

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune λ of a lasso / elastic net by following the hypergradient of the held-out loss.",
        discussion: """
        Minimizes the validation MSE over log λ in [log(λ_max/R_min), log λ_max] (--min-ratio \\
        R_min, default 10⁴) from λ_max/--start-ratio (default 10) with an outer optimizer: lbfgs \\
        (bounded L-BFGS, default), gd (gradient descent with Armijo backtracking) or adam. Each \\
        step is one warm-started inner solve (working-set CD, --tol) and one adjoint on the \\
        support. Progress: a live status line on a terminal, one line per outer iteration \\
        otherwise (standard error), nothing with --quiet. Ctrl-C stops at the next step, prints \\
        the best point and still writes --plot, --output and --json (exit 130). --grid N also \\
        evaluates N values of λ for the plot and the comparison.
        """)

    @Argument(help: "lasso or enet.")
    var model: TuneModel

    @OptionGroup var split: SplitOptions

    @Option(help: "heldout (the validation rows' MSE) or cv (k-fold cross-validation on the training rows; the validation rows are reported at the best λ).")
    var criterion: TuneCriterion = .heldout

    @Option(help: "Folds of --criterion cv.")
    var folds: Int = 5

    @Option(help: "Outer optimizer: lbfgs, gd or adam.")
    var optimizer: OuterMethod = .lbfgs

    @Option(name: .customLong("start-ratio"), help: "Start at λ_max / R.")
    var startRatio: Double = 10

    @Option(name: .customLong("min-ratio"), help: "Lower bound λ_max / R.")
    var minRatio: Double = 1e4

    @Option(name: .customLong("max-iter"), help: "Outer iterations at most.")
    var maxIter: Int = 20

    @Option(help: "Also evaluate a grid of N values of λ (log-spaced over the bounds) for the plot and the comparison.")
    var grid: Int = 0

    @Option(help: "Write the SVG plot (criterion against λ, the trajectory, the best point) here.")
    var plot: String?

    @Option(help: "Write the best λ's solution w here (Matrix Market dense array).")
    var output: String?

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if !(startRatio >= 1 && startRatio.isFinite) { throw ValidationError("--start-ratio must be ≥ 1") }
        if !(minRatio > 1 && minRatio.isFinite) { throw ValidationError("--min-ratio must be above 1") }
        if startRatio > minRatio { throw ValidationError("--start-ratio must not exceed --min-ratio") }
        if !(0...10_000).contains(maxIter) { throw ValidationError("--max-iter must be between 0 and 10000") }
        if !(0...10_000).contains(grid) { throw ValidationError("--grid must be between 0 and 10000") }
        if !(2...100).contains(folds) { throw ValidationError("--folds must be between 2 and 100") }
        if options.lambda != nil || options.lambdaRatio != nil { throw ValidationError("tune chooses λ: use --start-ratio and --min-ratio") }
        if options.solver != .cd { throw ValidationError("tune uses coordinate descent for the inner solves") }
        if model == .enet { _ = try options.penalty(HypergradModel.enet) }
    }

    func run() throws {
        // First, so that a Ctrl-C while the data load still ends in a clean stop with outputs.
        signal(SIGINT) { _ in tuneInterrupted = 1 }
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkEncoding(split.val, option: "--val")
        try Files.checkOutput(output, option: "--output", inputs: [options.data, split.val])
        try Files.checkOutput(plot, option: "--plot", inputs: [options.data, split.val])
        let start = DispatchTime.now()
        let (train, yTrain, validation, yValidation, source) = try options.loadSplit(val: split.val, valFraction: split.valFraction)
        let penalty = try options.penalty(model == .lasso ? HypergradModel.lasso : HypergradModel.enet)
        func makeCriterion() throws -> any TuningCriterion {
            switch self.criterion {
            case .heldout:
                return try HeldOutRegression(design: train, targets: yTrain, validation: validation, validationTargets: yValidation,
                                             penalty: penalty, fitIntercept: self.options.fitIntercept, tolerance: self.options.tol)
            case .cv:
                return try CrossValidatedRegression(design: train, targets: yTrain, folds: folds, seed: self.options.seed, penalty: penalty,
                                                    fitIntercept: self.options.fitIntercept, tolerance: self.options.tol)
            }
        }
        let criterion = try makeCriterion()
        let top = Foundation.log(criterion.lambdaMax)
        let bounds = TuningBounds(lower: [top - Foundation.log(minRatio)], upper: [top])
        let outer: any OuterOptimizer
        switch optimizer {
        case .gd: outer = GradientDescent()
        case .adam: outer = Adam()
        case .lbfgs: outer = BoundedLBFGS()
        }
        let interactive = !quiet && isatty(2) != 0
        let tuneStart = DispatchTime.now()
        func report(_ step: OuterStep) {
            guard !quiet else { return }
            let elapsed = seconds(since: tuneStart)
            let perStep = elapsed / Double(max(step.iteration, 1))
            let remaining = step.iteration == 0 ? "" : String(format: ", ≤ %.0f s left", perStep * Double(maxIter - step.iteration))
            let line = String(format: "[%d/%d] λ = %.4g (λ_max/%.3g), validation MSE %.6g, dC/dlog λ %+.3e, %d inner epochs, %.1f s%@",
                              step.iteration, maxIter, Foundation.exp(step.point[0]), criterion.lambdaMax / Foundation.exp(step.point[0]),
                              step.value, step.gradient[0], criterion.innerEpochs, elapsed, remaining)
            FileHandle.standardError.write((interactive ? "\r\u{1B}[K" + line : line + "\n").data(using: .utf8)!)
        }
        var options = OuterOptions(maxIterations: maxIter)
        options.relativeDecrease = 1e-7
        let result = try outer.minimize({ try criterion.evaluate($0) }, from: [top - Foundation.log(startRatio)], bounds: bounds,
                                        options: options) { step in
            report(step)
            return tuneInterrupted == 0
        }
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        let tuneSeconds = seconds(since: tuneStart)
        let interrupted = tuneInterrupted != 0
        let bestLambda = Foundation.exp(result.best[0])
        // The grid, when asked (its own warm-started solves, not counted in the tuning time).
        var gridPoints: [(lambda: Double, value: Double)] = []
        let gridStart = DispatchTime.now()
        if grid > 0 && !interrupted {
            let gridCriterion = try makeCriterion()
            for k in 0..<grid {
                let lambda = Foundation.exp(top - Foundation.log(minRatio) * Double(k) / Double(max(grid - 1, 1)))
                gridPoints.append((lambda, try gridCriterion.validationLoss(lambda: lambda)))
                if tuneInterrupted != 0 { break }
            }
        }
        let gridSeconds = seconds(since: gridStart)
        // The best λ's solution on all training rows: --output, and with cv the validation rows' MSE.
        var heldOutLoss: Double?
        if output != nil || self.criterion == .cv {
            let problem = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: penalty, lambda: bestLambda,
                                                      fitIntercept: self.options.fitIntercept)
            let solution = try problem.solve(tolerance: self.options.tol)
            if let output { try MatrixMarket.writeDense(solution.weights, rows: solution.weights.count, to: output) }
            heldOutLoss = try problem.validationLoss(solution.weights, validation: validation, targets: yValidation)
        }
        if let plot {
            let svg = TuningPlot.svg(title: "isparse tune \(model.rawValue) — \(outer.name), \(result.trajectory.count - 1) outer iterations",
                                     criterion: self.criterion == .cv ? "\(folds)-fold CV MSE" : "validation MSE", trajectory: result.trajectory, grid: gridPoints,
                                     best: (bestLambda, result.bestValue))
            try TextFile.write(svg, to: plot)
        }
        let gridBest = gridPoints.min { $0.value < $1.value }
        if json {
            var object = JSONObject()
            object.set("model", model.rawValue)
            object.set("data", source)
            object.set("trainRows", train.rows)
            object.set("validationRows", validation.rows)
            object.set("features", train.columns)
            object.set("optimizer", outer.name)
            object.set("criterion", self.criterion.rawValue)
            if self.criterion == .cv { object.set("folds", folds) }
            if let heldOutLoss, self.criterion == .cv { object.set("heldOutValidationLoss", heldOutLoss) }
            object.set("lambdaMax", criterion.lambdaMax)
            object.set("lambda", bestLambda)
            object.set("validationLoss", result.bestValue)
            object.set("outerIterations", result.trajectory.count - 1)
            object.set("evaluations", result.evaluations)
            object.set("innerSolves", criterion.innerSolves)
            object.set("innerEpochs", criterion.innerEpochs)
            object.set("stopReason", interrupted ? "interrupted" : result.stopReason)
            object.set("trajectory", result.trajectory.map { step in
                var o = JSONObject()
                o.set("lambda", Foundation.exp(step.point[0]))
                o.set("validationLoss", step.value)
                o.set("hypergradient", step.gradient[0])
                return o
            })
            if let gridBest {
                object.set("gridBestLambda", gridBest.lambda)
                object.set("gridBestValidationLoss", gridBest.value)
            }
            var times = JSONObject()
            times.set("total", seconds(since: start))
            times.set("tuning", tuneSeconds)
            times.set("innerSolves", criterion.solveSeconds)
            times.set("hypergradients", criterion.hypergradientSeconds)
            if grid > 0 { times.set("grid", gridSeconds) }
            object.set("seconds", times)
            print(object.render())
        } else {
            print("data: \(source): \(train.rows) training rows, \(validation.rows) validation rows, \(train.columns) features")
            print(String(format: "best: λ = %.6g (λ_max/%.4g), %@ %.10g", bestLambda, criterion.lambdaMax / bestLambda,
                         self.criterion == .cv ? "\(folds)-fold CV MSE" : "validation MSE", result.bestValue))
            if let heldOutLoss, self.criterion == .cv { print(String(format: "validation MSE at the best λ (trained on all training rows): %.10g", heldOutLoss)) }
            print("outer: \(outer.name), \(result.trajectory.count - 1) iterations, \(result.evaluations) evaluations — \(interrupted ? "interrupted" : result.stopReason)")
            print(String(format: "inner: %d solves, %d epochs; seconds: tuning %.2f (solves %.2f, hypergradients %.2f)", criterion.innerSolves,
                         criterion.innerEpochs, tuneSeconds, criterion.solveSeconds, criterion.hypergradientSeconds))
            if let gridBest {
                print(String(format: "grid of %d: best λ = %.6g, %@ %.10g (tuned − grid best: %+.2e relative), %.2f s",
                             grid, gridBest.lambda, self.criterion == .cv ? "CV MSE" : "validation MSE", gridBest.value,
                             (result.bestValue - gridBest.value) / gridBest.value, gridSeconds))
            }
            if let plot { print("plot: \(plot)") }
        }
        if interrupted {
            Files.finishStandardOutput()
            Foundation.exit(130)
        }
    }
}
