import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse

extension GLMSpecification.DatafitKind: ExpressibleByArgument {}
extension GLMSpecification.PenaltyKind: ExpressibleByArgument {}

/// The model of `isparse solve|hypergrad|tune glm`: a datafit and a penalty by name, with
/// their parameters. Parsed here, built and solved by the library (`GLMSpecification`).
struct GLMOptions: ParsableArguments {
    @Option(help: "The datafit: quadratic (least squares), logistic (labels ±1 or 0/1), huber (--delta) or poisson (counts ≥ 0, log link).")
    var datafit: GLMSpecification.DatafitKind = .quadratic

    @Option(help: "The penalty: l1, enet (--l1-ratio), wl1 (--weights), nnl1 (w ≥ 0), mcp (--gamma), scad (--gamma), group (--groups) or box (--lower/--upper).")
    var penalty: GLMSpecification.PenaltyKind = .l1

    @Option(help: "Huber's δ > 0, where the loss turns linear (default 1.35).")
    var delta: Double = 1.35

    @Option(help: "MCP's γ > 0 (default 3) or SCAD's γ > 2 (default 3.7).")
    var gamma: Double?

    @Option(help: "group: one group label per feature (Matrix Market dense array, p × 1, integers; a group's features consecutive).")
    var groups: String?

    @Option(help: "wl1: the penalty weights ωⱼ ≥ 0, one per feature (Matrix Market dense array, p × 1; 0 = unpenalized).")
    var weights: String?

    @Option(help: "box: the lower bound of every weight (default −∞).")
    var lower: Double?

    @Option(help: "box: the upper bound of every weight (default +∞).")
    var upper: Double?

    func validate() throws {
        if !(delta > 0 && delta.isFinite) { throw ValidationError("--delta must be positive and finite") }
        if let gamma {
            if !(gamma > 0 && gamma.isFinite) { throw ValidationError("--gamma must be positive and finite") }
            if penalty == .scad && !(gamma > 2) { throw ValidationError("--gamma must be above 2 for scad") }
        }
        if gamma != nil && penalty != .mcp && penalty != .scad { throw ValidationError("--gamma applies to --penalty mcp and scad") }
        if penalty == .wl1 && weights == nil { throw ValidationError("--penalty wl1 needs --weights W.mtx (one weight ωⱼ ≥ 0 per feature)") }
        if penalty != .wl1 && weights != nil { throw ValidationError("--weights applies to --penalty wl1") }
        if penalty == .group && groups == nil { throw ValidationError("--penalty group needs --groups G.mtx (one group label per feature)") }
        if penalty != .group && groups != nil { throw ValidationError("--groups applies to --penalty group") }
        if (lower != nil || upper != nil) && penalty != .box { throw ValidationError("--lower and --upper apply to --penalty box") }
        if penalty == .box && lower == nil && upper == nil { throw ValidationError("--penalty box needs --lower and/or --upper") }
        if let lower, let upper, !(lower <= upper) { throw ValidationError("--lower must not exceed --upper") }
        if let value = lower ?? upper, value.isNaN { throw ValidationError("--lower and --upper must be numbers") }
    }

    var files: [String] { [groups, weights].compactMap { $0 } }

