import Foundation
import XCTest
import ImplicitSparse
import Sparse

/// L-BFGS (strong Wolfe) and matrix-free Newton-CG: the gradient certificate recomputed here,
/// agreement with Newton on CHOLMOD's factor for ℓ2 logistic regression on binary data with
/// duplicated columns, and the classic Rosenbrock valley.
final class SmoothMinimizerTests: XCTestCase {
    func testLogisticL2ThreeSolversAgree() throws {
        let data = try Datasets.binaryTextLike(rows: 600, columns: 200, nonzerosPerRow: 10, duplicateColumns: 8, dependentColumns: 8,
                                               informative: 20, classification: true, seed: 9)
        let labels = data.targets.map { $0 > 0 ? 1.0 : 0.0 }
        let problem = try LogisticRegressionProblem(design: data.features, labels: labels, lambda: 1e-3)
        let newton = try problem.solve(tolerance: 1e-11)
        XCTAssertTrue(newton.converged)
        for method in LogisticRegressionProblem.SmoothMethod.allCases {
            let result = problem.solveSmooth(method, tolerance: 1e-9)
            XCTAssertTrue(result.converged, "\(method): \(result.reason)")
            // The certificate, recomputed independently of the solver's bookkeeping.
            XCTAssertLessThanOrEqual(problem.gradient(result.solution).map(abs).max()!, 1e-9)
            XCTAssertEqual(result.value, problem.objective(result.solution), accuracy: 1e-14)
            // λ-strong convexity: ‖w − w*‖ ≤ ‖∇f(w)‖/λ.
            let distance = zip(result.solution, newton.solution).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            XCTAssertLessThanOrEqual(distance, 200.0.squareRoot() * 1e-9 / 1e-3 + 1e-8, "\(method)")
            if method == .newtonCG { XCTAssertLessThanOrEqual(result.iterations, 30, "Newton-CG converges superlinearly") }
        }
    }

    func testRosenbrock() {
        func rosenbrock(_ x: [Double]) -> (value: Double, gradient: [Double]) {
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            return (a * a + 100 * b * b, [-2 * a - 400 * x[0] * b, 200 * b])
        }
        let lbfgs = LBFGS().minimize(from: [-1.2, 1], tolerance: 1e-10, objective: rosenbrock)
        XCTAssertTrue(lbfgs.converged, lbfgs.reason)
        XCTAssertEqual(lbfgs.solution[0], 1, accuracy: 1e-8)
        XCTAssertEqual(lbfgs.solution[1], 1, accuracy: 1e-8)
        XCTAssertLessThan(lbfgs.iterations, 100)
        let newton = NewtonCG().minimize(from: [-1.2, 1], tolerance: 1e-10, objective: rosenbrock) { x in
            let h = [[2 - 400 * (x[1] - 3 * x[0] * x[0]), -400 * x[0]], [-400 * x[0], 200.0]]
            return ({ v in [h[0][0] * v[0] + h[0][1] * v[1], h[1][0] * v[0] + h[1][1] * v[1]] }, nil)
        }
        XCTAssertTrue(newton.converged, newton.reason)
        XCTAssertEqual(newton.solution[0], 1, accuracy: 1e-8)
        // A non-finite objective is a failed line search, not a NaN answer.
        let broken = LBFGS(maxIterations: 5).minimize(from: [1, 1], objective: { _ in (.nan, [1, 1]) })
        XCTAssertFalse(broken.converged)
        XCTAssertTrue(broken.solution.allSatisfy(\.isFinite))
    }
}
