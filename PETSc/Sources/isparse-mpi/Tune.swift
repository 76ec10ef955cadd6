import ArgumentParser
import Dispatch
import Foundation
import ISparseCLICore
import ImplicitSparse
import PETScBackend

struct MPITune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Hyperparameter tuning on PETSc.",
        subcommands: [MPITuneRegression.self],
        defaultSubcommand: MPITuneRegression.self)
}

/// `isparse-mpi tune lasso|enet`: `isparse tune lasso|enet` with the held-out criterion and the
/// rows of X over the ranks. Every rank runs the library's `Tuner` on the same
/// `HeldOutRegression` (whose evaluations are collective and reduce their sums), so every rank
/// takes the same outer steps; rank 0 prints.
struct MPITuneRegression: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "Tune λ of a lasso (log λ) or an elastic net ((log λ₁, log λ₂)) on the validation MSE, with the rows of X over the ranks.",
        discussion: """
        isparse tune's held-out criterion, outer optimizers (lbfgs, gd, adam), bounds \
        [λ_max/--min-ratio, λ_max], start λ_max/--init-ratio and stops, with the JSON keys of \
        isparse tune (plus ranks and the peak memory). Each evaluation is a warm-started solve by working \
        sets on their Gram matrices and one adjoint on the support, as isparse-mpi hypergrad. \
        Cross-validation, SURE, wlasso, logreg, --grid and --plot run in isparse.
        """)

    @Argument(help: "lasso or enet.")
    var model: String

    @OptionGroup var rows: MPIRowOptions

    @OptionGroup var loop: OuterLoopOptions

    @Option(help: "Write the best point's solution w here (Matrix Market dense array; rank 0 writes it).")
    var output: String?

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print one JSON object (rank 0).")
    var json = false

    func validate() throws {
        try rows.validate(model: model)
        if loop.grid > 0 { throw ValidationError("--grid (and the plot) run in isparse tune") }
    }

    /// λ and, for the elastic net, α of a point θ.
    func describe(_ theta: [Double]) -> (lambda: Double, l1Ratio: Double?) { TuneReport.describe(theta, model: model) }

    func run() throws {
        let start = DispatchTime.now()
        let data = try rows.load()
        let readSeconds = seconds(since: start)
        let criterion = try Collective.agree("setting up the criterion") {
            try HeldOutRegression(design: data.design, targets: data.targets, validation: data.validation,
                                  validationTargets: data.validationTargets, penalty: rows.penalty(model),
                                  hyperparameters: model == "enet" ? .logStrengths : .logLambda,
                                  fitIntercept: rows.fitIntercept, tolerance: rows.tol, rowSpace: data.rowSpace)
        }
        let outer = loop.outerOptimizer
        let tuner = Tuner(optimizer: outer, options: loop.outerOptions)
        let top = Foundation.log(criterion.lambdaMax), bottom = top - Foundation.log(loop.minRatio)
        let theta0 = criterion.theta(lambda: criterion.lambdaMax / loop.initRatio)
        let bounds = TuningBounds(lower: [Double](repeating: bottom, count: theta0.count), upper: [Double](repeating: top, count: theta0.count))
        let tuneStart = DispatchTime.now()
        // One progress line per outer iteration on rank 0's standard error.
        let result = try tuner.tune(criterion, from: theta0, bounds: bounds) { step in
            if !quiet && PETSc.rank == 0 {
                let (lambda, alpha) = describe(step.point)
                let line = String(format: "[%d/%d] λ = %.4g (λ_max/%.3g)%@, validation MSE %.6g, support %d, %d inner iterations, %.1f s\n",
                                  step.iteration, loop.maxIter, lambda, criterion.lambdaMax / lambda,
                                  alpha.map { String(format: ", α = %.3f", $0) } ?? "", step.value, criterion.lastSupportSize,
                                  criterion.innerEpochs, seconds(since: tuneStart))
                FileHandle.standardError.write(line.data(using: .utf8)!)
            }
            return true
        }
        let tuneSeconds = seconds(since: tuneStart)
        let spent = (solves: criterion.innerSolves, epochs: criterion.innerEpochs, inner: criterion.solveSeconds,
                     hypergradient: criterion.hypergradientSeconds)
        let best = result.best.count == criterion.dimension ? result.best : theta0
        let (bestLambda, bestAlpha) = describe(best)
        let finalStart = DispatchTime.now()
        let (problem, weights) = try criterion.model.solve(best)
        let heldOut = try problem.validationLoss(weights, validation: data.validation, targets: data.validationTargets)
        let finalSeconds = seconds(since: finalStart)
        let supportSize = weights.filter { $0 != 0 }.count
        if let output {
            try Collective.agree("writing \(output)") {
                if PETSc.rank == 0 { try MatrixMarket.writeDense(weights, rows: weights.count, to: output) }
            }
        }
        let memory = try peakMemoryOverRanks()
        // isparse tune's keys and lines, from the same numbers.
        let report = TuneReport(model: model, source: data.source, trainRows: data.trainRows, validationRows: data.validationRows,
                                features: data.features, optimizer: outer.name, criterion: "held-out", lambdaMax: criterion.lambdaMax,
                                result: result, lambda: bestLambda, l1Ratio: bestAlpha, validationLoss: heldOut,
                                supportSize: supportSize, innerSolves: spent.solves, innerEpochs: spent.epochs,
                                linearAlgebra: criterion.linearAlgebra, stopReason: result.stopReason)
        if json {
            var object = JSON()
            report.setHeader(&object)
            report.setResult(&object)
            var times = JSON()
            times.set("total", seconds(since: start))
            times.set("read", readSeconds)
            times.set("tuning", tuneSeconds)
            times.set("inner", spent.inner)
            times.set("hypergradient", spent.hypergradient)
            times.set("final", finalSeconds)
            object.set("seconds", times)
            object.set("ranks", PETSc.size)
            setPeakMemory(&object, memory)
            say(object.render())
        } else {
            say(report.dataLine)
            say("best: " + String(format: "λ = %.6g (λ_max/%.4g)%@", bestLambda, criterion.lambdaMax / bestLambda,
                                  bestAlpha.map { String(format: ", α = %.4f", $0) } ?? "")
                + ", validation MSE \(String(format: "%.10g", result.bestValue)), support \(supportSize)")
            say(report.outerLine)
            say(String(format: "inner: %d solves, %d inner iterations; seconds: tuning %.2f (solves %.2f, hypergradients %.2f)",
                       spent.solves, spent.epochs, tuneSeconds, spent.inner, spent.hypergradient))
            say(String(format: "ranks: %d; peak memory %@ on the largest rank, %@ in all", PETSc.size,
                       formatBytes(memory.maximum), formatBytes(memory.total)))
        }
    }
}