    /// The library's description of the model, with the files read.
    func specification(features: Int, options: ProblemOptions) throws -> GLMSpecification {
        var spec = GLMSpecification(datafit: datafit, penalty: penalty)
        spec.fitIntercept = options.fitIntercept
        spec.delta = delta
        spec.gamma = gamma
        if penalty == .enet {
            let alpha = options.l1Ratio ?? 0.5
            guard alpha > 0 && alpha <= 1 else { throw ValidationError("--l1-ratio must be in (0, 1] for enet") }
            spec.l1Ratio = alpha
        } else if options.l1Ratio != nil {
            throw CLIFailure(code: .usage, message: "--l1-ratio applies to --penalty enet")
        }
        if let weights {
            let values = try MatrixMarket.readDense(path: weights)
            guard min(values.rows, values.columns) == 1, values.values.count == features else {
                throw CLIFailure(code: .input, message: "\(weights): \(values.rows) × \(values.columns) weights; the data has \(features) features (need \(features) × 1)")
            }
            if let bad = values.values.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
                throw CLIFailure(code: .input, message: "\(weights): weight \(bad + 1) is \(values.values[bad]); weights must be finite and ≥ 0")
            }
            spec.penaltyWeights = values.values
        }
        if let groups {
            let values = try MatrixMarket.readDense(path: groups)
            guard min(values.rows, values.columns) == 1, values.values.count == features else {
                throw CLIFailure(code: .input, message: "\(groups): \(values.rows) × \(values.columns) group labels; the data has \(features) features (need \(features) × 1)")
            }
            if let bad = values.values.firstIndex(where: { !$0.isFinite || $0.rounded() != $0 || abs($0) > 1e15 }) {
                throw CLIFailure(code: .input, message: "\(groups): label \(bad + 1) is \(values.values[bad]); group labels must be integers")
            }
            spec.groupLabels = values.values.map { Int($0) }
        }
        spec.lower = lower ?? -.infinity
        spec.upper = upper ?? .infinity
        return spec
    }

    /// The built-in data of a datafit when no --data is given.
    func generated(seed: UInt64) throws -> (features: CSRMatrix, targets: [Double], source: String) {
        switch datafit {
        case .quadratic, .huber:
            let g = try Datasets.textLike(seed: seed)
            return (g.features, g.targets, "generated text-like problem (seed \(seed))")
        case .logistic:
            let g = try Datasets.binaryTextLike(rows: 20_000, columns: 30_000, nonzerosPerRow: 20, duplicateColumns: 100,
                                                dependentColumns: 100, classification: true, seed: seed)
            return (g.features, g.targets, "generated binary text-like classification problem (seed \(seed))")
        case .poisson:
            let g = try Datasets.binaryTextLikeCounts(rows: 20_000, columns: 30_000, nonzerosPerRow: 20, duplicateColumns: 100,
                                                      dependentColumns: 100, seed: seed)
            return (g.features, g.targets, "generated binary text-like count problem (seed \(seed))")
        }
    }

    func strength(_ options: ProblemOptions) -> GLMSpecification.Strength {
        options.lambda.map { .value($0) } ?? .ratio(options.lambdaRatio ?? 10)
    }
}

private func setFit(_ o: inout JSONObject, _ fit: GLMSpecification.Fit) {
    o.set("datafit", fit.datafit)
    o.set("penalty", fit.penalty)
    o.set("lambda", fit.lambda)
    if let lambdaMax = fit.lambdaMax { o.set("lambdaMax", lambdaMax) } else { o.setNull("lambdaMax") }
    o.set("fitIntercept", fit.fitIntercept)
    if fit.fitIntercept { o.set("intercept", fit.intercept) }
    o.set("objective", fit.objective)
    o.set("kktResidual", fit.kktResidual)
    if let gap = fit.dualityGap { o.set("dualityGap", gap) } else { o.setNull("dualityGap") }
    o.set("globalOptimum", fit.globalOptimum)
    o.set("supportSize", fit.supportSize)
    o.set("innerSolver", fit.solver)
    o.set("innerIterations", fit.iterations)
    o.set("newtonSteps", fit.newtonSteps)
}

private func describeFit(_ fit: GLMSpecification.Fit) -> [String] {
    var lines = [String(format: "model: %@ + %@, λ = %.6g", fit.datafit, fit.penalty, fit.lambda)
                 + (fit.lambdaMax.map { String(format: " (λ_max = %.6g)", $0) } ?? "")
                 + (fit.fitIntercept ? String(format: ", intercept %.6g", fit.intercept) : "")]
    lines.append(String(format: "inner solve: %@, %d epochs, %d Newton steps, KKT residual %.3e (tolerance %.1e), %.3f s", fit.solver,
                        fit.iterations, fit.newtonSteps, fit.kktResidual, fit.tolerance, fit.seconds))
    lines.append(String(format: "objective: %.12g, support %d", fit.objective, fit.supportSize)
                 + (fit.dualityGap.map { String(format: ", duality gap %.3e", $0) } ?? ""))
    if !fit.globalOptimum { lines.append("note: the \(fit.penalty) penalty is nonconvex: this is a stationary point (KKT residual above), not a certified global minimum") }
    return lines
}

