import Foundation
import XCTest
import ImplicitSparse

final class LinearSolveStrategyTests: XCTestCase {
    func spd(_ k: Int) -> CSRMatrix { try! .gridLaplacian2D(k, shift: 0.3) }

    func unsymmetric(_ k: Int) -> CSRMatrix {
        var builder = try! COOBuilder(rows: k * k, columns: k * k)
        for i in 0..<(k * k) {
            try! builder.append(row: i, column: i, value: 4.5)
            if i > 0 { try! builder.append(row: i, column: i - 1, value: -1.7) }
            if i + 1 < k * k { try! builder.append(row: i, column: i + 1, value: -0.4) }
            if i + k < k * k { try! builder.append(row: i, column: i + k, value: -0.9) }
        }
        return builder.makeCSR()
    }

    func rhs(_ n: Int) -> [Double] { (0..<n).map { sin(Double($0)) + 0.25 } }

    /// A strategy over the automatic policy with some of its rules changed.
    func automatic(_ configure: (inout AutomaticLinearSolver) -> Void) -> LinearSolveStrategy {
        var policy = AutomaticLinearSolver()
        configure(&policy)
        return LinearSolveStrategy(solver: policy)
    }

    /// An oracle independent of the strategy: UMFPACK directly.
    func reference(_ a: CSRMatrix, _ b: [Double], transposed: Bool = false) throws -> [Double] {
        let lu = try LUFactorization(a)
        try lu.factorize()
        return try lu.solve(b, transposed: transposed)
    }

