import XCTest
@testable import Preconditioners
import Sparse

/// The automatic policy's prepared state for large symmetric matrices decides in its first
/// solve: the Jacobi-CG probe is that solve's first iterations (on its own right-hand side).
/// Checked against independent runs: the plain Jacobi-CG solve (the same iterations and
/// answer, bit for bit, when Jacobi-CG is chosen), CHOLMOD, dense residuals.
final class ProbingPolicyTests: XCTestCase {
    /// I·shift + λ L of an adjacency (a symmetric, diagonally dominant M-matrix).
    func system(_ w: CSRMatrix, lambda: Double, shift: Double = 1) throws -> CSRMatrix {
        var builder = try COOBuilder(rows: w.rows, columns: w.columns)
        for i in 0..<w.rows {
            var degree = 0.0
            for k in w.rowPointers[i]..<w.rowPointers[i + 1] where Int(w.columnIndices[k]) != i {
                try builder.append(row: i, column: Int(w.columnIndices[k]), value: -lambda * w.values[k])
                degree += w.values[k]
            }
            try builder.append(row: i, column: i, value: shift + lambda * degree)
        }
        return builder.makeCSR().declaringSymmetric()
    }

    func policy(_ rtol: Double = 1e-10) -> AutomaticLinearSolver {
        var policy = AutomaticLinearSolver(options: KrylovOptions(relativeTolerance: rtol, maxIterations: 20_000))
        policy.smallDirectNonzeros = 10_000   // the probe's path at test sizes
        policy.expectedSolves = 2
        return policy
    }

