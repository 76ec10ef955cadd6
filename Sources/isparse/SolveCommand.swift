import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse

/// The models `isparse solve` fits.
enum SolveModel: String, ExpressibleByArgument, CaseIterable {
    case lasso, enet, ridge, wlasso, nnlasso, logreg
}

struct SolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regression",
        abstract: "Fit a lasso / elastic net / ridge / weighted lasso / non-negative lasso / sparse logistic regression (one λ or a path) with its optimality certificate.",
        discussion: """
        Least squares (lasso, enet, ridge, wlasso, nnlasso): same objective, λ_max and tolerance \
        conventions as `isparse hypergrad`, (1/2n)‖y − Xw − b‖² + λ(α Σⱼ ωⱼ|wⱼ| + (1 − α)/2‖w‖²), \
        b only with --fit-intercept; wlasso takes ωⱼ ≥ 0 from --weights (0 = unpenalized), \
        nnlasso constrains w ≥ 0; --tol bounds the duality gap / (‖y − ȳ‖²/(2n)). \
        logreg: (1/n) Σ log(1 + exp(−yᵢxᵢᵀw)) + λ(α‖w‖₁ + (1 − α)/2‖w‖²), labels ±1 or 0/1, \
        λ_max = ‖Xᵀy‖∞/(2nα), no intercept, solved by proximal Newton; --tol bounds the duality gap / log 2. \
        --path N solves N values of λ from λ_max down to λ_max/R (--lambda-ratio, default 100), \
        each warm-started from the previous one.
        """)

    @Argument(help: "lasso, enet, ridge, wlasso, nnlasso or logreg.")
    var model: SolveModel

    @Option(help: "Solve a regularization path of N values of λ instead of one.")
    var path: Int?

    @Option(help: "wlasso: the penalty weights ωⱼ ≥ 0, one per feature (Matrix Market dense array, p × 1).")
    var weights: String?

    @Option(help: "Write w to this file (Matrix Market dense array); with --path, the last point's.")
    var output: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var options: ProblemOptions

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        _ = try options.penalty(model)
        if model == .logreg {
            _ = try options.logisticL1Ratio()
            if options.fitIntercept { throw ValidationError("logreg has no intercept (--fit-intercept applies to the least-squares models)") }
            if options.solver != .cd { throw ValidationError("logreg is solved by proximal Newton; --solver applies to the least-squares models") }
        }
        if model == .wlasso && weights == nil { throw ValidationError("wlasso needs --weights W.mtx (one weight ωⱼ ≥ 0 per feature)") }
        if model != .wlasso && weights != nil { throw ValidationError("--weights applies to wlasso only") }
        if let path {
            if !(1...10_000).contains(path) { throw ValidationError("--path must be between 1 and 10000") }
            if model == .ridge { throw ValidationError("--path needs an ℓ1 part (λ_max); ridge has none") }
            if options.lambda != nil { throw ValidationError("--path goes from λ_max to λ_max/R: give --lambda-ratio, not --lambda") }
            if let lambdaRatio = options.lambdaRatio, !(lambdaRatio > 1) { throw ValidationError("--lambda-ratio must be above 1 for a path") }
        }
    }

    /// One solved λ, whatever the model.
    struct Point {
        var lambda: Double
        var weights: [Double]
        var objective: Double
        var certificate: Double
        var supportSize: Int
        var iterations: Int
        var intercept: Double?
        var seconds: Double
    }

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(options.data, option: "--data")
        try Files.checkEncoding(weights, option: "--weights")
        try Files.checkOutput(output, option: "--output", inputs: [options.data, weights].compactMap { $0 })
        let readStart = DispatchTime.now()
        let x: CSRMatrix, y: [Double], source: String
        if let data = options.data {
            let read = try LIBSVM.read(path: data, indexBase: options.zeroBased ? 0 : nil)
            guard read.features.rows > 0 else { throw CLIFailure(code: .input, message: "\(data): no samples") }
            (x, y, source) = (read.features, read.targets, data)
        } else if model == .logreg {
            let generated = try Datasets.binaryTextLike(rows: 20_000, columns: 30_000, nonzerosPerRow: 20, duplicateColumns: 100,
                                                        dependentColumns: 100, classification: true, seed: options.seed)
            (x, y, source) = (generated.features, generated.targets, "generated binary text-like classification problem (seed \(options.seed))")
        } else {
            let generated = try Datasets.textLike(seed: options.seed)
            (x, y, source) = (generated.features, generated.targets, "generated text-like problem (seed \(options.seed))")
        }
        let penaltyWeights = try weights.map { try readWeights($0, features: x.columns) }
        // The solvers work column by column: the CSC layout is part of loading the data (as
        // the peers' timings start from CSC input); FISTA and ridge do not need it.
        let csc = model == .ridge || (model != .logreg && options.innerSolver == .fista) ? nil : x.toCSC()
        let readSeconds = seconds(since: readStart)
        let solveStart = DispatchTime.now()
        let (lambdaMax, points, solverName, unit, certificateName) = model == .logreg
            ? try solveLogistic(x, y, csc: csc)
            : try solveLeastSquares(x, y, penaltyWeights: penaltyWeights, csc: csc)
        let solveSeconds = seconds(since: solveStart)
        if let output, let last = points.last {
            try MatrixMarket.writeDense(last.weights, rows: last.weights.count, to: output)
        }
        func object(_ point: Point, withSeconds: Bool) -> JSONObject {
            var o = JSONObject()
            o.set("lambda", point.lambda)
            o.set("objective", point.objective)
            o.set(certificateName, point.certificate)
            o.set("supportSize", point.supportSize)
            o.set("iterations", point.iterations)
            if let intercept = point.intercept { o.set("intercept", intercept) }
            if withSeconds { o.set("seconds", point.seconds) }
            return o
        }
        if json {
            var o = path == nil ? object(points[0], withSeconds: false) : JSONObject()
            o.set("model", model.rawValue)
            o.set("data", source)
            o.set("rows", x.rows)
            o.set("features", x.columns)
            if lambdaMax.isFinite { o.set("lambdaMax", lambdaMax) } else { o.setNull("lambdaMax") }
            o.set("solver", solverName)
            o.set("iterationUnit", unit)
            if path != nil { o.set("path", points.map { object($0, withSeconds: true) }) }
            var times = JSONObject()
            times.set("read", readSeconds)
            times.set("solve", solveSeconds)
            o.set("seconds", times)
            print(o.render())
        } else {
            print("data: \(source): \(x.rows) rows, \(x.columns) features")
            print("model: \(model.rawValue)" + (lambdaMax.isFinite ? String(format: ", λ_max = %.6g", lambdaMax) : " (ridge: no λ_max)")
                  + ", solver: \(solverName)")
            let what = certificateName == "dualityGap" ? "duality gap" : "relative residual"
            for point in points {
                print(String(format: "λ = %.6g: objective %.10g, %@ %.3e, support %d, %d %@, %.3f s", point.lambda, point.objective,
                             what, point.certificate, point.supportSize, point.iterations, unit, point.seconds))
            }
            print(String(format: "seconds: read %.3f, solve %.3f", readSeconds, solveSeconds))
        }
    }

    /// The least-squares models: (λ_max, points, solver, iteration unit, certificate key).
    func solveLeastSquares(_ x: CSRMatrix, _ y: [Double], penaltyWeights: [Double]?, csc: CSCMatrix?) throws
        -> (Double, [Point], String, String, String) {
        let penalty = try options.penalty(model)!
        let nonNegative = model == .nnlasso
        let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: x, targets: y, penalty: penalty, fitIntercept: options.fitIntercept,
                                                              penaltyWeights: penaltyWeights, nonNegative: nonNegative)
        let solved: [RegularizedLeastSquares.PathPoint]
        if let path {
            solved = try RegularizedLeastSquares.path(design: x, targets: y, penalty: penalty, fitIntercept: options.fitIntercept,
                                                      penaltyWeights: penaltyWeights, nonNegative: nonNegative, count: path,
                                                      ratio: options.lambdaRatio ?? 100, tolerance: options.tol, solver: options.innerSolver,
                                                      designCSC: csc)
        } else {
            if model == .ridge && options.lambda == nil {
                throw CLIFailure(code: .usage, message: "ridge needs --lambda (λ_max is infinite without an l1 part)")
            }
            guard options.lambda != nil || lambdaMax > 0 else {
                throw CLIFailure(code: .input, message: "λ_max is 0 (w = 0 for every λ): give --lambda")
            }
            let chosen = options.lambda ?? lambdaMax / (options.lambdaRatio ?? 10)
            let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: penalty, lambda: chosen, fitIntercept: options.fitIntercept,
                                                      penaltyWeights: penaltyWeights, nonNegative: nonNegative)
            solved = [try problem.solvePoint(tolerance: options.tol, solver: options.innerSolver, designCSC: csc)]
        }
        let points = solved.map {
            Point(lambda: $0.lambda, weights: $0.solution.weights, objective: $0.objective, certificate: $0.solution.certificate,
                  supportSize: $0.supportSize, iterations: $0.solution.iterations,
                  intercept: options.fitIntercept ? $0.solution.intercept : nil, seconds: $0.solution.seconds)
        }
        return (lambdaMax, points, solved[0].solution.solver, solved[0].solution.iterationUnit,
                penalty == .ridge ? "relativeResidual" : "dualityGap")
    }

    /// Sparse logistic regression: (λ_max, points, solver, iteration unit, certificate key).
    func solveLogistic(_ x: CSRMatrix, _ y: [Double], csc: CSCMatrix?) throws -> (Double, [Point], String, String, String) {
        let alpha = try options.logisticL1Ratio()
        let lambdaMax = try SparseLogisticRegression.lambdaMax(design: x, labels: y, l1Ratio: alpha)
        let solved: [SparseLogisticRegression.PathPoint]
        if let path {
            solved = try SparseLogisticRegression.path(design: x, labels: y, l1Ratio: alpha, count: path, ratio: options.lambdaRatio ?? 100,
                                                       tolerance: options.tol, designCSC: csc)
        } else {
            guard options.lambda != nil || lambdaMax > 0 else {
                throw CLIFailure(code: .input, message: "λ_max is 0 (w = 0 for every λ): give --lambda")
            }
            let chosen = options.lambda ?? lambdaMax / (options.lambdaRatio ?? 10)
            let problem = try SparseLogisticRegression(design: x, labels: y, lambda: chosen, l1Ratio: alpha)
            solved = [try problem.solvePoint(tolerance: options.tol, designCSC: csc)]
        }
        let points = solved.map {
            Point(lambda: $0.lambda, weights: $0.result.solution, objective: $0.objective, certificate: $0.result.dualityGap,
                  supportSize: $0.supportSize, iterations: $0.result.newtonSteps, intercept: nil, seconds: $0.result.seconds)
        }
        return (lambdaMax, points, "proximal Newton", "Newton steps", "dualityGap")
    }

    /// Reads p penalty weights from a Matrix Market dense array (p × 1 or 1 × p).
    func readWeights(_ path: String, features: Int) throws -> [Double] {
        let dense = try MatrixMarket.readDense(path: path)
        guard min(dense.rows, dense.columns) == 1, dense.values.count == features else {
            throw CLIFailure(code: .input, message: "\(path): \(dense.rows) × \(dense.columns) weights; the data has \(features) features (need \(features) × 1)")
        }
        if let bad = dense.values.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw CLIFailure(code: .input, message: "\(path): weight \(bad + 1) (the array's entry for feature \(bad + 1)) is \(dense.values[bad]); weights must be finite and ≥ 0")
        }
        return dense.values
    }
}