    func assertClose(_ x: [Double], _ y: [Double], _ tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
        let diff = zip(x, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        let scale = y.map { $0 * $0 }.reduce(0, +).squareRoot()
        XCTAssertLessThanOrEqual(diff / scale, tolerance, file: file, line: line)
    }

    func testAutomaticChoosesCholeskyLUOrKrylovAndSaysWhy() throws {
        let a = spd(20), b = rhs(400)
        let strategy = LinearSolveStrategy()
        assertClose(try strategy.solve(a, b), try reference(a, b), 1e-12)
        XCTAssertEqual(strategy.lastReport?.method, "cholesky")
        XCTAssertLessThan(strategy.lastReport!.relativeResidual, 1e-13)

        let u = unsymmetric(20)
        let second = LinearSolveStrategy()
        assertClose(try second.solve(u, b), try reference(u, b), 1e-12)
        XCTAssertEqual(second.lastReport?.method, "lu")
        assertClose(try second.solve(u, b, transposed: true), try reference(u, b, transposed: true), 1e-12)

        // Matrix-free: CG for an SPD operator, GMRES for an unsymmetric one.
        let op = try ClosureOperator(rows: 400, columns: 400, symmetric: true, positiveDefinite: true,
                                     diagonal: a.diagonalEntries()) { x, y in a.multiply(x, into: y) }
        let third = LinearSolveStrategy()
        assertClose(try third.solve(op, b), try reference(a, b), 1e-8)
        XCTAssertEqual(third.lastReport?.method, "cg")
        let unsymmetricOp = try ClosureOperator(rows: 400, columns: 400, forward: { x, y in u.multiply(x, into: y) },
                                                adjoint: { x, y in u.multiplyTransposed(x, into: y) })
        let fourth = LinearSolveStrategy()
        assertClose(try fourth.solve(unsymmetricOp, b, transposed: true), try reference(u, b, transposed: true), 1e-8)
        XCTAssertEqual(fourth.lastReport?.method, "gmres")

        // Over the memory budget: a preconditioned Krylov method, with the reason.
        let tight = LinearSolveStrategy(memoryBudget: 1000)
        assertClose(try tight.solve(a, b), try reference(a, b), 1e-8)
        XCTAssertEqual(tight.lastReport?.method, "cg")  // a Laplacian-like matrix with a positive diagonal: CG
        XCTAssertTrue(tight.lastReport!.reason.contains("budget"))
    }

    func testGramOperatorsAreFactorizedWithoutFormingTheGram() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 120, columns: 40, nonzerosPerRow: 6, seed: 13)
        let gram = try GramOperator(x.toCSC(), shift: 0.5)
        let b = rhs(40)
        let explicit = try x.toCSC().gram(shift: 0.5)
        let strategy = automatic {
            $0.denseGramLimit = 0  // force CHOLMOD (a 40-column Gram is formed densely by default)
            $0.krylovFirstIterations = 0  // and no CG attempt first
        }
        assertClose(try strategy.solve(gram, b), try reference(explicit, b), 1e-11)
        XCTAssertEqual(strategy.lastReport?.method, "cholesky")
        XCTAssertTrue(strategy.lastReport!.reason.contains("factorize_p"))
        // New values on the same pattern and a new shift: refactorized, not re-analyzed.
        let x2 = try x.replacingValues(x.values.map { $0 * 0.7 })
        let gram2 = try GramOperator(x2.toCSC(), shift: 0.9)
        assertClose(try strategy.solve(gram2, b), try reference(try x2.toCSC().gram(shift: 0.9), b), 1e-11)
        XCTAssertTrue(strategy.lastReport!.reused)
        // The dense path (the default below 1000 columns) gives the same answers, reuses its
        // factor for the same operator, and refuses a singular Gram (β = 0, duplicated column).
        let dense = LinearSolveStrategy()
        assertClose(try dense.solve(gram, b), try reference(explicit, b), 1e-11)
        XCTAssertTrue(dense.lastReport!.reason.contains("LAPACK"))
        assertClose(try dense.solve(gram, b.map { 2 * $0 }), try reference(explicit, b.map { 2 * $0 }), 1e-11)
        XCTAssertTrue(dense.lastReport!.reused)
        // gram2's X has the same pattern token (a value replacement of x, transposed): the
        // state is kept and refactorized for the new values, and the answer is gram2's.
        assertClose(try dense.solve(gram2, b), try reference(try x2.toCSC().gram(shift: 0.9), b), 1e-11)
        let twice = try CSCMatrix(rows: 3, columns: 2, columnPointers: [0, 2, 4], rowIndices: [0, 2, 0, 2], values: [1, 2, 1, 2])
        XCTAssertThrowsError(try LinearSolveStrategy(.cholesky).solve(try GramOperator(twice), [1, 1])) { error in
            guard case SparseError.notPositiveDefinite = error else { return XCTFail("unexpected \(error)") }
        }
    }

    /// Automatic mode's cost rules: a large Gram operator gets a capped Jacobi-CG first (CHOLMOD
    /// only if that does not converge), and a factorization predicted to exceed the flop budget
    /// goes to a Krylov method; an explicit `.cholesky` ignores both.
    func testCostRulesCGFirstAndFlopBudget() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 200, columns: 40, nonzerosPerRow: 6, seed: 14)
        let b = rhs(40)
        let wellConditioned = try GramOperator(x.toCSC(), shift: 5)
        let strategy = automatic { $0.denseGramLimit = 10 }
        assertClose(try strategy.solve(wellConditioned, b), try reference(try x.toCSC().gram(shift: 5), b), 1e-8)
        XCTAssertEqual(strategy.lastReport?.method, "cg")
        XCTAssertTrue(strategy.lastReport!.reason.contains("CG first"), strategy.lastReport!.reason)
        // A cap too small to converge: CHOLMOD takes over and says why.
        let capped = automatic {
            $0.denseGramLimit = 10
            $0.krylovFirstIterations = 1
        }
        let singularish = try GramOperator(x.toCSC(), shift: 1e-6)
        assertClose(try capped.solve(singularish, b), try reference(try x.toCSC().gram(shift: 1e-6), b), 1e-6)
        XCTAssertEqual(capped.lastReport?.method, "cholesky")
        XCTAssertTrue(capped.lastReport!.reason.contains("did not converge"), capped.lastReport!.reason)
        // Flop budget: automatic refuses the factorization, explicit Cholesky does not.
        var a = spd(12)
        a = a.declaringSymmetric()
        let frugal = automatic { $0.directFlopBudget = 1 }
        assertClose(try frugal.solve(a, rhs(144)), try reference(a, rhs(144)), 1e-8)
        XCTAssertNotEqual(frugal.lastReport?.method, "cholesky")
        XCTAssertTrue(frugal.lastReport!.reason.contains("flops exceeds the budget"), frugal.lastReport!.reason)
        let insistent = LinearSolveStrategy(.cholesky)
        _ = try insistent.solve(a, rhs(144))
        XCTAssertEqual(insistent.lastReport?.method, "cholesky")
    }

    func testFallbackFromCholeskyOnIndefiniteMatrix() throws {
        var indefinite = try spd(10).addingIdentity(scaledBy: -3.1)
        indefinite = indefinite.declaringSymmetric()
        let b = rhs(100)
        let strategy = LinearSolveStrategy()
        assertClose(try strategy.solve(indefinite, b), try reference(indefinite, b), 1e-10)
        XCTAssertEqual(strategy.lastReport?.method, "lu")
        XCTAssertTrue(strategy.lastReport!.fellBack)
        XCTAssertTrue(strategy.lastReport!.reason.contains("not positive definite"))
    }

    func testReusesAnalysisAcrossValueChangesAndWarmStarts() throws {
        let a = spd(15), b = rhs(225)
        let strategy = LinearSolveStrategy()
        _ = try strategy.solve(a, b)
        XCTAssertFalse(strategy.lastReport!.reused)
        var scaled = try a.replacingValues(a.values.map { 1.5 * $0 })
        XCTAssertFalse(scaled.isKnownSymmetric, "new values are not assumed symmetric")
        scaled = scaled.declaringSymmetric()
        assertClose(try strategy.solve(scaled, b), try reference(scaled, b), 1e-12)
        XCTAssertTrue(strategy.lastReport!.reused)
        XCTAssertTrue(strategy.lastReport!.reason.contains("reused"))
        // Krylov: the previous solution is the warm start, so a repeat converges at once.
        let cg = LinearSolveStrategy(.cg)
        let first = try cg.solve(a, b)
        let firstIterations = cg.lastReport!.iterations
        _ = try cg.solve(a, b)
        XCTAssertLessThan(cg.lastReport!.iterations, firstIterations)
        assertClose(first, try reference(a, b), 1e-8)
    }

    /// The policy's choices that README states: rectangular → LSQR; unsymmetric over the
    /// memory budget → GMRES; a Cholesky that finds the matrix indefinite → LU; LU on a
    /// singular symmetric matrix → MINRES; and a transposed solve with an operator that has no
    /// transpose product → `needsAdjointProduct` (it used to trap).
    func testPolicyChoicesAndFallbacksREADMEStates() throws {
        let rectangular = try CSRMatrix.randomPowerLaw(rows: 60, columns: 20, nonzerosPerRow: 4, seed: 3)
        XCTAssertEqual(try AutomaticLinearSolver().choice(for: rectangular).method, "lsqr")
        let u = unsymmetric(12), b = rhs(144)
        let tight = LinearSolveStrategy(memoryBudget: 100)
        assertClose(try tight.solve(u, b), try reference(u, b), 1e-8)
        XCTAssertEqual(tight.lastReport?.method, "gmres")
        // Indefinite: Cholesky → LU.
        let indefinite = try spd(6).addingIdentity(scaledBy: -2.5).declaringSymmetric()
        let strategy = LinearSolveStrategy()
        assertClose(try strategy.solve(indefinite, rhs(36)), try reference(indefinite, rhs(36)), 1e-10)
        XCTAssertEqual(strategy.lastReport?.method, "lu")
        XCTAssertTrue(strategy.lastReport!.fellBack)
        // Singular and consistent (a path-graph Laplacian, b = A·1): neither direct method
        // gives an acceptable answer; MINRES or CG does, with the residual checked.
        let path = try CSRMatrix.gridGraphLaplacian2D(rows: 1, columns: 30)
        let consistent = try path.multiply((0..<30).map { Double($0) })
        let singular = LinearSolveStrategy()
        let x = try singular.solve(path, consistent)
        XCTAssertLessThan(path.relativeResidual(x, consistent), 1e-6)
        XCTAssertTrue(["minres", "cg"].contains(singular.lastReport!.method), singular.lastReport!.reason)
        XCTAssertTrue(singular.lastReport!.fellBack)
        // No transpose product.
        let forwardOnly = try ClosureOperator(rows: 144, columns: 144) { x, y in u.multiply(x, into: y) }
        XCTAssertThrowsError(try LinearSolveStrategy(.gmres).solve(forwardOnly, b, transposed: true)) { error in
            XCTAssertEqual(error as? LinearSolveError, .needsAdjointProduct("gmres"))
        }
    }

    func testEachRequestedMethodAndErrors() throws {
        let a = spd(12), u = unsymmetric(12), b = rhs(144)
        for method in [LinearSolveMethod.cholesky, .lu, .cg, .minres, .gmres, .bicgstab, .normalCG] {
            let matrix = method == .cholesky || method == .cg || method == .minres ? a : u
            let strategy = LinearSolveStrategy(method)
            assertClose(try strategy.solve(matrix, b), try reference(matrix, b), 1e-7)
            XCTAssertEqual(strategy.lastReport?.method, method.rawValue)
            XCTAssertLessThan(strategy.lastReport!.relativeResidual, 1e-7, method.rawValue)
        }
        let op = try ClosureOperator(rows: 144, columns: 144, symmetric: true) { x, y in a.multiply(x, into: y) }
        XCTAssertThrowsError(try LinearSolveStrategy(.cholesky).solve(op, b)) { error in
            XCTAssertEqual(error as? LinearSolveError, .needsExplicitMatrix("cholesky"))
        }
        let capped = LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-14, maxIterations: 2))
        XCTAssertThrowsError(try capped.solve(u, b)) { error in
            guard case LinearSolveError.notConverged = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try LinearSolveStrategy().solve(try CSRMatrix.zeros(rows: 2, columns: 3), [1, 2]))
    }

    /// A dense Gram matrix declared positive semidefinite, singular by a duplicated column:
    /// the automatic policy takes the rank-revealing Cholesky, which returns the minimum-norm
    /// least-squares solution (equal to the eigendecomposition's pseudo-inverse) with the rank
    /// in the report, as a value; at full rank the same solver is an ordinary Cholesky solve.
    func testRankRevealingDenseSolverGivesTheMinimumNormSolutionAndTheRank() throws {
        var random = SplitMix64(seed: 3)
        let rows = 30, k = 6
        var x = (0..<rows).map { _ in (0..<k).map { _ in random.nextGaussian() } }
        for i in 0..<rows { x[i][5] = x[i][1] }                       // a duplicated column
        var g = [Double](repeating: 0, count: k * k)
        for a in 0..<k { for b in 0..<k { g[b * k + a] = (0..<rows).reduce(0) { $0 + x[$1][a] * x[$1][b] } } }
        let rhs = (0..<k).map { _ in random.nextGaussian() }            // not in the range
        let op = try DenseMatrixOperator(columnMajor: g, dimension: k, symmetric: true, positiveSemidefinite: true)
        let strategy = LinearSolveStrategy()
        let z = try strategy.solve(op, rhs)
        let report = try XCTUnwrap(strategy.lastReport)
        XCTAssertEqual(report.method, "pseudo-inverse")
        XCTAssertEqual(report.rank, k - 1)
        XCTAssertTrue(report.fellBack)
        XCTAssertTrue(report.reason.contains("positive semidefinite"), report.reason)
        XCTAssertLessThan(report.relativeResidual, 1e-10, "the normal-equation residual of the least-squares answer")
        let reference = try DenseFactorization(symmetricEigenOf: g, dimension: k).solve(rhs)
        for j in 0..<k { XCTAssertEqual(z[j], reference[j], accuracy: 1e-9 * max(1, abs(reference[j]))) }
        // Full rank: the ordinary solution, rank k, no fallback.
        for i in 0..<rows { x[i][5] = random.nextGaussian() }
        for a in 0..<k { for b in 0..<k { g[b * k + a] = (0..<rows).reduce(0) { $0 + x[$1][a] * x[$1][b] } } }
        let full = try DenseMatrixOperator(columnMajor: g, dimension: k, symmetric: true, positiveSemidefinite: true)
        let solved = try strategy.solve(full, rhs)
        XCTAssertEqual(strategy.lastReport?.method, "dense cholesky")
        XCTAssertEqual(strategy.lastReport?.rank, k)
        XCTAssertEqual(strategy.lastReport?.fellBack, false)
        XCTAssertLessThan(full.relativeResidual(solved, rhs), 1e-12)
        // Requested directly it refuses an operator not declared symmetric.
        let unsymmetric = try DenseMatrixOperator(columnMajor: g, dimension: k, symmetric: false)
        XCTAssertThrowsError(try LinearSolveStrategy(solver: RankRevealingDenseSolver()).solve(unsymmetric, rhs))
    }

    /// One place sets the tolerance: a strategy's options are applied to an iterative solver
    /// (and reached: the true residual meets them); without them the solver's own are the
    /// strategy's; a direct solver keeps 10⁻¹⁰.
    func testOnePlaceSetsTheTolerance() throws {
        let a = try CSRMatrix.gridLaplacian2D(40, shift: 0.01).declaringSymmetric()
        let b = (0..<a.rows).map { Double($0 % 7) - 3 }
        let solver = KrylovSolver(.cg, preconditioner: .jacobi)      // its own default: 10⁻⁸
        let given = LinearSolveStrategy(solver: solver, options: KrylovOptions(relativeTolerance: 1e-12))
        XCTAssertEqual(given.solver.krylovOptions?.relativeTolerance, 1e-12)
        XCTAssertEqual(given.options.relativeTolerance, 1e-12)
        let x = try given.solve(a, b)
        XCTAssertLessThanOrEqual(a.relativeResidual(x, b), 1e-12)
        let own = LinearSolveStrategy(solver: solver)
        XCTAssertEqual(own.options.relativeTolerance, solver.options.relativeTolerance)
        XCTAssertEqual(LinearSolveStrategy(solver: CholeskySolver()).options.relativeTolerance, 1e-10)
        var policy = AutomaticLinearSolver()
        policy.options = KrylovOptions(relativeTolerance: 1e-6)
        XCTAssertEqual(LinearSolveStrategy(solver: policy, options: KrylovOptions(relativeTolerance: 1e-11)).solver.krylovOptions?.relativeTolerance, 1e-11)
    }

    /// Rebuilding an AMG hierarchy for an equal pattern with a new identity names the way to
    /// keep the identity.
    func testAMGPatternMismatchNamesReplacingValues() throws {
        let a = try CSRMatrix.gridLaplacian2D(12, shift: 0.1).declaringSymmetric()
        let amg = try SmoothedAggregationAMG(a)
        let copy = try CSRMatrix.gridLaplacian2D(12, shift: 0.2).declaringSymmetric()
        XCTAssertThrowsError(try amg.rebuilt(for: copy)) { error in
            XCTAssertTrue("\(error)".contains("replacingValues"), "\(error)")
        }
        XCTAssertNoThrow(try amg.rebuilt(for: try a.replacingValues(a.values.map { 2 * $0 })))
    }

    /// A matrix-free operator's state cannot be reused, so the strategy does not keep it:
    /// keeping it kept the operator's closure, and whatever it captured (the strategy itself,
    /// through the model that owns it), alive — the cycle LeakSanitizer found in `paper
    /// theorem1`. The answer is checked against UMFPACK.
    func testStrategyDoesNotRetainAMatrixFreeOperator() throws {
        final class Captured { let a: CSRMatrix; init(_ a: CSRMatrix) { self.a = a } }
        let a = spd(12)
        let b = rhs(a.rows)
        let strategy = LinearSolveStrategy()
        weak var weakCaptured: Captured?
        var x: [Double] = []
        do {
            let captured = Captured(a)
            weakCaptured = captured
            let op = try ClosureOperator(rows: a.rows, columns: a.columns, symmetric: true, positiveDefinite: true) { v, out in
                captured.a.multiply(v, into: out)
            }
            x = try strategy.solve(op, b)
        }
        XCTAssertNil(weakCaptured, "the strategy kept the matrix-free operator's closure alive")
        XCTAssertNil(strategy.preparedState)
        let expected = try reference(a, b)
        XCTAssertLessThan(zip(x, expected).map { abs($0 - $1) }.max()!, 1e-8)
        // An explicit matrix's state is kept (and reused by the next solve).
        _ = try strategy.solve(a, b)
        XCTAssertNotNil(strategy.preparedState)
        _ = try strategy.solve(a, b)
        XCTAssertEqual(strategy.counts.preparations, 2)
    }

    /// The AMG probe measures CG + AMG's rate on the operator; when the policy takes AMG the
    /// probe's hierarchy is the solver's (one set-up), and the answer equals a direct solve.
    func testAMGProbeDecidesAndItsHierarchyIsReused() throws {
        // A badly conditioned 2-D Laplacian (I + 10⁴ L): Jacobi-CG needs hundreds of
        // iterations; AMG's measured rate makes it the cheaper Krylov plan at 10⁵ unknowns.
        let k = 320
        let l = try CSRMatrix.gridLaplacian2D(k, shift: 0)
        let shifted = try l.replacingValues(l.values.map { 1e4 * $0 }).addingIdentity(scaledBy: 1).declaringSymmetric()
        // A memory budget below CHOLMOD's predicted factor leaves Jacobi-CG and CG + AMG.
        var policy = AutomaticLinearSolver(memoryBudget: 8 << 20)
        policy.expectedSolves = 4
        let choice = try policy.choice(for: shifted)
        XCTAssertEqual(choice.preconditioner, "amg", choice.reason)
        XCTAssertTrue(choice.reason.contains("CG + AMG probe"), choice.reason)
        // The chosen solver hands out the probe's hierarchy (the same object each time) for this
        // operator, and builds a new one for another.
        let first = try choice.solver.prepare(shifted).preconditionerReport?.amg
        let second = try choice.solver.prepare(shifted).preconditionerReport?.amg
        XCTAssertNotNil(first)
        XCTAssertTrue(first === second)
        let other = try shifted.replacingValues(shifted.values.map { 2 * $0 }).declaringSymmetric()
        XCTAssertFalse(try choice.solver.prepare(other).preconditionerReport?.amg === first)
        let strategy = LinearSolveStrategy(solver: policy)
        let b = rhs(shifted.rows)
        let x = try strategy.solve(shifted, b)
        XCTAssertLessThan(shifted.relativeResidual(x, b), 1e-9)
        let expected = try reference(shifted, b)
        XCTAssertLessThan(zip(x, expected).map { abs($0 - $1) }.max()! / expected.map(abs).max()!, 1e-7)
    }

    /// One vocabulary: every spec parses to its canonical form and back, builds the named solver,
    /// and the solvers agree with UMFPACK; malformed specs are refused with the vocabulary.
    func testLinearSolverSpecParsesBuildsAndSolves() throws {
        let a = spd(15)
        let b = rhs(a.rows)
        let expected = try reference(a, b)
        let cases: [(String, String)] = [("auto", "auto"), ("Automatic", "auto"), ("cholesky", "cholesky"), ("lu", "lu"),
                                         ("dense", "dense"), ("cg", "cg"), ("cg+none", "cg"), ("cg+amg", "cg+amg"),
                                         ("CG+Jacobi", "cg+jacobi"), ("minres+jacobi", "minres+jacobi"), ("gmres+ilu0", "gmres+ilu0"),
                                         ("bicgstab+ic0", "bicgstab+ic0"), ("cg+ssor", "cg+ssor"), ("cg+ict", "cg+ict"),
                                         ("lsqr", "lsqr"), ("lsqr+jacobi", "lsqr+jacobi"), ("normal-cg", "normal-cg")]
        for (text, canonical) in cases {
            let spec = try LinearSolverSpec(parsing: text)
            XCTAssertEqual(spec.description, canonical, text)
            XCTAssertEqual(try LinearSolverSpec(parsing: spec.description), spec)
            let options = KrylovOptions(relativeTolerance: 1e-12, maxIterations: 20_000)
            let strategy = LinearSolveStrategy(solver: spec.solver(options: options), options: options)
            let x = try strategy.solve(a, b)
            XCTAssertLessThan(zip(x, expected).map { abs($0 - $1) }.max()! / expected.map(abs).max()!, 1e-8, text)
            if case let .krylov(method, preconditioner) = spec.kind {
                XCTAssertEqual(strategy.lastReport?.method, method.rawValue, text)
                XCTAssertEqual(strategy.lastReport?.preconditioner, preconditioner.rawValue, text)
            }
        }
        for bad in ["", "cg+", "+amg", "cg+amg+jacobi", "cg+gamg", "cholmod", "cg+ilu0", "normal-cg+jacobi", "lsqr+amg"] {
            XCTAssertThrowsError(try LinearSolverSpec(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("cg") || "\(error)".contains("preconditioner"), "\(error)")
            }
        }
    }
}
