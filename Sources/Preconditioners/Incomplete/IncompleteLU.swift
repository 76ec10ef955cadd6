import Dispatch
import Sparse

/// ILU(0): M = LU ≈ A on A's own pattern (L unit lower, U upper), for unsymmetric A with
/// GMRES or BiCGSTAB. A zero pivot triggers a retry on A + α·diag(A) (α = 10⁻³, doubling),
/// reported in `shift`.
///
/// Set-up O(Σᵢ Σ_{k ∈ row i, k < i} nnz(row k)); apply O(nnz), serial.
/// Memory: a copy of A's values plus 8·(2n) bytes (the pattern is shared with A).
public struct IncompleteLUPreconditioner: Preconditioner {
    public let shift: Double
    public let setupSeconds: Double
    private let pointers: [Int]
    private let indices: [Int32]
    private let factorValues: [Double]
    private let diagonal: [Int]
    public var name: String { "ilu0" }
    public var rows: Int { diagonal.count }
    public var columns: Int { diagonal.count }
    public var isSymmetric: Bool { false }
    public var memoryBytes: Int { 8 * factorValues.count + 8 * diagonal.count }

    /// - Throws: `PreconditionerError.zeroDiagonal` (a missing diagonal entry),
    ///   `.breakdown` when every shift fails, `.dimensionMismatch`.
    public init(_ a: CSRMatrix) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let diagonal = try diagonalPositions(a, operation: "IncompleteLUPreconditioner", allowZero: true)
        let n = a.rows
        let p = a.rowPointers, c = a.columnIndices
        var lastRow = 0
        for alpha in shiftSchedule {
            var v = a.values
            if alpha != 0 { for i in 0..<n { v[diagonal[i]] *= 1 + alpha } }
            var failedRow: Int?
            var position = [Int](repeating: -1, count: n)
            p.withUnsafeBufferPointer { p in c.withUnsafeBufferPointer { c in v.withUnsafeMutableBufferPointer { v in
            diagonal.withUnsafeBufferPointer { d in position.withUnsafeMutableBufferPointer { pos in
                for i in 0..<n {
                    for e in p[i]..<p[i + 1] { pos[Int(c[e])] = e }
                    for e in p[i]..<d[i] {
                        let k = Int(c[e])
                        let lik = v[e] / v[d[k]]
                        v[e] = lik
                        for f in (d[k] + 1)..<p[k + 1] {
                            let target = pos[Int(c[f])]
                            if target >= 0 { v[target] -= lik * v[f] }
                        }
                    }
                    for e in p[i]..<p[i + 1] { pos[Int(c[e])] = -1 }
                    let pivot = v[d[i]]
                    if pivot == 0 || !pivot.isFinite || abs(pivot) < 1e-14 * abs(a.values[d[i]]) {
                        failedRow = i
                        return
                    }
                }
            }}}}}
            if let failedRow {
                lastRow = failedRow
                continue
            }
            pointers = p; indices = c; factorValues = v; self.diagonal = diagonal
            shift = alpha
            setupSeconds = elapsed(since: start)
            return
        }
        throw PreconditionerError.breakdown(row: lastRow, shift: shiftSchedule.last!)
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        precondition(!accumulate && !transposed, "IncompleteLUPreconditioner applies M⁻¹ only")
        let n = rows
        pointers.withUnsafeBufferPointer { p in indices.withUnsafeBufferPointer { c in factorValues.withUnsafeBufferPointer { v in
        diagonal.withUnsafeBufferPointer { d in
            for i in 0..<n {
                var s = x[i]
                for e in p[i]..<d[i] { s -= v[e] * y[Int(c[e])] }
                y[i] = s
            }
            for i in stride(from: n - 1, through: 0, by: -1) {
                var s = y[i]
                for e in (d[i] + 1)..<p[i + 1] { s -= v[e] * y[Int(c[e])] }
                y[i] = s / v[d[i]]
            }
        }}}}
    }
}
