import Dispatch
import Foundation
import Sparse

/// Smoothed-aggregation algebraic multigrid (Vaněk, Mandel & Brezina, 1996), usable as a
/// CG preconditioner (one V- or W-cycle per application, symmetric) and as a standalone
/// solver (`solve`).
///
/// Set-up: symmetric strength of connection with threshold θ, standard aggregation,
/// tentative prolongator from the near-null space (constant by default), Jacobi-smoothed
/// prolongation P = (I − ω/ρ(D⁻¹A_F)·D⁻¹A_F)P_tent with the filtered operator A_F, Galerkin coarse operators RAP with R = Pᵀ
/// through sparse products, down to `maxCoarse` unknowns, where CHOLMOD factorizes the
/// coarsest operator (a dense pseudo-inverse when it is singular, as for a pure Laplacian).
/// Cycles: Gauss–Seidel (symmetric sweeps, hybrid-parallel over row blocks: Gauss–Seidel
/// inside a block, Jacobi across blocks) or damped Jacobi smoothing.
///
/// Parallelism: sparse products, SpMVs, Jacobi and the block-hybrid Gauss–Seidel use
/// `SparseThreads.count` threads; aggregation is serial.
/// Memory: Σ over levels of the operator, P and R (12 bytes per nonzero each) plus 5
/// vectors per level; `memoryBytes` reports it.
public final class SmoothedAggregationAMG: Preconditioner {
    public enum Smoother: String, Sendable, CaseIterable { case gaussSeidel = "gauss-seidel", jacobi }
    public enum Cycle: String, Sendable, CaseIterable { case v, w }
    public enum Prolongator: String, Sendable, CaseIterable { case automatic, smoothed, plain }

    public struct Options: Sendable {
        /// Strength threshold θ of the symmetric measure |a_ij| ≥ θ√|a_ii a_jj| (0, PyAMG's
        /// default, keeps every connection). With θ > 0 the prolongator is smoothed with the
        /// filtered operator (weak entries lumped into the diagonal).
        public var strengthThreshold: Double = 0
        /// Entries of the smoothed prolongator below this fraction of their row's largest
        /// |entry| are dropped and the row rescaled to its former sum (as hypre's truncation
        /// factor). It keeps P, and so the coarse operators, sparse around high-degree graph
        /// nodes, whose rows would otherwise spread over every neighbouring aggregate and fill
        /// the coarse levels in; 0 keeps P exact.
        public var prolongatorTruncation: Double = 0.1
        public var maxLevels: Int = 10
        /// Stop coarsening at this many unknowns.
        public var maxCoarse: Int = 500
        public var smoother: Smoother = .gaussSeidel
        /// Smoothing steps before and after the coarse correction.
        public var presweeps: Int = 1
        public var postsweeps: Int = 1
        /// true: each Gauss–Seidel step is a symmetric sweep (forward then backward before the
        /// correction, backward then forward after it), as PyAMG's default; false: one forward
        /// sweep before and one backward sweep after, half the work, and still a symmetric
        /// cycle. (Jacobi steps are one damped sweep either way, two when true.)
        public var symmetricSweeps: Bool = true
        public var cycle: Cycle = .v
        /// ω of the prolongation smoother, scaled by 1/ρ(D⁻¹A).
        public var prolongationWeight: Double = 4.0 / 3.0
        /// Smoothed (P = (I − ω/ρ D⁻¹A)P_tent) or plain (P = P_tent) aggregation. Plain
        /// aggregation never gives a coarse operator more nonzeros than the fine one: the choice
        /// for graphs with high-degree nodes, where a smoothed P spreads each hub over its
        /// two-hop neighbourhood and RAP fills in (PyAMG's default operator complexity on a
        /// 10⁵-node power-law graph Laplacian is about 100). `.automatic` picks plain
        /// aggregation when the largest row has more than 32 times the mean row's nonzeros.
        public var prolongator: Prolongator = .automatic
        /// Near-null-space vectors (each of length n); nil means the constant vector.
        public var nearNullSpace: [[Double]]? = nil
        public init() {}
    }

