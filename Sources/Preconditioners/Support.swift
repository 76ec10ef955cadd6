import Dispatch
import Sparse

/// Errors of the preconditioners beyond `SparseError`.
public enum PreconditionerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The matrix has a zero (or missing) diagonal entry at `row`, which the kind needs.
    case zeroDiagonal(row: Int)
    /// An incomplete factorization broke down at `row` even with the largest diagonal shift tried.
    case breakdown(row: Int, shift: Double)

    public var description: String {
        switch self {
        case let .zeroDiagonal(row): return "zero or missing diagonal entry in row \(row)"
        case let .breakdown(row, shift):
            return "incomplete factorization broke down at row \(row) even with a diagonal shift of \(shift)·diag(A)"
        }
    }
}

@inline(__always)
func elapsed(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

/// Checks that `a` is square and finds each row's diagonal entry position.
/// - Throws: `.dimensionMismatch` if not square, `PreconditionerError.zeroDiagonal`.
func diagonalPositions(_ a: CSRMatrix, operation: String, allowZero: Bool = false) throws -> [Int] {
    guard a.rows == a.columns else {
        throw SparseError.dimensionMismatch(operation: operation, expected: "a square matrix",
                                            actual: "\(a.rows) × \(a.columns)")
    }
    let p = a.rowPointers, c = a.columnIndices, v = a.values
    var positions = [Int](repeating: -1, count: a.rows)
    for i in 0..<a.rows {
        for k in p[i]..<p[i + 1] where Int(c[k]) == i { positions[i] = k }
        if positions[i] < 0 || (!allowZero && v[positions[i]] == 0) {
            throw PreconditionerError.zeroDiagonal(row: i)
        }
    }
    return positions
}

/// The diagonal shifts tried, as multiples of diag(A), when an incomplete factorization
/// breaks down: 0, then 10⁻³ doubling up to about 1 (as in Manteuffel's shifted IC).
let shiftSchedule: [Double] = [0] + (0..<11).map { 1e-3 * Double(1 << $0) }
