import XCTest
import ImplicitSparse

/// The implicit layer is its own issue; this checks that the umbrella module re-exports the
/// sparse core and the preconditioners working end to end (a ridge system solved two ways).
final class ModuleTests: XCTestCase {
    func testRidgeNormalEquationsThroughReexports() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 300, columns: 80, nonzerosPerRow: 6, seed: 1)
        let y = (0..<300).map { Double($0 % 5) - 2 }
        let lambda = 0.5
        let rhs = try x.multiplyTransposed(y)
        let factor = try CholeskyFactorization(gramOf: x)
        try factor.factorize(shift: lambda)
        let direct = try factor.solve(rhs)
        let op = try GramOperator(x.toCSC(), shift: lambda)
        let cg = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-12))
            .solve(op, rhs, preconditioner: try JacobiPreconditioner(op))
        XCTAssertEqual(cg.status, .converged)
        let diff = zip(direct, cg.solution).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(diff, 1e-8 * (direct.map(abs).max()! + 1))
        XCTAssertFalse(ImplicitSparseVersion.string.isEmpty)
    }
}
