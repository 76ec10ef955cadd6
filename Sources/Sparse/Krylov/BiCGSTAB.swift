import Dispatch

/// BiCGSTAB (van der Vorst, 1992) with right preconditioning for unsymmetric systems.
/// ρ = 0, r̂ᵀv = 0 or ω = 0 end the run as `.breakdown` with the last finite iterate.
///
/// Per iteration: two products with A, two with M⁻¹. Memory: 8 vectors of n.
public struct BiCGSTAB: Sendable {
    public var options: KrylovOptions
    public init(options: KrylovOptions = KrylovOptions()) { self.options = options }

    public func solve(_ a: some LinearOperator, _ b: [Double], preconditioner: (any LinearOperator)? = nil,
                      initialGuess: [Double]? = nil) throws -> KrylovResult {
        try KrylovSupport.checkSystem("BiCGSTAB", a, b, initialGuess)
        try KrylovSupport.checkPreconditioner("BiCGSTAB", preconditioner, n: a.localRows, symmetric: false)
        let (toleranceFor, maxIterations) = try options.validate(n: a.rows)
        let start = DispatchTime.now().uptimeNanoseconds
        if a.rows == 0 || a.columns == 0 { return KrylovSupport.emptySystem(columns: a.columns, start: start) }
        let n = a.localRows
        let space = a.effectiveVectorSpace
        let scratch = KrylovScratch()
        let x = scratch.vector(copying: initialGuess ?? [Double](repeating: 0, count: n))
        let r = scratch.vector(n), rHat = scratch.vector(n), p = scratch.vector(n), v = scratch.vector(n)
        let pHat = scratch.vector(n), s = scratch.vector(n), sHat = scratch.vector(n), t = scratch.vector(n)
        var history: [Double]? = options.recordHistory ? [] : nil
        let tolerance = toleranceFor(space.norm(b))
        var status = KrylovStatus.maximumIterations
        var iterations = 0
        var floor = AttainableAccuracy(checks: options.floorChecks)

        b.withUnsafeBufferPointer { bb in
            var rnorm = KrylovSupport.residual(a, x.readOnly, bb, into: r)
            history?.append(rnorm)
            if rnorm <= tolerance { status = .converged; return }
            Vector.copy(r.readOnly, rHat)
            var rho = 1.0, alpha = 1.0, omega = 1.0
            while iterations < maxIterations {
                let rhoNew = space.dot(rHat.readOnly, r.readOnly)
                guard rhoNew != 0, rhoNew.isFinite else { status = .breakdown; return }
                let beta = (rhoNew / rho) * (alpha / omega)
                for i in 0..<n { p[i] = r[i] + beta * (p[i] - omega * v[i]) }
                KrylovSupport.precondition(preconditioner, p.readOnly, into: pHat)
                a.apply(pHat.readOnly, into: v, transposed: false, accumulate: false)
                let rv = space.dot(rHat.readOnly, v.readOnly)
                guard rv != 0, rv.isFinite else { status = .breakdown; return }
                alpha = rhoNew / rv
                for i in 0..<n { s[i] = r[i] - alpha * v[i] }
                iterations += 1
                let snorm = space.norm(s.readOnly)
                if snorm <= tolerance {
                    Vector.axpy(alpha, pHat.readOnly, x)
                    history?.append(snorm)
                    let trueNorm = KrylovSupport.residual(a, x.readOnly, bb, into: r)
                    if trueNorm <= tolerance { status = .converged; return }
                    if floor.record(trueNorm, x.readOnly) { status = .stagnation; return }
                    rho = rhoNew
                    Vector.copy(r.readOnly, rHat)
                    rho = 1; alpha = 1; omega = 1
                    for i in 0..<n { p[i] = 0; v[i] = 0 }
                    continue
                }
                KrylovSupport.precondition(preconditioner, s.readOnly, into: sHat)
                a.apply(sHat.readOnly, into: t, transposed: false, accumulate: false)
                let tt = space.dot(t.readOnly, t.readOnly)
                guard tt > 0, tt.isFinite else {
                    Vector.axpy(alpha, pHat.readOnly, x)
                    status = .breakdown; return
                }
                omega = space.dot(t.readOnly, s.readOnly) / tt
                for i in 0..<n {
                    x[i] += alpha * pHat[i] + omega * sHat[i]
                    r[i] = s[i] - omega * t[i]
                }
                rnorm = space.norm(r.readOnly)
                history?.append(rnorm)
                if rnorm <= tolerance {
                    let trueNorm = KrylovSupport.residual(a, x.readOnly, bb, into: r)
                    if trueNorm <= tolerance { status = .converged; return }
                    if floor.record(trueNorm, x.readOnly) { status = .stagnation; return }
                }
                guard omega != 0 else { status = .breakdown; return }
                rho = rhoNew
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
