import _Differentiation
import Foundation
import ImplicitSparse
import XCTest

/// The generic finite-difference checker on a ridge condition with per-feature strengths
/// (θ of length p): it agrees with the closed form along a random direction, and it catches a
/// condition whose derivative is wrong (a test that can fail).
final class FiniteDifferenceCheckTests: XCTestCase {
    func testRidgeAlongARandomDirection() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 60, columns: 12, nonzerosPerRow: 4, seed: 3)
        let xv = try CSRMatrix.randomPowerLaw(rows: 30, columns: 12, nonzerosPerRow: 4, seed: 4)
        let y = DifferentiableVector((0..<60).map { Foundation.sin(Double($0)) })
        let yv = DifferentiableVector((0..<30).map { Foundation.cos(Double($0)) })
        func ridge(_ d: [Double]) throws -> [Double] {
            let system = try x.toCSC().gram().adding(CSRMatrix.diagonal(d)).declaringSymmetric()
            let factor = try CholeskyFactorization(symmetric: system)
            try factor.factorize()
            return try factor.solve(try x.multiplyTransposed(y.scalars))
        }
        let solution = RootSolution(condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + hadamard(theta, w) },
                                    symmetricJacobian: true, solver: { DifferentiableVector(try ridge($0.scalars)) })
        let theta = DifferentiableVector((0..<12).map { 0.5 + 0.1 * Double($0) })
        var random = SplitMix64(seed: 9)
        let direction = DifferentiableVector((0..<12).map { _ in random.nextUniform() - 0.5 })
        let check = try solution.finiteDifferenceCheck(at: theta, direction: direction, step: 1e-5) { w in 0.5 * squaredNorm(matvec(xv, w) - yv) }
        XCTAssertLessThan(check.relativeDifference, 1e-6, "\(check)")
        // A condition with a wrong θ-derivative (2θ∘w where the solver solves with θ∘w) fails the check.
        let wrong = RootSolution(condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + scale(2, hadamard(theta, w)) },
                                 symmetricJacobian: true, solver: { DifferentiableVector(try ridge($0.scalars)) })
        let bad = try wrong.finiteDifferenceCheck(at: theta, direction: direction) { w in 0.5 * squaredNorm(matvec(xv, w) - yv) }
        XCTAssertGreaterThan(bad.relativeDifference, 1e-2)
        XCTAssertThrowsError(try solution.finiteDifferenceCheck(at: theta, direction: DifferentiableVector([1]), loss: { w in sum(w) }))
        XCTAssertThrowsError(try solution.finiteDifferenceCheck(at: theta, direction: direction, step: 0, loss: { w in sum(w) }))
    }

    func testSpectralNormEstimate() throws {
        // Rank one: ‖u vᵀ‖₂ = ‖u‖‖v‖ exactly.
        let u: [Double] = [1, -2, 0, 3], v: [Double] = [0.5, 0, 4]
        var builder = try COOBuilder(rows: 4, columns: 3)
        for i in 0..<4 { for j in 0..<3 where u[i] * v[j] != 0 { try builder.append(row: i, column: j, value: u[i] * v[j]) } }
        let rankOne = builder.makeCSR()
        XCTAssertEqual(rankOne.spectralNormEstimate(tolerance: 1e-12), Vector.norm(u) * Vector.norm(v), accuracy: 1e-10)
        // A power-law matrix: between its largest column norm and its Frobenius norm, and
        // ‖A‖ = ‖Aᵀ‖ through the CSC entry point.
        let a = try CSRMatrix.randomPowerLaw(rows: 300, columns: 200, nonzerosPerRow: 6, seed: 2)
        let estimate = a.spectralNormEstimate(tolerance: 1e-10)
        let csc = a.toCSC()
        let largestColumn = (0..<200).map { j in (csc.columnPointers[j]..<csc.columnPointers[j + 1]).reduce(0.0) { $0 + csc.values[$1] * csc.values[$1] }.squareRoot() }.max()!
        XCTAssertGreaterThanOrEqual(estimate, largestColumn * (1 - 1e-12))
        XCTAssertLessThanOrEqual(estimate, Vector.norm(a.values))
        XCTAssertEqual(csc.transposed().spectralNormEstimate(tolerance: 1e-10), estimate, accuracy: 1e-6 * estimate)
        XCTAssertEqual(try CSRMatrix(rows: 3, columns: 3, rowPointers: [0, 0, 0, 0], columnIndices: [], values: []).spectralNormEstimate(), 0)
    }

    /// One condition for the solve and the derivative: FISTA on the fixed point's closures
    /// reaches the working-set solver's lasso solution, and the reduced derivative passes the
    /// finite-difference check.
    func testFISTAOnTheFixedPointsClosures() throws {
        let data = try Datasets.binaryTextLike(rows: 200, columns: 40, nonzerosPerRow: 6, informative: 8, seed: 5)
        let x = data.features, y = DifferentiableVector(data.targets), n = Double(data.features.rows)
        let xv = try CSRMatrix.randomPowerLaw(rows: 50, columns: 40, nonzerosPerRow: 6, seed: 6)
        let yv = DifferentiableVector((0..<50).map { Foundation.sin(Double($0)) })
        let step = 1 / (x.spectralNormEstimate(tolerance: 1e-10) * x.spectralNormEstimate(tolerance: 1e-10) / n) * 0.99
        let fixedPoint = try ProximalFixedPoint<DifferentiableVector>(
            gradient: { w, _ in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) },
            prox: { v, theta in proxLasso(v, threshold: scale(step, theta)) }, step: step, smoothDependsOnTheta: false)
        let lambdaMax = try GeneralizedLinearModel(design: x, datafit: Quadratic(targets: data.targets), penalty: try L1(lambda: 1)).lambdaMax()!
        let theta = DifferentiableVector([Double](repeating: lambdaMax / 6, count: 40))
        var options = ProximalGradient.Options()
        options.maxIterations = 200_000
        options.tolerance = 1e-13
        let fista = try ProximalGradient(options: options).minimize(fixedPoint, theta: theta, from: DifferentiableVector(repeating: 0, count: 40))
        XCTAssertTrue(fista.converged, "residual \(fista.certificate)")
        let reference = try GeneralizedLinearModel(design: x, datafit: Quadratic(targets: data.targets), penalty: try L1(lambda: lambdaMax / 6))
            .solve(tolerance: 1e-13)
        for j in 0..<40 { XCTAssertEqual(fista.solution[j], reference.weights[j], accuracy: 1e-7) }
        let solution = fixedPoint.solution { theta in
            DifferentiableVector(try ProximalGradient(options: options).minimize(fixedPoint, theta: theta, from: DifferentiableVector(fista.solution)).solution)
        }
        var random = SplitMix64(seed: 2)
        let direction = DifferentiableVector((0..<40).map { _ in random.nextUniform() })
        let check = try solution.finiteDifferenceCheck(at: theta, direction: direction, step: 1e-6) { w in 0.5 * squaredNorm(matvec(xv, w) - yv) }
        XCTAssertLessThan(check.relativeDifference, 1e-5, "\(check)")
    }
}
