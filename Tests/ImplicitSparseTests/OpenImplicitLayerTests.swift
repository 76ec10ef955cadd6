import _Differentiation
import Foundation
import XCTest
import ImplicitSparse

/// A user-written linear solver: dense Gaussian elimination with partial pivoting, written
/// here and not in the library, with transposed solves. It plugs into `RootSolution` through
/// `LinearSolveStrategy(solver:)` like a built-in one.
struct GaussianElimination: LinearSolver {
    var name: String { "user-gauss" }
    func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix(name) }
        return GaussianEliminationState(dense: m.toDenseRowMajor(), n: m.rows)
    }
}

final class GaussianEliminationState: LinearSolverState {
    let a: [Double]
    let n: Int
    var solves = 0
    init(dense: [Double], n: Int) { a = dense; self.n = n }
    var method: String { "user-gauss" }
    var memoryBytes: Int { 8 * a.count }
    var timings: LinearSolverTimings { LinearSolverTimings() }
    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        solves += 1
        var m = a, x = b
        if transposed { for i in 0..<n { for j in 0..<n { m[i * n + j] = a[j * n + i] } } }
        for k in 0..<n {
            let p = (k..<n).max { abs(m[$0 * n + k]) < abs(m[$1 * n + k]) }!
            guard m[p * n + k] != 0 else { throw SparseError.singularMatrix(reciprocalCondition: 0) }
            if p != k { for j in 0..<n { m.swapAt(p * n + j, k * n + j) }; x.swapAt(p, k) }
            for i in (k + 1)..<n {
                let f = m[i * n + k] / m[k * n + k]
                for j in k..<n { m[i * n + j] -= f * m[k * n + j] }
                x[i] -= f * x[k]
            }
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = x[i]
            for j in (i + 1)..<n { s -= m[i * n + j] * x[j] }
            x[i] = s / m[i * n + i]
        }
        return LinearSolveOutcome(solution: x)
    }
    func update(_ a: any LinearOperator) throws { throw SparseError.patternMismatch("rebuild instead") }
}

/// Two named hyperparameters of one condition.
struct Hyper: Differentiable {
    var logLambda: Double
    var logSmoothing: Double
}

final class OpenImplicitLayerTests: XCTestCase {
    /// A small ridge-like design.
    func design(rows: Int = 30, columns: Int = 12, seed: UInt64 = 3) throws -> (CSRMatrix, DifferentiableVector) {
        var random = SplitMix64(seed: seed)
        var builder = try COOBuilder(rows: rows, columns: columns)
        for i in 0..<rows {
            for j in 0..<columns where random.nextUniform() < 0.4 { try builder.append(row: i, column: j, value: random.nextUniform() - 0.3) }
        }
        let y = DifferentiableVector((0..<rows).map { _ in random.nextUniform() - 0.5 })
        return (builder.makeCSR(), y)
    }

    /// Dense solve of (XᵀX + λI) x = b: the oracle.
    func denseSolve(_ x: CSRMatrix, lambda: Double, _ b: [Double]) throws -> [Double] {
        let g = try x.toCSC().gram(shift: lambda)
        let lu = try LUFactorization(g)
        try lu.factorize()
        return try lu.solve(b)
    }

