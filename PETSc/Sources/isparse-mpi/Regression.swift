import ArgumentParser
import Dispatch
import Foundation
import ISparseCLICore
import ImplicitSparse
import PETScBackend

/// `isparse-mpi hypergrad lasso|enet`: `isparse hypergrad lasso|enet` with the rows of X over
/// the ranks — the same options, the same JSON keys (plus `ranks` and `memory`), the same
/// library code (`RegularizedLeastSquares` with a row space).
struct MPIRegression: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "The lasso / elastic net hypergradient in log λ with the rows of X over the ranks.",
        discussion: """
        The objective, λ_max, --lambda-ratio, the split, the validation loss and the JSON keys are \
        isparse hypergrad's. Each rank reads one byte range of the LIBSVM files (its rows; a .gz \
        file is streamed whole by every rank, keeping its share) or, without --data, generates the \
        built-in text-like problem and keeps its rows. The inner solve grows working sets (ws, default): per \
        working set one reduction of p + 3 numbers and one of |W|² + |W| (the set's Gram matrix), \
        then coordinate descent on that Gram matrix without communication (FISTA above 4 096 \
        columns); fista is plain FISTA (p + 3 numbers per iteration). Coordinate descent on the \
        rows would need one reduction per coordinate and is not offered. The adjoint's reduced system on the support is summed over the ranks and solved \
        by every rank (--linear-solver, as isparse's). w is whole on every rank (8p bytes per \
        vector per rank).
        """)

    @Argument(help: "lasso or enet.")
    var model: String

    @OptionGroup var rows: MPIRowOptions

    @Option(help: "λ itself.")
    var lambda: Double?

    @Option(name: .customLong("lambda-ratio"), help: "λ = λ_max / R (default 10).")
    var lambdaRatio: Double?

    @Option(help: "Inner solver: ws (working sets, each solved on its Gram matrix) or fista (plain FISTA).")
    var solver: String = "ws"

    @Option(name: .customLong("linear-solver"), help: "The adjoint's linear solver on the support (every rank solves the reduced system): auto, cholesky, lu, dense, or METHOD[+PRECONDITIONER].")
    var linearSolver: String = "auto"

    @Option(help: "Write the solution w (Matrix Market dense array; rank 0 writes it, every rank holds it).")
    var output: String?

    @Flag(help: "Also compute a central finite difference in log λ (two extra tight solves).")
    var check = false

    @Flag(help: "Print one JSON object (rank 0).")
    var json = false

    func validate() throws {
        if lambda != nil && lambdaRatio != nil { throw ValidationError("give --lambda or --lambda-ratio, not both") }
        if let lambda, !(lambda > 0 && lambda.isFinite) { throw ValidationError("--lambda must be positive and finite") }
        if let lambdaRatio, !(lambdaRatio > 0 && lambdaRatio.isFinite) { throw ValidationError("--lambda-ratio must be positive and finite") }
        try rows.validate(model: model)
        guard innerSolver != nil else {
            throw ValidationError(solver == "cd"
                ? "--solver cd is not offered on distributed rows (one reduction per coordinate): use ws or fista"
                : "--solver must be ws or fista")
        }
        if LinearSolveMethod(rawValue: linearSolver == "auto" ? "automatic" : linearSolver) == nil {
            do { _ = try LinearSolverSpec(parsing: linearSolver) } catch { throw ValidationError("--linear-solver: \(error)") }
        }
    }

    var innerSolver: RegularizedLeastSquares.InnerSolver? {
        switch solver {
        case "ws": return .workingSets
        case "fista": return .fista
        default: return nil
        }
    }

    func run() throws {
        let readStart = DispatchTime.now()
        let data = try rows.load()
        let readSeconds = seconds(since: readStart)
        let penalty = rows.penalty(model)
        let (tol, fitIntercept) = (rows.tol, rows.fitIntercept)
        let space = data.rowSpace
        let lambdaMax = try Collective.agree("λ_max") {
            try RegularizedLeastSquares.lambdaMax(design: data.design, targets: data.targets, penalty: penalty,
                                                  fitIntercept: fitIntercept, rowSpace: space)
        }
        let chosen = lambda ?? lambdaMax / (lambdaRatio ?? 10)
        let problem = try Collective.agree("setting up the problem") {
            try RegularizedLeastSquares(design: data.design, targets: data.targets, penalty: penalty, lambda: chosen,
                                        fitIntercept: fitIntercept, rowSpace: space)
        }
        let strategy = try RegressionReport.adjointStrategy(linearSolver)
        // Every step is collective and takes its decisions on reduced numbers, so a failure
        // (a solve that did not converge) happens on every rank alike.
        let start = DispatchTime.now()
        let solution = try problem.solve(tolerance: tol, solver: innerSolver!)
        let solveSeconds = seconds(since: start)
        let hyperStart = DispatchTime.now()
        let result = try problem.hypergradient(at: solution.weights, validation: data.validation,
                                               validationTargets: data.validationTargets, strategy: strategy)
        let hyperSeconds = seconds(since: hyperStart)
        let check = try self.check ? problem.finiteDifference(at: solution.weights, validation: data.validation,
                                                              validationTargets: data.validationTargets, tolerance: tol,
                                                              solver: innerSolver!) : nil
        if let output {
            try Collective.agree("writing \(output)") {
                if PETSc.rank == 0 { try MatrixMarket.writeDense(solution.weights, rows: solution.weights.count, to: output) }
            }
        }
        let memory = try peakMemoryOverRanks()
        let report = RegressionReport(model: model, source: data.source, trainRows: data.trainRows, validationRows: data.validationRows,
                                      features: data.features, lambda: chosen, lambdaMax: lambdaMax, fitIntercept: fitIntercept,
                                      solution: solution, result: result, innerSolver: solver, isRidge: false,
                                      solveSeconds: solveSeconds, hypergradientSeconds: hyperSeconds, check: check)
        if json {
            var object = report.json()
            object.set("ranks", PETSc.size)
            object.set("readSeconds", readSeconds)
            object.set("trainNonzeros", data.trainNonzeros)
            object.set("trainNonzerosPerRankMax", data.trainNonzerosMax)
            setPeakMemory(&object, memory)
            say(object.render())
        } else {
            report.lines().forEach(say)
            say(String(format: "ranks: %d (read %.3f s; training nonzeros %d, at most %d on a rank); peak memory %@ on the largest rank, %@ in all",
                       PETSc.size, readSeconds, data.trainNonzeros, data.trainNonzerosMax,
                       formatBytes(memory.maximum), formatBytes(memory.total)))
        }
    }
}

