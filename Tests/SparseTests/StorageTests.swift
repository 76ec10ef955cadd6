import XCTest
@testable import Sparse

final class StorageTests: XCTestCase {
    func testCOOSumsDuplicatesAndSorts() throws {
        var builder = try COOBuilder(rows: 3, columns: 4)
        try builder.append(row: 2, column: 3, value: 1)
        try builder.append(row: 0, column: 2, value: 2)
        try builder.append(row: 0, column: 0, value: 3)
        try builder.append(row: 0, column: 2, value: 5)
        let csr = builder.makeCSR()
        XCTAssertEqual(csr.rowPointers, [0, 2, 2, 3])
        XCTAssertEqual(csr.columnIndices, [0, 2, 3])
        XCTAssertEqual(csr.values, [3, 7, 1])
        let csc = builder.makeCSC()
        XCTAssertEqual(csc.toCSR(), csr)
        XCTAssertThrowsError(try builder.append(row: 3, column: 0, value: 1))
        XCTAssertThrowsError(try builder.append(row: 0, column: 0, value: .nan))
    }

    func testConstructorRejectsEachBrokenInvariant() {
        func attempt(_ p: [Int], _ i: [Int32], _ v: [Double], rows: Int = 2, columns: Int = 3) -> SparseError? {
            do { _ = try CSRMatrix(rows: rows, columns: columns, rowPointers: p, columnIndices: i, values: v); return nil }
            catch let error as SparseError { return error } catch { return nil }
        }
        XCTAssertNil(attempt([0, 1, 2], [0, 2], [1, 2]))
        let cases: [(String, SparseError?)] = [
            ("pointer count", attempt([0, 1], [0], [1])),
            ("first pointer", attempt([1, 1, 2], [0, 2], [1, 2])),
            ("decreasing", attempt([0, 2, 1], [0, 2], [1, 2])),
            ("out of range", attempt([0, 1, 2], [0, 3], [1, 2])),
            ("negative", attempt([0, 1, 2], [0, -1], [1, 2])),
            ("unsorted", attempt([0, 2, 2], [2, 0], [1, 2])),
            ("duplicate", attempt([0, 2, 2], [1, 1], [1, 2])),
            ("value count", attempt([0, 1, 2], [0, 2], [1])),
        ]
        for (name, error) in cases {
            guard case .invalidStructure = error else { return XCTFail("\(name): expected invalidStructure, got \(String(describing: error))") }
        }
        XCTAssertEqual(attempt([0, 1, 2], [0, 2], [1, .infinity]), .nonFinite(what: "values", index: 1))
        guard case .invalidDimension = attempt([0], [], [], rows: -1) else { return XCTFail("negative rows") }
        guard case .invalidDimension = attempt([0], [], [], rows: 0, columns: Int(Int32.max) + 1) else { return XCTFail("huge columns") }
        XCTAssertThrowsError(try CSCMatrix(rows: 2, columns: 2, columnPointers: [0, 1, 2], rowIndices: [0, 5], values: [1, 1]))
    }

    func testTransposeSelectionAndSum() throws {
        let a = RandomMatrices.sparse(rows: 7, columns: 5, density: 0.4, seed: 1)
        let dense = a.toDenseRowMajor()
        XCTAssertEqual(a.transposed().toDenseRowMajor(), Dense.transpose(dense, rows: 7, columns: 5))
        XCTAssertEqual(a.toCSC().toCSR(), a)
        XCTAssertEqual(a.transposed().transposed(), a)
        let rows = try a.selectingRows([4, 1])
        XCTAssertEqual(rows.toDenseRowMajor(), Array(dense[20..<25]) + Array(dense[5..<10]))
        let cols = try a.selectingColumns([0, 3])
        for i in 0..<7 { XCTAssertEqual(cols[i, 0], a[i, 0]); XCTAssertEqual(cols[i, 1], a[i, 3]) }
        let cscCols = try a.toCSC().selectingColumns([3, 0])
        for i in 0..<7 { XCTAssertEqual(cscCols[i, 0], a[i, 3]); XCTAssertEqual(cscCols[i, 1], a[i, 0]) }
        XCTAssertThrowsError(try a.selectingColumns([3, 1]))
        XCTAssertThrowsError(try a.selectingRows([7]))
        let b = RandomMatrices.sparse(rows: 7, columns: 5, density: 0.4, seed: 2)
        let sum = try a.adding(b, alpha: 2, beta: -3)
        let expected = zip(dense, b.toDenseRowMajor()).map { 2 * $0 - 3 * $1 }
        XCTAssertEqual(sum.toDenseRowMajor(), expected)
        XCTAssertThrowsError(try a.adding(a.transposed()))
        XCTAssertEqual(a.scaled(by: 2).values, a.values.map { 2 * $0 })
    }

