import XCTest
@testable import Sparse

final class CholeskyTests: XCTestCase {
    func testSolveAndLogDeterminantAgainstLAPACK() throws {
        for (n, seed) in [(60, UInt64(1)), (400, UInt64(2))] {
            let a = RandomMatrices.spd(n, density: 8.0 / Double(n), seed: seed)
            let dense = a.toDenseRowMajor()
            let b = RandomMatrices.vector(n, seed: seed + 10)
            for ordering in CholeskyFactorization.Ordering.allCases {
                // `given`: a caller's permutation (a pseudo-random one here); without one it is refused.
                var random = SplitMix64(seed: seed)
                let factor = ordering == .given
                    ? try CholeskyFactorization(symmetric: a, permutation: (0..<n).map { $0 }.shuffled(using: &random))
                    : try CholeskyFactorization(symmetric: a, ordering: ordering)
                if ordering == .given {
                    XCTAssertThrowsError(try CholeskyFactorization(symmetric: a, ordering: .given))
                }
                XCTAssertGreaterThan(factor.predictedFactorNonzeros, 0)
                try factor.factorize()
                assertClose(try factor.solve(b), Dense.solve(dense, b, n: n), relative: 1e-10)
                XCTAssertEqual(try factor.logDeterminant(), Dense.spdLogDeterminant(dense, n: n), accuracy: 1e-8 * Double(n))
            }
        }
    }

    func testSupernodalLogDeterminantOnGrid() throws {
        // A 2-D grid is large enough for CHOLMOD to pick a supernodal factor.
        let a = try CSRMatrix.gridLaplacian2D(60, shift: 0.5)
        let factor = try CholeskyFactorization(symmetric: a, kind: .supernodal)
        try factor.factorize()
        XCTAssertTrue(factor.isSupernodal)
        let simplicial = try CholeskyFactorization(symmetric: a, kind: .simplicial)
        try simplicial.factorize()
        XCTAssertFalse(simplicial.isSupernodal)
        let b = RandomMatrices.vector(a.rows, seed: 3)
        let x = try factor.solve(b)
        XCTAssertLessThan(KrylovSupport.relativeResidual(a, x, b), 1e-13)
        // Oracle: the same matrix factorized by simplicial-looking natural ordering differs in
        // storage but not in determinant; compare to a second method (LU's determinant).
        let lu = try LUFactorization(a)
        try lu.factorize()
        XCTAssertEqual(try factor.logDeterminant(), try lu.logAbsDeterminant().logAbs, accuracy: 1e-8 * Double(a.rows))
        XCTAssertEqual(try simplicial.logDeterminant(), try lu.logAbsDeterminant().logAbs, accuracy: 1e-8 * Double(a.rows))
    }

    func testMultipleRightHandSidesAndShift() throws {
        let n = 80
        let a = RandomMatrices.spd(n, density: 0.08, seed: 4)
        let factor = try CholeskyFactorization(symmetric: a)
        try factor.factorize(shift: 2.0)
        XCTAssertEqual(factor.shift, 2.0)
        let shifted = try a.addingIdentity(scaledBy: 2).toDenseRowMajor()
        let b1 = RandomMatrices.vector(n, seed: 5), b2 = RandomMatrices.vector(n, seed: 6)
        let x = try factor.solve(b1 + b2, columns: 2)
        assertClose(Array(x[0..<n]), Dense.solve(shifted, b1, n: n), relative: 1e-11)
        assertClose(Array(x[n..<2 * n]), Dense.solve(shifted, b2, n: n), relative: 1e-11)
        XCTAssertThrowsError(try factor.solve(b1, columns: 2))
        XCTAssertThrowsError(try factor.solve(b1.map { _ in Double.nan }))
    }

    func testRefactorWithNewValues() throws {
        let a = RandomMatrices.spd(100, density: 0.05, seed: 7)
        let factor = try CholeskyFactorization(symmetric: a)
        try factor.factorize()
        let a2 = try a.replacingValues(a.values.map { $0 * 3 })
        try factor.refactor(a2)
        let b = RandomMatrices.vector(100, seed: 8)
        assertClose(try factor.solve(b), Dense.solve(a2.toDenseRowMajor(), b, n: 100), relative: 1e-10)
        XCTAssertThrowsError(try factor.refactor(values: [1, 2, 3]))
        let other = RandomMatrices.spd(100, density: 0.05, seed: 9)
        XCTAssertThrowsError(try factor.refactor(other)) { error in
            guard case SparseError.patternMismatch = error else { return XCTFail("\(error)") }
        }
    }

