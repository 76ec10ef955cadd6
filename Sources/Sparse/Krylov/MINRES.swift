import Dispatch
import Foundation

/// Preconditioned MINRES (Paige & Saunders, 1975) for symmetric, possibly indefinite
/// systems; the preconditioner must be symmetric positive definite. Convergence is judged on
/// the method's residual estimate and then confirmed with a true residual.
///
/// Per iteration: one product with A, one with M⁻¹. Memory: 7 vectors of n (x, r₁, r₂, y, v, w, w₂).
public struct MINRES: Sendable {
    public var options: KrylovOptions
    public init(options: KrylovOptions = KrylovOptions()) { self.options = options }

    public func solve(_ a: some LinearOperator, _ b: [Double], preconditioner: (any LinearOperator)? = nil,
                      initialGuess: [Double]? = nil) throws -> KrylovResult {
        try KrylovSupport.checkSystem("MINRES", a, b, initialGuess)
        try KrylovSupport.checkPreconditioner("MINRES", preconditioner, n: a.localRows, symmetric: true)
        let (toleranceFor, maxIterations) = try options.validate(n: a.rows)
        let start = DispatchTime.now().uptimeNanoseconds
        if a.rows == 0 || a.columns == 0 { return KrylovSupport.emptySystem(columns: a.columns, start: start) }
        let n = a.localRows
        let space = a.effectiveVectorSpace
        let scratch = KrylovScratch()
        let x = scratch.vector(copying: initialGuess ?? [Double](repeating: 0, count: n))
        let r1 = scratch.vector(n), r2 = scratch.vector(n), y = scratch.vector(n)
        let v = scratch.vector(n), w = scratch.vector(n), w2 = scratch.vector(n)
        var history: [Double]? = options.recordHistory ? [] : nil
        let bnorm = space.norm(b)
        let tolerance = toleranceFor(bnorm)
        var status = KrylovStatus.maximumIterations
        var iterations = 0
        var floor = AttainableAccuracy(checks: options.floorChecks)

        b.withUnsafeBufferPointer { bb in
            outer: while true {
                let rnorm0 = KrylovSupport.residual(a, x.readOnly, bb, into: r1)
                history?.append(rnorm0)
                if rnorm0 <= tolerance { status = .converged; break outer }
                if iterations >= maxIterations { break outer }
                KrylovSupport.precondition(preconditioner, r1.readOnly, into: y)
                let beta1Squared = space.dot(r1.readOnly, y.readOnly)
                guard beta1Squared > 0 else { status = .breakdown; break outer }
                Vector.copy(r1.readOnly, r2)
                for i in 0..<n { w[i] = 0; w2[i] = 0 }
                var beta = beta1Squared.squareRoot(), oldb = 0.0
                let beta1 = beta
                var dbar = 0.0, epsln = 0.0, phibar = beta, cs = -1.0, sn = 0.0
                var first = true
                while iterations < maxIterations {
                    let s = 1 / beta
                    for i in 0..<n { v[i] = s * y[i] }
                    a.apply(v.readOnly, into: y, transposed: false, accumulate: false)
                    if !first { Vector.axpy(-beta / oldb, r1.readOnly, y) }
                    first = false
                    let alfa = space.dot(v.readOnly, y.readOnly)
                    Vector.axpy(-alfa / beta, r2.readOnly, y)
                    Vector.copy(r2.readOnly, r1)
                    Vector.copy(y.readOnly, r2)
                    KrylovSupport.precondition(preconditioner, r2.readOnly, into: y)
                    oldb = beta
                    let betaSquared = space.dot(r2.readOnly, y.readOnly)
                    guard betaSquared >= 0, betaSquared.isFinite, alfa.isFinite else { status = .breakdown; break outer }
                    beta = betaSquared.squareRoot()
                    let oldeps = epsln
                    let delta = cs * dbar + sn * alfa
                    let gbar = sn * dbar - cs * alfa
                    epsln = sn * beta
                    dbar = -cs * beta
                    let gamma = max(hypot(gbar, beta), Double.ulpOfOne)
                    cs = gbar / gamma
                    sn = beta / gamma
                    let phi = cs * phibar
                    phibar = sn * phibar
                    let denom = 1 / gamma
                    // w ← (v − oldeps·w1 − delta·w2)/γ with (w1, w2) ← (w2, w).
                    for i in 0..<n {
                        let newW = (v[i] - oldeps * w2[i] - delta * w[i]) * denom
                        w2[i] = w[i]
                        w[i] = newW
                        x[i] += phi * newW
                    }
                    iterations += 1
                    // phibar estimates ‖r‖ in the M⁻¹ norm; scale to the 2-norm scale of b.
                    let estimate = phibar / beta1 * rnorm0
                    history?.append(estimate)
                    if estimate <= tolerance || beta == 0 {
                        let trueNorm = KrylovSupport.residual(a, x.readOnly, bb, into: y)
                        if trueNorm <= tolerance { status = .converged; break outer }
                        // The estimate drifted: restart from the current iterate, unless the
                        // true residual has stopped decreasing (the rounding floor).
                        if beta == 0 || floor.record(trueNorm, x.readOnly) { status = .stagnation; break outer }
                        continue outer
                    }
                }
                break outer
            }
        }
        // Below the floor: the best iterate seen, if the last one is worse.
        if let (best, bestNorm) = floor.best, !(KrylovSupport.relativeResidual(a, Array(x), b) * max(space.norm(b), 1e-300) <= bestNorm) {
            for i in 0..<n { x[i] = best[i] }
        }
        let solution = Array(x)
        return KrylovResult(solution: solution, status: status, iterations: iterations,
                            relativeResidual: KrylovSupport.relativeResidual(a, solution, b),
                            normalEquationResidual: nil, residualHistory: history,
                            seconds: KrylovSupport.seconds(since: start))
    }
}
