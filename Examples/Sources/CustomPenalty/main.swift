// A model the library does not ship, defined here and nowhere else: the log-sum penalty
// λ Σⱼ log(1 + |wⱼ|/ε) (Candès, Wakin & Boyd 2008), a nonconvex sparsity prior, and the
// log-cosh datafit fᵢ(z) = log cosh(z − yᵢ), a smooth robust loss (quadratic near the target,
// linear in the tails). Conforming to `SeparablePenalty` and `Datafit` is all it takes: the
// working-set solver, the KKT certificate, the hypergradient through the implicit layer, the
// finite-difference check and the tuner use them unchanged. Exit 1 when a hypergradient
// disagrees with its finite difference or the tuner ends above its grid's best.
import Foundation
import ImplicitSparse

// snippet: penalty
struct LogSum: SeparablePenalty {
    let strength: Double
    let epsilon: Double
    var name: String { "log-sum" }
    var isConvex: Bool { false }
    // The curvature of λ log(1 + x/ε) is at least −λ/ε²: a step below ε²/λ keeps the prox
    // single-valued, so its fixed points are the stationary points.
    var fixedPointStep: Double { epsilon * epsilon / (2 * max(strength, 1e-300)) }
    func withStrength(_ lambda: Double) -> LogSum { LogSum(strength: lambda, epsilon: epsilon) }

    func value(_ x: Double, coordinate j: Int) -> Double { strength * log1p(abs(x) / epsilon) }

    /// The positive root of (x − a)(ε + x) + ηλ = 0 (stationary on x > 0), if it beats x = 0.
    func positiveRoot(_ a: Double, step: Double) -> Double? {
        let discriminant = (a + epsilon) * (a + epsilon) - 4 * step * strength
        guard discriminant >= 0 else { return nil }
        let x = ((a - epsilon) + discriminant.squareRoot()) / 2
        guard x > 0 else { return nil }
        let h = { (t: Double) in (t - a) * (t - a) / (2 * step) + strength * log1p(t / epsilon) }
        return h(x) < h(0) ? x : nil
    }
    func prox(_ v: Double, step: Double, coordinate j: Int) -> Double {
        guard let x = positiveRoot(abs(v), step: step) else { return 0 }
        return v < 0 ? -x : x
    }
    func subdifferentialDistance(_ x: Double, gradient g: Double, coordinate j: Int) -> Double {
        if x == 0 { return max(abs(g) - strength / epsilon, 0) }
        return abs(g + (x > 0 ? 1 : -1) * strength / (epsilon + abs(x)))
    }
    /// Implicit differentiation of the root: ∂F/∂x = ε + 2x − a, ∂F/∂a = −(ε + x), ∂F/∂λ = η.
    func proxDerivatives(_ v: Double, step: Double, coordinate j: Int) -> (value: Double, strength: Double) {
        guard let x = positiveRoot(abs(v), step: step) else { return (0, 0) }
        let dFdx = epsilon + 2 * x - abs(v)
        return ((epsilon + x) / dFdx, (v < 0 ? 1 : -1) * step / dFdx)
    }
    func lambdaMax(gradientAtZero g: [Double]) -> Double? { epsilon * g.reduce(0) { max($0, abs($1)) } }
}
// end snippet

// snippet: datafit
struct LogCosh: Datafit {
    let targets: [Double]
    var name: String { "log-cosh" }
    func withTargets(_ targets: [Double]) -> LogCosh { LogCosh(targets: targets) }
    func loss(_ z: Double, row i: Int) -> Double {
        let r = abs(z - targets[i])                       // log cosh r = r + log1p(e^{−2r}) − log 2, no overflow
        return r + log1p(exp(-2 * r)) - log(2.0)
    }
    func derivative(_ z: Double, row i: Int) -> Double { tanh(z - targets[i]) }
    func secondDerivative(_ z: Double, row i: Int) -> Double { let t = tanh(z - targets[i]); return 1 - t * t }
    var curvatureBound: Double? { 1 }
    var isQuadratic: Bool { false }
    /// The b with Σᵢ sᵢ tanh(b − yᵢ) = 0 (increasing in b): bisection between the targets' extremes.
    func interceptAtZero(sampleWeights s: [Double]?) -> Double {
        guard var low = targets.min(), var high = targets.max() else { return 0 }
        for _ in 0..<200 where high - low > 1e-15 * max(1, abs(low)) {
            let b = (low + high) / 2
            var sum = 0.0
            for i in targets.indices { sum += (s?[i] ?? 1) * tanh(b - targets[i]) }
            if sum > 0 { high = b } else { low = b }
        }
        return (low + high) / 2
    }
}
// end snippet

