// A model written as a proximal-gradient fixed point, x = prox_{ηg}(x − η∇f(x)), instead of
// a datafit × penalty: least squares with one ℓ1 strength per feature,
//   w*(θ) = argmin (1/2n)‖Xw − y‖² + Σⱼ θⱼ|wⱼ|,
// solved by the library's FISTA on the condition's own closures, then differentiated with
// respect to all p strengths at once by Swift's reverse mode, through the support-reduced
// adjoint (`ProximalFixedPoint` reads the support from the prox's Jacobian). Independent
// checks: the working-set solver on the same objective (`WeightedL1`), and a central finite
// difference along a random direction of θ. Exit 1 on a mismatch.
import _Differentiation
import Foundation
import ImplicitSparse

let data = try Datasets.binaryTextLike(rows: 600, columns: 300, nonzerosPerRow: 8, informative: 12, seed: 5)
let x = data.features, n = Double(x.rows), p = x.columns
let y = DifferentiableVector(data.targets)
let validation = try CSRMatrix.randomPowerLaw(rows: 200, columns: p, nonzerosPerRow: 8, seed: 6)
let yValidation = DifferentiableVector((0..<200).map { sin(Double($0)) })
let norm = x.spectralNormEstimate(tolerance: 1e-10)
let step = 0.99 * n / (norm * norm)                               // η below 1/L of the smooth part

// snippet: fixed point
let fixedPoint = try ProximalFixedPoint<DifferentiableVector>(
    gradient: { w, _ in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) },      // ∇f(w)
    prox: { v, theta in proxLasso(v, threshold: scale(step, theta)) },                 // prox of η Σ θⱼ|wⱼ|
    step: step, smoothDependsOnTheta: false)
var options = ProximalGradient.Options()
options.tolerance = 1e-13
options.maxIterations = 200_000
let solution = fixedPoint.solution { theta in                      // any solver; here FISTA on the same closures
    DifferentiableVector(try ProximalGradient(options: options).minimize(fixedPoint, theta: theta,
                                                                        from: DifferentiableVector(repeating: 0, count: p)).solution)
}
let lambdaMax = try GeneralizedLinearModel(design: x, datafit: Quadratic(targets: data.targets), penalty: try L1(lambda: 1)).lambdaMax()!
let theta = DifferentiableVector((0..<p).map { j in lambdaMax / (j % 2 == 0 ? 5 : 8) })
let validationLoss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in
    0.5 * squaredNorm(matvec(validation, w) - yValidation)
}
let gradientInTheta = try solution.checked {                      // a failure inside AD becomes a thrown error
    gradient(at: theta) { theta in validationLoss(solution(theta)) }
}
// end snippet

// Oracle 1: the working-set solver on the same objective (λ = 1, weights θ).
let w = try solution.solve(theta)
let reference = try GeneralizedLinearModel(design: x, datafit: Quadratic(targets: data.targets),
                                           penalty: try WeightedL1(lambda: 1, weights: theta.dense(count: p))).solve(tolerance: 1e-13)
let solveGap = (0..<p).map { abs(w[$0] - reference.weights[$0]) }.max()!
// Oracle 2: a central difference along a random direction (two more solves).
var random = SplitMix64(seed: 2)
let direction = DifferentiableVector((0..<p).map { _ in random.nextUniform() * lambdaMax / 50 })
let check = try solution.finiteDifferenceCheck(at: theta, direction: direction, step: 1e-4, loss: validationLoss)
let support = (0..<p).filter { w[$0] != 0 }.count
print(String(format: "support %d of %d; FISTA vs working set: largest difference %.1e", support, p, solveGap))
print(String(format: "∂(validation loss)/∂θ: %d components from one reduced solve; along a random direction implicit %.10g, finite difference %.10g, relative difference %.1e",
             gradientInTheta.count, check.implicit, check.finiteDifference, check.relativeDifference))
guard solveGap < 1e-7, check.relativeDifference < 1e-5 else { print("MISMATCH"); exit(1) }
