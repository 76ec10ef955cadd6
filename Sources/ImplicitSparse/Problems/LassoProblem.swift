import Dispatch
import Foundation
import Sparse

/// The lasso (and elastic net, in scikit-learn's parametrization)
/// min (1/2n)‖y − Xw − b‖² + λ(α Σⱼ ωⱼ|wⱼ| + (1 − α)/2 ‖w‖²) [+ wⱼ ≥ 0], with its duality gap.
/// ωⱼ are per-feature penalty weights (the weighted lasso; all 1 by default, 0 = unpenalized);
/// `nonNegative` constrains w ≥ 0 (the non-negative lasso). Without an intercept b = 0. With
/// one (`fitIntercept`), b is unpenalized and eliminated exactly (b = ȳ − μᵀw with μ the column
/// means): the problem becomes a lasso in the centered design X̃ = X − 1μᵀ and targets
/// ỹ = y − ȳ, and X̃ is never formed — its products cost those of X plus O(n + p)
/// (X̃w = Xw − (μᵀw)1, X̃ᵀr = Xᵀr − μ(1ᵀr)), so the sparsity of X is kept.
///
/// Rows over processes: with a `rowSpace`, `design` and `targets` are this process's rows of
/// X and y (a row block of n rows in all), w and every vector of length p are whole on every
/// process, and each sum over rows — Xᵀr, ‖r‖², ỹᵀr, 1ᵀr, the column means — is one reduction
/// over the processes (p + 3 numbers). The objective, the duality gap, FISTA and the
/// working-set solver are then the same code on one process and on many; every method that
/// touches X is collective (all processes call it in the same order).
public struct LassoProblem: Sendable {
    public let design: CSRMatrix
    public let targets: [Double]
    public let lambda: Double
    /// α: 1 for the lasso, in (0, 1) for the elastic net.
    public let l1Ratio: Double
    public let fitIntercept: Bool
    /// ωⱼ ≥ 0, one per feature (nil: all 1). A zero weight leaves the feature unpenalized.
    public let penaltyWeights: [Double]?
    /// w ≥ 0 (the non-negative lasso).
    public let nonNegative: Bool
    /// μ, the column means of X (zero without an intercept).
    public let columnMeans: [Double]
    /// ȳ (zero without an intercept).
    public let targetMean: Double
    /// ỹ = y − ȳ.
    public let centeredTargets: [Double]
    /// ‖X̃ⱼ‖²/n of the unpenalized features (ωⱼ = 0), which enter the certificate (`dualityGap`).
    let unpenalizedCurvatures: [(feature: Int, curvature: Double)]
    /// How the rows are split over processes (nil: all rows here).
    public let rowSpace: VectorSpace?
    /// n, the number of rows over all processes.
    public let sampleCount: Int
    /// ‖ỹ‖²/(2n) (reduced once at construction).
    public let gapScale: Double

