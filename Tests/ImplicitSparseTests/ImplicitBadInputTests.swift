import _Differentiation
import XCTest
import ImplicitSparse

/// The implicit layer's entries of the bad-input catalogue (docs/RELIABILITY.md): NaN/Inf in θ, a
/// failing or misbehaving solver, shape mismatches, a singular ∂F/∂x. Each gives a typed
/// error from the throwing entry points and NaN plus a recorded error (never a crash, never a
/// plausible-looking number) inside Swift AD.
final class ImplicitBadInputTests: XCTestCase {
    /// F(w, θ) = (A + θ₀I) w − b: a ridge-like linear condition.
    let a = try! CSRMatrix.gridLaplacian2D(4)
    lazy var b = DifferentiableVector((0..<16).map { Double($0 % 3) - 1 })

    func solution(solver: @escaping VectorRootSolution.Solver) -> VectorRootSolution {
        let (a, b) = (self.a, self.b)
        return RootSolution(condition: { w, theta in matvec(a, w) + scale(sum(theta), w) - b },
                            symmetricJacobian: true, dimension: 16, solver: solver)
    }

    func ridgeSolver(_ theta: DifferentiableVector) throws -> DifferentiableVector {
        let shifted = try a.adding(CSRMatrix.diagonal([Double](repeating: theta[0], count: 16)))
        var symmetric = shifted
        symmetric = symmetric.declaringSymmetric()
        let factor = try CholeskyFactorization(symmetric: symmetric)
        try factor.factorize()
        return DifferentiableVector(try factor.solve(b.scalars))
    }

    func testNonFiniteThetaIsATypedErrorAndNaNInsideAD() throws {
        let s = solution(solver: ridgeSolver)
        for bad in [Double.nan, .infinity, -.infinity] {
            XCTAssertThrowsError(try s.hypergradient(at: DifferentiableVector([bad])) { squaredNorm($0) }) { error in
                guard case ImplicitError.invalidTheta(SparseError.nonFinite(let what, let index)) = error else {
                    return XCTFail("unexpected \(error)")
                }
                XCTAssertEqual(what, "θ")
                XCTAssertEqual(index, 0)
            }
            // Inside AD: NaN, never a crash; `checked` turns it into the typed error.
            let g = gradient(at: DifferentiableVector([bad])) { theta in squaredNorm(s(theta)) }
            XCTAssertTrue(g.scalars.allSatisfy(\.isNaN))
            XCTAssertThrowsError(try s.checked { gradient(at: DifferentiableVector([bad])) { theta in squaredNorm(s(theta)) } })
            XCTAssertThrowsError(try s.sensitivity(at: DifferentiableVector([bad]), direction: DifferentiableVector([1])))
        }
        // And a good θ after a bad one works (nothing kept from the failure).
        let good = try s.checked { gradient(at: DifferentiableVector([0.5])) { theta in squaredNorm(s(theta)) } }
        XCTAssertTrue(good[0].isFinite)
    }

    func testSolverFailuresAreTyped() {
        struct Boom: Error {}
        let throwing = solution(solver: { _ in throw Boom() })
        XCTAssertThrowsError(try throwing.solve(DifferentiableVector([1]))) { error in
            guard case ImplicitError.solverFailed(let inner) = error, inner is Boom else { return XCTFail("unexpected \(error)") }
        }
        let nonFinite = solution(solver: { _ in DifferentiableVector([Double](repeating: .nan, count: 16)) })
        XCTAssertThrowsError(try nonFinite.solve(DifferentiableVector([1]))) { error in
            guard case ImplicitError.solverFailed(SparseError.nonFinite(_, 0)) = error else { return XCTFail("unexpected \(error)") }
        }
        let wrongLength = solution(solver: { _ in DifferentiableVector([Double](repeating: 0, count: 15)) })
        XCTAssertThrowsError(try wrongLength.hypergradient(at: DifferentiableVector([1])) { squaredNorm($0) }) { error in
            guard case ImplicitError.solverFailed(SparseError.dimensionMismatch) = error else { return XCTFail("unexpected \(error)") }
        }
        XCTAssertThrowsError(try throwing.checked { gradient(at: DifferentiableVector([1])) { theta in sum(throwing(theta)) } })
    }

