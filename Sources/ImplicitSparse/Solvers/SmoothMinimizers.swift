import Dispatch
import Foundation
import Sparse

/// What the smooth minimizers (`LBFGS`, `NewtonCG`) return.
public struct SmoothMinimizerResult: Sendable {
    public var solution: [Double]
    public var value: Double
    /// ‖∇f‖∞ at `solution` (the stopping certificate).
    public var gradientNorm: Double
    public var converged: Bool
    public var iterations: Int
    /// Objective-and-gradient evaluations (line searches included).
    public var evaluations: Int
    /// Hessian-vector products (Newton-CG's inner CG; 0 for L-BFGS).
    public var hessianProducts: Int
    /// Why it stopped: "gradient tolerance", "iteration limit", "line search failed", "no progress".
    public var reason: String
    public var seconds: Double
}

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.5) with a line search satisfying the
/// strong Wolfe conditions (Algorithms 3.5 and 3.6: bracketing, then zoom by safeguarded
/// quadratic interpolation; near the optimum, where decreases fall below rounding, Hager &
/// Zhang's approximate Wolfe conditions). Stops when ‖∇f‖∞ ≤ tolerance. Memory: 2m vectors of p (m = `memory`).
public struct LBFGS: Sendable {
    public var memory = 10
    public var maxIterations = 10_000
    /// Sufficient decrease c₁ and curvature c₂ of the strong Wolfe conditions.
    public var c1 = 1e-4, c2 = 0.9

    public init(memory: Int = 10, maxIterations: Int = 10_000) {
        self.memory = memory
        self.maxIterations = maxIterations
    }