    func testUserWrittenLinearSolverPlugsIntoRootSolution() throws {
        let (x, y) = try design()
        let p = x.columns
        let gram = try x.toCSC().gram()
        let strategy = LinearSolveStrategy(solver: GaussianElimination(), name: "ridge adjoint")
        // Ridge: F = Xᵀ(Xw − y) + λw, θ = [λ], explicit ∂F/∂x = XᵀX + λI.
        let ridge = RootSolution<DifferentiableVector>(
            condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + scale(theta[0], w) },
            symmetricJacobian: true, strategy: strategy, dimension: p,
            explicitJacobian: { _, theta in try gram.addingIdentity(scaledBy: theta[0]) },
            solver: { theta in DifferentiableVector(try self.denseSolve(x, lambda: theta[0], try x.multiplyTransposed(y.scalars))) })
        let lambda = 0.7
        let result = try ridge.hypergradient(at: DifferentiableVector([lambda])) { w in 0.5 * squaredNorm(w) }
        XCTAssertEqual(result.report?.method, "user-gauss")
        XCTAssertLessThan(result.conditionResidual, 1e-10)
        // Closed form: dL/dλ = −wᵀ(XᵀX + λI)⁻¹w.
        let w = try ridge.solve(DifferentiableVector([lambda])).scalars
        let closed = -Vector.dot(w, try denseSolve(x, lambda: lambda, w))
        XCTAssertEqual(result.gradient[0], closed, accuracy: 1e-12 * max(abs(closed), 1))
        // And inside Swift AD.
        let g = try ridge.checked { gradient(at: DifferentiableVector([lambda])) { t in 0.5 * squaredNorm(ridge(t)) } }
        XCTAssertEqual(g[0], closed, accuracy: 1e-12 * max(abs(closed), 1))
    }

    func testTwoHyperparameterStructMatchesFiniteDifferences() throws {
        let (x, y) = try design(rows: 40, columns: 15, seed: 9)
        let p = x.columns
        let laplacian = try CSRMatrix.gridGraphLaplacian2D(rows: 3, columns: 5)
        // F(w, θ) = Xᵀ(Xw − y) + e^{logλ} w + e^{logσ} L w: ridge plus graph smoothing; SPD.
        let solution = OptimalityConditions.stationary(
            gradient: { (w: DifferentiableVector, h: Hyper) -> DifferentiableVector in
                matvecTransposed(x, matvec(x, w) - y) + scale(Foundation.exp(h.logLambda), w)
                    + scale(Foundation.exp(h.logSmoothing), matvec(laplacian, w))
            },
            stronglyConvex: true, dimension: p,
            solver: { h in
                let m = try x.toCSC().gram(shift: Foundation.exp(h.logLambda)).adding(laplacian, beta: Foundation.exp(h.logSmoothing))
                let lu = try LUFactorization(m)
                try lu.factorize()
                return DifferentiableVector(try lu.solve(try x.multiplyTransposed(y.scalars)))
            })
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in 0.5 * squaredNorm(w - y.prefixVector(p)) }
        let theta = Hyper(logLambda: log(0.3), logSmoothing: log(1.5))
        let g = try solution.checked { gradient(at: theta) { h in loss(solution(h)) } }
        let h = 1e-5
        func value(_ t: Hyper) throws -> Double { loss(try solution.solve(t)) }
        let fdLambda = (try value(Hyper(logLambda: theta.logLambda + h, logSmoothing: theta.logSmoothing))
                        - value(Hyper(logLambda: theta.logLambda - h, logSmoothing: theta.logSmoothing))) / (2 * h)
        let fdSmoothing = (try value(Hyper(logLambda: theta.logLambda, logSmoothing: theta.logSmoothing + h))
                           - value(Hyper(logLambda: theta.logLambda, logSmoothing: theta.logSmoothing - h))) / (2 * h)
        XCTAssertEqual(g.logLambda, fdLambda, accuracy: 1e-7 * max(abs(fdLambda), 1e-3))
        XCTAssertEqual(g.logSmoothing, fdSmoothing, accuracy: 1e-7 * max(abs(fdSmoothing), 1e-3))
        XCTAssertNotEqual(g.logLambda, 0)
        XCTAssertNotEqual(g.logSmoothing, 0)
        // The throwing entry point gives the same, with the condition's residual.
        let result = try solution.hypergradient(at: theta, loss: loss)
        XCTAssertEqual(result.gradient.logLambda, g.logLambda, accuracy: 1e-10 * max(abs(g.logLambda), 1))
        XCTAssertLessThan(result.conditionResidual, 1e-9)
        // A NaN component is named.
        XCTAssertThrowsError(try solution.solve(Hyper(logLambda: .nan, logSmoothing: 0))) { error in
            XCTAssertTrue("\(error)".contains("θ.logLambda"), "\(error)")
        }
    }

    func testProximalFixedPointInsideGradientAt() throws {
        let data = try Datasets.textLike(rows: 200, columns: 50, nonzerosPerRow: 6, informative: 6, noise: 0.1, seed: 5)
        let split = try Datasets.split(rows: 200, validationFraction: 0.3, seed: 1)
        let xt = try data.features.selectingRows(split.train), xv = try data.features.selectingRows(split.validation)
        let yt = split.train.map { data.targets[$0] }, yv = DifferentiableVector(split.validation.map { data.targets[$0] })
        let n = Double(xt.rows)
        let lambdaMax = try LassoProblem.lambdaMax(design: xt, targets: yt)
        func solve(_ lambda: Double) throws -> DifferentiableVector {
            let problem = try LassoProblem(design: xt, targets: yt, lambda: lambda)
            let r = try CoordinateDescent().solve(problem, tolerance: 1e-14)
            return DifferentiableVector(r.solution)
        }
        let target = DifferentiableVector(yt)
        let fixedPoint = try VectorProximalFixedPoint(
            gradient: { w, _ in scale(1 / n, matvecTransposed(xt, matvec(xt, w) - target)) },
            prox: { v, theta in proxLasso(v, threshold: Foundation.exp(theta[0])) },
            step: 1)
        let solution = fixedPoint.solution { theta in try solve(Foundation.exp(theta[0])) }
        let logLambda = log(lambdaMax / 8)
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in squaredNorm(matvec(xv, w) - yv) }
        let g = try solution.checked { gradient(at: DifferentiableVector([logLambda])) { t in loss(solution(t)) } }
        XCTAssertGreaterThan(solution.lastReduction.reduction?.support.count ?? 0, 0)
        // Oracle: a central difference in log λ (the support does not change within ±h here).
        let h = 1e-6
        let fd = (loss(try solve(Foundation.exp(logLambda + h))) - loss(try solve(Foundation.exp(logLambda - h)))) / (2 * h)
        XCTAssertEqual(g[0], fd, accuracy: 1e-5 * max(abs(fd), 1e-6))
    }

    /// One named system serves the inner solve and the adjoint: the factor of the Hessian
    /// the inner solve made is reused by the adjoint (no second CHOLMOD factor), and released
    /// on request.
    func testInnerSolveAndAdjointShareOneFactorization() throws {
        let (x, y) = try design(rows: 400, columns: 120, seed: 17)
        let gram = try x.toCSC().gram()
        let shared = LinearSolveStrategy(.cholesky, name: "ridge Hessian")
        // The Hessian at θ, made once per θ and kept: the solver and the condition's explicit
        // Jacobian hand the strategy the very same matrix (same pattern and values identity).
        var cache: (lambda: Double, hessian: CSRMatrix)?
        func hessian(_ lambda: Double) throws -> CSRMatrix {
            if let cache, cache.lambda == lambda { return cache.hessian }
            let h = try gram.addingIdentity(scaledBy: lambda).declaringSymmetric()
            cache = (lambda, h)
            return h
        }
        let rhs = try x.multiplyTransposed(y.scalars)
        let ridge = RootSolution<DifferentiableVector>(
            condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + scale(theta[0], w) },
            symmetricJacobian: true, strategy: shared, dimension: x.columns,
            explicitJacobian: { _, theta in try hessian(theta[0]) },
            solver: { theta in DifferentiableVector(try shared.solve(try hessian(theta[0]), rhs)) })
        let lambda = 0.3
        let result = try ridge.hypergradient(at: DifferentiableVector([lambda])) { w in 0.5 * squaredNorm(w) }
        let report = try XCTUnwrap(result.report)
        XCTAssertEqual(report.method, "cholesky")
        XCTAssertTrue(report.reused, report.reason)
        XCTAssertTrue(report.reason.contains("reused"), report.reason)
        let w = try ridge.solve(DifferentiableVector([lambda])).scalars
        let closed = -Vector.dot(w, try denseSolve(x, lambda: lambda, w))
        XCTAssertEqual(result.gradient[0], closed, accuracy: 1e-10 * abs(closed))
        XCTAssertNotNil(shared.preparedState)
        shared.release()
        XCTAssertNil(shared.preparedState)
    }

    /// Column scaling keeps the pattern identity: a factor analyzed for X's Gram matrix is
    /// refactorized, not analyzed again, for the scaled X.
    func testColumnScalingKeepsThePatternIdentity() throws {
        let (x, _) = try design(rows: 200, columns: 1500, seed: 19)
        let scaled = try x.scalingColumns(by: (0..<x.columns).map { 1 + Double($0 % 3) })
        XCTAssertEqual(scaled.patternIdentity, x.patternIdentity)
        XCTAssertNotEqual(scaled.valuesIdentity, x.valuesIdentity)
        XCTAssertEqual(scaled[3, 7], x[3, 7] * (1 + Double(7 % 3)))
        XCTAssertThrowsError(try x.scalingColumns(by: [1]))
        let strategy = LinearSolveStrategy(.cholesky)
        let b = (0..<x.columns).map { sin(Double($0)) }
        _ = try strategy.solve(try GramOperator(x.toCSC(), shift: 0.5), b)
        let u = try strategy.solve(try GramOperator(scaled.toCSC(), shift: 0.5), b)
        XCTAssertTrue(strategy.lastReport!.reason.contains("reused"), strategy.lastReport!.reason)
        let reference = try denseSolve(scaled, lambda: 0.5, b)
        XCTAssertLessThan(Vector.norm(zip(u, reference).map { $0 - $1 }) / Vector.norm(reference), 1e-10)
    }

    /// `isparse linsolve --method auto` and the implicit layer run the same policy: the same
    /// operator gets the same choice and reason (checked here through the library; the CLI
    /// test checks the command's reason against this same call).
    func testPolicyChoiceIsDeterministicAndStatesItsReason() throws {
        let a = try CSRMatrix.gridGraphLaplacian2D(rows: 300, columns: 300, shift: 0).scaled(by: 50).addingIdentity(scaledBy: 1)
            .declaringSymmetric()
        let policy = AutomaticLinearSolver(options: KrylovOptions(relativeTolerance: 1e-8))
        let first = try policy.choice(for: a), second = try policy.choice(for: a)
        XCTAssertEqual(first.reason, second.reason)
        XCTAssertTrue(first.reason.contains("Laplacian-like"), first.reason)
        let strategy = LinearSolveStrategy(solver: policy)
        let b = (0..<a.rows).map { sin(Double($0)) }
        let u = try strategy.solve(a, b)
        XCTAssertLessThan(a.relativeResidual(u, b), 1e-6)
        // The prepared state probes on the first solve's own right-hand side: the same method,
        // and a reason that says where the probe ran.
        XCTAssertTrue(strategy.lastReport!.reason.contains("on the first solve's right-hand side"), strategy.lastReport!.reason)
        XCTAssertEqual(strategy.lastReport?.method, first.method)
        // Probing before the solve, the state's reason is the stated choice's.
        var eager = policy
        eager.probeOnFirstSolve = false
        let eagerStrategy = LinearSolveStrategy(solver: eager)
        _ = try eagerStrategy.solve(a, b)
        XCTAssertTrue(eagerStrategy.lastReport!.reason.hasPrefix(first.reason), eagerStrategy.lastReport!.reason)
    }

    /// Laplacian-regularized least squares on a 10⁶-node grid: F(x, θ) = x − y + e^θ L x, the
    /// adjoint matrix-free with I + e^θ L declared for preconditioning only. The policy's probe
    /// sees a Laplacian-like matrix needing hundreds of Jacobi-CG iterations and picks CG + AMG.
    /// Release builds only (about 10 s); the debug pass runs it on a 200 × 200 grid.
    func testGridLaplacianLeastSquaresAdjointByCGWithAMG() throws {
        #if DEBUG
        let side = 200
        #else
        let side = 1000
        #endif
        let laplacian = try CSRMatrix.gridGraphLaplacian2D(rows: side, columns: side)
        let n = laplacian.rows
        var random = SplitMix64(seed: 11)
        let y = DifferentiableVector((0..<n).map { i in Double((i % side) / (side / 4) % 2) + 0.3 * (random.nextUniform() - 0.5) })
        let weights = DifferentiableVector((0..<n).map { i in Double(i % 7) / 7 })
        let inner = LinearSolveStrategy(name: "inner solve")
        func system(_ logLambda: Double) throws -> CSRMatrix {
            try laplacian.scaled(by: Foundation.exp(logLambda)).addingIdentity(scaledBy: 1).declaringSymmetric()
        }
        let adjoint = LinearSolveStrategy(name: "adjoint")
        let solution = OptimalityConditions.stationary(
            gradient: { (x: DifferentiableVector, theta: DifferentiableVector) in
                x - y + scale(Foundation.exp(theta[0]), matvec(laplacian, x))
            },
            stronglyConvex: true, strategy: adjoint, dimension: n,
            preconditioningHessian: { _, theta in try system(theta[0]) },
            solver: { theta in DifferentiableVector(try inner.solve(try system(theta[0]), y.scalars)) })
        let logLambda = Foundation.log(100.0)
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { x in dot(weights, x .* x) }
        let start = Date()
        let result = try solution.hypergradient(at: DifferentiableVector([logLambda]), loss: loss)
        let seconds = Date().timeIntervalSince(start)
        let report = try XCTUnwrap(result.report)
        print("grid \(side)×\(side) (n = \(n)): adjoint \(report.method)+\(report.preconditioner), \(report.iterations) iterations, "
              + String(format: "residual %.2e, %.2f s with the inner solve; reason: %@", report.relativeResidual, seconds, report.reason))
        XCTAssertEqual(report.method, "cg")
        XCTAssertEqual(report.preconditioner, "amg", report.reason)
        XCTAssertLessThan(result.conditionResidual, 1e-6 * norm(y))
        // Oracle: central difference in log λ with tight inner solves.
        let h = 1e-4
        func value(_ t: Double) throws -> Double { loss(try solution.solve(DifferentiableVector([t]))) }
        let fd = (try value(logLambda + h) - value(logLambda - h)) / (2 * h)
        XCTAssertEqual(result.gradient[0], fd, accuracy: 1e-5 * abs(fd))

        // The same condition with ∂F/∂x assembled automatically from the declared pattern (L's,
        // diagonal included): colored VJPs of F, an explicit matrix handed to the policy.
        let automatic = RootSolution<DifferentiableVector>(
            condition: { x, theta in x - y + scale(Foundation.exp(theta[0]), matvec(laplacian, x)) },
            positiveDefiniteJacobian: true, strategy: LinearSolveStrategy(name: "adjoint (automatic sparse)"), dimension: n,
            jacobianPattern: laplacian,
            solver: { theta in DifferentiableVector(try inner.solve(try system(theta[0]), y.scalars)) })
        let startAutomatic = Date()
        let assembled = try automatic.hypergradient(at: DifferentiableVector([logLambda]), loss: loss)
        let automaticSeconds = Date().timeIntervalSince(startAutomatic)
        let summary = try XCTUnwrap(assembled.jacobian)
        print("grid \(side)×\(side): \(summary); adjoint \(assembled.report?.method ?? "?")+\(assembled.report?.preconditioner ?? "?"), "
              + String(format: "%.2f s with the inner solve (matrix-free %.2f s)", automaticSeconds, seconds))
        XCTAssertEqual(summary.source, .automaticSparse)
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary.colors), 8, "a 5-point pattern needs few colors")
        XCTAssertEqual(assembled.gradient[0], result.gradient[0], accuracy: 1e-8 * abs(result.gradient[0]))
    }
}

extension DifferentiableVector {
    /// The first k entries (a constant, not differentiated).
    func prefixVector(_ k: Int) -> DifferentiableVector { DifferentiableVector(Array(scalars.prefix(k))) }
}
