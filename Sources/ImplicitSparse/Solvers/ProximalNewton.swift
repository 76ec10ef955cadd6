import Dispatch
import Foundation
import Sparse

/// Proximal Newton with working sets for sparse logistic regression (as skglm's ProxNewton;
/// Lee, Sun & Saunders 2014 for the method):
///
/// 1. **Full pass** (split over the cores by nonzeros): the loss' gradient ∇F = Xᵀu over every
///    feature, from the margins z = Xw kept up to date; the duality gap
///    (`SparseLogisticRegression.certificate`); stop when gap ≤ tolerance·log 2 (log 2 is the
///    objective at w = 0).
/// 2. **Working set**: the support and the features of largest KKT violation,
///    max(p₀, 2|support|) of them.
/// 3. **Newton steps on the working set** until its largest violation is below 0.3× the outer
///    one: the quadratic model ∇Fᵀd + ½dᵀXᵀDXd (D = σ(1 − σ)/n) plus the penalty at w + d is
///    minimized by coordinate descent on d (Xd kept) with Anderson extrapolation (duplicated
///    and dependent columns make the model's Hessian singular, plain coordinate descent
///    crawls along its flat directions and Newton then converges only linearly), then a
///    backtracking line search on the true objective (Armijo on the model's decrease).
///
/// Memory: the CSC copy of X and O(n + p) vectors (z, u, D, Xd, gradient, w).
public struct ProximalNewton: Sendable {
    public var options: Options

    public struct Options: Sendable {
        /// Outer iterations (full passes), at most.
        public var maxOuterIterations = 200
        /// Newton steps over all working sets, at most.
        public var maxNewtonSteps = 2_000
        /// Coordinate-descent epochs on one quadratic model, at most.
        public var maxModelEpochs = 100
        /// p₀, the smallest working set.
        public var initialWorkingSetSize = 10
        /// K of the Anderson extrapolation of the model's coordinate descent; 0 turns it off.
        public var andersonMemory = 5
        /// Cut each extrapolated step at the first sign change (false: plain Anderson).
        public var cutAtFirstKink = true
        /// Backtracking halvings of the line search, at most.
        public var maxBacktracks = 30
        /// Threads of the full pass (nil: `SparseThreads.count`).
        public var threads: Int?
        public init() {}
    }

    public struct Result: Sendable {
        public var solution: [Double]
        public var converged: Bool
        /// The duality gap of `solution`.
        public var dualityGap: Double
        /// tolerance·log 2.
        public var targetGap: Double
        public var outerIterations: Int
        public var newtonSteps: Int
        /// Coordinate-descent epochs on the quadratic models, all steps together.
        public var modelEpochs: Int
        public var seconds: Double
    }

    public init(options: Options = Options()) { self.options = options }

    /// Solves to a duality gap ≤ tolerance·log 2. A gap below about 10⁻¹¹·log 2 is rounding
    /// in the dual scaling: when no Newton step on the working set lowers the objective the
    /// solve stops there and reports `converged == false` with the gap it reached.
    /// - Throws: `.dimensionMismatch` or `.nonFinite` for a bad warm start or design copy.
    public func solve(_ problem: SparseLogisticRegression, tolerance: Double = 1e-8, warmStart: [Double]? = nil,
                      design csc: CSCMatrix? = nil) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let x = csc ?? problem.design.toCSC()
        let w = try checkedStart(warmStart, design: x, problemRows: problem.design.rows, problemColumns: problem.design.columns,
                                 solver: "ProximalNewton")
        var result = withColumnStorage(x) { ptr, idx, val in
            ProximalNewtonEngine(problem: problem, pointers: ptr, rows: idx, values: val, columns: x.columns, warmStart: w,
                                 threads: options.threads ?? SparseThreads.count)
                .run(tolerance: tolerance, options: options)
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return result
    }
}

private final class ProximalNewtonEngine {
    let problem: SparseLogisticRegression
    let n: Int, p: Int
    let invN: Double
    let ptr: UnsafePointer<Int>, idx: UnsafePointer<Int32>, val: UnsafePointer<Double>
    let l1: Double, l2: Double
    let y: [Double]
    var w: [Double]
    /// z = Xw, u = ∂F/∂z (uᵢ = −yᵢσ(−yᵢzᵢ)/n), the Hessian weights D, and Xd.
    var z: [Double], u: [Double], curvature: [Double], xd: [Double]
    var gradient: [Double]
    let blocks: ColumnBlocks

    init(problem: SparseLogisticRegression, pointers: UnsafePointer<Int>, rows: UnsafePointer<Int32>, values: UnsafePointer<Double>,
         columns: Int, warmStart: [Double], threads: Int) {
        self.problem = problem
        n = problem.design.rows
        p = columns
        invN = 1 / Double(max(n, 1))
        ptr = pointers; idx = rows; val = values
        l1 = problem.lambda * problem.l1Ratio
        l2 = problem.lambda * (1 - problem.l1Ratio)
        y = problem.labels
        w = warmStart
        z = [Double](repeating: 0, count: n)
        u = [Double](repeating: 0, count: n)
        curvature = [Double](repeating: 0, count: n)
        xd = [Double](repeating: 0, count: n)
        gradient = [Double](repeating: 0, count: p)
        blocks = ColumnBlocks(pointers: pointers, columns: p, threads: threads)
    }