    func testConditionOfTheWrongLengthAndWrongDirection() throws {
        let (a, b) = (self.a, self.b)
        // F drops the last entry: its output is shorter than x.
        let short = RootSolution(condition: { w, theta in gather(matvec(a, w) + scale(sum(theta), w) - b, Array(0..<15)) },
                                 solver: ridgeSolver)
        XCTAssertThrowsError(try short.solve(DifferentiableVector([1]))) { error in
            guard case ImplicitError.invalidCondition(SparseError.dimensionMismatch) = error else { return XCTFail("unexpected \(error)") }
        }
        let s = solution(solver: ridgeSolver)
        XCTAssertThrowsError(try s.sensitivity(at: DifferentiableVector([1]), direction: DifferentiableVector([1, 2])))
        let x = try s.solve(DifferentiableVector([1]))
        XCTAssertThrowsError(try s.adjoint(x: x, theta: DifferentiableVector([1]), cotangent: DifferentiableVector([1, 2, 3])))
        XCTAssertThrowsError(try s.adjoint(x: x, theta: DifferentiableVector([1]),
                                           cotangent: DifferentiableVector([Double](repeating: .infinity, count: 16))))
    }

    /// ∂F/∂x singular: F(x, θ) = x∘x − θ at θ = 0 has the root x = 0 and ∂F/∂x = 2 diag(x) = 0.
    /// Every linear-solve choice reports a typed failure; none returns a number.
    func testSingularJacobianIsATypedErrorNotNaNOrExplodedNumber() throws {
        for method in [LinearSolveMethod.automatic, .gmres, .cg, .minres, .bicgstab, .normalCG] {
            let s = RootSolution(condition: { x, theta in x .* x - theta },
                                 strategy: LinearSolveStrategy(method), dimension: 3,
                                 solver: { theta in DifferentiableVector(theta.scalars.map { $0.squareRoot() }) })
            let theta = DifferentiableVector([0, 0, 0])
            XCTAssertThrowsError(try s.hypergradient(at: theta) { x in sum(x) }, "\(method)") { error in
                guard case ImplicitError.singularJacobian = error else { return XCTFail("\(method): unexpected \(error)") }
            }
            XCTAssertThrowsError(try s.checked { gradient(at: theta) { theta in sum(s(theta)) } }, "\(method)")
        }
    }
}

/// The Swift AD pitfall the toolkit works around (README, RootSolution.adjoint): pulling back a
/// differentiable closure value with respect to both arguments gives the right cotangents, which
/// is what the implicit layer uses. The test prints what the θ-only pullback through a capturing
/// closure returns with the current toolchain (Swift 6.3.1 returned the x cotangent), so the
/// workaround can be dropped once it is right.
final class ClosurePullbackTests: XCTestCase {
    func testPullbackWithRespectToBothArgumentsIsRight() {
        let condition: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, theta in
            scale(sum(theta), w) + w
        }
        let x = DifferentiableVector([1, 2, 3]), theta = DifferentiableVector([0.5]), u = DifferentiableVector([1, 1, 1])
        let both = valueWithPullback(at: x, theta, of: condition).pullback(u)
        XCTAssertEqual(both.0.scalars, [1.5, 1.5, 1.5])  // (θ + 1)·u
        XCTAssertEqual(both.1.scalars, [6])              // ⟨w, u⟩
        let thetaOnly = valueWithPullback(at: theta) { theta in condition(x, theta) }.pullback(u)
        print("θ-only pullback through a capturing closure: \(thetaOnly.scalars) (right answer: [6.0])")
    }
}