let data = try Datasets.textLike(rows: 2_000, columns: 1_500, nonzerosPerRow: 12, informative: 40, seed: 3)
let split = try Datasets.split(rows: 2_000, validationFraction: 0.25, seed: 1)
let train = try data.features.selectingRows(split.train).toCSC(), yTrain = split.train.map { data.targets[$0] }
let validation = try data.features.selectingRows(split.validation).toCSC(), yValidation = split.validation.map { data.targets[$0] }

// snippet: use
let base = try GeneralizedLinearModel(design: train, datafit: Quadratic(targets: yTrain), penalty: LogSum(strength: 1, epsilon: 0.5),
                                      fitIntercept: true)
let lambdaMax = try base.lambdaMax()!
let model = base.withStrength(lambdaMax / 8)
let solution = try model.solve(tolerance: 1e-12)
let heldOut = try HeldOutLoss(design: validation, loss: Quadratic(targets: yValidation), scale: 2)   // the MSE
let hypergradient = try model.hypergradient(at: solution, heldOut: heldOut)
let check = try model.finiteDifference(at: solution, heldOut: heldOut)
// end snippet
print(String(format: "log-sum: λ = λ_max/8, support %d, KKT residual %.2e (a stationary point: globalOptimum = %@)",
             solution.supportSize, solution.kktResidual, solution.globalOptimum ? "true" : "false"))
let relative = abs(hypergradient.gradient - check.derivative) / max(abs(check.derivative), 1e-12)
print(String(format: "dMSE/dlog λ: implicit %.8g, finite difference %.8g (h = %.0e), relative difference %.1e — %@",
             hypergradient.gradient, check.derivative, check.step, relative, hypergradient.report?.method ?? "empty support"))

// Tuning λ with the library's tuner, the same call that tunes a lasso.
let criterion = try HeldOutGLM(model: base, heldOut: heldOut, tolerance: 1e-10)
let report = try Tuner().tune(criterion, path: Tuner.Path(startRatio: 8, minRatio: 1e3, gridPoints: 12))
let bestGrid = report.grid.min { $0.value < $1.value }!
print(String(format: "tuned: λ = λ_max/%.4g, validation MSE %.6f (best of a 12-point grid %.6f), %d evaluations, %@",
             lambdaMax / exp(report.best[0]), report.bestValue, bestGrid.value, report.evaluations, report.stopReason))

guard relative <= 1e-4 else { print("hypergradient and finite difference disagree"); exit(1) }

// Both of our own at once: log-cosh × log-sum, with a few gross outliers in the targets (the
// log-cosh loss grows linearly in them). The held-out loss is the validation MSE as above.
var outlying = yTrain
for i in stride(from: 0, to: outlying.count, by: 25) { outlying[i] += 30 }
// snippet: both
let robust = try GeneralizedLinearModel(design: train, datafit: LogCosh(targets: outlying),
                                        penalty: LogSum(strength: 1, epsilon: 0.5), fitIntercept: true)
let robustModel = robust.withStrength(try robust.lambdaMax()! / 8)
let robustSolution = try robustModel.solve(tolerance: 1e-12)                // KKT residual ≤ 1e-12
let robustGradient = try robustModel.hypergradient(at: robustSolution, heldOut: heldOut)
let robustCheck = try robustModel.finiteDifference(at: robustSolution, heldOut: heldOut)
// end snippet
let robustRelative = abs(robustGradient.gradient - robustCheck.derivative) / max(abs(robustCheck.derivative), 1e-12)
print(String(format: "log-cosh × log-sum: support %d, KKT residual %.2e, dMSE/dlog λ implicit %.8g, finite difference %.8g, relative difference %.1e",
             robustSolution.supportSize, robustSolution.kktResidual, robustGradient.gradient, robustCheck.derivative, robustRelative))
guard robustSolution.kktResidual <= 1e-12, robustRelative <= 1e-4 else { print("log-cosh × log-sum: certificate or derivative off"); exit(1) }
guard report.bestValue <= bestGrid.value * 1.02 else { print("the tuner ended above the grid's best"); exit(1) }
