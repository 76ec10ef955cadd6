import _Differentiation
import Dispatch
import Foundation

/// Graph total variation (the graph fused lasso):
///
///     x* = argmin ½ Σ_{i∈T} (x_i − y_i)² + λ Σ_{(i,j)∈E} w_ij |x_i − x_j| + (ε/2)‖x‖².
///
/// **Solver.** ADMM on the split z = Dx (D the incidence matrix) with the augmented term
/// weighted by the edge weights, (ρ/2) Σ_e w_e ((Dx)_e − z_e + u_e)², so the x-step solves
/// (A + ρL) x = My + ρDᵀW(z − u), A = M + εI — the very system of Laplacian-regularized least
/// squares, factorized once (CHOLMOD, or CG + AMG past the budgets, chosen by the automatic
/// policy) and refactorized numerically only when ρ changes (residual balancing, at most
/// `maxPenaltyUpdates` times); the z-step is a soft threshold at λ/ρ. Chosen over a dual
/// projected gradient because A may be badly scaled (ε small on unobserved nodes) while A + ρL
/// is not, and over parametric max-flow for its simplicity and its reuse of the sparse
/// factorization the toolkit already has.
///
/// **Certificate.** ν = ρWu is always dual feasible (|ν_e| ≤ λw_e after the z-step), so the
/// duality gap P(x) − D(ν), D(ν) = Σ_i ½m_i y_i² − (m_i y_i − (Dᵀν)_i)²/(2A_ii), is exact; the
/// solve stops when it is ≤ tol·½‖y_T‖². The dual needs A ≻ 0: every node observed or ε > 0
/// (with unobserved nodes and ε = 0 the fit between observed neighbours is not unique, so
/// that case is refused).
///
/// **Polishing.** Every check, the groups are read off z (components of the edges with
/// z_e = 0, which the soft threshold makes exact zeros) and the boundary signs off sign(z_e);
/// on each group G the closed form c_G = (Σ_{G∩T} y − λb_G)/(|G∩T| + ε|G|) gives an exactly
/// fused candidate. It is kept when its signs are consistent and its objective is not worse.
/// The fused groups of the returned x are then exact, which the derivative needs.
///
/// **Derivative.** Through `ProximalFixedPoint` with the `.fusedGroups(edges:)` pattern and
/// the prox `fusedGroupProx` of the solution's partition: the implicit layer solves the
/// reduced system with one unknown per group (EᵀHE z = Eᵀg, H = A) and pulls back through
/// the prox's λ-derivative. A group without training node has |G∩T| = 0 and is held by ε
/// alone (ε > 0 is required there).
public struct GraphTotalVariation {
    public let data: GraphData
    public var lambda: Double
    public var epsilon: Double
    /// The options of the `HyperparameterProblem` solves (`solve(warmStart:tolerance:strategy:)`),
    /// which always certify the fused groups (`exactGroups`): the hypergradient is that of the
    /// groups.
    public var options = Options()

    public struct Options: Sendable {
        /// Duality gap ≤ tolerance·½‖y_T‖².
        public var tolerance = 1e-6
        public var maxIterations = 20_000
        /// Gap, polish and penalty checks every this many iterations.
        public var checkInterval = 10
        /// ρ at the start; nil chooses λ·(mean weighted degree)^(-1/2)·… see `initialPenalty`.
        public var penalty: Double?
        public var maxPenaltyUpdates = 30
        /// Over-relaxation α ∈ (0, 2) of the z-step (Boyd et al., §3.4.3; 1 is plain ADMM).
        public var relaxation = 1.6
        /// Run on until the polished candidate's fused groups are certified exact
        /// (`certify`): the derivative is that of the groups, which a gap tolerance pins down
        /// only loosely on large graphs (an 80 × 80 grid at tol 10⁻⁶: 3.7 % off).
        public var exactGroups = false
        public init() {}
    }

