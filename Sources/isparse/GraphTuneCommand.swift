import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse

/// The outer loop of the graph tuners: θ = (log λ, log ε) within bounds.
struct GraphTuneOptions: ParsableArguments {
    @Option(help: "Outer optimizer: lbfgs, gd or adam.")
    var optimizer: OuterMethod = .lbfgs

    @Option(name: .customLong("min-lambda"), help: "Lower bound of λ.")
    var minLambda: Double = 1e-4

    @Option(name: .customLong("max-lambda"), help: "Upper bound of λ.")
    var maxLambda: Double = 1e4

    @Option(name: .customLong("min-epsilon"), help: "Lower bound of ε.")
    var minEpsilon: Double = 1e-8

    @Option(name: .customLong("max-epsilon"), help: "Upper bound of ε.")
    var maxEpsilon: Double = 1e2

    @Option(name: .customLong("max-iter"), help: "Outer iterations at most.")
    var maxIter: Int = 20

    @Option(name: .customLong("outer-tol"), help: "Stop when an outer step lowers the criterion by less than this fraction.")
    var outerTol: Double = 1e-4

    @Option(name: .customLong("lambda-grid"), help: "Also evaluate N log-spaced values of λ over the bounds at the starting ε (before tuning).")
    var lambdaGrid: Int = 0

    @Option(help: "Write the SVG plot (validation MSE against the outer iteration) here.")
    var plot: String?

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        for (value, name) in [(minLambda, "--min-lambda"), (maxLambda, "--max-lambda"), (minEpsilon, "--min-epsilon"), (maxEpsilon, "--max-epsilon")] {
            if !(value > 0 && value.isFinite) { throw ValidationError("\(name) must be positive and finite") }
        }
        if minLambda > maxLambda || minEpsilon > maxEpsilon { throw ValidationError("each lower bound must not exceed its upper bound") }
        if !(0...10_000).contains(maxIter) { throw ValidationError("--max-iter must be between 0 and 10000") }
        if !(0...10_000).contains(lambdaGrid) { throw ValidationError("--lambda-grid must be between 0 and 10000") }
        if !(outerTol >= 0 && outerTol < 1) { throw ValidationError("--outer-tol must be in [0, 1)") }
    }

    var tuner: Tuner {
        var options = Tuner.defaultOptions
        options.maxIterations = maxIter
        options.relativeDecrease = outerTol
        let outer: any OuterOptimizer
        switch optimizer {
        case .gd: outer = GradientDescent()
        case .adam: outer = Adam()
        case .lbfgs: outer = BoundedLBFGS()
        }
        return Tuner(optimizer: outer, options: options)
    }

    var bounds: TuningBounds {
        TuningBounds(lower: [Foundation.log(minLambda), Foundation.log(minEpsilon)], upper: [Foundation.log(maxLambda), Foundation.log(maxEpsilon)])
    }

    /// `lambdaGrid` values of log λ from the upper bound down, at log ε.
    func grid(epsilon: Double) -> [[Double]] {
        (0..<lambdaGrid).map { k in
            [Foundation.log(maxLambda) - Foundation.log(maxLambda / minLambda) * Double(k) / Double(max(lambdaGrid - 1, 1)), Foundation.log(epsilon)]
        }
    }
}

/// `isparse tune graph-ls`: held-out tuning of (log λ, log ε) for Laplacian-regularized least
/// squares on a graph, with one symbolic analysis (or AMG set-up) for the whole run.
struct GraphLSTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-ls",
        abstract: "Tune λ and ε of Laplacian-regularized least squares on a graph by the hypergradient of the validation MSE.",
        discussion: """
        x* = argmin ½Σ_{i∈T}(x_i − y_i)² + (λ/2)xᵀLx + (ε/2)‖x‖²; θ = (log λ, log ε) from --lambda \
        and --epsilon (> 0), within [--min-lambda, --max-lambda] × [--min-epsilon, --max-epsilon]. \
        Every evaluation solves K(λ, ε) = M + εI + λL, whose pattern never changes: the linear \
        solver's analysis (CHOLMOD's symbolic factorization, AMG's aggregation) is made once and \
        refactorized numerically, and the adjoint reuses each factor. Same graph, signal and \
        node options as `hypergrad graph-ls`; optimizer, stopping, progress, Ctrl-C and --json as \
        `tune lasso`. --lambda-grid N also evaluates N values of λ at the starting ε.
        """)

    @OptionGroup var graphOptions: GraphOptions
    @OptionGroup var tuning: GraphTuneOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if !(graphOptions.epsilon > 0) { throw ValidationError("tune graph-ls searches log ε: give a starting --epsilon > 0") }
        if graphOptions.tol != nil && graphOptions.spec.kind == .automatic {
            throw ValidationError("--tol sets an iterative --linear-solver's tolerance; auto uses 1e-10")
        }
    }

    func run() throws {
        try runGraphTune(name: "graph-ls", graphOptions: graphOptions, tuning: tuning, threads: threadOptions, solves: 2 * (tuning.maxIter + 1),
                         tolerance: nil, vector: \.x) { data in
            try GraphLeastSquares(data: data, lambda: graphOptions.lambda, epsilon: graphOptions.epsilon)
        }
    }
}

