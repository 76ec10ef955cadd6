import Dispatch
import Foundation

/// Restarted GMRES(m) with right preconditioning (so the minimized residual is the true one),
/// modified Gram–Schmidt and Givens rotations (Saad & Schultz, 1986). A restart cycle that
/// does not reduce the residual ends the run as `.stagnation`.
///
/// Per iteration: one product with A, one with M⁻¹, j + 1 dot products.
/// Memory: (m + 3) vectors of n plus O(m²).
public struct GMRES: Sendable {
    public var options: KrylovOptions
    /// The restart length m.
    public var restart: Int
    public init(options: KrylovOptions = KrylovOptions(), restart: Int = 30) {
        self.options = options
        self.restart = restart
    }

    public func solve(_ a: some LinearOperator, _ b: [Double], preconditioner: (any LinearOperator)? = nil,
                      initialGuess: [Double]? = nil) throws -> KrylovResult {
        try KrylovSupport.checkSystem("GMRES", a, b, initialGuess)
        try KrylovSupport.checkPreconditioner("GMRES", preconditioner, n: a.localRows, symmetric: false)
        guard restart >= 1 else { throw SparseError.invalidArgument("GMRES restart must be at least 1, got \(restart)") }
        let (toleranceFor, maxIterations) = try options.validate(n: a.rows)
        let start = DispatchTime.now().uptimeNanoseconds
        if a.rows == 0 || a.columns == 0 { return KrylovSupport.emptySystem(columns: a.columns, start: start) }
        let n = a.localRows
        let space = a.effectiveVectorSpace
        let m = min(restart, max(n, 1))
        let scratch = KrylovScratch()
        let x = scratch.vector(copying: initialGuess ?? [Double](repeating: 0, count: n))
        let r = scratch.vector(n), z = scratch.vector(n)
        let basis = (0...m).map { _ in scratch.vector(n) }
        var h = [[Double]](repeating: [Double](repeating: 0, count: m), count: m + 1)
        var cs = [Double](repeating: 0, count: m), sn = [Double](repeating: 0, count: m)
        var g = [Double](repeating: 0, count: m + 1)
        var history: [Double]? = options.recordHistory ? [] : nil
        let tolerance = toleranceFor(space.norm(b))
        var status = KrylovStatus.maximumIterations
        var iterations = 0
        var previousCycleResidual = Double.infinity
        var floor = AttainableAccuracy(checks: options.floorChecks)
        var estimateMet = false

        b.withUnsafeBufferPointer { bb in
            while true {
                let beta = KrylovSupport.residual(a, x.readOnly, bb, into: r)
                if iterations == 0 { history?.append(beta) }
                if beta <= tolerance { status = .converged; return }
                // The last cycle's estimate met the tolerance and the true residual did not:
                // a check of the rounding floor.
                if estimateMet && floor.record(beta, x.readOnly) { status = .stagnation; return }
                estimateMet = false
                if iterations >= maxIterations { return }
                if beta >= previousCycleResidual * (1 - 1e-12) { status = .stagnation; return }
                previousCycleResidual = beta
                for i in 0..<n { basis[0][i] = r[i] / beta }
                for i in 0...m { g[i] = 0 }
                g[0] = beta
                var k = 0
                while k < m && iterations < maxIterations {
                    let w = basis[k + 1]
                    KrylovSupport.precondition(preconditioner, basis[k].readOnly, into: z)
                    a.apply(z.readOnly, into: w, transposed: false, accumulate: false)
                    for i in 0...k {
                        let hik = space.dot(w.readOnly, basis[i].readOnly)
                        h[i][k] = hik
                        Vector.axpy(-hik, basis[i].readOnly, w)
                    }
                    let hNext = space.norm(w.readOnly)
                    guard hNext.isFinite else { status = .breakdown; break }
                    h[k + 1][k] = hNext
                    for i in 0..<k {
                        let t = cs[i] * h[i][k] + sn[i] * h[i + 1][k]
                        h[i + 1][k] = -sn[i] * h[i][k] + cs[i] * h[i + 1][k]
                        h[i][k] = t
                    }
                    let rho = hypot(h[k][k], h[k + 1][k])
                    if rho == 0 { status = .breakdown; break }
                    cs[k] = h[k][k] / rho
                    sn[k] = h[k + 1][k] / rho
                    h[k][k] = rho
                    h[k + 1][k] = 0
                    g[k + 1] = -sn[k] * g[k]
                    g[k] = cs[k] * g[k]
                    k += 1
                    iterations += 1
                    history?.append(abs(g[k]))
                    // A (numerically) invariant Krylov space: the solution is in it.
                    if hNext <= Double.ulpOfOne * rho { break }
                    Vector.scale(1 / hNext, w)
                    if abs(g[k]) <= tolerance { estimateMet = true; break }
                }
                // y = H⁻¹g on the leading k × k triangle; x += M⁻¹(V y).
                if k > 0 {
                    var y = [Double](repeating: 0, count: k)
                    for i in stride(from: k - 1, through: 0, by: -1) {
                        var s = g[i]
                        for j in (i + 1)..<k { s -= h[i][j] * y[j] }
                        y[i] = s / h[i][i]
                    }
                    for i in 0..<n { r[i] = 0 }
                    for j in 0..<k { Vector.axpy(y[j], basis[j].readOnly, r) }
                    if preconditioner != nil {
                        KrylovSupport.precondition(preconditioner, r.readOnly, into: z)
                        Vector.axpy(1, z.readOnly, x)
                    } else {
                        Vector.axpy(1, r.readOnly, x)
                    }
                }
                if status == .breakdown { return }
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