    /// z = Xw from the support (exact, so no drift accumulates across outer iterations).
    func recomputeMargins() {
        for i in 0..<n { z[i] = 0 }
        for j in 0..<p where w[j] != 0 {
            for k in ptr[j]..<ptr[j + 1] { z[Int(idx[k])] += w[j] * val[k] }
        }
    }

    func updateSampleTerms() {
        for i in 0..<n {
            let s = SparseLogisticRegression.sigmoid(-y[i] * z[i])
            u[i] = -y[i] * s * invN
            curvature[i] = s * (1 - s) * invN
        }
    }

    @inline(__always) func columnDot(_ j: Int, _ v: UnsafePointer<Double>) -> Double {
        var s = 0.0
        for k in ptr[j]..<ptr[j + 1] { s += val[k] * v[Int(idx[k])] }
        return s
    }

    /// The distance of −(∇ⱼF + λ(1 − α)wⱼ) to λα∂|wⱼ|.
    @inline(__always) func violation(_ j: Int, _ g: Double) -> Double {
        let v = -(g + l2 * w[j])
        if w[j] > 0 { return abs(v - l1) }
        if w[j] < 0 { return abs(v + l1) }
        return max(abs(v) - l1, 0)
    }

    func objective(margins m: [Double], weights: [Double]) -> Double {
        problem.loss(margins: m) + problem.penalty(weights)
    }

    func run(tolerance: Double, options: ProximalNewton.Options) -> ProximalNewton.Result {
        let target = tolerance * Foundation.log(2.0)
        var outer = 0, steps = 0, epochs = 0
        var gap = Double.infinity
        recomputeMargins()
        while outer < options.maxOuterIterations {
            outer += 1
            updateSampleTerms()
            u.withUnsafeBufferPointer { up in
                gradient.withUnsafeMutableBufferPointer { gp in
                    let gBase = gp.baseAddress!, uBase = up.baseAddress!
                    blocks.forEach { range in
                        for j in range { gBase[j] = self.columnDot(j, uBase) }
                    }
                }
            }
            gap = problem.certificate(weights: w, margins: z, gradient: gradient)
            if gap <= target || steps >= options.maxNewtonSteps { break }
            var support: [Int] = []
            var candidates: [(score: Double, feature: Int)] = []
            var largest = 0.0
            for j in 0..<p {
                let v = violation(j, gradient[j])
                largest = max(largest, v)
                if w[j] != 0 { support.append(j) } else if v > 0 { candidates.append((v, j)) }
            }
            let size = max(options.initialWorkingSetSize, 2 * support.count)
            let set = workingSet(support: support, candidates: candidates, size: size)
            // Newton steps on the working set.
            let innerTarget = 0.3 * largest
            var first = true, movedAtAll = false
            while steps < options.maxNewtonSteps {
                if !first {
                    updateSampleTerms()
                    var worst = 0.0
                    u.withUnsafeBufferPointer { up in
                        for j in set { worst = max(worst, violation(j, columnDot(j, up.baseAddress!))) }
                    }
                    if worst <= innerTarget { break }
                }
                first = false
                steps += 1
                let (moved, used) = newtonStep(set: set, options: options)
                epochs += used
                if !moved { break }
                movedAtAll = true
            }
            recomputeMargins()
            // No step on the working set decreases the objective in floating point: the gap
            // left is rounding (of the dual scaling), not progress to be had.
            if !movedAtAll { break }
        }
        return ProximalNewton.Result(solution: w, converged: gap <= target, dualityGap: gap, targetGap: target, outerIterations: outer,
                                     newtonSteps: steps, modelEpochs: epochs, seconds: 0)
    }

