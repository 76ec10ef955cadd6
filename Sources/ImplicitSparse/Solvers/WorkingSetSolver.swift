import Dispatch
import Foundation
import Sparse

/// One solver for every `GeneralizedLinearModel`, whatever its datafit and penalty
/// (skglm's AndersonCD and ProxNewton in one loop; Massias et al. 2020, Bertrand & Massias 2021):
///
/// 1. **Full pass** (split over the cores by nonzeros): ∇F = Xᵀu from the exact predictor
///    z = Xw + b; the KKT residual max_B dist(−∇_B F, ∂g_B(w_B)); stop when it is ≤ the
///    tolerance.
/// 2. **Working set**: the nonzero blocks, the unpenalized ones and the blocks of largest
///    violation, max(p₀, 2·|support|) of them (doubled when the residual did not halve).
/// 3. **Newton steps on the working set**: the datafit's quadratic model at w,
///    ½Σᵢ Dᵢ(δzᵢ + uᵢ/Dᵢ)² with Dᵢ = sᵢf″ᵢ(zᵢ)/S, plus the penalty, minimized by block
///    coordinate descent (prox steps of 1/L_B, L_B = Σ_{j∈B} Σᵢ DᵢX²ᵢⱼ; exact coordinate
///    minimization for a separable penalty) with Anderson extrapolation cut at the first sign
///    change and kept only when it lowers the model; then a backtracking line search on the
///    true objective. For a quadratic datafit the model is the problem, so there is one model
///    per working set and no line search: the loop is the lasso's coordinate descent.
///    The working set is done when its largest violation is below `innerTolerance` × the
///    outer one.
///
/// The datafit is called O(n) times per Newton step and the penalty once per block update:
/// the hot loop is the column's nonzeros, as in a hand-written lasso solver.
///
/// For nonconvex penalties (MCP, SCAD) the answer is a stationary point certified by its KKT
/// residual; `GeneralizedLinearModel.Solution.globalOptimum` says so.
///
/// Memory: O(n + p) vectors besides X's CSC arrays.
public struct WorkingSetSolver: Sendable {
    public struct Options: Sendable {
        /// Full passes, at most.
        public var maxOuterIterations = 500
        /// Coordinate-descent epochs over all working sets and models, at most.
        public var maxEpochs = 100_000
        /// Epochs on one non-quadratic model, at most.
        public var maxModelEpochs = 200
        /// Newton steps on one working set, at most.
        public var maxNewtonStepsPerSet = 50
        /// p₀, the smallest working set.
        public var initialWorkingSetSize = 10
        /// K of the Anderson extrapolation; 0 turns it off.
        public var andersonMemory = 5
        /// A working set (or a model) is done when its largest violation is below this share
        /// of the outer one.
        public var innerTolerance = 0.3
        /// Epochs between the inner stopping checks.
        public var innerCheckInterval = 5
        /// Backtracking halvings of the line search, at most.
        public var maxBacktracks = 40
        /// Threads of the full pass (nil: `SparseThreads.count`).
        public var threads: Int?
        public init() {}
    }

    public struct Result: Sendable {
        public var solution: [Double]
        public var intercept: Double
        public var objective: Double
        public var kktResidual: Double
        public var converged: Bool
        public var outerIterations: Int
        public var newtonSteps: Int
        public var epochs: Int
        public var workingSetSize: Int
        public var extrapolationsKept: Int
        public var seconds: Double
    }

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Solves to a KKT residual ≤ tolerance, from a warm start (zeros and the best constant
    /// intercept by default). Returns what it reached when a limit stops it (`converged`
    /// false).
    /// - Throws: `.dimensionMismatch` / `.nonFinite` for a bad warm start.
    public func solve<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>, tolerance: Double = 1e-8,
                                                  warmStart: [Double]? = nil, warmIntercept: Double? = nil) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let w = try model.checkedWarmStart(warmStart)
        if let warmIntercept, !warmIntercept.isFinite { throw SparseError.nonFinite(what: "the warm intercept", index: 0) }
        let b = model.fitIntercept ? (warmIntercept ?? model.interceptAtZero) : 0
        let x = model.design
        var result = withColumnStorage(x) { ptr, idx, val in
            WorkingSetEngine(model: model, pointers: ptr, rows: idx, values: val, weights: w, intercept: b,
                             threads: options.threads ?? SparseThreads.count)
                .run(tolerance: tolerance, options: options)
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return result
    }
}

