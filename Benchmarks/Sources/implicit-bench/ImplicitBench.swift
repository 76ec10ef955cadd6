import _Differentiation
import ArgumentParser
import Dispatch
import Foundation
import ImplicitSparse

/// Issue 4's benchmarks: writes the lasso hypergradient problem for the JAXopt peer, and
/// times a reverse derivative through a user-written optimality condition against a
/// hand-written one. Every number is the median of `--repeat` runs.
@main
struct ImplicitBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "implicit-bench", subcommands: [Generate.self, Reverse.self, GenerateSolverData.self, GenerateTuningData.self, SolverStats.self, LogisticStats.self, JacobianPaths.self])
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

/// The built-in generated problem of `isparse hypergrad` (text-like, n = 50 000, p = 65 000,
/// seed 0), split as the CLI splits it (20 % validation, seed 0), as two LIBSVM files.
struct Generate: ParsableCommand {
    @Option var out: String = "data"
    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let train = "\(out)/lasso-train.svm", validation = "\(out)/lasso-val.svm"
        if FileManager.default.fileExists(atPath: train) && FileManager.default.fileExists(atPath: validation) { return }
        let data = try Datasets.textLike(seed: 0)
        let split = try Datasets.split(rows: data.features.rows, validationFraction: 0.2, seed: 0)
        try LIBSVM.write(features: try data.features.selectingRows(split.train), targets: split.train.map { data.targets[$0] }, to: train)
        try LIBSVM.write(features: try data.features.selectingRows(split.validation),
                         targets: split.validation.map { data.targets[$0] }, to: validation)
        print("wrote \(train) and \(validation): \(split.train.count) + \(split.validation.count) rows, \(data.features.columns) features, \(data.features.nonzeroCount) nonzeros")
    }
}

/// Issue 12's solver benchmark data: binary text-like designs with power-law column
/// frequencies, duplicated and linearly dependent columns, as LIBSVM files — a regression
/// (`NAME.svm`) and a ±1 classification (`NAME-cls.svm`) on the same design.
struct GenerateSolverData: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-solvers")
    @Option var out: String = "data"
    @Option var name: String = "text"
    @Option var rows = 50_000
    @Option var columns = 100_000
    @Option var nonzerosPerRow = 25
    @Option var duplicates = 500
    @Option var dependent = 500
    @Option var seed: UInt64 = 0
    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let regression = "\(out)/\(name).svm", classification = "\(out)/\(name)-cls.svm"
        if FileManager.default.fileExists(atPath: regression) && FileManager.default.fileExists(atPath: classification) { return }
        let data = try Datasets.binaryTextLike(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow, duplicateColumns: duplicates,
                                               dependentColumns: dependent, seed: seed)
        try LIBSVM.write(features: data.features, targets: data.targets, to: regression)
        let labels = try Datasets.binaryTextLike(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow, duplicateColumns: duplicates,
                                                 dependentColumns: dependent, classification: true, seed: seed).targets
        try LIBSVM.write(features: data.features, targets: labels, to: classification)
        print("wrote \(regression) and \(classification): \(rows) rows, \(columns) features, \(data.features.nonzeroCount) nonzeros, \(duplicates) duplicated and \(dependent) dependent columns")
    }
}

