import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse

/// `isparse hypergrad …`: the regression models (the default subcommand, `hypergrad lasso …`)
/// and the graph models.
struct HypergradGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hypergrad",
        abstract: "Solve a problem and differentiate its validation loss with respect to its hyperparameters.",
        discussion: "`isparse hypergrad lasso|enet|ridge …` (the default subcommand, `regression`), any datafit × penalty (`glm --datafit … --penalty …`), or a graph model: graph-ls, graph-tv, graphnet.",
        subcommands: [HypergradCommand.self, HypergradGLM.self, GraphLSHypergrad.self, GraphTVHypergrad.self, GraphNetHypergrad.self],
        defaultSubcommand: HypergradCommand.self)
}

/// `isparse solve …`: the regression models (default subcommand) and the graph models.
struct SolveGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Fit a model with its optimality certificate.",
        discussion: "`isparse solve lasso|enet|ridge|wlasso|nnlasso|logreg …` (the default subcommand, `regression`), any datafit × penalty (`glm --datafit … --penalty …`), or a graph model: graph-ls, graph-tv.",
        subcommands: [SolveCommand.self, SolveGLM.self, GraphLSSolve.self, GraphTVSolve.self],
        defaultSubcommand: SolveCommand.self)
}

/// Options of the node-valued graph problems (graph-ls, graph-tv).
struct GraphOptions: ParsableArguments {
    @Option(help: "The graph: a Matrix Market adjacency matrix (symmetric, or general read as (W + Wᵀ)/2; pattern = weight 1) or an edge list 'i j [w]' per line (1-based).")
    var graph: String?

    @Option(help: "A built-in R×C 4-neighbour grid graph instead of --graph, e.g. 1000x1000.")
    var grid: String?

    @Option(help: "The signal y: a Matrix Market array or one value per line (default with --grid: the built-in seeded signal).")
    var signal: String?

    @Option(help: "Training nodes (1-based, one per line); default: every node not in the validation set.")
    var train: String?

    @Option(help: "Validation nodes (1-based, one per line).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Hold out this fraction of the non-training nodes for validation (hypergrad default 0.2).")
    var valFraction: Double?

    @Option(help: "Seed of the split and of the built-in signal.")
    var seed: UInt64 = 0

    @Option(help: "λ > 0, the weight of the graph penalty.")
    var lambda: Double

    @Option(help: "ε ≥ 0, a ridge (ε/2)‖x‖² on every node.")
    var epsilon: Double = 0

    @Option(help: "graph-ls: relative residual of the linear solves (default 1e-10); graph-tv: duality gap / (½‖y_T‖²) (default 1e-6).")
    var tol: Double?

    @Option(name: .customLong("max-iterations"), help: "graph-tv: ADMM iterations at most.")
    var maxIterations: Int = 20_000

    @Option(help: "The graph systems' linear solver: auto (the automatic policy, told of the adjoint solve to come), cholesky, lu, or METHOD[+PRECONDITIONER], e.g. cg+amg, cg+jacobi, minres+jacobi — the vocabulary of every command.")
    var solver: String?

    @Option(name: .customLong("linear-solver"), help: "Alias (older form): auto, cholesky, amg (= cg+amg), cg (= cg+jacobi), minres (= minres+jacobi) or gmres (= gmres+jacobi).")
    var linearSolver: String = "auto"

    /// The linear solver, from --solver or the older --linear-solver name.
    var spec: LinearSolverSpec {
        if let solver, let parsed = try? LinearSolverSpec(parsing: solver) { return parsed }
        let aliases = ["amg": "cg+amg", "cg": "cg+jacobi", "minres": "minres+jacobi", "gmres": "gmres+jacobi"]
        return (try? LinearSolverSpec(parsing: aliases[linearSolver] ?? linearSolver)) ?? LinearSolverSpec(.automatic)
    }

