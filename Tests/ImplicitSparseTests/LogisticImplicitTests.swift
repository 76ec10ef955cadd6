import _Differentiation
import XCTest
import ImplicitSparse

/// A user-written condition — ℓ₂-regularized logistic regression's stationarity, composed of
/// the primitives — differentiated automatically, against finite differences and against the
/// derivative of the unrolled solver (which the implicit one must match as the unrolled solve
/// converges).
final class LogisticImplicitTests: XCTestCase {
    func testUserWrittenLogisticConditionAgainstFiniteDifferencesAndUnrolling() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 60, columns: 12, nonzerosPerRow: 4, seed: 61)
        let labels = DifferentiableVector((0..<60).map { Double(($0 * 7) % 3 == 0 ? 1 : 0) })
        let target = DifferentiableVector((0..<12).map { Double($0) / 12 - 0.4 })
        // F(w, θ) = ∇_w [Σ softplus(Xw) − yᵀXw + (θ/2)‖w‖²] = Xᵀ(σ(Xw) − y) + θw.
        let condition: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, theta in
            matvecTransposed(x, sigmoid(matvec(x, w)) - labels) + scale(sum(theta), w)
        }
        // Step 1/L with L ≤ ‖X‖²/4 + θ (‖X‖² ≤ ‖X‖_F²).
        let frobenius = x.values.reduce(0) { $0 + $1 * $1 }
        func step(_ theta: Double) -> Double { 1 / (frobenius / 4 + theta) }
        let solver: VectorRootSolution.Solver = { theta in
            var w = DifferentiableVector(repeating: 0, count: 12)
            for _ in 0..<50_000 {
                let g = condition(w, theta)
                if norm(g) < 1e-13 { break }
                w = w - scale(step(theta[0]), g)
            }
            return w
        }
        let solution = RootSolution(condition: condition, symmetricJacobian: true, solver: solver)
        let theta = DifferentiableVector([0.8])
        let w = try solver(theta)
        XCTAssertLessThan(norm(condition(w, theta)), 1e-12, "stationarity certifies the inner solve")
        let outer: @differentiable(reverse) (DifferentiableVector) -> Double = { w in 0.5 * squaredNorm(w - target) }
        let implicit = gradient(at: theta) { theta in outer(solution(theta)) }[0]
        // Finite differences of the converged pipeline.
        let h = 1e-5
        let fd = (outer(try solver(DifferentiableVector([0.8 + h]))) - outer(try solver(DifferentiableVector([0.8 - h])))) / (2 * h)
        XCTAssertEqual(implicit, fd, accuracy: 1e-6 * max(abs(fd), 1e-3))
        // Unrolled gradient descent differentiated through AD (fixed count, no break): its
        // derivative approaches the implicit one as the unrolled solve converges.
        func unrolledDerivative(steps: Int) -> Double {
            gradient(at: theta) { theta -> Double in
                var iterate = DifferentiableVector(repeating: 0, count: 12)
                for _ in 0..<steps {
                    iterate = iterate - scale(step(0.8), condition(iterate, theta))
                }
                return outer(iterate)
            }[0]
        }
        let short = abs(unrolledDerivative(steps: 20) - implicit)
        let long = abs(unrolledDerivative(steps: 3_000) - implicit)
        XCTAssertLessThan(long, short)
        XCTAssertLessThan(long, 1e-6 * max(abs(implicit), 1e-3))
    }
}
