import Foundation
import ISparseCLICore
import ImplicitSparse
import Preconditioners
import Sparse

/// Where a suite writes its files and at which sizes.
struct BenchContext {
    let folder: String
    let quick: Bool
    /// A user's LIBSVM file for the regression suites.
    let data: String?

    /// `full` normally, `small` with --quick.
    func size(_ full: Int, _ small: Int) -> Int { quick ? small : full }

    /// A path in the work folder, with the size tag so that --quick and full files differ.
    func path(_ name: String) -> String { "\(folder)/\(quick ? "quick-" : "")\(name)" }

    /// Writes `matrix` as SciPy .npz unless the file is there.
    func npz(_ name: String, _ matrix: CSRMatrix) throws -> String {
        let p = path(name + ".npz")
        if !FileManager.default.fileExists(atPath: p) { try SciPySparse.write(matrix, to: p) }
        return p
    }

    func npy(_ name: String, _ values: [Double]) throws -> String {
        let p = path(name + ".npy")
        try SparseDataFile.writeTargets(values, to: p)
        return p
    }
}

func benchSeconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

/// b_i = sin(0.37 i) + 0.5, built alike by the peers (A·1 can be an eigenvector of a graph Laplacian).
func benchRightHandSide(_ n: Int) -> [Double] { (0..<n).map { Foundation.sin(0.37 * Double($0)) + 0.5 } }

