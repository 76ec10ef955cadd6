import ArgumentParser
import ImplicitSparse
import Preconditioners
import Sparse

/// The outer optimizers of the `tune` commands.
public enum OuterMethod: String, ExpressibleByArgument, CaseIterable, Sendable { case gd, adam, lbfgs }

/// The outer loop's options of every `tune` command (isparse's and isparse-mpi's): optimizer, start, bounds, stops, grid.
public struct OuterLoopOptions: ParsableArguments {
    public init() {}

    @Option(help: "Outer optimizer: lbfgs, gd or adam.")
    public var optimizer: OuterMethod = .lbfgs

    @Option(name: [.customLong("init-ratio"), .customLong("start-ratio")], help: "Start at λ_max / R.")
    public var initRatio: Double = 10

    @Option(name: .customLong("min-ratio"), help: "Lower bound λ_max / R.")
    public var minRatio: Double = 1e4

    @Option(name: .customLong("max-iter"), help: "Outer iterations at most.")
    public var maxIter: Int = 20

    @Option(name: .customLong("outer-tol"), help: "Stop when an outer step lowers the criterion by less than this fraction.")
    public var outerTol: Double = 1e-4

    @Option(help: "Also evaluate a grid of N values of λ (log-spaced over the bounds) for the plot and the comparison.")
    public var grid: Int = 0

    public func validate() throws {
        if !(initRatio >= 1 && initRatio.isFinite) { throw ValidationError("--init-ratio must be ≥ 1") }
        if !(minRatio > 1 && minRatio.isFinite) { throw ValidationError("--min-ratio must be above 1") }
        if initRatio > minRatio { throw ValidationError("--init-ratio must not exceed --min-ratio") }
        if !(0...10_000).contains(maxIter) { throw ValidationError("--max-iter must be between 0 and 10000") }
        if !(0...10_000).contains(grid) { throw ValidationError("--grid must be between 0 and 10000") }
        if !(outerTol >= 0 && outerTol < 1) { throw ValidationError("--outer-tol must be in [0, 1)") }
    }

    /// The library's options for these flags (`Tuner.defaultOptions` with --max-iter and --outer-tol).
    public var outerOptions: OuterOptions {
        var options = Tuner.defaultOptions
        options.maxIterations = maxIter
        options.relativeDecrease = outerTol
        return options
    }

    public var outerOptimizer: any OuterOptimizer {
        switch optimizer {
        case .gd: return GradientDescent()
        case .adam: return Adam()
        case .lbfgs: return BoundedLBFGS()
        }
    }
}

/// The trajectory of a report in the JSON of the tune commands: per step the hyperparameters
/// (`describe`), the criterion, the hypergradient, the inner iterations and the seconds.
public func trajectoryJSON(_ report: Tuner.Report, describe: (Tuner.Report.Step, inout JSONObject) -> Void) -> [JSONObject] {
    report.trajectory.map { step in
        var o = JSONObject()
        describe(step, &o)
        o.set("validationLoss", step.value)
        if step.gradient.count <= 2 {
            if step.gradient.count == 1 { o.set("hypergradient", step.gradient[0]) } else { o.set("hypergradient", step.gradient) }
        } else {
            o.set("hypergradientNorm", Vector.norm(step.gradient))
        }
        o.set("innerIterations", step.innerIterations)
        o.set("seconds", step.seconds)
        return o
    }
}

/// What the adjoints' linear algebra did in a tuning run (`adjointLinearAlgebra` in the JSON of
/// the tune commands): preparations, reuses of a kept one, solves, and solves made outside the
/// strategy's own solver (forward mode on a singular support).
public func linearAlgebraJSON(_ counts: LinearSolveStrategy.Counts) -> JSONObject {
    var algebra = JSONObject()
    algebra.set("prepared", counts.preparations)
    algebra.set("reused", counts.updates)
    algebra.set("solves", counts.solves)
    algebra.set("adopted", counts.adopted)
    return algebra
}
