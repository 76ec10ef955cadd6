import _Differentiation
import XCTest
import ImplicitSparse

/// Implicit derivatives of a ridge solution against the closed form and central finite
/// differences; end to end through Swift's `gradient`.
final class RootSolutionTests: XCTestCase {
    let x = try! CSRMatrix.randomPowerLaw(rows: 80, columns: 30, nonzerosPerRow: 5, seed: 11)
    let xValidation = try! CSRMatrix.randomPowerLaw(rows: 40, columns: 30, nonzerosPerRow: 5, seed: 12)
    lazy var y = DifferentiableVector((0..<80).map { sin(Double($0)) })
    lazy var yValidation = DifferentiableVector((0..<40).map { cos(Double($0)) })

    /// (XᵀX + diag(d)) w = Xᵀy, by CHOLMOD (an oracle independent of the implicit layer).
    func ridge(_ d: [Double]) throws -> [Double] {
        let gram = try x.toCSC().gram().adding(CSRMatrix.diagonal(d))
        var symmetric = gram
        symmetric.isKnownSymmetric = true
        let factor = try CholeskyFactorization(symmetric: symmetric)
        try factor.factorize()
        return try factor.solve(try x.multiplyTransposed(y.scalars))
    }

    func validationLoss(_ w: [Double]) throws -> Double {
        let r = try xValidation.multiply(w)
        return 0.5 * zip(r, yValidation.scalars).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
    }

    func testScalarRidgeHypergradientMatchesClosedFormAndFiniteDifference() throws {
        let (x, y, xv, yv) = (self.x, self.y, self.xValidation, self.yValidation)
        let solution = RootSolution(
            condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + scale(sum(theta), w) },
            symmetricJacobian: true,
            solver: { theta in DifferentiableVector(try self.ridge([Double](repeating: theta[0], count: 30))) })
        let lambda = 0.7
        let theta = DifferentiableVector([lambda])
        // End to end through Swift AD.
        let g = gradient(at: theta) { theta in 0.5 * squaredNorm(matvec(xv, solution(theta)) - yv) }
        // Closed form: dw/dλ = −(XᵀX + λI)⁻¹ w*, dL/dλ = ∇L(w*)ᵀ dw/dλ.
        let w = try ridge([Double](repeating: lambda, count: 30))
        let gram = try x.toCSC().gram(shift: lambda)
        var symmetric = gram
        symmetric.isKnownSymmetric = true
        let factor = try CholeskyFactorization(symmetric: symmetric)
        try factor.factorize()
        let dw = try factor.solve(w).map { -$0 }
        let residual = zip(try xv.multiply(w), yv.scalars).map { $0 - $1 }
        let closed = Vector.dot(try xv.multiplyTransposed(residual), dw)
        XCTAssertEqual(g[0], closed, accuracy: 1e-8 * max(1, abs(closed)))
        // Central finite difference of the whole pipeline in λ.
        let h = 1e-5
        let fd = (try validationLoss(try ridge([Double](repeating: lambda + h, count: 30)))
                  - validationLoss(try ridge([Double](repeating: lambda - h, count: 30)))) / (2 * h)
        XCTAssertEqual(g[0], fd, accuracy: 1e-6 * max(1, abs(fd)))
        // The explicit API reports the adjoint solve.
        let result = try solution.hypergradient(at: theta) { w in 0.5 * squaredNorm(matvec(xv, w) - yv) }
        XCTAssertEqual(result.gradient[0], closed, accuracy: 1e-8 * max(1, abs(closed)))
        XCTAssertLessThan(result.report!.relativeResidual, 1e-8)
        XCTAssertEqual(result.report?.method, .minres)
    }

    func testVectorThetaWeightedRidgeAgainstFiniteDifferences() throws {
        let (x, y, xv, yv) = (self.x, self.y, self.xValidation, self.yValidation)
        let solution = RootSolution(
            condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + hadamard(theta, w) },
            symmetricJacobian: true,
            solver: { theta in DifferentiableVector(try self.ridge(theta.scalars)) })
        var rng = SplitMix64(seed: 3)
        let theta = DifferentiableVector((0..<30).map { _ in 0.3 + rng.nextUniform() })
        let g = gradient(at: theta) { theta in 0.5 * squaredNorm(matvec(xv, solution(theta)) - yv) }
        for j in [0, 7, 19, 29] {
            var plus = theta.scalars, minus = theta.scalars
            let h = 1e-5
            plus[j] += h
            minus[j] -= h
            let fd = (try validationLoss(try ridge(plus)) - validationLoss(try ridge(minus))) / (2 * h)
            XCTAssertEqual(g[j], fd, accuracy: 1e-6 * max(1, abs(fd)), "θ[\(j)]")
        }
    }

    func testUnsymmetricConditionUsesGMRES() throws {
        // F(x, θ) = Mx − θ with an unsymmetric M: x* = M⁻¹θ, Jᵀg = M⁻ᵀg.
        var builder = try COOBuilder(rows: 20, columns: 20)
        for i in 0..<20 {
            try builder.append(row: i, column: i, value: 3)
            if i > 0 { try builder.append(row: i, column: i - 1, value: -1.2) }
            if i < 19 { try builder.append(row: i, column: i + 1, value: 0.4) }
        }
        let m = builder.makeCSR()
        let lu = try LUFactorization(m)
        try lu.factorize()
        let solution = RootSolution(condition: { x, theta in matvec(m, x) - theta },
                                    solver: { theta in DifferentiableVector(try lu.solve(theta.scalars)) })
        let theta = DifferentiableVector((0..<20).map { Double($0) / 10 })
        let weights = DifferentiableVector((0..<20).map { cos(Double($0)) })
        let g = gradient(at: theta) { theta in dot(solution(theta), weights) }
        let expected = try lu.solve(weights.scalars, transposed: true)
        for i in 0..<20 { XCTAssertEqual(g[i], expected[i], accuracy: 1e-8) }
        XCTAssertEqual(solution.strategy.lastReport?.method, .gmres)
    }
}
import Foundation