private final class WorkingSetEngine<Fit: Datafit, Reg: Penalty> {
    let model: GeneralizedLinearModel<Fit, Reg>
    let penalty: Reg
    let n: Int, p: Int
    let ptr: UnsafePointer<Int>, idx: UnsafePointer<Int32>, val: UnsafePointer<Double>
    let blocks: [Range<Int>]
    let blockOf: [Int]
    let quadratic: Bool
    let hasIntercept: Bool
    var w: [Double]
    var b: Double
    /// z = Xw + b, u = s f′(z)/S, D = s f″(z)/S (floored), ρ = δz + u/D (the model's residual),
    /// δz = X(w − w₀) + (b − b₀) since the model was built.
    var z: [Double], u: [Double], curvature: [Double], rho: [Double], deltaZ: [Double]
    /// ∇_w F from the last full pass.
    var gradient: [Double]
    /// L_B of the current model, per block.
    var lipschitz: [Double]
    /// D when it is the same for every row (least squares without sample weights).
    var uniformCurvature: Double?
    let columnBlocks: ColumnBlocks
    var scratch: [Double]

    init(model: GeneralizedLinearModel<Fit, Reg>, pointers: UnsafePointer<Int>, rows: UnsafePointer<Int32>, values: UnsafePointer<Double>,
         weights: [Double], intercept: Double, threads: Int) {
        self.model = model
        penalty = model.penalty
        n = model.rows
        p = model.features
        ptr = pointers; idx = rows; val = values
        blocks = model.penalty.blocks ?? (0..<model.features).map { $0..<$0 + 1 }
        var owner = [Int](repeating: 0, count: model.features)
        for (k, block) in blocks.enumerated() { for j in block { owner[j] = k } }
        blockOf = owner
        quadratic = model.datafit.isQuadratic
        hasIntercept = model.fitIntercept
        w = weights
        b = intercept
        z = [Double](repeating: 0, count: n)
        u = z; curvature = z; rho = z; deltaZ = z
        gradient = [Double](repeating: 0, count: p)
        lipschitz = [Double](repeating: 0, count: blocks.count)
        columnBlocks = ColumnBlocks(pointers: pointers, columns: p, threads: max(1, threads))
        scratch = [Double](repeating: 0, count: (blocks.map(\.count).max() ?? 1) * 2)
    }

    @inline(__always) func sampleWeight(_ i: Int) -> Double { model.sampleWeights?[i] ?? 1 }

    /// z = Xw + b from the nonzero coordinates (exact: no drift across outer iterations).
    func recomputePredictor() {
        for i in 0..<n { z[i] = b }
        for j in 0..<p where w[j] != 0 {
            let wj = w[j]
            for k in ptr[j]..<ptr[j + 1] { z[Int(idx[k])] += val[k] * wj }
        }
    }

    func datafitValue(_ predictor: [Double]) -> Double {
        var total = 0.0
        for i in 0..<n { total += sampleWeight(i) * model.datafit.loss(predictor[i], row: i) }
        return total / model.totalWeight
    }

    /// u, and ∇_w F = Xᵀu over every column (in parallel); returns ∂F/∂b.
    func fullGradient() -> Double {
        let inverse = 1 / model.totalWeight
        for i in 0..<n { u[i] = sampleWeight(i) * model.datafit.derivative(z[i], row: i) * inverse }
        u.withUnsafeBufferPointer { up in
            gradient.withUnsafeMutableBufferPointer { gp in
                let uBase = up.baseAddress!, gBase = gp.baseAddress!
                columnBlocks.forEach { range in
                    for j in range {
                        var s = 0.0
                        for k in self.ptr[j]..<self.ptr[j + 1] { s += self.val[k] * uBase[Int(self.idx[k])] }
                        gBase[j] = s
                    }
                }
            }
        }
        return u.reduce(0, +)
    }

    func violation(_ block: Int) -> Double {
        let range = blocks[block]
        return w.withUnsafeBufferPointer { wp in
            gradient.withUnsafeBufferPointer { gp in
                penalty.blockSubdifferentialDistance(UnsafeBufferPointer(rebasing: wp[range]), gradient: UnsafeBufferPointer(rebasing: gp[range]),
                                                     block: range)
            }
        }
    }

    func isZero(_ block: Int) -> Bool {
        let range = blocks[block]
        return w.withUnsafeBufferPointer { penalty.isZero(UnsafeBufferPointer(rebasing: $0[range]), block: range) }
    }