    public struct Level: Sendable {
        public var rows: Int
        public var nonzeros: Int
    }

    public let options: Options
    /// Whether the hierarchy uses smoothed prolongators (the `.automatic` choice resolved).
    public let usesSmoothedProlongator: Bool
    public let setupSeconds: Double
    /// Rows and nonzeros of each level's operator, finest first.
    public let levels: [Level]
    /// Σ nnz(A_l) / nnz(A_0).
    public var operatorComplexity: Double {
        Double(levels.reduce(0) { $0 + $1.nonzeros }) / Double(max(levels[0].nonzeros, 1))
    }
    /// Σ rows(A_l) / rows(A_0).
    public var gridComplexity: Double {
        Double(levels.reduce(0) { $0 + $1.rows }) / Double(max(levels[0].rows, 1))
    }
    public var name: String { "amg" }
    public var rows: Int { hierarchy[0].a.rows }
    public var columns: Int { rows }
    public var isSymmetric: Bool { true }
    public var isPositiveDefinite: Bool { true }
    public let memoryBytes: Int

    private final class Storage {
        let a: CSRMatrix
        let inverseDiagonal: [Double]
        var jacobiWeight: Double = 0
        var p: CSRMatrix?
        var r: CSRMatrix?
        var x: [Double]
        var b: [Double]
        var residual: [Double]
        var previous: [Double]
        init(_ a: CSRMatrix) {
            self.a = a
            inverseDiagonal = a.diagonalEntries().map { $0 != 0 ? 1 / $0 : 0 }
            x = [Double](repeating: 0, count: a.rows)
            b = x; residual = x; previous = x
        }
    }

    private enum CoarseSolver { case cholesky(CholeskyFactorization), dense(DenseFactorization) }
    /// The aggregates of each level (aggregate of every row, aggregate count), kept for a
    /// numeric rebuild on new values of the same pattern.
    let aggregations: [(aggregateOf: [Int32], count: Int)]
    /// The pattern the hierarchy was built for.
    let builtForPattern: PatternIdentity?
    private let hierarchy: [Storage]
    private let coarseSolver: CoarseSolver
    private var coarseScratch: [Double]

    /// Builds the hierarchy for a symmetric matrix.
    /// - Throws: `.dimensionMismatch` if not square, `.invalidArgument` for bad options or
    ///   near-null-space vectors, `PreconditionerError.zeroDiagonal`.
    public convenience init(_ a: CSRMatrix, options: Options = Options()) throws {
        try self.init(a, options: options, reusing: nil)
    }

    /// The hierarchy rebuilt for new values of the same pattern (a refactorization's
    /// analogue): the aggregates of every level are kept — the strength graphs and the
    /// aggregation are not redone —, the prolongators, Galerkin products, smoothers and the
    /// coarsest factor are recomputed from the new values.
    /// - Throws: `SparseError.patternMismatch` when `a` does not have the pattern identity of
    ///   the matrix the hierarchy was built for; the set-up's own errors.
    public func rebuilt(for a: CSRMatrix) throws -> SmoothedAggregationAMG {
        guard let builtForPattern, a.patternIdentity == builtForPattern else {
            throw SparseError.patternMismatch("SmoothedAggregationAMG.rebuilt: the matrix does not carry the pattern identity of the one the hierarchy was built for (an equal pattern built anew has a new identity); make the new matrix with `replacingValues(_:)` on the old one to keep its identity, or build a new hierarchy")
        }
        return try SmoothedAggregationAMG(a, options: options, reusing: aggregations)
    }

