import XCTest
import ImplicitSparse

/// FISTA on the lasso and elastic net: the duality gap certifies the solve, and the KKT
/// conditions are checked independently.
final class ProximalGradientTests: XCTestCase {
    let x = try! CSRMatrix.randomPowerLaw(rows: 200, columns: 120, nonzerosPerRow: 8, seed: 41)
    lazy var y: [Double] = {
        var rng = SplitMix64(seed: 42)
        let truth = (0..<120).map { $0 % 10 == 0 ? 3 * rng.nextGaussian() : 0 }
        return try! x.multiply(truth).map { $0 + 0.1 * rng.nextGaussian() }
    }()

    /// ∂/∂w of the smooth part equals −λα·sign(w) on the support and is within λα off it.
    func assertKKT(_ problem: LassoProblem, _ w: [Double], tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
        let gradient = problem.smooth(w).gradient
        let bound = problem.lambda * problem.l1Ratio
        for j in 0..<w.count {
            if w[j] != 0 {
                XCTAssertEqual(gradient[j], w[j] > 0 ? -bound : bound, accuracy: tolerance, "coordinate \(j)", file: file, line: line)
            } else {
                XCTAssertLessThanOrEqual(abs(gradient[j]), bound + tolerance, "coordinate \(j)", file: file, line: line)
            }
        }
    }

    func testLassoConvergesWithCertificateAndKKT() throws {
        let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y)
        let problem = try LassoProblem(design: x, targets: y, lambda: lambdaMax / 10)
        let result = problem.solve(tolerance: 1e-10)
        XCTAssertTrue(result.converged)
        XCTAssertLessThanOrEqual(problem.dualityGap(result.solution), 1e-10 * y.map { $0 * $0 }.reduce(0, +) / 400)
        let support = result.solution.filter { $0 != 0 }.count
        XCTAssertGreaterThan(support, 0)
        XCTAssertLessThan(support, 120)
        assertKKT(problem, result.solution, tolerance: 1e-5 * problem.lambda)
        // The gap is positive away from the optimum and the objective is no better there.
        let perturbed = result.solution.map { $0 * 1.05 }
        XCTAssertGreaterThan(problem.dualityGap(perturbed), problem.dualityGap(result.solution))
        XCTAssertGreaterThanOrEqual(problem.objective(perturbed), problem.objective(result.solution))
        // Plain proximal gradient (no acceleration) reaches the same objective, in more iterations.
        var options = ProximalGradient.Options()
        options.accelerate = false
        options.maxIterations = 200_000
        options.tolerance = 1e-12
        options.initialStep = result.step
        let ista = ProximalGradient(options: options).minimize(
            from: [Double](repeating: 0, count: 120), smooth: problem.smooth, prox: problem.prox,
            penalty: problem.penalty, certificate: problem.dualityGap)
        XCTAssertEqual(problem.objective(ista.solution), problem.objective(result.solution), accuracy: 1e-9)
        XCTAssertGreaterThan(ista.iterations, result.iterations)
    }

    func testLambdaAboveLambdaMaxGivesZeroAndElasticNetKKT() throws {
        let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y)
        let zero = try LassoProblem(design: x, targets: y, lambda: lambdaMax * 1.01).solve()
        XCTAssertTrue(zero.solution.allSatisfy { $0 == 0 })
        XCTAssertTrue(zero.converged)
        let enet = try LassoProblem(design: x, targets: y, lambda: lambdaMax / 20, l1Ratio: 0.5)
        let result = enet.solve(tolerance: 1e-10)
        XCTAssertTrue(result.converged)
        assertKKT(enet, result.solution, tolerance: 1e-5 * enet.lambda)
        // Warm start from the solution: certified at the first check.
        let warm = enet.solve(tolerance: 1e-10, warmStart: result.solution)
        XCTAssertLessThanOrEqual(warm.iterations, 10)
        XCTAssertThrowsError(try LassoProblem(design: x, targets: y, lambda: 0))
        XCTAssertThrowsError(try LassoProblem(design: x, targets: y, lambda: 1, l1Ratio: 0))
        XCTAssertThrowsError(try LassoProblem(design: x, targets: [1, 2], lambda: 1))
        XCTAssertThrowsError(try LassoProblem(design: x, targets: y.map { _ in .nan }, lambda: 1))
    }

    /// Coordinate descent: duality gap, KKT conditions, and agreement with FISTA, for the lasso
    /// and the elastic net, with and without an intercept (whose gradient condition Σr = 0 is
    /// checked too), cold and warm started.
    func testCoordinateDescentCertificateKKTAndAgreementWithFISTA() throws {
        let shifted = y.map { $0 + 1.5 }
        for (alpha, intercept) in [(1.0, false), (0.5, false), (1.0, true), (0.5, true)] {
            let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: shifted, l1Ratio: alpha, fitIntercept: intercept)
            let problem = try LassoProblem(design: x, targets: shifted, lambda: lambdaMax / 30, l1Ratio: alpha, fitIntercept: intercept)
            let result = try CoordinateDescent().solve(problem, tolerance: 1e-12)
            XCTAssertTrue(result.converged)
            XCTAssertLessThanOrEqual(result.certificate, 1e-12 * problem.gapScale)
            // The solver's gap (from its incrementally kept residual) and a recomputed one agree
            // to rounding.
            XCTAssertEqual(problem.dualityGap(result.solution), result.certificate, accuracy: 1e-14 * problem.gapScale)
            assertKKT(problem, result.solution, tolerance: 1e-6)
            let b = problem.intercept(result.solution)
            let residualSum = zip(shifted, try x.multiply(result.solution)).map { $0 - $1 - b }.reduce(0, +)
            if intercept { XCTAssertEqual(residualSum, 0, accuracy: 1e-9 * Double(x.rows)) }
            let fista = problem.solve(tolerance: 1e-13, maxIterations: 200_000)
            XCTAssertTrue(fista.converged)
            for j in 0..<x.columns { XCTAssertEqual(result.solution[j], fista.solution[j], accuracy: 1e-5, "α \(alpha) intercept \(intercept) j \(j)") }
            // A warm start at the answer is certified by one full pass, with no epoch.
            let warm = try CoordinateDescent().solve(problem, tolerance: 1e-12, warmStart: result.solution)
            XCTAssertEqual(warm.outerIterations, 1)
            XCTAssertEqual(warm.epochs, 0)
        }
        let problem = try LassoProblem(design: x, targets: y, lambda: 0.1)
        XCTAssertThrowsError(try CoordinateDescent().solve(problem, warmStart: [1, 2]))
        XCTAssertThrowsError(try CoordinateDescent().solve(problem, warmStart: [Double](repeating: .nan, count: 120)))
        // Not converging is a status, not silence.
        let capped = try CoordinateDescent(maxEpochs: 1).solve(try LassoProblem(design: x, targets: y, lambda: 1e-4), tolerance: 1e-14)
        XCTAssertFalse(capped.converged)
    }
}

