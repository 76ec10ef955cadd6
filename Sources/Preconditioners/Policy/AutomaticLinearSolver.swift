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
///   nonnegative diagonal) is also priced with CG + AMG, whose iterations a probe of
///   `amgProbeIterations` CG + AMG iterations measures on the operator when Jacobi-CG is
///   predicted to cost more than CG + AMG's lower bound (its set-up plus the iterations of
///   the fastest rate it is expected to reach, `CostModel.amgBestRate`). Every estimate is multiplied by
///   `expectedSolves` where it is paid per solve (a Krylov method's iterations, a factor's
///   triangular solves); a factorization and a set-up are paid once. A Krylov method predicted to cost less
///   than CHOLMOD's predicted symbolic analysis alone (its elimination kernel priced at
///   `CostModel.analysisRiskFactor` × the measured coefficient: the estimate is uncertain and an
///   analysis that loses is time lost — or, for a geometric kernel whose breadth-first depth
///   is of the order of √nodes, at the rate measured on grids) is taken at once; otherwise the analysis runs and
///   its predicted factor bytes and flops are weighed against the Krylov estimate. A matrix
///   whose rows are mostly of degree ≤ 2 (trees, dependency-like graphs of local cycles) is
///   first given a low-fill elimination order when one exists (`eliminationStructure`: the
///   series reduction, then minimum degree ≤ `lowFillMaxDegree`, a core of at most
///   `lowFillCoreLimit` nodes): CHOLMOD's whole cost in it is predicted before any analysis,
///   and when CHOLMOD is taken it analyzes in that order (postordered) with no ordering search.
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
    /// Run the probe of a prepared state in its first solve, on that solve's right-hand side
    /// (default), rather than on a fixed pseudo-random one before it (`choice(for:)` always
    /// probes before: it states the decision before any solve). Where Jacobi-CG is chosen the
    /// probe then costs nothing: on the 10⁶-node graphs of docs/BENCHMARKS.md's policy table,
    /// probing before the solve had cost 0.32–0.58 s over forced Jacobi-CG's 0.85–1.5 s.
    public var probeOnFirstSolve = true
    /// CG + AMG iterations of the AMG probe, run when AMG is a candidate (a Laplacian-like
    /// matrix whose predicted Jacobi-CG cost exceeds AMG's set-up): its measured rate (the later
    /// half's when slower) replaces a fixed iteration count in the cost model, and its hierarchy
    /// is kept when AMG is taken. A hierarchy whose coarsening stalled (coarsest level above a
    /// tenth of the unknowns) is not a candidate.
    public var amgProbeIterations = 6
    /// A low-fill elimination order (`eliminationStructure`) is looked for before the probe
    /// when at least this fraction of the rows has at most two off-diagonal entries (0 turns
    /// it off): trees and dependency-like graphs qualify, meshes do not.
    public var lowFillRowFraction = 0.1
    /// The bounded minimum-degree elimination's largest degree.
    public var lowFillMaxDegree = 8
    /// The largest core the bounded elimination may leave (ordered last and counted dense:
    /// at most 1000³/3 flops by default).
    public var lowFillCoreLimit = 1000
    /// With a low-fill order, the first solve's probe is first looked at after this many
    /// Jacobi-CG iterations: when even their rate — faster than the later one on these
    /// matrices — predicts Jacobi-CG to cost more than CHOLMOD in that order (or the residual
    /// has not decreased at all), the probe stops there. Otherwise it goes on to
    /// `probeIterations`.
    public var lowFillProbeIterations = 5
    /// How many solves the state will serve (an outer loop reuses a factor many times).
    public var expectedSolves: Int
    /// Use Jacobi preconditioning where a diagonal exists (otherwise unpreconditioned).
    public var jacobi: Bool
    /// Cholesky ordering.
    public var ordering: CholeskyFactorization.Ordering
    /// Options of the AMG preconditioner when the policy takes it.
    public var amgOptions: SmoothedAggregationAMG.Options

    /// Machine constants of the cost model (bytes/s of memory traffic, flops/s of a
    /// supernodal factorization, seconds of CHOLMOD analysis per nonzero, AMG's set-up and
    /// cycle in products with A; AMG's iterations are measured by its probe),
    /// measured on the project's 2-core machines (docs/BENCHMARKS.md, "Automatic policy" and "The
    /// automatic policy on generated graphs"): Jacobi-CG iterations of 0.67–12.8 ms and CG + AMG
    /// iterations ≈ 10 of them, AMG set-up ≈ 54, CHOLMOD factorizations at 1–1.6·10¹⁰ flop/s,
    /// on I + 100 L of power-law, tree-like and bipartite tree-like graphs of 10⁵ and 10⁶ nodes
    /// (2026-12-07; the constants before were 8·10⁹ B/s, 5·10⁹ flop/s, 100 and 10 products).
    public struct CostModel: Sendable {
        public var memoryBandwidth = 2e10
        public var factorizationFlopRate = 1e10
        /// CHOLMOD's analysis: seconds per nonzero of the matrix (3.5·10⁻⁷ measured on a
        /// tree-like bipartite graph, 2.8·10⁻⁷ on a grid) plus seconds per nonzero of the
        /// elimination kernel (`eliminationKernel`: 3·10⁻⁶ on a power-law graph's, 9·10⁻⁶ on
        /// a tree with random extra edges; 4·10⁻⁶ taken).
        public var analysisSecondsPerNonzero = 3e-7
        public var kernelAnalysisSecondsPerNonzero = 4e-6
        /// A geometric kernel (`eliminationKernelGraph`: its breadth-first depth at least
        /// `geometricDepthFraction`·√nodes — a mesh, or a 2-D contact network in a periodic box, whose
        /// depth is about ½√nodes: the box is a torus) is priced at the
        /// per-nonzero rate measured on grids instead, without the risk factor: nested
        /// dissection finds small separators there (the 10⁵-particle packing's Hessian, a
        /// 2-D contact network, was priced at 19 s of analysis; CHOLMOD's whole solve —
        /// analysis, factorization and solve — takes 2.5–2.8 s: docs/BENCHMARKS.md).
        public var geometricDepthFraction = 0.25
        public var geometricKernelAnalysisSecondsPerNonzero = 4e-7
        /// AMG set-up and one cycle, in products with A.
        public var amgSetupProducts = 150.0
        public var amgCycleProducts = 23.0
        /// The fastest convergence factor per CG + AMG iteration the policy expects (the
        /// fastest measured on the calibration graphs and grids; most were 0.3–0.5): before its probe builds a hierarchy, CG + AMG is priced
        /// at its set-up plus the iterations this rate needs, and not probed when even that
        /// exceeds the cheaper alternative.
        public var amgBestRate = 0.2
        /// The elimination kernel's part of the analysis estimate is multiplied by this:
        /// CHOLMOD's analysis was measured to vary 3× per kernel nonzero, and an analysis whose
        /// factor then exceeds the budgets is lost (on a 10⁶-node power-law graph it cost 12 s
        /// for nothing), so the kernel is priced near the upper end measured (2 × 4·10⁻⁶).
        public var analysisRiskFactor = 2.0
        /// CHOLMOD's analysis in a given order (no ordering search), per nonzero of the
        /// matrix: 0.7–1.1·10⁻⁷ s seen on the bipartite tree-like graphs of 10⁵ and 10⁶ nodes
        /// of docs/BENCHMARKS.md's policy table (with temporary timers; not reported by a
        /// command), 1.2·10⁻⁷ taken.
        public var orderedAnalysisSecondsPerNonzero = 1.2e-7
        /// A numeric factorization's cost per factor nonzero beyond its flops (a simplicial
        /// factor of O(n) nonzeros is bound by its per-column work: 5–9·10⁻⁸ s seen the same
        /// way; `isparse linsolve --json` reports a forced CHOLMOD's factorize seconds).
        public var factorSecondsPerNonzero = 8e-8
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

    /// The prepared state. For a large explicit symmetric matrix with a positive diagonal (the
    /// case that needs a probe) and `probeOnFirstSolve`, the decision waits for the first
    /// solve: its first `probeIterations` Jacobi-CG iterations are the probe, run on the
    /// solve's own right-hand side, and they are not lost when Jacobi-CG is chosen (the run
    /// goes on); a CG + AMG probe then starts from their iterate, and its iterate starts the
    /// chosen CG + AMG solve. The state's method and reason are the decision's from then on.
    /// Every other operator is decided here, as `choice(for:)` decides it.
    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        if probeOnFirstSolve, probeIterations > 0, a.rows == a.columns, a.denseColumnMajor == nil, a.gramStructure == nil,
           a.isSymmetric, let m = a.explicitMatrix {
            let traits = Self.traits(m)
            if smallSymmetricChoice(m, traits: traits) == nil { return ProbingSolveState(policy: self, operator: a, traits: traits) }
        }
        return try choice(for: a).solver.prepare(a)
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
        if let space = a.vectorSpace, space.isDistributed { return distributedChoice(a, space) }
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

    /// The nodes and edges left of the matrix's graph after repeatedly eliminating nodes of
    /// degree ≤ 2 (a leaf is removed; a node between two neighbours is replaced by an edge
    /// joining them; a self-loop this makes is dropped), in O(nnz): the part of the graph where
    /// a Cholesky elimination creates fill. Trees and graphs of local cycles (dependency graphs)
    /// reduce to almost nothing and factor at once; random long cycles (power-law graphs, a
    /// tree with random extra edges) leave a kernel whose fill dominates CHOLMOD's analysis and
    /// factorization. Reads the off-diagonal entries above the diagonal (full storage).
    static func eliminationKernel(_ m: CSRMatrix) -> (nodes: Int, edges: Int) {
        let kernel = eliminationKernelGraph(m)
        return (kernel.nodes, kernel.edges)
    }

    /// The elimination kernel and a lower bound on its diameter (the depth of a breadth-first
    /// search from the node farthest from the kernel's first node: the double sweep, O(kernel
    /// nnz)). A kernel whose depth is of the order of √nodes is geometric — a mesh, a 2-D
    /// contact network — with small separators, where nested dissection keeps the fill low and
    /// CHOLMOD's analysis costs about what it costs per nonzero on a grid; an expander-like
    /// kernel (random long cycles: power-law graphs, trees with random extra edges) has a depth
    /// of the order of log(nodes), large separators and a costly analysis.
    static func eliminationKernelGraph(_ m: CSRMatrix) -> (nodes: Int, edges: Int, depth: Int) {
        eliminationStructure(m, lowFill: nil).kernel
    }

    /// A low-fill elimination order: the series reduction's nodes in the order they went, then
    /// a minimum-degree elimination of the kernel restricted to degrees ≤ `maxDegree`
    /// (duplicate edges merged: the series reduction keeps parallel edges, which a 4-cycle's
    /// two paths make), then the core left (at most `coreLimit` nodes, by increasing degree).
    struct LowFillOrder {
        /// `order[k]`: the row eliminated k-th (CHOLMOD's permutation).
        var order: [Int]
        /// Predicted nonzeros of the Cholesky factor (the core counted dense) and flops.
        var factorNonzeros: Double
        var flops: Double
        /// Nodes of the core left after the bounded elimination.
        var core: Int
        var maxDegree: Int
    }

    /// The elimination kernel (`eliminationKernelGraph`) and, with `lowFill` given, a low-fill
    /// elimination order when one exists: the kernel's minimum-degree elimination with degrees
    /// ≤ `maxDegree` leaves a core of at most `coreLimit` nodes (nil otherwise). Graphs of local
    /// cycles hung on a tree (dependency graphs, the bipartite tree-like generator) have one:
    /// their factor has O(n) nonzeros and flops, and CHOLMOD needs no ordering search (AMD is
    /// most of its analysis there). Random long cycles (power-law graphs, a tree with random
    /// extra edges) and meshes leave a large core. O(nnz) for the series reduction; the bounded
    /// elimination works on the kernel, with nodes whose degree exceeds 4·maxDegree kept
    /// without adjacency lists (they are never eliminated by it).
    static func eliminationStructure(_ m: CSRMatrix, lowFill: (maxDegree: Int, coreLimit: Int)?, postordered: Bool = true)
        -> (kernel: (nodes: Int, edges: Int, depth: Int), lowFill: LowFillOrder?) {
        // Raw buffers throughout: this runs on the policy's path for matrices of millions of
        // rows, and arrays captured by local functions cost an exclusivity check per access.
        let n = m.rows
        var edges = 0
        let degree = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        defer { degree.deallocate() }
        degree.initialize(repeating: 0)
        m.rowPointers.withUnsafeBufferPointer { p in
            m.columnIndices.withUnsafeBufferPointer { c in
                for i in 0..<n {
                    for k in p[i]..<p[i + 1] where Int(c[k]) > i { degree[i] += 1; degree[Int(c[k])] += 1; edges += 1 }
                }
            }
        }
        let ends = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 2 * edges)
        let start = UnsafeMutableBufferPointer<Int>.allocate(capacity: n + 1)
        let incident = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 2 * edges)
        let cursor = UnsafeMutableBufferPointer<Int>.allocate(capacity: n + 1)
        let alive = UnsafeMutableBufferPointer<Bool>.allocate(capacity: edges)
        let forward = UnsafeMutableBufferPointer<Int32>.allocate(capacity: edges)
        let gone = UnsafeMutableBufferPointer<Bool>.allocate(capacity: n)
        let queue = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n + 2 * edges + 1)
        defer {
            ends.deallocate(); start.deallocate(); incident.deallocate(); cursor.deallocate()
            alive.deallocate(); forward.deallocate(); gone.deallocate(); queue.deallocate()
        }
        start[0] = 0
        for i in 0..<n { start[i + 1] = start[i] + Int(degree[i]) }
        for i in 0...n { cursor[i] = start[i] }
        var e = 0
        m.rowPointers.withUnsafeBufferPointer { p in
            m.columnIndices.withUnsafeBufferPointer { c in
                for i in 0..<n {
                    for k in p[i]..<p[i + 1] where Int(c[k]) > i {
                        let j = Int(c[k])
                        ends[2 * e] = Int32(i); ends[2 * e + 1] = Int32(j)
                        incident[cursor[i]] = Int32(e); cursor[i] += 1
                        incident[cursor[j]] = Int32(e); cursor[j] += 1
                        e += 1
                    }
                }
            }
        }
        alive.initialize(repeating: true)
        for k in 0..<edges { forward[k] = Int32(k) }
        gone.initialize(repeating: false)
        // Each node enters the queue at most once per degree decrement plus once at the start:
        // n + 2·edges slots suffice.
        var tail = 0, head = 0
        for i in 0..<n where degree[i] <= 2 { queue[tail] = Int32(i); tail += 1 }
        /// The edge an edge was merged into (path-halving).
        @inline(__always) func resolve(_ edge: Int32) -> Int {
            var e = Int(edge)
            while Int(forward[e]) != e { forward[e] = forward[Int(forward[e])]; e = Int(forward[e]) }
            return e
        }
        var remainingNodes = n, remainingEdges = edges
        // The order the nodes go in (kept when a low-fill order is asked for), and the
        // factor's nonzeros and flops of eliminating them (≤ 2 off-diagonal entries each).
        // With each, its neighbours when it went (the structure of its factor column, whose
        // first eliminated entry is its parent in the elimination tree).
        var eliminated: [Int] = [], wentWith: [Int32] = [], wentWithStart: [Int] = [0]
        if lowFill != nil { eliminated.reserveCapacity(n); wentWithStart.reserveCapacity(n + 1); wentWith.reserveCapacity(2 * n) }
        var factorNonzeros = 0.0, flops = 0.0
        while head < tail {
            let v = Int(queue[head]); head += 1
            if gone[v] || degree[v] > 2 { continue }
            if lowFill != nil {
                eliminated.append(v)
                let d = Double(degree[v])
                factorNonzeros += 1 + d; flops += 1 + d * (d + 3) / 2
            }
            var live0 = -1, live1 = -1
            for slot in start[v]..<start[v + 1] {
                let e = resolve(incident[slot])
                guard alive[e], Int(ends[2 * e]) == v || Int(ends[2 * e + 1]) == v, e != live0, e != live1 else { continue }
                if live0 < 0 { live0 = e } else { live1 = e }
            }
            gone[v] = true; remainingNodes -= 1
            if lowFill != nil {
                if live0 >= 0 { wentWith.append(Int(ends[2 * live0]) == v ? ends[2 * live0 + 1] : ends[2 * live0]) }
                if live1 >= 0 {
                    let other = Int(ends[2 * live1]) == v ? ends[2 * live1 + 1] : ends[2 * live1]
                    if live0 < 0 || wentWith[wentWith.count - 1] != other { wentWith.append(other) }
                }
                wentWithStart.append(wentWith.count)
            }
            if live0 >= 0 && live1 < 0 {
                let a = Int(ends[2 * live0]) == v ? Int(ends[2 * live0 + 1]) : Int(ends[2 * live0])
                alive[live0] = false; remainingEdges -= 1
                degree[a] -= 1
                if degree[a] <= 2 { queue[tail] = Int32(a); tail += 1 }
            } else if live1 >= 0 {
                let a = Int(ends[2 * live0]) == v ? Int(ends[2 * live0 + 1]) : Int(ends[2 * live0])
                let b = Int(ends[2 * live1]) == v ? Int(ends[2 * live1 + 1]) : Int(ends[2 * live1])
                alive[live1] = false; forward[live1] = Int32(live0); remainingEdges -= 1
                if a == b {
                    alive[live0] = false; remainingEdges -= 1
                    degree[a] -= 2
                    if degree[a] <= 2 { queue[tail] = Int32(a); tail += 1 }
                } else {
                    ends[2 * live0] = Int32(a); ends[2 * live0 + 1] = Int32(b)
                }
            }
        }
        /// The low-fill order once the kernel is known (its adjacency, parallel edges included).
        func lowFillOrder(_ adjacency: (start: UnsafeMutableBufferPointer<Int>, list: UnsafeMutableBufferPointer<Int32>)?) -> LowFillOrder? {
            guard let (maxDegree, coreLimit) = lowFill else { return nil }
            let kernelNodes = (0..<n).filter { !gone[$0] }
            // The recorded arrays are handed over, not copied (n and 2n entries).
            return Self.boundedElimination(n: n, order: &eliminated, neighbours: &wentWith, neighbourStart: &wentWithStart,
                                           kernelNodes: kernelNodes, kernelAdjacency: adjacency,
                                           factorNonzeros: factorNonzeros, flops: flops, maxDegree: maxDegree, coreLimit: coreLimit,
                                           postordered: postordered)
        }
        guard remainingNodes > 1, remainingEdges > 0 else {
            return ((remainingNodes, remainingEdges, 0), lowFillOrder(nil))
        }
        // The kernel's adjacency from its live edges (ends resolved), then the double sweep.
        let kernelStart = UnsafeMutableBufferPointer<Int>.allocate(capacity: n + 1)
        let fill = UnsafeMutableBufferPointer<Int>.allocate(capacity: n + 1)
        let level = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        defer { kernelStart.deallocate(); fill.deallocate(); level.deallocate() }
        kernelStart.initialize(repeating: 0)
        for e in 0..<edges where alive[e] && resolve(Int32(e)) == e {
            kernelStart[Int(ends[2 * e]) + 1] += 1; kernelStart[Int(ends[2 * e + 1]) + 1] += 1
        }
        for i in 0..<n { kernelStart[i + 1] += kernelStart[i] }
        let neighbours = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(kernelStart[n], 1))
        defer { neighbours.deallocate() }
        for i in 0...n { fill[i] = kernelStart[i] }
        for e in 0..<edges where alive[e] && resolve(Int32(e)) == e {
            let a = Int(ends[2 * e]), b = Int(ends[2 * e + 1])
            neighbours[fill[a]] = Int32(b); fill[a] += 1
            neighbours[fill[b]] = Int32(a); fill[b] += 1
        }
        level.initialize(repeating: -1)
        // Breadth-first search from `source` with the queue buffer as its frontier list; returns
        // the last node reached and the depth, then clears the levels it set.
        func sweep(from source: Int) -> (farthest: Int, depth: Int) {
            var head = 0, tail = 1, farthest = source
            queue[0] = Int32(source)
            level[source] = 0
            while head < tail {
                let v = Int(queue[head]); head += 1
                let next = level[v] + 1
                for k in kernelStart[v]..<kernelStart[v + 1] where level[Int(neighbours[k])] < 0 {
                    let w = Int(neighbours[k])
                    level[w] = next
                    queue[tail] = Int32(w); tail += 1
                    farthest = w
                }
            }
            let depth = Int(level[farthest])
            for k in 0..<tail { level[Int(queue[k])] = -1 }
            return (farthest, depth)
        }
        guard let first = (0..<n).first(where: { kernelStart[$0 + 1] > kernelStart[$0] }) else {
            return ((remainingNodes, remainingEdges, 0), lowFillOrder((kernelStart, neighbours)))
        }
        let (far, _) = sweep(from: first)
        let depth = sweep(from: far).depth
        return ((remainingNodes, remainingEdges, depth), lowFillOrder((kernelStart, neighbours)))
    }

    /// The kernel's minimum-degree elimination restricted to degrees ≤ `maxDegree` (thresholds
    /// 2, 3, …, maxDegree in turn, each a queue pass), with the fill it makes; nil when the core
    /// it leaves exceeds `coreLimit` nodes. The core is appended by increasing degree and
    /// counted dense (nonzeros c(c+1)/2, flops c³/3): a bound, not an estimate. The order is
    /// returned postordered (`postorder`) unless `postordered` is false (tests compare the two).
    private static func boundedElimination(n: Int, order: inout [Int], neighbours: inout [Int32], neighbourStart: inout [Int],
                                           kernelNodes: [Int],
                                           kernelAdjacency: (start: UnsafeMutableBufferPointer<Int>, list: UnsafeMutableBufferPointer<Int32>)?,
                                           factorNonzeros: Double, flops: Double, maxDegree: Int,
                                           coreLimit: Int, postordered: Bool) -> LowFillOrder? {
        var factorNonzeros = factorNonzeros, flops = flops
        let k = kernelNodes.count
        if k > 0 {
            // Local numbering of the kernel; adjacency lists deduplicated, self-loops dropped.
            var local = [Int32](repeating: -1, count: n)
            for (i, v) in kernelNodes.enumerated() { local[v] = Int32(i) }
            var adjacency = [[Int32]](repeating: [], count: k)
            if let (start, list) = kernelAdjacency {
                for (i, v) in kernelNodes.enumerated() where start[v + 1] > start[v] {
                    adjacency[i].reserveCapacity(start[v + 1] - start[v])
                    for slot in start[v]..<start[v + 1] where Int(list[slot]) != v { adjacency[i].append(local[Int(list[slot])]) }
                }
            }
            var degree = [Int](repeating: 0, count: k)
            for i in 0..<k {
                adjacency[i].sort()
                var w = 0
                for j in adjacency[i].indices where w == 0 || adjacency[i][j] != adjacency[i][w - 1] {
                    adjacency[i][w] = adjacency[i][j]; w += 1
                }
                adjacency[i].removeLast(adjacency[i].count - w)
                degree[i] = w
            }
            // Heavy nodes (degree above 4·maxDegree) are never eliminated here: their lists are
            // dropped and their degree only counted.
            let heavyDegree = 4 * maxDegree
            // Heavy nodes end in the core: more than `coreLimit` of them ends the search.
            var heavy = [Bool](repeating: false, count: k), heavyCount = 0
            for i in 0..<k where degree[i] > heavyDegree { heavy[i] = true; adjacency[i] = []; heavyCount += 1 }
            if heavyCount > coreLimit { return nil }
            var done = [Bool](repeating: false, count: k)
            var queue: [Int] = []
            var mark = [Int](repeating: 0, count: k), stamp = 0
            for threshold in 2...max(2, maxDegree) {
                queue.removeAll(keepingCapacity: true)
                for i in 0..<k where !done[i] && degree[i] <= threshold { queue.append(i) }
                var head = 0
                while head < queue.count {
                    let v = queue[head]; head += 1
                    guard !done[v], !heavy[v], degree[v] <= threshold else { continue }
                    done[v] = true
                    order.append(kernelNodes[v])
                    let around = adjacency[v]
                    for x in around { neighbours.append(Int32(kernelNodes[Int(x)])) }
                    neighbourStart.append(neighbours.count)
                    let d = Double(around.count)
                    factorNonzeros += 1 + d; flops += 1 + d * (d + 3) / 2
                    for x in around {
                        let xi = Int(x)
                        degree[xi] -= 1
                        if !heavy[xi], let at = adjacency[xi].firstIndex(of: Int32(v)) { adjacency[xi].swapAt(at, adjacency[xi].count - 1); adjacency[xi].removeLast() }
                    }
                    // The neighbours become a clique (the fill of eliminating v): x's list marked
                    // once, each later neighbour looked up in O(1).
                    for p in around.indices {
                        let xi = Int(around[p])
                        let xLight = !heavy[xi]
                        if xLight { stamp += 1; for w in adjacency[xi] { mark[Int(w)] = stamp } }
                        for q in (p + 1)..<around.count {
                            let yi = Int(around[q])
                            let present = xLight ? mark[yi] == stamp : (!heavy[yi] ? adjacency[yi].contains(Int32(xi)) : false)
                            if present { continue }
                            degree[xi] += 1; degree[yi] += 1
                            if !heavy[xi] { adjacency[xi].append(Int32(yi)) }
                            if !heavy[yi] { adjacency[yi].append(Int32(xi)) }
                            if !heavy[xi] && degree[xi] > heavyDegree { heavy[xi] = true; adjacency[xi] = []; heavyCount += 1 }
                            if !heavy[yi] && degree[yi] > heavyDegree { heavy[yi] = true; adjacency[yi] = []; heavyCount += 1 }
                            if heavyCount > coreLimit { return nil }
                        }
                    }
                    for x in around where !done[Int(x)] && !heavy[Int(x)] && degree[Int(x)] <= threshold { queue.append(Int(x)) }
                    adjacency[v] = []
                }
            }
            let core = (0..<k).filter { !done[$0] }
            guard core.count <= coreLimit else { return nil }
            let c = Double(core.count)
            factorNonzeros += c * (c + 1) / 2; flops += c * c * c / 3
            order.append(contentsOf: core.sorted { degree[$0] < degree[$1] }.map { kernelNodes[$0] })
            guard order.count == n else { return nil }
            return LowFillOrder(order: postordered ? postorder(order, neighbours: neighbours, neighbourStart: neighbourStart) : order,
                                factorNonzeros: factorNonzeros, flops: flops, core: core.count, maxDegree: maxDegree)
        }
        guard order.count == n else { return nil }
        return LowFillOrder(order: postordered ? postorder(order, neighbours: neighbours, neighbourStart: neighbourStart) : order,
                            factorNonzeros: factorNonzeros, flops: flops, core: 0, maxDegree: maxDegree)
    }

    /// The order postordered: an equivalent order (the same fill) whose elimination subtrees
    /// are contiguous, which CHOLMOD analyzes and factorizes markedly faster than the series
    /// reduction's raw order on a 10⁶-node tree-like graph (memory locality; seen once with a
    /// throwaway prototype against libcholmod). The tree:
    /// each eliminated node's parent is its first-eliminated neighbour when it went (its factor
    /// column's first entry); the core's nodes (after `neighbourStart.count − 1` eliminated)
    /// form a chain, an ancestor path of the true tree, so the result is a topological order
    /// of the true elimination tree — equivalent (Liu, 1990).
    static func postorder(_ order: [Int], neighbours: [Int32], neighbourStart: [Int]) -> [Int] {
        let n = order.count
        guard n > 1 else { return order }
        let eliminated = neighbourStart.count - 1
        let position = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        let parent = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        let head = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        let next = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        let stack = UnsafeMutableBufferPointer<Int32>.allocate(capacity: n)
        defer { position.deallocate(); parent.deallocate(); head.deallocate(); next.deallocate(); stack.deallocate() }
        for (k, v) in order.enumerated() { position[v] = Int32(k) }
        for k in 0..<n {
            if k < eliminated {
                var first = Int32(-1)
                for slot in neighbourStart[k]..<neighbourStart[k + 1] {
                    let p = position[Int(neighbours[slot])]
                    if first < 0 || p < first { first = p }
                }
                parent[k] = first
            } else {
                parent[k] = k + 1 < n ? Int32(k + 1) : -1
            }
            head[k] = -1
        }
        // Children lists in increasing order, then an iterative depth-first postorder.
        for k in stride(from: n - 1, through: 0, by: -1) where parent[k] >= 0 {
            let q = Int(parent[k])
            next[k] = head[q]; head[q] = Int32(k)
        }
        var result = [Int](repeating: 0, count: n)
        var written = 0
        result.withUnsafeMutableBufferPointer { result in
            for root in 0..<n where parent[root] < 0 {
                var top = 0
                stack[0] = Int32(root)
                while top >= 0 {
                    let q = Int(stack[top])
                    let child = head[q]
                    if child < 0 {
                        top -= 1
                        result[written] = order[q]; written += 1
                    } else {
                        head[q] = next[Int(child)]
                        top += 1
                        stack[top] = child
                    }
                }
            }
        }
        return result
    }

    /// The Jacobi preconditioner of the probes (nil without a positive diagonal or with
    /// `jacobi` off).
    func jacobiPreconditioner(_ a: any LinearOperator) -> (any LinearOperator)? {
        jacobi ? a.diagonal.flatMap { d in d.allSatisfy({ $0 > 0 }) ? try? JacobiPreconditioner(diagonal: d) : nil } : nil
    }

    /// Iterations Jacobi-CG is predicted to need, from `probeIterations` iterations on a fixed
    /// pseudo-random right-hand side (nil when the probe breaks down: not positive definite).
    func probe(_ a: any LinearOperator) -> (iterations: Int, rate: Double)? {
        // The rate over the probe's second half, when slower than the whole probe's: CG's first
        // iterations remove the well-separated part of the spectrum, and their rate flatters an
        // ill-conditioned matrix (a jammed packing's Hessian: the whole-probe rate predicted a
        // small fraction of the iterations CG then took, and CHOLMOD was 13× faster).
        predictIterations(a, preconditioner: jacobiPreconditioner(a), probeIterations: probeIterations, minimumLateSteps: 4, source: nil)
    }

    /// Where the probes run: the fixed pseudo-random right-hand side (nil source), or a
    /// solve's own — the first solve of a prepared state, where a CG + AMG probe starts from
    /// the Jacobi-CG probe's iterate and leaves its own iterate for the chosen method.
    final class ProbeSource {
        let b: [Double]
        let start: [Double]?
        /// The last probe's iterate.
        var iterate: [Double]?
        /// Iterations the probes ran on this right-hand side (the Jacobi-CG one's included).
        var iterations: Int
        init(b: [Double], start: [Double]?, iterations: Int) {
            self.b = b
            self.start = start
            self.iterations = iterations
        }
    }

    /// Runs `probeIterations` of CG (with `preconditioner`) on the source's right-hand side
    /// (a fixed pseudo-random one without a source) and predicts the iterations to
    /// `options.relativeTolerance`. Nil when the probe breaks down or does not decrease.
    private func predictIterations(_ a: any LinearOperator, preconditioner: (any LinearOperator)?, probeIterations: Int,
                                   minimumLateSteps: Int, source: ProbeSource?) -> (iterations: Int, rate: Double)? {
        var random = SplitMix64(seed: 0x9e37_79b9)
        let b = source?.b ?? (0..<a.rows).map { _ in random.nextUniform() - 0.5 }
        var o = KrylovOptions(relativeTolerance: options.relativeTolerance, maxIterations: probeIterations, recordHistory: true)
        o.absoluteTolerance = 0
        guard let result = try? ConjugateGradient(options: o).solve(a, b, preconditioner: preconditioner, initialGuess: source?.start)
        else { return nil }
        if let source {
            source.iterate = result.solution
            source.iterations += result.iterations
        }
        return prediction(history: result.residualHistory ?? [], status: result.status, iterations: result.iterations,
                          target: options.relativeTolerance * Vector.norm(b), n: a.rows, minimumLateSteps: minimumLateSteps)
    }

    /// The iterations a CG run is predicted to need in all, from its residual history so far
    /// (entry 0: the starting residual): continuing from where it stopped at the slower of
    /// the whole history's rate and its later half's (that half needs at least
    /// `minimumLateSteps` steps) down to `target`. (0 rate: the run converged.) Nil when it
    /// broke down or does not decrease.
    func prediction(history: [Double], status: KrylovStatus, iterations: Int, target: Double, n: Int,
                    minimumLateSteps: Int) -> (iterations: Int, rate: Double)? {
        if status == .converged { return (max(iterations, 1), 0) }
        guard status == .maximumIterations, let first = history.first, first > 0,
              let last = history.last, last.isFinite, last > 0, iterations > 0 else { return nil }
        let overall = Foundation.pow(last / first, 1 / Double(iterations))
        let middle = history.count / 2
        let lateSteps = history.count - 1 - middle
        let late = lateSteps >= minimumLateSteps && history[middle] > 0
            ? Foundation.pow(last / history[middle], 1 / Double(lateSteps)) : overall
        let rate = max(overall, late)
        guard rate < 1 else { return nil }
        let remaining = Foundation.log(target / last) / Foundation.log(rate)
        let limit = Double(options.maxIterations ?? max(1000, 10 * n))
        return (Int(min(Double(iterations) + max(remaining, 0), limit).rounded(.up)), rate)
    }

    /// Iterations CG + AMG is predicted to need, from `amgProbeIterations` iterations on the
    /// Jacobi probe's right-hand side (from its iterate on a solve's own), with the hierarchy
    /// built for them (nil when AMG cannot be built or the probe breaks down).
    func amgProbe(_ a: any LinearOperator, source: ProbeSource? = nil) -> (iterations: Int, rate: Double, preconditioner: any LinearOperator)? {
        guard let m = try? PreconditionerChoice.amg(amgOptions).build(for: a) else { return nil }
        // A hierarchy whose coarsening stalled (its coarsest level still holds more than a tenth
        // of the unknowns, as on power-law graphs whose hubs defeat aggregation) is a two-level
        // method with a huge exact coarse solve: its first cycles flatter it and CG with it
        // stagnates; it is not a candidate.
        if let amg = m as? SmoothedAggregationAMG, let coarsest = amg.levels.last, amg.levels.count > 1,
           coarsest.rows > max(amgOptions.maxCoarse, a.rows / 10) { return nil }
        guard let (iterations, rate) = predictIterations(a, preconditioner: m, probeIterations: amgProbeIterations,
                                                         minimumLateSteps: 2, source: source) else { return nil }
        return (iterations, rate, m)
    }

    /// Seconds of one product with A and of one CG iteration (bytes moved / bandwidth).
    private func productSeconds(nonzeros: Int, n: Int) -> Double { Double(12 * nonzeros + 24 * n) / costModel.memoryBandwidth }
    private func cgIterationSeconds(nonzeros: Int, n: Int) -> Double {
        productSeconds(nonzeros: nonzeros, n: n) + Double(112 * n) / costModel.memoryBandwidth
    }

    /// A Krylov plan: the solver, its predicted seconds for `expectedSolves` solves, and why.
    typealias KrylovPlan = (method: KrylovSolver, seconds: Double, text: String)

    /// Jacobi-CG (unpreconditioned without a diagonal) priced by the probe.
    private func jacobiPlan(_ a: any LinearOperator, nonzeros: Int) -> KrylovPlan? {
        jacobiPlan(a, nonzeros: nonzeros, prediction: probe(a), done: nil)
    }

    /// Jacobi-CG priced from a prediction: `done` iterations of a solve already run (the
    /// first solve's probe, nil for the pseudo-random one) are not counted again: what remains
    /// is the rest of that solve and the other `expectedSolves − 1` in full.
    private func jacobiPlan(_ a: any LinearOperator, nonzeros: Int, prediction: (iterations: Int, rate: Double)?, done: Int?) -> KrylovPlan? {
        guard let (iterations, rate) = prediction else { return nil }
        let solves = Double(max(expectedSolves, 1))
        let count = done.map { Double(max(iterations - $0, 0)) + (solves - 1) * Double(iterations) } ?? solves * Double(iterations)
        let seconds = count * cgIterationSeconds(nonzeros: nonzeros, n: a.rows)
        let precondition: PreconditionerChoice = jacobi && a.diagonal != nil ? .jacobi : .none
        let on = done == nil ? "" : " on the first solve's right-hand side"
        let text = rate == 0 ? (done == nil ? "the \(probeIterations)-iteration Jacobi-CG probe converged in \(iterations)"
                                            : "Jacobi-CG converged in \(iterations) iterations of the first solve")
            : String(format: "a %d-iteration Jacobi-CG probe%@ (rate %.4f) predicts %d iterations", done ?? probeIterations, on, rate, iterations)
        return (krylov(.cg, precondition), seconds, text + String(format: done == nil ? " (≈ %.2g s)" : " (≈ %.2g s beyond the probe)", seconds))
    }

    /// AMG's set-up in seconds (the cost model's products with A).
    private func amgSetupSeconds(nonzeros: Int, n: Int) -> Double {
        costModel.amgSetupProducts * productSeconds(nonzeros: nonzeros, n: n)
    }

    /// Seconds of one CG + AMG iteration (a cycle and a CG iteration).
    private func amgIterationSeconds(nonzeros: Int, n: Int) -> Double {
        costModel.amgCycleProducts * productSeconds(nonzeros: nonzeros, n: n) + cgIterationSeconds(nonzeros: nonzeros, n: n)
    }

    /// The least CG + AMG can cost for `expectedSolves` solves: its set-up plus, per solve, the
    /// iterations `costModel.amgBestRate` needs to reach the tolerance.
    func amgLowerBound(nonzeros: Int, n: Int) -> Double {
        let iterations = max(1, (Foundation.log(options.relativeTolerance) / Foundation.log(costModel.amgBestRate)).rounded(.up))
        return amgSetupSeconds(nonzeros: nonzeros, n: n)
            + Double(max(expectedSolves, 1)) * iterations * amgIterationSeconds(nonzeros: nonzeros, n: n)
    }

    /// CG + AMG priced by its own probe (`amgProbeIterations` iterations with the hierarchy
    /// built for them, kept for the solver when AMG is taken). On a solve's own right-hand
    /// side (`source`) the probe's iterations are not counted again (the chosen solve starts
    /// from its iterate); the other solves are priced from zero at the probe's rate.
    private func amgPlan(_ a: any LinearOperator, nonzeros: Int, source: ProbeSource? = nil) -> KrylovPlan? {
        guard a.preconditioningMatrix != nil else { return nil }
        let before = source?.iterations ?? 0
        guard let amg = amgProbe(a, source: source) else { return nil }
        let n = a.rows, solves = Double(max(expectedSolves, 1))
        let perIteration = amgIterationSeconds(nonzeros: nonzeros, n: n)
        // The set-up is paid (the probe built the hierarchy the solver keeps): what remains is
        // the iterations.
        var count = solves * Double(amg.iterations)
        if let source {
            let done = source.iterations - before
            let fresh = amg.rate > 0 ? (Foundation.log(options.relativeTolerance) / Foundation.log(amg.rate)).rounded(.up) : Double(amg.iterations)
            count = Double(max(amg.iterations - done, 0)) + (solves - 1) * max(fresh, 1)
        }
        let seconds = count * perIteration
        let text = (amg.rate == 0
            ? "the \(amgProbeIterations)-iteration CG + AMG probe converged in \(amg.iterations)"
            : String(format: "a %d-iteration CG + AMG probe%@ (rate %.4f) predicts %d iterations", amgProbeIterations,
                     source == nil ? "" : " continuing the first solve", amg.rate, amg.iterations))
            + String(format: " (≈ %.2g s beyond its set-up)", seconds)
        let prebuilt = amg.preconditioner, identity = a.valuesIdentity, options = amgOptions
        let reuse = PreconditionerChoice.custom(name: "amg") { op in
            // The probe's hierarchy serves the operator it was built for; any other operator
            // gets its own.
            if let identity, op.valuesIdentity == identity, op.rows == prebuilt.rows { return prebuilt }
            guard let fresh = try PreconditionerChoice.amg(options).build(for: op) else {
                throw LinearSolveError.needsExplicitMatrix("the amg preconditioner")
            }
            return fresh
        }
        return (krylov(.cg, reuse), seconds, text)
    }

    /// The cheaper of Jacobi-CG and (for a Laplacian-like matrix, when Jacobi-CG is predicted
    /// to cost more than CG + AMG's lower bound `amgLowerBound`) CG + AMG.
    private func krylovPlan(_ a: any LinearOperator, nonzeros: Int, laplacianLike: Bool) -> KrylovPlan? {
        let plan = jacobiPlan(a, nonzeros: nonzeros)
        guard laplacianLike, let plan, plan.seconds > amgLowerBound(nonzeros: nonzeros, n: a.rows) else { return plan }
        return cheaper(plan, amgPlan(a, nonzeros: nonzeros))
    }

    private func cheaper(_ first: KrylovPlan, _ second: KrylovPlan?) -> KrylovPlan {
        guard let second else { return first }
        let text = first.text + "; Laplacian-like matrix: " + second.text
        return second.seconds < first.seconds ? (second.method, second.seconds, text) : (first.method, first.seconds, text)
    }

    private func symmetricChoice(_ a: any LinearOperator, _ m: CSRMatrix) throws -> Choice {
        let traits = Self.traits(m)
        if let small = smallSymmetricChoice(m, traits: traits) { return small }
        let structure = elimination(m)
        return try symmetricDecision(a, m, traits: traits, plan: jacobiPlan(a, nonzeros: m.nonzeroCount), source: nil,
                                     structure: structure)
    }

    private func describe(_ traits: MatrixTraits) -> String {
        traits.laplacianLike ? "symmetric Laplacian-like matrix (diagonally dominant M-matrix)"
            : traits.positiveDiagonal ? "symmetric matrix with a positive diagonal" : "symmetric matrix"
    }

    /// CHOLMOD at once for a small symmetric matrix or one whose diagonal is not positive (no
    /// probe); nil otherwise.
    private func smallSymmetricChoice(_ m: CSRMatrix, traits: MatrixTraits) -> Choice? {
        let nnz = m.nonzeroCount
        guard !traits.positiveDiagonal || nnz <= smallDirectNonzeros else { return nil }
        let lu = FallbackSolver.Stage(LUSolver(memoryBudget: memoryBudget, reason: ""), label: "then UMFPACK LU")
        let minres = FallbackSolver.Stage(krylov(.minres, jacobi && traits.positiveDiagonal ? .jacobi : .none),
                                          label: "then MINRES")
        let cholesky = CholeskySolver(ordering: ordering, memoryBudget: memoryBudget, flopBudget: directFlopBudget, reason: "")
        let why = traits.positiveDiagonal ? "\(nnz) ≤ \(smallDirectNonzeros) nonzeros" : "a diagonal entry not positive (not positive definite)"
        let reason = "\(describe(traits)), \(why): CHOLMOD within the budgets"
        let overBudget = FallbackSolver.Stage(krylov(traits.positiveDiagonal ? .cg : .minres,
                                                     jacobi && traits.positiveDiagonal ? .jacobi : .none),
                                              label: "then \(traits.positiveDiagonal ? "CG + Jacobi" : "MINRES")")
        return Choice(solver: FallbackSolver([.init(cholesky, label: ""), lu, overBudget, minres], reason: reason), reason: reason,
                      method: "cholesky", preconditioner: "none")
    }

    /// The elimination kernel and low-fill order of a matrix whose rows are mostly of degree
    /// ≤ 2 (`lowFillRowFraction`), computed before the probe; nil for other matrices, whose
    /// kernel is computed later only when needed.
    typealias Structure = (kernel: (nodes: Int, edges: Int, depth: Int), lowFill: LowFillOrder?)
    func elimination(_ m: CSRMatrix) -> Structure? {
        guard lowFillRowFraction > 0, m.rows > 0 else { return nil }
        var light = 0
        m.rowPointers.withUnsafeBufferPointer { p in for i in 0..<m.rows where p[i + 1] - p[i] <= 3 { light += 1 } }
        guard Double(light) >= lowFillRowFraction * Double(m.rows) else { return nil }
        return Self.eliminationStructure(m, lowFill: (lowFillMaxDegree, lowFillCoreLimit))
    }

    /// Predicted seconds of CHOLMOD in a low-fill order: the analysis without an ordering
    /// search, the factorization and `expectedSolves` solves.
    func lowFillSeconds(_ low: LowFillOrder, nonzeros: Int) -> Double {
        costModel.orderedAnalysisSecondsPerNonzero * Double(nonzeros)
            + low.flops / costModel.factorizationFlopRate + costModel.factorSecondsPerNonzero * low.factorNonzeros
            + Double(max(expectedSolves, 1)) * 24 * low.factorNonzeros / costModel.memoryBandwidth
    }

    /// The decision for a large symmetric matrix with a positive diagonal, given the Jacobi-CG
    /// plan (probed on the pseudo-random right-hand side, or on the first solve's: `source`,
    /// where a CG + AMG probe then runs too).
    /// With a low-fill order (`structure`), CHOLMOD's whole cost in it is weighed against the
    /// Krylov plan before any analysis runs.
    private func symmetricDecision(_ a: any LinearOperator, _ m: CSRMatrix, traits: MatrixTraits, plan jacobiPlan: KrylovPlan?,
                                   source: ProbeSource?, structure: Structure?) throws -> Choice {
        let nnz = m.nonzeroCount
        let lu = FallbackSolver.Stage(LUSolver(memoryBudget: memoryBudget, reason: ""), label: "then UMFPACK LU")
        let minres = FallbackSolver.Stage(krylov(.minres, jacobi ? .jacobi : .none), label: "then MINRES")
        let cholesky = CholeskySolver(ordering: ordering, memoryBudget: memoryBudget, flopBudget: directFlopBudget, reason: "")
        let describe = describe(traits)
        // Jacobi-CG first; CG + AMG is a candidate for a Laplacian-like matrix whose Jacobi-CG
        // estimate exceeds AMG's lower bound, probed only while it could still win (its probe
        // builds a hierarchy).
        let amgFloor = amgLowerBound(nonzeros: nnz, n: a.rows)
        let amgCandidate = traits.laplacianLike && a.preconditioningMatrix != nil
        var analysisEstimate = costModel.analysisSecondsPerNonzero * Double(nnz)
        var plan = jacobiPlan
        var amgProbed = !(amgCandidate && (plan.map { $0.seconds > amgFloor } ?? false))
        // AMG's probe runs only while CG + AMG's lower bound (set-up plus the iterations of its
        // best expected rate) is below the cheapest alternative known (`bound`).
        func probeAMG(below bound: Double = .infinity) {
            guard !amgProbed, let current = plan, amgFloor < min(bound, current.seconds) else { return }
            amgProbed = true
            plan = cheaper(current, amgPlan(a, nonzeros: nnz, source: source))
        }
        // A low-fill elimination order: CHOLMOD's whole cost is predicted before any analysis,
        // and its analysis takes the order as given.
        if let low = structure?.lowFill {
            let directSeconds = lowFillSeconds(low, nonzeros: nnz)
            probeAMG(below: directSeconds)
            let text = String(format: "CHOLMOD in a low-fill elimination order (series reduction, then minimum degree ≤ %d, "
                              + "core of %d nodes; predicted factor %.3g nonzeros, %.2g flops) ≈ %.2g s", low.maxDegree, low.core,
                              low.factorNonzeros, low.flops, directSeconds)
            if let plan, plan.seconds < directSeconds {
                let reason = "\(describe): \(plan.text), less than \(text)"
                return Choice(solver: FallbackSolver([.init(plan.method, label: ""), .init(cholesky, label: "then CHOLMOD"), lu, minres],
                                                     reason: reason),
                              reason: reason, method: "cg", preconditioner: plan.method.preconditioner.name)
            }
            do {
                var direct = cholesky
                direct.analysis = try CholeskyFactorization(symmetric: m, permutation: low.order, memoryBudget: memoryBudget)
                let reason = "\(describe): \(text)" + (plan.map { ", less than the Krylov estimate: \($0.text)" } ?? "; the Jacobi-CG probe gave no estimate (it broke down, or its residual did not decrease)")
                return Choice(solver: FallbackSolver([.init(direct, label: ""), lu, minres], reason: reason), reason: reason,
                              method: "cholesky", preconditioner: "none")
            } catch SparseError.factorTooLarge {
                // The dense core's bound is not the factor: the ordinary path decides.
            }
        }
        // CHOLMOD's analysis: a per-nonzero cost everywhere plus a larger one on the elimination
        // kernel (where the fill is), computed only when the cheap part alone does not settle it.
        var kernelText = ""
        var geometric = false
        if plan.map({ $0.seconds >= analysisEstimate }) ?? true {
            // The kernel's part is priced at `analysisRiskFactor` × its coefficient (the upper
            // end of what was measured): an analysis that then loses is time lost.
            let kernel = structure?.kernel ?? Self.eliminationKernelGraph(m)
            geometric = Double(kernel.depth) >= costModel.geometricDepthFraction * Double(kernel.nodes).squareRoot()
            analysisEstimate += (geometric ? costModel.geometricKernelAnalysisSecondsPerNonzero
                                           : costModel.analysisRiskFactor * costModel.kernelAnalysisSecondsPerNonzero)
                * Double(kernel.nodes + 2 * kernel.edges)
            kernelText = ", elimination kernel \(kernel.nodes) nodes / \(kernel.edges) edges, depth \(kernel.depth)\(geometric ? " (geometric)" : "")"
        }
        // Before the analysis of a geometric kernel runs, CG + AMG is probed when its lower
        // bound is below twice the analysis (a direct solve then pays the analysis and a
        // factorization with fill): on the 10⁶ grid at λ = 100 the analysis is predicted at
        // 3.5 s and AMG's floor above it, but AMG takes 1.4 s for both solves where CHOLMOD
        // takes 3.1 s (docs/BENCHMARKS.md, the policy table). A kernel with little fill
        // (tree-like graphs) factors at once: no probe before its analysis.
        if let current = plan, current.seconds < analysisEstimate { probeAMG() } else if geometric { probeAMG(below: 2 * analysisEstimate) }
        if let plan, plan.seconds < analysisEstimate {
            let reason = "\(describe): \(plan.text), less than CHOLMOD's predicted analysis alone (≈ \(String(format: "%.2g", analysisEstimate)) s\(kernelText))"
            return Choice(solver: FallbackSolver([.init(plan.method, label: ""),
                                                  .init(cholesky, label: "then CHOLMOD"), lu, minres], reason: reason),
                          reason: reason, method: "cg", preconditioner: plan.method.preconditioner.name)
        }
        // The symbolic analysis: predicted factor bytes and flops.
        let analysis: CholeskyFactorization
        do {
            analysis = try cholesky.analyze(a)
        } catch SparseError.factorTooLarge(let predicted, let budget) {
            probeAMG()
            let method = plan?.method ?? krylov(.minres, .jacobi)
            let reason = "\(describe): the predicted Cholesky factor (\(formatBytes(predicted))) exceeds the \(formatBytes(budget)) budget; "
                + (plan?.text ?? "the Jacobi-CG probe gave no estimate (it broke down, or its residual did not decrease): MINRES")
            return Choice(solver: FallbackSolver([.init(method, label: ""), minres], reason: reason), reason: reason,
                          method: method.method.rawValue, preconditioner: method.preconditioner.name)
        }
        var direct = cholesky
        direct.analysis = analysis
        let solves = Double(max(expectedSolves, 1))
        // The analysis is paid: what remains is the factorization and the solves.
        let directSeconds = analysis.predictedFlops / costModel.factorizationFlopRate
            + solves * Double(24 * analysis.predictedFactorNonzeros) / costModel.memoryBandwidth
        // AMG could still win only if its lower bound is below the factorization's cost.
        probeAMG(below: directSeconds)
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
            + (plan.map { " and beats the Krylov estimate: \($0.text)" } ?? "; the Jacobi-CG probe gave no estimate (it broke down, or its residual did not decrease)")
        return Choice(solver: FallbackSolver([.init(direct, label: ""), lu, minres], reason: reason), reason: reason,
                      method: "cholesky", preconditioner: "none")
    }

    /// An operator distributed over processes: a Krylov method whose sums are reduced (no
    /// direct method and no probe here: the PETSc backend's own solvers factorize or build
    /// multigrid in parallel). Jacobi when every process's diagonal is usable — agreed by a
    /// reduction, so that every process takes the same method.
    private func distributedChoice(_ a: any LinearOperator, _ space: VectorSpace) -> Choice {
        // Processes whose diagonal has an entry not positive, and one not usable at all, in one
        // reduction (a missing diagonal counts as both).
        let diagonal = a.diagonal
        let bad = space.sum([diagonal.map { d in d.allSatisfy { $0 > 0 && $0.isFinite } ? 0 : 1 } ?? 1,
                             diagonal.map { d in d.allSatisfy { $0 != 0 && $0.isFinite } ? 0 : 1 } ?? 1])
        let positive = bad[0] == 0, nonzero = bad[1] == 0
        let parts = "distributed over \(space.parts) processes"
        if a.isSymmetric && a.isPositiveDefinite {
            let precondition: PreconditionerChoice = jacobi && positive ? .jacobi : .none
            let reason = "\(parts), symmetric positive definite: CG" + (jacobi && positive ? " + Jacobi" : "")
            return Choice(solver: FallbackSolver([.init(krylov(.cg, precondition), label: ""),
                                                  .init(krylov(.minres, precondition), label: "then MINRES")], reason: reason),
                          reason: reason, method: "cg", preconditioner: precondition.name)
        }
        if a.isSymmetric {
            let precondition: PreconditionerChoice = jacobi && positive ? .jacobi : .none
            let reason = "\(parts), symmetric: MINRES" + (jacobi && positive ? " + Jacobi" : "")
            return single(krylov(.minres, precondition), reason, method: "minres", preconditioner: precondition.name)
        }
        let precondition: PreconditionerChoice = jacobi && nonzero ? .jacobi : .none
        let reason = "\(parts), unsymmetric: GMRES" + (jacobi && nonzero ? " + Jacobi" : "")
        return single(krylov(.gmres, precondition), reason, method: "gmres", preconditioner: precondition.name)
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

// MARK: - The probe in the first solve

extension AutomaticLinearSolver {
    /// Whether a choice's first stage is the Jacobi-CG plan (CG with Jacobi or none, not AMG).
    private func isJacobiCG(_ choice: Choice) -> Bool { choice.method == "cg" && choice.preconditioner != "amg" }

    /// The first solve of a `ProbingSolveState`: Jacobi-CG on `b` whose first
    /// `probeIterations` iterations are the probe. At that checkpoint the decision is made as
    /// `choice(for:)` makes it, with the Jacobi-CG estimate counting only what remains; when
    /// Jacobi-CG is chosen the run goes on, otherwise it stops and the chosen method solves
    /// from the probes' iterate (CG + AMG) or afresh (CHOLMOD). A run that ends before the
    /// checkpoint (converged, or broke down) is decided from what it showed.
    func probedFirstSolve(_ a: any LinearOperator, traits: MatrixTraits, _ b: [Double],
                          initialGuess: [Double]?) throws -> (state: FallbackSolverState, outcome: LinearSolveOutcome) {
        let start = DispatchTime.now().uptimeNanoseconds
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("the automatic policy's probe") }
        let nnz = m.nonzeroCount, target = options.relativeTolerance * Vector.norm(b)
        let guess = initialGuess?.count == a.rows ? initialGuess : nil
        var decided: Choice?, decisionError: Error?
        var source: ProbeSource?
        // A low-fill order is looked for first (matrices of mostly degree-≤ 2 rows): CHOLMOD's
        // cost in it is then known, and the probe is first looked at early.
        let structure = elimination(m)
        let early = structure?.lowFill.map { _ in lowFillProbeIterations }.flatMap { $0 > 0 && $0 < probeIterations ? $0 : nil }
        let checkpoint = ConjugateGradient.Checkpoint(iteration: probeIterations, earlier: early) { history, x in
            let done = history.count - 1
            let predicted = self.prediction(history: history, status: .maximumIterations, iterations: done,
                                            target: target, n: a.rows, minimumLateSteps: 4)
            let plan = self.jacobiPlan(a, nonzeros: nnz, prediction: predicted, done: done)
            // Early, only a verdict against Jacobi-CG is taken (its early rate flatters it).
            if done == early, let low = structure?.lowFill, let plan, plan.seconds < self.lowFillSeconds(low, nonzeros: nnz) {
                return true
            }
            let here = ProbeSource(b: b, start: Array(x), iterations: done)
            source = here
            do {
                let choice = try self.symmetricDecision(a, m, traits: traits, plan: plan, source: here, structure: structure)
                decided = choice
                return self.isJacobiCG(choice)
            } catch {
                decisionError = error
                return false
            }
        }
        let result = try ConjugateGradient(options: options).solve(a, b, preconditioner: jacobiPreconditioner(a), initialGuess: guess,
                                                                   checkpoint: checkpoint)
        if let decisionError { throw decisionError }
        // A run that ended before the checkpoint: decided from its own history (converged: the
        // other solves are priced at its count; broke down: no Krylov plan).
        let choice = try decided ?? symmetricDecision(
            a, m, traits: traits,
            plan: jacobiPlan(a, nonzeros: nnz,
                             prediction: prediction(history: result.residualHistory ?? [], status: result.status, iterations: result.iterations,
                                                    target: target, n: a.rows, minimumLateSteps: 4),
                             done: result.iterations),
            source: nil, structure: structure)
        var solver = choice.solver
        solver.acceptableResidual = options.acceptableTrueResidual
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
        let state = try solver.prepareState(a)
        if isJacobiCG(choice) || result.status == .converged {
            // The run is the chosen method's solve (or converged before any choice mattered).
            do {
                var outcome = try KrylovSolverState.outcome(of: result, method: "cg", options: options)
                outcome.seconds = elapsed()
                return (state, outcome)
            } catch {
                if isJacobiCG(choice) { try state.abandonCurrent(after: error) }
                var outcome = try state.solve(b, transposed: false, initialGuess: nil)
                outcome.seconds = elapsed()
                return (state, outcome)
            }
        }
        // Another method was chosen at the checkpoint: it solves from the probes' iterate (a
        // Krylov method; a direct one ignores it), and a Krylov count includes the probes'.
        let warm = result.status == .breakdown ? nil : (source?.iterate ?? result.solution)
        var outcome = try state.solve(b, transposed: false, initialGuess: warm)
        if outcome.iterations > 0, let source { outcome.iterations += source.iterations }
        outcome.seconds = elapsed()
        return (state, outcome)
    }
}