struct SolveGLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glm",
        abstract: "Fit any datafit × penalty (Huber + ℓ1, Poisson + ℓ1, least squares + MCP, group lasso…) with its KKT certificate.",
        discussion: """
        Objective (1/n) Σᵢ fᵢ(xᵢᵀw + b) + g(w), b only with --fit-intercept. Datafits fᵢ(z): quadratic ½(yᵢ − z)², \
        logistic log(1 + exp(−yᵢz)), huber (½r² for |r| ≤ δ, δ|r| − δ²/2 beyond, r = yᵢ − z), poisson exp(z) − yᵢz. \
        Penalties g: l1 λ‖w‖₁, enet λ(α‖w‖₁ + (1 − α)/2‖w‖²), wl1 λΣωⱼ|wⱼ|, nnl1 λ‖w‖₁ with w ≥ 0, \
        mcp and scad (nonconvex: a stationary point, said so), group λΣ_g √|g|‖w_g‖₂, box lⱼ ≤ wⱼ ≤ uⱼ. \
        λ_max is the smallest λ with w = 0 (unpenalized features and b fitted); --lambda-ratio R means λ = λ_max/R (default 10). \
        Solved by working-set coordinate descent (prox-Newton steps for the non-quadratic datafits) or FISTA (--solver fista) \
        to a KKT residual max dist(−∇F, ∂g) ≤ --tol. Without --data a built-in generated problem for the datafit is used.
        """)

    @OptionGroup var glm: GLMOptions

    @Option(help: "Write w to this file (Matrix Market dense array).")
    var output: String?

    @Option(name: .customLong("max-epochs"),
            help: "The solver's budget: coordinate-descent epochs over all working sets (default 100 000), or FISTA iterations.")
    var maxEpochs: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let maxEpochs, !(1...100_000_000).contains(maxEpochs) { throw ValidationError("--max-epochs must be between 1 and 10⁸") }
    }

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        for file in glm.files { try Files.checkEncoding(file, option: "--groups/--weights") }
        try Files.checkOutput(output, option: "--output", inputs: [options.data].compactMap { $0 } + glm.files)
        let readStart = DispatchTime.now()
        // The solver's layout only: a file is read straight into CSC (two passes), never a CSR
        // copy beside it.
        let (csc, y, source): (CSCMatrix, [Double], String) = try {
            if let data = options.data {
                let read = try LIBSVM.readColumnMajor(path: data, indexBase: options.zeroBased ? 0 : nil)
                guard read.features.rows > 0 else { throw CLIFailure(code: .input, message: "\(data): no samples") }
                return (read.features, read.targets, data)
            }
            let g = try glm.generated(seed: options.seed)
            return (g.features.toCSC(), g.targets, g.source)
        }()
        let readSeconds = seconds(since: readStart)
        let spec = try glm.specification(features: csc.columns, options: options)
        let fit = try spec.fit(design: csc, targets: y, strength: glm.strength(options), tolerance: options.tol,
                               method: options.solver == .fista ? .fista : .workingSet, maxIterations: maxEpochs)
        if let output { try MatrixMarket.writeDense(fit.weights, rows: fit.weights.count, to: output) }
        if json {
            var o = JSONObject()
            o.set("model", "glm")
            o.set("data", source)
            o.set("rows", csc.rows)
            o.set("features", csc.columns)
            setFit(&o, fit)
            var times = JSONObject()
            times.set("read", readSeconds)
            times.set("solve", fit.seconds)
            o.set("seconds", times)
            print(o.render())
        } else {
            print("data: \(source): \(csc.rows) rows, \(csc.columns) features")
            describeFit(fit).forEach { print($0) }
            print(String(format: "seconds: read %.3f, solve %.3f", readSeconds, fit.seconds))
        }
    }
}

/// Training and validation rows for a GLM: --data split by --val / --val-fraction, or the
/// datafit's built-in problem.
private func loadGLMSplit(_ glm: GLMOptions, _ options: ProblemOptions, _ split: SplitOptions) throws
    -> (train: CSCMatrix, yTrain: [Double], validation: CSCMatrix, yValidation: [Double], source: String) {
    let loaded = try options.loadSplit(val: split.val, valFraction: split.valFraction, generate: { try glm.generated(seed: options.seed) })
    guard loaded.train.rows > 0, loaded.validation.rows > 0 else {
        throw CLIFailure(code: .input, message: "need at least one training and one validation row")
    }
    return (loaded.train.toCSC(), loaded.yTrain, loaded.validation.toCSC(), loaded.yValidation, loaded.source)
}

