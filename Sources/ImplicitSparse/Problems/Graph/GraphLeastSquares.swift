import _Differentiation
import Dispatch
import Foundation

/// Laplacian-regularized least squares (semi-supervised regression on a graph):
///
///     x* = argmin ½ Σ_{i∈T} (x_i − y_i)² + (λ/2) xᵀLx + (ε/2)‖x‖²,
///
/// i.e. (M + λL + εI) x* = M y with M = diag(1_T). The system K(λ, ε) = M + εI + λL keeps L's
/// pattern for every (λ, ε), so a `LinearSolveStrategy` analyzes once (CHOLMOD's symbolic
/// analysis, or AMG's aggregation) and refactorizes numerically across λ; the automatic policy
/// chooses CHOLMOD or CG + AMG from the budgets. The hypergradient goes through `RootSolution`
/// with F(x, θ) = M(x − y) + εx + λLx, θ = (λ, ε), and the same strategy, so the adjoint
/// (∂F/∂x = K, symmetric) reuses the forward factor or hierarchy: one more solve.
///
/// K is singular exactly when a connected component holds no training node and ε = 0; that
/// is refused at construction (`GraphProblemError.nonUnique`), never answered with NaN.
public struct GraphLeastSquares {
    public let data: GraphData
    public var lambda: Double
    public var epsilon: Double
    /// The last system matrix built (per (λ, ε)): the forward solve, the implicit solution and
    /// the adjoint all hand the strategy this one matrix, so its factor or hierarchy is used
    /// as it is, not refactorized for an equal copy.
    let cache = SystemCache()

    public init(data: GraphData, lambda: Double, epsilon: Double = 0) throws {
        try checkRegularization(lambda: lambda, epsilon: epsilon)
        if epsilon == 0 {
            let (components, nodes) = data.componentsWithoutTraining()
            if components > 0 {
                throw GraphProblemError.nonUnique(model: "graph-ls", components: components, nodes: nodes,
                                                  detail: "any constant added there leaves the objective unchanged (M + λL is singular)")
            }
        }
        self.data = data
        self.lambda = lambda
        self.epsilon = epsilon
    }

    /// K = M + εI + λL (L's pattern), declared symmetric; the last one built is kept.
    public func system(lambda: Double, epsilon: Double) throws -> CSRMatrix {
        if let cached = cache.matrix, cache.key == (lambda, epsilon) { return cached }
        try checkRegularization(lambda: lambda, epsilon: epsilon)
        let k = try data.graph.laplacian(scaledBy: lambda, plusDiagonal: data.trainingMask.map { $0 + epsilon })
        cache.key = (lambda, epsilon)
        cache.matrix = k
        return k
    }

    /// The default linear system: the automatic policy (CHOLMOD within the memory and flop
    /// budgets, else Jacobi-CG or CG + AMG by their predicted cost), relative tolerance
    /// 10⁻¹⁰, told that one prepared state serves `expectedSolves` solves (2 with the
    /// adjoint), which favours a set-up that pays off over several right-hand sides.
    public static func defaultStrategy(expectedSolves: Int = 2) -> LinearSolveStrategy {
        let options = KrylovOptions(relativeTolerance: 1e-10, maxIterations: 10_000)
        var policy = AutomaticLinearSolver(options: options)
        policy.expectedSolves = expectedSolves
        policy.amgOptions.symmetricSweeps = false
        return LinearSolveStrategy(solver: policy, name: "graph system", options: options)
    }

    public struct Solution {
        public var x: [Double]
        /// ‖Kx − My‖ / ‖My‖.
        public var relativeResidual: Double
        public var report: LinearSolveReport?
        public var seconds: Double
    }

