import ArgumentParser
import Foundation
import ImplicitSparse

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

    @Option(name: .customLong("lambda-grid"), help: "Also evaluate N log-spaced values of λ over the bounds at the starting ε.")
    var lambdaGrid: Int = 0

    @Option(help: "Write the SVG plot (validation MSE against the outer iteration) here.")
    var plot: String?

    @Flag(help: "No progress output.")
    var quiet = false

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if !(graphOptions.epsilon > 0) { throw ValidationError("tune graph-ls searches log ε: give a starting --epsilon > 0") }
        for (value, name) in [(minLambda, "--min-lambda"), (maxLambda, "--max-lambda"), (minEpsilon, "--min-epsilon"), (maxEpsilon, "--max-epsilon")] {
            if !(value > 0 && value.isFinite) { throw ValidationError("\(name) must be positive and finite") }
        }
        if minLambda > maxLambda || minEpsilon > maxEpsilon { throw ValidationError("each lower bound must not exceed its upper bound") }
        if !(0...10_000).contains(maxIter) { throw ValidationError("--max-iter must be between 0 and 10000") }
        if !(0...10_000).contains(lambdaGrid) { throw ValidationError("--lambda-grid must be between 0 and 10000") }
        if !(outerTol >= 0 && outerTol < 1) { throw ValidationError("--outer-tol must be in [0, 1)") }
        if graphOptions.tol != nil && graphOptions.linearSolver == "auto" {
            throw ValidationError("--tol sets an iterative --linear-solver's tolerance; auto uses 1e-10")
        }
    }

    func run() throws {
        signal(SIGINT) { _ in tuneInterrupted = 1 }
        threadOptions.apply()
        try Files.checkOutput(plot, option: "--plot", inputs: [graphOptions.graph, graphOptions.signal, graphOptions.train, graphOptions.val])
        let start = DispatchTime.now()
        let loaded = try graphOptions.load(needValidation: true)
        let criterion = try HeldOutGraphLeastSquares(data: loaded.data, validation: loaded.validation, lambdaMax: maxLambda,
                                                     initialEpsilon: graphOptions.epsilon, strategy: graphOptions.strategy(solves: 2 * (maxIter + 1)))
        let outer: any OuterOptimizer
        switch optimizer {
        case .gd: outer = GradientDescent()
        case .adam: outer = Adam()
        case .lbfgs: outer = BoundedLBFGS()
        }
        var outerOptions = OuterOptions(maxIterations: maxIter)
        outerOptions.relativeDecrease = outerTol
        let bounds = TuningBounds(lower: [Foundation.log(minLambda), Foundation.log(minEpsilon)],
                                  upper: [Foundation.log(maxLambda), Foundation.log(maxEpsilon)])
        let tuneStart = DispatchTime.now()
        let (result, perStep) = try followHypergradient(
            criterion, optimizer: outer, from: [Foundation.log(graphOptions.lambda), Foundation.log(graphOptions.epsilon)], bounds: bounds,
            options: outerOptions, quiet: quiet, stage: "", criterionName: "validation MSE", started: tuneStart) { step in
            String(format: "λ = %.4g, ε = %.3g", Foundation.exp(step.point[0]), Foundation.exp(step.point[1]))
        }
        let tuneSeconds = seconds(since: tuneStart)
        let interrupted = tuneInterrupted != 0
        var gridPoints: [(lambda: Double, value: Double)] = []
        let gridStart = DispatchTime.now()
        if lambdaGrid > 0 && !interrupted {
            for k in 0..<lambdaGrid {
                let lambda = Foundation.exp(Foundation.log(maxLambda) - Foundation.log(maxLambda / minLambda) * Double(k) / Double(max(lambdaGrid - 1, 1)))
                gridPoints.append((lambda, try criterion.value(at: criterion.theta(lambda: lambda))))
                if tuneInterrupted != 0 { break }
            }
        }
        let gridSeconds = seconds(since: gridStart)
        let best = result.best.isEmpty ? [Foundation.log(graphOptions.lambda), Foundation.log(graphOptions.epsilon)] : result.best
        let (lambda, epsilon) = (Foundation.exp(best[0]), Foundation.exp(best[1]))
        if let output = graphOptions.output {
            let x = try GraphLeastSquares(data: loaded.data, lambda: lambda, epsilon: epsilon).solve(strategy: criterion.strategy).x
            try MatrixMarket.writeDense(x, rows: x.count, to: output)
        }
        let gridBest = gridPoints.min { $0.value < $1.value }
        if let plot {
            let bestIteration = result.trajectory.enumerated().min { $0.element.value < $1.element.value }?.offset ?? 0
            let svg = TuningPlot.svgByIteration(title: "isparse tune graph-ls — \(outer.name), \(result.trajectory.count - 1) outer iterations",
                                                criterion: "validation MSE", trajectory: result.trajectory, best: (bestIteration, result.bestValue),
                                                reference: gridBest.map { (String(format: "best of the λ grid at ε = %.3g", graphOptions.epsilon), $0.value) })
            try TextFile.write(svg, to: plot)
        }
        let counts = criterion.linearAlgebra
        if graphOptions.json {
            var object = JSONObject()
            object.set("model", "graph-ls")
            object.set("graph", loaded.source)
            object.set("nodes", loaded.data.graph.nodeCount)
            object.set("edges", loaded.data.graph.edgeCount)
            object.set("trainNodes", loaded.data.training.count)
            object.set("validationNodes", loaded.validation.count)
            object.set("optimizer", outer.name)
            object.set("criterion", "held-out")
            object.set("lambda", lambda)
            object.set("epsilon", epsilon)
            object.set("criterionValue", result.bestValue)
            object.set("validationLoss", result.bestValue)
            object.set("iterations", result.trajectory.count - 1)
            object.set("evaluations", result.evaluations)
            object.set("innerSolves", criterion.innerSolves)
            object.set("stopReason", interrupted ? "interrupted" : result.stopReason)
            var algebra = JSONObject()
            algebra.set("prepared", counts.preparations)
            algebra.set("reused", counts.updates)
            algebra.set("solves", counts.solves)
            object.set("linearAlgebra", algebra)
            object.set("linearSolver", criterion.strategy.lastReport?.method ?? "none")
            object.set("trajectory", zip(result.trajectory, perStep + Array(repeating: (0, 0), count: max(0, result.trajectory.count - perStep.count))).map { step, spent in
                var o = JSONObject()
                o.set("lambda", Foundation.exp(step.point[0]))
                o.set("epsilon", Foundation.exp(step.point[1]))
                o.set("validationLoss", step.value)
                o.set("hypergradient", step.gradient)
                o.set("innerIterations", spent.epochs)
                o.set("seconds", spent.seconds)
                return o
            })
            setGrid(&object, gridPoints, seconds: gridSeconds)
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
            print(String(format: "best: λ = %.6g, ε = %.6g, validation MSE %.10g", lambda, epsilon, result.bestValue))
            print("outer: \(outer.name), \(result.trajectory.count - 1) iterations, \(result.evaluations) evaluations — \(interrupted ? "interrupted" : result.stopReason)")
            print(String(format: "solves: %d (%@); seconds: tuning %.2f (solves %.2f, hypergradients %.2f)", criterion.innerSolves,
                         criterion.strategy.lastReport?.method ?? "none", tuneSeconds, criterion.solveSeconds, criterion.hypergradientSeconds))
            print("linear algebra: \(counts.preparations) preparation(s) (analysis or hierarchy), \(counts.updates) reuses with numeric refactorization, \(counts.solves) solves")
            if let gridBest {
                print(String(format: "λ grid of %d at ε = %.3g: best λ = %.6g, validation MSE %.10g (tuned − grid best: %+.2e relative), %.2f s",
                             lambdaGrid, graphOptions.epsilon, gridBest.lambda, gridBest.value, (result.bestValue - gridBest.value) / gridBest.value, gridSeconds))
            }
            if let plot { print("plot: \(plot)") }
        }
        if interrupted {
            Files.finishStandardOutput()
            Foundation.exit(130)
        }
    }
}
