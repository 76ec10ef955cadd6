import _Differentiation
import XCTest
import ImplicitSparse

/// The support-reduced lasso hypergradient against two independent oracles: central finite
/// differences of the whole pipeline, and the full-size implicit derivative of the
/// proximal-gradient fixed point through `RootSolution` (no support reduction).
final class LassoHypergradientTests: XCTestCase {
    func testAgainstFiniteDifferencesAndFullFixedPoint() throws {
        let data = try Datasets.textLike(rows: 300, columns: 80, nonzerosPerRow: 8, informative: 10, noise: 0.3, seed: 9)
        let split = try Datasets.split(rows: 300, validationFraction: 0.3, seed: 1)
        let x = try data.features.selectingRows(split.train), xv = try data.features.selectingRows(split.validation)
        let y = split.train.map { data.targets[$0] }, yv = split.validation.map { data.targets[$0] }
        for alpha in [1.0, 0.6] {
            let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y, l1Ratio: alpha)
            let lambda = lambdaMax / 8
            func solve(_ lambda: Double) throws -> [Double] {
                let result = try LassoProblem(design: x, targets: y, lambda: lambda, l1Ratio: alpha).solve(tolerance: 1e-14)
                XCTAssertTrue(result.converged)
                return result.solution
            }
            func loss(_ w: [Double]) throws -> Double {
                zip(yv, try xv.multiply(w)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(xv.rows)
            }
            let w = try solve(lambda)
            let problem = try LassoProblem(design: x, targets: y, lambda: lambda, l1Ratio: alpha)
            let result = try LassoHypergradient.compute(problem: problem, solution: w, validation: xv,
                                                       validationTargets: yv, strategy: LinearSolveStrategy())
            XCTAssertGreaterThan(result.supportSize, 0)
            XCTAssertNil(result.nonUniqueness)
            // Oracle 1: central difference in log λ.
            let h = 1e-4
            let fd = (try loss(try solve(lambda * Foundation.exp(h))) - loss(try solve(lambda * Foundation.exp(-h)))) / (2 * h)
            XCTAssertEqual(result.hypergradient, fd, accuracy: 1e-5 * max(abs(fd), 1e-3), "α = \(alpha)")
            // Oracle 2: the full fixed point T(w, θ) = prox(w − η∇f(w)), θ = log λ, by RootSolution.
            let eta = 0.5 / (try x.multiplyTransposed(try x.multiply([Double](repeating: 1, count: 80))).map(abs).max()! / Double(x.rows))
            let n = Double(x.rows)
            let yd = DifferentiableVector(y), xvd = xv, yvd = DifferentiableVector(yv), ones = DifferentiableVector(repeating: 1, count: 80)
            let map: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, theta in
                let lam = exp(theta)  // θ = log λ as a 1-vector
                let l = sum(lam)
                let gradient = scale(1 / n, matvecTransposed(x, matvec(x, w) - yd)) + scale(l * (1 - alpha), w)
                return proxLasso(w - scale(eta, gradient), threshold: scale(eta * alpha * l, ones))
            }
            let solution = RootSolution.fixedPoint(of: map, solver: { theta in DifferentiableVector(try solve(Foundation.exp(theta[0]))) })
            let g = gradient(at: DifferentiableVector([Foundation.log(lambda)])) { theta in
                let r = yvd - matvec(xvd, solution(theta))
                return squaredNorm(r) / Double(xv.rows)
            }
            XCTAssertEqual(result.hypergradient, g[0], accuracy: 1e-7 * max(abs(g[0]), 1e-3), "α = \(alpha)")
        }
    }

    func testDuplicatedColumnsAreReportedNotExploded() throws {
        // Two identical columns in the support: X_SᵀX_S is singular.
        let base = try CSRMatrix.randomPowerLaw(rows: 100, columns: 6, nonzerosPerRow: 4, seed: 3)
        let dense = base.toDenseRowMajor()
        var builder = try COOBuilder(rows: 100, columns: 7)
        for i in 0..<100 {
            for j in 0..<6 where dense[i * 6 + j] != 0 { try builder.append(row: i, column: j, value: dense[i * 6 + j]) }
            if dense[i * 6] != 0 { try builder.append(row: i, column: 6, value: dense[i * 6]) }
        }
        let x = builder.makeCSR()
        let y = try x.multiply([2, 0, -1, 0, 0.5, 0, 2]).enumerated().map { $0.element + 0.01 * sin(Double($0.offset)) }
        let problem = try LassoProblem(design: x, targets: y, lambda: try LassoProblem.lambdaMax(design: x, targets: y) / 50)
        let w = problem.solve(tolerance: 1e-13).solution
        let result = try LassoHypergradient.compute(problem: problem, solution: w, validation: x, validationTargets: y,
                                                   strategy: LinearSolveStrategy())
        XCTAssertTrue(result.hypergradient.isFinite)
        XCTAssertTrue(w[0] != 0 && w[6] != 0, "both copies of the duplicated feature are in the support")
        XCTAssertTrue(result.nonUniqueness?.contains("1 duplicated column") == true, "\(String(describing: result.nonUniqueness))")
        XCTAssertEqual(result.report?.method, .minres)
        // The validation loss as a function of λ is that of the problem without the copy (w₀ + w₆
        // acts as one coefficient under the same ℓ₁ penalty): central differences of that one.
        let xm = base
        func loss(_ lambda: Double) throws -> Double {
            let wm = try LassoProblem(design: xm, targets: y, lambda: lambda).solve(tolerance: 1e-14).solution
            return zip(y, try xm.multiply(wm)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 100
        }
        let h = 1e-4
        let fd = (try loss(problem.lambda * Foundation.exp(h)) - loss(problem.lambda * Foundation.exp(-h))) / (2 * h)
        XCTAssertEqual(result.hypergradient, fd, accuracy: 1e-5 * max(abs(fd), 1e-3))
    }
}
import Foundation
