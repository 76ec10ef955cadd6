import _Differentiation
import Dispatch
import Foundation

extension ProximalGradient {
    /// FISTA on the same closures a `ProximalFixedPoint` differentiates: x⁺ = T(z, θ) =
    /// prox_{ηg}(z − η∇f(z, θ)) with the fixed point's step η (which must be at most 1/L for
    /// convergence), momentum with the gradient-based restart of O'Donoghue & Candès (2015),
    /// stopped when the fixed-point residual ‖T(x) − x‖/max(1, ‖x‖) — the quantity the
    /// derivative's accuracy depends on — is below `options.tolerance`. The condition is
    /// written once and serves both the solve and the derivative.
    /// - Throws: `.nonFinite` when an iterate stops being finite (a step above 1/L),
    ///   `.dimensionMismatch` when T changes the length of x.
    public func minimize<Hyperparameters: Differentiable>(_ fixedPoint: ProximalFixedPoint<Hyperparameters>, theta: Hyperparameters,
                                                          from x0: DifferentiableVector) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let map = fixedPoint.map
        let n = x0.count
        var x = x0.scalars, z = x0.scalars
        var t = 1.0
        var iterations = 0
        var residual = Double.infinity
        while iterations < options.maxIterations {
            iterations += 1
            let next = map(DifferentiableVector(z), theta).scalars
            guard next.count == n else {
                throw SparseError.dimensionMismatch(operation: "ProximalGradient", expected: "T(x) of length \(n)", actual: "length \(next.count)")
            }
            if let bad = next.firstIndex(where: { !$0.isFinite }) {
                throw SparseError.nonFinite(what: "FISTA's iterate (is the step η above 1/L?)", index: bad)
            }
            // Restart when the momentum points against the step (⟨z − x⁺, x⁺ − x⟩ > 0).
            var alignment = 0.0
            for j in 0..<n { alignment += (z[j] - next[j]) * (next[j] - x[j]) }
            let tNext = options.accelerate && alignment <= 0 ? (1 + (1 + 4 * t * t).squareRoot()) / 2 : 1
            let beta = options.accelerate && alignment <= 0 ? (t - 1) / tNext : 0
            for j in 0..<n { z[j] = next[j] + beta * (next[j] - x[j]) }
            x = next
            t = tNext
            if iterations % max(options.checkEvery, 1) == 0 || iterations == options.maxIterations {
                let image = map(DifferentiableVector(x), theta).scalars
                var difference = 0.0, size = 0.0
                for j in 0..<n { difference += (image[j] - x[j]) * (image[j] - x[j]); size += x[j] * x[j] }
                residual = difference.squareRoot() / max(1, size.squareRoot())
                if residual <= options.tolerance { break }
            }
        }
        return Result(solution: x, iterations: iterations, converged: residual <= options.tolerance, certificate: residual,
                      step: fixedPoint.step, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}
