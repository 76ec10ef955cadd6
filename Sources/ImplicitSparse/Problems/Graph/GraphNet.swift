import _Differentiation
import Dispatch
import Foundation

/// Graph-guided sparse regression (GraphNet):
///
///     min_w (1/2n)‖y − Xw‖² + λ₁‖w‖₁ + (λ₂/2) wᵀL_F w,
///
/// with L_F the Laplacian of a graph over the features (neighbouring features get similar
/// weights). **Solve**: the quadratic graph term is a least-squares term, so the problem is a
/// lasso on the augmented design X̃ = [X; √(nλ₂) W^½ D_F] (one extra row per feature edge,
/// two nonzeros each) and ỹ = [y; 0]: the working-set coordinate descent and its duality gap
/// apply unchanged (λ scaled by n/(n + |E_F|) for the row count of X̃). **Derivative**: the
/// proximal-gradient fixed point w = prox_{λ₁‖·‖₁}(w − ∇f(w)), f the smooth part, θ = (λ₁, λ₂),
/// through `ProximalFixedPoint`: the support-reduced system is X_SᵀX_S/n + λ₂(L_F)_SS — size
/// |S|, formed sparse and solved by the given strategy (CHOLMOD or CG within the automatic
/// policy's budgets).
public struct GraphNet {
    public let design: CSRMatrix
    public let targets: [Double]
    public let featureGraph: WeightedGraph
    public var lambda1: Double
    public var lambda2: Double

    public init(design: CSRMatrix, targets: [Double], featureGraph: WeightedGraph, lambda1: Double, lambda2: Double) throws {
        guard design.rows == targets.count, design.rows > 0 else {
            throw GraphProblemError.invalid("graphnet: \(design.rows) rows and \(targets.count) targets")
        }
        guard featureGraph.nodeCount == design.columns else {
            throw GraphProblemError.invalid("graphnet: the feature graph has \(featureGraph.nodeCount) nodes; the data has \(design.columns) features")
        }
        if let bad = targets.firstIndex(where: { !$0.isFinite }) { throw GraphProblemError.invalid("graphnet: target \(bad + 1) is \(targets[bad])") }
        guard lambda1 > 0, lambda1.isFinite else { throw GraphProblemError.invalid("λ₁ must be positive and finite, got \(lambda1)") }
        guard lambda2 >= 0, lambda2.isFinite else { throw GraphProblemError.invalid("λ₂ must be nonnegative and finite, got \(lambda2)") }
        self.design = design
        self.targets = targets
        self.featureGraph = featureGraph
        self.lambda1 = lambda1
        self.lambda2 = lambda2
    }

    /// ‖Xᵀy‖∞/n: the smallest λ₁ with w* = 0 (for every λ₂).
    public static func lambda1Max(design: CSRMatrix, targets: [Double]) throws -> Double {
        let c = try design.multiplyTransposed(targets)
        return c.reduce(0) { max($0, abs($1)) } / Double(design.rows)
    }

    /// X̃ = [X; √(nλ₂ w_e)(e_i − e_j) per feature edge].
    public func augmentedDesign() throws -> CSRMatrix {
        let n = design.rows, edges = featureGraph.edgeCount
        guard lambda2 > 0, edges > 0 else { return design }
        var pointers = design.rowPointers, indices = design.columnIndices, values = design.values
        pointers.reserveCapacity(n + edges + 1)
        indices.reserveCapacity(indices.count + 2 * edges)
        values.reserveCapacity(values.count + 2 * edges)
        let scale = (Double(n) * lambda2)
        featureGraph.forEachEdge { _, i, j, w in
            let s = (scale * w).squareRoot()
            indices.append(Int32(i)); values.append(s)
            indices.append(Int32(j)); values.append(-s)
            pointers.append(indices.count)
        }
        return try CSRMatrix(rows: n + edges, columns: design.columns, rowPointers: pointers, columnIndices: indices, values: values)
    }

    public struct Solution {
        public var weights: [Double]
        /// The duality gap in this objective's scale.
        public var dualityGap: Double
        public var targetGap: Double
        public var iterations: Int
        public var supportSize: Int
        public var objective: Double
        public var seconds: Double
    }