    func testNotPositiveDefiniteNamesColumnAndKeepsPreviousFactor() throws {
        for (n, kind) in [(20, CholeskyFactorization.FactorKind.simplicial), (20, .supernodal), (3600, .simplicial), (3600, .supernodal)] {
            let a = n == 20 ? RandomMatrices.spd(n, density: 0.2, seed: 10) : try CSRMatrix.gridLaplacian2D(60, shift: 0.1)
            let factor = try CholeskyFactorization(symmetric: a, kind: kind)
            try factor.factorize()
            let b = RandomMatrices.vector(n, seed: 11)
            let before = try factor.solve(b)
            // Negate the matrix: every pivot is negative.
            XCTAssertThrowsError(try factor.refactor(a.scaled(by: -1))) { error in
                guard case let SparseError.notPositiveDefinite(column) = error else { return XCTFail("\(error)") }
                XCTAssertGreaterThanOrEqual(column, 0)
                XCTAssertLessThan(column, n)
            }
            XCTAssertTrue(factor.isFactorized)
            XCTAssertEqual(try factor.solve(b), before)
            // An indefinite matrix from the start.
            let indefinite = try a.addingIdentity(scaledBy: -1000)
            let f2 = try CholeskyFactorization(symmetric: indefinite, kind: kind)
            XCTAssertThrowsError(try f2.factorize()) { error in
                guard case SparseError.notPositiveDefinite = error else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try f2.solve(b))
        }
    }

    func testGramFormMatchesExplicitGram() throws {
        let x = RandomMatrices.sparse(rows: 120, columns: 50, density: 0.08, seed: 12)
        let factor = try CholeskyFactorization(gramOf: x)
        try factor.factorize(shift: 0.7)
        XCTAssertEqual(factor.dimension, 50)
        let g = try x.toCSC().gram(shift: 0.7)
        let b = RandomMatrices.vector(50, seed: 13)
        assertClose(try factor.solve(b), Dense.solve(g.toDenseRowMajor(), b, n: 50), relative: 1e-10)
        XCTAssertEqual(try factor.logDeterminant(), Dense.spdLogDeterminant(g.toDenseRowMajor(), n: 50), accuracy: 1e-8)
        // Refactor with new values of X (CSC values of Xᵀ = CSR values of X).
        try factor.refactor(values: x.values.map { 2 * $0 }, shift: 0.7)
        let g2 = try x.scaled(by: 2).toCSC().gram(shift: 0.7)
        assertClose(try factor.solve(b), Dense.solve(g2.toDenseRowMajor(), b, n: 50), relative: 1e-10)
    }

    func testMemoryBudgetAndShapeErrors() throws {
        let a = try CSRMatrix.gridLaplacian2D(50)
        XCTAssertThrowsError(try CholeskyFactorization(symmetric: a, memoryBudget: 1000)) { error in
            guard case let SparseError.factorTooLarge(predicted, budget) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(predicted, budget)
        }
        let rectangular = RandomMatrices.sparse(rows: 3, columns: 4, density: 0.5, seed: 1)
        XCTAssertThrowsError(try CholeskyFactorization(symmetric: rectangular))
    }
}

final class LUTests: XCTestCase {
    func testSolveTransposeAndDeterminantAgainstLAPACK() throws {
        for (n, seed) in [(50, UInt64(20)), (300, UInt64(21))] {
            let a = RandomMatrices.unsymmetric(n, density: 6.0 / Double(n), seed: seed)
            XCTAssertFalse(a.isSymmetric())
            let dense = a.toDenseRowMajor()
            let lu = try LUFactorization(a)
            try lu.factorize()
            XCTAssertGreaterThan(lu.reciprocalCondition, 0)
            let b = RandomMatrices.vector(n, seed: seed + 1)
            assertClose(try lu.solve(b), Dense.solve(dense, b, n: n), relative: 1e-11)
            assertClose(try lu.solve(b, transposed: true), Dense.solve(Dense.transpose(dense, rows: n, columns: n), b, n: n), relative: 1e-11)
            let (logAbs, sign) = try lu.logAbsDeterminant()
            let (expectedLog, expectedSign) = Dense.logAbsDeterminant(dense, n: n)
            XCTAssertEqual(logAbs, expectedLog, accuracy: 1e-9 * Double(n))
            XCTAssertEqual(sign, expectedSign)
            let two = try lu.solve(b + b.map { -$0 }, columns: 2)
            assertClose(Array(two[n..<2 * n]), Dense.solve(dense, b, n: n).map { -$0 }, relative: 1e-11)
        }
    }

    func testRefactorAndSingular() throws {
        let a = RandomMatrices.unsymmetric(40, density: 0.1, seed: 22)
        let lu = try LUFactorization(a)
        try lu.factorize()
        let b = RandomMatrices.vector(40, seed: 23)
        let before = try lu.solve(b)
        // Zero the first column's values: singular.
        let csc = a.toCSC()
        var values = csc.values
        for k in csc.columnPointers[0]..<csc.columnPointers[1] { values[k] = 0 }
        XCTAssertThrowsError(try lu.refactor(values: values)) { error in
            guard case SparseError.singularMatrix = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try lu.solve(b), before)  // previous factor still in use
        let a2 = try csc.replacingValues(csc.values.map { $0 * -2 })
        try lu.refactor(a2)
        assertClose(try lu.solve(b), before.map { -$0 / 2 }, relative: 1e-12)
        let structurallySingular = try CSRMatrix(rows: 2, columns: 2, rowPointers: [0, 2, 2], columnIndices: [0, 1], values: [1, 1])
        let s = try LUFactorization(structurallySingular)
        XCTAssertThrowsError(try s.factorize()) { error in
            guard case SparseError.singularMatrix = error else { return XCTFail("\(error)") }
        }
    }
}