    /// The model at the current w: D, ρ = u/D, δz = 0, and L_B on `set`. With `majorize`, D is
    /// the datafit's curvature bound instead of f″: the model then lies above F, so every
    /// decrease of the model decreases the objective — what a nonconvex penalty needs, since
    /// its prox-Newton direction need not be a descent direction.
    func buildModel(set: [Int], majorize: Bool = false) {
        let inverse = 1 / model.totalWeight
        var largest = 0.0
        for i in 0..<n {
            if majorize, let bound = model.datafit.curvatureBound {
                curvature[i] = sampleWeight(i) * bound * inverse
            } else {
                curvature[i] = sampleWeight(i) * model.datafit.secondDerivative(z[i], row: i) * inverse
            }
            largest = max(largest, curvature[i])
        }
        // A floor keeps flat rows (Huber's outliers, a saturated logistic) from giving
        // infinite steps; the line search makes any positive metric a descent method.
        // Scaled by sᵢ, so a least-squares model is never changed by it.
        let bound = model.datafit.curvatureBound
        var uniform = true
        for i in 0..<n {
            let si = sampleWeight(i)
            let floor = bound.map { 1e-4 * $0 * si * inverse } ?? (si > 0 ? 1e-12 * largest : 0)
            curvature[i] = max(curvature[i], floor, 1e-300)
            if curvature[i] != curvature[0] { uniform = false }
            rho[i] = u[i] / curvature[i]
            deltaZ[i] = 0
        }
        uniformCurvature = uniform && n > 0 ? curvature[0] : nil
        // A nonconvex penalty's prox is single-valued, and its fixed points stationary, only
        // for steps below `fixedPointStep`-scale (MCP: η < γ): a flatter model takes the larger
        // curvature 1/η, a more conservative majorizer, never a jump over the concave piece.
        let smallest = penalty.isConvex ? 0 : 1 / penalty.fixedPointStep
        for k in set {
            var total = 0.0
            for j in blocks[k] {
                for q in ptr[j]..<ptr[j + 1] { let i = Int(idx[q]); total += curvature[i] * val[q] * val[q] }
            }
            lipschitz[k] = total > 0 ? max(total, smallest) : 0
        }
    }

    /// The model's gradient on column j: Σᵢ Xᵢⱼ Dᵢ ρᵢ.
    @inline(__always) func modelGradient(_ j: Int) -> Double {
        var s = 0.0
        if let c = uniformCurvature {
            for k in ptr[j]..<ptr[j + 1] { s += val[k] * rho[Int(idx[k])] }
            return s * c
        }
        for k in ptr[j]..<ptr[j + 1] { let i = Int(idx[k]); s += val[k] * curvature[i] * rho[i] }
        return s
    }

    @inline(__always) func moveColumn(_ j: Int, by delta: Double) {
        for k in ptr[j]..<ptr[j + 1] {
            let i = Int(idx[k])
            rho[i] += delta * val[k]
            deltaZ[i] += delta * val[k]
        }
    }

    /// One prox step on block k of the model.
    func update(_ k: Int) {
        let lk = lipschitz[k]
        guard lk > 0 else { return }
        let range = blocks[k]
        if range.count == 1 {
            let j = range.lowerBound
            let old = w[j]
            let v = penalty.prox(old - modelGradient(j) / lk, step: 1 / lk, coordinate: j)
            let delta = v - old
            guard delta != 0 else { return }
            moveColumn(j, by: delta)
            w[j] = v
            return
        }
        let m = range.count
        scratch.withUnsafeMutableBufferPointer { s in
            for (a, j) in range.enumerated() { s[a] = w[j] - modelGradient(j) / lk }
            penalty.blockProx(UnsafeMutableBufferPointer(rebasing: s[0..<m]), step: 1 / lk, block: range)
            for (a, j) in range.enumerated() {
                let delta = s[a] - w[j]
                guard delta != 0 else { continue }
                moveColumn(j, by: delta)
                w[j] = s[a]
            }
        }
    }

    /// The intercept's exact step on the model: Σ Dᵢ(ρᵢ + Δ) = 0.
    func updateIntercept() {
        guard hasIntercept else { return }
        var num = 0.0, den = 0.0
        for i in 0..<n { num += curvature[i] * rho[i]; den += curvature[i] }
        guard den > 0 else { return }
        let delta = -num / den
        guard delta != 0 else { return }
        for i in 0..<n { rho[i] += delta; deltaZ[i] += delta }
        b += delta
    }