    /// - Parameters:
    ///   - design: X, n × p (with a `rowSpace`: this process's rows).
    ///   - targets: y, one per row of `design`.
    ///   - lambda: λ > 0.
    ///   - l1Ratio: α in (0, 1].
    ///   - fitIntercept: an unpenalized intercept, eliminated by implicit centering.
    ///   - penaltyWeights: ωⱼ ≥ 0 per feature (nil: all 1).
    ///   - nonNegative: constrain w ≥ 0.
    ///   - rowSpace: the rows' split over processes (collective construction: one
    ///     reduction for the centering, one for ‖ỹ‖²); `design.rows` must be its local length.
    /// - Throws: `.dimensionMismatch`, `.nonFinite`, `.invalidArgument` (λ ≤ 0, α ∉ (0, 1],
    ///   a negative or non-finite penalty weight, naming its index).
    public init(design: CSRMatrix, targets: [Double], lambda: Double, l1Ratio: Double = 1, fitIntercept: Bool = false,
                penaltyWeights: [Double]? = nil, nonNegative: Bool = false, rowSpace: VectorSpace? = nil) throws {
        guard targets.count == design.rows else {
            throw SparseError.dimensionMismatch(operation: "LassoProblem", expected: "\(design.rows) targets",
                                                actual: "\(targets.count)")
        }
        if let rowSpace, rowSpace.localLength != design.rows {
            throw SparseError.dimensionMismatch(operation: "LassoProblem", expected: "\(rowSpace.localLength) local rows (the row space's part)",
                                                actual: "\(design.rows)")
        }
        self.rowSpace = rowSpace?.isDistributed == true ? rowSpace : nil
        sampleCount = rowSpace?.globalLength ?? design.rows
        if let bad = targets.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "targets", index: bad) }
        guard lambda > 0, lambda.isFinite else { throw SparseError.invalidArgument("λ must be positive and finite, got \(lambda)") }
        guard l1Ratio > 0, l1Ratio <= 1 else { throw SparseError.invalidArgument("l1 ratio must be in (0, 1], got \(l1Ratio)") }
        if fitIntercept && sampleCount == 0 { throw SparseError.invalidArgument("an intercept needs at least one row") }
        try Self.checkWeights(penaltyWeights, features: design.columns)
        self.design = design
        self.targets = targets
        self.lambda = lambda
        self.l1Ratio = l1Ratio
        self.fitIntercept = fitIntercept
        self.penaltyWeights = penaltyWeights
        self.nonNegative = nonNegative
        (columnMeans, targetMean, centeredTargets) = try Self.centering(design, targets, fitIntercept, rowSpace: self.rowSpace)
        let centered = centeredTargets
        let targetNorm2 = self.rowSpace?.sum(centered.reduce(0) { $0 + $1 * $1 }) ?? centered.reduce(0) { $0 + $1 * $1 }
        gapScale = max(targetNorm2 / (2 * Double(sampleCount)), 1e-300)
        if let penaltyWeights, penaltyWeights.contains(0) {
            var norms = [Double](repeating: 0, count: design.columns)
            for k in 0..<design.nonzeroCount { norms[Int(design.columnIndices[k])] += design.values[k] * design.values[k] }
            norms = self.rowSpace?.sum(norms) ?? norms
            let n = Double(max(sampleCount, 1)), means = columnMeans
            unpenalizedCurvatures = penaltyWeights.indices.filter { penaltyWeights[$0] == 0 }.map {
                ($0, max(norms[$0] / n - means[$0] * means[$0], 0))
            }
        } else {
            unpenalizedCurvatures = []
        }
    }

    /// Checks penalty weights: p of them, finite, ≥ 0.
    /// - Throws: `.dimensionMismatch`, `.nonFinite` or `.invalidArgument` naming the index.
    public static func checkWeights(_ weights: [Double]?, features: Int) throws {
        guard let weights else { return }
        guard weights.count == features else {
            throw SparseError.dimensionMismatch(operation: "penalty weights", expected: "\(features) weights (one per feature)",
                                                actual: "\(weights.count)")
        }
        if let bad = weights.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "penalty weights", index: bad) }
        if let bad = weights.firstIndex(where: { $0 < 0 }) {
            throw SparseError.invalidArgument("penalty weight \(bad) is \(weights[bad]); weights must be ≥ 0 (0 = unpenalized)")
        }
    }

    /// ωⱼ (1 without weights).
    @inline(__always) public func weight(_ j: Int) -> Double { penaltyWeights?[j] ?? 1 }

    /// The ℓ1 threshold of feature j, λαωⱼ.
    @inline(__always) public func threshold(_ j: Int) -> Double { lambda * l1Ratio * weight(j) }

    static func centering(_ x: CSRMatrix, _ y: [Double], _ fitIntercept: Bool, rowSpace: VectorSpace?) throws -> ([Double], Double, [Double]) {
        let rows = rowSpace?.globalLength ?? x.rows
        guard fitIntercept, rows > 0 else { return ([Double](repeating: 0, count: x.columns), 0, y) }
        let n = Double(rows)
        var means = try x.multiplyTransposed([Double](repeating: 1 / n, count: x.rows))
        var sum = y.reduce(0, +)
        if let rowSpace, rowSpace.isDistributed {
            means.append(sum)
            means = rowSpace.sum(means)
            sum = means.removeLast()
        }
        let mean = sum / n
        return (means, mean, y.map { $0 - mean })
    }

    /// λ_max = maxⱼ |X̃ⱼᵀỹ|/(nαωⱼ) over the penalized features (non-negative: the positive
    /// part of X̃ⱼᵀỹ): the smallest λ with w* = 0 (X̃ᵀỹ = Xᵀ(y − ȳ) with an intercept). With
    /// unpenalized features it is the same formula at w = 0 — the scale `--lambda-ratio` divides
    /// — but w* ≠ 0 there (the unpenalized features enter at every λ).
    /// With a `rowSpace` (rows over processes) it is collective: two reductions.
    public static func lambdaMax(design: CSRMatrix, targets: [Double], l1Ratio: Double = 1, fitIntercept: Bool = false,
                                 penaltyWeights: [Double]? = nil, nonNegative: Bool = false, rowSpace: VectorSpace? = nil) throws -> Double {
        try checkWeights(penaltyWeights, features: design.columns)
        let (_, _, centered) = try centering(design, targets, fitIntercept, rowSpace: rowSpace)
        var c = try design.multiplyTransposed(centered)
        if let rowSpace { c = rowSpace.sum(c) }
        var largest = 0.0
        for j in 0..<c.count {
            let omega = penaltyWeights?[j] ?? 1
            guard omega > 0 else { continue }
            largest = max(largest, (nonNegative ? max(c[j], 0) : abs(c[j])) / omega)
        }
        return largest / (Double(rowSpace?.globalLength ?? design.rows) * l1Ratio)
    }

    /// n as a Double (all processes' rows).
    var n: Double { Double(sampleCount) }

    /// Entrywise sums over the processes holding the rows (the values themselves on one).
    func reduced(_ values: [Double]) -> [Double] { rowSpace?.sum(values) ?? values }

    /// X̃ᵀr together with sums over rows of `extra` (e.g. ‖r‖²): one reduction over the
    /// processes for all of them (the local values on one process).
    func transposedProduct(_ r: [Double], extra: [Double]) -> (product: [Double], extra: [Double]) {
        var out = try! design.multiplyTransposed(r)
        var total = fitIntercept ? r.reduce(0, +) : 0
        var sums = extra
        if let rowSpace {
            let p = out.count
            out.append(total)
            out.append(contentsOf: extra)
            out = rowSpace.sum(out)
            total = out[p]
            sums = Array(out[(p + 1)...])
            out.removeLast(extra.count + 1)
        }
        if fitIntercept {
            for j in 0..<out.count { out[j] -= columnMeans[j] * total }
        }
        return (out, sums)
    }

    /// X̃w (= Xw without an intercept).
    public func designProduct(_ w: [Double]) -> [Double] {
        var out = try! design.multiply(w)
        if fitIntercept {
            let shift = Vector.dot(columnMeans, w)
            for i in 0..<out.count { out[i] -= shift }
        }
        return out
    }

    /// X̃ᵀr (= Xᵀr without an intercept); with rows over processes, r is this process's part
    /// and the product is summed over all (collective).
    public func designTransposedProduct(_ r: [Double]) -> [Double] {
        transposedProduct(r, extra: []).product
    }

    /// The intercept b = ȳ − μᵀw of a solution w (0 without an intercept).
    public func intercept(_ w: [Double]) -> Double { fitIntercept ? targetMean - Vector.dot(columnMeans, w) : 0 }

    public func smooth(_ w: [Double]) -> (value: Double, gradient: [Double]) {
        let r = zip(designProduct(w), centeredTargets).map { $0 - $1 }
        var (gradient, sums) = transposedProduct(r, extra: [r.reduce(0) { $0 + $1 * $1 }])
        let ridge = lambda * (1 - l1Ratio)
        for i in 0..<gradient.count { gradient[i] = gradient[i] / n + ridge * w[i] }
        let value = sums[0] / (2 * n) + ridge / 2 * w.reduce(0) { $0 + $1 * $1 }
        return (value, gradient)
    }

    public func prox(_ v: [Double], _ step: Double) -> [Double] {
        var out = v
        for j in 0..<v.count {
            let t = step * threshold(j)
            out[j] = nonNegative ? max(v[j] - t, 0) : (v[j] > t ? v[j] - t : (v[j] < -t ? v[j] + t : 0))
        }
        return out
    }

    public func penalty(_ w: [Double]) -> Double {
        guard let penaltyWeights else { return lambda * l1Ratio * w.reduce(0) { $0 + abs($1) } }
        var sum = 0.0
        for j in 0..<w.count { sum += penaltyWeights[j] * abs(w[j]) }
        return lambda * l1Ratio * sum
    }

    public func objective(_ w: [Double]) -> Double { smooth(w).value + penalty(w) }

    /// Duality gap P(w) − D(ν) (see `certificate(weights:correlation:residualNorm2:targetDotResidual:)`),
    /// from one product with X and one with Xᵀ.
    public func dualityGap(_ w: [Double]) -> Double {
        let residual = zip(centeredTargets, designProduct(w)).map { $0 - $1 }
        var (correlation, sums) = transposedProduct(residual, extra: [residual.reduce(0) { $0 + $1 * $1 },
                                                                      zip(centeredTargets, residual).map(*).reduce(0, +)])
        for j in 0..<correlation.count { correlation[j] /= n }
        return certificate(weights: w, correlation: correlation, residualNorm2: sums[0], targetDotResidual: sums[1]).gap
    }

    /// The duality gap of w from its residual r = ỹ − X̃w: c = X̃ᵀr/n (the correlations),
    /// ‖r‖² and ỹᵀr. The dual point is ν = s·r/n of the augmented lasso (the elastic net's ridge
    /// part written as extra rows √(nλ(1 − α))·I, Friedman et al.), scaled by s ≤ 1 into the
    /// dual feasible set |cⱼ − λ(1 − α)wⱼ|·s ≤ λαωⱼ (non-negative: the positive part only).
    /// Unpenalized features (ωⱼ = 0) would need gⱼ = cⱼ − λ(1 − α)wⱼ = 0 exactly (non-negative:
    /// gⱼ ≤ 0 at wⱼ = 0); they are left out of the scaling and add gⱼ²/(2(aⱼ + λ(1 − α))) of
    /// their violation — what an exact coordinate step on them would still gain — to the
    /// certificate. Returns the gap and s (gap-safe screening uses
    /// both). Nonnegative; zero exactly at the optimum.
    public func certificate<W: RandomAccessCollection<Double>, C: RandomAccessCollection<Double>>(
        weights w: W, correlation c: C, residualNorm2: Double, targetDotResidual: Double) -> (gap: Double, dualScale: Double)
        where W.Index == Int, C.Index == Int {
        let ridge = lambda * (1 - l1Ratio)
        var s = 1.0
        var l1 = 0.0, wNorm2 = 0.0
        for j in 0..<c.count {
            let omega = penaltyWeights?[j] ?? 1
            l1 += omega * abs(w[j])
            wNorm2 += w[j] * w[j]
            guard omega > 0 else { continue }
            let v = c[j] - ridge * w[j]
            let size = nonNegative ? v : abs(v)
            let bound = lambda * l1Ratio * omega
            if size * s > bound { s = bound / size }
        }
        let primal = residualNorm2 / (2 * n) + ridge / 2 * wNorm2 + lambda * l1Ratio * l1
        let dual = (s * targetDotResidual - s * s * residualNorm2 / 2) / n - ridge * s * s * wNorm2 / 2
        var gap = max(primal - dual, 0)
        for (j, a) in unpenalizedCurvatures where a + ridge > 0 {
            // Non-negative: at wⱼ = 0 only an ascent direction (g > 0) is a violation.
            let g = c[j] - ridge * w[j]
            let violation = nonNegative && w[j] == 0 ? max(g, 0) : g
            gap += violation * violation / (2 * (a + ridge))
        }
        return (gap, s)
    }

    /// An upper bound estimate of the Lipschitz constant of ∇f: ‖X̃ᵀX̃‖/n by power iteration,
    /// plus the ridge part.
    public func lipschitzEstimate(iterations: Int = 20) -> Double {
        var v = [Double](repeating: 1, count: design.columns)
        var estimate = 0.0
        for _ in 0..<iterations {
            let w = designTransposedProduct(designProduct(v))
            estimate = Vector.norm(w)
            guard estimate > 0 else { break }
            v = w.map { $0 / estimate }
        }
        return estimate / n + lambda * (1 - l1Ratio)
    }

    /// Solves by FISTA to a duality gap ≤ tolerance·‖ỹ‖²/(2n) (scale-free, as the CLI's --tol).
    public func solve(tolerance: Double = 1e-8, warmStart: [Double]? = nil, maxIterations: Int = 20_000) -> ProximalGradient.Result {
        var options = ProximalGradient.Options()
        options.tolerance = tolerance * gapScale
        options.maxIterations = maxIterations
        let lipschitz = lipschitzEstimate()
        options.initialStep = lipschitz > 0 ? 0.99 / lipschitz : 1
        let solver = ProximalGradient(options: options)
        return solver.minimize(from: warmStart ?? [Double](repeating: 0, count: design.columns),
                               smooth: smooth, prox: prox, penalty: penalty, certificate: dualityGap)
    }

    /// The lasso restricted to the columns `set` (the same rows, targets and row space).
    func subproblem(_ set: [Int]) throws -> LassoProblem {
        try LassoProblem(design: design.selectingColumns(set), targets: targets, lambda: lambda, l1Ratio: l1Ratio,
                         fitIntercept: fitIntercept, penaltyWeights: penaltyWeights.map { o in set.map { o[$0] } },
                         nonNegative: nonNegative, rowSpace: rowSpace)
    }

    /// The lasso on the columns `set` by coordinate descent on G = X̃_WᵀX̃_W/n and
    /// b = X̃_Wᵀỹ/n (one reduction each, none per step), until its duality gap — computed from
    /// G and b: ‖r‖² = ‖ỹ‖² − 2n bᵀw + n wᵀGw — is at most `target` (absolute).
    func solveOnGram(set: [Int], warmStart: [Double], target: Double, maxEpochs: Int) throws -> (solution: [Double], epochs: Int) {
        let sub = try subproblem(set)
        let k = set.count
        var g = sub.reduced(sub.design.denseGram())
        let mu = sub.columnMeans
        for a in 0..<k {
            for b in 0..<k { g[a * k + b] = (g[a * k + b] - (fitIntercept ? n * mu[a] * mu[b] : 0)) / n }
        }
        let b = sub.designTransposedProduct(centeredTargets).map { $0 / n }
        let targetNorm2 = 2 * n * gapScale
        let ridge = lambda * (1 - l1Ratio)
        /// Gv, skipping v's zeros (G is symmetric: column j is row j).
        func product(_ v: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: k)
            for j in 0..<k where v[j] != 0 { for i in 0..<k { out[i] += g[j * k + i] * v[j] } }
            return out
        }
        var w = warmStart
        var gw = product(w)
        var epochs = 0, best = Double.infinity, sinceBest = 0
        var correlation = [Double](repeating: 0, count: k)
        // Anderson extrapolation of the epochs' iterates (as `CoordinateDescent`: memory 5, the
        // step cut at the first kink, kept only when it lowers the objective).
        let memory = 5
        var history = [Double](repeating: 0, count: (memory + 1) * k), stored = 0
        var accelerated = [Double](repeating: 0, count: k)
        func objective(_ v: [Double], _ gv: [Double]) -> Double {
            var value = 0.0
            for j in 0..<k { value += 0.5 * v[j] * gv[j] - b[j] * v[j] + sub.threshold(j) * abs(v[j]) + 0.5 * ridge * v[j] * v[j] }
            return value
        }
        while epochs < maxEpochs {
            epochs += 1
            for j in 0..<k {
                let a = g[j * k + j] + ridge
                guard a > 0 else { continue }
                let v = w[j] - (gw[j] - b[j] + ridge * w[j]) / a
                let t = sub.threshold(j) / a
                let updated = nonNegative ? max(v - t, 0) : (v > t ? v - t : (v < -t ? v + t : 0))
                let d = updated - w[j]
                guard d != 0 else { continue }
                w[j] = updated
                for i in 0..<k { gw[i] += g[j * k + i] * d }
            }
            for j in 0..<k { history[stored * k + j] = w[j] }
            stored += 1
            if stored == memory + 1 {
                stored = 0
                if andersonExtrapolate(history, memory: memory, m: k, into: &accelerated) {
                    stopAtFirstKink(&accelerated, nonNegative: nonNegative) { w[$0] }
                    let ga = product(accelerated)
                    if objective(accelerated, ga) < objective(w, gw) {
                        w = accelerated
                        gw = ga
                    }
                }
            }
            func gap() -> Double {
                var bw = 0.0, wgw = 0.0
                for j in 0..<k {
                    correlation[j] = b[j] - gw[j]
                    bw += b[j] * w[j]
                    wgw += w[j] * gw[j]
                }
                return sub.certificate(weights: w, correlation: correlation, residualNorm2: max(targetNorm2 - 2 * n * bw + n * wgw, 0),
                                       targetDotResidual: targetNorm2 - n * bw).gap
            }
            var current = gap()
            if current <= target {
                // Confirmed with Gw afresh (the incremental updates drift by rounding over many
                // epochs, and the gap is read from Gw).
                gw = product(w)
                current = gap()
            }
            if current <= target || !current.isFinite { break }
            // At the rounding floor of the gap read from G (near 10⁻¹² of ‖ỹ‖²/(2n)): 50
            // epochs without a tenth off, once the gap is within 10⁻¹¹ of it.
            if current < 0.9 * best { best = current; sinceBest = 0 } else { sinceBest += 1 }
            if sinceBest >= 50 && current <= 1e-11 * gapScale { break }
        }
        return (w, epochs)
    }

    /// What `solveWithWorkingSets` reached.
    public struct WorkingSetResult: Sendable {
        public var solution: [Double]
        /// Inner iterations over all working sets (coordinate-descent epochs on the Gram
        /// matrix, FISTA iterations above its limit).
        public var iterations: Int
        /// How many working sets were solved.
        public var workingSets: Int
        /// The last working set's size.
        public var workingSetSize: Int
        /// The duality gap of the whole problem at `solution`.
        public var certificate: Double
        public var converged: Bool
        public var seconds: Double
    }

    /// Working sets (as skglm and celer grow them): the whole problem's duality gap and
    /// correlations c = X̃ᵀr/n are computed at the current w; when the gap is above the
    /// target, the working set W is the support, the unpenalized features and the features
    /// nearest their dual constraint (largest |cⱼ|/(λαωⱼ)), max(`initialSize`, 2|support|)
    /// of them and never fewer than the last one (doubled when the gap did not halve). The
    /// lasso restricted to W is then solved, warm-started, to 0.3 of the current gap — to 0.3
    /// of the target when W is the last set again — and the loop repeats. Up to `gramLimit`
    /// columns it is solved on its reduced Gram matrix G = X̃_WᵀX̃_W/n and b = X̃_Wᵀỹ/n by
    /// coordinate descent (covariance updates, as glmnet's, with Anderson extrapolation as
    /// `CoordinateDescent`'s; its gap from G and b), which needs no pass over X; above, by FISTA
    /// on the columns W. The gap read from G has a rounding
    /// floor (the correlations b − Gw cancel down to λα): on supports of hundreds of duplicated
    /// and dependent binary columns about 10⁻¹² of ‖ỹ‖²/(2n); a target below it ends with
    /// `converged == false` and the gap reached (the same set again without the gap halving).
    ///
    /// Rows over processes: a working set costs one reduction of p + 3 numbers (the whole
    /// problem's check) and one of |W|² + |W| (G and b), and the coordinate descent on G none;
    /// a FISTA iteration (above the limit) reduces |W| + 3. Every choice is made from reduced
    /// numbers, so all processes take the same sets and steps. Memory: 8|W|² bytes for G, and
    /// X_W's rows copied per working set.
    /// - Parameters:
    ///   - tolerance: the relative duality-gap target (× ‖ỹ‖²/(2n)).
    ///   - warmStart: a starting w (length p).
    ///   - maxIterations: inner iterations (coordinate-descent epochs on G, or FISTA
    ///     iterations) over all working sets.
    ///   - initialSize: the first working set's size.
    ///   - gramLimit: the largest working set solved on its Gram matrix.
    /// - Throws: `.dimensionMismatch` for a warm start of the wrong length.
    public func solveWithWorkingSets(tolerance: Double = 1e-8, warmStart: [Double]? = nil, maxIterations: Int = 100_000,
                                     initialSize: Int = 128, gramLimit: Int = 4096) throws -> WorkingSetResult {
        let start = DispatchTime.now().uptimeNanoseconds
        let p = design.columns
        var w = warmStart ?? [Double](repeating: 0, count: p)
        guard w.count == p else {
            throw SparseError.dimensionMismatch(operation: "LassoProblem.solveWithWorkingSets", expected: "a warm start of \(p) weights",
                                                actual: "\(w.count)")
        }
        let target = tolerance * gapScale
        let ridge = lambda * (1 - l1Ratio)
        var size = max(initialSize, 1)
        var iterations = 0, sets = 0, lastSize = 0
        var previousSet: [Int] = [], previousGap = Double.infinity, stalledBefore = false
        while true {
            let residual = zip(centeredTargets, designProduct(w)).map { $0 - $1 }
            var (c, sums) = transposedProduct(residual, extra: [residual.reduce(0) { $0 + $1 * $1 },
                                                                zip(centeredTargets, residual).map(*).reduce(0, +)])
            for j in 0..<c.count { c[j] /= n }
            let gap = certificate(weights: w, correlation: c, residualNorm2: sums[0], targetDotResidual: sums[1]).gap
            // Stagnation: the same set again without the gap halving, near the rounding floor
            // of the sets' Gram-matrix gaps — the certificate says how far it got.
            let stalled = stalledBefore && gap > 0.5 * previousGap && gap <= 1e-11 * gapScale
            if gap <= target || !gap.isFinite || iterations >= maxIterations || sets >= 200 || stalled {
                return WorkingSetResult(solution: w, iterations: iterations, workingSets: sets, workingSetSize: lastSize,
                                        certificate: gap, converged: gap <= target,
                                        seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
            var kept: [Int] = [], candidates: [(score: Double, feature: Int)] = []
            for j in 0..<p {
                let omega = weight(j)
                if w[j] != 0 || omega == 0 { kept.append(j); continue }
                let v = c[j] - ridge * w[j]
                candidates.append(((nonNegative ? max(v, 0) : abs(v)) / (lambda * l1Ratio * omega), j))
            }
            if gap > 0.5 * previousGap { size *= 2 }
            size = min(p, max(size, 2 * kept.count))
            // The same choice on every process: the scores are reduced numbers and the
            // selection is deterministic.
            let set = workingSet(support: kept, candidates: candidates, size: size).sorted()
            stalledBefore = set == previousSet && gap > 0.5 * previousGap
            let innerTarget = set == previousSet ? 0.3 * target : max(0.3 * gap, 0.3 * target)
            previousSet = set
            previousGap = gap
            let remaining = max(maxIterations - iterations, 1)
            if set.count <= gramLimit {
                let r = try solveOnGram(set: set, warmStart: set.map { w[$0] }, target: innerTarget, maxEpochs: remaining)
                iterations += r.epochs
                w = [Double](repeating: 0, count: p)
                for (k, j) in set.enumerated() { w[j] = r.solution[k] }
            } else if set.count == p {
                let r = solve(tolerance: innerTarget / gapScale, warmStart: w, maxIterations: remaining)
                iterations += r.iterations
                w = r.solution
            } else {
                let sub = try subproblem(set)
                let r = sub.solve(tolerance: innerTarget / gapScale, warmStart: set.map { w[$0] }, maxIterations: remaining)
                iterations += r.iterations
                w = [Double](repeating: 0, count: p)
                for (k, j) in set.enumerated() { w[j] = r.solution[k] }
            }
            sets += 1
            lastSize = set.count
        }
    }
}