    /// P(w).
    public func objective(_ w: [Double]) throws -> Double {
        let r = try design.multiply(w)
        var fit = 0.0
        for i in 0..<r.count { fit += (targets[i] - r[i]) * (targets[i] - r[i]) }
        let lw = try featureGraph.laplacian.multiply(w)
        return fit / (2 * Double(design.rows)) + lambda1 * w.reduce(0) { $0 + abs($1) } + 0.5 * lambda2 * zip(w, lw).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Solves to a duality gap ≤ tolerance·‖y‖²/(2n) (working-set coordinate descent on X̃).
    public func solve(tolerance: Double = 1e-10) throws -> Solution {
        let start = DispatchTime.now().uptimeNanoseconds
        let augmented = try augmentedDesign()
        let rows = Double(augmented.rows), n = Double(design.rows)
        var y = targets
        y.append(contentsOf: [Double](repeating: 0, count: augmented.rows - design.rows))
        let lasso = try RegularizedLeastSquares(design: augmented, targets: y, penalty: .lasso, lambda: lambda1 * n / rows)
        let s = try lasso.solve(tolerance: tolerance)
        let gap = s.certificate * rows / n
        let target = tolerance * targets.reduce(0) { $0 + $1 * $1 } / (2 * n)
        return Solution(weights: s.weights, dualityGap: gap, targetGap: target, iterations: s.iterations,
                        supportSize: s.weights.filter { $0 != 0 }.count, objective: try objective(s.weights),
                        seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// d(validation MSE)/d log λ₁ and d log λ₂ at w* (the second component is 0 when λ₂ = 0),
    /// as `hypergradient(of:at:strategy:)` with the validation rows' mean squared error.
    public func hypergradient(at w: [Double], validation: CSRMatrix, validationTargets: [Double],
                              strategy: LinearSolveStrategy = GraphNet.reducedStrategy()) throws -> Hypergradient<[Double]> {
        guard validation.columns == design.columns, validation.rows == validationTargets.count, validation.rows > 0 else {
            throw GraphProblemError.invalid("graphnet: validation data \(validation.rows) × \(validation.columns) with \(validationTargets.count) targets; training has \(design.columns) features")
        }
        let loss = try HeldOutLoss(design: validation.toCSC(), loss: SquaredError(targets: validationTargets))
        return try hypergradient(of: loss, weights: w, strategy: strategy)
    }

    /// The automatic policy at a relative tolerance of 10⁻¹² on the support's reduced system.
    public static func reducedStrategy() -> LinearSolveStrategy {
        LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 10_000), name: "graphnet reduced system")
    }

    /// Through `ProximalFixedPoint` with the ℓ1 prox: the support-reduced system
    /// X_SᵀX_S/n + λ₂(L_F)_SS, sparse, on `strategy`.
    func hypergradient(of heldOut: any LinearModelLoss, weights w: [Double], strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        guard w.count == design.columns else {
            throw SparseError.dimensionMismatch(operation: "GraphNet.hypergradient", expected: "\(design.columns) weights", actual: "\(w.count)")
        }
        let criterion = try heldOut.valueAndGradient(w, intercept: 0)
        let x = design, y = DifferentiableVector(targets), laplacian = featureGraph.laplacian
        let inverseRows = 1 / Double(design.rows)
        let csc = design.toCSC()
        let problem = self
        let fixedPoint = try ProximalFixedPoint<DifferentiableVector>(
            gradient: { w, theta in
                scale(inverseRows, matvecTransposed(x, matvec(x, w) - y)) + scale(theta[1], matvec(laplacian, w))
            },
            prox: { v, theta in proxLasso(v, threshold: theta[0]) },
            step: 1, strategy: strategy,
            reducedSystem: { support, shift, rhs, strategy in
                try problem.reducedMatrix(support, shift: shift, csc: csc).map { .solution(try strategy.solve($0, rhs)) } ?? .useOperator
            })
        let (gradient, reduction) = try fixedPoint.adjoint(x: DifferentiableVector(w), theta: DifferentiableVector([lambda1, lambda2]),
                                                           cotangent: DifferentiableVector(criterion.weights))
        let g = gradient.dense(count: 2)
        var result = Hypergradient(value: criterion.value, gradient: [lambda1 * g[0], lambda2 * g[1]], report: reduction.report,
                                   conditionResidual: reduction.fixedPointResidual)
        result.supportSize = reduction.support.count
        return result
    }

    /// X_SᵀX_S/n + λ₂(L_F)_SS + diag(shift), sparse and declared symmetric.
    func reducedMatrix(_ support: [Int], shift: [Double], csc: CSCMatrix) throws -> CSRMatrix? {
        let columns = try csc.selectingColumns(support)
        var gram = try columns.gram().scaled(by: 1 / Double(design.rows))
        if lambda2 > 0 {
            let block = try featureGraph.laplacian.selectingRows(support).selectingColumns(support)
            gram = try gram.adding(block, alpha: 1, beta: lambda2)
        }
        if shift.contains(where: { $0 != 0 }) { gram = try gram.adding(try CSRMatrix.diagonal(shift)) }
        return gram.declaringSymmetric()
    }
}

extension GraphNet: HyperparameterProblem {
    public typealias HeldOut = any LinearModelLoss
    public var hyperparameterNames: [String] { ["λ₁", "λ₂"] }
    public var hyperparameters: [Double] { [lambda1, lambda2] }

    public func with(hyperparameters values: [Double]) throws -> GraphNet {
        guard values.count == 2 else { throw GraphProblemError.invalid("graphnet has two hyperparameters (λ₁, λ₂); got \(values.count)") }
        return try GraphNet(design: design, targets: targets, featureGraph: featureGraph, lambda1: values[0], lambda2: values[1])
    }

    public func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy { GraphNet.reducedStrategy() }

    /// Working-set coordinate descent on the augmented lasso to a duality gap ≤
    /// `tolerance`·‖y‖²/(2n) (default 10⁻¹⁰); cold start.
    public func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution {
        try solve(tolerance: tolerance ?? 1e-10)
    }

    public func summary(of solution: Solution) -> SolveSummary {
        SolveSummary(iterations: solution.iterations, seconds: solution.seconds, certificate: solution.dualityGap,
                     certificateName: "duality gap", supportSize: solution.supportSize)
    }

    public func value(of heldOut: any LinearModelLoss, at solution: Solution) throws -> Double {
        try heldOut.valueAndGradient(solution.weights, intercept: 0).value
    }

    public func hypergradient(of heldOut: any LinearModelLoss, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        try hypergradient(of: heldOut, weights: solution.weights, strategy: strategy)
    }
}