func relativeResidual(_ a: CSRMatrix, _ x: [Double], _ b: [Double]) throws -> Double {
    let r = try a.multiply(x)
    return zip(r, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / Vector.norm(b)
}

enum BenchSuite: String, CaseIterable {
    case spmv, cholesky, krylov, amg, lasso, logreg, hypergrad, graph, tune, glm

    func cases(_ context: BenchContext) throws -> [BenchCase] {
        let s = rawValue
        switch self {
        case .spmv:
            let n = context.size(1_000_000, 50_000), side = context.size(1000, 200)
            let matrices: [(String, String, CSRMatrix)] = [
                ("power-law \(n)² (10/row)", "spmv-powerlaw", try .randomPowerLaw(rows: n, columns: n, nonzerosPerRow: 10, exponent: 2.0, seed: 42)),
                ("2-D grid Laplacian \(side)²", "spmv-grid", try .gridLaplacian2D(side, shift: 1)),
            ]
            return try matrices.map { name, file, a in
                let path = try context.npz(file, a)
                let repeats = context.size(20, 10)
                let x = [Double](repeating: 1, count: a.columns)
                var y = [Double](repeating: 0, count: a.rows)
                return BenchCase(suite: s, name: name, peers: [("scipy", "spmv", ["matrix": path, "repeats": "\(repeats)"])]) {
                    let seconds = benchSeconds {
                        for _ in 0..<repeats { x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { a.multiply(xb, into: $0) } } }
                    } / Double(repeats)
                    let bytes = Double(12 * a.nonzeroCount + 8 * (a.rows + 1) + 8 * a.columns + 8 * a.rows)
                    return (seconds, String(format: "%.2f GB/s per product", bytes / seconds / 1e9))
                }
            }
        case .cholesky:
            let side = context.size(1000, 100), nodes = context.size(50_000, 3_000)
            let matrices: [(String, String, CSRMatrix)] = [
                ("2-D grid Laplacian + I, \(side)²", "chol-grid", try .gridLaplacian2D(side, shift: 1)),
                ("power-law graph Laplacian + I, \(nodes) nodes", "chol-graph",
                 try CSRMatrix.randomPowerLawGraph(nodes: nodes, edges: 3 * nodes, exponent: 2.5, seed: 7).graphLaplacian(shift: 1)),
            ]
            return try matrices.map { name, file, a in
                let path = try context.npz(file, a)
                let symmetric = a.declaringSymmetric()
                let b = benchRightHandSide(a.rows)
                return BenchCase(suite: s, name: name, peers: [("scikit-sparse", "cholesky", ["matrix": path])]) {
                    var x: [Double] = []
                    var factorNonzeros = 0
                    let seconds = try benchSeconds {
                        let factor = try CholeskyFactorization(symmetric: symmetric)
                        try factor.factorize()
                        x = try factor.solve(b)
                        factorNonzeros = factor.predictedFactorNonzeros
                    }
                    return (seconds, String(format: "analyze + factorize + solve, nnz(L) %d, residual %.1e", factorNonzeros, try relativeResidual(a, x, b)))
                }
            }
        case .krylov:
            let side = context.size(1000, 300)
            let a = try CSRMatrix.gridLaplacian2D(side, shift: 1)
            let path = try context.npz("cg-grid", a)
            let symmetric = a.declaringSymmetric()
            let b = benchRightHandSide(a.rows)
            // A fixed iteration count (tolerance unreachable): both sides do the same work.
            let iterations = 40
            let cg = ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-300, maxIterations: iterations))
            return [BenchCase(suite: s, name: "CG per iteration, 2-D grid + I, \(side)²",
                              peers: [("scipy", "cg", ["matrix": path, "iterations": "\(iterations)"])]) {
                var done = 0
                let seconds = try benchSeconds { done = try cg.solve(symmetric, b).iterations }
                return (seconds / Double(max(done, 1)), "\(done) iterations")
            }]
        case .amg:
            let side = context.size(1000, 100), nodes = context.size(200_000, 20_000)
            let matrices: [(String, String, CSRMatrix)] = [
                ("SA-AMG + CG to 1e-8, 2-D Poisson \(side)²", "amg-poisson", try .gridLaplacian2D(side)),
                ("SA-AMG + CG to 1e-8, power-law graph Laplacian + 0.1·I, \(nodes) nodes", "amg-graph",
                 try CSRMatrix.randomPowerLawGraph(nodes: nodes, edges: 3 * nodes, exponent: 2.5, seed: 11).graphLaplacian(shift: 0.1)),
            ]
            return try matrices.map { name, file, a in
                let path = try context.npz(file, a)
                let symmetric = a.declaringSymmetric()
                let b = benchRightHandSide(a.rows)
                return BenchCase(suite: s, name: name, peers: [("pyamg", "amg", ["matrix": path])]) {
                    var iterations = 0, residual = 0.0
                    let seconds = try benchSeconds {
                        let amg = try SmoothedAggregationAMG(symmetric)
                        let result = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-8, maxIterations: 1000))
                            .solve(symmetric, b, preconditioner: amg)
                        iterations = result.iterations
                        residual = result.relativeResidual
                    }
                    return (seconds, String(format: "setup + solve, %d iterations, residual %.1e", iterations, residual))
                }
            }
        case .lasso, .logreg:
            let classification = self == .logreg
            let (x, y, tag) = try Self.regressionData(context, classification: classification)
            let xPath = try context.npz("\(tag)-design", x)
            let yPath = try context.npy("\(tag)-\(classification ? "labels" : "targets")", y)
            let csc = x.toCSC()
            let ratios: [Double] = classification ? [10] : [10, 100]
            return try ratios.map { ratio in
                let tol = 1e-8
                if classification {
                    let lambda = try SparseLogisticRegression.lambdaMax(design: x, labels: y) / ratio
                    let problem = try SparseLogisticRegression(design: x, labels: y, lambda: lambda)
                    let args = ["design": xPath, "targets": yPath, "lambda": "\(lambda)", "tol": "\(tol)"]
                    return BenchCase(suite: s, name: "ℓ1 logistic, \(x.rows) × \(x.columns), λ_max/\(Int(ratio))",
                                     peers: [("skglm", "logreg", args)]) {
                        let r = try ProximalNewton().solve(problem, tolerance: tol, design: csc)
                        return (r.seconds, String(format: "objective %.12g, gap %.1e", try problem.objective(r.solution), r.dualityGap))
                    }
                }
                let lambda = try LassoProblem.lambdaMax(design: x, targets: y) / ratio
                let problem = try LassoProblem(design: x, targets: y, lambda: lambda)
                let args = ["design": xPath, "targets": yPath, "lambda": "\(lambda)", "tol": "\(tol)"]
                return BenchCase(suite: s, name: "lasso, \(x.rows) × \(x.columns), λ_max/\(Int(ratio))",
                                 peers: [("skglm", "lasso", args), ("celer", "lasso", args), ("sklearn", "lasso", args)]) {
                    let r = try CoordinateDescent().solve(problem, tolerance: tol, design: csc)
                    return (r.seconds, String(format: "objective %.12g, gap %.1e", problem.objective(r.solution), r.dualityGap))
                }
            }
        case .hypergrad:
            let (train, yTrain, validation, yValidation, tag) = try Self.splitData(context)
            let lambda = try LassoProblem.lambdaMax(design: train, targets: yTrain) / 100
            let problem = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: .lasso, lambda: lambda)
            let csc = train.toCSC()
            let w = try problem.solve(tolerance: 1e-8, solver: .coordinateDescent, designCSC: csc).weights
            let args = ["design": try context.npz("\(tag)-train", train), "targets": try context.npy("\(tag)-train-y", yTrain),
                        "validation": try context.npz("\(tag)-val", validation), "validationTargets": try context.npy("\(tag)-val-y", yValidation),
                        "weights": try context.npy("\(tag)-weights", w), "lambda": "\(lambda)"]
            return [BenchCase(suite: s, name: "lasso hypergradient step, \(train.rows) × \(train.columns), λ_max/100",
                              peers: [("jaxopt", "hypergrad", args)]) {
                let strategy = LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000), name: "adjoint")
                var value = 0.0
                let seconds = try benchSeconds {
                    value = try problem.hypergradient(at: w, validation: validation, validationTargets: yValidation, strategy: strategy,
                                                      designCSC: csc).gradient
                }
                return (seconds, String(format: "d/dlogλ %.6g (support-reduced adjoint; the inner solve is not timed)", value))
            }]
        case .graph:
            let nodes = context.size(100_000, 20_000)
            let graph = try WeightedGraph.powerLaw(nodes: nodes, edges: 4 * nodes, exponent: 2.5, seed: 3)
            var random = SplitMix64(seed: 5)
            let signal = (0..<nodes).map { _ in random.nextGaussian() }
            let training = (0..<nodes).filter { $0 % 2 == 0 }
            let data = try GraphData(graph: graph, signal: signal, training: training)
            let problem = try GraphLeastSquares(data: data, lambda: 1, epsilon: 0.01)
            let system = try problem.system(lambda: 1, epsilon: 0.01)
            let rhs = (0..<nodes).map { data.trainingMask[$0] * signal[$0] }
            let args = ["system": try context.npz("graph-system", system), "rhs": try context.npy("graph-rhs", rhs)]
            return [BenchCase(suite: s, name: "graph-ls solve (M + λL + εI)x = My, power-law, \(nodes) nodes",
                              peers: [("pyamg", "graph", args)]) {
                let solution = try problem.solve(strategy: GraphLeastSquares.defaultStrategy(expectedSolves: 1))
                return (solution.seconds, String(format: "automatic policy: %@ + %@, residual %.1e", solution.report?.method ?? "?",
                                                 solution.report?.preconditioner ?? "?", solution.relativeResidual))
            }]
        case .glm:
            return try Self.glmCases(context)
        case .tune:
            let (train, yTrain, validation, yValidation, tag) = try Self.splitData(context)
            let lambdaMax = try LassoProblem.lambdaMax(design: train, targets: yTrain)
            let args = ["design": try context.npz("\(tag)-train", train), "targets": try context.npy("\(tag)-train-y", yTrain),
                        "validation": try context.npz("\(tag)-val", validation), "validationTargets": try context.npy("\(tag)-val-y", yValidation),
                        "lambdaMax": "\(lambdaMax)", "grid": "30", "minRatio": "1000"]
            let csc = train.toCSC()
            return [BenchCase(suite: s, name: "tune λ (held-out MSE, L-BFGS from λ_max/10), \(train.rows) × \(train.columns)",
                              peers: [("sklearn", "tune", args)]) {
                var best = 0.0, value = 0.0, evaluations = 0
                let seconds = try benchSeconds {
                    let model = try LassoFamily(design: train, targets: yTrain, designCSC: csc)
                    let criterion = try HeldOutRegression(model: model, validation: validation, validationTargets: yValidation)
                    var options = OuterOptions(maxIterations: 30)
                    options.relativeDecrease = 1e-4
                    let bounds = TuningBounds(lower: [Foundation.log(lambdaMax / 1e4)], upper: [Foundation.log(lambdaMax)])
                    let result = try BoundedLBFGS().minimize({ try criterion.evaluate($0) }, from: criterion.theta(lambda: lambdaMax / 10),
                                                             bounds: bounds, options: options, progress: nil)
                    best = Foundation.exp(result.best[0]); value = result.bestValue; evaluations = result.evaluations
                }
                return (seconds, String(format: "λ_max/%.3g, val MSE %.6g, %d evaluations", lambdaMax / best, value, evaluations))
            }]
        }
    }

    /// Datafit × penalty pairs on binary text-like data (power-law columns, duplicated and
    /// dependent columns), each against skglm's `GeneralizedLinearEstimator` with the same
    /// datafit and penalty, the same λ, no intercept, and the same stopping rule (the largest
    /// distance of −∇F to ∂g ≤ 10⁻⁸, skglm's 'subdiff' working-set criterion).
    static func glmCases(_ context: BenchContext) throws -> [BenchCase] {
        let (x, y, tag) = try regressionData(context, classification: false)
        let csc = x.toCSC()
        let xPath = try context.npz("\(tag)-design", x)
        var outliers = y
        for i in stride(from: 0, to: y.count, by: 20) { outliers[i] += 30 }
        let counts = try Datasets.binaryTextLikeCounts(rows: context.size(50_000, 2_000), columns: context.size(100_000, 4_000),
                                                       nonzerosPerRow: context.size(25, 10), duplicateColumns: context.size(500, 20),
                                                       dependentColumns: context.size(500, 20), seed: 0)
        let countsPath = try context.npz("glm-counts-design", counts.features)
        let countsCSC = counts.features.toCSC()
        let tol = 1e-8, groupSize = 5
        // The group case drops empty columns (skglm's group solver divides by a group's
        // Lipschitz constant, 0 for a group of empty columns); both sides solve that design.
        let nonempty = (0..<csc.columns).filter { csc.columnPointers[$0 + 1] > csc.columnPointers[$0] }
        let groupCSC = try csc.selectingColumns(nonempty)
        let groupPath = try context.npz("\(tag)-design-nonempty", groupCSC.toCSR())
        let groups = stride(from: 0, to: groupCSC.columns, by: groupSize).map { $0..<min($0 + groupSize, groupCSC.columns) }
        func make<Fit: Datafit, Reg: Penalty>(_ name: String, _ design: CSCMatrix, _ path: String, _ fit: Fit, _ penalty: Reg, ratio: Double,
                                              kind: String, extra: [String: String]) throws -> BenchCase {
            let base = try GeneralizedLinearModel(design: design, datafit: fit, penalty: penalty)
            let lambda = try base.lambdaMax()! / ratio
            let model = base.withStrength(lambda)
            var args = ["design": path, "targets": try context.npy("glm-\(kind)-y", fit.targets), "lambda": "\(lambda)", "tol": "\(tol)",
                        "pair": kind]
            args.merge(extra) { $1 }
            return BenchCase(suite: "glm", name: "\(name), \(design.rows) × \(design.columns), λ_max/\(Int(ratio))",
                             peers: [("skglm", "glm", args)]) {
                let r = try model.solve(tolerance: tol)
                return (r.seconds, String(format: "objective %.12g, KKT %.1e, support %d", r.objective, r.kktResidual, r.supportSize))
            }
        }
        let (_, labels, _) = try regressionData(context, classification: true)
        return [
            // The lasso and ℓ1 logistic regression through the generic solver, on the data of
            // the lasso and logreg suites (their hand-written solvers' times are there).
            try make("quadratic + ℓ1 (the lasso)", csc, xPath, Quadratic(targets: y), try L1(lambda: 1), ratio: 10, kind: "quadratic-l1", extra: [:]),
            try make("quadratic + ℓ1 (the lasso)", csc, xPath, Quadratic(targets: y), try L1(lambda: 1), ratio: 100, kind: "quadratic-l1", extra: [:]),
            try make("logistic + ℓ1", csc, xPath, try Logistic(labels: labels), try L1(lambda: 1), ratio: 10, kind: "logistic-l1", extra: [:]),
            try make("Huber(δ = 1.35) + ℓ1", csc, xPath, try Huber(targets: outliers, delta: 1.35), try L1(lambda: 1), ratio: 10, kind: "huber-l1",
                     extra: ["delta": "1.35"]),
            try make("Poisson + ℓ1", countsCSC, countsPath, Poisson(targets: counts.targets), try L1(lambda: 1), ratio: 10, kind: "poisson-l1",
                     extra: [:]),
            try make("quadratic + MCP(γ = 3)", csc, xPath, Quadratic(targets: y), try MCP(lambda: 1, gamma: 3), ratio: 10, kind: "quadratic-mcp",
                     extra: ["gamma": "3"]),
            try make("group lasso (groups of \(groupSize), ω = √5)", groupCSC, groupPath, Quadratic(targets: y), try GroupLasso(lambda: 1, groups: groups),
                     ratio: 10, kind: "quadratic-group", extra: ["groupSize": "\(groupSize)"]),
        ]
    }

    /// The regression / classification design: the user's --data, or binary text-like data
    /// with power-law column frequencies, duplicated and dependent columns.
    static func regressionData(_ context: BenchContext, classification: Bool) throws -> (CSRMatrix, [Double], String) {
        if let data = context.data {
            let read = try LIBSVM.read(path: data)
            let labels = classification ? try SparseLogisticRegression.signedLabels(read.targets) : read.targets
            return (read.features, labels, "user")
        }
        let generated = try Datasets.binaryTextLike(rows: context.size(50_000, 2_000), columns: context.size(100_000, 4_000),
                                                    nonzerosPerRow: context.size(25, 10), duplicateColumns: context.size(500, 20),
                                                    dependentColumns: context.size(500, 20), classification: classification, seed: 0)
        return (generated.features, generated.targets, "text")
    }

    /// Train / validation rows: the user's --data split 80/20 (seed 0), or the built-in problem
    /// of `isparse hypergrad` (text-like, 50 000 × 65 000, seed 0; 2 000 × 3 000 with --quick).
    static func splitData(_ context: BenchContext) throws -> (CSRMatrix, [Double], CSRMatrix, [Double], String) {
        let x: CSRMatrix, y: [Double], tag: String
        if let data = context.data {
            let read = try LIBSVM.read(path: data)
            (x, y, tag) = (read.features, read.targets, "user")
        } else {
            let generated = try Datasets.textLike(rows: context.size(50_000, 2_000), columns: context.size(65_000, 3_000), seed: 0)
            (x, y, tag) = (generated.features, generated.targets, "builtin")
        }
        let split = try Datasets.split(rows: x.rows, validationFraction: 0.2, seed: 0)
        return (try x.selectingRows(split.train), split.train.map { y[$0] }, try x.selectingRows(split.validation),
                split.validation.map { y[$0] }, tag)
    }
}