    @Option(help: "Write x* to this file (Matrix Market dense array).")
    var output: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if (graph == nil) == (grid == nil) { throw ValidationError("give exactly one of --graph FILE and --grid RxC") }
        if let grid, parseGrid(grid) == nil { throw ValidationError("--grid must be RxC with R, C ≥ 1, e.g. 1000x1000") }
        if graph != nil && signal == nil { throw ValidationError("--graph needs --signal (the built-in signal is defined on --grid only)") }
        if let valFraction, !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1)") }
        if val != nil && valFraction != nil { throw ValidationError("give --val or --val-fraction, not both") }
        if !(lambda > 0 && lambda.isFinite) { throw ValidationError("--lambda must be positive and finite") }
        if !(epsilon >= 0 && epsilon.isFinite) { throw ValidationError("--epsilon must be nonnegative and finite") }
        if let tol, !(tol >= 1e-14 && tol < 1) { throw ValidationError("--tol must be in [1e-14, 1)") }
        if !(1...10_000_000).contains(maxIterations) { throw ValidationError("--max-iterations must be between 1 and 10⁷") }
        if !["auto", "cholesky", "amg", "cg", "minres", "gmres"].contains(linearSolver) {
            throw ValidationError("--linear-solver must be one of auto, cholesky, amg, cg, minres, gmres (or give --solver)")
        }
        if let solver {
            let parsed: LinearSolverSpec
            do { parsed = try LinearSolverSpec(parsing: solver) } catch { throw ValidationError("--solver: \(error)") }
            if linearSolver != "auto" { throw ValidationError("give --solver or the older --linear-solver, not both") }
            if parsed.kind == .dense { throw ValidationError("--solver dense is for small dense systems; the graph systems are sparse") }
            if case .krylov(.lsqr, _) = parsed.kind { throw ValidationError("--solver lsqr: the graph systems are square and symmetric; use cg or minres") }
        }
    }

    func parseGrid(_ text: String) -> (Int, Int)? {
        // "5x5" exactly: no empty part, no trailing or doubled "x" ("5X5x" is refused).
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r >= 1, c >= 1 else { return nil }
        return (r, c)
    }

    /// The graph systems' strategy; `solves` is how many solves one prepared state will serve
    /// (the forward solve, and the adjoint for hypergrad), which the automatic policy weighs.
    func strategy(solves: Int) -> LinearSolveStrategy {
        let spec = self.spec
        let krylov = KrylovOptions(relativeTolerance: spec.isIterative ? (tol ?? 1e-10) : 1e-10, maxIterations: 10_000)
        if spec.kind == .automatic { return GraphLeastSquares.defaultStrategy(expectedSolves: solves) }
        return LinearSolveStrategy(solver: spec.solver(options: krylov, expectedSolves: solves), name: "graph system", options: krylov)
    }

    /// The problem's data and node sets, read and checked.
    struct Loaded {
        var data: GraphData
        var validation: [Int]
        var source: String
        var notes: [String]
        var readSeconds: Double
    }

    func load(needValidation: Bool) throws -> Loaded {
        let start = DispatchTime.now()
        for (path, option) in [(graph, "--graph"), (signal, "--signal"), (train, "--train"), (val, "--val")] {
            try Files.checkEncoding(path, option: option)
        }
        try Files.checkOutput(output, option: "--output", inputs: [graph, signal, train, val])
        let g: WeightedGraph, source: String
        if let graph {
            g = try WeightedGraph.read(path: graph)
            source = graph
        } else {
            let (r, c) = parseGrid(grid!)!
            guard r.multipliedReportingOverflow(by: c).partialValue <= 200_000_000, !r.multipliedReportingOverflow(by: c).overflow else {
                throw CLIFailure(code: .input, message: "--grid \(grid!): more than 2·10⁸ nodes")
            }
            // What a graph command holds per node before any factor (the policy budgets that):
            // the Laplacian and the system matrix (5 entries a row, 12 bytes each, pointers),
            // the signal, masks and node lists, and the solve's vectors — about 240 bytes.
            try SparseLimits.checkRun("a graph model on the \(r) × \(c) grid", bytes: 240 * r * c)
            g = try WeightedGraph.grid(rows: r, columns: c)
            source = "grid \(r)×\(c)"
        }
        let n = g.nodeCount
        let y: [Double]
        if let signal { y = try GraphFiles.readSignal(path: signal, nodes: n) } else {
            let (r, c) = parseGrid(grid!)!
            y = Datasets.gridSignal(rows: r, columns: c, seed: seed)
        }
        let trainNodes = try train.map { try GraphFiles.readNodes(path: $0, nodes: n) }
        let givenValidation = try val.map { try GraphFiles.readNodes(path: $0, nodes: n) }
        let split = try GraphData.nodeSplit(nodes: n, training: trainNodes, validation: givenValidation,
                                            validationFraction: valFraction ?? (needValidation && val == nil ? 0.2 : nil), seed: seed,
                                            trainingSource: train ?? "", validationSource: val ?? "")
        let validation = split.validation
        if needValidation && validation.isEmpty {
            throw CLIFailure(code: .usage, message: "hypergrad needs validation nodes: --val FILE or --val-fraction F")
        }
        let data = try GraphData(graph: g, signal: y, training: split.training)
        return Loaded(data: data, validation: validation, source: source, notes: g.notes, readSeconds: seconds(since: start))
    }
}