    private init(_ a: CSRMatrix, options: Options, reusing: [(aggregateOf: [Int32], count: Int)]?) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        guard options.maxLevels >= 1, options.maxCoarse >= 1, options.presweeps >= 0, options.postsweeps >= 0,
              options.strengthThreshold >= 0, options.prolongationWeight > 0 else {
            throw SparseError.invalidArgument("AMG options out of range")
        }
        _ = try diagonalPositions(a, operation: "SmoothedAggregationAMG")
        let n = a.rows
        var nullSpace = options.nearNullSpace ?? [[Double]](repeating: [Double](repeating: 1, count: n), count: 1)
        guard !nullSpace.isEmpty, nullSpace.allSatisfy({ $0.count == n && $0.allSatisfy(\.isFinite) }) else {
            throw SparseError.invalidArgument("near-null-space vectors must be finite and of length \(n)")
        }
        var current = a
        current = current.declaringSymmetric()
        let smoothProlongator: Bool
        switch options.prolongator {
        case .smoothed: smoothProlongator = true
        case .plain: smoothProlongator = false
        case .automatic:
            var longest = 0
            let rp = a.rowPointers
            for i in 0..<n { longest = max(longest, rp[i + 1] - rp[i]) }
            smoothProlongator = Double(longest) <= 32 * Double(a.nonzeroCount) / Double(max(n, 1))
        }
        self.usesSmoothedProlongator = smoothProlongator
        var hierarchy: [Storage] = []
        var aggregations: [(aggregateOf: [Int32], count: Int)] = []
        var memory = 0
        while true {
            let level = Storage(current)
            hierarchy.append(level)
            memory += 12 * current.nonzeroCount + 8 * (current.rows + 1) + 5 * 8 * current.rows
            if options.smoother == .jacobi {
                let rho = Self.spectralRadiusOfJacobi(current, inverseDiagonal: level.inverseDiagonal)
                level.jacobiWeight = (4.0 / 3.0) / max(rho, 1e-300)
            }
            if current.rows <= options.maxCoarse || hierarchy.count >= options.maxLevels { break }
            let depth = hierarchy.count - 1
            let reused = reusing.flatMap { depth < $0.count && $0[depth].aggregateOf.count == current.rows ? $0[depth] : nil }
            // With θ = 0 nothing is filtered: a rebuild needs no strength graph at all.
            var filtered: CSRMatrix?
            var aggregateOf: [Int32], count: Int
            if let reused, options.strengthThreshold == 0 {
                (aggregateOf, count) = reused
            } else {
                let (sp, si, f) = Aggregation.strengthWithValues(current, theta: options.strengthThreshold,
                                                                 filtered: options.strengthThreshold > 0)
                filtered = f
                (aggregateOf, count) = reused ?? Aggregation.standard(n: current.rows, pointers: sp, indices: si)
            }
            let smoothing = filtered ?? current
            let smoothingInverseDiagonal = filtered == nil ? level.inverseDiagonal
                : smoothing.diagonalEntries().map { $0 != 0 ? 1 / $0 : 0 }
            // Stop when aggregation no longer coarsens (e.g. only isolated nodes are left).
            if Double(count * nullSpace.count) > 0.9 * Double(current.rows) || count == 0 { break }
            aggregations.append((aggregateOf, count))
            let (tentative, coarseNullSpace) = try Aggregation.tentativeProlongator(
                aggregateOf: aggregateOf, count: count, nearNullSpace: nullSpace)
            var p = tentative
            if smoothProlongator {
                // P = P_tent − (ω/ρ) D_F⁻¹ A_F P_tent (A_F = A when θ = 0)
                let rho = Self.spectralRadiusOfJacobi(smoothing, inverseDiagonal: smoothingInverseDiagonal)
                let ap = try smoothing.multiplying(tentative)
                let scale = smoothingInverseDiagonal.map { -options.prolongationWeight / max(rho, 1e-300) * $0 }
                p = try tentative.adding(ap.scalingRows(by: scale))
                if options.prolongatorTruncation > 0 { p = try Self.truncate(p, relative: options.prolongatorTruncation) }
            }
            let r = p.transposed()
            var coarse = try r.multiplying(current.multiplying(p))
            coarse = coarse.declaringSymmetric()
            level.p = p
            level.r = r
            memory += 24 * p.nonzeroCount
            current = coarse
            nullSpace = coarseNullSpace
        }
        // Coarsest level: CHOLMOD, or a dense pseudo-inverse when singular/indefinite.
        let last = hierarchy[hierarchy.count - 1].a
        var solver: CoarseSolver?
        if let chol = try? CholeskyFactorization(symmetric: last), (try? chol.factorize()) != nil {
            solver = .cholesky(chol)
            memory += chol.predictedFactorBytes
        } else if last.rows <= 5000 {
            var dense = [Double](repeating: 0, count: last.rows * last.rows)
            for i in 0..<last.rows {
                for k in last.rowPointers[i]..<last.rowPointers[i + 1] {
                    dense[Int(last.columnIndices[k]) * last.rows + i] = last.values[k]
                }
            }
            let pinv = try DenseFactorization(symmetricPseudoInverseOf: dense, dimension: last.rows)
            solver = .dense(pinv)
            memory += pinv.memoryBytes
        } else {
            throw SparseError.invalidArgument("AMG: the coarsest operator (\(last.rows) unknowns) is not positive definite; raise maxLevels")
        }
        self.options = options
        self.aggregations = aggregations
        self.builtForPattern = a.patternIdentity
        self.hierarchy = hierarchy
        self.coarseSolver = solver!
        self.coarseScratch = [Double](repeating: 0, count: last.rows)
        self.levels = hierarchy.map { Level(rows: $0.a.rows, nonzeros: $0.a.nonzeroCount) }
        self.memoryBytes = memory
        self.setupSeconds = elapsed(since: start)
    }

    /// Drops |p_ij| < τ·max_j |p_ij| in each row and rescales the kept entries so the row
    /// sum is unchanged. O(nnz(P)).
    static func truncate(_ p: CSRMatrix, relative tau: Double) throws -> CSRMatrix {
        let rp = p.rowPointers, rc = p.columnIndices, rv = p.values
        var pointers = [Int](repeating: 0, count: p.rows + 1)
        var indices = [Int32](), values = [Double]()
        indices.reserveCapacity(p.nonzeroCount)
        values.reserveCapacity(p.nonzeroCount)
        for i in 0..<p.rows {
            var largest = 0.0, total = 0.0
            for k in rp[i]..<rp[i + 1] { largest = max(largest, abs(rv[k])); total += rv[k] }
            let start = indices.count
            var kept = 0.0
            for k in rp[i]..<rp[i + 1] where abs(rv[k]) >= tau * largest && rv[k] != 0 {
                indices.append(rc[k]); values.append(rv[k]); kept += rv[k]
            }
            if kept != 0 && total != 0 {
                let scale = total / kept
                for k in start..<values.count { values[k] *= scale }
            }
            pointers[i + 1] = indices.count
        }
        return try CSRMatrix(rows: p.rows, columns: p.columns, rowPointers: pointers, columnIndices: indices, values: values)
    }

    /// ρ(D⁻¹A) by 15 power iterations from a fixed pseudo-random start (an estimate from
    /// below, as PyAMG's).
    static func spectralRadiusOfJacobi(_ a: CSRMatrix, inverseDiagonal: [Double]) -> Double {
        let n = a.rows
        guard n > 0 else { return 1 }
        var rng = SplitMix64(seed: 12345)
        var x = (0..<n).map { _ in rng.nextUniform() + 0.5 }
        var y = [Double](repeating: 0, count: n)
        var estimate = 1.0
        for _ in 0..<15 {
            let norm = Vector.norm(x)
            guard norm > 0 else { return 1 }
            for i in 0..<n { x[i] /= norm }
            x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { a.multiply(xb, into: $0) } }
            for i in 0..<n { y[i] *= inverseDiagonal[i] }
            estimate = Vector.norm(y)
            swap(&x, &y)
        }
        return estimate
    }

    // MARK: - Cycles

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        precondition(!accumulate, "SmoothedAggregationAMG does not accumulate")
        for i in 0..<rows { y[i] = 0 }
        cycle(level: 0, b: x, x: y)
    }

    /// One cycle on `level` for A x = b, improving x in place.
    private func cycle(level index: Int, b: UnsafeBufferPointer<Double>, x: UnsafeMutableBufferPointer<Double>) {
        let level = hierarchy[index]
        if index == hierarchy.count - 1 {
            // x ← A⁻¹b exactly (the coarse correction ignores the incoming x, which is zero
            // in V-cycles; in W-cycles the second visit solves for the same b).
            coarseScratch.withUnsafeMutableBufferPointer { scratch in
                switch coarseSolver {
                case let .cholesky(factor):
                    if let solution = try? factor.solve(Array(b)) { for i in 0..<x.count { x[i] = solution[i] } }
                case let .dense(factor):
                    for i in 0..<x.count { x[i] = b[i] }
                    factor.solve(inPlace: x.baseAddress!, scratch: scratch.baseAddress!)
                }
            }
            return
        }
        for _ in 0..<options.presweeps { smooth(level, b: b, x: x, forwardFirst: true) }
        let visits = options.cycle == .v ? 1 : 2
        let next = hierarchy[index + 1]
        for _ in 0..<visits {
            level.residual.withUnsafeMutableBufferPointer { r in
                level.a.multiply(UnsafeBufferPointer(x), into: r)
                for i in 0..<r.count { r[i] = b[i] - r[i] }
                next.b.withUnsafeMutableBufferPointer { cb in
                    level.r!.multiply(UnsafeBufferPointer(r), into: cb)
                }
            }
            next.x.withUnsafeMutableBufferPointer { cx in
                for i in 0..<cx.count { cx[i] = 0 }
                next.b.withUnsafeBufferPointer { cb in cycle(level: index + 1, b: cb, x: cx) }
                level.p!.multiply(UnsafeBufferPointer(cx), into: x, accumulate: true)
            }
        }
        for _ in 0..<options.postsweeps { smooth(level, b: b, x: x, forwardFirst: false) }
    }

    /// One symmetric smoothing step: Gauss–Seidel forward + backward (backward + forward
    /// after the correction, so that the cycle is symmetric), or two damped Jacobi sweeps.
    private func smooth(_ level: Storage, b: UnsafeBufferPointer<Double>, x: UnsafeMutableBufferPointer<Double>,
                        forwardFirst: Bool) {
        switch options.smoother {
        case .gaussSeidel:
            gaussSeidel(level, b: b, x: x, forward: forwardFirst)
            if options.symmetricSweeps { gaussSeidel(level, b: b, x: x, forward: !forwardFirst) }
        case .jacobi:
            jacobi(level, b: b, x: x)
            if options.symmetricSweeps { jacobi(level, b: b, x: x) }
        }
    }

    /// Hybrid Gauss–Seidel: sequential inside each of the nnz-balanced row blocks, with the
    /// previous iterate's values across blocks (read from a snapshot, so threads never read
    /// what another writes).
    private func gaussSeidel(_ level: Storage, b: UnsafeBufferPointer<Double>, x: UnsafeMutableBufferPointer<Double>,
                             forward: Bool) {
        let a = level.a
        let n = a.rows
        let blocks = n * 8 < SparseThreads.serialThreshold ? 1 : SparseThreads.count
        let pointers = a.rowPointers, indices = a.columnIndices, values = a.values
        pointers.withUnsafeBufferPointer { p in indices.withUnsafeBufferPointer { c in values.withUnsafeBufferPointer { v in
        level.inverseDiagonal.withUnsafeBufferPointer { dinv in level.previous.withUnsafeMutableBufferPointer { old in
            if blocks > 1 { for i in 0..<n { old[i] = x[i] } }
            let total = p[n]
            // Row blocks of near-equal nonzeros.
            var bounds = [Int](repeating: n, count: blocks + 1)
            bounds[0] = 0
            for blk in 1..<max(blocks, 1) {
                let target = total * blk / blocks
                var low = bounds[blk - 1], high = n
                while low < high { let mid = (low + high) / 2; if p[mid] < target { low = mid + 1 } else { high = mid } }
                bounds[blk] = low
            }
            let xb = x.baseAddress!, ob = old.baseAddress!
            let work = { (blk: Int) in
                let lo = bounds[blk], hi = bounds[blk + 1]
                var i = forward ? lo : hi - 1
                while forward ? i < hi : i >= lo {
                    var s = b[i]
                    var diagonal = 0.0
                    for k in p[i]..<p[i + 1] {
                        let j = Int(c[k])
                        if j == i { diagonal = v[k]; continue }
                        s -= v[k] * ((j >= lo && j < hi) || blocks == 1 ? xb[j] : ob[j])
                    }
                    _ = diagonal
                    xb[i] = s * dinv[i]
                    i += forward ? 1 : -1
                }
            }
            if blocks == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: blocks, execute: work) }
        }}}}}
    }

    /// Damped Jacobi: x ← x + ω/ρ(D⁻¹A)·D⁻¹(b − Ax), with ω = 4/3.
    private func jacobi(_ level: Storage, b: UnsafeBufferPointer<Double>, x: UnsafeMutableBufferPointer<Double>) {
        let weight = level.jacobiWeight
        level.residual.withUnsafeMutableBufferPointer { r in
            level.a.multiply(UnsafeBufferPointer(x), into: r)
            level.inverseDiagonal.withUnsafeBufferPointer { d in
                for i in 0..<r.count { x[i] += weight * d[i] * (b[i] - r[i]) }
            }
        }
    }

    // MARK: - Standalone solver

    /// Solves Ax = b by repeated cycles x ← x + M⁻¹(b − Ax) until ‖b − Ax‖ ≤ rtol·‖b‖.
    public func solve(_ b: [Double], initialGuess: [Double]? = nil, relativeTolerance: Double = 1e-8,
                      maxCycles: Int = 200) throws -> KrylovResult {
        let n = rows
        guard b.count == n else {
            throw SparseError.dimensionMismatch(operation: "SmoothedAggregationAMG.solve", expected: "length \(n)",
                                                actual: "length \(b.count)")
        }
        guard b.allSatisfy(\.isFinite) else {
            throw SparseError.nonFinite(what: "right-hand side", index: b.firstIndex { !$0.isFinite }!)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var x = initialGuess ?? [Double](repeating: 0, count: n)
        var r = [Double](repeating: 0, count: n)
        var z = r
        let a = hierarchy[0].a
        let bnorm = Vector.norm(b)
        var history: [Double] = []
        var status = KrylovStatus.maximumIterations
        var cycles = 0
        while true {
            x.withUnsafeBufferPointer { xb in r.withUnsafeMutableBufferPointer { a.multiply(xb, into: $0) } }
            for i in 0..<n { r[i] = b[i] - r[i] }
            let rnorm = Vector.norm(r)
            history.append(rnorm)
            if rnorm <= relativeTolerance * bnorm { status = .converged; break }
            if !rnorm.isFinite { status = .breakdown; break }
            if cycles >= maxCycles { break }
            r.withUnsafeBufferPointer { rb in z.withUnsafeMutableBufferPointer { apply(rb, into: $0, transposed: false, accumulate: false) } }
            for i in 0..<n { x[i] += z[i] }
            cycles += 1
        }
        return KrylovResult(solution: x, status: status, iterations: cycles,
                            relativeResidual: bnorm > 0 ? history.last! / bnorm : history.last!,
                            normalEquationResidual: nil, residualHistory: history,
                            seconds: elapsed(since: start))
    }
}
