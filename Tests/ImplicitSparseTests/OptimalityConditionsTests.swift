import _Differentiation
import XCTest
import ImplicitSparse

/// The optimality-conditions catalogue, each differentiated implicitly and checked against an
/// independent oracle (closed form or central finite differences of an independently
/// converged solve); plus the simplex projection's Jacobian in closed form and θ as the values
/// of a sparse matrix on a fixed pattern.
final class OptimalityConditionsTests: XCTestCase {
    let x = try! CSRMatrix.randomPowerLaw(rows: 80, columns: 30, nonzerosPerRow: 5, seed: 61)
    lazy var y = DifferentiableVector((0..<80).map { sin(Double($0) * 0.7) })

    /// Ridge: dx*/dλ = −(XᵀX + λI)⁻¹x* in closed form (CHOLMOD), against forward mode (exact
    /// θ-product) and reverse mode (one adjoint per coordinate), to 1e-10.
    func testRidgeDerivativeMatchesClosedFormTo1e10() throws {
        let (x, y) = (self.x, self.y)
        let lambda = 0.3
        let gram = try x.toCSC().gram(shift: lambda)
        var symmetric = gram
        symmetric = symmetric.declaringSymmetric()
        let factor = try CholeskyFactorization(symmetric: symmetric)
        try factor.factorize()
        func ridge(_ l: Double) throws -> [Double] {
            try factor.refactor(try x.toCSC().gram(shift: l))
            return try factor.solve(try x.multiplyTransposed(y.scalars))
        }
        let strategy = LinearSolveStrategy(.cg, options: KrylovOptions(relativeTolerance: 1e-15, maxIterations: 1000))
        let solution = OptimalityConditions.stationary(
            gradient: { w, theta in matvecTransposed(x, matvec(x, w) - y) + scale(sum(theta), w) },
            strategy: strategy, dimension: 30, solver: { theta in DifferentiableVector(try ridge(theta[0])) })
        let w = try ridge(lambda)
        try factor.refactor(gram)
        let closed = try factor.solve(w).map { -$0 }
        let theta = DifferentiableVector([lambda])
        let forward = try solution.sensitivity(at: theta, direction: DifferentiableVector([1]),
                                               thetaProduct: { x, _, t in x.scalars.map { $0 * t[0] } })
        XCTAssertFalse(forward.usedFiniteDifferenceInTheta)
        XCTAssertLessThan(Vector.norm(zip(forward.tangent, closed).map { $0 - $1 }) / Vector.norm(closed), 1e-10)
        for k in [0, 7, 29] {
            var e = [Double](repeating: 0, count: 30)
            e[k] = 1
            let row = try solution.adjoint(x: DifferentiableVector(w), theta: theta, cotangent: DifferentiableVector(e))
            XCTAssertEqual(row[0], closed[k], accuracy: 1e-10 * Vector.norm(closed))
        }
    }