/// What graph-ls and graph-tv print.
struct GraphReport {
    var model: String
    var loaded: GraphOptions.Loaded
    var lambda: Double, epsilon: Double
    var x: [Double]
    var solveLines: [String] = []
    var json = JSONObject()

    init(model: String, loaded: GraphOptions.Loaded, lambda: Double, epsilon: Double, x: [Double]) {
        self.model = model; self.loaded = loaded; self.lambda = lambda; self.epsilon = epsilon; self.x = x
        let g = loaded.data.graph
        json.set("model", model)
        json.set("graph", loaded.source)
        json.set("nodes", g.nodeCount)
        json.set("edges", g.edgeCount)
        json.set("trainNodes", loaded.data.training.count)
        json.set("validationNodes", loaded.validation.count)
        json.set("lambda", lambda)
        json.set("epsilon", epsilon)
        if !loaded.notes.isEmpty { json.set("notes", loaded.notes.joined(separator: "; ")) }
    }

    func printHeader() {
        let g = loaded.data.graph
        print("graph: \(loaded.source): \(g.nodeCount) nodes, \(g.edgeCount) edges; \(loaded.data.training.count) training nodes, \(loaded.validation.count) validation nodes")
        for note in loaded.notes { print("note: \(note)") }
        print(String(format: "model: %@, λ = %.6g, ε = %.6g", model, lambda, epsilon))
    }
}

enum GraphModel { case ls, tv }

