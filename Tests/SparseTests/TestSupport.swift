import CSuiteSparse
import XCTest
@testable import Sparse

/// Dense oracles (LAPACK through LAPACKE) and random test matrices.
enum Dense {
    /// Solves A x = b by LU with partial pivoting (LAPACKE_dgesv); A row-major n × n.
    static func solve(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var a = a, b = b
        var pivots = [Int32](repeating: 0, count: n)
        let info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, Int32(n), 1, &a, Int32(n), &pivots, &b, 1)
        precondition(info == 0, "dgesv failed: \(info)")
        return b
    }

    /// log det of an SPD matrix via dpotrf.
    static func spdLogDeterminant(_ a: [Double], n: Int) -> Double {
        var a = a
        let info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), &a, Int32(n))
        precondition(info == 0, "dpotrf failed: \(info)")
        return 2 * (0..<n).reduce(0) { $0 + log(a[$1 * n + $1]) }
    }

    /// (log|det A|, sign) via dgetrf.
    static func logAbsDeterminant(_ a: [Double], n: Int) -> (Double, Double) {
        var a = a
        var pivots = [Int32](repeating: 0, count: n)
        let info = LAPACKE_dgetrf(LAPACK_ROW_MAJOR, Int32(n), Int32(n), &a, Int32(n), &pivots)
        precondition(info == 0, "dgetrf failed: \(info)")
        var logAbs = 0.0, sign = 1.0
        for i in 0..<n {
            logAbs += log(abs(a[i * n + i]))
            if a[i * n + i] < 0 { sign = -sign }
            if pivots[i] != Int32(i + 1) { sign = -sign }
        }
        return (logAbs, sign)
    }

    static func multiply(_ a: [Double], rows: Int, columns: Int, _ x: [Double]) -> [Double] {
        (0..<rows).map { i in (0..<columns).reduce(0) { $0 + a[i * columns + $1] * x[$1] } }
    }

    static func transpose(_ a: [Double], rows: Int, columns: Int) -> [Double] {
        var t = [Double](repeating: 0, count: rows * columns)
        for i in 0..<rows { for j in 0..<columns { t[j * rows + i] = a[i * columns + j] } }
        return t
    }
}

enum RandomMatrices {
    /// A random sparse rows × columns matrix with about `density`·rows·columns entries.
    static func sparse(rows: Int, columns: Int, density: Double, seed: UInt64) -> CSRMatrix {
        var rng = SplitMix64(seed: seed)
        var builder = try! COOBuilder(rows: rows, columns: columns)
        for i in 0..<rows {
            for j in 0..<columns where rng.nextUniform() < density {
                try! builder.append(row: i, column: j, value: rng.nextGaussian())
            }
        }
        return builder.makeCSR()
    }

    /// A random sparse SPD matrix BᵀB + shift·I.
    static func spd(_ n: Int, density: Double, shift: Double = 0.5, seed: UInt64) -> CSRMatrix {
        let b = sparse(rows: n, columns: n, density: density, seed: seed)
        return try! b.toCSC().gram(shift: shift)
    }

    /// A random sparse unsymmetric matrix with a dominant diagonal (nonsingular).
    static func unsymmetric(_ n: Int, density: Double, seed: UInt64) -> CSRMatrix {
        let b = sparse(rows: n, columns: n, density: density, seed: seed)
        return try! b.addingIdentity(scaledBy: 4 + Double(n) * density)
    }

    static func vector(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() }
    }
}

func assertClose(_ a: [Double], _ b: [Double], relative tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    let diff = zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    let scale = max(b.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-300)
    XCTAssertLessThanOrEqual(diff / scale, tolerance, "relative difference \(diff / scale)", file: file, line: line)
}

/// Runs `body` with parallel kernels forced on small problems, then restores the settings.
func withParallelKernels(threads: Int = 2, _ body: () throws -> Void) rethrows {
    let saved = (SparseThreads.count, SparseThreads.serialThreshold)
    SparseThreads.count = threads
    SparseThreads.serialThreshold = 0
    defer { SparseThreads.count = saved.0; SparseThreads.serialThreshold = saved.1 }
    try body()
}

func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func writeText(_ text: String, to name: String) -> String {
    let path = temporaryPath(name)
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
