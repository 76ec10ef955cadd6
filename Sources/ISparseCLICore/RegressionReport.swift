import Foundation
import ImplicitSparse
import Preconditioners

/// What `isparse hypergrad lasso|enet|ridge` and `isparse-mpi hypergrad lasso|enet` print —
/// the same JSON keys and the same lines from the same numbers, whether the rows were on one
/// process or many.
public struct RegressionReport {
    public var model: String
    /// Where the data came from (a file or the generated problem).
    public var source: String
    public var trainRows: Int, validationRows: Int, features: Int
    public var lambda: Double
    /// λ_max (infinite for ridge: printed as null / "no λ_max").
    public var lambdaMax: Double
    public var fitIntercept: Bool
    public var solution: RegularizedLeastSquares.Solution
    public var result: Hypergradient<Double>
    /// The inner solver's option value ("cd", "fista", "ws", "cg" for ridge).
    public var innerSolver: String
    /// True for ridge (its certificate is CG's relative residual, not a duality gap).
    public var isRidge: Bool
    public var solveSeconds: Double, hypergradientSeconds: Double
    /// The central finite difference (`--check`).
    public var check: (derivative: Double, step: Double)?

    public init(model: String, source: String, trainRows: Int, validationRows: Int, features: Int, lambda: Double,
                lambdaMax: Double, fitIntercept: Bool, solution: RegularizedLeastSquares.Solution, result: Hypergradient<Double>,
                innerSolver: String, isRidge: Bool, solveSeconds: Double, hypergradientSeconds: Double,
                check: (derivative: Double, step: Double)?) {
        self.model = model
        self.source = source
        self.trainRows = trainRows
        self.validationRows = validationRows
        self.features = features
        self.lambda = lambda
        self.lambdaMax = lambdaMax
        self.fitIntercept = fitIntercept
        self.solution = solution
        self.result = result
        self.innerSolver = innerSolver
        self.isRidge = isRidge
        self.solveSeconds = solveSeconds
        self.hypergradientSeconds = hypergradientSeconds
        self.check = check
    }

    var relativeDifference: Double? {
        check.map { abs($0.derivative - result.gradient) / max(abs($0.derivative), 1e-300) }
    }

    /// The JSON object (keys documented in docs/CLI.md).
    public func json() -> JSONObject {
        let report = result.report
        var object = JSONObject()
        setDataKeys(&object, model: model, source: source, trainRows: trainRows, validationRows: validationRows, features: features)
        object.set("lambda", lambda)
        if lambdaMax.isFinite { object.set("lambdaMax", lambdaMax) } else { object.setNull("lambdaMax") }
        object.set("fitIntercept", fitIntercept)
        if fitIntercept { object.set("intercept", solution.intercept) }
        object.set("validationLoss", result.value)
        object.set("hypergradient", result.gradient)
        object.set("supportSize", result.supportSize ?? 0)
        object.set("linearSolver", report?.method ?? "none (empty support)")
        object.set("preconditioner", report?.preconditioner ?? "none")
        object.set("linearSolverReason", report?.reason ?? "the support is empty: the derivative is 0")
        object.set("adjointResidual", report?.relativeResidual ?? 0)
        object.set("dualityGap", solution.certificate)
        object.set("innerIterations", solution.iterations)
        object.set("innerSolver", innerSolver)
        if let sets = solution.workingSets, let size = solution.workingSetSize {
            object.set("workingSets", sets)
            object.set("workingSetSize", size)
        }
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
        times.set("hypergradient", hypergradientSeconds)
        object.set("seconds", times)
        if let check, let relativeDifference {
            object.set("finiteDifference", check.derivative)
            object.set("finiteDifferenceStep", check.step)
            object.set("relativeDifference", relativeDifference)
        }
        return object
    }

    /// The human-readable lines.
    public func lines() -> [String] {
        var out: [String] = []
        out.append(dataLine(source: source, trainRows: trainRows, validationRows: validationRows, features: features))
        out.append(String(format: "model: %@, λ = %.6g", model, lambda)
                   + (lambdaMax.isFinite ? String(format: " (λ_max = %.6g)", lambdaMax) : " (ridge: no λ_max)")
                   + (fitIntercept ? String(format: ", intercept %.6g", solution.intercept) : ""))
        out.append(String(format: "inner solve: %@, %d %@, %@ %.3e, %.3f s", solution.solver, solution.iterations, solution.iterationUnit,
                          isRidge ? "relative residual" : "duality gap", solution.certificate, solveSeconds))
        out.append(String(format: "validation loss (MSE): %.10g", result.value))
        out.append(String(format: "d loss / d log λ: %.10g", result.gradient == 0 ? 0 : result.gradient))
        out.append("support size: \(result.supportSize ?? 0)")
        if let report = result.report {
            out.append("linear solver: \(report.method)\(report.preconditioner == "none" ? "" : " + " + report.preconditioner) — \(report.reason)")
            out.append(String(format: "adjoint residual: %.3e", report.relativeResidual))
        }
        if let reason = result.nonUniqueness { out.append("note: \(reason)") }
        if let kink = result.kink { out.append("note: \(kink)") }
        if let left = result.leftDerivative, let right = result.rightDerivative {
            out.append(String(format: "one-sided derivatives in log λ: left %.10g, right %.10g", left == 0 ? 0 : left, right == 0 ? 0 : right))
        }
        out.append(String(format: "seconds: solve %.3f, hypergradient %.3f", solveSeconds, hypergradientSeconds))
        if let check, let relativeDifference {
            out.append(String(format: "finite difference (central, h = %.0e in log λ): %.10g, relative difference %.2e",
                              check.step, check.derivative, relativeDifference))
        }
        return out
    }
}

extension RegressionReport {
    /// The adjoint's linear solve for `--linear-solver TEXT`: auto, cholesky, lu, dense, or
    /// METHOD[+PRECONDITIONER] (the vocabulary of every command), to a relative residual of
    /// 10⁻¹⁰ within 10 000 iterations.
    /// - Throws: `CLIFailure` (usage) naming the vocabulary for an unknown name.
    public static func adjointStrategy(_ text: String) throws -> LinearSolveStrategy {
        let options = KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000)
        if let method = LinearSolveMethod(rawValue: text == "auto" ? "automatic" : text) {
            return LinearSolveStrategy(method, options: options, name: "adjoint")
        }
        do {
            let spec = try LinearSolverSpec(parsing: text)
            return LinearSolveStrategy(solver: spec.solver(options: options, expectedSolves: 1), name: "adjoint", options: options)
        } catch {
            throw CLIFailure(code: .usage, message: "--linear-solver: \(error)")
        }
    }
}
