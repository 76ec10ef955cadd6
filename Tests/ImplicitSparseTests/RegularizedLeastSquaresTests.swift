import Foundation
import XCTest
import ImplicitSparse

/// The problem type behind `isparse hypergrad`: solves with certificates, hypergradients
/// against the finite-difference check and, for ridge, a dense closed form.
final class RegularizedLeastSquaresTests: XCTestCase {
    func data(seed: UInt64) throws -> (CSRMatrix, [Double], CSRMatrix, [Double]) {
        let d = try Datasets.textLike(rows: 300, columns: 80, nonzerosPerRow: 8, informative: 10, noise: 0.2, seed: seed)
        let split = try Datasets.split(rows: 300, validationFraction: 0.3, seed: seed)
        return (try d.features.selectingRows(split.train), split.train.map { d.targets[$0] },
                try d.features.selectingRows(split.validation), split.validation.map { d.targets[$0] })
    }

    func testRidgeHypergradientMatchesTheDenseClosedForm() throws {
        let (x, y, xv, yv) = try data(seed: 21)
        for fitIntercept in [false, true] {
            let lambda = 0.05
            let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: .ridge, lambda: lambda, fitIntercept: fitIntercept)
            let solution = try problem.solve(tolerance: 1e-12)
            XCTAssertLessThan(solution.certificate, 1e-10)
            let result = try problem.hypergradient(at: solution.weights, validation: xv, validationTargets: yv,
                                                   strategy: LinearSolveStrategy())
            // Dense oracle: K = X̃ᵀX̃ + nλI, w = K⁻¹X̃ᵀỹ, dL/d log λ = −nλ ∇Lᵀ K⁻¹ w.
            let n = x.rows, p = x.columns
            let dense = x.toDenseRowMajor()
            let means = fitIntercept ? (0..<p).map { j in (0..<n).reduce(0.0) { $0 + dense[$1 * p + j] } / Double(n) } : [Double](repeating: 0, count: p)
            var k = [Double](repeating: 0, count: p * p)
            for a in 0..<p { for b in 0..<p {
                var s = 0.0
                for i in 0..<n { s += (dense[i * p + a] - means[a]) * (dense[i * p + b] - means[b]) }
                k[a * p + b] = s + (a == b ? Double(n) * lambda : 0)
            } }
            let factor = try DenseFactorization(columnMajor: k, dimension: p, symmetricPositiveDefinite: true)
            func solve(_ b: [Double]) -> [Double] {
                var x = b, scratch = [Double](repeating: 0, count: p)
                x.withUnsafeMutableBufferPointer { xp in scratch.withUnsafeMutableBufferPointer { factor.solve(inPlace: xp.baseAddress!, scratch: $0.baseAddress!) } }
                return x
            }
            let ybar = fitIntercept ? y.reduce(0, +) / Double(n) : 0
            var rhs = [Double](repeating: 0, count: p)
            for i in 0..<n { for j in 0..<p { rhs[j] += (dense[i * p + j] - means[j]) * (y[i] - ybar) } }
            let w = solve(rhs)
            for j in 0..<p { XCTAssertEqual(solution.weights[j], w[j], accuracy: 1e-8 * max(abs(w[j]), 1)) }
            let (_, gradient) = try LassoAdjoint.validationLossAndGradient(problem: problem.centered, solution: w,
                                                                                validation: xv, validationTargets: yv)
            let closed = -Double(n) * lambda * Vector.dot(gradient, solve(w))
            XCTAssertEqual(result.gradient, closed, accuracy: 1e-7 * abs(closed), "intercept \(fitIntercept)")
            let check = try problem.finiteDifference(at: solution.weights, validation: xv, validationTargets: yv)
            XCTAssertEqual(check.derivative, closed, accuracy: 1e-5 * abs(closed))
        }
    }

    func testLassoAndElasticNetHypergradientsAgreeWithTheFiniteDifferenceCheck() throws {
        let (x, y, xv, yv) = try data(seed: 22)
        for penalty in [RegularizedLeastSquares.Penalty.lasso, .elasticNet(l1Ratio: 0.5)] {
            for solver in RegularizedLeastSquares.InnerSolver.allCases {
                let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: x, targets: y, penalty: penalty, fitIntercept: true)
                let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: penalty, lambda: lambdaMax / 15, fitIntercept: true)
                let solution = try problem.solve(tolerance: 1e-12, solver: solver)
                XCTAssertLessThanOrEqual(solution.certificate, 1e-12 * problem.centered.gapScale)
                let result = try problem.hypergradient(at: solution.weights, validation: xv, validationTargets: yv,
                                                       strategy: LinearSolveStrategy())
                let check = try problem.finiteDifference(at: solution.weights, validation: xv, validationTargets: yv, solver: solver)
                XCTAssertEqual(result.gradient, check.derivative, accuracy: 1e-5 * max(abs(check.derivative), 1e-8),
                               "\(penalty) \(solver)")
            }
        }
    }

    func testNonConvergenceIsATypedError() throws {
        let (x, y, _, _) = try data(seed: 23)
        let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: .lasso, lambda: 1e-4)
        XCTAssertThrowsError(try problem.solve(tolerance: 1e-300, solver: .fista, maxIterations: 50)) { error in
            guard case RegularizedLeastSquaresError.notConverged(let solver, _, _, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(solver, "FISTA")
        }
        XCTAssertThrowsError(try RegularizedLeastSquares(design: x, targets: y, penalty: .elasticNet(l1Ratio: 1.5), lambda: 1))
    }
}