/// `isparse tune graph-tv`: held-out tuning of (log λ, log ε) for graph total variation, each
/// evaluation an ADMM solve whose fused groups are certified and one fused-group adjoint.
struct GraphTVTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-tv",
        abstract: "Tune λ and ε of graph total variation by the hypergradient of the validation MSE.",
        discussion: """
        x* = argmin ½Σ_{i∈T}(x_i − y_i)² + λΣ_{(i,j)∈E} w_ij|x_i − x_j| + (ε/2)‖x‖²; θ = (log λ, log ε) \
        from --lambda and --epsilon (> 0), within the bounds. Every evaluation is an ADMM solve to \
        --tol (duality gap / ½‖y_T‖², default 1e-6), run on until the fused groups are certified \
        exact, and one solve on the fused groups. The loss is piecewise smooth in θ (a kink where \
        groups split or merge); the line search of the outer optimizer handles the kinks. Options \
        as `tune graph-ls`.
        """)

    @OptionGroup var graphOptions: GraphOptions
    @OptionGroup var tuning: GraphTuneOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if !(graphOptions.epsilon > 0) { throw ValidationError("tune graph-tv searches log ε: give a starting --epsilon > 0") }
    }

    func run() throws {
        try runGraphTune(name: "graph-tv", graphOptions: graphOptions, tuning: tuning, threads: threadOptions, solves: 200,
                         tolerance: graphOptions.tol ?? 1e-6, vector: \.x) { data in
            var problem = try GraphTotalVariation(data: data, lambda: graphOptions.lambda, epsilon: graphOptions.epsilon)
            problem.options.maxIterations = graphOptions.maxIterations
            return problem
        }
    }
}