struct HypergradGLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glm",
        abstract: "Fit any datafit × penalty and differentiate its held-out loss with respect to log λ.",
        discussion: """
        The model as `isparse solve glm`. Held-out loss: the mean squared error for the quadratic datafit, the datafit's own \
        mean loss on the validation rows otherwise (logistic loss, Huber loss, Poisson deviance up to a constant). The \
        derivative comes from the implicit function theorem on the proximal-gradient fixed point, reduced to the generalized \
        support (the penalty's prox pattern: coordinates, or whole groups); for MCP and SCAD the reduced system carries the \
        penalty's negative curvature and is solved by LU (a singular one is an error). A support with duplicated columns is \
        reported as non-unique (the derivative of the minimum-norm solution). --check adds a central finite difference.
        """)

    @OptionGroup var glm: GLMOptions

    @OptionGroup var split: SplitOptions

    @Flag(help: "Also compute a central finite difference in log λ (two extra tight solves).")
    var check = false

    @Option(help: "Write the solution w to this file (Matrix Market dense array).")
    var output: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkEncoding(split.val, option: "--val")
        for file in glm.files { try Files.checkEncoding(file, option: "--groups/--weights") }
        try Files.checkOutput(output, option: "--output", inputs: [options.data, split.val].compactMap { $0 } + glm.files)
        let data = try loadGLMSplit(glm, options, split)
        let spec = try glm.specification(features: data.train.columns, options: options)
        let result = try spec.hypergradient(design: data.train, targets: data.yTrain, validation: data.validation,
                                            validationTargets: data.yValidation, strength: glm.strength(options), tolerance: options.tol,
                                            check: check)
        let fit = result.fit, h = result.hypergradient, report = h.report
        if let output { try MatrixMarket.writeDense(fit.weights, rows: fit.weights.count, to: output) }
        let relative = result.finiteDifference.map { abs($0.derivative - h.gradient) / max(abs($0.derivative), 1e-300) }
        if json {
            var o = JSONObject()
            o.set("model", "glm")
            o.set("data", data.source)
            o.set("trainRows", data.train.rows)
            o.set("validationRows", data.validation.rows)
            o.set("features", data.train.columns)
            setFit(&o, fit)
            o.set("validationLossName", spec.heldOutLossName)
            o.set("validationLoss", h.value)
            o.set("hypergradient", h.gradient)
            o.set("nonUnique", !h.unique)
            o.set("conditionResidual", h.conditionResidual)
            o.set("linearSolver", report?.method ?? "none (empty support)")
            o.set("linearSolverReason", report?.reason ?? "the support is empty: the derivative is 0")
            o.set("adjointResidual", report?.relativeResidual ?? 0)
            var times = JSONObject()
            times.set("solve", fit.seconds)
            times.set("hypergradient", result.hypergradientSeconds)
            o.set("seconds", times)
            if let fd = result.finiteDifference, let relative {
                o.set("finiteDifference", fd.derivative)
                o.set("finiteDifferenceStep", fd.step)
                o.set("relativeDifference", relative)
            }
            print(o.render())
        } else {
            print("data: \(data.source): \(data.train.rows) training rows, \(data.validation.rows) validation rows, \(data.train.columns) features")
            describeFit(fit).forEach { print($0) }
            print(String(format: "validation loss (%@): %.10g", spec.heldOutLossName, h.value))
            print(String(format: "d loss / d log λ: %.10g", h.gradient == 0 ? 0 : h.gradient))
            if let report {
                print("linear solver: \(report.method) — \(report.reason)")
                print(String(format: "adjoint residual: %.3e, fixed-point residual %.3e", report.relativeResidual, h.conditionResidual))
            }
            if !h.unique { print("note: the reduced system is singular (duplicated or dependent columns in the support): x* is not unique; this is the derivative of the minimum-norm solution") }
            print(String(format: "seconds: solve %.3f, hypergradient %.3f", fit.seconds, result.hypergradientSeconds))
            if let fd = result.finiteDifference, let relative {
                print(String(format: "finite difference (central, h = %.0e in log λ): %.10g, relative difference %.2e", fd.step, fd.derivative, relative))
            }
        }
    }
}