    /// One proximal Newton step on `set`: CD on the quadratic model for d, then the line
    /// search. Returns whether w moved and the model epochs used.
    func newtonStep(set: [Int], options: ProximalNewton.Options) -> (Bool, Int) {
        let m = set.count
        var d = [Double](repeating: 0, count: m)
        var g = [Double](repeating: 0, count: m)
        var h = [Double](repeating: 0, count: m)
        for i in 0..<n { xd[i] = 0 }
        u.withUnsafeBufferPointer { up in
            curvature.withUnsafeBufferPointer { cp in
                for (k, j) in set.enumerated() {
                    g[k] = columnDot(j, up.baseAddress!)
                    var s = 0.0
                    for q in ptr[j]..<ptr[j + 1] { s += val[q] * val[q] * cp[Int(idx[q])] }
                    h[k] = s
                }
            }
        }
        var epochs = 0
        var firstChange = 0.0
        let memory = options.andersonMemory
        var history = [Double](repeating: 0, count: (memory + 1) * m), accelerated = [Double](repeating: 0, count: m)
        var stored = 0
        var scratch = [Double](repeating: 0, count: memory > 0 ? n : 0)
        xd.withUnsafeMutableBufferPointer { xp in
            curvature.withUnsafeBufferPointer { cp in
                for epoch in 0..<options.maxModelEpochs {
                    epochs += 1
                    var change = 0.0
                    for k in 0..<m {
                        let j = set[k]
                        let denominator = h[k] + l2
                        guard denominator > 0 else { continue }
                        // The model's gradient in coordinate k: gₖ + Xⱼᵀ(D ∘ Xd).
                        var b = g[k]
                        for q in ptr[j]..<ptr[j + 1] { let i = Int(idx[q]); b += val[q] * cp[i] * xp[i] }
                        let current = w[j] + d[k]
                        let v = h[k] * current - b
                        let next = v > l1 ? (v - l1) / denominator : (v < -l1 ? (v + l1) / denominator : 0)
                        let delta = next - current
                        guard delta != 0 else { continue }
                        d[k] += delta
                        for q in ptr[j]..<ptr[j + 1] { xp[Int(idx[q])] += delta * val[q] }
                        change = max(change, denominator * delta * delta)
                    }
                    if epoch == 0 { firstChange = change }
                    if change <= 1e-6 * firstChange || change == 0 { break }
                    // Anderson extrapolation of u = w_S + d every K + 1 epochs, cut at the
                    // first kink and kept when it lowers the model.
                    guard memory > 0 else { continue }
                    for k in 0..<m { history[stored * m + k] = w[set[k]] + d[k] }
                    stored += 1
                    guard stored == memory + 1 else { continue }
                    stored = 0
                    guard andersonExtrapolate(history, memory: memory, m: m, into: &accelerated) else { continue }
                    if options.cutAtFirstKink { stopAtFirstKink(&accelerated) { self.w[set[$0]] + d[$0] } }
                    for i in 0..<n { scratch[i] = xp[i] }
                    var linearChange = 0.0, penaltyChange = 0.0
                    for k in 0..<m {
                        let j = set[k], now = w[j] + d[k], next = accelerated[k]
                        let delta = next - now
                        guard delta != 0 else { continue }
                        for q in ptr[j]..<ptr[j + 1] { scratch[Int(idx[q])] += delta * val[q] }
                        linearChange += g[k] * delta
                        penaltyChange += l1 * (abs(next) - abs(now)) + l2 / 2 * (next * next - now * now)
                    }
                    var quadraticChange = 0.0
                    for i in 0..<n { quadraticChange += cp[i] * (scratch[i] * scratch[i] - xp[i] * xp[i]) }
                    if linearChange + quadraticChange / 2 + penaltyChange < 0 {
                        for k in 0..<m { d[k] = accelerated[k] - w[set[k]] }
                        for i in 0..<n { xp[i] = scratch[i] }
                    }
                }
            }
        }
        guard d.contains(where: { $0 != 0 }) else { return (false, epochs) }
        // Armijo on the model's decrease δ = gᵀd + G(w + d) − G(w) < 0.
        var penaltyBefore = 0.0, penaltyAfter = 0.0, linear = 0.0
        for k in 0..<m {
            let j = set[k]
            penaltyBefore += l1 * abs(w[j]) + l2 / 2 * w[j] * w[j]
            let next = w[j] + d[k]
            penaltyAfter += l1 * abs(next) + l2 / 2 * next * next
            linear += g[k] * d[k]
        }
        let decrease = linear + penaltyAfter - penaltyBefore
        let lossBefore = problem.loss(margins: z)
        var step = 1.0
        var trial = [Double](repeating: 0, count: n)
        // A step whose predicted decrease is below what the loss (a sum of n terms) resolves in
        // floating point cannot be judged by Armijo; its duality-gap effect is first order in
        // the violation it removes while the objective's is second order (a feature just over
        // its threshold: gap 6e-9 with no measurable decrease). Take the full step then.
        let resolution = 16 * Double.ulpOfOne * (abs(lossBefore) + penaltyBefore) * Double(n).squareRoot()
        if decrease < 0, -decrease <= resolution {
            for k in 0..<m { w[set[k]] += d[k] }
            for i in 0..<n { z[i] += xd[i] }
            return (true, epochs)
        }
        for _ in 0..<options.maxBacktracks {
            for i in 0..<n { trial[i] = z[i] + step * xd[i] }
            var penaltyTrial = 0.0
            for k in 0..<m {
                let next = w[set[k]] + step * d[k]
                penaltyTrial += l1 * abs(next) + l2 / 2 * next * next
            }
            let change = problem.loss(margins: trial) - lossBefore + penaltyTrial - penaltyBefore
            if change <= 0.5 * step * min(decrease, 0) && change <= 0 {
                for k in 0..<m { w[set[k]] += step * d[k] }
                z = trial
                return (true, epochs)
            }
            step /= 2
        }
        return (false, epochs)
    }
}
