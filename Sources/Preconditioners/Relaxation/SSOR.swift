import Dispatch
import Sparse

/// Symmetric successive over-relaxation: M = ω/(2 − ω) · (D/ω + L)(D/ω)⁻¹(D/ω + U), so
/// z = M⁻¹r is one forward and one backward Gauss–Seidel sweep with relaxation ω
/// (ω = 1: symmetric Gauss–Seidel). Symmetric when A is.
///
/// Set-up O(nnz) (finds the diagonal); apply O(nnz), serial (the sweeps are sequential).
/// Memory: the matrix (shared, copy-on-write) plus 8·n bytes.
public struct SSORPreconditioner: Preconditioner {
    public let matrix: CSRMatrix
    public let omega: Double
    public let setupSeconds: Double
    private let diagonalIndex: [Int]
    public var name: String { "ssor" }
    public var rows: Int { matrix.rows }
    public var columns: Int { matrix.columns }
    public var isSymmetric: Bool { matrix.isKnownSymmetric }
    public var memoryBytes: Int { 8 * diagonalIndex.count }

    /// - Throws: `.invalidArgument` unless 0 < ω < 2, `PreconditionerError.zeroDiagonal`.
    public init(_ a: CSRMatrix, omega: Double = 1) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        guard omega > 0, omega < 2 else { throw SparseError.invalidArgument("SSOR needs 0 < ω < 2, got \(omega)") }
        diagonalIndex = try diagonalPositions(a, operation: "SSORPreconditioner")
        matrix = a
        self.omega = omega
        setupSeconds = elapsed(since: start)
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        precondition(!accumulate, "SSORPreconditioner does not accumulate")
        let n = rows, w = omega
        let p = matrix.rowPointers, c = matrix.columnIndices, v = matrix.values
        p.withUnsafeBufferPointer { p in c.withUnsafeBufferPointer { c in v.withUnsafeBufferPointer { v in
        diagonalIndex.withUnsafeBufferPointer { d in
            // Forward: (D/ω + L) t = r.
            for i in 0..<n {
                var s = x[i]
                for k in p[i]..<d[i] { s -= v[k] * y[Int(c[k])] }
                y[i] = s * w / v[d[i]]
            }
            // t ← (D/ω) t, then backward: (D/ω + U) z = t.
            for i in stride(from: n - 1, through: 0, by: -1) {
                let dii = v[d[i]] / w
                var s = dii * y[i]
                for k in (d[i] + 1)..<p[i + 1] { s -= v[k] * y[Int(c[k])] }
                y[i] = s / dii
            }
            let scale = (2 - w) / w
            for i in 0..<n { y[i] *= scale }
        }}}}
    }
}