/// The automatic policy's state for a large explicit symmetric matrix with a positive
/// diagonal: the decision is made in the first solve (`AutomaticLinearSolver.prepare`), after
/// which the chosen method's state (with its stated fallbacks) serves every solve. Until then
/// it reports Jacobi-CG, the method the probe runs.
final class ProbingSolveState: LinearSolverState {
    private let policy: AutomaticLinearSolver
    private var a: any LinearOperator
    private var traits: AutomaticLinearSolver.MatrixTraits?
    private var decided: FallbackSolverState?

    init(policy: AutomaticLinearSolver, operator a: any LinearOperator, traits: AutomaticLinearSolver.MatrixTraits) {
        self.policy = policy
        self.a = a
        self.traits = traits
    }

    var method: String { decided?.method ?? "cg" }
    var preconditioner: String { decided?.preconditioner ?? (policy.jacobi ? "jacobi" : "none") }
    var reason: String {
        decided?.reason ?? "the choice is made in the first solve: its first \(policy.probeIterations) Jacobi-CG iterations are the probe"
    }
    var fellBack: Bool { decided?.fellBack ?? false }
    var details: LinearSolverDetails { decided?.details ?? LinearSolverDetails() }
    var memoryBytes: Int { decided?.memoryBytes ?? 0 }
    var timings: LinearSolverTimings { decided?.timings ?? LinearSolverTimings() }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        if let decided { return try decided.solve(b, transposed: transposed, initialGuess: initialGuess) }
        guard b.count == a.rows else {
            throw SparseError.dimensionMismatch(operation: "automatic policy solve", expected: "a right-hand side of length \(a.rows)",
                                                actual: "length \(b.count)")
        }
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("the automatic policy's probe") }
        let traits = self.traits ?? AutomaticLinearSolver.traits(m)
        // The matrix is symmetric: Aᵀ u = b is the same solve.
        let (state, outcome) = try policy.probedFirstSolve(a, traits: traits, b, initialGuess: initialGuess)
        decided = state
        return outcome
    }

    func update(_ a: any LinearOperator) throws {
        guard a.rows == self.a.rows, a.columns == self.a.columns else {
            throw SparseError.patternMismatch("automatic policy update: the operator is \(a.rows) × \(a.columns), was \(self.a.rows) × \(self.a.columns)")
        }
        self.a = a
        if let decided { try decided.update(a) } else { traits = nil }
    }
}