/// Solve and, for hypergrad, differentiate graph-ls or graph-tv.
func runGraph(_ model: GraphModel, options: GraphOptions, threads: ThreadOptions, hypergradient: Bool, check: Bool,
              certifyGroups: Bool = true) throws {
    threads.apply()
    let loaded = try options.load(needValidation: hypergradient)
    let data = loaded.data, validation = loaded.validation
    // ADMM solves with one matrix hundreds of times; graph-ls once, and once more for the adjoint.
    let strategy = options.strategy(solves: model == .tv ? 200 : (hypergradient ? 2 : 1))
    let name = model == .ls ? "graph-ls" : "graph-tv"
    let solveStart = DispatchTime.now()
    var x: [Double] = []
    var report: LinearSolveReport?
    var lsProblem: GraphLeastSquares?, lsSolution: GraphLeastSquares.Solution?
    var tvProblem: GraphTotalVariation?, tvSolution: GraphTotalVariation.Solution?
    var certificateLine = ""
    var notes: [String] = []
    var extra = JSONObject()
    switch model {
    case .ls:
        let p = try GraphLeastSquares(data: data, lambda: options.lambda, epsilon: options.epsilon)
        let s = try p.solve(strategy: strategy)
        (x, report, lsProblem, lsSolution) = (s.x, s.report, p, s)
        certificateLine = String(format: "relative residual %.3e", s.relativeResidual)
        extra.set("relativeResidual", s.relativeResidual)
    case .tv:
        let p = try GraphTotalVariation(data: data, lambda: options.lambda, epsilon: options.epsilon)
        var tvOptions = GraphTotalVariation.Options()
        tvOptions.tolerance = options.tol ?? 1e-6
        tvOptions.maxIterations = options.maxIterations
        // The derivative is that of the fused groups: run on until they are certified exact.
        if hypergradient && certifyGroups { tvOptions.exactGroups = true }
        let interactive = !options.json && isatty(2) != 0
        let s = try p.solve(options: tvOptions, strategy: strategy, progress: interactive ? { iteration, gap in
            FileHandle.standardError.write(String(format: "\rADMM iteration %d, duality gap %.3e", iteration, gap).data(using: .utf8)!)
        } : nil)
        if interactive { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        (x, report, tvProblem, tvSolution) = (s.x, s.report, p, s)
        certificateLine = String(format: "ADMM, %d iterations, duality gap %.3e (target %.3e), %d fused groups%@", s.iterations, s.dualityGap,
                                 s.targetGap, s.groups, s.polished ? (s.groupsCertified ? ", certified exact by a maximum flow" : "") : " (not polished)")
        if hypergradient && !s.groupsCertified {
            notes.append(certifyGroups
                ? "the fused groups were not certified exact within --max-iterations: the derivative is that of the groups found, which may differ from the exact solution's"
                : "--uncertified: the derivative is that of the groups of the tolerance-level solve, which may differ from the exact solution's")
        }
        extra.set("dualityGap", s.dualityGap)
        extra.set("iterations", s.iterations)
        extra.set("groups", s.groups)
        extra.set("polished", s.polished)
        extra.set("groupsCertified", s.groupsCertified)
        extra.set("objective", s.objective)
    }
    let solveSeconds = seconds(since: solveStart)
    var out = GraphReport(model: name, loaded: loaded, lambda: options.lambda, epsilon: options.epsilon, x: x)
    var hyper: Hypergradient<[Double]>?
    var hyperSeconds = 0.0
    var fd: (logLambda: Double, logEpsilon: Double?)?
    var fdStep: Double?, fdKink = false
    if hypergradient {
        let start = DispatchTime.now()
        let loss = try NodeLoss.meanSquaredError(data, nodes: validation)
        if let lsProblem, let lsSolution {
            hyper = try lsProblem.hypergradient(of: loss, at: lsSolution, strategy: strategy)
        } else if let tvProblem, let tvSolution {
            hyper = try tvProblem.hypergradient(at: tvSolution, validation: validation)
        }
        hyperSeconds = seconds(since: start)
        if check {
            if let lsProblem, let lsSolution {
                let check = try lsProblem.finiteDifference(of: loss, at: lsSolution, strategy: strategy)
                fd = (check[0] ?? .nan, check[1])
            }
            if let tvProblem {
                var tvOptions = GraphTotalVariation.Options()
                tvOptions.maxIterations = options.maxIterations
                let check = try tvProblem.finiteDifference(validation: validation, options: tvOptions, strategy: strategy)
                fd = (check.logLambda, check.logEpsilon)
                (fdStep, fdKink) = (check.step, check.kink)
            }
        }
    }
    // d/d log ε is reported only for ε > 0 (ε = 0 is held fixed).
    let hyperEpsilon = options.epsilon > 0 ? hyper?.gradient[1] : nil
    if let output = options.output { try MatrixMarket.writeDense(x, rows: x.count, to: output) }
    if options.json {
        out.json.set("solver", model == .ls ? "direct/Krylov linear solve" : "ADMM")
        out.json.set(extraEntries: extra)
        if !notes.isEmpty { out.json.set("solveNotes", notes.joined(separator: "; ")) }
        if let loss = hyper?.value { out.json.set("validationLoss", loss) } else if !validation.isEmpty {
            out.json.set("validationLoss", data.meanSquaredError(x, nodes: validation))
        }
        out.json.set("trainingLoss", data.meanSquaredError(x, nodes: data.training))
        if let hyper {
            out.json.set("hypergradient", hyper.gradient[0])
            var gradient = JSONObject()
            gradient.set("logLambda", hyper.gradient[0])
            if let e = hyperEpsilon { gradient.set("logEpsilon", e) } else { gradient.setNull("logEpsilon") }
            out.json.set("gradient", gradient)
            out.json.set("conditionResidual", hyper.conditionResidual)
        }
        out.json.set("linearSolver", report.map { $0.method + ($0.preconditioner == "none" ? "" : "+" + $0.preconditioner) } ?? "none")
        out.json.set("linearSolverReason", report?.reason ?? "")
        if let hyperReport = hyper?.report {
            out.json.set("adjointSolver", hyperReport.method + (hyperReport.preconditioner == "none" ? "" : "+" + hyperReport.preconditioner))
            out.json.set("adjointReason", hyperReport.reason)
            out.json.set("adjointResidual", hyperReport.relativeResidual)
        }
        var times = JSONObject()
        times.set("read", loaded.readSeconds)
        times.set("solve", solveSeconds)
        if hypergradient { times.set("hypergradient", hyperSeconds) }
        out.json.set("seconds", times)
        if let fd {
            out.json.set("finiteDifference", fd.logLambda)
            var g = JSONObject()
            g.set("logLambda", fd.logLambda)
            if let e = fd.logEpsilon { g.set("logEpsilon", e) } else { g.setNull("logEpsilon") }
            out.json.set("finiteDifferenceGradient", g)
            if let fdStep {
                out.json.set("finiteDifferenceStep", fdStep)
                out.json.set("kink", fdKink)
            }
            if let hyper { out.json.set("relativeDifference", abs(fd.logLambda - hyper.gradient[0]) / max(abs(fd.logLambda), 1e-300)) }
        }
        print(out.json.render())
        return
    }
    out.printHeader()
    print(String(format: "solve: %@, %.3f s", certificateLine, solveSeconds))
    for note in notes { print("note: \(note)") }
    if let report {
        print("linear solver: \(report.method)\(report.preconditioner == "none" ? "" : " + " + report.preconditioner) — \(report.reason)")
    }
    print(String(format: "training MSE: %.10g", data.meanSquaredError(x, nodes: data.training)))
    if let hyper {
        print(String(format: "validation loss (MSE): %.10g", hyper.value))
        print(String(format: "d loss / d log λ: %.10g", hyper.gradient[0] == 0 ? 0 : hyper.gradient[0]))
        if let e = hyperEpsilon { print(String(format: "d loss / d log ε: %.10g", e == 0 ? 0 : e)) }
        if let r = hyper.report {
            print("adjoint: \(r.method)\(r.preconditioner == "none" ? "" : " + " + r.preconditioner), \(r.iterations) iterations, "
                  + String(format: "residual %.3e — %@", r.relativeResidual, r.reason))
        }
        print(String(format: "seconds: read %.3f, solve %.3f, hypergradient %.3f", loaded.readSeconds, solveSeconds, hyperSeconds))
    } else {
        if !validation.isEmpty { print(String(format: "validation MSE: %.10g", data.meanSquaredError(x, nodes: validation))) }
        print(String(format: "seconds: read %.3f, solve %.3f", loaded.readSeconds, solveSeconds))
    }
    if let fd, let hyper {
        print(String(format: "finite difference (central in log λ%@): %.10g, relative difference %.2e",
                     fdStep.map { String(format: ", h = %.0e", $0) } ?? "", fd.logLambda,
                     abs(fd.logLambda - hyper.gradient[0]) / max(abs(fd.logLambda), 1e-300)))
        if fdKink { print("note: the fused groups change within the smallest step (10⁻⁸): θ sits at a kink of the loss, where the secant is not a derivative") }
        if let e = fd.logEpsilon, let mine = hyperEpsilon {
            print(String(format: "finite difference (central in log ε): %.10g, relative difference %.2e", e, abs(e - mine) / max(abs(e), 1e-300)))
        }
    }
}

struct GraphLSHypergrad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-ls",
        abstract: "Laplacian-regularized least squares on a graph, and d(validation MSE)/d log λ, d log ε.",
        discussion: "x* = argmin ½Σ_{i∈T}(x_i − y_i)² + (λ/2)xᵀLx + (ε/2)‖x‖², L = D − W; validation loss: MSE over the validation nodes.")
    @OptionGroup var options: GraphOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Also compute central finite differences in log λ (and log ε).") var check = false
    func run() throws { try runGraph(.ls, options: options, threads: threadOptions, hypergradient: true, check: check) }
}

