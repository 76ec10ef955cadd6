import Dispatch

/// Preconditioned conjugate gradient for symmetric positive definite systems Ax = b.
/// A non-positive curvature pᵀAp ≤ 0 (A or M not positive definite) ends the run with
/// status `.breakdown`, keeping the last iterate.
///
/// The attainable accuracy: once the recursive residual says the tolerance is met, the true
/// residual b − Ax is computed and replaces it (the recursion drifts from it by rounding).
/// Below the rounding floor of the system the true residual stops decreasing while the
/// recursive one keeps falling; after `KrylovOptions.floorChecks` such checks without a
/// tenfold gain the run ends with status `.stagnation`, returning the best iterate seen and
/// its true residual — within a few dozen iterations of reaching the floor, not at the
/// iteration cap, and never NaN.
///
/// Per iteration: one product with A, one with M⁻¹, fused vector updates.
/// Memory: 4 vectors of n (x, r, p, q) plus z when preconditioned.
public struct ConjugateGradient: Sendable {
    public var options: KrylovOptions
    public init(options: KrylovOptions = KrylovOptions()) { self.options = options }

    public func solve(_ a: some LinearOperator, _ b: [Double], preconditioner: (any LinearOperator)? = nil,
                      initialGuess: [Double]? = nil) throws -> KrylovResult {
        try solve(a, b, preconditioner: preconditioner, initialGuess: initialGuess, checkpoint: nil)
    }

    /// A decision inside a run: after `iteration` iterations (when the run has not ended
    /// before), `decide` sees the residual history so far (entry 0: the starting residual) and
    /// the iterate, and returns whether to go on; false ends the run there with status
    /// `.maximumIterations`. The automatic policy probes a solve this way: the probe's
    /// iterations are the solve's own when it goes on.
    /// An `earlier` iteration, when given, is a checkpoint too (the history's length tells
    /// `decide` which one it is).
    package struct Checkpoint {
        package var iteration: Int
        package var earlier: Int?
        package var decide: ([Double], UnsafeBufferPointer<Double>) -> Bool
        package init(iteration: Int, earlier: Int? = nil, decide: @escaping ([Double], UnsafeBufferPointer<Double>) -> Bool) {
            self.iteration = iteration
            self.earlier = earlier
            self.decide = decide
        }
    }

