// A custom optimality condition, differentiated with RootSolution.
//
// The problem: ridge regression with a graph smoothness penalty on the coefficients,
//   w*(θ) = argmin ½‖Xw − y‖² + ½e^{θ₀}‖w‖² + ½e^{θ₁} wᵀLw,
// whose optimality condition is F(w, θ) = Xᵀ(Xw − y) + e^{θ₀}w + e^{θ₁}Lw = 0.
// F is written with the differentiable primitives; the toolkit solves ∂F/∂w u = v (here
// through the automatic policy on the explicit Jacobian) and gives d loss(w*(θ))/dθ.
import _Differentiation
import Foundation
import ImplicitSparse

// Data: a sparse design with power-law column frequencies and a chain graph on the features.
let x = try CSRMatrix.randomPowerLaw(rows: 400, columns: 60, nonzerosPerRow: 6, exponent: 2.0, seed: 1)
let y = DifferentiableVector((0..<400).map { Foundation.sin(Double($0)) })
let laplacian = try CSRMatrix.gridGraphLaplacian2D(rows: 1, columns: 60)
let gram = try x.toCSC().gram()

// snippet: condition
func smoothRidge(strategy: LinearSolveStrategy) -> RootSolution<DifferentiableVector> {
    RootSolution<DifferentiableVector>(
        condition: { w, theta in
            matvecTransposed(x, matvec(x, w) - y)
                + scale(exp(theta[0]), w) + scale(exp(theta[1]), matvec(laplacian, w))
        },
        symmetricJacobian: true,
        strategy: strategy,
        dimension: x.columns,
        explicitJacobian: { _, theta in
            // ∂F/∂w = XᵀX + e^{θ₀}I + e^{θ₁}L, on one sparse pattern.
            try gram.addingIdentity(scaledBy: exp(theta[0])).adding(laplacian, beta: exp(theta[1]))
        },
        solver: { theta in
            // Any solver: here a sparse Cholesky factorization of the same matrix.
            let k = try gram.addingIdentity(scaledBy: exp(theta[0])).adding(laplacian, beta: exp(theta[1]))
            let factor = try CholeskyFactorization(symmetric: k.declaringSymmetric())
            try factor.factorize()
            return DifferentiableVector(try factor.solve(try x.multiplyTransposed(y.scalars)))
        })
}

let solution = smoothRidge(strategy: LinearSolveStrategy(.automatic))
let target = DifferentiableVector((0..<60).map { Double($0 % 7) / 7 })
let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in 0.5 * squaredNorm(w - target) }
let theta = DifferentiableVector([log(0.5), log(2.0)])
let result = try solution.hypergradient(at: theta, loss: loss)
// end snippet
print("loss \(result.value), d loss/dθ = \(result.gradient.scalars), ‖F(w*, θ)‖ = \(result.conditionResidual)")
print("linear solver: \(result.report?.method ?? "?")")

// The oracle: central finite differences of the loss through fresh solves.
let h = 1e-5
var worst = 0.0
for k in 0..<2 {
    var up = theta.scalars, down = theta.scalars
    up[k] += h
    down[k] -= h
    let difference = (loss(try solution.solve(DifferentiableVector(up))) - loss(try solution.solve(DifferentiableVector(down)))) / (2 * h)
    let g = result.gradient.scalars[k]
    worst = max(worst, abs(g - difference) / max(abs(difference), 1e-12))
    print("θ\(k): implicit \(g), finite difference \(difference)")
}
guard worst < 1e-6 else { print("MISMATCH: relative difference \(worst)"); exit(1) }
print("agree to \(String(format: "%.1e", worst)) (relative)")

// The same derivative through other linear solvers: a built-in Krylov method by name, and a
// solver written here, outside the library.
// snippet: solvers
let cg = smoothRidge(strategy: LinearSolveStrategy(.cg, options: KrylovOptions(relativeTolerance: 1e-12)))
let viaCG = try cg.hypergradient(at: theta, loss: loss)

/// A user-written solver: CHOLMOD, saying what it factorizes.
struct AnnouncedCholesky: LinearSolver {
    var name: String { "announced-cholesky" }
    func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix(name) }
        print("factorizing \(m.rows) × \(m.columns), \(m.nonzeroCount) nonzeros")
        let factor = try CholeskyFactorization(symmetric: m.declaringSymmetric())
        try factor.factorize()
        return AnnouncedCholeskyState(factor: factor)
    }
}

final class AnnouncedCholeskyState: LinearSolverState {
    let factor: CholeskyFactorization
    init(factor: CholeskyFactorization) { self.factor = factor }
    var method: String { "announced-cholesky" }
    var memoryBytes: Int { factor.predictedFactorBytes }
    var timings: LinearSolverTimings { LinearSolverTimings() }
    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        LinearSolveOutcome(solution: try factor.solve(b))     // symmetric: Aᵀu = b is Au = b
    }
    func update(_ a: any LinearOperator) throws {
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix(method) }
        try factor.refactor(m.declaringSymmetric())           // same pattern: numeric work only
    }
}

let user = smoothRidge(strategy: LinearSolveStrategy(solver: AnnouncedCholesky(), name: "smooth ridge adjoint"))
let viaUser = try user.hypergradient(at: theta, loss: loss)
// end snippet
for (name, other) in [("cg", viaCG), ("user", viaUser)] {
    let difference = zip(other.gradient.scalars, result.gradient.scalars).map { abs($0 - $1) / max(abs($1), 1e-12) }.max()!
    print("\(name) (\(other.report?.method ?? "?")): \(other.gradient.scalars), relative difference \(String(format: "%.1e", difference))")
    guard difference < 1e-8 else { print("MISMATCH"); exit(1) }
}
