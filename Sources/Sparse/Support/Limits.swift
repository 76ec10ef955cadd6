import Foundation

/// Allocation limits that the file readers enforce before trusting a header: a file that
/// declares 10¹² rows, or a LIBSVM feature index of 2·10⁹, is refused with
/// `SparseIOError.tooLarge` instead of exhausting memory.
public enum SparseLimits {
    /// The largest single array (pointers or a dense vector of the declared dimension) a
    /// reader may allocate on the word of a file. Default: half of physical memory.
    nonisolated(unsafe) public static var maximumAllocationBytes: Int =
        Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max)))

    /// Throws `.tooLarge` when a dimension would need more than `maximumAllocationBytes`
    /// for one vector of doubles (or of pointers) of that length.
    static func checkDimension(_ dimension: Int, path: String, line: Int, what: String) throws {
        let (bytes, overflow) = dimension.multipliedReportingOverflow(by: 8)
        if overflow || bytes > maximumAllocationBytes {
            throw SparseIOError.tooLarge(path: path, line: line,
                                         message: "\(what) of \(dimension) needs \(overflow ? "more than 2⁶³" : "\(bytes)") bytes per vector, over the limit of \(maximumAllocationBytes) (SparseLimits.maximumAllocationBytes)")
        }
    }
}
