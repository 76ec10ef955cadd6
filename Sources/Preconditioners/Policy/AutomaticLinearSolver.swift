import Foundation
import Sparse

/// The one automatic linear-solver policy, used by `isparse linsolve --method auto` and by the
/// implicit layer alike. `choice(for:)` returns the solver and the reason *before* any numeric
/// work, from what the operator declares — square or not, symmetric, positive definite, an
/// explicit sparse matrix, a diagonal, a transpose product, Gram structure XᵀDX + βI, a
/// preconditioning matrix — never from its concrete type, and from predicted costs:
///
/// - Dense operators up to `denseGramLimit`: LAPACK Cholesky or LU; a rank-revealing Cholesky
///   (`RankRevealingDenseSolver`: the minimum-norm solution and the rank when singular) for
///   one declared positive semidefinite.
/// - Gram operators: formed densely and factorized by LAPACK up to `denseGramLimit` columns;
///   above, Jacobi-CG capped at `krylovFirstIterations` first, then CHOLMOD on X (XᵀX never
///   formed) within the memory and flop budgets, MINRES when XᵀX + βI is singular.
/// - Explicit symmetric matrices with a positive diagonal: small ones (≤ `smallDirectNonzeros`)
///   go to CHOLMOD. Larger ones get a probe: `probeIterations` of Jacobi-CG on a fixed
///   pseudo-random right-hand side predict the iterations to the tolerance, and a matrix that is
///   Laplacian-like (a symmetric, diagonally dominant M-matrix: graph Laplacians plus a
///   nonnegative diagonal) is also priced with CG + AMG. A Krylov method predicted to cost less
///   than CHOLMOD's symbolic analysis alone is taken at once; otherwise the analysis runs and
///   its predicted factor bytes and flops are weighed against the Krylov estimate.
/// - Other symmetric matrices: CHOLMOD → LU → MINRES. Unsymmetric: UMFPACK LU within the
///   budget, else GMRES + Jacobi. Rectangular: LSQR with column scaling.
/// - Matrix-free operators: CG when symmetric positive definite (AMG when the operator
///   declares a Laplacian-like preconditioning matrix and the probe predicts many Jacobi
///   iterations, else Jacobi when a diagonal exists), MINRES when symmetric, GMRES otherwise.
///
/// The cost model counts bytes moved and flops with fixed machine constants (below), so the
/// choice is deterministic: the same operator gets the same choice and reason everywhere.
public struct AutomaticLinearSolver: LinearSolver {
    public var options: KrylovOptions
    /// Largest predicted factor a direct method may build (bytes); default a quarter of
    /// physical memory.
    public var memoryBudget: Int
    /// Largest predicted Cholesky work (flops) taken; default 5·10¹⁰ (seconds on a few
    /// cores). A factor that fits in memory can still take minutes.
    public var directFlopBudget: Double
    /// Gram operators with at most this many columns are formed densely (LAPACK).
    public var denseGramLimit: Int
    /// Dense operators declared positive semidefinite with at most this many unknowns get the
    /// rank-revealing Cholesky (`RankRevealingDenseSolver`); default 2000 (32 MB).
    public var rankRevealingLimit = 2000
    /// Jacobi-CG iterations tried first on a larger Gram operator (0: straight to CHOLMOD).
    public var krylovFirstIterations: Int
    /// Explicit matrices with at most this many nonzeros are factorized without a probe.
    public var smallDirectNonzeros: Int
    /// Jacobi-CG iterations of the probe.
    public var probeIterations: Int
    /// How many solves the state will serve (an outer loop reuses a factor many times).
    public var expectedSolves: Int
    /// Use Jacobi preconditioning where a diagonal exists (otherwise unpreconditioned).
    public var jacobi: Bool
    /// Cholesky ordering.
    public var ordering: CholeskyFactorization.Ordering
    /// Options of the AMG preconditioner when the policy takes it.
    public var amgOptions: SmoothedAggregationAMG.Options

