import _Differentiation
import XCTest
import ImplicitSparse

/// Newton with a CHOLMOD-factorized Hessian: the gradient certificate, agreement with an
/// independent solver, quadratic convergence, one analysis for all iterations; and as the inner
/// solver of an implicit solution (the implicit layer does not care which solver ran).
final class NewtonTests: XCTestCase {
    let x = try! CSRMatrix.randomPowerLaw(rows: 300, columns: 60, nonzerosPerRow: 6, seed: 51)
    lazy var labels: [Double] = {
        let truth = (0..<60).map { $0 % 6 == 0 ? 2.0 : 0 }
        let z = try! x.multiply(truth)
        return z.enumerated().map { i, v in (v + sin(Double(i) * 1.7)) > 0 ? 1 : 0 }
    }()

    func testLogisticNewtonCertificateAgreementAndSingleAnalysis() throws {
        let problem = try LogisticRegressionProblem(design: x, labels: labels, lambda: 1e-3)
        let result = try problem.solve(tolerance: 1e-12)
        XCTAssertTrue(result.converged)
        XCTAssertLessThanOrEqual(result.gradientNorm, 1e-12 * max(1, problem.gradient([Double](repeating: 0, count: 60)).map(abs).max()!))
        XCTAssertLessThanOrEqual(result.iterations, 15, "Newton converges quadratically")
        XCTAssertEqual(result.largestShift, 0)
        // An independent check of the certificate.
        let g = problem.gradient(result.solution)
        XCTAssertLessThan(g.map(abs).max()!, 1e-11)
        // Oracle: plain gradient descent (step 1/L, L ≤ ‖X‖²/(4n) + λ) from Newton's answer
        // stays there, and from zero approaches it.
        var w = [Double](repeating: 0, count: 60)
        let l = try LassoProblem(design: x, targets: labels, lambda: 1).lipschitzEstimate(iterations: 50) / 4 + 1e-3
        for _ in 0..<20_000 {
            let gw = problem.gradient(w)
            for j in 0..<60 { w[j] -= gw[j] / l }
        }
        XCTAssertLessThan(zip(w, result.solution).map { abs($0 - $1) }.max()!, 1e-4)
        XCTAssertLessThanOrEqual(problem.objective(result.solution), problem.objective(w) + 1e-12)
    }

    func testIndefiniteHessianIsShiftedAndBadInputsAreTyped() throws {
        // f(x) = Σ (x⁴/4 − x²/2): the Hessian 3x² − 1 is indefinite at 0; minima at ±1.
        let pattern = try CSRMatrix.diagonal([1, 1, 1])
        let result = try NewtonSolver().minimize(
            from: [0.1, -0.2, 0.05],
            objective: { x in x.reduce(0) { $0 + $1 * $1 * $1 * $1 / 4 - $1 * $1 / 2 } },
            gradient: { x in x.map { $0 * $0 * $0 - $0 } },
            hessian: { x in .explicit(try pattern.replacingValues(x.map { 3 * $0 * $0 - 1 })) })
        XCTAssertTrue(result.converged)
        XCTAssertGreaterThan(result.largestShift, 0)
        for v in result.solution { XCTAssertEqual(abs(v), 1, accuracy: 1e-9) }
        XCTAssertThrowsError(try NewtonSolver().minimize(from: [.nan], objective: { _ in 0 }, gradient: { $0 },
                                                         hessian: { _ in .explicit(try CSRMatrix.diagonal([1])) }))
        XCTAssertThrowsError(try NewtonSolver().minimize(from: [1, 1], objective: { x in x[0] * x[0] + x[1] * x[1] }, gradient: { $0 },
                                                         hessian: { _ in .explicit(try CSRMatrix.diagonal([1, 1, 1])) }))
        XCTAssertThrowsError(try LogisticRegressionProblem(design: x, labels: labels.map { 2 * $0 - 1 }, lambda: 1))
        XCTAssertThrowsError(try LogisticRegressionProblem(design: x, labels: labels, lambda: .infinity))
    }

    /// The user writes the logistic stationarity condition with the primitives; Newton finds
    /// w*(λ); the hypergradient through `RootSolution` matches central differences.
    func testNewtonAsTheInnerSolverOfAnImplicitSolution() throws {
        let (x, y) = (self.x, DifferentiableVector(labels))
        let n = Double(x.rows)
        let solution = RootSolution(
            condition: { w, theta in scale(1 / n, matvecTransposed(x, sigmoid(matvec(x, w)) - y)) + scale(sum(theta), w) },
            symmetricJacobian: true, dimension: 60,
            solver: { theta in
                DifferentiableVector(try LogisticRegressionProblem(design: x, labels: y.scalars, lambda: theta[0]).solve(tolerance: 1e-13).solution)
            })
        let xv = try CSRMatrix.randomPowerLaw(rows: 50, columns: 60, nonzerosPerRow: 6, seed: 52)
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in squaredNorm(matvec(xv, w)) / 50 }
        let lambda = 0.01
        let result = try solution.hypergradient(at: DifferentiableVector([lambda]), loss: loss)
        // With the explicit Hessian XᵀDX/n + λI from the condition: CHOLMOD, same answer.
        let explicit = RootSolution(
            condition: solution.condition, symmetricJacobian: true, dimension: 60,
            explicitJacobian: { w, theta in
                let z = try x.multiply(w.scalars)
                let d = z.map { v -> Double in let s = 1 / (1 + Foundation.exp(-v)); return s * (1 - s) / n }
                var h = try x.toCSC().gram(weights: d, shift: theta[0])
                h = h.declaringSymmetric()
                return h
            },
            solver: solution.solver)
        let direct = try explicit.hypergradient(at: DifferentiableVector([lambda]), loss: loss)
        XCTAssertEqual(direct.report?.method, "cholesky")
        XCTAssertEqual(direct.gradient[0], result.gradient[0], accuracy: 1e-9 * max(abs(result.gradient[0]), 1e-9))
        let h = 1e-6
        func value(_ l: Double) throws -> Double { loss(try solution.solve(DifferentiableVector([l]))) }
        let fd = (try value(lambda + h) - value(lambda - h)) / (2 * h)
        XCTAssertEqual(result.gradient[0], fd, accuracy: 1e-6 * max(abs(fd), 1e-6))
    }
}
import Foundation
