import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse

enum TuneModel: String, ExpressibleByArgument, CaseIterable { case lasso, enet, wlasso, logreg }
enum TuneCriterion: String, ExpressibleByArgument, CaseIterable {
    case heldOut = "held-out", cv, sure
    init?(argument: String) {
        // "heldout" was this option's first spelling.
        self.init(rawValue: argument == "heldout" ? "held-out" : argument)
    }
}

/// Set by SIGINT; the outer loop stops at the next step and the run still writes its outputs.
nonisolated(unsafe) var tuneInterrupted: sig_atomic_t = 0

/// `isparse tune …`: the regression models (the default subcommand, `tune lasso …`) and the
/// graph models.
struct TuneGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune hyperparameters by following the hypergradient of a criterion.",
        discussion: "`isparse tune lasso|enet|wlasso|logreg …` (the default subcommand, `regression`), any datafit × penalty (`glm --datafit … --penalty …`), or a graph model: graph-ls, graph-tv.",
        subcommands: [TuneCommand.self, TuneGLM.self, GraphLSTune.self, GraphTVTune.self],
        defaultSubcommand: TuneCommand.self)
}

/// One `Tuner` run with the progress line (a live status line on a terminal, one line per
/// accepted step otherwise, none when `quiet`); SIGINT stops it at the next step.
func followHypergradient(_ criterion: any TuningCriterion, tuner: Tuner, from theta0: [Double], bounds: TuningBounds,
                         grid: [[Double]] = [], quiet: Bool, stage: String, criterionName: String,
                         describe: @escaping (OuterStep) -> String) throws -> Tuner.Report {
    let interactive = !quiet && isatty(2) != 0
    let maxIter = tuner.options.maxIterations
    let tuneStart = DispatchTime.now()
    let report = try tuner.tune(criterion, from: theta0, bounds: bounds, grid: grid) { step in
        guard !quiet else { return tuneInterrupted == 0 }
        let elapsed = seconds(since: tuneStart)
        let rate = elapsed / Double(max(step.iteration, 1))
        let remaining = step.iteration == 0 ? "" : String(format: ", ≤ %.0f s left", rate * Double(maxIter - step.iteration))
        let line = String(format: "%@[%d/%d] %@, %@ %.6g, %@, %d inner iterations, %.1f s%@", stage, step.iteration, maxIter,
                          describe(step), criterionName, step.value, stepGradient(step), criterion.innerEpochs, elapsed, remaining)
        FileHandle.standardError.write((interactive ? "\r\u{1B}[K" + line : line + "\n").data(using: .utf8)!)
        return tuneInterrupted == 0
    }
    if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    return report
}

/// A λ grid's points and time in a JSON report (`grid`, `gridSeconds`), when there is one.
func setGrid(_ object: inout JSONObject, _ points: [(lambda: Double, value: Double)], seconds: Double) {
    guard !points.isEmpty else { return }
    object.set("grid", points.map { point in
        var o = JSONObject()
        o.set("lambda", point.lambda)
        o.set("validationLoss", point.value)
        return o
    })
    object.set("gridSeconds", seconds)
}

