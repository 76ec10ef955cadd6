import ArgumentParser
import Foundation
import ImplicitSparse

struct SolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Solve a lasso / elastic net / ridge problem (one λ or a regularization path) with its optimality certificate.",
        discussion: """
        Same objective, λ_max and tolerance conventions as `isparse hypergrad`: \
        (1/2n)‖y − Xw − b‖² + λ(α‖w‖₁ + (1 − α)/2‖w‖²), b only with --fit-intercept. \
        --path N solves N values of λ from λ_max down to λ_max/R (--lambda-ratio, default 100), \
        each warm-started from the previous one.
        """)

    @Argument(help: "lasso, enet or ridge.")
    var model: HypergradModel

    @Option(help: "Solve a regularization path of N values of λ instead of one.")
    var path: Int?

    @Option(help: "Write w to this file (Matrix Market dense array); with --path, the last point's.")
    var output: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        _ = try options.penalty(model)
        if let path {
            if !(1...10_000).contains(path) { throw ValidationError("--path must be between 1 and 10000") }
            if model == .ridge { throw ValidationError("--path needs an ℓ1 part (λ_max); ridge has none") }
            if options.lambda != nil { throw ValidationError("--path goes from λ_max to λ_max/R: give --lambda-ratio, not --lambda") }
            if let lambdaRatio = options.lambdaRatio, !(lambdaRatio > 1) { throw ValidationError("--lambda-ratio must be above 1 for a path") }
        }
    }

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkOutput(output, option: "--output", inputs: [options.data])
        let readStart = DispatchTime.now()
        let x: CSRMatrix, y: [Double], source: String
        if let data = options.data {
            let read = try LIBSVM.read(path: data, indexBase: options.zeroBased ? 0 : nil)
            guard read.features.rows > 0 else { throw CLIFailure(code: .input, message: "\(data): no samples") }
            (x, y, source) = (read.features, read.labels, data)
        } else {
            let generated = try Datasets.textLike(seed: options.seed)
            (x, y, source) = (generated.features, generated.targets, "generated text-like problem (seed \(options.seed))")
        }
        let readSeconds = seconds(since: readStart)
        let penalty = try options.penalty(model)
        let innerSolver = options.innerSolver
        let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: x, targets: y, penalty: penalty, fitIntercept: options.fitIntercept)
        let solveStart = DispatchTime.now()
        let points: [RegularizedLeastSquares.PathPoint]
        if let path {
            points = try RegularizedLeastSquares.path(design: x, targets: y, penalty: penalty, fitIntercept: options.fitIntercept, count: path,
                                                      ratio: options.lambdaRatio ?? 100, tolerance: options.tol, solver: innerSolver)
        } else {
            if model == .ridge && options.lambda == nil {
                throw CLIFailure(code: .usage, message: "ridge needs --lambda (λ_max is infinite without an l1 part)")
            }
            let chosen = options.lambda ?? lambdaMax / (options.lambdaRatio ?? 10)
            let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: penalty, lambda: chosen, fitIntercept: options.fitIntercept)
            points = [try problem.solvePoint(tolerance: options.tol, solver: innerSolver)]
        }
        let solveSeconds = seconds(since: solveStart)
        if let output, let last = points.last {
            try MatrixMarket.writeDense(last.solution.weights, rows: last.solution.weights.count, to: output)
        }
        func object(_ point: RegularizedLeastSquares.PathPoint) -> JSONObject {
            var o = JSONObject()
            o.set("lambda", point.lambda)
            o.set("objective", point.objective)
            o.set(penalty == .ridge ? "relativeResidual" : "dualityGap", point.solution.certificate)
            o.set("supportSize", point.supportSize)
            o.set("iterations", point.solution.iterations)
            if options.fitIntercept { o.set("intercept", point.solution.intercept) }
            o.set("seconds", point.solution.seconds)
            return o
        }
        if json {
            var o = path == nil ? object(points[0]) : JSONObject()
            o.set("model", model.rawValue)
            o.set("data", source)
            o.set("rows", x.rows)
            o.set("features", x.columns)
            if lambdaMax.isFinite { o.set("lambdaMax", lambdaMax) } else { o.setNull("lambdaMax") }
            o.set("solver", points[0].solution.solver)
            if path != nil { o.set("path", points.map(object)) }
            var times = JSONObject()
            times.set("read", readSeconds)
            times.set("solve", solveSeconds)
            o.set("seconds", times)
            print(o.render())
        } else {
            print("data: \(source): \(x.rows) rows, \(x.columns) features")
            print("model: \(model.rawValue)" + (lambdaMax.isFinite ? String(format: ", λ_max = %.6g", lambdaMax) : " (ridge: no λ_max)")
                  + ", solver: \(points[0].solution.solver)")
            for point in points {
                print(String(format: "λ = %.6g: objective %.10g, %@ %.3e, support %d, %d %@, %.3f s", point.lambda, point.objective,
                             penalty == .ridge ? "relative residual" : "duality gap", point.solution.certificate, point.supportSize,
                             point.solution.iterations, point.solution.iterationUnit, point.solution.seconds))
            }
            print(String(format: "seconds: read %.3f, solve %.3f", readSeconds, solveSeconds))
        }
    }
}
