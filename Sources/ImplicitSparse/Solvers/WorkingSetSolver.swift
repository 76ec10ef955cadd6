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
        public init(solution: [Double], intercept: Double, objective: Double, kktResidual: Double, converged: Bool, outerIterations: Int,
                    newtonSteps: Int, epochs: Int, workingSetSize: Int, extrapolationsKept: Int, seconds: Double) {
            self.solution = solution; self.intercept = intercept; self.objective = objective; self.kktResidual = kktResidual
            self.converged = converged; self.outerIterations = outerIterations; self.newtonSteps = newtonSteps; self.epochs = epochs
            self.workingSetSize = workingSetSize; self.extrapolationsKept = extrapolationsKept; self.seconds = seconds
        }
    }

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Solves to a KKT residual ≤ tolerance, from a warm start (zeros and the best constant
    /// intercept by default). Returns what it reached when a limit stops it (`converged`
    /// false).
    /// - Throws: `.dimensionMismatch` / `.nonFinite` for a bad warm start.
    /// Inlinable, so a caller's module specializes the whole solve for its concrete datafit and
    /// penalty (unspecialized, every penalty and datafit call goes through a witness table:
    /// 2.9× slower on the bench's Huber + ℓ1 case: 0.174 s against 0.061 s, docs/BENCHMARKS.md).
    @inlinable
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

/// The state of one solve: raw pointers into X (CSC) and owned buffers, so the inner loops
/// run without bounds checks, exclusivity checks or copy-on-write checks.
@usableFromInline
final class WorkingSetEngine<Fit: Datafit, Reg: Penalty> {
    @usableFromInline let model: GeneralizedLinearModel<Fit, Reg>
    @usableFromInline let penalty: Reg
    @usableFromInline let n: Int, p: Int
    @usableFromInline let ptr: UnsafePointer<Int>, idx: UnsafePointer<Int32>, val: UnsafePointer<Double>
    @usableFromInline let blocks: [Range<Int>]
    @usableFromInline let blockOf: [Int]
    @usableFromInline let quadratic: Bool
    @usableFromInline let hasIntercept: Bool
    /// sᵢ/S per row.
    @usableFromInline let rowWeight: UnsafeMutablePointer<Double>
    @usableFromInline let w: UnsafeMutablePointer<Double>
    @usableFromInline var b: Double
    /// z = Xw + b, u = s f′(z)/S, D = s f″(z)/S (floored), ρ = δz + u/D (the model's residual),
    /// δz = X(w − w₀) + (b − b₀) since the model was built; ρ's scratch twin for extrapolation.
    @usableFromInline let z: UnsafeMutablePointer<Double>, u: UnsafeMutablePointer<Double>, curvature: UnsafeMutablePointer<Double>
    @usableFromInline var rho: UnsafeMutablePointer<Double>, rhoScratch: UnsafeMutablePointer<Double>
    @usableFromInline let deltaZ: UnsafeMutablePointer<Double>, trialZ: UnsafeMutablePointer<Double>
    /// ∇_w F from the last full pass.
    @usableFromInline let gradient: UnsafeMutablePointer<Double>
    /// L_B of the current model, per block.
    @usableFromInline let lipschitz: UnsafeMutablePointer<Double>
    /// D when it is the same for every row (least squares without sample weights).
    @usableFromInline var uniformCurvature: Double?
    @usableFromInline let columnBlocks: ColumnBlocks
    @usableFromInline let scratch: UnsafeMutablePointer<Double>
    @usableFromInline let largestBlock: Int

    @inlinable init(model: GeneralizedLinearModel<Fit, Reg>, pointers: UnsafePointer<Int>, rows: UnsafePointer<Int32>, values: UnsafePointer<Double>,
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
        func buffer(_ count: Int) -> UnsafeMutablePointer<Double> {
            let b = UnsafeMutablePointer<Double>.allocate(capacity: max(count, 1))
            b.initialize(repeating: 0, count: max(count, 1))
            return b
        }
        rowWeight = buffer(n)
        for i in 0..<n { rowWeight[i] = (model.sampleWeights?[i] ?? 1) / model.totalWeight }
        w = buffer(p)
        w.update(from: weights, count: p)
        b = intercept
        z = buffer(n); u = buffer(n); curvature = buffer(n); rho = buffer(n); rhoScratch = buffer(n); deltaZ = buffer(n); trialZ = buffer(n)
        gradient = buffer(p)
        lipschitz = buffer(blocks.count)
        columnBlocks = ColumnBlocks(pointers: pointers, columns: p, threads: max(1, threads))
        largestBlock = blocks.map(\.count).max() ?? 1
        scratch = buffer(largestBlock)
    }

    deinit {
        for buffer in [rowWeight, w, z, u, curvature, rho, rhoScratch, deltaZ, trialZ, gradient, lipschitz, scratch] { buffer.deallocate() }
    }

    @usableFromInline var weights: [Double] { Array(UnsafeBufferPointer(start: w, count: p)) }

    /// z = Xw + b from the nonzero coordinates (exact: no drift across outer iterations).
    @inlinable func recomputePredictor() {
        for i in 0..<n { z[i] = b }
        for j in 0..<p where w[j] != 0 {
            let wj = w[j]
            for k in ptr[j]..<ptr[j + 1] { z[Int(idx[k])] += val[k] * wj }
        }
    }

    @inlinable func datafitValue(_ predictor: UnsafeMutablePointer<Double>) -> Double {
        var total = 0.0
        for i in 0..<n where rowWeight[i] != 0 { total += rowWeight[i] * model.datafit.loss(predictor[i], row: i) }
        return total
    }

    @inlinable func computeRowGradient() {
        for i in 0..<n { u[i] = rowWeight[i] == 0 ? 0 : rowWeight[i] * model.datafit.derivative(z[i], row: i) }
    }

    /// u, and ∇_w F = Xᵀu over every column (in parallel); returns ∂F/∂b.
    @inlinable func fullGradient() -> Double {
        computeRowGradient()
        let (u, gradient, ptr, idx, val) = (self.u, self.gradient, self.ptr, self.idx, self.val)
        columnBlocks.forEach { range in
            for j in range {
                var s = 0.0
                for k in ptr[j]..<ptr[j + 1] { s += val[k] * u[Int(idx[k])] }
                gradient[j] = s
            }
        }
        var total = 0.0
        for i in 0..<n { total += u[i] }
        return total
    }

    @inlinable @inline(__always) func blockValues(_ range: Range<Int>) -> UnsafeBufferPointer<Double> {
        UnsafeBufferPointer(start: w + range.lowerBound, count: range.count)
    }

    @inlinable func violation(_ block: Int) -> Double {
        let range = blocks[block]
        if range.count == 1 { return penalty.subdifferentialDistance(w[range.lowerBound], gradient: gradient[range.lowerBound], coordinate: range.lowerBound) }
        return penalty.blockSubdifferentialDistance(blockValues(range), gradient: UnsafeBufferPointer(start: gradient + range.lowerBound, count: range.count),
                                                    block: range)
    }

    @inlinable func isZero(_ block: Int) -> Bool {
        let range = blocks[block]
        if range.count == 1 { return penalty.isZero(w[range.lowerBound], coordinate: range.lowerBound) }
        return penalty.isZero(blockValues(range), block: range)
    }

    /// The model at the current w: D, ρ = u/D, δz = 0, and L_B on `set`. With `majorize`, D is
    /// the datafit's curvature bound instead of f″: the model then lies above F, so every
    /// decrease of the model decreases the objective — what a nonconvex penalty needs, since
    /// its prox-Newton direction need not be a descent direction.
    @inlinable func buildModel(set: [Int], majorize: Bool = false) {
        let bound = model.datafit.curvatureBound
        var largest = 0.0
        for i in 0..<n {
            if majorize, let bound {
                curvature[i] = rowWeight[i] * bound
            } else {
                curvature[i] = rowWeight[i] == 0 ? 0 : rowWeight[i] * model.datafit.secondDerivative(z[i], row: i)
            }
            largest = max(largest, curvature[i])
        }
        // A floor keeps flat rows (Huber's outliers, a saturated logistic) from giving
        // infinite steps; the line search makes any positive metric a descent method.
        // Scaled by sᵢ, so a least-squares model is never changed by it.
        var uniform = true
        for i in 0..<n {
            let floor = bound.map { 1e-4 * $0 * rowWeight[i] } ?? (rowWeight[i] > 0 ? 1e-12 * largest : 0)
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
    @inlinable @inline(__always) func modelGradient(_ j: Int) -> Double {
        var s = 0.0
        if let c = uniformCurvature {
            for k in ptr[j]..<ptr[j + 1] { s += val[k] * rho[Int(idx[k])] }
            return s * c
        }
        for k in ptr[j]..<ptr[j + 1] { let i = Int(idx[k]); s += val[k] * curvature[i] * rho[i] }
        return s
    }

    @inlinable @inline(__always) func moveColumn(_ j: Int, by delta: Double) {
        for k in ptr[j]..<ptr[j + 1] {
            let i = Int(idx[k])
            rho[i] += delta * val[k]
            deltaZ[i] += delta * val[k]
        }
    }

    /// One prox step on block k of the model.
    @inlinable @inline(__always) func update(_ k: Int) {
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
        for (a, j) in range.enumerated() { scratch[a] = w[j] - modelGradient(j) / lk }
        penalty.blockProx(UnsafeMutableBufferPointer(start: scratch, count: range.count), step: 1 / lk, block: range)
        for (a, j) in range.enumerated() {
            let delta = scratch[a] - w[j]
            guard delta != 0 else { continue }
            moveColumn(j, by: delta)
            w[j] = scratch[a]
        }
    }

    /// The intercept's exact step on the model: Σ Dᵢ(ρᵢ + Δ) = 0.
    @inlinable func updateIntercept() {
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
    @inlinable func modelViolation(set: [Int]) -> Double {
        var worst = 0.0
        for k in set {
            let range = blocks[k]
            if range.count == 1 {
                let j = range.lowerBound
                worst = max(worst, penalty.subdifferentialDistance(w[j], gradient: modelGradient(j), coordinate: j))
                continue
            }
            for (a, j) in range.enumerated() { scratch[a] = modelGradient(j) }
            worst = max(worst, penalty.blockSubdifferentialDistance(blockValues(range), gradient: UnsafeBufferPointer(start: scratch, count: range.count),
                                                                    block: range))
        }
        if hasIntercept {
            var g = 0.0
            for i in 0..<n { g += curvature[i] * rho[i] }
            worst = max(worst, abs(g))
        }
        return worst
    }

    /// ½Σ Dᵢrᵢ².
    @inlinable func modelQuadratic(_ r: UnsafeMutablePointer<Double>) -> Double {
        var total = 0.0
        if let c = uniformCurvature {
            for i in 0..<n { total += r[i] * r[i] }
            return total * c / 2
        }
        for i in 0..<n { total += curvature[i] * r[i] * r[i] }
        return total / 2
    }

    /// The penalty on `set` at the values `value(j)` (w itself by default).
    @inlinable func penaltyValue(set: [Int], _ value: ((Int) -> Double)? = nil) -> Double {
        var total = 0.0
        for k in set {
            let range = blocks[k]
            if let value {
                for (a, j) in range.enumerated() { scratch[a] = value(j) }
                total += penalty.blockValue(UnsafeBufferPointer(start: scratch, count: range.count), block: range)
            } else {
                total += penalty.blockValue(blockValues(range), block: range)
            }
        }
        return total
    }

    /// Coordinate descent on the model over `set` until its violation is ≤ target or the
    /// budget ends; Anderson extrapolation every K + 1 epochs. Returns the epochs run.
    @inlinable func minimizeModel(set: [Int], target: Double, budget: Int, memory: Int, checkInterval: Int, kept: inout Int) -> Int {
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
    @inlinable func tryExtrapolated(_ accelerated: [Double], columns: [Int], set: [Int]) -> Bool {
        rhoScratch.update(from: rho, count: n)
        var position = [Int: Int]()
        for (a, j) in columns.enumerated() {
            position[j] = a
            let delta = accelerated[a] - w[j]
            guard delta != 0 else { continue }
            for q in ptr[j]..<ptr[j + 1] { rhoScratch[Int(idx[q])] += delta * val[q] }
        }
        let deltaB = hasIntercept ? accelerated[columns.count] - b : 0
        if deltaB != 0 { for i in 0..<n { rhoScratch[i] += deltaB } }
        let after = modelQuadratic(rhoScratch) + penaltyValue(set: set) { accelerated[position[$0]!] }
        guard after.isFinite, after < modelQuadratic(rho) + penaltyValue(set: set) else { return false }
        for i in 0..<n { deltaZ[i] += rhoScratch[i] - rho[i] }
        swap(&rho, &rhoScratch)
        for (a, j) in columns.enumerated() { w[j] = accelerated[a] }
        b += deltaB
        return true
    }

    @inlinable func run(tolerance: Double, options: WorkingSetSolver.Options) -> WorkingSetSolver.Result {
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
            let columns = set.flatMap { Array(blocks[$0]) }
            for _ in 0..<options.maxNewtonStepsPerSet {
                guard epochs < options.maxEpochs else { break }
                newtonSteps += 1
                // u and D at the current point.
                computeRowGradient()
                buildModel(set: set, majorize: majorize)
                let setViolation = modelViolation(set: set)
                if setViolation <= target { break }
                let w0 = columns.map { w[$0] }, b0 = b
                var index = [Int: Int]()
                for (a, j) in columns.enumerated() { index[j] = a }
                let penalty0 = penaltyValue(set: set)
                let objective0 = datafitValue(z) + penalty0
                epochs += minimizeModel(set: set, target: options.innerTolerance * setViolation,
                                        budget: min(options.maxModelEpochs, options.maxEpochs - epochs),
                                        memory: options.andersonMemory, checkInterval: options.innerCheckInterval, kept: &kept)
                // Line search along d = (w − w₀, b − b₀) on the step t: accept when
                // g(w₀ + t d) − g(w₀) + t ∇F(w₀ + t d)ᵀd < 0, which bounds the change of the
                // objective from above (F is convex) without differencing F itself — near the
                // solution the decrease falls below the rounding of a sum of n losses (skglm's
                // ProxNewton test) —, or when the objective itself decreases (to its rounding):
                // each test fails alone at its own rounding floor, never both.
                let wNew = columns.map { w[$0] }, bNew = b
                var moved = false
                for i in 0..<n where deltaZ[i] != 0 { moved = true; break }
                if !moved && bNew == b0 { break }
                var step = 1.0, accepted = false
                var decrease = 0.0
                for _ in 0..<options.maxBacktracks {
                    var slope = 0.0
                    for i in 0..<n {
                        trialZ[i] = z[i] + step * deltaZ[i]
                        if rowWeight[i] != 0 && deltaZ[i] != 0 { slope += rowWeight[i] * model.datafit.derivative(trialZ[i], row: i) * deltaZ[i] }
                    }
                    let t = step
                    let penaltyChange = penaltyValue(set: set) { j in let a = index[j]!; return w0[a] + t * (wNew[a] - w0[a]) } - penalty0
                    decrease = penaltyChange + step * slope
                    let trialPenalty = penaltyChange + penalty0
                    if decrease.isFinite && decrease < 0 {
                        accepted = true
                        break
                    }
                    let value = datafitValue(trialZ) + trialPenalty
                    if value.isFinite && value <= objective0 + 1e-4 * min(decrease, 0) + 1e-15 * abs(objective0) {
                        accepted = true
                        break
                    }
                    step /= 2
                }
                guard accepted else {
                    for (a, j) in columns.enumerated() { w[j] = w0[a] }
                    b = b0
                    break
                }
                for (a, j) in columns.enumerated() { w[j] = w0[a] + step * (wNew[a] - w0[a]) }
                b = b0 + step * (bNew - b0)
                z.update(from: trialZ, count: n)
            }
        }
        if !fresh {
            recomputePredictor()
            let interceptGradient = fullGradient()
            kkt = hasIntercept ? abs(interceptGradient) : 0
            for k in 0..<blocks.count { kkt = max(kkt, violation(k)) }
        }
        let objective = datafitValue(z) + penalty.value(weights)
        return WorkingSetSolver.Result(solution: weights, intercept: b, objective: objective, kktResidual: kkt, converged: kkt <= tolerance,
                                       outerIterations: outer, newtonSteps: newtonSteps, epochs: epochs, workingSetSize: workingSetSize,
                                       extrapolationsKept: kept, seconds: 0)
    }
}