    public init(data: GraphData, lambda: Double, epsilon: Double = 0) throws {
        try checkRegularization(lambda: lambda, epsilon: epsilon)
        if epsilon == 0 && data.training.count < data.graph.nodeCount {
            throw GraphProblemError.needsRidge(unobservedNodes: data.graph.nodeCount - data.training.count)
        }
        self.data = data
        self.lambda = lambda
        self.epsilon = epsilon
    }

    public struct Solution {
        public var x: [Double]
        public var dualityGap: Double
        public var targetGap: Double
        public var iterations: Int
        public var objective: Double
        /// True when x is the polished, exactly fused candidate.
        public var polished: Bool
        /// True when a feasible dual point closes the gap to rounding for x's fused groups
        /// (`Options.exactGroups`): the groups are those of the exact solution.
        public var groupsCertified: Bool
        /// Fused groups of x (components of edges with equal ends).
        public var groups: Int
        public var penalty: Double
        public var penaltyUpdates: Int
        public var report: LinearSolveReport?
        public var seconds: Double
        /// The partition of x and its boundary signs (set when polished).
        public var partition: FusedPartition?
    }

    /// P(x).
    public func objective(_ x: [Double]) -> Double {
        var fit = 0.0
        for i in 0..<x.count {
            let m = data.trainingMask[i]
            fit += 0.5 * m * (x[i] - data.signal[i]) * (x[i] - data.signal[i]) + 0.5 * epsilon * x[i] * x[i]
        }
        var tv = 0.0
        data.graph.forEachEdge { _, i, j, w in tv += w * abs(x[i] - x[j]) }
        return fit + lambda * tv
    }