    /// `solve` with a `Checkpoint` (the history is recorded when one is given).
    package func solve(_ a: some LinearOperator, _ b: [Double], preconditioner: (any LinearOperator)?,
                       initialGuess: [Double]?, checkpoint: Checkpoint?) throws -> KrylovResult {
        try KrylovSupport.checkSystem("ConjugateGradient", a, b, initialGuess)
        try KrylovSupport.checkPreconditioner("ConjugateGradient", preconditioner, n: a.localRows, symmetric: true)
        let (toleranceFor, maxIterations) = try options.validate(n: a.rows)
        let start = DispatchTime.now().uptimeNanoseconds
        if a.rows == 0 || a.columns == 0 { return KrylovSupport.emptySystem(columns: a.columns, start: start) }
        let n = a.localRows
        let space = a.effectiveVectorSpace
        var x = initialGuess ?? [Double](repeating: 0, count: n)
        var r = [Double](repeating: 0, count: n)
        var p = [Double](repeating: 0, count: n)
        var q = [Double](repeating: 0, count: n)
        var z = preconditioner == nil ? [] : [Double](repeating: 0, count: n)
        var history: [Double]? = options.recordHistory || checkpoint != nil ? [] : nil
        let bnorm = space.norm(b)
        let tolerance = toleranceFor(bnorm)
        var status = KrylovStatus.maximumIterations
        var iterations = 0

        x.withUnsafeMutableBufferPointer { xb in
        r.withUnsafeMutableBufferPointer { rb in
        p.withUnsafeMutableBufferPointer { pb in
        q.withUnsafeMutableBufferPointer { qb in
        z.withUnsafeMutableBufferPointer { zbuf in
        b.withUnsafeBufferPointer { bb in
            let zb = preconditioner == nil ? rb : zbuf
            var rnorm = KrylovSupport.residual(a, UnsafeBufferPointer(xb), bb, into: rb)
            history?.append(rnorm)
            if rnorm <= tolerance { status = .converged; return }
            if preconditioner != nil {
                KrylovSupport.precondition(preconditioner, UnsafeBufferPointer(rb), into: zb)
            }
            Vector.copy(UnsafeBufferPointer(zb), pb)
            var rho = space.dot(UnsafeBufferPointer(rb), UnsafeBufferPointer(zb))
            let xp = xb.baseAddress!, rp = rb.baseAddress!, pp = pb.baseAddress!, qp = qb.baseAddress!
            var stalled = 0
            // The best iterate by true residual, kept once the recursive residual has reached
            // the tolerance (the floor's checks).
            var floor = AttainableAccuracy(checks: options.floorChecks)
            var sinceCheck = 0
            /// Ends the run; below the floor, with the best iterate if the last one is worse.
            func finish(_ end: KrylovStatus) {
                status = end
                guard let (best, bestNorm) = floor.best else { return }
                let current = KrylovSupport.residual(a, UnsafeBufferPointer(xb), bb, into: rb)
                if !(current <= bestNorm) { for i in 0..<n { xb[i] = best[i] } }
            }
            while iterations < maxIterations {
                // q = Ap and pᵀq in one pass over memory.
                let curvature = space.sum(a.applyReturningInnerProduct(UnsafeBufferPointer(pb), into: qb))
                guard curvature > 0, curvature.isFinite, rho > 0 else { finish(.breakdown); return }
                let alpha = rho / curvature
                // x += αp, r −= αq, with ‖r‖², ‖p‖², ‖x‖² from the same pass.
                let sums = space.sum(Vector.parallelSum(count: n) { range in
                    var rr = 0.0, pp2 = 0.0, xx = 0.0
                    for i in range {
                        let pi = pp[i]
                        let xi = xp[i] + alpha * pi
                        let ri = rp[i] - alpha * qp[i]
                        xp[i] = xi
                        rp[i] = ri
                        rr += ri * ri
                        pp2 += pi * pi
                        xx += xi * xi
                    }
                    return SIMD4(rr, pp2, xx, 0)
                })
                iterations += 1
                rnorm = sums[0].squareRoot()
                history?.append(rnorm)
                if rnorm <= tolerance || !rnorm.isFinite {
                    // Confirm with a true residual: the recursive one drifts on hard problems;
                    // it replaces the recursive one, and the floor's checks decide stagnation.
                    let trueNorm = KrylovSupport.residual(a, UnsafeBufferPointer(xb), bb, into: rb)
                    if trueNorm <= tolerance { status = .converged; return }
                    if floor.record(trueNorm, UnsafeBufferPointer(xb)) { finish(.stagnation); return }
                    rnorm = trueNorm
                    sinceCheck = 0
                } else if floor.best != nil {
                    // Once at the floor, the recursive residual restarted from the true one may
                    // never reach the tolerance again (an inexact preconditioner, lost
                    // conjugacy): a stretch of 20·floorChecks iterations without a new check
                    // is stagnation too, not a run to the iteration cap.
                    sinceCheck += 1
                    if sinceCheck >= 20 * max(options.floorChecks, 1) { finish(.stagnation); return }
                }
                // Stagnation: the step no longer moves x at working precision.
                if abs(alpha) * sums[1].squareRoot() <= 1e-15 * sums[2].squareRoot() {
                    stalled += 1
                    if stalled >= 5 { finish(.stagnation); return }
                } else {
                    stalled = 0
                }
                if let checkpoint, iterations == checkpoint.iteration || iterations == checkpoint.earlier,
                   !checkpoint.decide(history ?? [], UnsafeBufferPointer(xb)) {
                    finish(.maximumIterations); return
                }
                if preconditioner != nil {
                    KrylovSupport.precondition(preconditioner, UnsafeBufferPointer(rb), into: zb)
                }
                let rhoNew = preconditioner == nil ? rnorm * rnorm
                    : space.dot(UnsafeBufferPointer(rb), UnsafeBufferPointer(zb))
                let beta = rhoNew / rho
                rho = rhoNew
                guard beta.isFinite else { finish(.breakdown); return }
                // p = z + βp
                let zp = zb.baseAddress!
                _ = Vector.parallelSum(count: n) { range in
                    for i in range { pp[i] = zp[i] + beta * pp[i] }
                    return .zero
                }
            }
            if status == .maximumIterations { finish(.maximumIterations) }
        }}}}}}
        let relative = KrylovSupport.relativeResidual(a, x, b)
        return KrylovResult(solution: x, status: status, iterations: iterations, relativeResidual: relative,
                            normalEquationResidual: nil, residualHistory: history,
                            seconds: KrylovSupport.seconds(since: start))
    }
}