/// Issue 14's tuning data: a binary text-like regression (power-law column frequencies,
/// duplicated and dependent columns, a Gaussian planted truth — unequal feature relevance)
/// split 60 / 20 / 20 into `NAME-train.svm`, `NAME-val.svm` and `NAME-test.svm`.
struct GenerateTuningData: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate-tuning")
    @Option var out: String = "data"
    @Option var name: String = "tune"
    @Option var rows = 50_000
    @Option var columns = 100_000
    @Option var nonzerosPerRow = 25
    @Option var informative = 200
    @Option var duplicates = 500
    @Option var dependent = 500
    @Option var seed: UInt64 = 0
    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let paths = ["train", "val", "test"].map { "\(out)/\(name)-\($0).svm" }
        if paths.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) { return }
        let data = try Datasets.binaryTextLike(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow, duplicateColumns: duplicates,
                                               dependentColumns: dependent, informative: informative, seed: seed)
        let first = try Datasets.split(rows: rows, validationFraction: 0.4, seed: seed)
        let second = try Datasets.split(rows: first.validation.count, validationFraction: 0.5, seed: seed &+ 1)
        let parts = [first.train, second.train.map { first.validation[$0] }, second.validation.map { first.validation[$0] }]
        for (rows, path) in zip(parts, paths) {
            try LIBSVM.write(features: try data.features.selectingRows(rows), targets: rows.map { data.targets[$0] }, to: path)
        }
        print("wrote \(paths.joined(separator: ", ")): \(parts.map(\.count)) rows, \(columns) features, \(data.features.nonzeroCount) nonzeros, \(duplicates) duplicated and \(dependent) dependent columns")
    }
}

/// One lasso solve with the coordinate-descent solver's counters (outer iterations, epochs,
/// screened features, working-set size, extrapolations kept), for profiling.
struct SolverStats: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cd-stats")
    @Option var data: String
    @Option var ratio = 100.0
    @Option var tol = 1e-8
    @Option var anderson = 5
    @Option var p0 = 10
    @Flag var noScreening = false
    @Option var threads: Int?
    @Option var inner = 0.3
    @Flag(help: "Plain Anderson extrapolation, without the cut at the first kink.") var noKinkCut = false
    func run() throws {
        let read = try LIBSVM.read(path: data)
        let lambdaMax = try LassoProblem.lambdaMax(design: read.features, targets: read.targets)
        let problem = try LassoProblem(design: read.features, targets: read.targets, lambda: lambdaMax / ratio)
        let csc = read.features.toCSC()
        var options = CoordinateDescent.Options()
        options.andersonMemory = anderson
        options.screening = !noScreening
        options.initialWorkingSetSize = p0
        options.threads = threads
        options.innerTolerance = inner
        options.cutAtFirstKink = !noKinkCut
        let r = try CoordinateDescent(options: options).solve(problem, tolerance: tol, design: csc)
        print(String(format: "%.3f s, objective %.15g, gap %.2e (target %.2e), outer %d, epochs %d, screened %d, ws %d, extrapolations %d/%d, support %d",
                     r.seconds, problem.objective(r.solution), r.dualityGap, r.targetGap, r.outerIterations, r.epochs, r.screenedFeatures,
                     r.workingSetSize, r.extrapolationsKept, r.extrapolationsTried, r.solution.filter { $0 != 0 }.count))
    }
}

/// One sparse logistic regression solve with the proximal Newton counters, for profiling.
struct LogisticStats: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logreg-stats")
    @Option var data: String?
    @Option var ratio = 10.0
    @Option var l1Ratio = 1.0
    @Option var tol = 1e-8
    @Option(help: "K of the model solves' Anderson extrapolation (0: none).") var anderson = 5
    @Option(help: "Coordinate-descent epochs per quadratic model, at most.") var modelEpochs = 100
    @Flag(help: "Plain Anderson extrapolation, without the cut at the first kink.") var noKinkCut = false
    func run() throws {
        let x: CSRMatrix, y: [Double]
        if let data {
            let read = try LIBSVM.read(path: data)
            (x, y) = (read.features, read.targets)
        } else {
            let generated = try Datasets.binaryTextLike(rows: 500, columns: 150, nonzerosPerRow: 8, duplicateColumns: 5, dependentColumns: 5,
                                                        informative: 20, classification: true, seed: 21)
            (x, y) = (generated.features, generated.targets)
        }
        let lambdaMax = try SparseLogisticRegression.lambdaMax(design: x, labels: y, l1Ratio: l1Ratio)
        let problem = try SparseLogisticRegression(design: x, labels: y, lambda: lambdaMax / ratio, l1Ratio: l1Ratio)
        var options = ProximalNewton.Options()
        options.andersonMemory = anderson
        options.maxModelEpochs = modelEpochs
        options.cutAtFirstKink = !noKinkCut
        let r = try ProximalNewton(options: options).solve(problem, tolerance: tol)
        print(String(format: "%.3f s, objective %.15g, gap %.2e (target %.2e), outer %d, Newton steps %d, model epochs %d, support %d",
                     r.seconds, try problem.objective(r.solution), r.dualityGap, r.targetGap, r.outerIterations, r.newtonSteps, r.modelEpochs,
                     r.solution.filter { $0 != 0 }.count))
    }
}