    public func minimize(from x0: [Double], tolerance: Double = 1e-8,
                         objective: ([Double]) -> (value: Double, gradient: [Double])) -> SmoothMinimizerResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var x = x0
        var (f, g) = objective(x)
        var evaluations = 1
        var sList: [[Double]] = [], yList: [[Double]] = [], rhoList: [Double] = []
        var iterations = 0
        var reason = "iteration limit"
        while iterations < maxIterations {
            if infinityNorm(g) <= tolerance { reason = "gradient tolerance"; break }
            iterations += 1
            // Two-loop recursion: d = −H∇f.
            var q = g
            var alphas = [Double](repeating: 0, count: sList.count)
            for k in stride(from: sList.count - 1, through: 0, by: -1) {
                alphas[k] = rhoList[k] * dot(sList[k], q)
                for i in 0..<q.count { q[i] -= alphas[k] * yList[k][i] }
            }
            if let s = sList.last, let y = yList.last {
                let gamma = dot(s, y) / dot(y, y)
                for i in 0..<q.count { q[i] *= gamma }
            } else {
                // First step: a unit step of length min(1, 1/‖g‖∞) along −g.
                let scale = min(1, 1 / max(infinityNorm(g), 1e-300))
                for i in 0..<q.count { q[i] *= scale }
            }
            for k in 0..<sList.count {
                let beta = rhoList[k] * dot(yList[k], q)
                for i in 0..<q.count { q[i] += (alphas[k] - beta) * sList[k][i] }
            }
            var direction = q.map { -$0 }
            var slope = dot(g, direction)
            if !(slope < 0) {
                // Not a descent direction (rounding in the curvature pairs): restart from −∇f.
                sList.removeAll(); yList.removeAll(); rhoList.removeAll()
                direction = g.map { -$0 }
                slope = dot(g, direction)
            }
            guard let step = wolfeLineSearch(x: x, f: f, slope: slope, direction: direction, objective: objective,
                                             evaluations: &evaluations) else {
                reason = "line search failed"
                break
            }
            let s = direction.map { $0 * step.alpha }
            let y = zip(step.gradient, g).map { $0 - $1 }
            let sy = dot(s, y)
            for i in 0..<x.count { x[i] += s[i] }
            let previous = f
            (f, g) = (step.value, step.gradient)
            if sy > 1e-12 * sqrt(dot(s, s) * dot(y, y)) {
                sList.append(s); yList.append(y); rhoList.append(1 / sy)
                if sList.count > memory { sList.removeFirst(); yList.removeFirst(); rhoList.removeFirst() }
            }
            if previous - f <= 1e-16 * max(abs(f), 1) && infinityNorm(g) > tolerance && step.alpha * infinityNorm(direction) < 1e-16 {
                reason = "no progress"
                break
            }
        }
        let norm = infinityNorm(g)
        return SmoothMinimizerResult(solution: x, value: f, gradientNorm: norm, converged: norm <= tolerance, iterations: iterations,
                                     evaluations: evaluations, hessianProducts: 0, reason: norm <= tolerance ? "gradient tolerance" : reason,
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// A step α along d meeting f(x + αd) ≤ f + c₁αφ'(0) and |φ'(α)| ≤ c₂|φ'(0)|.
    func wolfeLineSearch(x: [Double], f: Double, slope: Double, direction: [Double],
                         objective: ([Double]) -> (value: Double, gradient: [Double]),
                         evaluations: inout Int) -> (alpha: Double, value: Double, gradient: [Double])? {
        func phi(_ alpha: Double) -> (value: Double, slope: Double, gradient: [Double]) {
            evaluations += 1
            let point = (0..<x.count).map { x[$0] + alpha * direction[$0] }
            let (value, gradient) = objective(point)
            return (value, dot(gradient, direction), gradient)
        }
        // Sufficient decrease, or Hager & Zhang's approximate Wolfe conditions once the
        // decrease is below rounding: φ(α) ≤ φ(0) + 10⁻¹⁴|φ(0)| and (2c₁ − 1)φ'(0) ≥ φ'(α).
        func sufficient(_ alpha: Double, _ value: Double, _ trialSlope: Double) -> Bool {
            guard value.isFinite else { return false }
            if value <= f + c1 * alpha * slope { return true }
            return value <= f + 1e-14 * abs(f) && trialSlope <= (2 * c1 - 1) * slope
        }
        func zoom(_ lowIn: Double, _ highIn: Double, _ lowValueIn: Double, _ lowSlopeIn: Double, _ highValueIn: Double)
            -> (alpha: Double, value: Double, gradient: [Double])? {
            var low = lowIn, high = highIn, lowValue = lowValueIn, lowSlope = lowSlopeIn, highValue = highValueIn
            for _ in 0..<60 {
                // The minimizer of the quadratic through (low, f, f') and (high, f), safeguarded
                // into the middle 80 % of the bracket.
                let width = high - low
                let denominator = 2 * (highValue - lowValue - lowSlope * width)
                var alpha = denominator > 0 ? low - lowSlope * width * width / denominator : low + width / 2
                let lower = low + 0.1 * width, upper = high - 0.1 * width
                alpha = min(max(alpha, min(lower, upper)), max(lower, upper))
                let trial = phi(alpha)
                if !sufficient(alpha, trial.value, trial.slope) || (trial.value >= lowValue && trial.value > f + c1 * alpha * slope) {
                    high = alpha; highValue = trial.value
                } else {
                    if abs(trial.slope) <= -c2 * slope { return (alpha, trial.value, trial.gradient) }
                    if trial.slope * (high - low) >= 0 { high = low; highValue = lowValue }
                    low = alpha; lowValue = trial.value; lowSlope = trial.slope
                }
                if abs(high - low) < 1e-16 * max(abs(low), 1) { break }
            }
            return lowValue < f ? (low, lowValue, phi(low).gradient) : nil
        }
        var previousAlpha = 0.0, previousValue = f, previousSlope = slope
        var alpha = 1.0
        for k in 0..<60 {
            let trial = phi(alpha)
            if !sufficient(alpha, trial.value, trial.slope) || (k > 0 && trial.value >= previousValue && trial.value > f + c1 * alpha * slope) {
                return zoom(previousAlpha, alpha, previousValue, previousSlope, trial.value.isFinite ? trial.value : .greatestFiniteMagnitude)
            }
            if abs(trial.slope) <= -c2 * slope { return (alpha, trial.value, trial.gradient) }
            if trial.slope >= 0 { return zoom(alpha, previousAlpha, trial.value, trial.slope, previousValue) }
            previousAlpha = alpha; previousValue = trial.value; previousSlope = trial.slope
            alpha *= 2
        }
        return nil
    }
}

/// Truncated (inexact) Newton: each step solves ∇²f·d = −∇f by preconditioned CG to a relative
/// residual η = min(0.5, √‖∇f‖) (Eisenstat–Walker's forcing, superlinear near the optimum),
/// matrix-free through Hessian-vector products, stopping at negative curvature (then the last
/// CG iterate, or −∇f, is the direction); an Armijo backtracking line search follows. For a
/// Hessian with a known diagonal, `preconditioner` is its inverse (Jacobi). Memory: 5 vectors
/// of p plus what the products use.
public struct NewtonCG: Sendable {
    public var maxIterations = 200
    public var maxCGIterations = 1_000

