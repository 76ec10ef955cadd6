import Dispatch
import Foundation
import Sparse

/// Accelerated proximal gradient (FISTA; Beck & Teboulle, 2009) with backtracking on the step
/// and adaptive restart (O'Donoghue & Candès, 2015) for min f(x) + g(x), f smooth. A
/// reference inner solver: it runs outside AD, and the implicit layer differentiates its
/// answer through the optimality condition, never through its loop.
public struct ProximalGradient: Sendable {
    public struct Options: Sendable {
        public var maxIterations = 10_000
        /// Stop when the certificate (e.g. a duality gap) is at most this.
        public var tolerance = 1e-8
        /// Check the certificate every this many iterations (it may cost a product).
        public var checkEvery = 10
        public var initialStep = 1.0
        public var accelerate = true
        public init() {}
    }

    public struct Result: Sendable {
        public var solution: [Double]
        public var iterations: Int
        public var converged: Bool
        /// The last value of the certificate (duality gap, fixed-point residual, …).
        public var certificate: Double
        public var step: Double
        public var seconds: Double
    }

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// - Parameters:
    ///   - x0: the starting point.
    ///   - smooth: f(x) and ∇f(x).
    ///   - prox: prox_{s·g}(v) for a step s.
    ///   - penalty: g(x) (for the backtracking's majorization test only the smooth part is
    ///     needed; g is used by the restart test through the objective).
    ///   - certificate: an optimality measure of x (a duality gap, say); if nil, the
    ///     fixed-point residual ‖x − prox(x − s∇f(x))‖/s is used.
    public func minimize(from x0: [Double],
                         smooth: ([Double]) -> (value: Double, gradient: [Double]),
                         prox: ([Double], Double) -> [Double],
                         penalty: ([Double]) -> Double,
                         certificate: (([Double]) -> Double)? = nil) -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let n = x0.count
        var x = x0, xPrevious = x0, z = x0
        var t = 1.0
        var step = options.initialStep
        var iterations = 0
        var lastCertificate = Double.infinity
        var objective = smooth(x).value + penalty(x)
        while iterations < options.maxIterations {
            iterations += 1
            let (fz, gz) = smooth(z)
            // Backtracking: shrink the step until f(x⁺) ≤ f(z) + ⟨∇f(z), x⁺ − z⟩ + ‖x⁺ − z‖²/(2s).
            var candidate: [Double]
            var fCandidate: Double
            while true {
                var v = z
                for i in 0..<n { v[i] -= step * gz[i] }
                candidate = prox(v, step)
                fCandidate = smooth(candidate).value
                var linear = 0.0, quadratic = 0.0
                for i in 0..<n {
                    let d = candidate[i] - z[i]
                    linear += gz[i] * d
                    quadratic += d * d
                }
                if fCandidate <= fz + linear + quadratic / (2 * step) + 1e-12 * abs(fz) || step < 1e-20 { break }
                step *= 0.5
            }
            let newObjective = fCandidate + penalty(candidate)
            xPrevious = x
            x = candidate
            if options.accelerate {
                if newObjective > objective {
                    // Adaptive restart: the momentum overshot.
                    t = 1
                    z = x
                } else {
                    let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
                    let beta = (t - 1) / tNext
                    for i in 0..<n { z[i] = x[i] + beta * (x[i] - xPrevious[i]) }
                    t = tNext
                }
            } else {
                z = x
            }
            objective = newObjective
            if iterations % options.checkEvery == 0 || iterations == options.maxIterations {
                if let certificate {
                    lastCertificate = certificate(x)
                } else {
                    let g = smooth(x).gradient
                    var v = x
                    for i in 0..<n { v[i] -= step * g[i] }
                    let p = prox(v, step)
                    lastCertificate = Vector.norm(zip(x, p).map { $0 - $1 }) / step
                }
                if lastCertificate <= options.tolerance { break }
            }
        }
        return Result(solution: x, iterations: iterations, converged: lastCertificate <= options.tolerance,
                      certificate: lastCertificate, step: step,
                      seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}
