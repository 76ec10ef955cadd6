// A penalty the library does not ship, defined here and nowhere else: the log-sum penalty
// λ Σⱼ log(1 + |wⱼ|/ε) (Candès, Wakin & Boyd 2008), a nonconvex sparsity prior. Conforming to
// `SeparablePenalty` is all it takes: the working-set solver, the KKT certificate, the
// hypergradient through the implicit layer, the finite-difference check and the tuner use it
// unchanged. Exit 1 when the hypergradient disagrees with the finite difference.
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
guard report.bestValue <= bestGrid.value * 1.02 else { print("the tuner ended above the grid's best"); exit(1) }