    func testSpMVMatchesDenseSerialAndParallel() throws {
        let a = RandomMatrices.sparse(rows: 300, columns: 200, density: 0.05, seed: 3)
        let x = RandomMatrices.vector(200, seed: 4), z = RandomMatrices.vector(300, seed: 5)
        let dense = a.toDenseRowMajor()
        let ax = Dense.multiply(dense, rows: 300, columns: 200, x)
        let atz = Dense.multiply(Dense.transpose(dense, rows: 300, columns: 200), rows: 200, columns: 300, z)
        assertClose(try a.multiply(x), ax, relative: 1e-14)
        assertClose(try a.multiplyTransposed(z), atz, relative: 1e-14)
        assertClose(try a.toCSC().multiply(x), ax, relative: 1e-14)
        assertClose(try a.toCSC().multiplyTransposed(z), atz, relative: 1e-14)
        try withParallelKernels(threads: 3) {
            assertClose(try a.multiply(x), ax, relative: 1e-14)
            assertClose(try a.multiplyTransposed(z), atz, relative: 1e-14)
            assertClose(try a.toCSC().multiply(x), ax, relative: 1e-14)
            // accumulate: y += Ax
            var y = [Double](repeating: 1, count: 300)
            x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { a.multiply(xb, into: $0, accumulate: true) } }
            assertClose(y, ax.map { $0 + 1 }, relative: 1e-14)
        }
        XCTAssertThrowsError(try a.multiply(z))
    }

    func testGramExplicitAndOperatorAgreeWithDense() throws {
        let x = RandomMatrices.sparse(rows: 40, columns: 25, density: 0.15, seed: 6).toCSC()
        let weights = RandomMatrices.vector(40, seed: 7).map { abs($0) }
        let g = try x.gram(weights: weights, shift: 0.3)
        XCTAssertTrue(g.isSymmetric())
        let xd = x.toCSR().toDenseRowMajor()
        for j in 0..<25 {
            for k in 0..<25 {
                var s = j == k ? 0.3 : 0
                for i in 0..<40 { s += xd[i * 25 + j] * weights[i] * xd[i * 25 + k] }
                XCTAssertEqual(g[j, k], s, accuracy: 1e-12)
            }
        }
        let op = try GramOperator(x, weights: weights, shift: 0.3)
        let v = RandomMatrices.vector(25, seed: 8)
        assertClose(try op.apply(v), try g.multiply(v), relative: 1e-13)
        assertClose(op.diagonal!, g.diagonalEntries(), relative: 1e-13)
        try withParallelKernels { assertClose(try x.gram(weights: weights, shift: 0.3).toDenseRowMajor(), g.toDenseRowMajor(), relative: 1e-14) }
    }

    func testLaplacianAndGrid() throws {
        let w = try CSRMatrix.randomPowerLawGraph(nodes: 200, edges: 600, seed: 9)
        let l = try w.graphLaplacian()
        XCTAssertTrue(l.isSymmetric())
        let ones = [Double](repeating: 1, count: 200)
        XCTAssertLessThan(try l.multiply(ones).map(abs).max()!, 1e-12)  // L·1 = 0
        let unsymmetric = try CSRMatrix(rows: 2, columns: 2, rowPointers: [0, 1, 1], columnIndices: [1], values: [1])
        XCTAssertThrowsError(try unsymmetric.graphLaplacian())
        let grid = try CSRMatrix.gridLaplacian2D(3, shift: 1)
        XCTAssertEqual(grid.nonzeroCount, 9 + 2 * 12)
        XCTAssertEqual(grid[4, 4], 5)
        XCTAssertEqual(grid[4, 1], -1)
        XCTAssertEqual(grid[0, 4], 0)
        XCTAssertTrue(grid.isSymmetric(tolerance: 0))
        let grid3 = try CSRMatrix.gridLaplacian3D(3)
        XCTAssertEqual(grid3[13, 13], 6)
        XCTAssertEqual(grid3.nonzeroCount, 27 + 2 * 54)
    }

    func testOperators() throws {
        let a = RandomMatrices.spd(30, density: 0.2, seed: 10)
        let shifted = try ShiftedOperator(a, alpha: 2, beta: 0.5)
        let x = RandomMatrices.vector(30, seed: 11)
        let expected = try a.multiply(x).enumerated().map { 2 * $0.element + 0.5 * x[$0.offset] }
        assertClose(try shifted.apply(x), expected, relative: 1e-14)
        var y = [Double](repeating: 1, count: 30)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { shifted.apply(xb, into: $0, transposed: false, accumulate: true) } }
        assertClose(y, expected.map { $0 + 1 }, relative: 1e-14)
        let closure = try ClosureOperator(rows: 30, columns: 30, symmetric: true) { input, output in
            a.multiply(input, into: output)
        }
        assertClose(try closure.apply(x, transposed: true), try a.multiply(x), relative: 1e-15)
        XCTAssertThrowsError(try ClosureOperator(rows: 2, columns: 3, symmetric: true) { _, _ in })
    }
}
