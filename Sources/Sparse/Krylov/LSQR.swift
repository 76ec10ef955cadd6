import Dispatch
import Foundation

/// LSQR (Paige & Saunders, 1982) for least squares min ‖Ax − b‖ with A of any shape (and
/// consistent systems Ax = b). An optional right preconditioner N (n × n, e.g. the inverse
/// column norms) solves min ‖ANy − b‖ and returns x = Ny.
///
/// Stops when ‖r‖ ≤ max(rtol·‖b‖, atol) (a consistent system) or when the normal-equation
/// measure ‖(AN)ᵀr‖ / (‖AN‖·‖r‖) ≤ rtol (a least-squares solution); below √ε, a stretch of
/// max(50, 30·floorChecks) iterations without a tenfold gain in the smaller of the two ends
/// the run at the rounding floor (`.stagnation`, the attained true residual reported).
/// Per iteration: one product with A and one with Aᵀ (two with N). Memory: 1 vector of m,
/// 5 of n.
public struct LSQR: Sendable {
    public var options: KrylovOptions
    public init(options: KrylovOptions = KrylovOptions()) { self.options = options }

    public func solve(_ a: some LinearOperator, _ b: [Double], preconditioner: (any LinearOperator)? = nil,
                      initialGuess: [Double]? = nil) throws -> KrylovResult {
        try KrylovSupport.checkNotDistributed("LSQR", a)
        try KrylovSupport.checkSystem("LSQR", a, b, initialGuess, square: false)
        try KrylovSupport.checkPreconditioner("LSQR", preconditioner, n: a.columns, symmetric: false)
        let (toleranceFor, maxIterations) = try options.validate(n: max(a.rows, a.columns))
        let start = DispatchTime.now().uptimeNanoseconds
        if a.rows == 0 || a.columns == 0 { return KrylovSupport.emptySystem(columns: a.columns, start: start) }
        let m = a.rows, n = a.columns
        let scratch = KrylovScratch()
        let x0 = scratch.vector(copying: initialGuess ?? [Double](repeating: 0, count: n))
        let u = scratch.vector(m), v = scratch.vector(n), w = scratch.vector(n)
        let y = scratch.vector(n), t = scratch.vector(n)
        var history: [Double]? = options.recordHistory ? [] : nil
        let bnorm = Vector.norm(b)
        let tolerance = toleranceFor(bnorm)
        let rtol = options.relativeTolerance
        var status = KrylovStatus.maximumIterations
        var iterations = 0
        var normalResidual = 0.0

        // Products with AN and (AN)ᵀ.
        func forward(_ input: UnsafeMutableBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>,
                     accumulate: Bool) {
            if let preconditioner {
                preconditioner.apply(input.readOnly, into: t, transposed: false, accumulate: false)
                a.apply(t.readOnly, into: output, transposed: false, accumulate: accumulate)
            } else {
                a.apply(input.readOnly, into: output, transposed: false, accumulate: accumulate)
            }
        }
        func adjoint(_ input: UnsafeMutableBufferPointer<Double>, into output: UnsafeMutableBufferPointer<Double>,
                     accumulate: Bool) {
            if let preconditioner {
                a.apply(input.readOnly, into: t, transposed: true, accumulate: false)
                preconditioner.apply(t.readOnly, into: output, transposed: true, accumulate: accumulate)
            } else {
                a.apply(input.readOnly, into: output, transposed: true, accumulate: accumulate)
            }
        }

        b.withUnsafeBufferPointer { bb in
            var beta = KrylovSupport.residual(a, x0.readOnly, bb, into: u)
            history?.append(beta)
            if beta <= tolerance { status = .converged; return }
            Vector.scale(1 / beta, u)
            adjoint(u, into: v, accumulate: false)
            var alpha = Vector.norm(v.readOnly)
            if alpha == 0 { status = .converged; return }  // b − Ax₀ ⟂ range(A): already optimal
            Vector.scale(1 / alpha, v)
            Vector.copy(v.readOnly, w)
            var phibar = beta, rhobar = alpha
            var anormSquared = 0.0
            // The rounding floor: once the measure min(‖r‖/‖b‖, normal-equation residual) is
            // below √ε, a stretch of `stallWindow` iterations without a tenfold gain ends the run
            // with `.stagnation` (the attained true residual is reported) instead of running to
            // the iteration cap.
            let stallWindow = max(50, 30 * options.floorChecks)
            var checkpoint = Double.infinity, lastGain = 0
            while iterations < maxIterations {
                // u ← ANv − αu
                Vector.scale(-alpha, u)
                forward(v, into: u, accumulate: true)
                beta = Vector.norm(u.readOnly)
                if beta > 0 { Vector.scale(1 / beta, u) }
                anormSquared += alpha * alpha + beta * beta
                // v ← (AN)ᵀu − βv
                Vector.scale(-beta, v)
                adjoint(u, into: v, accumulate: true)
                alpha = Vector.norm(v.readOnly)
                if alpha > 0 { Vector.scale(1 / alpha, v) }
                let rho = hypot(rhobar, beta)
                guard rho > 0, rho.isFinite else { status = .breakdown; return }
                let c = rhobar / rho, s = beta / rho
                let theta = s * alpha
                rhobar = -c * alpha
                let phi = c * phibar
                phibar = s * phibar
                let step = phi / rho, ratio = theta / rho
                for i in 0..<n {
                    y[i] += step * w[i]
                    w[i] = v[i] - ratio * w[i]
                }
                iterations += 1
                let rnorm = phibar
                history?.append(rnorm)
                normalResidual = rnorm > 0 ? phibar * alpha * abs(c) / (anormSquared.squareRoot() * rnorm) : 0
                if rnorm <= tolerance || normalResidual <= rtol { status = .converged; return }
                if alpha == 0 || beta == 0 { status = .converged; return }
                let measure = min(bnorm > 0 ? rnorm / bnorm : 0, normalResidual)
                if measure < checkpoint / 10 { checkpoint = measure; lastGain = iterations }
                if measure <= Double.ulpOfOne.squareRoot() && iterations - lastGain >= stallWindow {
                    status = .stagnation; return
                }
            }
        }
        // x = x₀ + Ny
        var solution = Array(x0)
        if let preconditioner {
            preconditioner.apply(y.readOnly, into: t, transposed: false, accumulate: false)
            for i in 0..<n { solution[i] += t[i] }
        } else {
            for i in 0..<n { solution[i] += y[i] }
        }
        return KrylovResult(solution: solution, status: status, iterations: iterations,
                            relativeResidual: KrylovSupport.relativeResidual(a, solution, b),
                            normalEquationResidual: normalResidual, residualHistory: history,
                            seconds: KrylovSupport.seconds(since: start))
    }
}
