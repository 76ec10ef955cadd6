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
        let adjointOptions = KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000)
        let strategy: LinearSolveStrategy
        if LinearSolveMethod(rawValue: linearSolver == "auto" ? "automatic" : linearSolver) == nil, let spec = try? LinearSolverSpec(parsing: linearSolver) {
            strategy = LinearSolveStrategy(solver: spec.solver(options: adjointOptions, expectedSolves: 1), name: "adjoint", options: adjointOptions)
        } else {
            let solverName = linearSolver == "auto" ? "automatic" : linearSolver
            strategy = LinearSolveStrategy(LinearSolveMethod(rawValue: solverName)!, options: adjointOptions, name: "adjoint")
        }
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
        let report = result.report
        // Written only when everything succeeded (atomically, through a temporary file).
        if let output { try MatrixMarket.writeDense(w, rows: w.count, to: output) }
        if json {
            var object = JSONObject()
            object.set("model", model.rawValue)
            object.set("data", source)
            object.set("trainRows", train.rows)
            object.set("validationRows", validation.rows)
            object.set("features", train.columns)
            object.set("lambda", chosenLambda)
            if lambdaMax.isFinite { object.set("lambdaMax", lambdaMax) } else { object.setNull("lambdaMax") }
            object.set("fitIntercept", options.fitIntercept)
            if options.fitIntercept { object.set("intercept", solution.intercept) }
            object.set("validationLoss", result.value)
            object.set("hypergradient", result.gradient)
            object.set("supportSize", result.supportSize ?? 0)
            object.set("linearSolver", report?.method ?? "none (empty support)")
            object.set("preconditioner", report?.preconditioner ?? "none")
            object.set("linearSolverReason", report?.reason ?? "the support is empty: the derivative is 0")
            object.set("adjointResidual", report?.relativeResidual ?? 0)
            object.set("dualityGap", solution.certificate)
            object.set("innerIterations", solution.iterations)
            object.set("innerSolver", penalty == .ridge ? "cg" : options.solver.rawValue)
            object.set("nonUnique", !result.unique)
            if let reason = result.nonUniqueness { object.set("nonUniqueReason", reason) }
            if let rank = result.rank { object.set("supportRank", rank) }
            if let left = result.leftDerivative, let right = result.rightDerivative {
                object.set("leftDerivative", left)
                object.set("rightDerivative", right)
            }
            if let kink = result.kink { object.set("kink", kink) }
            var times = JSONObject()
            times.set("solve", solveSeconds)
            times.set("hypergradient", hyperSeconds)
            object.set("seconds", times)
            if let check {
                object.set("finiteDifference", check.derivative)
                object.set("finiteDifferenceStep", check.step)
                object.set("relativeDifference", abs(check.derivative - result.gradient) / max(abs(check.derivative), 1e-300))
            }
            print(object.render())
        } else {
            print("data: \(source): \(train.rows) training rows, \(validation.rows) validation rows, \(train.columns) features")
            print(String(format: "model: %@, λ = %.6g", model.rawValue, chosenLambda)
                  + (lambdaMax.isFinite ? String(format: " (λ_max = %.6g)", lambdaMax) : " (ridge: no λ_max)")
                  + (options.fitIntercept ? String(format: ", intercept %.6g", solution.intercept) : ""))
            print(String(format: "inner solve: %@, %d %@, %@ %.3e, %.3f s", solution.solver, solution.iterations, solution.iterationUnit,
                         penalty == .ridge ? "relative residual" : "duality gap", solution.certificate, solveSeconds))
            print(String(format: "validation loss (MSE): %.10g", result.value))
            print(String(format: "d loss / d log λ: %.10g", result.gradient == 0 ? 0 : result.gradient))
            print("support size: \(result.supportSize ?? 0)")
            if let report {
                print("linear solver: \(report.method)\(report.preconditioner == "none" ? "" : " + " + report.preconditioner) — \(report.reason)")
                print(String(format: "adjoint residual: %.3e", report.relativeResidual))
            }
            if let reason = result.nonUniqueness { print("note: \(reason)") }
            if let kink = result.kink { print("note: \(kink)") }
            if let left = result.leftDerivative, let right = result.rightDerivative {
                print(String(format: "one-sided derivatives in log λ: left %.10g, right %.10g", left == 0 ? 0 : left, right == 0 ? 0 : right))
            }
            print(String(format: "seconds: solve %.3f, hypergradient %.3f", solveSeconds, hyperSeconds))
            if let check {
                print(String(format: "finite difference (central, h = %.0e in log λ): %.10g, relative difference %.2e",
                             check.step, check.derivative, abs(check.derivative - result.gradient) / max(abs(check.derivative), 1e-300)))
            }
        }
    }
}

enum InnerSolver: String, ExpressibleByArgument, CaseIterable {
    case cd, fista
}
