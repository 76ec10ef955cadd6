import Foundation
import Sparse
import XCTest
@testable import ImplicitSparse

final class MulticlassSVMTests: XCTestCase {
    func problem() throws -> (MulticlassSVM, MulticlassSVM.ValidationLoss) {
        try MulticlassSVM.generated(samples: 60, validationSamples: 40, features: 240, classes: 4, nonzerosPerRow: 10, zipf: 0.5, seed: 3)
    }

    /// Every solver stays on the simplices; projected gradient and BCD reach their certificate
    /// (relative duality gap); mirror descent's gap falls (slowly: its entropic steps shrink
    /// with the small positive entries).
    func testSolversReachTheDualityGapOnTheSimplices() throws {
        let (svm, _) = try problem()
        for solver in MulticlassSVM.Solver.allCases {
            let solution = try svm.solve(logTheta: 0, solver: solver, tolerance: 1e-11, maxIterations: solver == .mirrorDescent ? 3_000 : 200_000)
            if solver == .mirrorDescent {
                let early = try svm.solve(logTheta: 0, solver: solver, tolerance: 1e-11, maxIterations: 300)
                XCTAssertLessThan(solution.gap, early.gap / 10, "mirror descent: \(early.gap) → \(solution.gap)")
                XCTAssertLessThan(solution.gap, 1e-4)
            } else {
                XCTAssertTrue(solution.converged, "\(solver): gap \(solution.gap) after \(solution.iterations)")
                XCTAssertLessThanOrEqual(solution.gap, 1e-11)
            }
            for i in 0..<svm.samples {
                let block = solution.beta[i * svm.classes..<(i + 1) * svm.classes]
                XCTAssertEqual(block.reduce(0, +), 1, accuracy: 1e-12)
                XCTAssertTrue(block.allSatisfy { $0 >= 0 })
            }
        }
    }

    /// The three fixed points — mirror descent's, projected gradient's, BCD's — give one
    /// hypergradient at a solution (1e-6 relative), equal to a central difference of the
    /// validation loss in log θ; each converged solver's own solution gives it too, and
    /// unrolling the same iterations agrees.
    func testThreeFixedPointsGiveTheSameHypergradientAsFiniteDifferences() throws {
        let (svm, validation) = try problem()
        let logTheta = 0.3
        let h = 1e-5
        func loss(_ t: Double) throws -> Double {
            let beta = try svm.solve(logTheta: t, solver: .blockCoordinateDescent, tolerance: 1e-14).beta
            return svm.validationLoss(DifferentiableVector(beta), DifferentiableVector([t]), on: validation)
        }
        let fd = (try loss(logTheta + h) - loss(logTheta - h)) / (2 * h)
        XCTAssertGreaterThan(abs(fd), 1e-4)
        let exact = try svm.solve(logTheta: logTheta, solver: .blockCoordinateDescent, tolerance: 1e-14)
        for solver in MulticlassSVM.Solver.allCases {
            let atExact = try svm.implicitHypergradient(logTheta: logTheta, solution: exact, solver: solver, validation: validation)
            XCTAssertEqual(atExact.gradient, fd, accuracy: 1e-6 * abs(fd), "\(solver)'s fixed point at the same β*")
            let own = try svm.solve(logTheta: logTheta, solver: solver, tolerance: 1e-12, maxIterations: solver == .mirrorDescent ? 3_000 : 200_000)
            let implicit = try svm.implicitHypergradient(logTheta: logTheta, solution: own, solver: solver, validation: validation)
            let unrolled = svm.unrolledHypergradient(logTheta: logTheta, solution: own, solver: solver, validation: validation)
            XCTAssertEqual(unrolled.value, implicit.value, accuracy: 1e-9 * abs(implicit.value), "\(solver): the replay reaches the solver's β")
            if solver == .mirrorDescent {
                // Not converged (gap ~1e-6): off by about its gap times a constant (Theorem 1).
                XCTAssertEqual(implicit.gradient, fd, accuracy: 1e-2 * abs(fd))
            } else {
                XCTAssertLessThan(implicit.conditionResidual, 1e-8, "\(solver)")
                XCTAssertEqual(implicit.gradient, fd, accuracy: 1e-6 * abs(fd), "\(solver)'s own solution")
                XCTAssertEqual(unrolled.gradient, implicit.gradient, accuracy: 1e-7 * abs(implicit.gradient), "\(solver) unrolled")
            }
        }
    }

    func testBadInputIsRejectedNamingTheRow() throws {
        let x = try CSRMatrix(rows: 3, columns: 2, rowPointers: [0, 1, 1, 2], columnIndices: [0, 1], values: [1, 2])
        XCTAssertThrowsError(try MulticlassSVM(x: x, labels: [0, 1], classes: 2))
        XCTAssertThrowsError(try MulticlassSVM(x: x, labels: [0, 1, 0], classes: 2)) { error in
            XCTAssertTrue("\(error)".contains("row 1"), "\(error)")
        }
        let full = try CSRMatrix(rows: 2, columns: 2, rowPointers: [0, 1, 2], columnIndices: [0, 1], values: [1, 2])
        XCTAssertThrowsError(try MulticlassSVM(x: full, labels: [0, 3], classes: 2)) { error in
            XCTAssertTrue("\(error)".contains("row 1"), "\(error)")
        }
        let svm = try MulticlassSVM(x: full, labels: [0, 1], classes: 2)
        XCTAssertThrowsError(try svm.solve(logTheta: .nan, solver: .projectedGradient))
    }
}