    public func solve(options: Options = Options(), strategy: LinearSolveStrategy = GraphLeastSquares.defaultStrategy(expectedSolves: 200),
                      progress: ((Int, Double) -> Void)? = nil) throws -> Solution {
        let start = DispatchTime.now().uptimeNanoseconds
        guard options.relaxation > 0, options.relaxation < 2, options.tolerance > 0, options.checkInterval >= 1,
              options.maxIterations >= 1 else {
            throw GraphProblemError.invalid("graph-tv options: relaxation in (0, 2), tolerance > 0, checkInterval ≥ 1, maxIterations ≥ 1")
        }
        let graph = data.graph, n = graph.nodeCount, edges = graph.edgeCount
        let m = data.trainingMask, y = data.signal
        let a = m.map { $0 + epsilon }
        let my = zip(m, y).map { $0 * $1 }
        let weights = graph.edgeWeights, lower = graph.lowerEdgeNumbers()
        let target = options.tolerance * data.trainingEnergy
        var rho = options.penalty ?? lambda
        var k = try graph.laplacian(scaledBy: rho, plusDiagonal: a)
        var x = my, dx = [Double](repeating: 0, count: edges)
        var z = [Double](repeating: 0, count: edges), u = [Double](repeating: 0, count: edges)
        var zOld = z, scratch = [Double](repeating: 0, count: edges), rhs = [Double](repeating: 0, count: n)
        var s = [Double](repeating: 0, count: n)
        graph.incidence(x, into: &dx)
        var best: (x: [Double], objective: Double, polished: Bool, partition: FusedPartition?) = (x, objective(x), false, nil)
        var gap = Double.infinity, updates = 0, iteration = 0, certified = false
        var lastAttempt: [Int32] = []
        while iteration < options.maxIterations {
            iteration += 1
            // x-step: (A + ρL) x = My + ρDᵀW(z − u).
            for e in 0..<edges { scratch[e] = weights[e] * (z[e] - u[e]) }
            graph.incidenceTransposed(scratch, lowerEdge: lower, into: &rhs)
            for i in 0..<n { rhs[i] = my[i] + rho * rhs[i] }
            x = try strategy.solve(k, rhs)
            graph.incidence(x, into: &dx)
            // z-step (soft threshold at λ/ρ, on the over-relaxed αDx + (1 − α)z) and u-step.
            swap(&z, &zOld)
            let threshold = lambda / rho, alpha = options.relaxation
            for e in 0..<edges {
                let v = alpha * dx[e] + (1 - alpha) * zOld[e] + u[e]
                z[e] = v > threshold ? v - threshold : (v < -threshold ? v + threshold : 0)
                u[e] = v - z[e]
            }
            guard iteration % options.checkInterval == 0 || iteration == options.maxIterations else { continue }
            // Dual point ν = ρWu and its value.
            for e in 0..<edges { scratch[e] = rho * weights[e] * u[e] }
            graph.incidenceTransposed(scratch, lowerEdge: lower, into: &s)
            let dual = dualValue(divergence: s)
            let primal = objective(x)
            if primal < best.objective || !best.polished { best = (x, primal, false, nil) }
            // The exactly fused candidate (fused edges: |z_e| ≤ δ, for δ up a ladder — slowly
            // converging edges, such as an unobserved node held by a small ε, reach z_e = 0
            // late): kept when the same dual point certifies it, P(candidate) − D(ν) ≤ the
            // target. Tried only once the iterate itself is within 10× the target (before
            // that the dual point cannot certify anything).
            let scale = z.reduce(0) { max($0, abs($1)) }
            if primal - dual <= 10 * target {
                for delta in [0, 1e-10, 1e-6].map({ $0 * scale }) {
                    guard let (candidate, partition) = polish(z: z, threshold: delta) else { continue }
                    let value = objective(candidate)
                    guard value - dual <= target else { continue }
                    best = (candidate, value, true, partition)
                    // Exactness: once the gap is met, each new partition is offered to the
                    // certificate (a maximum flow that closes the gap to rounding).
                    if options.exactGroups, partition.group != lastAttempt, let exactGap = certify(candidate, partition: partition, lower: lower) {
                        certified = true
                        gap = exactGap
                    }
                    if options.exactGroups { lastAttempt = partition.group }
                    break
                }
            }
            if !certified { gap = max(0, best.objective - dual) }
            progress?(iteration, gap)
            if gap <= target && best.polished && (certified || !options.exactGroups) { break }
            // Residual balancing: primal ‖W^½(Dx − z)‖ against dual ρ‖DᵀW(z − z_old)‖.
            var primalResidual = 0.0
            for e in 0..<edges {
                let r = dx[e] - z[e]
                primalResidual += weights[e] * r * r
                scratch[e] = weights[e] * (z[e] - zOld[e])
            }
            graph.incidenceTransposed(scratch, lowerEdge: lower, into: &s)
            let dualResidual = rho * Vector.norm(s)
            primalResidual = primalResidual.squareRoot()
            if updates < options.maxPenaltyUpdates, primalResidual > 10 * dualResidual || dualResidual > 10 * primalResidual {
                let factor = primalResidual > dualResidual ? 2.0 : 0.5
                rho *= factor
                for e in 0..<edges { u[e] /= factor }
                k = try graph.laplacian(scaledBy: rho, plusDiagonal: a)
                updates += 1
            }
        }
        guard gap <= target else {
            throw GraphProblemError.notConverged(model: "graph-tv", iterations: iteration, gap: gap, target: target)
        }
        let groups = graph.components { _, i, j in best.x[i] == best.x[j] }.count
        return Solution(x: best.x, dualityGap: gap, targetGap: target, iterations: iteration, objective: best.objective,
                        polished: best.polished, groupsCertified: certified, groups: groups, penalty: rho, penaltyUpdates: updates,
                        report: strategy.lastReport, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9,
                        partition: best.partition)
    }

    /// The dual function at a box-feasible ν, from its divergence s = Dᵀν:
    /// D(ν) = Σ_i ½m_i y_i² − (m_i y_i − s_i)²/(2(m_i + ε)) (needs m_i + ε > 0).
    func dualValue(divergence s: [Double]) -> Double {
        var dual = 0.0
        for i in 0..<s.count {
            let m = data.trainingMask[i], y = data.signal[i]
            let r = m * y - s[i]
            dual += 0.5 * m * y * y - r * r / (2 * (m + epsilon))
        }
        return dual
    }