/// A reverse derivative (the pullback wrt x, as each adjoint Krylov iteration uses it) of the
/// sparse logistic-regression stationarity condition F(w, θ) = Xᵀ(σ(Xw) − y)/n + θw at
/// n = p = 10⁶: written by a user with the primitives and differentiated by Swift AD, against
/// the same product written by hand, (∂F/∂w)ᵀv = XᵀDXv/n + θv with D = σ'(Xw).
struct Reverse: ParsableCommand {
    @Option var size = 1_000_000
    @Option var nonzerosPerRow = 10
    @Option(name: .customLong("repeat")) var repeats = 7

    func run() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: size, columns: size, nonzerosPerRow: nonzerosPerRow, seed: 3)
        var rng = SplitMix64(seed: 5)
        let y = DifferentiableVector((0..<size).map { _ in rng.nextUniform() < 0.5 ? 0 : 1 })
        let w = DifferentiableVector((0..<size).map { _ in 0.01 * rng.nextGaussian() })
        let v = DifferentiableVector((0..<size).map { _ in rng.nextGaussian() })
        let theta = DifferentiableVector([0.1])
        let n = Double(size)
        let condition: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, theta in
            scale(1 / n, matvecTransposed(x, sigmoid(matvec(x, w)) - y)) + scale(sum(theta), w)
        }
        // Setting up the pullback at w (the forward pass) happens once per adjoint solve; each
        // Krylov iteration then applies it. Both are timed, for AD and by hand.
        var adSetup: [Double] = [], adApply: [Double] = [], handSetup: [Double] = [], handApply: [Double] = []
        var adResult: [Double] = [], handResult: [Double] = []
        for _ in 0..<repeats {
            var pullback: ((DifferentiableVector) -> (DifferentiableVector, DifferentiableVector))!
            adSetup.append(seconds { pullback = valueWithPullback(at: w, theta, of: condition).pullback })
            adApply.append(seconds { adResult = pullback(v).0.scalars })
            var d: [Double] = []
            handSetup.append(seconds {
                d = try! x.multiply(w.scalars).map { z in let s = 1 / (1 + Foundation.exp(-z)); return s * (1 - s) / n }
            })
            handApply.append(seconds {
                var t = try! x.multiply(v.scalars)
                for i in 0..<t.count { t[i] *= d[i] }
                handResult = try! x.multiplyTransposed(t)
                for j in 0..<handResult.count { handResult[j] += 0.1 * v.scalars[j] }
            })
        }
        let difference = Vector.norm(zip(adResult, handResult).map { $0 - $1 }) / Vector.norm(handResult)
        print(String(format: "reverse derivative of F(w, θ) = Xᵀ(σ(Xw) − y)/n + θw, n = p = %d, %d nonzeros (median of %d)",
                     size, x.nonzeroCount, repeats))
        print(String(format: "  pullback set-up (forward pass): AD %.4f s, hand-written %.4f s", median(adSetup), median(handSetup)))
        print(String(format: "  pullback apply (per Krylov iteration): AD %.4f s, hand-written %.4f s, ratio %.2f",
                     median(adApply), median(handApply), median(adApply) / median(handApply)))
        print(String(format: "  set-up + one apply: ratio %.2f; relative difference of the two products %.1e",
                     (median(adSetup) + median(adApply)) / (median(handSetup) + median(handApply)), difference))
    }
}

