import Dispatch
import Foundation
import Sparse

/// Working-set coordinate descent for the lasso family — lasso, elastic net, weighted lasso
/// (per-feature weights, zero = unpenalized), non-negative lasso, each with or without an
/// intercept — as `LassoProblem` states them.
///
/// One outer iteration:
/// 1. **Full pass** (the O(nnz) part, split over the cores by nonzeros): the correlations
///    cⱼ = X̃ⱼᵀr/n of every feature not yet screened out, from the residual kept up to date by
///    every coordinate step.
/// 2. **Certificate**: the duality gap (`LassoProblem.certificate`); stop when it meets the
///    target, the full problem's optimality certificate.
/// 3. **Gap-safe screening** (Fercoq, Gramfort & Salmon 2015; Ndiaye et al. 2017): a feature
///    with s|cⱼ − λ(1 − α)wⱼ| + √(2·gap·(aⱼ + λ(1 − α))) < λαωⱼ is zero at the optimum and
///    leaves the problem for good (the gap of the screened problem still bounds the full
///    problem's suboptimality: both have the same optimum).
/// 4. **Working set**: the support, the unpenalized features, and the features of largest
///    KKT violation (distance of −∇ⱼf to the penalty's subdifferential), max(p₀, 2|support|)
///    of them — doubled when an outer iteration fails to halve the gap (as skglm's AndersonCD
///    and celer grow theirs).
/// 5. **Inner epochs** of cyclic coordinate descent on the working set, with Anderson
///    extrapolation of the last K + 1 iterates every K epochs (Bertrand & Massias 2021), kept
///    only when it lowers the objective; every 10 epochs the working set's largest violation
///    is checked against 0.3× the outer one.
///
/// The intercept is eliminated by implicit centering: the residual is kept as
/// r = ỹ − Xw + (μᵀw)1 through r_raw = ỹ − Xw and the scalar s = μᵀw (X is never densified).
/// Memory: the CSC copy of X (12 bytes per nonzero plus 8(p + 1)) and O(n + p) vectors
/// (w, two residuals, curvatures, thresholds, correlations, flags: about 2n + 6p doubles),
/// plus (K + 1)·|working set| doubles for the extrapolation.
public struct CoordinateDescent: Sendable {
    /// Total inner epochs (over all outer iterations), at most.
    public var maxEpochs: Int
    public var options: Options

    public struct Options: Sendable {
        /// Outer iterations (full passes), at most.
        public var maxOuterIterations = 1_000
        /// p₀, the smallest working set.
        public var initialWorkingSetSize = 10
        /// K, the iterates combined by Anderson extrapolation; 0 turns it off.
        public var andersonMemory = 5
        /// Cut each extrapolated step at the first coordinate that would change sign
        /// (`stopAtFirstKink`); false keeps plain Anderson (skglm's rule), for comparison.
        public var cutAtFirstKink = true
        /// Gap-safe screening on or off.
        public var screening = true
        /// The inner loop stops when its largest violation is below this fraction of the outer one.
        public var innerTolerance = 0.3
        /// Inner epochs between two violation checks.
        public var innerCheckInterval = 10
        /// Threads of the full pass (nil: `SparseThreads.count`).
        public var threads: Int?

        public init() {}
    }

    /// What a coordinate-descent solve returns.
    public struct Result: Sendable {
        public var solution: [Double]
        /// Inner coordinate-descent epochs over the working sets, all outer iterations together.
        public var epochs: Int
        /// Full passes over the features (each computes the certificate).
        public var outerIterations: Int
        /// True when the duality gap met the tolerance.
        public var converged: Bool
        /// The duality gap of `solution` (the optimality certificate).
        public var dualityGap: Double
        /// The gap the tolerance asked for (tolerance·‖ỹ‖²/(2n)).
        public var targetGap: Double
        /// Features removed by gap-safe screening.
        public var screenedFeatures: Int
        /// The last working set's size.
        public var workingSetSize: Int
        /// Anderson extrapolations tried and kept (kept: they lowered the objective).
        public var extrapolationsTried: Int
        public var extrapolationsKept: Int
        public var seconds: Double
        /// Alias of `epochs`, for code written against the FISTA result.
        public var iterations: Int { epochs }
        /// Alias of `dualityGap`.
        public var certificate: Double { dualityGap }
    }

    public init(maxEpochs: Int = 100_000, options: Options = Options()) {
        self.maxEpochs = maxEpochs
        self.options = options
    }

