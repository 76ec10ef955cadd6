/// Errors thrown by the `Sparse` module. Every case names the place of the
/// fault (index, column, line) so a caller can act on it; none is a crash.
public enum SparseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Operand shapes do not agree: `operation` names the entry point.
    case dimensionMismatch(operation: String, expected: String, actual: String)
    /// Compressed pattern arrays violate an invariant (pointer not monotone,
    /// index out of range, indices unsorted or duplicated within a row/column).
    case invalidStructure(String)
    /// A value is NaN or infinite; `index` is its position in the array named by `what`.
    case nonFinite(what: String, index: Int)
    /// A dimension or count that cannot be represented (negative, or over 2³¹ − 1 for indices).
    case invalidDimension(String)
    /// Cholesky met a non-positive pivot at `column` (0-based, in the factor's permuted order
    /// as CHOLMOD reports it).
    case notPositiveDefinite(column: Int)
    /// LU found the matrix singular (UMFPACK status); `reciprocalCondition` is UMFPACK's estimate.
    case singularMatrix(reciprocalCondition: Double)
    /// The C library could not allocate its workspace.
    case outOfMemory(library: String)
    /// The predicted factor exceeds the memory budget that the caller set.
    case factorTooLarge(predictedBytes: Int, budgetBytes: Int)
    /// A C library rejected the input or failed in a way without its own case.
    case libraryFailure(library: String, status: Int, message: String)
    /// A factorization was asked to refactor with values on a different pattern.
    case patternMismatch(String)
    /// An argument outside its documented range.
    case invalidArgument(String)
    /// A run predicted (from sizes known before allocating) to need more memory than the
    /// limit (`SparseLimits.maximumAllocationBytes`).
    case memoryBudgetExceeded(what: String, predictedBytes: Int, limitBytes: Int)

    public var description: String {
        switch self {
        case let .dimensionMismatch(operation, expected, actual):
            return "\(operation): dimension mismatch: expected \(expected), got \(actual)"
        case let .invalidStructure(message):
            return "invalid sparse structure: \(message)"
        case let .nonFinite(what, index):
            return "non-finite value (NaN or Inf) in \(what) at index \(index)"
        case let .invalidDimension(message):
            return "invalid dimension: \(message)"
        case let .notPositiveDefinite(column):
            return "matrix is not positive definite: Cholesky pivot at column \(column) is not positive"
        case let .singularMatrix(rcond):
            return "matrix is singular (reciprocal condition estimate \(rcond))"
        case let .outOfMemory(library):
            return "\(library) ran out of memory"
        case let .factorTooLarge(predicted, budget):
            return "predicted factor needs \(predicted) bytes, over the memory budget of \(budget) bytes"
        case let .libraryFailure(library, status, message):
            return "\(library) failed (status \(status)): \(message)"
        case let .patternMismatch(message):
            return "sparsity pattern mismatch: \(message)"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case let .memoryBudgetExceeded(what, predicted, limit):
            let size = predicted == Int.max ? "over 8 EiB" : "\(formatBytes(predicted)) (\(predicted) bytes)"
            return "\(what) needs about \(size), over the limit of \(formatBytes(limit)) (half of physical memory)"
        }
    }
}

@inline(__always)
func checkFinite(_ values: [Double], _ what: String) throws {
    try values.withUnsafeBufferPointer { buffer in
        for i in 0..<buffer.count where !buffer[i].isFinite {
            throw SparseError.nonFinite(what: what, index: i)
        }
    }
}

@inline(__always)
func checkLength(_ operation: String, _ what: String, expected: Int, actual: Int) throws {
    if expected != actual {
        throw SparseError.dimensionMismatch(
            operation: operation, expected: "\(what) of length \(expected)", actual: "length \(actual)")
    }
}
