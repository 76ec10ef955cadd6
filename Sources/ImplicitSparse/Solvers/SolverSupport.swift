import Dispatch
import Sparse

/// Contiguous column ranges of X (CSC) holding near-equal numbers of nonzeros, one per thread:
/// the split of the solvers' full passes (Xᵀv over every feature), balanced by nonzeros rather
/// than by columns because text-like columns follow a power law (a few columns hold most of
/// the nonzeros). Below `SparseThreads.serialThreshold` nonzeros, one block.
@usableFromInline
struct ColumnBlocks {
    @usableFromInline let ranges: [Range<Int>]

    @usableFromInline init(pointers: UnsafePointer<Int>, columns p: Int, threads: Int) {
        let nnz = pointers[p]
        let count = nnz < SparseThreads.serialThreshold ? 1 : max(1, threads)
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
    @usableFromInline func forEach(_ body: (Range<Int>) -> Void) {
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
@inlinable
func withColumnStorage<R>(_ x: CSCMatrix, _ body: (UnsafePointer<Int>, UnsafePointer<Int32>, UnsafePointer<Double>) -> R) -> R {
    let pointers = x.columnPointers, rows = x.rowIndices, values = x.values
    return pointers.withUnsafeBufferPointer { ptr in
        rows.withUnsafeBufferPointer { idx in
            values.withUnsafeBufferPointer { val in body(ptr.baseAddress!, idx.baseAddress!, val.baseAddress!) }
        }
    }
}

/// A working set: the support (always in) plus the candidates of largest score, up to `size`
/// features in all, the support first and then the new features.
@usableFromInline
func workingSet(support: [Int], candidates: [(score: Double, feature: Int)], size: Int) -> [Int] {
    let extra = min(max(size - support.count, 0), candidates.count)
    return support + largestScores(candidates, count: extra)
}

/// The features of the `count` largest scores (quickselect on the scores, then a filter:
/// O(candidates) on average instead of a sort).
func largestScores(_ candidates: [(score: Double, feature: Int)], count: Int) -> [Int] {
    guard count < candidates.count else { return candidates.map(\.feature) }
    guard count > 0 else { return [] }
    var scores = candidates.map(\.score)
    // The count-th largest value: index count − 1 in decreasing order.
    let kth = count - 1
    var low = 0, high = scores.count - 1
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    while low < high {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let pivot = scores[low + Int((state >> 33) % UInt64(high - low + 1))]
        var i = low, j = high
        while i <= j {
            while scores[i] > pivot { i += 1 }
            while scores[j] < pivot { j -= 1 }
            if i <= j { scores.swapAt(i, j); i += 1; j -= 1 }
        }
        if kth <= j { high = j } else if kth >= i { low = i } else { break }
    }
    let threshold = scores[kth]
    var chosen: [Int] = []
    chosen.reserveCapacity(count)
    for candidate in candidates where candidate.score > threshold { chosen.append(candidate.feature) }
    for candidate in candidates where candidate.score == threshold && chosen.count < count { chosen.append(candidate.feature) }
    return chosen
}