    /// Machine constants of the cost model (bytes/s of memory traffic, flops/s of a
    /// supernodal factorization, seconds of CHOLMOD analysis per nonzero, AMG iterations),
    /// measured on the project's 2-core machines (BENCHMARKS.md, "Automatic policy"): a
    /// 10⁶-node grid (I + 100 L) and a 63 000-node power-law graph Laplacian + 0.1 I.
    public struct CostModel: Sendable {
        public var memoryBandwidth = 8e9
        public var factorizationFlopRate = 5e9
        /// CHOLMOD's analysis: 2.8·10⁻⁷ s per nonzero on a grid, 2·10⁻⁶ on a power-law graph.
        public var analysisSecondsPerNonzero = 1e-6
        public var amgIterations = 15.0
        /// AMG set-up and one cycle, in products with A.
        public var amgSetupProducts = 100.0
        public var amgCycleProducts = 10.0
        public init() {}
    }
    public var costModel = CostModel()

    public var name: String { "automatic" }

    public init(options: KrylovOptions = KrylovOptions(relativeTolerance: 1e-10), memoryBudget: Int? = nil,
                directFlopBudget: Double = 5e10, denseGramLimit: Int = 1000, krylovFirstIterations: Int = 200,
                smallDirectNonzeros: Int = 200_000, probeIterations: Int = 20, expectedSolves: Int = 1, jacobi: Bool = true,
                ordering: CholeskyFactorization.Ordering = .automatic) {
        self.options = options
        self.memoryBudget = memoryBudget ?? Int(ProcessInfo.processInfo.physicalMemory / 4)
        self.directFlopBudget = directFlopBudget
        self.denseGramLimit = denseGramLimit
        self.krylovFirstIterations = krylovFirstIterations
        self.smallDirectNonzeros = smallDirectNonzeros
        self.probeIterations = probeIterations
        self.expectedSolves = expectedSolves
        self.jacobi = jacobi
        self.ordering = ordering
        self.amgOptions = SmoothedAggregationAMG.Options()
    }