    /// The model's largest violation on `set` (and the intercept's).
    func modelViolation(set: [Int]) -> Double {
        var worst = 0.0
        scratch.withUnsafeMutableBufferPointer { s in
            for k in set {
                let range = blocks[k], m = range.count
                for (a, j) in range.enumerated() { s[a] = modelGradient(j) }
                let d = w.withUnsafeBufferPointer { wp in
                    penalty.blockSubdifferentialDistance(UnsafeBufferPointer(rebasing: wp[range]), gradient: UnsafeBufferPointer(rebasing: s[0..<m]),
                                                         block: range)
                }
                worst = max(worst, d)
            }
        }
        if hasIntercept {
            var g = 0.0
            for i in 0..<n { g += curvature[i] * rho[i] }
            worst = max(worst, abs(g))
        }
        return worst
    }

    /// The model's objective on the parts that change: ½Σ Dᵢρᵢ² + the penalty on `set`.
    func modelObjective(rho r: [Double], weights: [Double], set: [Int]) -> Double {
        var total = 0.0
        if let c = uniformCurvature {
            for i in 0..<n { total += r[i] * r[i] }
            total *= c / 2
        } else {
            for i in 0..<n { total += curvature[i] * r[i] * r[i] }
            total /= 2
        }
        return total + penaltyValue(weights, set: set)
    }

    func penaltyValue(_ weights: [Double], set: [Int]) -> Double {
        weights.withUnsafeBufferPointer { wp in
            var total = 0.0
            for k in set { total += penalty.blockValue(UnsafeBufferPointer(rebasing: wp[blocks[k]]), block: blocks[k]) }
            return total
        }
    }

    /// Coordinate descent on the model over `set` until its violation is ≤ target or the
    /// budget ends; Anderson extrapolation every K + 1 epochs. Returns the epochs run.
    func minimizeModel(set: [Int], target: Double, budget: Int, memory: Int, checkInterval: Int, kept: inout Int) -> Int {
        let columns = set.flatMap { Array(blocks[$0]) }
        let m = columns.count + (hasIntercept ? 1 : 0)
        var history = memory > 0 ? [Double](repeating: 0, count: (memory + 1) * m) : []
        var stored = 0
        var accelerated = [Double](repeating: 0, count: m)
        var epochs = 0
        while epochs < budget {
            epochs += 1
            for k in set { update(k) }
            updateIntercept()
            if memory > 0 {
                for (a, j) in columns.enumerated() { history[stored * m + a] = w[j] }
                if hasIntercept { history[stored * m + m - 1] = b }
                stored += 1
                if stored == memory + 1 {
                    stored = 0
                    if andersonExtrapolate(history, memory: memory, m: m, into: &accelerated) {
                        let bNow = b
                        stopAtFirstKink(&accelerated) { a in a < columns.count ? self.w[columns[a]] : bNow }
                        if tryExtrapolated(accelerated, columns: columns, set: set) { kept += 1 }
                    }
                }
            }
            if epochs % checkInterval == 0 && modelViolation(set: set) <= target { break }
        }
        return epochs
    }

    /// Moves to the extrapolated point when it lowers the model.
    func tryExtrapolated(_ accelerated: [Double], columns: [Int], set: [Int]) -> Bool {
        var candidateRho = rho
        var candidateW = w
        for (a, j) in columns.enumerated() {
            let delta = accelerated[a] - w[j]
            guard delta != 0 else { continue }
            for q in ptr[j]..<ptr[j + 1] { candidateRho[Int(idx[q])] += delta * val[q] }
            candidateW[j] = accelerated[a]
        }
        let deltaB = hasIntercept ? accelerated[columns.count] - b : 0
        if deltaB != 0 { for i in 0..<n { candidateRho[i] += deltaB } }
        let after = modelObjective(rho: candidateRho, weights: candidateW, set: set)
        guard after.isFinite, after < modelObjective(rho: rho, weights: w, set: set) else { return false }
        for i in 0..<n { deltaZ[i] += candidateRho[i] - rho[i] }
        rho = candidateRho
        w = candidateW
        b += deltaB
        return true
    }

