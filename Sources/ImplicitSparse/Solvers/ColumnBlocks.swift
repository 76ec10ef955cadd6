import Dispatch
import Sparse

/// Contiguous column ranges of X (CSC) holding near-equal numbers of nonzeros, one per thread:
/// the split of the solvers' full passes (Xᵀv over every feature), balanced by nonzeros rather
/// than by columns because text-like columns follow a power law (a few columns hold most of
/// the nonzeros). Below 50 000 nonzeros one block: a thread costs more than it saves.
struct ColumnBlocks {
    let ranges: [Range<Int>]

    init(pointers: UnsafePointer<Int>, columns p: Int, threads: Int) {
        let nnz = pointers[p]
        let count = nnz < 50_000 ? 1 : max(1, threads)
        var bounds = [0]
        for b in 1..<max(count, 1) {
            // The first column whose pointer reaches b/count of the nonzeros.
            let target = nnz * b / count
            var low = bounds.last!, high = p
            while low < high {
                let mid = (low + high) / 2
                if pointers[mid] < target { low = mid + 1 } else { high = mid }
            }
            bounds.append(low)
        }
        bounds.append(p)
        ranges = (0..<count).map { bounds[$0]..<bounds[$0 + 1] }
    }

    /// Runs `body` on every range, concurrently when there are several. `body` must write
    /// only to its own columns' entries.
    func forEach(_ body: (Range<Int>) -> Void) {
        if ranges.count == 1 {
            body(ranges[0])
        } else {
            DispatchQueue.concurrentPerform(iterations: ranges.count) { body(ranges[$0]) }
        }
    }
}

/// The checks every solver makes on its inputs: X's CSC copy matches the problem's shape, the
/// warm start (zeros by default) has p finite entries. Returns the warm start.
/// - Throws: `.dimensionMismatch` or `.nonFinite` naming the solver and the entry.
func checkedStart(_ warmStart: [Double]?, design x: CSCMatrix, problemRows: Int, problemColumns: Int, solver: String) throws -> [Double] {
    guard x.rows == problemRows, x.columns == problemColumns else {
        throw SparseError.dimensionMismatch(operation: solver, expected: "\(problemRows) × \(problemColumns)", actual: "\(x.rows) × \(x.columns)")
    }
    let w = warmStart ?? [Double](repeating: 0, count: x.columns)
    guard w.count == x.columns else {
        throw SparseError.dimensionMismatch(operation: solver, expected: "a warm start of length \(x.columns)", actual: "\(w.count)")
    }
    if let bad = w.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "warm start", index: bad) }
    return w
}

/// Runs `body` with raw pointers to X's column pointers, row indices and values (valid only
/// during the call): the solvers' inner loops run on them without bounds or copy-on-write checks.
func withColumnStorage<R>(_ x: CSCMatrix, _ body: (UnsafePointer<Int>, UnsafePointer<Int32>, UnsafePointer<Double>) -> R) -> R {
    let pointers = x.columnPointers, rows = x.rowIndices, values = x.values
    return pointers.withUnsafeBufferPointer { ptr in
        rows.withUnsafeBufferPointer { idx in
            values.withUnsafeBufferPointer { val in body(ptr.baseAddress!, idx.baseAddress!, val.baseAddress!) }
        }
    }
}
