import XCTest
import Preconditioners
import Sparse

final class JacobiTests: XCTestCase {
    func testJacobiLowersCGIterationsOnBadlyScaledSystem() throws {
        // D^{1/2} L D^{1/2} with a diagonal D spanning two orders of magnitude.
        let l = try CSRMatrix.gridLaplacian2D(30, shift: 0.01)
        let d = (0..<l.rows).map { 1 + 99 * Double(($0 * 7919) % 13) / 12 }
        var builder = try COOBuilder(rows: l.rows, columns: l.rows)
        for i in 0..<l.rows {
            for k in l.rowPointers[i]..<l.rowPointers[i + 1] {
                let j = Int(l.columnIndices[k])
                try builder.append(row: i, column: j, value: (d[i] * d[j]).squareRoot() * l.values[k])
            }
        }
        var a = builder.makeCSR()
        a = a.declaringSymmetric()
        let b = [Double](repeating: 1, count: a.rows)
        let options = KrylovOptions(relativeTolerance: 1e-8, maxIterations: 10_000)
        let jacobi = try JacobiPreconditioner(a)
        XCTAssertTrue(jacobi.isSymmetric)
        XCTAssertEqual(jacobi.memoryBytes, 8 * a.rows)
        let plain = try ConjugateGradient(options: options).solve(a, b)
        let pre = try ConjugateGradient(options: options).solve(a, b, preconditioner: jacobi)
        XCTAssertEqual(plain.status, .converged)
        XCTAssertEqual(pre.status, .converged)
        XCTAssertLessThan(Double(pre.iterations), 0.7 * Double(plain.iterations))
        let gmresPlain = try GMRES(options: options).solve(a, b)
        let gmresPre = try GMRES(options: options).solve(a, b, preconditioner: jacobi)
        XCTAssertLessThan(gmresPre.iterations, gmresPlain.iterations)
    }

    func testSymmetryOfApplyAndErrors() throws {
        let a = try CSRMatrix.gridLaplacian2D(5, shift: 2)
        let m = try JacobiPreconditioner(a)
        let x = (0..<25).map { sin(Double($0)) }, y = (0..<25).map { cos(Double($0)) }
        let mx = try m.apply(x), my = try m.apply(y)
        XCTAssertEqual(Vector.dot(mx, y), Vector.dot(x, my), accuracy: 1e-14)
        XCTAssertEqual(mx[3], x[3] / a[3, 3], accuracy: 1e-15)
        XCTAssertThrowsError(try JacobiPreconditioner(diagonal: [1, 0, 2])) { error in
            XCTAssertTrue("\(error)".contains("index 1"))
        }
        XCTAssertThrowsError(try JacobiPreconditioner(diagonal: [1, .nan]))
        let rectangular = try CSRMatrix.zeros(rows: 2, columns: 3)
        XCTAssertThrowsError(try JacobiPreconditioner(rectangular))
    }
}
import Foundation