    /// The policy's decision: the solver (with its fallbacks) and why.
    public struct Choice {
        /// The stages: the chosen method first, then its stated fallbacks. An answer whose true
        /// residual is above `options.acceptableTrueResidual` moves on to the next stage.
        public var solver: FallbackSolver
        public var reason: String
        /// The first stage's method and preconditioner ("cholesky", "none"; "cg", "amg").
        public var method: String
        public var preconditioner: String
    }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        try choice(for: a).solver.prepare(a)
    }

    // MARK: - The decision

    /// The solver for `a` and the reason, before any numeric work (a symbolic analysis and a
    /// short probe may run; the analysis is handed to the chosen Cholesky stage).
    public func choice(for a: any LinearOperator) throws -> Choice {
        var choice = try decide(a)
        choice.solver.acceptableResidual = options.acceptableTrueResidual
        return choice
    }

    private func decide(_ a: any LinearOperator) throws -> Choice {
        if a.rows != a.columns {
            let lsqr = KrylovSolver(.lsqr, preconditioner: a.explicitMatrix != nil && jacobi ? .jacobi : .none, options: options)
            return single(lsqr, "rectangular \(a.rows) × \(a.columns) operator: least squares", method: "lsqr",
                          preconditioner: lsqr.preconditioner.name)
        }
        if a.denseColumnMajor != nil && a.rows <= rankRevealingLimit && a.isPositiveSemidefinite && !a.isPositiveDefinite {
            return single(RankRevealingDenseSolver(maximumDimension: rankRevealingLimit, reason: ""),
                          "dense symmetric positive semidefinite matrix of \(a.rows) ≤ \(rankRevealingLimit) unknowns, possibly singular",
                          method: "dense cholesky")
        }
        if a.denseColumnMajor != nil && a.rows <= denseGramLimit {
            let kind = a.isPositiveDefinite ? "symmetric positive definite" : a.isSymmetric ? "symmetric" : "unsymmetric"
            let reason = "dense \(kind) matrix of \(a.rows) ≤ \(denseGramLimit) unknowns"
            let fallback = FallbackSolver.Stage(krylov(a.isSymmetric ? .minres : .gmres, .none), label: a.isSymmetric ? "then MINRES" : "then GMRES")
            return Choice(solver: FallbackSolver([.init(DenseSolver(maximumDimension: denseGramLimit, reason: ""), label: ""), fallback],
                                                 reason: reason),
                          reason: reason, method: a.isSymmetric ? "cholesky" : "lu", preconditioner: "none")
        }
        if let gram = a.gramStructure { return gramChoice(a, gram) }
        if let m = a.explicitMatrix {
            return a.isSymmetric || m.isKnownSymmetric ? try symmetricChoice(a, m) : unsymmetricChoice(a, m)
        }
        return try matrixFreeChoice(a)
    }

    /// A Krylov stage (its reason is the policy's, carried by the `FallbackSolver`).
    private func krylov(_ method: KrylovSolver.Method, _ preconditioner: PreconditionerChoice,
                        maxIterations: Int? = nil) -> KrylovSolver {
        var o = options
        if let maxIterations { o.maxIterations = min(o.maxIterations ?? maxIterations, maxIterations) }
        return KrylovSolver(method, preconditioner: preconditioner, options: o, reason: "")
    }

    private func single(_ solver: any LinearSolver, _ reason: String, method: String, preconditioner: String = "none") -> Choice {
        Choice(solver: FallbackSolver([.init(solver, label: "")], reason: reason), reason: reason, method: method,
               preconditioner: preconditioner)
    }

    private func gramChoice(_ a: any LinearOperator, _ gram: GramStructure) -> Choice {
        let p = a.columns
        let minres = FallbackSolver.Stage(krylov(.minres, .none), label: "then MINRES from zero (the minimum-norm solution when XᵀX + βI is singular)")
        if p <= denseGramLimit {
            let reason = "Gram operator XᵀDX + βI with \(p) ≤ \(denseGramLimit) columns"
            return Choice(solver: FallbackSolver([.init(DenseSolver(maximumDimension: denseGramLimit, reason: ""), label: ""), minres],
                                                 reason: reason),
                          reason: reason, method: "cholesky", preconditioner: "none")
        }
        let precondition: PreconditionerChoice = jacobi ? .jacobi : .none
        var stages: [FallbackSolver.Stage] = []
        var reason = "Gram operator XᵀDX + βI with \(p) columns"
        if krylovFirstIterations > 0 {
            stages.append(.init(krylov(.cg, precondition, maxIterations: krylovFirstIterations), label: "", mayFail: true))
            reason += ": Jacobi-CG first, at most \(krylovFirstIterations) iterations (CHOLMOD's analysis of XᵀX can itself take seconds)"
        }
        if gram.weights == nil {
            stages.append(.init(CholeskySolver(ordering: ordering, memoryBudget: memoryBudget, flopBudget: directFlopBudget, reason: ""),
                                label: stages.isEmpty ? "" : "then CHOLMOD within the budgets"))
            if stages.count == 1 { reason += ": CHOLMOD within the memory and flop budgets" }
        }
        stages.append(.init(krylov(.cg, precondition), label: "then CG without a cap"))
        stages.append(minres)
        return Choice(solver: FallbackSolver(stages, reason: reason), reason: reason,
                      method: krylovFirstIterations > 0 ? "cg" : "cholesky",
                      preconditioner: krylovFirstIterations > 0 ? precondition.name : "none")
    }

    private func unsymmetricChoice(_ a: any LinearOperator, _ m: CSRMatrix) -> Choice {
        let reason = "unsymmetric explicit matrix: UMFPACK LU within the \(formatBytes(memoryBudget)) budget"
        let gmres = krylov(.gmres, jacobi && a.diagonal.map { $0.allSatisfy { $0 != 0 } } == true ? .jacobi : .none)
        return Choice(solver: FallbackSolver([.init(LUSolver(memoryBudget: memoryBudget, reason: ""), label: ""),
                                              .init(gmres, label: "then GMRES + \(gmres.preconditioner.name)")], reason: reason),
                      reason: reason, method: "lu", preconditioner: "none")
    }

    /// What the matrix says of itself, in one O(nnz) pass.
    struct MatrixTraits {
        var positiveDiagonal = true
        /// Off-diagonals ≤ 0 and each diagonal ≥ the sum of its row's off-diagonal magnitudes.
        var laplacianLike = true
        /// max over rows of Σ|a_ij| (j ≠ i) / a_ii.
        var dominance = 0.0
    }

    static func traits(_ m: CSRMatrix) -> MatrixTraits {
        var t = MatrixTraits()
        let p = m.rowPointers, c = m.columnIndices, v = m.values
        for i in 0..<m.rows {
            var diagonal = 0.0, off = 0.0
            for k in p[i]..<p[i + 1] {
                if Int(c[k]) == i { diagonal += v[k] } else {
                    off += abs(v[k])
                    if v[k] > 0 { t.laplacianLike = false }
                }
            }
            if !(diagonal > 0) { t.positiveDiagonal = false; t.laplacianLike = false; continue }
            if off > diagonal * (1 + 1e-12) { t.laplacianLike = false }
            t.dominance = max(t.dominance, off / diagonal)
        }
        return t
    }

    /// Iterations Jacobi-CG is predicted to need, from `probeIterations` iterations on a fixed
    /// pseudo-random right-hand side (nil when the probe breaks down: not positive definite).
    func probe(_ a: any LinearOperator) -> (iterations: Int, rate: Double)? {
        var random = SplitMix64(seed: 0x9e37_79b9)
        let b = (0..<a.rows).map { _ in random.nextUniform() - 0.5 }
        var o = KrylovOptions(relativeTolerance: options.relativeTolerance, maxIterations: probeIterations, recordHistory: true)
        o.absoluteTolerance = 0
        let preconditioner = jacobi ? a.diagonal.flatMap { d in d.allSatisfy({ $0 > 0 }) ? try? JacobiPreconditioner(diagonal: d) : nil } : nil
        guard let result = try? ConjugateGradient(options: o).solve(a, b, preconditioner: preconditioner) else { return nil }
        if result.status == .converged { return (result.iterations, 0) }
        guard result.status == .maximumIterations, let history = result.residualHistory, let first = history.first, first > 0,
              let last = history.last, last.isFinite, result.iterations > 0 else { return nil }
        // The rate over the probe's second half, when slower than the whole probe's: CG's first
        // iterations remove the well-separated part of the spectrum, and their rate flatters an
        // ill-conditioned matrix (a jammed packing's Hessian: the whole-probe rate predicted a
        // small fraction of the iterations CG then took, and CHOLMOD was 13× faster). The
        // prediction continues from where the probe stopped at the later rate.
        let overall = Foundation.pow(last / first, 1 / Double(result.iterations))
        let middle = history.count / 2
        let lateSteps = history.count - 1 - middle
        let late = lateSteps >= 4 && history[middle] > 0 ? Foundation.pow(last / history[middle], 1 / Double(lateSteps)) : overall
        let rate = max(overall, late)
        guard rate < 1 else { return nil }
        let remaining = Foundation.log(options.relativeTolerance * first / last) / Foundation.log(rate)
        let needed = Double(result.iterations) + max(remaining, 0)
        let limit = Double(options.maxIterations ?? max(1000, 10 * a.rows))
        return (Int(min(needed, limit).rounded(.up)), rate)
    }

    /// Seconds of one product with A and of one CG iteration (bytes moved / bandwidth).
    private func productSeconds(nonzeros: Int, n: Int) -> Double { Double(12 * nonzeros + 24 * n) / costModel.memoryBandwidth }
    private func cgIterationSeconds(nonzeros: Int, n: Int) -> Double {
        productSeconds(nonzeros: nonzeros, n: n) + Double(112 * n) / costModel.memoryBandwidth
    }

    /// The cheaper Krylov plan for an SPD-looking operator: Jacobi-CG, or CG + AMG when a
    /// Laplacian-like matrix is there to build it from.
    private func krylovPlan(_ a: any LinearOperator, nonzeros: Int, laplacianLike: Bool)
        -> (method: KrylovSolver, seconds: Double, text: String)? {
        guard let (iterations, rate) = probe(a) else { return nil }
        let n = a.rows
        let solves = Double(max(expectedSolves, 1))
        let jacobiSeconds = Double(iterations) * cgIterationSeconds(nonzeros: nonzeros, n: n) * solves
        let precondition: PreconditionerChoice = jacobi && a.diagonal != nil ? .jacobi : .none
        let probeText = rate == 0 ? "the \(probeIterations)-iteration Jacobi-CG probe converged in \(iterations)"
            : String(format: "a %d-iteration Jacobi-CG probe (rate %.4f) predicts %d iterations", probeIterations, rate, iterations)
        if laplacianLike && a.preconditioningMatrix != nil {
            let product = productSeconds(nonzeros: nonzeros, n: n)
            let amgSeconds = costModel.amgSetupProducts * product
                + solves * costModel.amgIterations * (costModel.amgCycleProducts * product + cgIterationSeconds(nonzeros: nonzeros, n: n))
            if amgSeconds < jacobiSeconds {
                return (krylov(.cg, .amg(amgOptions)), amgSeconds,
                        probeText + String(format: " (≈ %.2g s); Laplacian-like matrix: CG + AMG predicted ≈ %.2g s", jacobiSeconds, amgSeconds))
            }
        }
        return (krylov(.cg, precondition), jacobiSeconds, probeText + String(format: " (≈ %.2g s)", jacobiSeconds))
    }

    private func symmetricChoice(_ a: any LinearOperator, _ m: CSRMatrix) throws -> Choice {
        let traits = Self.traits(m)
        let nnz = m.nonzeroCount
        let lu = FallbackSolver.Stage(LUSolver(memoryBudget: memoryBudget, reason: ""), label: "then UMFPACK LU")
        let minres = FallbackSolver.Stage(krylov(.minres, jacobi && traits.positiveDiagonal ? .jacobi : .none),
                                          label: "then MINRES")
        let cholesky = CholeskySolver(ordering: ordering, memoryBudget: memoryBudget, flopBudget: directFlopBudget, reason: "")
        let describe = traits.laplacianLike ? "symmetric Laplacian-like matrix (diagonally dominant M-matrix)"
            : traits.positiveDiagonal ? "symmetric matrix with a positive diagonal" : "symmetric matrix"
        if !traits.positiveDiagonal || nnz <= smallDirectNonzeros {
            let why = traits.positiveDiagonal ? "\(nnz) ≤ \(smallDirectNonzeros) nonzeros" : "a diagonal entry not positive (not positive definite)"
            let reason = "\(describe), \(why): CHOLMOD within the budgets"
            let overBudget = FallbackSolver.Stage(krylov(traits.positiveDiagonal ? .cg : .minres,
                                                         jacobi && traits.positiveDiagonal ? .jacobi : .none),
                                                  label: "then \(traits.positiveDiagonal ? "CG + Jacobi" : "MINRES")")
            return Choice(solver: FallbackSolver([.init(cholesky, label: ""), lu, overBudget, minres], reason: reason), reason: reason,
                          method: "cholesky", preconditioner: "none")
        }
        let plan = krylovPlan(a, nonzeros: nnz, laplacianLike: traits.laplacianLike)
        let analysisEstimate = costModel.analysisSecondsPerNonzero * Double(nnz)
        if let plan, plan.seconds < analysisEstimate {
            let reason = "\(describe): \(plan.text), less than CHOLMOD's analysis alone (≈ \(String(format: "%.2g", analysisEstimate)) s)"
            return Choice(solver: FallbackSolver([.init(plan.method, label: ""),
                                                  .init(cholesky, label: "then CHOLMOD"), lu, minres], reason: reason),
                          reason: reason, method: "cg", preconditioner: plan.method.preconditioner.name)
        }
        // The symbolic analysis: predicted factor bytes and flops.
        let analysis: CholeskyFactorization
        do {
            analysis = try cholesky.analyze(a)
        } catch SparseError.factorTooLarge(let predicted, let budget) {
            let method = plan?.method ?? krylov(.minres, .jacobi)
            let reason = "\(describe): the predicted Cholesky factor (\(formatBytes(predicted))) exceeds the \(formatBytes(budget)) budget; "
                + (plan?.text ?? "the Jacobi-CG probe broke down: MINRES")
            return Choice(solver: FallbackSolver([.init(method, label: ""), minres], reason: reason), reason: reason,
                          method: method.method.rawValue, preconditioner: method.preconditioner.name)
        }
        var direct = cholesky
        direct.analysis = analysis
        let solves = Double(max(expectedSolves, 1))
        let directSeconds = analysisEstimate + analysis.predictedFlops / costModel.factorizationFlopRate
            + solves * Double(24 * analysis.predictedFactorNonzeros) / costModel.memoryBandwidth
        let factorText = String(format: "predicted factor %@, %.2g flops (≈ %.2g s)", formatBytes(analysis.predictedFactorBytes),
                                analysis.predictedFlops, directSeconds)
        if let plan, plan.seconds < directSeconds || analysis.predictedFlops > directFlopBudget {
            let why = analysis.predictedFlops > directFlopBudget ? String(format: "exceeds the flop budget %.2g", directFlopBudget) : "costs more"
            let reason = "\(describe): CHOLMOD's \(factorText) \(why); \(plan.text)"
            return Choice(solver: FallbackSolver([.init(plan.method, label: ""), .init(direct, label: "then CHOLMOD"), lu, minres],
                                                 reason: reason),
                          reason: reason, method: "cg", preconditioner: plan.method.preconditioner.name)
        }
        let reason = "\(describe): CHOLMOD's \(factorText) fits the \(formatBytes(memoryBudget)) budget"
            + (plan.map { " and beats the Krylov estimate: \($0.text)" } ?? "; the Jacobi-CG probe broke down")
        return Choice(solver: FallbackSolver([.init(direct, label: ""), lu, minres], reason: reason), reason: reason,
                      method: "cholesky", preconditioner: "none")
    }

    private func matrixFreeChoice(_ a: any LinearOperator) throws -> Choice {
        let diagonalUsable = jacobi && (a.diagonal.map { d in d.allSatisfy { $0 != 0 && $0.isFinite } } ?? false)
        if a.isSymmetric && a.isPositiveDefinite {
            var laplacianLike = false, nonzeros = 5 * a.rows
            if let m = a.preconditioningMatrix {
                laplacianLike = Self.traits(m).laplacianLike
                nonzeros = m.nonzeroCount
            }
            if laplacianLike, let plan = krylovPlan(a, nonzeros: nonzeros, laplacianLike: true) {
                let reason = "matrix-free, symmetric positive definite with a Laplacian-like preconditioning matrix: \(plan.text)"
                return Choice(solver: FallbackSolver([.init(plan.method, label: ""),
                                                      .init(krylov(.minres, .none), label: "then MINRES")], reason: reason),
                              reason: reason, method: "cg", preconditioner: plan.method.preconditioner.name)
            }
            let precondition: PreconditionerChoice = diagonalUsable ? .jacobi : .none
            let reason = "matrix-free, symmetric positive definite: CG" + (diagonalUsable ? " + Jacobi" : "")
            return Choice(solver: FallbackSolver([.init(krylov(.cg, precondition), label: ""),
                                                  .init(krylov(.gmres, precondition), label: "then GMRES")],
                                                 reason: reason),
                          reason: reason, method: "cg", preconditioner: precondition.name)
        }
        if a.isSymmetric {
            let positive = a.diagonal.map { d in d.allSatisfy { $0 > 0 } } ?? false
            let precondition: PreconditionerChoice = jacobi && positive ? .jacobi : .none
            let reason = "matrix-free, symmetric: MINRES" + (jacobi && positive ? " + Jacobi" : "")
            return single(krylov(.minres, precondition), reason, method: "minres", preconditioner: precondition.name)
        }
        let precondition: PreconditionerChoice = diagonalUsable ? .jacobi : .none
        let reason = "matrix-free, unsymmetric: GMRES" + (diagonalUsable ? " + Jacobi" : "")
        return single(krylov(.gmres, precondition), reason, method: "gmres", preconditioner: precondition.name)
    }
}

extension AutomaticLinearSolver {
    public var krylovOptions: KrylovOptions? { options }
    public func withKrylovOptions(_ options: KrylovOptions) -> any LinearSolver {
        var policy = self
        policy.options = options
        return policy
    }
}