    func run(tolerance: Double, options: WorkingSetSolver.Options) -> WorkingSetSolver.Result {
        var epochs = 0, outer = 0, newtonSteps = 0, kept = 0
        var kkt = Double.infinity, previous = Double.infinity
        var workingSetSize = 0
        let unpenalized = Set(penalty.unpenalizedCoordinates.map { blockOf[$0] })
        // Nonconvex penalties take majorization steps where the datafit's curvature is bounded.
        let majorize = !penalty.isConvex && model.datafit.curvatureBound != nil
        var fresh = false
        while outer < options.maxOuterIterations {
            outer += 1
            fresh = true
            recomputePredictor()
            let interceptGradient = fullGradient()
            var scores: [(score: Double, feature: Int)] = []
            var support: [Int] = []
            kkt = hasIntercept ? abs(interceptGradient) : 0
            for k in 0..<blocks.count {
                let v = violation(k)
                kkt = max(kkt, v)
                if !isZero(k) || unpenalized.contains(k) { support.append(k) } else if v > 0 { scores.append((v, k)) }
            }
            if kkt <= tolerance || epochs >= options.maxEpochs || !kkt.isFinite { break }
            var size = max(options.initialWorkingSetSize, 2 * support.count)
            if kkt > previous / 2 { size = max(size, 2 * workingSetSize) }
            previous = kkt
            fresh = false
            let set = workingSet(support: support, candidates: scores, size: size).sorted()
            workingSetSize = set.count
            let target = options.innerTolerance * kkt
            if quadratic {
                buildModel(set: set)
                newtonSteps += 1
                let full = set.count == blocks.count
                // On the whole problem the model's violation is the KKT residual itself.
                epochs += minimizeModel(set: set, target: full ? tolerance : target, budget: options.maxEpochs - epochs,
                                        memory: options.andersonMemory, checkInterval: options.innerCheckInterval, kept: &kept)
                continue
            }
            for _ in 0..<options.maxNewtonStepsPerSet {
                guard epochs < options.maxEpochs else { break }
                newtonSteps += 1
                // u and D at the current point, ∇F on the set from u.
                let inverse = 1 / model.totalWeight
                for i in 0..<n { u[i] = sampleWeight(i) * model.datafit.derivative(z[i], row: i) * inverse }
                buildModel(set: set, majorize: majorize)
                let setViolation = modelViolation(set: set)
                if setViolation <= target { break }
                let w0 = w, b0 = b
                let objective0 = datafitValue(z) + penaltyValue(w0, set: set)
                epochs += minimizeModel(set: set, target: options.innerTolerance * setViolation,
                                        budget: min(options.maxModelEpochs, options.maxEpochs - epochs),
                                        memory: options.andersonMemory, checkInterval: options.innerCheckInterval, kept: &kept)
                // Line search along d = (w − w₀, b − b₀): Armijo on the model's decrease
                // Δ = ∇Fᵀd + g(w₀ + d) − g(w₀).
                let wNew = w, bNew = b
                var linear = 0.0
                for i in 0..<n { linear += u[i] * deltaZ[i] }
                let decrease = linear + penaltyValue(wNew, set: set) - penaltyValue(w0, set: set)
                var step = 1.0, accepted = false
                var trialZ = z, trialW = w0
                for _ in 0..<options.maxBacktracks {
                    for i in 0..<n { trialZ[i] = z[i] + step * deltaZ[i] }
                    for k in set { for j in blocks[k] { trialW[j] = w0[j] + step * (wNew[j] - w0[j]) } }
                    let value = datafitValue(trialZ) + penaltyValue(trialW, set: set)
                    if value.isFinite && value <= objective0 + 1e-4 * step * min(decrease, 0) + 1e-15 * abs(objective0) {
                        accepted = true
                        break
                    }
                    step /= 2
                }
                guard accepted else {
                    w = w0; b = b0
                    break
                }
                w = trialW
                b = b0 + step * (bNew - b0)
                z = trialZ
                if decrease > -1e-16 * max(abs(objective0), 1) { break }
            }
        }
        if !fresh {
            recomputePredictor()
            let interceptGradient = fullGradient()
            kkt = hasIntercept ? abs(interceptGradient) : 0
            for k in 0..<blocks.count { kkt = max(kkt, violation(k)) }
        }
        let objective = datafitValue(z) + penalty.value(w)
        return WorkingSetSolver.Result(solution: w, intercept: b, objective: objective, kktResidual: kkt, converged: kkt <= tolerance,
                                       outerIterations: outer, newtonSteps: newtonSteps, epochs: epochs, workingSetSize: workingSetSize,
                                       extrapolationsKept: kept, seconds: 0)
    }
}