    public init(maxIterations: Int = 200, maxCGIterations: Int = 1_000) {
        self.maxIterations = maxIterations
        self.maxCGIterations = maxCGIterations
    }

    /// - Parameters:
    ///   - x0: the starting point.
    ///   - tolerance: the stop on ‖∇f‖.
    ///   - objective: f(x) and ∇f(x).
    ///   - hessian: at x, a closure v ↦ ∇²f(x)·v (and optionally its diagonal, for Jacobi).
    public func minimize(from x0: [Double], tolerance: Double = 1e-8,
                         objective: ([Double]) -> (value: Double, gradient: [Double]),
                         hessian: ([Double]) -> (product: ([Double]) -> [Double], diagonal: [Double]?)) -> SmoothMinimizerResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var x = x0
        var (f, g) = objective(x)
        var evaluations = 1, products = 0, iterations = 0
        var reason = "iteration limit"
        while iterations < maxIterations {
            let gNorm = infinityNorm(g)
            if gNorm <= tolerance { reason = "gradient tolerance"; break }
            iterations += 1
            let (product, diagonal) = hessian(x)
            let inverse = diagonal.map { $0.map { $0 > 0 ? 1 / $0 : 1 } }
            // Preconditioned CG on H d = −g.
            let b = g.map { -$0 }
            var d = [Double](repeating: 0, count: x.count)
            var r = b
            var z = inverse.map { zip($0, r).map(*) } ?? r
            var p = z
            var rz = dot(r, z)
            let bNorm = sqrt(dot(b, b))
            let forcing = min(0.5, sqrt(sqrt(dot(g, g))))
            for _ in 0..<maxCGIterations {
                let hp = product(p)
                products += 1
                let curvature = dot(p, hp)
                if curvature <= 1e-14 * dot(p, p) {
                    if d.allSatisfy({ $0 == 0 }) { d = b }
                    break
                }
                let alpha = rz / curvature
                for i in 0..<d.count { d[i] += alpha * p[i]; r[i] -= alpha * hp[i] }
                if sqrt(dot(r, r)) <= forcing * bNorm { break }
                z = inverse.map { zip($0, r).map(*) } ?? r
                let rzNext = dot(r, z)
                let beta = rzNext / rz
                rz = rzNext
                for i in 0..<p.count { p[i] = z[i] + beta * p[i] }
            }
            var slope = dot(g, d)
            if !(slope < 0) { d = b; slope = dot(g, d) }
            // Armijo backtracking from the full Newton step.
            var step = 1.0, moved = false
            for _ in 0..<50 {
                let trial = (0..<x.count).map { x[$0] + step * d[$0] }
                let (value, gradient) = objective(trial)
                evaluations += 1
                if value.isFinite && value <= f + 1e-4 * step * slope {
                    x = trial; f = value; g = gradient; moved = true
                    break
                }
                step /= 2
            }
            if !moved { reason = "line search failed"; break }
        }
        let norm = infinityNorm(g)
        return SmoothMinimizerResult(solution: x, value: f, gradientNorm: norm, converged: norm <= tolerance, iterations: iterations,
                                     evaluations: evaluations, hessianProducts: products,
                                     reason: norm <= tolerance ? "gradient tolerance" : reason,
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}

@inline(__always) private func dot(_ a: [Double], _ b: [Double]) -> Double { Vector.dot(a, b) }

@inline(__always) private func infinityNorm(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }
