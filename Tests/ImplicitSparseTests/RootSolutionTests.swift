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
        symmetric = symmetric.declaringSymmetric()
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
        symmetric = symmetric.declaringSymmetric()
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
        XCTAssertEqual(result.report?.method, "minres")
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
        XCTAssertEqual(solution.strategy.lastReport?.method, "gmres")
    }
}
import Foundation

/// The lasso as a proximal-gradient fixed point: its implicit derivative in λ against the
/// closed form on the support, dw_S/dλ = −n (X_SᵀX_S)⁻¹ sign(w_S).
final class FixedPointTests: XCTestCase {
    func testLassoFixedPointDerivativeMatchesClosedForm() throws {
        let n = 60, p = 15
        let x = try CSRMatrix.randomPowerLaw(rows: n, columns: p, nonzerosPerRow: 6, seed: 21)
        var rng = SplitMix64(seed: 5)
        let truth = (0..<p).map { $0 % 4 == 0 ? rng.nextGaussian() * 2 : 0 }
        let y = DifferentiableVector(try x.multiply(truth).map { $0 + 0.05 * rng.nextGaussian() })
        // Step 1/L with L = ‖X‖₂²/n estimated by power iteration.
        var v = [Double](repeating: 1, count: p)
        for _ in 0..<200 {
            let w = try x.multiplyTransposed(try x.multiply(v))
            let norm = Vector.norm(w)
            v = w.map { $0 / norm }
        }
        let lipschitz = Vector.norm(try x.multiplyTransposed(try x.multiply(v))) / Double(n)
        let eta = 1 / lipschitz
        let ones = DifferentiableVector(repeating: 1, count: p)
        let map: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, theta in
            let gradient = scale(1 / Double(n), matvecTransposed(x, matvec(x, w) - y))
            return proxLasso(w - scale(eta, gradient), threshold: scale(eta * sum(theta), ones))
        }
        // Inner solver: the same fixed-point iteration (ISTA) run to convergence, outside AD.
        let solver: VectorRootSolution.Solver = { theta in
            var w = DifferentiableVector(repeating: 0, count: p)
            for _ in 0..<20_000 {
                let next = map(w, theta)
                if norm(next - w) < 1e-14 { return next }
                w = next
            }
            return w
        }
        let solution = RootSolution.fixedPoint(of: map, solver: solver)
        let lambda = 0.02
        let theta = DifferentiableVector([lambda])
        let w = try solver(theta)
        XCTAssertLessThan(norm(map(w, theta) - w), 1e-12, "the fixed-point residual certifies the solve")
        let support = (0..<p).filter { w[$0] != 0 }
        XCTAssertFalse(support.isEmpty)
        XCTAssertLessThan(support.count, p)
        // dL/dλ for L = Σ wⱼ·cⱼ, by implicit differentiation and by the closed form.
        let c = DifferentiableVector((0..<p).map { Double($0 + 1) / 10 })
        let g = gradient(at: theta) { theta in dot(solution(theta), c) }
        let xs = try x.selectingColumns(support).toCSC()
        let gram = try xs.gram()
        var symmetric = gram
        symmetric = symmetric.declaringSymmetric()
        let factor = try CholeskyFactorization(symmetric: symmetric)
        try factor.factorize()
        let dws = try factor.solve(support.map { w[$0] > 0 ? -Double(n) : Double(n) })
        let closed = zip(support, dws).map { c[$0.0] * $0.1 }.reduce(0, +)
        XCTAssertEqual(g[0], closed, accuracy: 1e-7 * max(1, abs(closed)))
    }
}

