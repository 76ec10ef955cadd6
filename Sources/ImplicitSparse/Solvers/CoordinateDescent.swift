import Dispatch
import Sparse

/// Cyclic coordinate descent with an active set for the lasso / elastic net (Friedman,
/// Hastie & Tibshirani, 2010): a full sweep over all p coordinates, then sweeps over the
/// nonzeros only until they stop improving the objective, then a full sweep again, with the
/// duality gap as the certificate after every full sweep. Each coordinate update costs the
/// nonzeros of its column (X is held as CSC), so a sweep is O(nnz) and an active sweep
/// O(nnz of the support). The intercept's centering is applied implicitly: the residual is
/// kept as r = ỹ − Xw + (μᵀw)1 through r_raw = ỹ − Xw and the scalar s = μᵀw.
/// Memory: the CSC copy of X (12 bytes per nonzero plus 8(p + 1)) and O(n + p) vectors.
public struct CoordinateDescent: Sendable {
    public var maxEpochs: Int
    /// Sweeps over the active set between two full sweeps, at most.
    public var maxActiveSweeps: Int

    /// What a coordinate-descent solve returns.
    public struct Result: Sendable {
        public var solution: [Double]
        /// Full sweeps over the p coordinates.
        public var epochs: Int
        /// True when the duality gap met the tolerance.
        public var converged: Bool
        /// The duality gap of `solution` (the optimality certificate).
        public var dualityGap: Double
        /// The gap the tolerance asked for (tolerance·‖ỹ‖²/(2n)).
        public var targetGap: Double
        public var seconds: Double
        /// Alias of `epochs`, for code written against the FISTA result.
        public var iterations: Int { epochs }
        /// Alias of `dualityGap`.
        public var certificate: Double { dualityGap }
    }

    public init(maxEpochs: Int = 10_000, maxActiveSweeps: Int = 1_000) {
        self.maxEpochs = maxEpochs
        self.maxActiveSweeps = maxActiveSweeps
    }

    /// Solves `problem` to a duality gap ≤ tolerance·‖ỹ‖²/(2n).
    /// - Throws: `.dimensionMismatch` or `.nonFinite` for a bad warm start or design copy.
    public func solve(_ problem: LassoProblem, tolerance: Double = 1e-8, warmStart: [Double]? = nil,
                      design csc: CSCMatrix? = nil) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let x = csc ?? problem.design.toCSC()
        let n = x.rows, p = x.columns
        guard x.rows == problem.design.rows, x.columns == problem.design.columns else {
            throw SparseError.dimensionMismatch(operation: "CoordinateDescent", expected: "\(problem.design.rows) × \(problem.design.columns)",
                                                actual: "\(x.rows) × \(x.columns)")
        }
        var w = warmStart ?? [Double](repeating: 0, count: p)
        guard w.count == p else {
            throw SparseError.dimensionMismatch(operation: "CoordinateDescent", expected: "a warm start of length \(p)", actual: "\(w.count)")
        }
        if let bad = w.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "warm start", index: bad) }
        let nd = Double(n)
        let mu = problem.columnMeans
        let l1 = problem.lambda * problem.l1Ratio, l2 = problem.lambda * (1 - problem.l1Ratio)
        let absoluteTolerance = tolerance * problem.gapScale
        // a_j = ‖X̃_j‖²/n.
        var curvature = [Double](repeating: 0, count: p)
        for j in 0..<p {
            var s = 0.0
            for k in x.columnPointers[j]..<x.columnPointers[j + 1] { s += x.values[k] * x.values[k] }
            curvature[j] = max(s / nd - (problem.fitIntercept ? mu[j] * mu[j] : 0), 0)
        }
        var residual = problem.centeredTargets
        let xw = try problem.design.multiply(w)
        for i in 0..<n { residual[i] -= xw[i] }
        var shift = problem.fitIntercept ? Vector.dot(mu, w) : 0

        var decrease = 0.0
        let pointers = x.columnPointers, rows = x.rowIndices, values = x.values
        func update(_ j: Int) {
            let a = curvature[j]
            guard a + l2 > 0 else { return }
            var g = 0.0
            for k in pointers[j]..<pointers[j + 1] { g += values[k] * residual[Int(rows[k])] }
            g = g / nd + shift * mu[j]
            let z = g + a * w[j]
            let magnitude = abs(z) - l1
            let new = magnitude > 0 ? (z > 0 ? magnitude : -magnitude) / (a + l2) : 0
            let delta = new - w[j]
            guard delta != 0 else { return }
            for k in pointers[j]..<pointers[j + 1] { residual[Int(rows[k])] -= delta * values[k] }
            if problem.fitIntercept { shift += mu[j] * delta }
            w[j] = new
            decrease += (a + l2) * delta * delta / 2
        }

        var epochs = 0
        var gap = Double.infinity
        while epochs < maxEpochs {
            epochs += 1
            for j in 0..<p { update(j) }
            gap = problem.dualityGap(w)
            if gap <= absoluteTolerance { break }
            // The active subproblem, until a sweep improves the objective by much less than
            // the tolerance.
            let active = (0..<p).filter { w[$0] != 0 }
            for _ in 0..<maxActiveSweeps {
                decrease = 0
                for j in active { update(j) }
                if decrease <= 0.01 * absoluteTolerance { break }
            }
        }
        return Result(solution: w, epochs: epochs, converged: gap <= absoluteTolerance, dualityGap: gap,
                      targetGap: absoluteTolerance, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}
