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

/// The tree-like generator: symmetric, unit weights, connected, n − 1 tree edges plus the
/// extra ones (less merged duplicates), degrees heavy-tailed.
final class TreeLikeGraphTests: XCTestCase {
    func testTreeLikeGraphShape() throws {
        let n = 5_000
        let a = try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: 250, seed: 3)
        XCTAssertEqual(a.rows, n)
        XCTAssertTrue(a.isSymmetric(tolerance: 0))
        XCTAssertTrue(a.values.allSatisfy { $0 == 1 })
        let edges = a.nonzeroCount / 2
        XCTAssertGreaterThanOrEqual(edges, n - 1)
        XCTAssertLessThanOrEqual(edges, n - 1 + 250)
        // Connected: a breadth-first search from node 0 reaches every node.
        var seen = [Bool](repeating: false, count: n), queue = [0], head = 0
        seen[0] = true
        while head < queue.count {
            let i = queue[head]; head += 1
            for k in a.rowPointers[i]..<a.rowPointers[i + 1] {
                let j = Int(a.columnIndices[k])
                if !seen[j] { seen[j] = true; queue.append(j) }
            }
        }
        XCTAssertEqual(queue.count, n)
        let degrees = (0..<n).map { a.rowPointers[$0 + 1] - a.rowPointers[$0] }
        XCTAssertGreaterThan(degrees.max()!, 20 * 2, "a hub far above the mean degree of about 2")
    }
}