/// Forward mode against closed forms, with and without an exact θ-product.
final class SensitivityTests: XCTestCase {
    func testRidgeSensitivityAndJacobian() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 50, columns: 12, nonzerosPerRow: 4, seed: 31)
        let y = DifferentiableVector((0..<50).map { sin(Double($0) * 0.7) })
        func ridge(_ d: [Double]) throws -> [Double] {
            var gram = try x.toCSC().gram().adding(CSRMatrix.diagonal(d))
            gram = gram.declaringSymmetric()
            let factor = try CholeskyFactorization(symmetric: gram)
            try factor.factorize()
            return try factor.solve(try x.multiplyTransposed(y.scalars))
        }
        let solution = RootSolution(
            condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + hadamard(theta, w) },
            symmetricJacobian: true,
            solver: { theta in DifferentiableVector(try ridge(theta.scalars)) })
        let theta = DifferentiableVector((0..<12).map { 0.5 + Double($0) / 20 })
        let t = DifferentiableVector((0..<12).map { cos(Double($0)) })
        // Closed form: dw = −(XᵀX + diag θ)⁻¹ (t ⊙ w*).
        let w = try ridge(theta.scalars)
        var gram = try x.toCSC().gram().adding(CSRMatrix.diagonal(theta.scalars))
        gram = gram.declaringSymmetric()
        let factor = try CholeskyFactorization(symmetric: gram)
        try factor.factorize()
        let expected = try factor.solve((0..<12).map { -t[$0] * w[$0] })
        // Finite difference in θ for ∂F/∂θ·t, with its error estimate.
        let fd = try solution.sensitivity(at: theta, direction: t)
        XCTAssertTrue(fd.usedFiniteDifferenceInTheta)
        XCTAssertFalse(fd.usedFiniteDifferenceInX)
        XCTAssertLessThan(fd.finiteDifferenceErrorEstimate, 1e-6)
        for i in 0..<12 { XCTAssertEqual(fd.tangent[i], expected[i], accuracy: 1e-6) }
        // Exact θ-product: ∂F/∂θ·t = t ⊙ w.
        let exact = try solution.sensitivity(at: theta, direction: t) { w, _, t in (0..<12).map { t[$0] * w[$0] } }
        XCTAssertEqual(exact.finiteDifferenceErrorEstimate, 0)
        for i in 0..<12 { XCTAssertEqual(exact.tangent[i], expected[i], accuracy: 1e-9) }
        // Full Jacobian: column k against central differences of the closed-form solution.
        let jacobian = try solution.jacobian(at: theta) { w, _, t in (0..<12).map { t[$0] * w[$0] } }
        for k in [0, 5, 11] {
            var plus = theta.scalars, minus = theta.scalars
            plus[k] += 1e-6
            minus[k] -= 1e-6
            let (wp, wm) = (try ridge(plus), try ridge(minus))
            for i in 0..<12 { XCTAssertEqual(jacobian[k][i], (wp[i] - wm[i]) / 2e-6, accuracy: 1e-6) }
        }
    }

    func testUnsymmetricSensitivityUsesFiniteDifferencesInX() throws {
        var builder = try COOBuilder(rows: 15, columns: 15)
        for i in 0..<15 {
            try builder.append(row: i, column: i, value: 2.5)
            if i > 0 { try builder.append(row: i, column: i - 1, value: -1) }
            if i < 14 { try builder.append(row: i, column: i + 1, value: 0.3) }
        }
        let m = builder.makeCSR()
        let lu = try LUFactorization(m)
        try lu.factorize()
        let solution = RootSolution(condition: { x, theta in matvec(m, x) - theta },
                                    solver: { theta in DifferentiableVector(try lu.solve(theta.scalars)) })
        let t = (0..<15).map { Double($0 % 3) - 1 }
        let s = try solution.sensitivity(at: DifferentiableVector(repeating: 1, count: 15), direction: DifferentiableVector(t))
        XCTAssertTrue(s.usedFiniteDifferenceInX)
        let expected = try lu.solve(t)  // x* = M⁻¹θ: J·t = M⁻¹t
        for i in 0..<15 { XCTAssertEqual(s.tangent[i], expected[i], accuracy: 1e-6) }
        XCTAssertThrowsError(try solution.sensitivity(at: DifferentiableVector(repeating: 1, count: 15),
                                                      direction: DifferentiableVector([1])))
    }
}
