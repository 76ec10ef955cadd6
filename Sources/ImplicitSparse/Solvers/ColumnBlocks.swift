import Dispatch

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
