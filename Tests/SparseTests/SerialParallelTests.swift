import XCTest
@testable import Sparse

/// Serial against parallel for the kernels that split work across threads: the answers agree to
/// rounding (parallel sums add in another order) and patterns are identical. Parallel runs force
/// the parallel paths on small problems (`withParallelKernels`: 3 threads, no serial threshold).
final class SerialParallelTests: XCTestCase {
    func serial<T>(_ body: () throws -> T) rethrows -> T {
        let saved = (SparseThreads.count, SparseThreads.serialThreshold)
        SparseThreads.count = 1
        defer { SparseThreads.count = saved.0; SparseThreads.serialThreshold = saved.1 }
        return try body()
    }

    func parallel<T>(_ body: () throws -> T) rethrows -> T {
        var result: T?
        try withParallelKernels(threads: 3) { result = try body() }
        return result!
    }

    /// Power-law columns (a few very dense, most nearly empty): uneven work per thread.
    func design() throws -> CSRMatrix {
        try CSRMatrix.randomPowerLaw(rows: 700, columns: 500, nonzerosPerRow: 9, exponent: 1.8, seed: 12)
    }

    func testSpMVAndTransposedProductsOnCSRAndCSC() throws {
        let x = try design(), csc = x.toCSC()
        let w = RandomMatrices.vector(x.columns, seed: 1), r = RandomMatrices.vector(x.rows, seed: 2)
        let products: [(String, () throws -> [Double])] = [("CSR Xw", { try x.multiply(w) }), ("CSR Xᵀr", { try x.multiplyTransposed(r) }),
                                                           ("CSC Xw", { try csc.multiply(w) }), ("CSC Xᵀr", { try csc.multiplyTransposed(r) })]
        for (name, product) in products {
            let many = try parallel { try product() }
            assertClose(many, try serial { try product() }, relative: 1e-14)
            XCTAssertTrue(many.allSatisfy(\.isFinite), name)
        }
    }

    func testSpGEMMAndGramHaveOnePatternAndTheSameValues() throws {
        let x = try design()
        let xt = x.transposed()
        let csc = x.toCSC()
        let makers: [(String, () throws -> CSRMatrix)] = [("XᵀX by SpGEMM", { try xt.multiplying(x) }), ("Gram", { try csc.gram(shift: 0.5) })]
        for (name, make) in makers {
            let a = try serial { try make() }, b = try parallel { try make() }
            XCTAssertEqual(a.rowPointers, b.rowPointers, name)
            XCTAssertEqual(a.columnIndices, b.columnIndices, name)
            assertClose(b.values, a.values, relative: 1e-14)
        }
    }

    func testConjugateGradientsFusedPassesAgree() throws {
        let x = try design()
        let a = try x.toCSC().gram(shift: 1.0).declaringSymmetric()
        let b = RandomMatrices.vector(a.rows, seed: 3)
        let options = KrylovOptions(relativeTolerance: 1e-12)
        let one = try serial { try ConjugateGradient(options: options).solve(a, b) }
        let many = try parallel { try ConjugateGradient(options: options).solve(a, b) }
        XCTAssertEqual(one.status, .converged)
        XCTAssertEqual(many.status, .converged)
        XCTAssertLessThanOrEqual(abs(one.iterations - many.iterations), 2, "the same iteration to rounding")
        assertClose(many.solution, one.solution, relative: 1e-10)
        XCTAssertLessThanOrEqual(many.relativeResidual, 1e-12)
    }
}
