import Foundation

/// Allocation limits that the file readers enforce before trusting a header: a file that
/// declares 10¹² rows, or a LIBSVM feature index of 2·10⁹, is refused with
/// `SparseIOError.tooLarge` instead of exhausting memory.
public enum SparseLimits {
    /// The largest single array (pointers or a dense vector of the declared dimension) a
    /// reader may allocate on the word of a file. Default: half of physical memory.
    nonisolated(unsafe) public static var maximumAllocationBytes: Int =
        Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max)))

    /// Vectors of a declared dimension that one run holds at once (a command's right-hand
    /// side, solution, residual, a Krylov method's work vectors, the validation products…):
    /// the readers budget the whole run from the declared sizes, not one vector. Default 10.
    nonisolated(unsafe) public static var vectorsPerRun = 10

    /// The longest line a reader accepts (bytes): a file without newlines (`/dev/zero`) is
    /// refused instead of growing the line buffer without end. Default 256 MiB.
    nonisolated(unsafe) public static var maximumLineBytes = 256 << 20

    /// The bytes a run needs for `vectors` vectors of `dimension` doubles plus `extra`, or nil
    /// on overflow.
    public static func runBytes(dimension: Int, vectors: Int = vectorsPerRun, extra: Int = 0) -> Int? {
        let (perVector, o1) = dimension.multipliedReportingOverflow(by: 8)
        let (all, o2) = perVector.multipliedReportingOverflow(by: max(vectors, 1))
        let (total, o3) = all.addingReportingOverflow(extra)
        return o1 || o2 || o3 ? nil : total
    }

    /// Throws `.tooLarge` when a run over a dimension — `vectorsPerRun` vectors of doubles of
    /// that length, plus `extra` bytes (the matrix itself) — would need more than
    /// `maximumAllocationBytes`.
    static func checkDimension(_ dimension: Int, path: String, line: Int, what: String, extra: Int = 0) throws {
        let bytes = runBytes(dimension: dimension + 1, extra: extra)
        if bytes == nil || bytes! > maximumAllocationBytes {
            throw SparseIOError.tooLarge(path: path, line: line,
                                         message: "\(what) \(dimension) is too large: a run would hold \(vectorsPerRun) vectors of that length\(extra > 0 ? " and the matrix" : ""), \(bytes.map(formatBytes) ?? "over 8 EiB"), over the limit of \(formatBytes(maximumAllocationBytes)) (half of physical memory; SparseLimits.maximumAllocationBytes)")
        }
    }

    /// Throws `SparseError.memoryBudgetExceeded` when a run of `bytes` (computed by the caller
    /// from sizes known before allocating) exceeds `maximumAllocationBytes`.
    public static func checkRun(_ what: String, bytes: Int?) throws {
        guard let bytes, bytes <= maximumAllocationBytes else {
            throw SparseError.memoryBudgetExceeded(what: what, predictedBytes: bytes ?? Int.max, limitBytes: maximumAllocationBytes)
        }
    }
}