    /// Solves `problem` to a duality gap ≤ tolerance·‖ỹ‖²/(2n).
    /// - Parameters:
    ///   - problem: the lasso / elastic net.
    ///   - tolerance: the relative duality-gap target.
    ///   - warmStart: a starting w (length p).
    ///   - csc: X in CSC order if the caller has it (built from the problem's CSR otherwise).
    /// - Throws: `.dimensionMismatch` or `.nonFinite` for a bad warm start or design copy.
    public func solve(_ problem: LassoProblem, tolerance: Double = 1e-8, warmStart: [Double]? = nil,
                      design csc: CSCMatrix? = nil) throws -> Result {
        guard problem.rowSpace == nil else {
            throw SparseError.invalidArgument("coordinate descent needs whole columns of X; with rows over processes each coordinate step would cost a reduction — use LassoProblem.solveWithWorkingSets (FISTA on working sets)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let x = csc ?? problem.design.toCSC()
        let w = try checkedStart(warmStart, design: x, problemRows: problem.design.rows, problemColumns: problem.design.columns,
                                 solver: "CoordinateDescent")
        if problem.nonNegative, let bad = w.firstIndex(where: { $0 < 0 }) {
            throw SparseError.invalidArgument("warm start entry \(bad) is \(w[bad]) < 0 for a non-negative lasso")
        }
        var result = withColumnStorage(x) { ptr, idx, val in
            CoordinateDescentEngine(problem: problem, pointers: ptr, rows: idx, values: val, columns: x.columns, warmStart: w,
                                    threads: options.threads ?? SparseThreads.count)
                .run(tolerance: tolerance, maxEpochs: maxEpochs, options: options)
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return result
    }
}

/// The state of one solve: raw pointers into X (CSC) and owned buffers, so the inner loops
/// run without bounds checks, reference counting or copy-on-write checks.
private final class CoordinateDescentEngine {
    let problem: LassoProblem
    let n: Int, p: Int
    let invN: Double
    let ptr: UnsafePointer<Int>, idx: UnsafePointer<Int32>, val: UnsafePointer<Double>
    let intercept: Bool, nonNegative: Bool
    let l2: Double
    let threads: Int
    /// w, r_raw (and its scratch twin for extrapolation), aⱼ, λαωⱼ, μ, cⱼ.
    let w: UnsafeMutablePointer<Double>
    var r: UnsafeMutablePointer<Double>
    var rScratch: UnsafeMutablePointer<Double>
    let curvature: UnsafeMutablePointer<Double>
    let threshold: UnsafeMutablePointer<Double>
    let mu: UnsafeMutablePointer<Double>
    let correlation: UnsafeMutablePointer<Double>
    /// true while a feature is in the problem (false: screened out).
    var alive: [Bool]
    var shift = 0.0
    let blocks: ColumnBlocks

    init(problem: LassoProblem, pointers: UnsafePointer<Int>, rows: UnsafePointer<Int32>, values: UnsafePointer<Double>,
         columns: Int, warmStart: [Double], threads: Int) {
        self.problem = problem
        n = problem.design.rows
        p = columns
        invN = 1 / Double(max(n, 1))
        ptr = pointers; idx = rows; val = values
        intercept = problem.fitIntercept
        nonNegative = problem.nonNegative
        l2 = problem.lambda * (1 - problem.l1Ratio)
        self.threads = max(1, threads)
        w = .allocate(capacity: max(p, 1)); w.initialize(from: warmStart, count: p)
        r = .allocate(capacity: max(n, 1)); r.initialize(from: problem.centeredTargets, count: n)
        rScratch = .allocate(capacity: max(n, 1)); rScratch.initialize(repeating: 0, count: n)
        curvature = .allocate(capacity: max(p, 1))
        threshold = .allocate(capacity: max(p, 1))
        // μ only with an intercept (every read of it is behind `intercept`).
        mu = .allocate(capacity: intercept ? max(p, 1) : 1)
        if intercept { mu.initialize(from: problem.columnMeans, count: p) } else { mu.initialize(to: 0) }
        correlation = .allocate(capacity: max(p, 1)); correlation.initialize(repeating: 0, count: p)
        alive = [Bool](repeating: true, count: p)
        for j in 0..<p {
            var s = 0.0
            for k in ptr[j]..<ptr[j + 1] { s += val[k] * val[k] }
            curvature[j] = max(s * invN - (intercept ? mu[j] * mu[j] : 0), 0)
            threshold[j] = problem.threshold(j)
        }
        // r_raw = ỹ − Xw over the warm start's support; s = μᵀw.
        for j in 0..<p where w[j] != 0 {
            for k in ptr[j]..<ptr[j + 1] { r[Int(idx[k])] -= w[j] * val[k] }
            if intercept { shift += mu[j] * w[j] }
        }
        blocks = ColumnBlocks(pointers: ptr, columns: p, threads: self.threads)
    }

    deinit {
        w.deallocate(); r.deallocate(); rScratch.deallocate(); curvature.deallocate()
        threshold.deallocate(); mu.deallocate(); correlation.deallocate()
    }

    /// cⱼ = X̃ⱼᵀr/n with r = r_raw + s·1 (Σr = 0, so X̃ⱼᵀr = Xⱼᵀr_raw + s·n·μⱼ).
    @inline(__always) func correlationOf(_ j: Int) -> Double {
        var g = 0.0
        for k in ptr[j]..<ptr[j + 1] { g += val[k] * r[Int(idx[k])] }
        return g * invN + (intercept ? shift * mu[j] : 0)
    }

    /// One exact coordinate minimization.
    @inline(__always) func update(_ j: Int) {
        let a = curvature[j]
        let denominator = a + l2
        guard denominator > 0 else { return }
        let old = w[j]
        let z = correlationOf(j) + a * old
        let t = threshold[j]
        let new: Double
        if nonNegative {
            new = z > t ? (z - t) / denominator : 0
        } else {
            new = z > t ? (z - t) / denominator : (z < -t ? (z + t) / denominator : 0)
        }
        let delta = new - old
        guard delta != 0 else { return }
        for k in ptr[j]..<ptr[j + 1] { r[Int(idx[k])] -= delta * val[k] }
        if intercept { shift += mu[j] * delta }
        w[j] = new
    }

    /// The distance of −∇ⱼf to the penalty's subdifferential at wⱼ (0 at the optimum).
    @inline(__always) func violation(_ j: Int, _ c: Double) -> Double {
        let v = c - l2 * w[j], t = threshold[j]
        if w[j] > 0 { return abs(v - t) }
        if w[j] < 0 { return abs(v + t) }
        return nonNegative ? max(v - t, 0) : max(abs(v) - t, 0)
    }

    /// The full pass: cⱼ for every live feature, split over the threads by nonzeros.
    func fullPass() {
        blocks.forEach { range in
            for j in range where self.alive[j] { self.correlation[j] = self.correlationOf(j) }
        }
    }

    /// The duality gap from the current correlations (screened features enter as cⱼ = 0, wⱼ = 0).
    func certificate() -> (gap: Double, dualScale: Double) {
        var norm2 = 0.0, dot = 0.0
        let y = problem.centeredTargets
        for i in 0..<n {
            let ri = r[i] + shift
            norm2 += ri * ri
            dot += y[i] * ri
        }
        return problem.certificate(weights: UnsafeBufferPointer(start: w, count: p), correlation: UnsafeBufferPointer(start: correlation, count: p),
                                   residualNorm2: norm2, targetDotResidual: dot)
    }

    /// The objective's parts that change with w on `set`: (1/2n)‖r‖² plus the penalty over `set`.
    func partialObjective(residual: UnsafeMutablePointer<Double>, shift s: Double, weights: UnsafePointer<Double>, set: [Int]) -> Double {
        var norm2 = 0.0
        for i in 0..<n { let ri = residual[i] + s; norm2 += ri * ri }
        var penalty = 0.0
        for (k, j) in set.enumerated() {
            let v = weights[k]
            penalty += threshold[j] * abs(v) + l2 / 2 * v * v
        }
        return norm2 * invN / 2 + penalty
    }

    func run(tolerance: Double, maxEpochs: Int, options: CoordinateDescent.Options) -> CoordinateDescent.Result {
        let target = tolerance * problem.gapScale
        var epochs = 0, outer = 0, screened = 0
        var gap = Double.infinity, previousGap = Double.infinity
        var workingSetSize = 0
        var tried = 0, kept = 0
        while outer < options.maxOuterIterations {
            outer += 1
            fullPass()
            let certificate = self.certificate()
            gap = certificate.gap
            if gap <= target || epochs >= maxEpochs { break }
            // Gap-safe screening of zero features.
            if options.screening {
                let s = certificate.dualScale
                for j in 0..<p where alive[j] && w[j] == 0 && threshold[j] > 0 {
                    let v = s * correlation[j]
                    let size = nonNegative ? v : abs(v)
                    if size + (2 * gap * (curvature[j] + l2)).squareRoot() < threshold[j] {
                        alive[j] = false
                        correlation[j] = 0
                        screened += 1
                    }
                }
            }
            // Scores and the working set.
            var support: [Int] = []
            var candidates: [(score: Double, feature: Int)] = []
            var largest = 0.0
            for j in 0..<p where alive[j] {
                let v = violation(j, correlation[j])
                largest = max(largest, v)
                if w[j] != 0 || threshold[j] == 0 {
                    support.append(j)
                } else if v > 0 {
                    candidates.append((v, j))
                }
            }
            var size = max(options.initialWorkingSetSize, 2 * support.count)
            if gap > previousGap / 2 { size = max(size, 2 * workingSetSize) }
            previousGap = gap
            let set = workingSet(support: support, candidates: candidates, size: size)
            workingSetSize = set.count
            let innerTarget = options.innerTolerance * largest
            let full = set.count == p - screened
            epochs += innerSolve(set: set, innerTarget: full ? 0 : innerTarget, epochBudget: maxEpochs - epochs,
                                 options: options, fullTarget: full ? target : nil, tried: &tried, kept: &kept)
        }
        return CoordinateDescent.Result(solution: Array(UnsafeBufferPointer(start: w, count: p)), epochs: epochs,
                                        outerIterations: outer, converged: gap <= target, dualityGap: gap, targetGap: target,
                                        screenedFeatures: screened, workingSetSize: workingSetSize, extrapolationsTried: tried,
                                        extrapolationsKept: kept, seconds: 0)
    }

    /// Epochs on the working set until its largest violation is below `innerTarget` (checked
    /// every few epochs) or the budget ends; Anderson extrapolation every K epochs. When the
    /// set is the whole (screened) problem, `fullTarget` stops on the duality gap instead.
    func innerSolve(set: [Int], innerTarget: Double, epochBudget: Int, options: CoordinateDescent.Options,
                    fullTarget: Double?, tried: inout Int, kept: inout Int) -> Int {
        let m = set.count
        let memory = options.andersonMemory
        // Iterates for the extrapolation, column-major (K + 1) × m.
        var history = memory > 0 ? [Double](repeating: 0, count: (memory + 1) * m) : []
        var stored = 0
        var accelerated = [Double](repeating: 0, count: m)
        var epochs = 0
        while epochs < epochBudget {
            epochs += 1
            for j in set { update(j) }
            if memory > 0 {
                for k in 0..<m { history[stored * m + k] = w[set[k]] }
                stored += 1
                if stored == memory + 1 {
                    stored = 0
                    tried += 1
                    if andersonExtrapolate(history, memory: memory, m: m, into: &accelerated) {
                        if options.cutAtFirstKink {
                            stopAtFirstKink(&accelerated, nonNegative: nonNegative) { self.w[set[$0]] }
                        } else if nonNegative {
                            for k in 0..<m where accelerated[k] < 0 { accelerated[k] = 0 }
                        }
                        if tryAccept(accelerated, set: set) { kept += 1 }
                    }
                }
            }
            if epochs % options.innerCheckInterval == 0 {
                if let fullTarget {
                    fullPass()
                    if certificate().gap <= fullTarget { break }
                } else {
                    var largest = 0.0
                    for j in set { largest = max(largest, violation(j, correlationOf(j))) }
                    if largest <= innerTarget { break }
                }
            }
        }
        return epochs
    }

    /// Moves to the extrapolated point if it lowers the objective (and keeps w ≥ 0 for the
    /// non-negative lasso): r_acc = r_raw − X_S(w_acc − w), compared on the parts that change.
    func tryAccept(_ accelerated: [Double], set: [Int]) -> Bool {
        rScratch.update(from: r, count: n)
        var shiftAccelerated = shift
        for (k, j) in set.enumerated() {
            let delta = accelerated[k] - w[j]
            guard delta != 0 else { continue }
            for q in ptr[j]..<ptr[j + 1] { rScratch[Int(idx[q])] -= delta * val[q] }
            if intercept { shiftAccelerated += mu[j] * delta }
        }
        let current = set.map { w[$0] }
        let before = current.withUnsafeBufferPointer { partialObjective(residual: r, shift: shift, weights: $0.baseAddress!, set: set) }
        let after = accelerated.withUnsafeBufferPointer {
            partialObjective(residual: rScratch, shift: shiftAccelerated, weights: $0.baseAddress!, set: set)
        }
        guard after < before else { return false }
        swap(&r, &rScratch)
        shift = shiftAccelerated
        for (k, j) in set.enumerated() { w[j] = accelerated[k] }
        return true
    }
}