    /// Solves K x = M y with `strategy` (its prepared state is kept for the adjoint and for
    /// other λ).
    public func solve(strategy: LinearSolveStrategy = GraphLeastSquares.defaultStrategy()) throws -> Solution {
        let start = DispatchTime.now().uptimeNanoseconds
        let k = try system(lambda: lambda, epsilon: epsilon)
        let b = zip(data.trainingMask, data.signal).map { $0 * $1 }
        let x = try strategy.solve(k, b)
        // The strategy measured ‖Kx − b‖/‖b‖ with a true product already.
        return Solution(x: x, relativeResidual: strategy.lastReport?.relativeResidual ?? k.relativeResidual(x, b), report: strategy.lastReport,
                        seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// The implicit solution x*(θ), θ = (λ, ε), sharing `strategy` between the inner solve and
    /// the adjoint (the system matrix is cached per θ, so both see the same values identity).
    public func implicitSolution(strategy: LinearSolveStrategy) -> RootSolution<DifferentiableVector> {
        let laplacian = data.graph.laplacian, mask = DifferentiableVector(data.trainingMask)
        let y = DifferentiableVector(data.signal)
        let maskedTargets = zip(data.trainingMask, data.signal).map { $0 * $1 }
        let problem = self
        func matrix(_ theta: DifferentiableVector) throws -> CSRMatrix { try problem.system(lambda: theta[0], epsilon: theta[1]) }
        return RootSolution(
            condition: { x, theta in
                hadamard(mask, x - y) + scale(theta[1], x) + scale(theta[0], matvec(laplacian, x))
            },
            positiveDefiniteJacobian: true, strategy: strategy, dimension: data.graph.nodeCount,
            explicitJacobian: { _, theta in try matrix(theta) },
            solver: { theta in DifferentiableVector(try strategy.solve(try matrix(theta), maskedTargets)) })
    }

    /// d(validation MSE)/d log λ and d log ε at x* over `validation` nodes (the second
    /// component is 0 when ε = 0), as `hypergradient(of:at:strategy:)`.
    public func hypergradient(at x: [Double], validation: [Int], strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        try hypergradient(of: try NodeLoss.meanSquaredError(data, nodes: validation), x: x, strategy: strategy)
    }

    func hypergradient(of loss: NodeLoss, x: [Double], strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        guard x.count == data.graph.nodeCount else {
            throw SparseError.dimensionMismatch(operation: "GraphLeastSquares.hypergradient", expected: "x with \(data.graph.nodeCount) values", actual: "\(x.count)")
        }
        let (value, lossGradient) = try loss.valueAndGradient(x)
        let solution = implicitSolution(strategy: strategy)
        let theta = DifferentiableVector([lambda, epsilon]), point = DifferentiableVector(x)
        let residual = try solution.checkedSolution(point, theta).conditionResidual
        let g = try solution.adjoint(x: point, theta: theta, cotangent: DifferentiableVector(lossGradient)).dense(count: 2)
        return Hypergradient(value: value, gradient: [lambda * g[0], epsilon * g[1]], report: strategy.lastReport, conditionResidual: residual)
    }
}

extension GraphLeastSquares: HyperparameterProblem {
    public var hyperparameterNames: [String] { ["λ", "ε"] }
    public var hyperparameters: [Double] { [lambda, epsilon] }

    public func with(hyperparameters values: [Double]) throws -> GraphLeastSquares {
        guard values.count == 2 else { throw GraphProblemError.invalid("graph-ls has two hyperparameters (λ, ε); got \(values.count)") }
        return try GraphLeastSquares(data: data, lambda: values[0], epsilon: values[1])
    }

    public func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy { GraphLeastSquares.defaultStrategy(expectedSolves: expectedSolves) }

    /// One linear solve with `strategy` (its own tolerance; the warm start is not used). A
    /// `tolerance` below what the strategy reached (a finite-difference check asks 10⁻¹² of a
    /// Krylov method set to 10⁻¹⁰) is met by iterative refinement on the same prepared state:
    /// up to 3 corrections K d = b − Kx, each a solve of the strategy's own accuracy. A true
    /// relative residual still above it throws `GraphProblemError.notConverged`.
    public func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution {
        var solution = try solve(strategy: strategy)
        guard let tolerance else { return solution }
        let start = DispatchTime.now().uptimeNanoseconds
        let k = try system(lambda: lambda, epsilon: epsilon)
        let b = zip(data.trainingMask, data.signal).map { $0 * $1 }
        var iterations = solution.report?.iterations ?? 0
        let bNorm = Vector.norm(b)
        var r = [Double]()
        if !(solution.relativeResidual <= tolerance) {
            let kx = try k.multiply(solution.x)
            r = (0..<b.count).map { b[$0] - kx[$0] }
        }
        for _ in 0..<3 where !(solution.relativeResidual <= tolerance) {
            // One product per correction: the new residual serves both the test and the next step.
            let d = try strategy.solve(k, r)
            let x = (0..<b.count).map { solution.x[$0] + d[$0] }
            let kx = try k.multiply(x)
            let next = (0..<b.count).map { b[$0] - kx[$0] }
            let residual = bNorm > 0 ? Vector.norm(next) / bNorm : Vector.norm(next)
            iterations += strategy.lastReport?.iterations ?? 0
            guard residual < solution.relativeResidual else { break }   // at the floor: no gain
            solution.x = x
            solution.relativeResidual = residual
            r = next
        }
        solution.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        if !(solution.relativeResidual <= tolerance) {
            throw GraphProblemError.notConverged(model: "graph-ls", iterations: iterations, gap: solution.relativeResidual,
                                                 target: tolerance, certificate: "relative residual")
        }
        return solution
    }

    public func summary(of solution: Solution) -> SolveSummary {
        SolveSummary(iterations: solution.report?.iterations ?? 0, seconds: solution.seconds, certificate: solution.relativeResidual,
                     certificateName: "relative residual")
    }

    public func value(of heldOut: NodeLoss, at solution: Solution) throws -> Double { try heldOut.valueAndGradient(solution.x).value }

    /// Through `RootSolution` with the same strategy as the solve: the adjoint reuses its
    /// factor or hierarchy.
    public func hypergradient(of heldOut: NodeLoss, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        try hypergradient(of: heldOut, x: solution.x, strategy: strategy)
    }
}

/// The last system matrix built and its (λ, ε) (one per problem value, shared by its copies).
final class SystemCache: @unchecked Sendable {
    var key: (Double, Double) = (.nan, .nan)
    var matrix: CSRMatrix?
}