struct GraphTVHypergrad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-tv",
        abstract: "Graph total variation (graph fused lasso), and d(validation MSE)/d log λ, d log ε through the fused groups.",
        discussion: "x* = argmin ½Σ_{i∈T}(x_i − y_i)² + λΣ_{(i,j)∈E} w_ij|x_i − x_j| + (ε/2)‖x‖², solved by ADMM to a duality gap ≤ tol·½‖y_T‖²; ε > 0 is needed when nodes lie outside the training set.")
    @OptionGroup var options: GraphOptions
    @OptionGroup var threadOptions: ThreadOptions
    @Flag(help: "Also compute central finite differences in log λ (and log ε), tight solves.") var check = false
    @Flag(help: "Differentiate at the fused groups of the --tol solve without certifying them by a maximum flow: faster on large graphs, but the groups, and so the derivative, may be slightly off.")
    var uncertified = false
    func run() throws {
        try runGraph(.tv, options: options, threads: threadOptions, hypergradient: true, check: check, certifyGroups: !uncertified)
    }
}

struct GraphLSSolve: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "graph-ls", abstract: "Solve Laplacian-regularized least squares on a graph.")
    @OptionGroup var options: GraphOptions
    @OptionGroup var threadOptions: ThreadOptions
    func run() throws { try runGraph(.ls, options: options, threads: threadOptions, hypergradient: false, check: false) }
}

