import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse

enum HypergradModel: String, ExpressibleByArgument, CaseIterable { case lasso, enet, ridge }

extension LinearSolveMethod: ExpressibleByArgument {}

struct HypergradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "Solve a lasso / elastic net / ridge problem and differentiate its validation loss with respect to log λ.",
        discussion: """
        Objective (1/2n)‖y − Xw‖² + λ(α‖w‖₁ + (1 − α)/2‖w‖²) (scikit-learn's parametrization; \
        α = 1 lasso, --l1-ratio for enet, α → 0 ridge), no intercept unless --fit-intercept \
        (an unpenalized b, eliminated exactly by centering implicitly; X stays sparse). \
        λ_max = ‖Xᵀ(y − ȳ)‖∞/(nα) (ȳ = 0 without an intercept); \
        --lambda-ratio R means λ = λ_max/R. Validation loss: mean squared error. The inner \
        solver (--solver) is working-set coordinate descent (default) or FISTA with restart, to a \
        duality gap ≤ tol·‖y‖²/(2n); the hypergradient comes \
        from the implicit function theorem on the support. Without --data a built-in generated \
        text-like problem is used (n = 50 000, p = 65 000, about 10⁶ nonzeros, seeded).
        """)

    @Argument(help: "lasso, enet or ridge.")
    var model: HypergradModel

    @OptionGroup var split: SplitOptions

    @Option(name: .customLong("linear-solver"), help: "The adjoint's linear solver (here --solver names the inner solver): auto, cholesky, lu, dense, or METHOD[+PRECONDITIONER], e.g. cg+jacobi, minres+jacobi — the vocabulary of every command; a bare cg, minres, gmres or bicgstab takes Jacobi when the system has a diagonal.")
    var linearSolver: String = "auto"

    @Option(help: "Write the solution w to this file (Matrix Market dense array, one column).")
    var output: String?

    @Flag(help: "Also compute a central finite difference in log λ (two extra tight solves).")
    var check = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        _ = try options.penalty(model)
        if LinearSolveMethod(rawValue: linearSolver == "auto" ? "automatic" : linearSolver) == nil {
            do { _ = try LinearSolverSpec(parsing: linearSolver) } catch { throw ValidationError("--linear-solver: \(error)") }
        }
    }

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkEncoding(split.val, option: "--val")
        try Files.checkOutput(output, option: "--output", inputs: [options.data, split.val])
        let (train, yTrain, validation, yValidation, source) = try options.loadSplit(val: split.val, valFraction: split.valFraction)
        guard train.rows > 0, validation.rows > 0 else {
            throw CLIFailure(code: .input, message: "need at least one training and one validation row")
        }
        let penalty = try options.penalty(model)
        let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: train, targets: yTrain, penalty: penalty, fitIntercept: options.fitIntercept)
        if model == .ridge && options.lambda == nil {
            throw CLIFailure(code: .usage, message: "ridge needs --lambda (λ_max is infinite without an l1 part)")
        }
        let chosenLambda = options.lambda ?? lambdaMax / (options.lambdaRatio ?? 10)
        let problem = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: penalty, lambda: chosenLambda,
                                                  fitIntercept: options.fitIntercept)
        let strategy = try RegressionReport.adjointStrategy(linearSolver)
        let innerSolver = options.innerSolver

        let start = DispatchTime.now()
        // Coordinate descent works on the columns: the CSC copy is made once, counted in the
        // solve, and reused for the support's columns in the hypergradient.
        let csc: CSCMatrix? = innerSolver == .coordinateDescent && penalty != .ridge ? train.toCSC() : nil
        let solution = try problem.solve(tolerance: options.tol, solver: innerSolver, designCSC: csc)
        let w = solution.weights
        let solveSeconds = seconds(since: start)
        let hyperStart = DispatchTime.now()
        let result = try problem.hypergradient(at: w, validation: validation, validationTargets: yValidation, strategy: strategy,
                                               designCSC: csc)
        let hyperSeconds = seconds(since: hyperStart)
        let check = try self.check ? problem.finiteDifference(at: w, validation: validation, validationTargets: yValidation,
                                                              tolerance: options.tol, solver: innerSolver, designCSC: csc) : nil
        // Written only when everything succeeded (atomically, through a temporary file).
        if let output { try MatrixMarket.writeDense(w, rows: w.count, to: output) }
        let summary = RegressionReport(model: model.rawValue, source: source, trainRows: train.rows, validationRows: validation.rows,
                                       features: train.columns, lambda: chosenLambda, lambdaMax: lambdaMax,
                                       fitIntercept: options.fitIntercept, solution: solution, result: result,
                                       innerSolver: penalty == .ridge ? "cg" : options.solver.rawValue, isRidge: penalty == .ridge,
                                       solveSeconds: solveSeconds, hypergradientSeconds: hyperSeconds, check: check)
        if json { print(summary.json().render()) } else { summary.lines().forEach { print($0) } }
    }
}

enum InnerSolver: String, ExpressibleByArgument, CaseIterable {
    case cd, fista
}