/// The hypergradient of a progress line: the derivative in one dimension, the norm otherwise.
func stepGradient(_ step: OuterStep) -> String {
    step.gradient.count == 1 ? String(format: "dC/dlog λ %+.3e", step.gradient[0]) : String(format: "‖∇C‖ %.3e", Vector.norm(step.gradient))
}

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "Tune the hyperparameters of a lasso, elastic net, weighted lasso or sparse logistic regression by following the hypergradient.",
        discussion: """
        Minimizes a criterion over log-scale hyperparameters with an outer optimizer: lbfgs \
        (bounded L-BFGS, default), gd (gradient descent with Armijo backtracking) or adam. \
        Hyperparameters: lasso and logreg log λ; enet (log λ₁, log λ₂) with λ₁ = λα, \
        λ₂ = λ(1 − α) (reported as λ and the ℓ1 ratio α; started at --l1-ratio, default 0.5); \
        wlasso one log λⱼ per feature, started from the best lasso (tuned first, same \
        criterion). Bounds: λ in [λ_max/R_min, λ_max] per component (--min-ratio R_min, default \
        10⁴; feature weights up to 10·λ_max). Start: λ_max/--init-ratio (default 10). \
        Criteria: held-out (the validation rows' MSE; mean logistic loss for logreg), cv \
        (k-fold cross-validation on the training rows, --cv K or --criterion cv with 5 \
        folds), sure (Stein's unbiased risk estimate on the training rows: exact df |S| for \
        lasso and wlasso, finite-difference Monte-Carlo df for enet; σ² from --sigma2 or \
        estimated). With cv (and --val) or sure the validation rows' MSE is reported at the best point. \
        Each evaluation is a warm-started inner solve (working-set CD, proximal Newton for \
        logreg; --tol) and one adjoint on the support (two of each for Monte-Carlo SURE, one \
        per fold for cv). Stops after --max-iter outer iterations, a relative decrease below \
        --outer-tol, or a projected gradient ≈ 0. Progress: a live status line on a terminal, \
        one line per outer iteration otherwise (standard error), nothing with --quiet. Ctrl-C \
        stops at the next step, prints the best point and still writes --plot, --output, \
        --output-weights and --json (exit 130). --grid N also evaluates N values of λ from \
        λ_max to λ_max/R_min (warm-started path; for enet at the starting α, for wlasso the \
        plain lasso's) for the plot and the comparison.
        """)

    @Argument(help: "lasso, enet, wlasso or logreg.")
    var model: TuneModel

    @OptionGroup var split: SplitOptions

    @Option(help: "held-out, cv or sure (least-squares models).")
    var criterion: TuneCriterion?

    @Option(help: "K-fold cross-validation on the training rows (implies --criterion cv).")
    var cv: Int?

    @Option(help: "σ² of SURE (default: estimated from the lasso at λ_max/100, RSS/(n − |S|)).")
    var sigma2: Double?

    @OptionGroup var loop: OuterLoopOptions
    var initRatio: Double { loop.initRatio }
    var minRatio: Double { loop.minRatio }
    var maxIter: Int { loop.maxIter }
    var grid: Int { loop.grid }

    @Option(help: "Write the SVG plot here (criterion against λ; against the outer iteration for enet and wlasso).")
    var plot: String?

    @Option(help: "Write the best point's solution w here (Matrix Market dense array).")
    var output: String?

    @Option(name: .customLong("output-weights"), help: "wlasso: write the tuned per-feature λⱼ here (Matrix Market dense array).")
    var outputWeights: String?

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    var chosenCriterion: TuneCriterion { criterion ?? (cv != nil ? .cv : .heldOut) }
    var folds: Int { cv ?? 5 }

    func validate() throws {
        if let cv, !(2...100).contains(cv) { throw ValidationError("--cv must be between 2 and 100") }
        if cv != nil && criterion != nil && criterion != .cv { throw ValidationError("--cv K is cross-validation: drop --criterion or give --criterion cv") }
        if let sigma2, !(sigma2 > 0 && sigma2.isFinite) { throw ValidationError("--sigma2 must be positive and finite") }
        if sigma2 != nil && chosenCriterion != .sure { throw ValidationError("--sigma2 applies to --criterion sure") }
        if options.lambda != nil || options.lambdaRatio != nil { throw ValidationError("tune chooses λ: use --init-ratio and --min-ratio") }
        if options.solver != .cd { throw ValidationError("tune uses coordinate descent (proximal Newton for logreg) for the inner solves") }
        if outputWeights != nil && model != .wlasso { throw ValidationError("--output-weights applies to wlasso") }
        switch model {
        case .enet: _ = try options.penalty(HypergradModel.enet)
        case .logreg:
            _ = try options.logisticL1Ratio()
            if chosenCriterion != .heldOut { throw ValidationError("logreg is tuned on the held-out logistic loss (--criterion held-out)") }
            if options.fitIntercept { throw ValidationError("logreg has no intercept (--fit-intercept applies to the least-squares models)") }
        case .lasso, .wlasso:
            if options.l1Ratio != nil { throw ValidationError("--l1-ratio applies to enet and logreg") }
        }
    }

    /// The criterion of a run, with the model it solves on all training rows (held-out and
    /// SURE; nil for cross-validation's folds and logreg) and SURE's settings, as typed values.
    struct Criterion {
        var criterion: any LambdaPathCriterion
        var family: LassoFamily?
        var sure: SteinUnbiasedRisk?
    }

    /// The criterion of this run for a model form (wlasso tunes the lasso first).
    func makeCriterion(_ hyperparameters: LassoHyperparameters, train: CSRMatrix, yTrain: [Double], validation: CSRMatrix,
                       yValidation: [Double]) throws -> Criterion {
        if model == .logreg {
            return Criterion(criterion: try HeldOutLogistic(design: train, labels: yTrain, validation: validation, validationLabels: yValidation,
                                                            l1Ratio: try options.logisticL1Ratio(), tolerance: options.tol))
        }
        let penalty: RegularizedLeastSquares.Penalty = model == .enet ? try options.penalty(HypergradModel.enet) : .lasso
        switch chosenCriterion {
        case .heldOut:
            let criterion = try HeldOutRegression(design: train, targets: yTrain, validation: validation, validationTargets: yValidation,
                                                  penalty: penalty, hyperparameters: hyperparameters, fitIntercept: options.fitIntercept,
                                                  tolerance: options.tol)
            return Criterion(criterion: criterion, family: criterion.model)
        case .cv:
            return Criterion(criterion: try CrossValidatedRegression(design: train, targets: yTrain, folds: folds, seed: options.seed, penalty: penalty,
                                                                     hyperparameters: hyperparameters, fitIntercept: options.fitIntercept,
                                                                     tolerance: options.tol))
        case .sure:
            let sure = try SteinUnbiasedRisk(model: LassoFamily(design: train, targets: yTrain, penalty: penalty, hyperparameters: hyperparameters,
                                                                fitIntercept: options.fitIntercept, tolerance: options.tol),
                                             noiseVariance: sigma2, seed: options.seed)
            return Criterion(criterion: sure, family: sure.model, sure: sure)
        }
    }

    var criterionName: String {
        switch chosenCriterion {
        case .heldOut: return model == .logreg ? "validation logistic loss" : "validation MSE"
        case .cv: return "\(folds)-fold CV MSE"
        case .sure: return "SURE"
        }
    }

    /// λ and the ℓ1 ratio of a point θ, and a one-number summary of λ for feature weights
    /// (their geometric mean).
    func describe(_ theta: [Double]) -> (lambda: Double, l1Ratio: Double?) { TuneReport.describe(theta, model: model.rawValue) }

    func run() throws {
        // First, so that a Ctrl-C while the data load still ends in a clean stop with outputs.
        signal(SIGINT) { _ in tuneInterrupted = 1 }
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkEncoding(split.val, option: "--val")
        for (path, option) in [(output, "--output"), (plot, "--plot"), (outputWeights, "--output-weights")] {
            try Files.checkOutput(path, option: option, inputs: [options.data, split.val])
        }
        let outputs = try Files.Outputs([(output, "--output"), (outputWeights, "--output-weights"), (plot, "--plot")])
        let start = DispatchTime.now()
        // Cross-validation folds all of --data (validation rows only from --val).
        let (train, yTrain, validation, yValidation, source) = try options.loadSplit(val: split.val, valFraction: split.valFraction,
                                                                                     classification: model == .logreg,
                                                                                     holdOut: chosenCriterion != .cv)
        let hyperparameters: LassoHyperparameters = model == .enet ? .logStrengths : (model == .wlasso ? .logFeatureWeights : .logLambda)
        let tuneStart = DispatchTime.now()
        let tuner = Tuner(optimizer: loop.outerOptimizer, options: loop.outerOptions)
        let outer = tuner.optimizer

        /// One tuning run with progress; `stage` prefixes the progress line.
        func tune(_ criterion: any LambdaPathCriterion, from theta0: [Double], bounds: TuningBounds, stage: String) throws -> Tuner.Report {
            try followHypergradient(criterion, tuner: tuner, from: theta0, bounds: bounds, quiet: quiet,
                                    stage: stage, criterionName: criterionName) { step in
                let (lambda, alpha) = describe(step.point)
                let location = step.point.count > 2 ? String(format: "mean log λⱼ ↔ λ = %.4g", lambda)
                    : String(format: "λ = %.4g (λ_max/%.3g)%@", lambda, criterion.lambdaMax / lambda, alpha.map { String(format: ", α = %.3f", $0) } ?? "")
                return location + ", support \(criterion.lastSupportSize)"
            }
        }

        let made = try makeCriterion(hyperparameters, train: train, yTrain: yTrain, validation: validation, yValidation: yValidation)
        let criterion = made.criterion
        let top = Foundation.log(criterion.lambdaMax), bottom = top - Foundation.log(minRatio)
        var lassoStage: (result: Tuner.Report, criterion: any LambdaPathCriterion)?
        var theta0 = criterion.theta(lambda: criterion.lambdaMax / initRatio)
        var bounds = TuningBounds(lower: [Double](repeating: bottom, count: theta0.count), upper: [Double](repeating: top, count: theta0.count))
        if model == .wlasso {
            // The plain lasso first: its best λ starts every feature's weight.
            let lasso = try makeCriterion(.logLambda, train: train, yTrain: yTrain, validation: validation, yValidation: yValidation).criterion
            let result = try tune(lasso, from: [top - Foundation.log(initRatio)], bounds: TuningBounds(lower: [bottom], upper: [top]),
                                       stage: "lasso ")
            lassoStage = (result, lasso)
            theta0 = criterion.theta(lambda: Foundation.exp(result.best[0]))
            bounds.upper = [Double](repeating: top + Foundation.log(10), count: theta0.count)
        }
        let result: Tuner.Report
        if let lassoStage, tuneInterrupted != 0 {
            // Stopped during the lasso stage: its best λ, as every feature's weight, is the answer.
            result = lassoStage.result
        } else {
            result = try tune(criterion, from: theta0, bounds: bounds, stage: model == .wlasso ? "weights " : "")
        }
        let tuneSeconds = seconds(since: tuneStart)
        // What tuning spent (both stages for wlasso), before the best point's final solve.
        let spent = (solves: criterion.innerSolves + (lassoStage?.criterion.innerSolves ?? 0),
                     epochs: criterion.innerEpochs + (lassoStage?.criterion.innerEpochs ?? 0),
                     inner: criterion.solveSeconds + (lassoStage?.criterion.solveSeconds ?? 0),
                     hypergradient: criterion.hypergradientSeconds + (lassoStage?.criterion.hypergradientSeconds ?? 0))
        let interrupted = tuneInterrupted != 0
        let (bestLambda, bestAlpha) = describe(result.best.count == criterion.dimension ? result.best : theta0)
        // The grid, when asked (its own warm-started solves, not counted in the tuning time).
        var gridPoints: [(lambda: Double, value: Double)] = []
        let gridStart = DispatchTime.now()
        if grid > 0 && !interrupted {
            let gridCriterion = try makeCriterion(model == .wlasso ? .logLambda : hyperparameters, train: train, yTrain: yTrain,
                                                  validation: validation, yValidation: yValidation).criterion
            for k in 0..<grid {
                let lambda = Foundation.exp(top - Foundation.log(minRatio) * Double(k) / Double(max(grid - 1, 1)))
                gridPoints.append((lambda, try gridCriterion.validationLoss(lambda: lambda)))
                if tuneInterrupted != 0 { break }
            }
        }
        let gridSeconds = seconds(since: gridStart)
        // The best point's solution on all training rows: --output, the support size, and with
        // cv / sure the validation rows' loss.
        let best = result.best.count == criterion.dimension ? result.best : theta0
        let finalStart = DispatchTime.now()
        var heldOutLoss: Double?
        var weights: [Double]
        if model == .logreg {
            let problem = try SparseLogisticRegression(design: train, labels: yTrain, lambda: bestLambda, l1Ratio: try options.logisticL1Ratio())
            weights = try problem.solvePoint(tolerance: options.tol).result.solution
            heldOutLoss = try LogisticHypergradient.heldOutLossAndGradient(weights, validation: validation,
                                                                           labels: SparseLogisticRegression.signedLabels(yValidation)).loss
        } else {
            // The held-out and SURE criteria fit all training rows already: their model solves
            // warm-started from its last solution, on its CSC copy; cross-validation's folds do
            // not, so a model of all rows is made.
            let family = try made.family
                ?? LassoFamily(design: train, targets: yTrain, penalty: model == .enet ? try options.penalty(HypergradModel.enet) : .lasso,
                               hyperparameters: hyperparameters, fitIntercept: options.fitIntercept, tolerance: options.tol)
            let (problem, w) = try family.solve(best)
            weights = w
            heldOutLoss = validation.rows > 0 ? try problem.validationLoss(w, validation: validation, targets: yValidation) : nil
        }
        let finalSeconds = seconds(since: finalStart)
        let supportSize = weights.filter { $0 != 0 }.count
        try outputs.write(output) { try MatrixMarket.writeDense(weights, rows: weights.count, to: $0) }
        try outputs.write(outputWeights) { try MatrixMarket.writeDense(best.map { Foundation.exp($0) }, rows: best.count, to: $0) }
        let gridBest = gridPoints.min { $0.value < $1.value }
        if let plot {
            let title = "isparse tune \(model.rawValue) — \(outer.name), \(result.trajectory.count - 1) outer iterations"
            let svg: String
            if criterion.dimension == 1 {
                svg = TuningPlot.svg(title: title, criterion: criterionName, trajectory: result.outerSteps, grid: gridPoints,
                                     best: (bestLambda, result.bestValue))
            } else {
                let bestIteration = result.trajectory.enumerated().min { $0.element.value < $1.element.value }?.offset ?? 0
                let reference = gridBest.map { (label: model == .wlasso ? "best lasso on the grid" : "best of the grid at α = \(String(format: "%.2g", try! options.penalty(HypergradModel.enet).l1Ratio))", value: $0.value) }
                    ?? lassoStage.map { (label: "best lasso (tuned)", value: $0.result.bestValue) }
                svg = TuningPlot.svgByIteration(title: title, criterion: criterionName, trajectory: result.outerSteps,
                                                best: (bestIteration, result.bestValue), reference: reference)
            }
            try outputs.write(plot) { try TextFile.write(svg, to: $0) }
        }
        let linearAlgebra = criterion.linearAlgebra
        // The validation rows' loss at the best point is the criterion itself for held-out.
        let report = TuneReport(model: model.rawValue, source: source, trainRows: train.rows, validationRows: validation.rows,
                                features: train.columns, optimizer: outer.name, criterion: chosenCriterion.rawValue,
                                lambdaMax: criterion.lambdaMax, result: result, lambda: bestLambda, l1Ratio: bestAlpha,
                                validationLoss: chosenCriterion == .heldOut ? result.bestValue : heldOutLoss,
                                supportSize: supportSize, innerSolves: spent.solves, innerEpochs: spent.epochs,
                                linearAlgebra: linearAlgebra, stopReason: interrupted ? "interrupted" : result.stopReason)
        if json {
            var object = JSONObject()
            report.setHeader(&object)
            if chosenCriterion == .cv { object.set("folds", folds) }
            if let sure = made.sure {
                object.set("noiseVariance", sure.noiseVariance)
                object.set("degreesOfFreedom", sure.monteCarlo ? "monte-carlo" : "exact")
            }
            report.setResult(&object)
            if let lassoStage {
                object.set("lassoLambda", Foundation.exp(lassoStage.result.best[0]))
                object.set("lassoCriterionValue", lassoStage.result.bestValue)
                var stage = JSONObject()
                stage.set("iterations", lassoStage.result.trajectory.count - 1)
                stage.set("evaluations", lassoStage.result.evaluations)
                stage.set("innerSeconds", lassoStage.criterion.solveSeconds)
                stage.set("hypergradientSeconds", lassoStage.criterion.hypergradientSeconds)
                object.set("lassoStage", stage)
            }
            setGrid(&object, gridPoints, seconds: gridSeconds)
            if let gridBest {
                object.set("gridBestLambda", gridBest.lambda)
                object.set("gridBestValidationLoss", gridBest.value)
            }
            var times = JSONObject()
            times.set("total", seconds(since: start))
            times.set("tuning", tuneSeconds)
            times.set("inner", spent.inner)
            times.set("hypergradient", spent.hypergradient)
            times.set("final", finalSeconds)
            object.set("seconds", times)
            print(object.render())
        } else {
            print(report.dataLine)
            if let lassoStage {
                print(String(format: "lasso stage: λ = %.6g, %@ %.10g (%d outer iterations)", Foundation.exp(lassoStage.result.best[0]), criterionName,
                             lassoStage.result.bestValue, lassoStage.result.trajectory.count - 1))
            }
            let point = model == .wlasso ? String(format: "%d feature weights (geometric mean λ = %.6g)", best.count, bestLambda)
                : String(format: "λ = %.6g (λ_max/%.4g)%@", bestLambda, criterion.lambdaMax / bestLambda, bestAlpha.map { String(format: ", α = %.4f", $0) } ?? "")
            print("best: \(point), \(criterionName) \(String(format: "%.10g", result.bestValue)), support \(supportSize)")
            if let sure = made.sure {
                print(String(format: "SURE: σ² = %.6g (%@), df %@", sure.noiseVariance, sigma2 == nil ? "estimated" : "given",
                             sure.monteCarlo ? "by finite-difference Monte-Carlo" : "= |S| exactly"))
            }
            if chosenCriterion != .heldOut, let heldOutLoss {
                print(String(format: "validation MSE at the best point (trained on all training rows): %.10g", heldOutLoss))
            }
            print(report.outerLine)
            print(String(format: "inner: %d solves, %d epochs; seconds: tuning %.2f (solves %.2f, hypergradients %.2f)",
                         spent.solves, spent.epochs, tuneSeconds, spent.inner, spent.hypergradient))
            print("adjoints: \(linearAlgebra.preparations) preparations of the support's system (a rank-revealing dense factorization up to 2000 columns, else a sparse factorization or a preconditioner), \(linearAlgebra.updates) reuses of a kept one, \(linearAlgebra.solves) solves" + (linearAlgebra.adopted > 0 ? ", \(linearAlgebra.adopted) forward-mode solves (singular supports above the dense limit)" : ""))
            if let gridBest {
                print(String(format: "grid of %d: best λ = %.6g, %@ %.10g (tuned − grid best: %+.2e relative), %.2f s (tuning/grid time %.2f)",
                             grid, gridBest.lambda, criterionName, gridBest.value,
                             (result.bestValue - gridBest.value) / gridBest.value, gridSeconds, tuneSeconds / max(gridSeconds, 1e-9)))
            }
            if let plot { print("plot: \(plot)") }
        }
        if interrupted {
            Files.finishStandardOutput()
            Foundation.exit(130)
        }
    }
}