    /// An exact certificate for a polished candidate x (its fused groups and boundary signs):
    /// x is optimal iff some dual point ν has ν_e = λw_e·sign(x_i − x_j) on the edges between
    /// groups, |ν_e| ≤ λw_e on the fused edges, and divergence Dᵀν = My − Ax — on each group a
    /// flow feasibility problem, decided by a maximum flow (`SupplyFlow`, Dinic) from the
    /// nodes that must send to those that must receive through the fused edges. Feasible: the
    /// flow is that ν, the duality gap closes to rounding and the groups are exact. Returns the
    /// gap, or nil when the flow cannot be routed (the groups are not yet right). It does not
    /// depend on how accurate ADMM's own dual is.
    func certify(_ x: [Double], partition: FusedPartition, lower: [Int32]) -> Double? {
        let graph = data.graph, n = graph.nodeCount, edges = graph.edgeCount
        let label = partition.group
        var full = [Double](repeating: 0, count: edges)
        var fused: [(Int, Int, Double)] = [], fusedIndex: [Int] = []
        var largest = 0.0
        graph.forEachEdge { e, i, j, w in
            largest = max(largest, lambda * w)
            if label[i] != label[j] { full[e] = lambda * w * (x[i] > x[j] ? 1 : -1) } else {
                fused.append((i, j, lambda * w)); fusedIndex.append(e)
            }
        }
        var divergence = [Double](repeating: 0, count: n)
        graph.incidenceTransposed(full, lowerEdge: lower, into: &divergence)
        var supply = [Double](repeating: 0, count: n), mean = [Double](repeating: 0, count: partition.groupCount)
        for i in 0..<n {
            supply[i] = data.trainingMask[i] * data.signal[i] - (data.trainingMask[i] + epsilon) * x[i] - divergence[i]
            mean[Int(label[i])] += supply[i]
        }
        // Each group's supplies sum to zero by the closed form; remove the rounding.
        for i in 0..<n { supply[i] -= mean[Int(label[i])] / partition.sizes[Int(label[i])] }
        let needed = supply.reduce(0) { $0 + max($1, 0) }
        var flow = SupplyFlow(nodes: n, edges: fused, supply: supply)
        let routed = flow.maximize(epsilon: 1e-14 * max(largest, 1e-300))
        guard needed - routed <= 1e-9 * max(needed, largest) else { return nil }
        for (k, e) in fusedIndex.enumerated() { full[e] = max(-fused[k].2, min(fused[k].2, flow.netFlow(edge: k))) }
        graph.incidenceTransposed(full, lowerEdge: lower, into: &divergence)
        return max(0, objective(x) - dualValue(divergence: divergence))
    }

    /// The exactly fused candidate of an ADMM iterate: groups = components of the edges with
    /// |z_e| ≤ threshold, signs = sign(z_e) on the others, c_G = (Σ_G m y − λb_G)/Σ_G A. A
    /// boundary edge whose sign disagrees with the candidate's difference (or whose ends come
    /// out equal) is fused and the closed form recomputed — at most `repairPasses` times — so
    /// a few late edges do not hold the whole candidate back. Nil when no consistent candidate
    /// is found.
    func polish(z: [Double], threshold: Double, repairPasses: Int = 50) -> ([Double], FusedPartition)? {
        let graph = data.graph, n = graph.nodeCount
        var fused = z.map { abs($0) <= threshold }
        for _ in 0...repairPasses {
            let (labels, count) = graph.components { e, _, _ in fused[e] }
            let label = labels.map { Int32($0) }
            var boundary = [Double](repeating: 0, count: count), numerator = [Double](repeating: 0, count: count)
            var denominator = [Double](repeating: 0, count: count)
            for i in 0..<n {
                let g = Int(label[i])
                numerator[g] += data.trainingMask[i] * data.signal[i]
                denominator[g] += data.trainingMask[i] + epsilon
            }
            graph.forEachEdge { e, i, j, w in
                let gi = Int(label[i]), gj = Int(label[j])
                guard gi != gj else { return }
                let sign: Double = z[e] > 0 ? 1 : -1
                boundary[gi] += w * sign
                boundary[gj] -= w * sign
            }
            var c = [Double](repeating: 0, count: count)
            for g in 0..<count {
                guard denominator[g] > 0 else { return nil }
                c[g] = (numerator[g] - lambda * boundary[g]) / denominator[g]
            }
            var violations = 0
            graph.forEachEdge { e, i, j, _ in
                let gi = Int(label[i]), gj = Int(label[j])
                guard gi != gj else { return }
                let d = c[gi] - c[gj]
                if d == 0 || (d > 0) != (z[e] > 0) { violations += 1; fused[e] = true }
            }
            if violations == 0 {
                return (label.map { c[Int($0)] }, FusedPartition(group: label, groupCount: count, boundary: boundary))
            }
        }
        return nil
    }

