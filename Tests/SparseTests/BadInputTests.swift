import XCTest
@testable import Sparse

/// The bad-input catalogue beyond the file formats: empty and zero-length objects, NaN/Inf
/// at the entry points, shape mismatches, allocation limits. Each gives a typed error or a
/// well-defined result, never a crash.
final class BadInputTests: XCTestCase {
    func testEmptyMatricesAndZeroLengthVectors() throws {
        let empty = try CSRMatrix.zeros(rows: 0, columns: 0)
        XCTAssertEqual(try empty.multiply([]), [])
        XCTAssertEqual(try empty.multiplyTransposed([]), [])
        XCTAssertEqual(empty.transposed(), empty)
        for result in [try ConjugateGradient().solve(empty, []), try MINRES().solve(empty, []),
                       try GMRES().solve(empty, []), try BiCGSTAB().solve(empty, []), try LSQR().solve(empty, [])] {
            XCTAssertEqual(result.status, .converged)
            XCTAssertEqual(result.solution, [])
        }
        let wide = try CSRMatrix.zeros(rows: 0, columns: 3)
        XCTAssertEqual(try LSQR().solve(wide, []).solution, [0, 0, 0])
        // The direct solvers either handle n = 0 or refuse it with a typed error.
        do {
            let f = try CholeskyFactorization(symmetric: empty)
            try f.factorize()
            XCTAssertEqual(try f.solve([], columns: 1), [])
        } catch is SparseError {}
        do {
            let lu = try LUFactorization(empty)
            try lu.factorize()
        } catch is SparseError {}
        let file = writeText("%%MatrixMarket matrix coordinate real general\n0 0 0\n", to: "empty.mtx")
        XCTAssertEqual(try MatrixMarket.read(path: file).matrix.rows, 0)
        XCTAssertEqual(try LIBSVM.read(path: writeText("", to: "empty.svm")).features.rows, 0)
    }

    func testShapeMismatchAtEntryPoints() throws {
        let a = try CSRMatrix.gridLaplacian2D(4, shift: 1)
        let short = [Double](repeating: 1, count: 15)
        func isMismatch(_ body: () throws -> Any) {
            XCTAssertThrowsError(try body()) { error in
                guard case SparseError.dimensionMismatch = error else { return XCTFail("\(error)") }
            }
        }
        isMismatch { try a.multiply(short) }
        isMismatch { try a.multiplyTransposed(short) }
        isMismatch { try a.toCSC().multiply(short) }
        isMismatch { try a.replacingValues([1]) }
        isMismatch { try a.adding(CSRMatrix.identity(3)) }
        isMismatch { try a.multiplying(CSRMatrix.identity(3)) }
        isMismatch { try a.scalingRows(by: short) }
        isMismatch { try ConjugateGradient().solve(a, short) }
        isMismatch { try GMRES().solve(a, [Double](repeating: 1, count: 16), initialGuess: short) }
        isMismatch { try ConjugateGradient().solve(a, [Double](repeating: 1, count: 16), preconditioner: CSRMatrix.identity(3)) }
        isMismatch { try GramOperator(a.toCSC(), weights: short) }
        let factor = try CholeskyFactorization(symmetric: a)
        try factor.factorize()
        isMismatch { try factor.solve(short) }
        isMismatch { try factor.refactor(values: short) }
        let lu = try LUFactorization(a)
        try lu.factorize()
        isMismatch { try lu.solve(short, transposed: true) }
    }

    func testNonFiniteValuesAreRefusedWithTheirIndex() throws {
        let a = try CSRMatrix.gridLaplacian2D(3, shift: 1)
        var b = [Double](repeating: 1, count: 9)
        b[4] = .nan
        XCTAssertThrowsError(try ConjugateGradient().solve(a, b)) { error in
            XCTAssertEqual(error as? SparseError, .nonFinite(what: "right-hand side", index: 4))
        }
        XCTAssertThrowsError(try a.replacingValues(a.values.enumerated().map { $0.offset == 7 ? .infinity : $0.element })) { error in
            XCTAssertEqual(error as? SparseError, .nonFinite(what: "values", index: 7))
        }
        let factor = try CholeskyFactorization(symmetric: a)
        try factor.factorize()
        XCTAssertThrowsError(try factor.solve(b))
        XCTAssertThrowsError(try factor.factorize(shift: .nan))
        XCTAssertThrowsError(try CSRMatrix.diagonal([1, .nan]))
        XCTAssertThrowsError(try ShiftedOperator(a, beta: .infinity))
        XCTAssertThrowsError(try KrylovOptionsCheck.validate(KrylovOptions(relativeTolerance: .nan)))
    }

    func testReadersRefuseDimensionsOverTheAllocationLimit() throws {
        let saved = SparseLimits.maximumAllocationBytes
        SparseLimits.maximumAllocationBytes = 1 << 20
        defer { SparseLimits.maximumAllocationBytes = saved }
        let big = writeText("%%MatrixMarket matrix coordinate real general\n1000000 1 1\n1 1 1\n", to: "big.mtx")
        XCTAssertThrowsError(try MatrixMarket.read(path: big)) { error in
            guard case let SparseIOError.tooLarge(_, line, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 2)
        }
        let wide = writeText("1 1:1\n0 2000000:1\n", to: "wide.svm")
        XCTAssertThrowsError(try LIBSVM.read(path: wide)) { error in
            guard case let SparseIOError.tooLarge(_, line, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 2)
        }
    }
}

enum KrylovOptionsCheck {
    static func validate(_ options: KrylovOptions) throws { _ = try options.validate(n: 1) }
}