struct TuneGLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glm",
        abstract: "Tune λ of any datafit × penalty on its held-out loss by following the hypergradient (the library's Tuner).",
        discussion: """
        The model as `isparse solve glm`, the held-out loss as `isparse hypergrad glm`. θ = log λ, bounded to \
        [λ_max/--min-ratio, λ_max], started at λ_max/--init-ratio; each evaluation is a warm-started solve and one \
        reduced adjoint. Criteria: held-out (default), cv (--cv K: k-fold on every row), sure (Stein's unbiased risk \
        estimate on every row, for quadratic + l1, wl1 or nnl1, whose degrees of freedom are |S|; σ² from --sigma2 or \
        estimated as RSS/(n − df) at λ_max/100). Stops after --max-iter outer iterations, a relative decrease below \
        --outer-tol, or a projected gradient ≈ 0. Progress on standard error (a live line on a terminal), nothing with --quiet; Ctrl-C stops at the next step.
        """)

    @OptionGroup var glm: GLMOptions

    @OptionGroup var split: SplitOptions

    @OptionGroup var loop: OuterLoopOptions

    @Option(help: "K-fold cross-validation on all rows (--data, or the built-in problem) instead of a held-out set.")
    var cv: Int?

    @Option(help: "held-out (default), cv (with --cv K, default 5 folds) or sure (Stein's unbiased risk estimate on all rows: quadratic + l1, wl1 or nnl1).")
    var criterion: TuneCriterion?

    @Option(help: "σ² of SURE (default: estimated as RSS/(n − df) at λ_max/100).")
    var sigma2: Double?

    var chosenCriterion: TuneCriterion { criterion ?? (cv != nil ? .cv : .heldOut) }

    @Option(help: "Write the SVG plot here (the criterion against λ: the outer steps, the grid, the best point).")
    var plot: String?

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if options.lambda != nil || options.lambdaRatio != nil { throw ValidationError("tune chooses λ: use --init-ratio and --min-ratio") }
        if options.solver != .cd { throw ValidationError("tune uses the working-set solver for the inner solves") }
        if glm.penalty == .box { throw ValidationError("--penalty box has no strength to tune") }
        if let cv, !(2...100).contains(cv) { throw ValidationError("--cv must be between 2 and 100") }
        if cv != nil && split.val != nil { throw ValidationError("--cv uses every row: drop --val") }
        if cv != nil && criterion != nil && criterion != .cv { throw ValidationError("--cv K is cross-validation: drop --criterion or give --criterion cv") }
        if let sigma2, !(sigma2 > 0 && sigma2.isFinite) { throw ValidationError("--sigma2 must be positive and finite") }
        if sigma2 != nil && chosenCriterion != .sure { throw ValidationError("--sigma2 applies to --criterion sure") }
        if chosenCriterion == .sure && split.val != nil { throw ValidationError("--criterion sure uses every row: drop --val") }
    }

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkEncoding(split.val, option: "--val")
        for file in glm.files { try Files.checkEncoding(file, option: "--groups/--weights") }
        try Files.checkOutput(plot, option: "--plot", inputs: [options.data, split.val].compactMap { $0 } + glm.files)
        let data: (train: CSCMatrix, yTrain: [Double], validation: CSCMatrix, yValidation: [Double], source: String)
        let criterion: any LambdaPathCriterion
        let spec: GLMSpecification
        var criterionName: String
        var sure: (noiseVariance: Double, estimated: Bool)?
        switch chosenCriterion {
        case .cv:
            // Every row, in K folds (the library's fold split).
            let folds = cv ?? 5
            let all = try options.loadSplit(val: nil, valFraction: split.valFraction, holdOut: false, generate: { try glm.generated(seed: options.seed) })
            spec = try glm.specification(features: all.train.columns, options: options)
            criterion = try spec.crossValidatedCriterion(design: all.train, targets: all.yTrain, folds: folds, seed: options.seed, tolerance: options.tol)
            data = (all.train.toCSC(), all.yTrain, try all.train.selectingRows([]).toCSC(), [], all.source + " (\(folds)-fold cross-validation)")
            criterionName = "\(folds)-fold CV " + spec.heldOutLossName
        case .sure:
            // Every row: SURE needs no held-out set.
            let all = try options.loadSplit(val: nil, valFraction: split.valFraction, holdOut: false, generate: { try glm.generated(seed: options.seed) })
            spec = try glm.specification(features: all.train.columns, options: options)
            let made = try spec.sureCriterion(design: all.train.toCSC(), targets: all.yTrain, noiseVariance: sigma2, tolerance: options.tol)
            criterion = made.criterion
            sure = (made.noiseVariance, made.estimated)
            data = (all.train.toCSC(), all.yTrain, try all.train.selectingRows([]).toCSC(), [], all.source + " (SURE on every row)")
            criterionName = "SURE"
        case .heldOut:
            data = try loadGLMSplit(glm, options, split)
            spec = try glm.specification(features: data.train.columns, options: options)
            criterion = try spec.heldOutCriterion(design: data.train, targets: data.yTrain, validation: data.validation,
                                                  validationTargets: data.yValidation, tolerance: options.tol)
            criterionName = spec.heldOutLossName
        }
        tuneInterrupted = 0
        signal(SIGINT) { _ in tuneInterrupted = 1 }
        let interactive = !quiet && isatty(2) != 0
        let start = DispatchTime.now()
        let maxIter = loop.maxIter
        let report = try Tuner(optimizer: loop.outerOptimizer, options: loop.outerOptions).tune(
            criterion, path: Tuner.Path(startRatio: loop.initRatio, minRatio: loop.minRatio, gridPoints: loop.grid)) { step in
            if !quiet {
                let line = String(format: "[%d/%d] λ = %.6g, %@ %.6g, %@, %d inner iterations, %.1f s", step.iteration, maxIter,
                                  Foundation.exp(step.point[0]), criterionName, step.value, stepGradient(step), criterion.innerEpochs,
                                  seconds(since: start))
                FileHandle.standardError.write((interactive ? "\r\u{1B}[K" + line : line + "\n").data(using: .utf8)!)
            }
            return tuneInterrupted == 0
        }
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        signal(SIGINT) { _ in TemporaryFiles.removeAll(); _exit(130) }
        let lambda = Foundation.exp(report.best[0])
        if let plot {
            let title = "isparse tune glm — \(glm.datafit.rawValue) + \(glm.penalty.rawValue), \(report.optimizer), \(report.trajectory.count - 1) outer iterations"
            try TextFile.write(TuningPlot.svg(title: title, criterion: criterionName, report: report), to: plot)
        }
        if json {
            var o = JSONObject()
            o.set("model", "glm")
            o.set("datafit", glm.datafit.rawValue)
            o.set("penalty", glm.penalty.rawValue)
            o.set("data", data.source)
            o.set("trainRows", data.train.rows)
            o.set("validationRows", data.validation.rows)
            o.set("features", data.train.columns)
            o.set("optimizer", report.optimizer)
            o.set("lambdaMax", criterion.lambdaMax)
            o.set("lambda", lambda)
            o.set("criterion", chosenCriterion.rawValue)
            o.set("validationLossName", criterionName)
            o.set("validationLoss", report.bestValue)
            if let sure {
                o.set("noiseVariance", sure.noiseVariance)
                o.set("noiseVarianceEstimated", sure.estimated)
                o.set("degreesOfFreedom", "exact")
            }
            o.set("evaluations", report.evaluations)
            o.set("stopReason", tuneInterrupted != 0 ? "interrupted" : report.stopReason)
            o.set("innerSolves", report.innerSolves)
            o.set("innerIterations", report.innerEpochs)
            o.set("interrupted", tuneInterrupted != 0)
            o.set("trajectory", report.trajectory.map { step in
                var s = JSONObject()
                s.set("iteration", step.iteration)
                s.set("lambda", Foundation.exp(step.theta[0]))
                s.set("validationLoss", step.value)
                s.set("hypergradient", step.gradient[0])
                s.set("seconds", step.seconds)
                return s
            })
            setGrid(&o, report.grid.map { (Foundation.exp($0.theta[0]), $0.value) }, seconds: report.gridSeconds)
            var times = JSONObject()
            times.set("solve", report.solveSeconds)
            times.set("hypergradient", report.hypergradientSeconds)
            times.set("total", report.seconds)
            o.set("seconds", times)
            print(o.render())
        } else {
            print("data: \(data.source): \(data.train.rows) training rows, \(data.validation.rows) validation rows, \(data.train.columns) features")
            print(String(format: "model: %@ + %@, λ_max = %.6g", glm.datafit.rawValue, glm.penalty.rawValue, criterion.lambdaMax))
            for point in report.grid { print(String(format: "grid: λ = %.6g, %@ %.10g", Foundation.exp(point.theta[0]), criterionName, point.value)) }
            print(String(format: "best: λ = %.6g (λ_max/%.4g), %@ %.10g", lambda, criterion.lambdaMax / lambda, criterionName, report.bestValue))
            if let sure {
                print(String(format: "SURE: σ² = %.6g (%@), df = |S| exactly", sure.noiseVariance, sure.estimated ? "estimated at λ_max/100" : "given"))
            }
            print("outer: \(report.optimizer), \(report.trajectory.count - 1) iterations, \(report.evaluations) evaluations, stopped: \(report.stopReason)")
            print(String(format: "seconds: solves %.3f, hypergradients %.3f, total %.3f", report.solveSeconds, report.hypergradientSeconds, report.seconds))
            if let plot { print("plot: \(plot)") }
        }
        if tuneInterrupted != 0 {
            Files.finishStandardOutput()
            Foundation.exit(130)
        }
    }
}