    /// d(validation MSE)/d log λ and d log ε at a polished solution over `validation` nodes,
    /// as `hypergradient(of:at:strategy:)` with the reduced system's `strategy`.
    public func hypergradient(at solution: Solution, validation: [Int],
                              strategy: LinearSolveStrategy = GraphTotalVariation.reducedStrategy()) throws -> Hypergradient<[Double]> {
        try hypergradient(of: try NodeLoss.meanSquaredError(data, nodes: validation), solution: solution, reducedStrategy: strategy)
    }

    /// CG at a relative tolerance of 10⁻¹² on the fused-group reduced system (symmetric
    /// positive definite; a new matrix whenever the groups change).
    public static func reducedStrategy() -> LinearSolveStrategy {
        LinearSolveStrategy(.cg, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 10_000), name: "graph-tv reduced system")
    }

    /// Through the implicit layer's fused-group reduction of the proximal fixed point
    /// (`ProximalFixedPoint`, `.fusedGroups`): one reduced solve on the groups.
    func hypergradient(of loss: NodeLoss, solution: Solution, reducedStrategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        guard solution.polished, let partition = solution.partition else {
            throw GraphProblemError.groupsNotIdentified("the solution's fused groups were not identified exactly (the polished candidate was rejected); tighten `tolerance`")
        }
        let (value, lossGradient) = try loss.valueAndGradient(solution.x)
        let mask = DifferentiableVector(data.trainingMask), y = DifferentiableVector(data.signal)
        var edges: [(Int, Int)] = []
        edges.reserveCapacity(data.graph.edgeCount)
        data.graph.forEachEdge { _, i, j, _ in edges.append((i, j)) }
        let fixedPoint = try ProximalFixedPoint<DifferentiableVector>(
            gradient: { x, theta in hadamard(mask, x - y) + scale(theta[1], x) },
            prox: { v, theta in fusedGroupProx(v, theta[0], on: partition) },
            step: 1, strategy: reducedStrategy, pattern: .fusedGroups(edges: edges))
        let (gradient, reduction) = try fixedPoint.adjoint(x: DifferentiableVector(solution.x), theta: DifferentiableVector([lambda, epsilon]),
                                                           cotangent: DifferentiableVector(lossGradient))
        let g = gradient.dense(count: 2)
        var result = Hypergradient(value: value, gradient: [lambda * g[0], epsilon * g[1]], report: reduction.report,
                                   conditionResidual: reduction.fixedPointResidual)
        result.supportSize = reduction.blocks.count
        if !solution.groupsCertified {
            result.warning = "the fused groups were not certified exact (solve with Options.exactGroups = true, as the HyperparameterProblem solve does): the derivative is that of the groups found, which at a gap tolerance can differ from the exact solution's (an 80 × 80 grid at 10⁻⁶: 3.7 % off)"
        }
        return result
    }

    /// A finite-difference check of the hypergradient.
    public struct FiniteDifference {
        public var logLambda: Double
        public var logEpsilon: Double?
        /// The step h in log λ (and log ε) that was used.
        public var step: Double
        /// True when even the smallest step's solutions had other fused groups than the
        /// centre's: the loss has a kink there and the secant is not a derivative.
        public var kink: Bool
    }

    /// Central finite differences in log λ (and log ε) with tight solves (gap ≤ 10⁻¹⁰·½‖y_T‖²,
    /// exactly fused). The loss is piecewise smooth in θ — it has a kink wherever a group
    /// splits or merges — so h starts at `step` and shrinks tenfold, down to 10⁻⁸, while a
    /// side's fused edges differ from the centre's: the secant then stays on one piece.
    public func finiteDifference(validation: [Int], step: Double = 1e-4, options: Options = Options(),
                                 strategy: LinearSolveStrategy = GraphLeastSquares.defaultStrategy(expectedSolves: 200))
        throws -> FiniteDifference {
        var tight = options
        tight.tolerance = min(options.tolerance, 1e-10)
        func solution(_ lambda: Double, _ epsilon: Double) throws -> [Double] {
            try GraphTotalVariation(data: data, lambda: lambda, epsilon: epsilon).solve(options: tight, strategy: strategy).x
        }
        func fusedEdges(_ x: [Double]) -> [Bool] {
            var fused = [Bool](repeating: false, count: data.graph.edgeCount)
            data.graph.forEachEdge { e, i, j, _ in fused[e] = x[i] == x[j] }
            return fused
        }
        let centre = fusedEdges(try solution(lambda, epsilon))
        var h = step
        var result = FiniteDifference(logLambda: .nan, logEpsilon: nil, step: h, kink: true)
        while true {
            let up = Foundation.exp(h), down = Foundation.exp(-h)
            var sides = [(try solution(lambda * up, epsilon), try solution(lambda * down, epsilon))]
            if epsilon > 0 { sides.append((try solution(lambda, epsilon * up), try solution(lambda, epsilon * down))) }
            let loss = { (x: [Double]) in data.meanSquaredError(x, nodes: validation) }
            result = FiniteDifference(logLambda: (loss(sides[0].0) - loss(sides[0].1)) / (2 * h),
                                      logEpsilon: epsilon > 0 ? (loss(sides[1].0) - loss(sides[1].1)) / (2 * h) : nil,
                                      step: h, kink: false)
            let smooth = sides.allSatisfy { fusedEdges($0.0) == centre && fusedEdges($0.1) == centre }
            if smooth { return result }
            if h <= 1e-8 * (1 + 1e-9) { result.kink = true; return result }
            h /= 10
        }
    }
}

