import XCTest
@testable import Sparse

/// A diagonal preconditioner defined here so that these tests need only `Sparse`.
struct InverseDiagonal: LinearOperator {
    let inverse: [Double]
    var rows: Int { inverse.count }
    var columns: Int { inverse.count }
    var isSymmetric: Bool { true }
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
        for i in 0..<inverse.count { y[i] = (accumulate ? y[i] : 0) + inverse[i] * x[i] }
    }
}

final class KrylovTests: XCTestCase {
    let options = KrylovOptions(relativeTolerance: 1e-10, maxIterations: 5000)

    /// An SPD matrix with a badly scaled diagonal, where Jacobi helps.
    func scaledSPD(_ n: Int) throws -> CSRMatrix {
        let a = try CSRMatrix.gridLaplacian2D(Int(Double(n).squareRoot()), shift: 0.01)
        let d = (0..<a.rows).map { 1 + 100 * Double($0 % 7) }
        var builder = try COOBuilder(rows: a.rows, columns: a.rows)
        for i in 0..<a.rows {
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] {
                let j = Int(a.columnIndices[k])
                try builder.append(row: i, column: j, value: d[i].squareRoot() * a.values[k] * d[j].squareRoot())
            }
        }
        var m = builder.makeCSR()
        m = m.declaringSymmetric()
        return m
    }

    func testCGConvergesWithAndWithoutJacobi() throws {
        let a = try scaledSPD(900)
        let b = RandomMatrices.vector(a.rows, seed: 1)
        let plain = try ConjugateGradient(options: options).solve(a, b)
        XCTAssertEqual(plain.status, .converged)
        XCTAssertLessThanOrEqual(plain.relativeResidual, 1e-10)
        let jacobi = InverseDiagonal(inverse: a.diagonalEntries().map { 1 / $0 })
        let pre = try ConjugateGradient(options: options).solve(a, b, preconditioner: jacobi)
        XCTAssertEqual(pre.status, .converged)
        XCTAssertLessThanOrEqual(pre.relativeResidual, 1e-10)
        XCTAssertLessThan(pre.iterations, plain.iterations)
        // Against a direct solve.
        let factor = try CholeskyFactorization(symmetric: a)
        try factor.factorize()
        assertClose(pre.solution, try factor.solve(b), relative: 1e-7)
        // Warm start from the solution converges at once.
        let warm = try ConjugateGradient(options: options).solve(a, b, initialGuess: pre.solution)
        XCTAssertLessThanOrEqual(warm.iterations, 1)
    }

    func testCGReportsBreakdownOnIndefiniteAndMaxIterations() throws {
        let a = try CSRMatrix.gridLaplacian2D(10).addingIdentity(scaledBy: -4)
        var symmetric = a; symmetric = symmetric.declaringSymmetric()
        let b = RandomMatrices.vector(100, seed: 2)
        let result = try ConjugateGradient(options: options).solve(symmetric, b)
        XCTAssertNotEqual(result.status, .converged)
        XCTAssertTrue(result.solution.allSatisfy { $0.isFinite })
        let short = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 3))
            .solve(try CSRMatrix.gridLaplacian2D(20), RandomMatrices.vector(400, seed: 3))
        XCTAssertEqual(short.status, .maximumIterations)
        XCTAssertEqual(short.iterations, 3)
        XCTAssertThrowsError(try ConjugateGradient().solve(symmetric, [1, 2]))
        XCTAssertThrowsError(try ConjugateGradient().solve(symmetric, b.map { _ in .nan }))
    }

    /// Each non-convergence status, on systems built so it must occur: CG's breakdown on a
    /// nonsingular indefinite matrix whose first curvature pᵀAp is exactly 0; GMRES's
    /// stagnation on the cyclic shift (restarted GMRES(1) makes no progress on it); capped runs
    /// of MINRES, BiCGSTAB and LSQR end at `.maximumIterations` with finite iterates.
    func testEachNonConvergenceStatusOccursWhereItMust() throws {
        let indefinite = try CSRMatrix.diagonal([1, -1, 2]).declaringSymmetric()
        let breakdown = try ConjugateGradient(options: options).solve(indefinite, [1, 1, 0])
        XCTAssertEqual(breakdown.status, .breakdown)
        XCTAssertTrue(breakdown.solution.allSatisfy(\.isFinite))
        // The cyclic shift S (Se_i = e_{i+1}): b = e_0 gives Krylov space span{e_1, …}, and
        // GMRES(1)'s correction along Sb is orthogonal to b: no reduction in a cycle.
        let n = 6
        var builder = try COOBuilder(rows: n, columns: n)
        for i in 0..<n { try builder.append(row: (i + 1) % n, column: i, value: 1) }
        var e0 = [Double](repeating: 0, count: n); e0[0] = 1
        let stagnated = try GMRES(options: options, restart: 1).solve(builder.makeCSR(), e0)
        XCTAssertEqual(stagnated.status, .stagnation)
        let spd = try CSRMatrix.gridLaplacian2D(20)
        let b = RandomMatrices.vector(400, seed: 9)
        let capped = KrylovOptions(relativeTolerance: 1e-14, maxIterations: 3)
        for result in [try MINRES(options: capped).solve(spd, b), try BiCGSTAB(options: capped).solve(spd, b),
                       try LSQR(options: capped).solve(spd, b)] {
            XCTAssertEqual(result.status, .maximumIterations)
            XCTAssertLessThanOrEqual(result.iterations, 3)
            XCTAssertTrue(result.solution.allSatisfy(\.isFinite))
        }
    }

    /// A request below the attainable accuracy (10⁻¹⁶ on a heavy-tailed graph Laplacian + 0.1 I,
    /// b = A·1): CG, with and without Jacobi, stops at its rounding floor with `.stagnation`
    /// within a few dozen iterations of reaching it (not at the cap), returns a finite iterate
    /// whose true residual is the one reported, near what a reachable request attains.
    /// CG whose recursive residual keeps falling while the true one cannot (inexact products:
    /// each product carries a relative error of 10⁻⁹ that changes from call to call, as a
    /// matrix-free operator's rounding does): after its first floor check the recursive residual,
    /// restarted from the true one, needs far more than 20·floorChecks iterations to reach the
    /// tolerance again on an ill-conditioned matrix — the run must end as `.stagnation` within
    /// that stretch, with a finite attained residual, not run to the iteration cap.
    func testCGStagnatesWhenTheRecursiveResidualCannotRecover() throws {
        let n = 400
        let a = try CSRMatrix.gridLaplacian(dimensions: [n], shift: 1e-4)    // 1-D: condition ≈ 6·10⁴·…
        final class Counter: @unchecked Sendable { var calls: UInt64 = 0 }
        let counter = Counter()
        let inexact = try ClosureOperator(rows: n, columns: n, symmetric: true, positiveDefinite: true) { x, y in
            let exact = try! a.multiply(Array(x))
            counter.calls &+= 1
            var random = SplitMix64(seed: counter.calls)
            let size = exact.reduce(0) { max($0, abs($1)) }
            for i in 0..<n { y[i] = exact[i] + 1e-9 * size * (random.nextUniform() - 0.5) }
        }
        let b = try a.multiply([Double](repeating: 1, count: n))
        var options = KrylovOptions(relativeTolerance: 1e-13, maxIterations: 1_000_000, recordHistory: true)
        options.floorChecks = 1
        let result = try ConjugateGradient(options: options).solve(inexact, b)
        XCTAssertEqual(result.status, .stagnation)
        // The first floor check: where the recursive residual first met the tolerance. The run
        // ends 20·floorChecks iterations later (the true residual, ~10⁻⁸, cannot be brought back
        // below 10⁻¹³ in 20 iterations here) — not at that check, and not at the cap.
        let history = try XCTUnwrap(result.residualHistory)
        let firstCheck = try XCTUnwrap(history.firstIndex { $0 <= 1e-13 * history[0] })
        XCTAssertEqual(result.iterations, firstCheck + 20, "stagnation by the stretch without a new check")
        XCTAssertTrue(result.relativeResidual.isFinite)
        XCTAssertLessThan(result.relativeResidual, 1e-6)
        XCTAssertTrue(result.solution.allSatisfy(\.isFinite))
        XCTAssertLessThan(a.relativeResidual(result.solution, b), 1e-4, "the best iterate is kept")
    }

    func testCGStopsAtItsAttainableAccuracy() throws {
        let graph = try WeightedGraph.powerLaw(nodes: 20_000, edges: 60_000, exponent: 2.2, seed: 4)
        let a = try graph.laplacian.addingIdentity(scaledBy: 0.1).declaringSymmetric()
        let b = try a.multiply([Double](repeating: 1, count: a.rows))
        for jacobi in [false, true] {
            let preconditioner: (any LinearOperator)? = jacobi ? InverseDiagonal(inverse: a.diagonalEntries().map { 1 / $0 }) : nil
            let reachable = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-10)).solve(a, b, preconditioner: preconditioner)
            XCTAssertEqual(reachable.status, .converged)
            let floor = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-16, maxIterations: 100_000))
                .solve(a, b, preconditioner: preconditioner)
            XCTAssertEqual(floor.status, .stagnation, "jacobi \(jacobi)")
            XCTAssertLessThan(floor.iterations, reachable.iterations + 100, "jacobi \(jacobi): stopped near the floor, not at the cap")
            XCTAssertTrue(floor.solution.allSatisfy(\.isFinite))
            XCTAssertTrue(floor.relativeResidual.isFinite)
            XCTAssertEqual(floor.relativeResidual, a.relativeResidual(floor.solution, b), accuracy: 1e-3 * floor.relativeResidual)
            XCTAssertLessThanOrEqual(floor.relativeResidual, reachable.relativeResidual, "jacobi \(jacobi): at least as accurate as a reachable request")
        }
        // MINRES, GMRES and BiCGSTAB (Jacobi) know their floor too.
        let jacobi = InverseDiagonal(inverse: a.diagonalEntries().map { 1 / $0 })
        let below = KrylovOptions(relativeTolerance: 1e-17, maxIterations: 100_000)
        for (name, result) in [("minres", try MINRES(options: below).solve(a, b, preconditioner: jacobi)),
                               ("gmres", try GMRES(options: below).solve(a, b, preconditioner: jacobi)),
                               ("bicgstab", try BiCGSTAB(options: below).solve(a, b, preconditioner: jacobi))] {
            XCTAssertEqual(result.status, .stagnation, name)
            XCTAssertLessThan(result.iterations, 1000, "\(name): stopped near the floor, not at the cap")
            XCTAssertTrue(result.solution.allSatisfy(\.isFinite), name)
            XCTAssertLessThan(result.relativeResidual, 1e-10, name)
        }
        // LSQR at the floor stops well before the cap with the attained true residual.
        let lsqrBelow = KrylovOptions(relativeTolerance: 1e-17, maxIterations: 20_000)
        let square = try LSQR(options: lsqrBelow).solve(a, b)
        XCTAssertEqual(square.status, .stagnation)
        XCTAssertLessThan(square.iterations, 5000, "stopped near the floor, not at the cap")
        XCTAssertLessThan(square.relativeResidual, 1e-10)
        XCTAssertEqual(square.relativeResidual, a.relativeResidual(square.solution, b), accuracy: 1e-3 * square.relativeResidual)
    }

    func testMINRESOnSymmetricIndefinite() throws {
        var a = try CSRMatrix.gridLaplacian2D(20).addingIdentity(scaledBy: -3.3)
        a = a.declaringSymmetric()
        let b = RandomMatrices.vector(a.rows, seed: 4)
        let result = try MINRES(options: options).solve(a, b)
        XCTAssertEqual(result.status, .converged)
        XCTAssertLessThanOrEqual(result.relativeResidual, 1e-10)
        let lu = try LUFactorization(a)
        try lu.factorize()
        assertClose(result.solution, try lu.solve(b), relative: 1e-7)
        // With an SPD preconditioner (|diagonal|).
        let pre = InverseDiagonal(inverse: a.diagonalEntries().map { 1 / abs($0) })
        let preconditioned = try MINRES(options: options).solve(a, b, preconditioner: pre)
        XCTAssertEqual(preconditioned.status, .converged)
        XCTAssertLessThanOrEqual(preconditioned.relativeResidual, 1e-10)
    }

    func testGMRESAndBiCGSTABOnUnsymmetric() throws {
        let n = 400
        var builder = try COOBuilder(rows: n, columns: n)
        // Convection–diffusion: unsymmetric, nonsingular.
        for i in 0..<n {
            try builder.append(row: i, column: i, value: 2.5 + Double(i % 5))
            if i > 0 { try builder.append(row: i, column: i - 1, value: -1.4) }
            if i < n - 1 { try builder.append(row: i, column: i + 1, value: -0.6) }
            if i + 20 < n { try builder.append(row: i, column: i + 20, value: 0.3) }
        }
        let a = builder.makeCSR()
        let b = RandomMatrices.vector(n, seed: 5)
        let lu = try LUFactorization(a)
        try lu.factorize()
        let exact = try lu.solve(b)
        let jacobi = InverseDiagonal(inverse: a.diagonalEntries().map { 1 / $0 })
        for restart in [5, 30] {
            for pre in [nil, jacobi] as [InverseDiagonal?] {
                let g = try GMRES(options: options, restart: restart).solve(a, b, preconditioner: pre)
                XCTAssertEqual(g.status, .converged, "GMRES(\(restart))")
                XCTAssertLessThanOrEqual(g.relativeResidual, 1e-10)
                assertClose(g.solution, exact, relative: 1e-8)
            }
        }
        for pre in [nil, jacobi] as [InverseDiagonal?] {
            let s = try BiCGSTAB(options: options).solve(a, b, preconditioner: pre)
            XCTAssertEqual(s.status, .converged)
            XCTAssertLessThanOrEqual(s.relativeResidual, 1e-10)
            assertClose(s.solution, exact, relative: 1e-8)
        }
        // CG and MINRES refuse an unsymmetric preconditioner.
        let unsymmetricPre = try ClosureOperator(rows: n, columns: n) { x, y in for i in 0..<n { y[i] = x[i] } }
        XCTAssertThrowsError(try ConjugateGradient().solve(a, b, preconditioner: unsymmetricPre))
        XCTAssertThrowsError(try MINRES().solve(a, b, preconditioner: unsymmetricPre))
    }

    func testLSQROnLeastSquaresAgainstNormalEquations() throws {
        let a = RandomMatrices.sparse(rows: 200, columns: 40, density: 0.15, seed: 6)
        let b = RandomMatrices.vector(200, seed: 7)
        let result = try LSQR(options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 2000)).solve(a, b)
        XCTAssertEqual(result.status, .converged)
        // Oracle: (AᵀA)x = Aᵀb, densely.
        let gram = try a.toCSC().gram()
        let expected = Dense.solve(gram.toDenseRowMajor(), try a.multiplyTransposed(b), n: 40)
        assertClose(result.solution, expected, relative: 1e-8)
        XCTAssertLessThanOrEqual(result.normalEquationResidual!, 1e-12)
        // Column-scaling preconditioner gives the same solution.
        var norms = [Double](repeating: 0, count: 40)
        for k in 0..<a.nonzeroCount { norms[Int(a.columnIndices[k])] += a.values[k] * a.values[k] }
        let scaling = InverseDiagonal(inverse: norms.map { $0 > 0 ? 1 / $0.squareRoot() : 1 })
        let pre = try LSQR(options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 2000)).solve(a, b, preconditioner: scaling)
        assertClose(pre.solution, expected, relative: 1e-8)
        // A consistent square system: residual goes to zero.
        let square = RandomMatrices.unsymmetric(60, density: 0.1, seed: 8)
        let consistent = try LSQR(options: options).solve(square, try square.multiply([Double](repeating: 1, count: 60)))
        XCTAssertEqual(consistent.status, .converged)
        assertClose(consistent.solution, [Double](repeating: 1, count: 60), relative: 1e-7)
    }

    func testHistoryAndZeroRightHandSide() throws {
        let a = try CSRMatrix.gridLaplacian2D(10, shift: 1)
        let result = try ConjugateGradient(options: KrylovOptions(recordHistory: true)).solve(a, RandomMatrices.vector(100, seed: 9))
        XCTAssertEqual(result.residualHistory?.count, result.iterations + 1)
        let zero = try GMRES().solve(a, [Double](repeating: 0, count: 100))
        XCTAssertEqual(zero.status, .converged)
        XCTAssertEqual(zero.iterations, 0)
        XCTAssertTrue(zero.solution.allSatisfy { $0 == 0 })
    }
}