struct GraphTVSolve: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "graph-tv", abstract: "Solve graph total variation (ADMM, duality-gap certificate).")
    @OptionGroup var options: GraphOptions
    @OptionGroup var threadOptions: ThreadOptions
    func run() throws { try runGraph(.tv, options: options, threads: threadOptions, hypergradient: false, check: false) }
}

struct GraphNetHypergrad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graphnet",
        abstract: "Graph-guided sparse regression, and d(validation MSE)/d log λ₁, d log λ₂.",
        discussion: """
        (1/2n)‖y − Xw‖² + λ₁‖w‖₁ + (λ₂/2) wᵀL_F w, L_F the Laplacian of --feature-graph (nodes = \
        features, 1-based; a graph with fewer nodes than features leaves the rest isolated). \
        Solved as a lasso on the augmented design [X; √(nλ₂) W^½ D_F] by working-set coordinate \
        descent to a duality gap ≤ tol·‖y‖²/(2n); the derivative goes through the support-reduced \
        system X_SᵀX_S/n + λ₂(L_F)_SS. λ₁ defaults to λ₁_max/10, λ₁_max = ‖Xᵀy‖∞/n.
        """)

    @Option(help: "Training data in LIBSVM format (plain or .gz).")
    var data: String

    @Option(name: .customLong("feature-graph"), help: "The graph over the features (Matrix Market adjacency or edge list, 1-based).")
    var featureGraph: String

    @Option(help: "Validation data in LIBSVM format (instead of --val-fraction).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Fraction of the rows held out for validation (default 0.2).")
    var valFraction: Double?

    @Option(help: "Seed of the split.")
    var seed: UInt64 = 0

    @Option(help: "λ₁ > 0 (default λ₁_max/10).")
    var lambda1: Double?

    @Option(help: "λ₂ ≥ 0, the weight of the feature-graph term.")
    var lambda2: Double = 1

    @Option(help: "Duality gap / (‖y‖²/(2n)), in [1e-14, 1).")
    var tol: Double = 1e-10

    @Flag(name: .customLong("zero-based"), help: "Read the LIBSVM feature indices as 0-based.")
    var zeroBased = false

    @Option(help: "Write w to this file (Matrix Market dense array).")
    var output: String?

    @Flag(help: "Also compute central finite differences in log λ₁ and log λ₂.")
    var check = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if val != nil && valFraction != nil { throw ValidationError("give --val or --val-fraction, not both") }
        if let valFraction, !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1)") }
        if let lambda1, !(lambda1 > 0 && lambda1.isFinite) { throw ValidationError("--lambda1 must be positive and finite") }
        if !(lambda2 >= 0 && lambda2.isFinite) { throw ValidationError("--lambda2 must be nonnegative and finite") }
        if !(tol >= 1e-14 && tol < 1) { throw ValidationError("--tol must be in [1e-14, 1)") }
    }

    func run() throws {
        threadOptions.apply()
        for (path, option) in [(data, "--data"), (featureGraph, "--feature-graph"), (val, "--val")] as [(String?, String)] {
            try Files.checkEncoding(path, option: option)
        }
        try Files.checkOutput(output, option: "--output", inputs: [data, featureGraph, val])
        let readStart = DispatchTime.now()
        var graph = try WeightedGraph.read(path: featureGraph)
        var read = try LIBSVM.read(path: data, indexBase: zeroBased ? 0 : nil)
        guard read.features.rows > 0 else { throw CLIFailure(code: .input, message: "\(data): no samples") }
        if graph.nodeCount > read.features.columns {
            // Features the file never uses but the graph names: empty columns.
            let x = read.features
            read.features = try CSRMatrix(rows: x.rows, columns: graph.nodeCount, rowPointers: x.rowPointers,
                                          columnIndices: x.columnIndices, values: x.values)
        }
        let p = read.features.columns
        if graph.nodeCount < p {
            let isolated = p - graph.nodeCount
            graph = try graph.padded(to: p)
            graph.notes.append("\(isolated) feature\(isolated == 1 ? "" : "s") beyond the graph's largest node left isolated")
        }
        var train: CSRMatrix, yTrain: [Double], validation: CSRMatrix, yValidation: [Double]
        if let val {
            let held = try LIBSVM.read(path: val, indexBase: read.indexBase, columns: p)
            guard held.features.columns == p else {
                throw CLIFailure(code: .input, message: "\(val): \(held.features.columns) features, training data has \(p)")
            }
            (train, yTrain, validation, yValidation) = (read.features, read.targets, held.features, held.targets)
        } else {
            let split = try Datasets.split(rows: read.features.rows, validationFraction: valFraction ?? 0.2, seed: seed)
            train = try read.features.selectingRows(split.train)
            validation = try read.features.selectingRows(split.validation)
            yTrain = split.train.map { read.targets[$0] }
            yValidation = split.validation.map { read.targets[$0] }
        }
        let readSeconds = seconds(since: readStart)
        let lambda1Max = try GraphNet.lambda1Max(design: train, targets: yTrain)
        let lambda1 = self.lambda1 ?? lambda1Max / 10
        let problem = try GraphNet(design: train, targets: yTrain, featureGraph: graph, lambda1: lambda1, lambda2: lambda2)
        let solveStart = DispatchTime.now()
        let solution = try problem.solve(tolerance: tol)
        let solveSeconds = seconds(since: solveStart)
        let hyperStart = DispatchTime.now()
        let heldOut = try HeldOutLoss(design: validation.toCSC(), loss: SquaredError(targets: yValidation))
        let h = try problem.hypergradient(of: heldOut, at: solution, strategy: GraphNet.reducedStrategy())
        let hyperSeconds = seconds(since: hyperStart)
        // d/d log λ₂ only for λ₂ > 0 (λ₂ = 0 is held fixed).
        let (dLambda1, dLambda2) = (h.gradient[0], lambda2 > 0 ? h.gradient[1] : nil)
        var fd: (logLambda1: Double, logLambda2: Double?)?
        if check {
            let differences = try problem.finiteDifference(of: heldOut, at: solution, tolerance: 1e-14)
            fd = (differences[0] ?? .nan, differences[1])
        }
        if let output { try MatrixMarket.writeDense(solution.weights, rows: p, to: output) }
        let report = h.report
        if json {
            var object = JSONObject()
            object.set("model", "graphnet")
            object.set("data", data)
            object.set("featureGraph", featureGraph)
            object.set("trainRows", train.rows)
            object.set("validationRows", validation.rows)
            object.set("features", p)
            object.set("edges", graph.edgeCount)
            if !graph.notes.isEmpty { object.set("notes", graph.notes.joined(separator: "; ")) }
            object.set("lambda1", lambda1)
            object.set("lambda1Max", lambda1Max)
            object.set("lambda2", lambda2)
            object.set("lambda", lambda1)
            object.set("validationLoss", h.value)
            object.set("hypergradient", dLambda1)
            var gradient = JSONObject()
            gradient.set("logLambda1", dLambda1)
            if let d2 = dLambda2 { gradient.set("logLambda2", d2) } else { gradient.setNull("logLambda2") }
            object.set("gradient", gradient)
            object.set("supportSize", h.supportSize ?? 0)
            object.set("dualityGap", solution.dualityGap)
            object.set("innerIterations", solution.iterations)
            object.set("linearSolver", report.map { $0.method + ($0.preconditioner == "none" ? "" : "+" + $0.preconditioner) } ?? "none (empty support)")
            object.set("linearSolverReason", report?.reason ?? "the support is empty: the derivative is 0")
            object.set("adjointResidual", report?.relativeResidual ?? 0)
            var times = JSONObject()
            times.set("read", readSeconds)
            times.set("solve", solveSeconds)
            times.set("hypergradient", hyperSeconds)
            object.set("seconds", times)
            if let fd {
                object.set("finiteDifference", fd.logLambda1)
                var g = JSONObject()
                g.set("logLambda1", fd.logLambda1)
                if let d2 = fd.logLambda2 { g.set("logLambda2", d2) } else { g.setNull("logLambda2") }
                object.set("finiteDifferenceGradient", g)
                object.set("relativeDifference", abs(fd.logLambda1 - dLambda1) / max(abs(fd.logLambda1), 1e-300))
            }
            print(object.render())
            return
        }
        print("data: \(data): \(train.rows) training rows, \(validation.rows) validation rows, \(p) features; feature graph \(featureGraph): \(graph.edgeCount) edges")
        for note in graph.notes { print("note: \(note)") }
        print(String(format: "model: graphnet, λ₁ = %.6g (λ₁_max = %.6g), λ₂ = %.6g", lambda1, lambda1Max, lambda2))
        print(String(format: "inner solve: working-set CD on the augmented design, %d epochs, duality gap %.3e, %.3f s", solution.iterations, solution.dualityGap, solveSeconds))
        print(String(format: "validation loss (MSE): %.10g", h.value))
        print(String(format: "d loss / d log λ₁: %.10g", dLambda1 == 0 ? 0 : dLambda1))
        if let d2 = dLambda2 { print(String(format: "d loss / d log λ₂: %.10g", d2 == 0 ? 0 : d2)) }
        print("support size: \(h.supportSize ?? 0)")
        if let report { print("linear solver: \(report.method)\(report.preconditioner == "none" ? "" : " + " + report.preconditioner) — \(report.reason)") }
        print(String(format: "seconds: read %.3f, solve %.3f, hypergradient %.3f", readSeconds, solveSeconds, hyperSeconds))
        if let fd {
            print(String(format: "finite difference (central in log λ₁): %.10g, relative difference %.2e", fd.logLambda1,
                         abs(fd.logLambda1 - dLambda1) / max(abs(fd.logLambda1), 1e-300)))
            if let d2 = fd.logLambda2, let mine = dLambda2 {
                print(String(format: "finite difference (central in log λ₂): %.10g, relative difference %.2e", d2, abs(d2 - mine) / max(abs(d2), 1e-300)))
            }
        }
    }
}
