import Dispatch
import Foundation
import CSuiteSparse

/// The one thread-count setting of the toolkit (DESIGN.md, "Threads"): our kernels split
/// their work over this many threads; OpenBLAS is kept single-threaded so the two never
/// oversubscribe the cores.
public enum SparseThreads {
    nonisolated(unsafe) private static var _count: Int = {
        configureLibraries
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Threads used by parallel kernels; 1 runs every kernel serially. Defaults to the
    /// number of active processors.
    public static var count: Int {
        get { _count }
        set { _count = max(1, newValue) }
    }

    /// Work below this many nonzeros (or vector entries) runs serially: thread start-up
    /// costs more than it saves.
    public static var serialThreshold = 20_000
}

/// One-time C library set-up: OpenBLAS single-threaded, SuiteSparse silent.
let configureLibraries: Void = {
    openblas_set_num_threads(1)
    isparse_silence_suitesparse()
}()

/// Runs `body(block)` for `blocks` disjoint blocks, concurrently when `blocks > 1`.
@inline(__always)
func parallelBlocks(_ blocks: Int, _ body: (Int) -> Void) {
    if blocks <= 1 {
        body(0)
    } else {
        DispatchQueue.concurrentPerform(iterations: blocks, execute: body)
    }
}

/// Splits `0..<count` into `blocks` contiguous ranges of near-equal size.
@inline(__always)
func evenRange(_ block: Int, of blocks: Int, count: Int) -> Range<Int> {
    let lower = count * block / blocks
    let upper = count * (block + 1) / blocks
    return lower..<upper
}

/// Number of blocks to use for work of size `work`.
@inline(__always)
func blockCount(work: Int) -> Int {
    work < SparseThreads.serialThreshold ? 1 : SparseThreads.count
}