    /// Projected gradient: min ½‖Xw − y‖² subject to w ≥ θ (a lower bound per coordinate).
    func testProjectedGradientFixedPointAgainstFiniteDifferences() throws {
        let (x, y) = (self.x, self.y)
        let lipschitz = try LassoProblem(design: x, targets: y.scalars, lambda: 1).lipschitzEstimate(iterations: 60) * Double(x.rows)
        let eta = 1 / lipschitz
        func solve(_ theta: DifferentiableVector) -> [Double] {
            var w = theta.scalars
            for _ in 0..<200_000 {
                let g = try! x.multiplyTransposed(zip(try! x.multiply(w), y.scalars).map { $0 - $1 })
                var change = 0.0
                for j in 0..<30 {
                    let new = max(w[j] - eta * g[j], theta[j])
                    change = max(change, abs(new - w[j]))
                    w[j] = new
                }
                if change < 1e-15 { break }
            }
            return w
        }
        let theta = DifferentiableVector((0..<30).map { -0.05 + 0.01 * Double($0 % 4) })
        let solution = OptimalityConditions.projectedGradient(
            gradient: { w, _ in matvecTransposed(x, matvec(x, w) - y) },
            projection: { v, theta in maximum(v - theta, 0) + theta }, step: eta,
            strategy: LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-13)),
            dimension: 30, solver: { theta in DifferentiableVector(solve(theta)) })
        let weights = DifferentiableVector((0..<30).map { cos(Double($0)) })
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in dot(w, weights) + 0.5 * squaredNorm(w) }
        let w = solve(theta)
        let active = (0..<30).filter { w[$0] == theta[$0] }
        XCTAssertFalse(active.isEmpty)
        XCTAssertLessThan(active.count, 30)
        let result = try solution.hypergradient(at: theta, loss: loss)
        let direction = DifferentiableVector((0..<30).map { 1 + 0.3 * sin(Double($0)) })
        let h = 1e-6
        let fd = (loss(DifferentiableVector(solve(theta + scale(h, direction)))) - loss(DifferentiableVector(solve(theta - scale(h, direction))))) / (2 * h)
        XCTAssertEqual(dot(result.gradient, direction), fd, accuracy: 1e-6 * max(1, abs(fd)))
    }

    /// A QP with an equality and inequalities: min ½xᵀQx + cᵀx, Σx = b, x ≥ 0 (G = −I, h = 0),
    /// solved by projected gradient onto the scaled simplex; multipliers recovered from
    /// stationarity; derivatives in (c, b) against central differences.
    func testQuadraticProgramKKTAgainstFiniteDifferences() throws {
        let n = 8
        var builder = try COOBuilder(rows: n, columns: n)
        for i in 0..<n {
            try builder.append(row: i, column: i, value: 3 + Double(i % 3))
            if i + 1 < n {
                try builder.append(row: i, column: i + 1, value: -1)
                try builder.append(row: i + 1, column: i, value: -1)
            }
        }
        let q = builder.makeCSR()
        var rowOfOnes = try COOBuilder(rows: 1, columns: n)
        for j in 0..<n { try rowOfOnes.append(row: 0, column: j, value: 1) }
        let a = rowOfOnes.makeCSR()
        let g = try CSRMatrix.diagonal([Double](repeating: -1, count: n))
        let kkt = try QuadraticProgramKKT(q: q, a: a, g: g)
        func solve(_ theta: DifferentiableVector) -> DifferentiableVector {
            let c = Array(theta.scalars[0..<n]), b = theta[n]
            var x = [Double](repeating: b / Double(n), count: n)
            for _ in 0..<100_000 {
                let grad = zip(try! q.multiply(x), c).map { $0 + $1 }
                let new = projectSimplex(DifferentiableVector(zip(x, grad).map { $0 - 0.15 * $1 }), radius: b).scalars
                let change = zip(new, x).map { abs($0 - $1) }.max()!
                x = new
                if change < 1e-16 { break }
            }
            let stationarity = zip(try! q.multiply(x), c).map { $0 + $1 }
            let support = (0..<n).filter { x[$0] > 0 }
            let nu = -support.map { stationarity[$0] }.reduce(0, +) / Double(support.count)
            let mu = (0..<n).map { x[$0] > 0 ? 0 : stationarity[$0] + nu }
            return DifferentiableVector(x + [nu] + mu)
        }
        let c = (0..<n).map { 4 * sin(Double($0) * 2.1) }
        let theta = DifferentiableVector(c + [1.5] + [Double](repeating: 0, count: n))
        let z = solve(theta)
        // The solver's answer satisfies the KKT conditions, with strict complementarity.
        XCTAssertLessThan(norm(kkt.condition(z, theta)), 1e-10)
        let inactive = (0..<n).filter { z[$0] == 0 }
        XCTAssertFalse(inactive.isEmpty)
        for i in inactive { XCTAssertGreaterThan(z[n + 1 + i], 1e-6) }
        let weights = DifferentiableVector((0..<(2 * n + 1)).map { $0 < n ? Double($0 + 1) : 0 })
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { z in dot(z, weights) }
        let result = try kkt.solution(strategy: LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-13)),
                                      solver: { theta in solve(theta) }).hypergradient(at: theta, loss: loss)
        for direction in [DifferentiableVector((0..<(2 * n + 1)).map { $0 < n ? 1 + 0.1 * Double($0) : 0 }),
                          DifferentiableVector((0..<(2 * n + 1)).map { $0 == n ? 1 : 0 })] {
            let h = 1e-6
            let fd = (loss(solve(theta + scale(h, direction))) - loss(solve(theta - scale(h, direction)))) / (2 * h)
            XCTAssertEqual(dot(result.gradient, direction), fd, accuracy: 1e-6 * max(1, abs(fd)))
        }
        XCTAssertThrowsError(try QuadraticProgramKKT(q: q, a: try CSRMatrix.diagonal([1, 1])))
    }

    /// The multiclass SVM dual (Crammer–Singer) as a mirror-descent fixed point on a product of
    /// simplices: min over β (one simplex per sample) of (1/2λ)‖Xᵀ(Y − β)‖² + ⟨β, Y⟩;
    /// d(validation loss)/dλ against central differences.
    func testMirrorDescentMulticlassSVMDualAgainstFiniteDifferences() throws {
        let samples = 8, classes = 3, features = 12
        let x = try CSRMatrix.randomPowerLaw(rows: samples, columns: features, nonzerosPerRow: 6, seed: 63)
        let yOneHot = DifferentiableVector((0..<(samples * classes)).map { ($0 / classes) % classes == $0 % classes ? 1 : 0 })
        let columns = (0..<classes).map { c in (0..<samples).map { $0 * classes + c } }
        // ∇f(β) = −X Xᵀ(Y − β)/λ + Y, class by class.
        let gradient: OptimalityConditions.Map = { beta, theta in
            let r = yOneHot - beta
            var out = DifferentiableVector.zero
            for c in 0..<classes {
                let kernel = matvec(x, matvecTransposed(x, gather(r, columns[c])))
                out = out + scatter(kernel, columns[c], count: samples * classes)
            }
            return scale(-1 / sum(theta), out) + yOneHot
        }
        let eta = 0.05
        func solve(_ theta: DifferentiableVector) -> DifferentiableVector {
            var beta = DifferentiableVector(repeating: 1 / Double(classes), count: samples * classes)
            for _ in 0..<200_000 {
                let new = normalizeBlocks(beta .* exp(scale(-eta, gradient(beta, theta))), blockSize: classes)
                let change = norm(new - beta)
                beta = new
                if change < 1e-15 { break }
            }
            return beta
        }
        let solution = OptimalityConditions.mirrorDescentSimplex(
            gradient: gradient, step: eta, blockSize: classes,
            strategy: LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-13)),
            dimension: samples * classes, solver: { theta in solve(theta) })
        // Outer loss: the primal weights W = Xᵀ(Y − β)/λ scored on a fixed direction.
        let probe = DifferentiableVector((0..<features).map { sin(Double($0) + 0.5) })
        let lambda = 0.7
        func outer(_ beta: DifferentiableVector, _ l: Double) -> Double {
            var total = 0.0
            for c in 0..<classes { total += dot(matvecTransposed(x, gather(yOneHot - beta, columns[c])), probe) * Double(c + 1) }
            return total
        }
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { beta in
            var total = 0.0
            for c in 0..<classes { total = total + dot(matvecTransposed(x, gather(yOneHot - beta, columns[c])), probe) * Double(c + 1) }
            return total
        }
        let beta = solve(DifferentiableVector([lambda]))
        for i in 0..<samples { XCTAssertEqual((0..<classes).map { beta[i * classes + $0] }.reduce(0, +), 1, accuracy: 1e-12) }
        let result = try solution.hypergradient(at: DifferentiableVector([lambda]), loss: loss)
        let h = 1e-6
        let fd = (outer(solve(DifferentiableVector([lambda + h])), lambda + h) - outer(solve(DifferentiableVector([lambda - h])), lambda - h)) / (2 * h)
        XCTAssertEqual(result.gradient[0], fd, accuracy: 1e-5 * max(1, abs(fd)))
    }

    /// The simplex projection's Jacobian is diag(s) − ssᵀ/|s| with s the support indicator.
    func testSimplexProjectionJacobianClosedForm() {
        let v = DifferentiableVector([0.9, -0.3, 0.5, 0.2, 1.4, -1.0, 0.45])
        let p = projectSimplex(v)
        let s = p.scalars.map { $0 > 0 ? 1.0 : 0 }
        let size = s.reduce(0, +)
        XCTAssertGreaterThan(size, 1)
        XCTAssertLessThan(size, 7)
        let (_, pullback) = valueWithPullback(at: v) { v in projectSimplex(v) }
        for i in 0..<7 {
            var e = [Double](repeating: 0, count: 7)
            e[i] = 1
            let row = pullback(DifferentiableVector(e)).dense(count: 7)  // row i of Jᵀ = column i of J (J symmetric)
            for j in 0..<7 {
                let closed = (i == j ? s[i] : 0) - s[i] * s[j] / size
                XCTAssertEqual(row[j], closed, accuracy: 1e-15, "(\(i), \(j))")
            }
        }
    }

    /// θ as the values of a sparse matrix on a fixed pattern: x*(θ) = A(θ)⁻¹b through
    /// F = A(θ)x − b; dL/dA_ij = −u_i x_j with A(θ)ᵀu = ∇L, against an LU oracle and central
    /// differences.
    func testThetaAsSparseMatrixValuesOnAFixedPattern() throws {
        var a = try CSRMatrix.gridLaplacian2D(5).adding(CSRMatrix.diagonal([Double](repeating: 0.5, count: 25)))
        a = try a.replacingValues(a.values.enumerated().map { $0.element * (1 + 0.05 * sin(Double($0.offset))) })  // unsymmetric
        let pattern = SparsePattern(a)
        let b = DifferentiableVector((0..<25).map { cos(Double($0) * 0.9) })
        func solve(_ theta: DifferentiableVector) throws -> DifferentiableVector {
            let lu = try LUFactorization(try a.replacingValues(theta.scalars).toCSC())
            try lu.factorize()
            return DifferentiableVector(try lu.solve(b.scalars))
        }
        let solution = RootSolution(condition: { x, theta in matvec(pattern, theta, x) - b },
                                    strategy: LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-14)),
                                    dimension: 25, solver: solve)
        let weights = DifferentiableVector((0..<25).map { Double($0 % 5) - 2 })
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { x in dot(x, weights) }
        let theta = DifferentiableVector(a.values)
        let g = gradient(at: theta) { theta in loss(solution(theta)) }
        XCTAssertEqual(g.count, a.nonzeroCount)
        // Oracle 1: the closed form with an independent transposed LU solve.
        let x = try solve(theta)
        let lu = try LUFactorization(a.toCSC())
        try lu.factorize()
        let u = try lu.solve(weights.scalars, transposed: true)
        for i in 0..<25 {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] {
                XCTAssertEqual(g[k], -u[i] * x[Int(a.columnIndices[k])], accuracy: 1e-10)
            }
        }
        // The same with the explicit Jacobian ∂F/∂x = A(θ): UMFPACK LU, transposed solve.
        let explicit = RootSolution(condition: { x, theta in matvec(pattern, theta, x) - b },
                                    dimension: 25, explicitJacobian: { _, theta in try a.replacingValues(theta.scalars) },
                                    solver: solve)
        let direct = try explicit.hypergradient(at: theta, loss: loss)
        XCTAssertEqual(direct.report?.method, "lu")
        for k in 0..<a.nonzeroCount { XCTAssertEqual(direct.gradient[k], g[k], accuracy: 1e-10) }
        // Forward mode with the explicit Jacobian: exact in x, J·t = −A⁻¹(A(t) x) in closed form.
        let t = DifferentiableVector((0..<a.nonzeroCount).map { sin(Double($0) * 0.3) })
        let sensitivity = try explicit.sensitivity(at: theta, direction: t,
                                                   thetaProduct: { x, _, t in try! a.replacingValues(t.scalars).multiply(x.scalars) })
        XCTAssertFalse(sensitivity.usedFiniteDifferenceInX)
        let closedTangent = try lu.solve(try a.replacingValues(t.scalars).multiply(x.scalars)).map { -$0 }
        for i in 0..<25 { XCTAssertEqual(sensitivity.tangent[i], closedTangent[i], accuracy: 1e-10) }
        // Oracle 2: central differences on a few values.
        for k in [0, 17, a.nonzeroCount - 1] {
            var plus = theta.scalars, minus = theta.scalars
            plus[k] += 1e-6
            minus[k] -= 1e-6
            let fd = (loss(try solve(DifferentiableVector(plus))) - loss(try solve(DifferentiableVector(minus)))) / 2e-6
            XCTAssertEqual(g[k], fd, accuracy: 1e-6 * max(1, abs(fd)))
        }
    }
}