extension GraphTotalVariation: HyperparameterProblem {
    public var hyperparameterNames: [String] { ["λ", "ε"] }
    public var hyperparameters: [Double] { [lambda, epsilon] }

    public func with(hyperparameters values: [Double]) throws -> GraphTotalVariation {
        guard values.count == 2 else { throw GraphProblemError.invalid("graph-tv has two hyperparameters (λ, ε); got \(values.count)") }
        var problem = try GraphTotalVariation(data: data, lambda: values[0], epsilon: values[1])
        problem.options = options
        return problem
    }

    /// The ADMM's x-step system (K = A + ρL, refactorized as ρ moves): hundreds of solves.
    public func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy {
        GraphLeastSquares.defaultStrategy(expectedSolves: max(expectedSolves, 200))
    }

    /// ADMM with `options`, to a duality gap ≤ `tolerance`·½‖y_T‖² (default `options.tolerance`),
    /// run on until the fused groups are certified exact. It starts cold (`warmStart` is not
    /// used: the ADMM's dual state is not part of a solution).
    public func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution {
        var options = self.options
        options.exactGroups = true
        if let tolerance { options.tolerance = tolerance }
        return try solve(options: options, strategy: strategy)
    }

    public func summary(of solution: Solution) -> SolveSummary {
        SolveSummary(iterations: solution.iterations, seconds: solution.seconds, certificate: solution.dualityGap,
                     certificateName: "duality gap", supportSize: solution.groups)
    }

    public func value(of heldOut: NodeLoss, at solution: Solution) throws -> Double { try heldOut.valueAndGradient(solution.x).value }

    /// `strategy` serves the solve's x-steps; the fused-group reduced system (another matrix
    /// whenever the groups change) gets its own CG strategy (`reducedStrategy()`).
    public func hypergradient(of heldOut: NodeLoss, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        try hypergradient(of: heldOut, solution: solution, reducedStrategy: GraphTotalVariation.reducedStrategy())
    }
}