/// The data and model options shared by `hypergrad lasso|enet` and `tune lasso|enet`
/// (isparse's names and defaults).
struct MPIRowOptions: ParsableArguments {
    @Option(help: "Training data in LIBSVM format (plain: read by byte ranges; .gz: streamed by every rank); default: the built-in generated problem.")
    var data: String?

    @Option(help: "Validation data in LIBSVM format (instead of --val-fraction).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Fraction of the rows held out for validation (the rows isparse holds out).")
    var valFraction: Double = 0.2

    @Option(help: "Seed of the split (and of the generated data).")
    var seed: UInt64 = 0

    @Option(name: .customLong("l1-ratio"), help: "α of the elastic net, in (0, 1) (default 0.5).")
    var l1Ratio: Double?

    @Option(help: "Inner stopping tolerance: duality gap / (‖y − ȳ‖²/(2n)), in [1e-14, 1).")
    var tol: Double = 1e-8

    @Flag(name: .customLong("fit-intercept"), help: "Fit an unpenalized intercept b.")
    var fitIntercept = false

    @Flag(name: .customLong("zero-based"), help: "Read the LIBSVM indices as 0-based (default: detected from the whole training file).")
    var zeroBased = false

    func validate(model: String) throws {
        guard model == "lasso" || model == "enet" else {
            throw ValidationError("the model must be lasso or enet (the other models run in isparse)")
        }
        if model == "enet", let l1Ratio, !(l1Ratio > 0 && l1Ratio < 1) { throw ValidationError("--l1-ratio must be in (0, 1) for enet") }
        if model == "lasso" && l1Ratio != nil { throw ValidationError("--l1-ratio applies to enet") }
        if !(tol >= 1e-14 && tol < 1) { throw ValidationError("--tol must be in [1e-14, 1)") }
        if !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1)") }
    }

    func penalty(_ model: String) -> RegularizedLeastSquares.Penalty {
        model == "lasso" ? .lasso : .elasticNet(l1Ratio: l1Ratio ?? 0.5)
    }

    /// This rank's rows (collective).
    func load() throws -> DistributedRegressionData {
        try DistributedRegressionData.load(data: data, val: val, valFraction: valFraction, seed: seed, zeroBased: zeroBased)
    }
}