/// Issue 29, item 5: Laplacian-regularized least squares written as a plain stationarity
/// condition F(x, θ) = x − y + e^θ L x on a k × k grid, its hypergradient by three paths for
/// ∂F/∂x — matrix-free (the policy on F's pullbacks with I + e^θL for preconditioning only),
/// automatic sparse with the pattern detected from the primitives (`jacobian: .automaticSparse`,
/// star coloring) or declared (`jacobianPattern:` L's pattern), and hand-declared
/// (`explicitJacobian:` I + e^θL written out) — each with a fresh strategy per run, the inner
/// solve shared and excluded. Prints the medians of `--repeat` runs, the adjoint's method,
/// the colors and the values' largest relative difference.
struct JacobianPaths: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jacobian")
    @Option var side = 1000
    @Option var lambda = 100.0
    @Option(name: .customLong("repeat")) var repeats = 3

    func run() throws {
        let laplacian = try CSRMatrix.gridGraphLaplacian2D(rows: side, columns: side)
        let n = laplacian.rows
        var random = SplitMix64(seed: 11)
        let y = DifferentiableVector((0..<n).map { i in Double((i % side) / max(side / 4, 1) % 2) + 0.3 * (random.nextUniform() - 0.5) })
        let weights = DifferentiableVector((0..<n).map { i in Double(i % 7) / 7 })
        let logLambda = Foundation.log(lambda)
        func system(_ t: Double) throws -> CSRMatrix { try laplacian.scaled(by: Foundation.exp(t)).addingIdentity(scaledBy: 1).declaringSymmetric() }
        let x = DifferentiableVector(try LinearSolveStrategy(name: "inner").solve(try system(logLambda), y.scalars))
        let condition: RootSolution<DifferentiableVector>.Condition = { x, theta in x - y + scale(Foundation.exp(theta[0]), matvec(laplacian, x)) }
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { x in dot(weights, x .* x) }
        let theta = DifferentiableVector([logLambda])
        print("grid \(side)×\(side) (n = \(n)), λ = \(lambda), \(repeats) runs each; OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "<unset>")")
        var values: [String: Double] = [:]
        for path in ["matrix-free", "automatic detected", "automatic declared", "hand-declared"] {
            var times: [Double] = [], method = "", jacobian = ""
            for _ in 0..<repeats {
                let strategy = LinearSolveStrategy(name: path)
                let solution: RootSolution<DifferentiableVector>
                switch path {
                case "matrix-free":
                    solution = RootSolution(condition: condition, positiveDefiniteJacobian: true, strategy: strategy, dimension: n,
                                            preconditioningJacobian: { _, t in try system(t[0]) }, solver: { _ in x })
                case "automatic detected":
                    solution = RootSolution(condition: condition, positiveDefiniteJacobian: true, strategy: strategy, dimension: n,
                                            jacobian: .automaticSparse, solver: { _ in x })
                case "automatic declared":
                    solution = RootSolution(condition: condition, positiveDefiniteJacobian: true, strategy: strategy, dimension: n,
                                            jacobianPattern: laplacian, solver: { _ in x })
                default:
                    solution = RootSolution(condition: condition, positiveDefiniteJacobian: true, strategy: strategy, dimension: n,
                                            explicitJacobian: { _, t in try system(t[0]) }, solver: { _ in x })
                }
                var result: Hypergradient<DifferentiableVector>!
                times.append(try seconds { result = try solution.hypergradient(at: theta, solution: x, loss: loss) })
                values[path] = result.gradient[0]
                method = "\(result.report?.method ?? "?")+\(result.report?.preconditioner ?? "?")"
                jacobian = result.jacobian.map { "\($0)" } ?? "?"
            }
            print(String(format: "%-18@ median %.3f s (runs %@)  adjoint %@  ∂F/∂x: %@", path as NSString, median(times),
                         times.map { String(format: "%.3f", $0) }.joined(separator: ", "), method, jacobian))
        }
        let reference = values["matrix-free"]!
        let worst = values.values.map { abs($0 - reference) / abs(reference) }.max()!
        print(String(format: "d loss/d log λ = %.12e; largest relative difference between the paths %.1e", reference, worst))
    }
}