    func rhs(_ n: Int, seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<n).map { _ in random.nextUniform() - 0.5 }
    }

    /// An easy power-law system: Jacobi-CG is chosen at the checkpoint and the run goes on —
    /// the same iterations and the same answer as a plain Jacobi-CG solve (the probe costs
    /// nothing), the residual certified from a true product.
    func testJacobiChosenRunGoesOnAsThePlainSolve() throws {
        let a = try system(try CSRMatrix.randomPowerLawGraph(nodes: 20_000, edges: 30_000, exponent: 2.2, seed: 5), lambda: 1)
        let b = rhs(a.rows, seed: 1)
        let state = try policy().prepare(a)
        XCTAssertTrue(state.reason.contains("first solve"), state.reason)
        let outcome = try state.solve(b, transposed: false, initialGuess: nil)
        XCTAssertEqual(state.method, "cg")
        XCTAssertEqual(state.preconditioner, "jacobi")
        XCTAssertTrue(state.reason.contains("on the first solve's right-hand side"), state.reason)
        let plain = try KrylovSolver(.cg, preconditioner: .jacobi, options: policy().options).prepare(a)
            .solve(b, transposed: false, initialGuess: nil)
        XCTAssertGreaterThan(plain.iterations, policy().probeIterations, "the probe must stop inside the solve for this test")
        XCTAssertEqual(outcome.iterations, plain.iterations)
        XCTAssertEqual(outcome.solution, plain.solution)
        XCTAssertLessThanOrEqual(a.relativeResidual(outcome.solution, b), 1e-10)
        // The second solve (an adjoint's) uses the decided state.
        let c = rhs(a.rows, seed: 2)
        let second = try state.solve(c, transposed: true, initialGuess: nil)
        XCTAssertLessThanOrEqual(a.relativeResidual(second.solution, c), 1e-10)
        XCTAssertEqual(state.method, "cg")
    }

    /// A bipartite tree-like graph at λ = 100: Jacobi-CG needs hundreds of iterations and the
    /// factor has almost no fill, so CHOLMOD is chosen at the checkpoint; its answer (equal to a
    /// requested CHOLMOD solve to 1e-12) and its factor serve the next solve.
    func testCholeskyChosenAtTheCheckpoint() throws {
        let w = try CSRMatrix.randomTreeLikeGraph(nodes: 30_000, extraEdges: 3_000, bipartite: true, seed: 3)
        let a = try system(w, lambda: 100, shift: 0.01)
        let b = rhs(a.rows, seed: 4)
        let state = try policy().prepare(a)
        let outcome = try state.solve(b, transposed: false, initialGuess: nil)
        XCTAssertEqual(state.method, "cholesky", state.reason)
        XCTAssertTrue(state.reason.contains("on the first solve's right-hand side"), state.reason)
        XCTAssertEqual(outcome.iterations, 0)
        let direct = try CholeskySolver().prepare(a).solve(b, transposed: false, initialGuess: nil)
        let difference = zip(outcome.solution, direct.solution).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(difference / direct.solution.map(abs).max()!, 1e-12)
        XCTAssertLessThanOrEqual(a.relativeResidual(outcome.solution, b), 1e-12)
        let factor = try XCTUnwrap(state.details.cholesky)
        let c = rhs(a.rows, seed: 5)
        let second = try state.solve(c, transposed: false, initialGuess: nil)
        XCTAssertTrue(state.details.cholesky === factor, "the second solve uses the same factor")
        XCTAssertLessThanOrEqual(a.relativeResidual(second.solution, c), 1e-12)
    }

    /// A grid at λ = 1000: CG + AMG is chosen after its probe, which continues from the
    /// Jacobi-CG probe's iterate; the chosen solve starts from the AMG probe's iterate and
    /// its iteration count includes both probes. Checked against CHOLMOD.
    func testAMGChosenContinuesFromTheProbes() throws {
        let a = try CSRMatrix.gridGraphLaplacian2D(rows: 300, columns: 300).scaled(by: 1000).addingIdentity(scaledBy: 1)
            .declaringSymmetric()
        let b = rhs(a.rows, seed: 6)
        let state = try policy().prepare(a)
        let outcome = try state.solve(b, transposed: false, initialGuess: nil)
        XCTAssertEqual(state.method, "cg", state.reason)
        XCTAssertEqual(state.preconditioner, "amg", state.reason)
        XCTAssertTrue(state.reason.contains("continuing the first solve"), state.reason)
        XCTAssertGreaterThan(outcome.iterations, policy().probeIterations + policy().amgProbeIterations)
        XCTAssertLessThanOrEqual(a.relativeResidual(outcome.solution, b), 1e-10)
        let direct = try CholeskySolver().prepare(a).solve(b, transposed: false, initialGuess: nil)
        let difference = zip(outcome.solution, direct.solution).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(difference / direct.solution.map(abs).max()!, 1e-8)
    }

    /// A symmetric matrix with a positive diagonal that is not positive definite: the probe's
    /// CG cannot price Jacobi-CG; the decision falls through CHOLMOD (a pivot not positive) to
    /// UMFPACK LU, whose answer is certified by its residual.
    func testIndefiniteMatrixIsSolvedByTheFallbacks() throws {
        let n = 20_000
        var builder = try COOBuilder(rows: n, columns: n)
        for i in 0..<n {
            try builder.append(row: i, column: i, value: 1)
            if i + 1 < n {
                try builder.append(row: i, column: i + 1, value: 0.9)
                try builder.append(row: i + 1, column: i, value: 0.9)
            }
        }
        let a = builder.makeCSR().declaringSymmetric()
        let b = rhs(n, seed: 8)
        let state = try policy().prepare(a)
        let outcome = try state.solve(b, transposed: false, initialGuess: nil)
        XCTAssertLessThanOrEqual(a.relativeResidual(outcome.solution, b), 1e-10, state.reason)
        XCTAssertNotEqual(state.method, "cg", state.reason)
    }

    /// New values before the first solve are the ones decided and solved for; new values
    /// after it go to the decided state.
    func testUpdatesBeforeAndAfterTheFirstSolve() throws {
        let w = try CSRMatrix.randomPowerLawGraph(nodes: 20_000, edges: 30_000, exponent: 2.2, seed: 9)
        let a1 = try system(w, lambda: 1), a2 = try system(w, lambda: 3), a3 = try system(w, lambda: 0.5)
        let b = rhs(a1.rows, seed: 10)
        let state = try policy().prepare(a1)
        try state.update(a2)
        let first = try state.solve(b, transposed: false, initialGuess: nil)
        XCTAssertLessThanOrEqual(a2.relativeResidual(first.solution, b), 1e-10)
        try state.update(a3)
        let second = try state.solve(b, transposed: false, initialGuess: nil)
        XCTAssertLessThanOrEqual(a3.relativeResidual(second.solution, b), 1e-10)
        XCTAssertThrowsError(try state.update(try CSRMatrix.gridLaplacian2D(10, shift: 1)))
    }

    /// `probeOnFirstSolve = false` prepares the state `choice(for:)` describes, verbatim.
    func testEagerPreparationKeepsTheStatedChoice() throws {
        let a = try system(try CSRMatrix.randomPowerLawGraph(nodes: 20_000, edges: 30_000, exponent: 2.2, seed: 5), lambda: 1)
        var eager = policy()
        eager.probeOnFirstSolve = false
        let choice = try eager.choice(for: a)
        let state = try eager.prepare(a)
        XCTAssertEqual(state.reason, choice.reason)
        XCTAssertEqual(state.method, choice.method)
    }
}