/// One graph tuning run: parse → the model → `HeldOutCriterion` → `Tuner` → print.
func runGraphTune<Problem: HyperparameterProblem>(name: String, graphOptions: GraphOptions, tuning: GraphTuneOptions, threads: ThreadOptions,
                                                  solves: Int, tolerance: Double?, vector: (Problem.Solution) -> [Double],
                                                  makeProblem: (GraphData) throws -> Problem) throws where Problem.HeldOut == NodeLoss {
    signal(SIGINT) { _ in tuneInterrupted = 1 }
    threads.apply()
    try Files.checkOutput(tuning.plot, option: "--plot", inputs: [graphOptions.graph, graphOptions.signal, graphOptions.train, graphOptions.val])
    let outputs = try Files.Outputs([(graphOptions.output, "--output"), (tuning.plot, "--plot")])
    let start = DispatchTime.now()
    let loaded = try graphOptions.load(needValidation: true)
    let criterion = try HeldOutCriterion(problem: try makeProblem(loaded.data), heldOut: try NodeLoss.meanSquaredError(loaded.data, nodes: loaded.validation),
                                         tolerance: tolerance, strategy: graphOptions.strategy(solves: solves))
    let tuner = tuning.tuner
    let grid = tuning.grid(epsilon: graphOptions.epsilon)
    let report = try followHypergradient(criterion, tuner: tuner, from: criterion.start, bounds: tuning.bounds, grid: grid, quiet: tuning.quiet,
                                         stage: "", criterionName: "validation MSE") { step in
        String(format: "λ = %.4g, ε = %.3g", Foundation.exp(step.point[0]), Foundation.exp(step.point[1]))
    }
    let interrupted = tuneInterrupted != 0
    let best = report.best.isEmpty ? criterion.start : report.best
    let (lambda, epsilon) = (Foundation.exp(best[0]), Foundation.exp(best[1]))
    if let output = graphOptions.output {
        // The best point's solution (warm-started from the last evaluation where the model can).
        let x = vector(try criterion.solve(best).solution)
        try outputs.write(output) { try MatrixMarket.writeDense(x, rows: x.count, to: $0) }
    }
    let gridPoints = report.grid.map { (lambda: Foundation.exp($0.theta[0]), value: $0.value) }
    let gridBest = gridPoints.min { $0.value < $1.value }
    let tuneSeconds = report.seconds - report.gridSeconds
    if let plot = tuning.plot {
        let bestIteration = report.trajectory.enumerated().min { $0.element.value < $1.element.value }?.offset ?? 0
        let svg = TuningPlot.svgByIteration(title: "isparse tune \(name) — \(tuner.optimizer.name), \(report.trajectory.count - 1) outer iterations",
                                            criterion: "validation MSE", trajectory: report.outerSteps, best: (bestIteration, report.bestValue),
                                            reference: gridBest.map { (String(format: "best of the λ grid at ε = %.3g", graphOptions.epsilon), $0.value) })
        try outputs.write(plot) { try TextFile.write(svg, to: $0) }
    }
    let counts = criterion.linearAlgebra
    let method = criterion.strategy.lastReport?.method ?? "none"
    if graphOptions.json {
        var object = JSONObject()
        object.set("model", name)
        object.set("graph", loaded.source)
        object.set("nodes", loaded.data.graph.nodeCount)
        object.set("edges", loaded.data.graph.edgeCount)
        object.set("trainNodes", loaded.data.training.count)
        object.set("validationNodes", loaded.validation.count)
        object.set("optimizer", tuner.optimizer.name)
        object.set("criterion", "held-out")
        object.set("lambda", lambda)
        object.set("epsilon", epsilon)
        object.set("criterionValue", report.bestValue)
        object.set("validationLoss", report.bestValue)
        object.set("iterations", report.trajectory.count - 1)
        object.set("evaluations", report.evaluations)
        object.set("innerSolves", criterion.innerSolves)
        object.set("innerIterations", criterion.innerEpochs)
        object.set("stopReason", interrupted ? "interrupted" : report.stopReason)
        var algebra = JSONObject()
        algebra.set("prepared", counts.preparations)
        algebra.set("reused", counts.updates)
        algebra.set("solves", counts.solves)
        object.set("linearAlgebra", algebra)
        object.set("linearSolver", method)
        object.set("trajectory", trajectoryJSON(report) { step, o in
            o.set("lambda", Foundation.exp(step.theta[0]))
            o.set("epsilon", Foundation.exp(step.theta[1]))
        })
        setGrid(&object, gridPoints, seconds: report.gridSeconds)
        var times = JSONObject()
        times.set("total", seconds(since: start))
        times.set("tuning", tuneSeconds)
        times.set("inner", criterion.solveSeconds)
        times.set("hypergradient", criterion.hypergradientSeconds)
        object.set("seconds", times)
        print(object.render())
    } else {
        let g = loaded.data.graph
        print("graph: \(loaded.source): \(g.nodeCount) nodes, \(g.edgeCount) edges; \(loaded.data.training.count) training nodes, \(loaded.validation.count) validation nodes")
        for note in loaded.notes { print("note: \(note)") }
        print(String(format: "best: λ = %.6g, ε = %.6g, validation MSE %.10g", lambda, epsilon, report.bestValue))
        print("outer: \(tuner.optimizer.name), \(report.trajectory.count - 1) iterations, \(report.evaluations) evaluations — \(interrupted ? "interrupted" : report.stopReason)")
        print(String(format: "solves: %d (%d inner iterations, %@); seconds: tuning %.2f (solves %.2f, hypergradients %.2f)", criterion.innerSolves,
                     criterion.innerEpochs, method, tuneSeconds, criterion.solveSeconds, criterion.hypergradientSeconds))
        print("linear algebra: \(counts.preparations) preparation(s) (analysis or hierarchy), \(counts.updates) reuses with numeric refactorization, \(counts.solves) solves")
        if let gridBest {
            print(String(format: "λ grid of %d at ε = %.3g: best λ = %.6g, validation MSE %.10g (tuned − grid best: %+.2e relative), %.2f s",
                         gridPoints.count, graphOptions.epsilon, gridBest.lambda, gridBest.value, (report.bestValue - gridBest.value) / gridBest.value,
                         report.gridSeconds))
        }
        if let plot = tuning.plot { print("plot: \(plot)") }
    }
    if interrupted {
        Files.finishStandardOutput()
        Foundation.exit(130)
    }
}
