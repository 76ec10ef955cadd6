import XCTest
import ImplicitSparse

/// Theorem 1 of Blondel et al. (2022), measured: the implicit Jacobian at an approximate
/// solution errs in proportion to the solution's error (fitted log-log slope in [0.8, 1.2])
/// for ridge and the elastic net; the lasso's is exact once the support and signs are found.
final class TheoremOneTests: XCTestCase {
    let tolerances = (1...10).map { pow(10, -Double($0)) }

    func testRidgeAndElasticNetJacobianErrorIsLinearInTheSolutionError() throws {
        for problem in [TheoremOne.Problem.ridge, .elasticNet] {
            let r = try TheoremOne.run(problem: problem, rows: 400, columns: 200, tolerances: tolerances, directions: 12, seed: 3)
            XCTAssertLessThan(r.referenceResidual, 1e-12, "\(problem): the reference solution")
            let slope = try XCTUnwrap(r.slope, "\(problem): a slope was fitted")
            XCTAssertTrue(slope >= 0.8 && slope <= 1.2, "\(problem): slope \(slope)")
            // The errors span many decades: the solver really was stopped early.
            let errors = r.points.map(\.solutionError)
            XCTAssertGreaterThan(errors.max()! / errors.min()!, 1e5, "\(problem): \(errors)")
            XCTAssertLessThan(r.constant, 100, "\(problem): C = \(r.constant)")
        }
    }

    func testLassoJacobianIsExactOnceTheSupportIsFound() throws {
        let r = try TheoremOne.run(problem: .lasso, rows: 400, columns: 200, tolerances: tolerances, directions: 8, seed: 3)
        XCTAssertLessThan(r.referenceResidual, 1e-12)
        // The tightest points have the support: Jacobian error at rounding while x̂ still errs.
        let last = try XCTUnwrap(r.points.last)
        XCTAssertLessThan(last.jacobianError, 1e-12)
        XCTAssertGreaterThan(last.solutionError, last.jacobianError)
        // Theorem 1's bound holds at every point with a modest constant.
        XCTAssertLessThan(r.constant, 100)
    }

    func testBadArgumentsAreRefused() {
        XCTAssertThrowsError(try TheoremOne.run(problem: .ridge, rows: 1, columns: 10))
        XCTAssertThrowsError(try TheoremOne.run(problem: .ridge, tolerances: [2]))
    }
}
