import CSuiteSparse

/// CHOLMOD and UMFPACK status codes mapped to `SparseError` (the C names stay here).
enum SuiteSparseStatus {
    static func cholmodError(_ status: Int32, during what: String) -> SparseError {
        switch status {
        case CHOLMOD_OUT_OF_MEMORY: return .outOfMemory(library: "CHOLMOD")
        case CHOLMOD_TOO_LARGE: return .libraryFailure(library: "CHOLMOD", status: Int(status),
                                                        message: "\(what): problem too large (integer overflow)")
        case CHOLMOD_INVALID: return .libraryFailure(library: "CHOLMOD", status: Int(status),
                                                      message: "\(what): invalid input")
        case CHOLMOD_NOT_INSTALLED: return .libraryFailure(library: "CHOLMOD", status: Int(status),
                                                            message: "\(what): method not installed in this CHOLMOD build")
        default: return .libraryFailure(library: "CHOLMOD", status: Int(status), message: "\(what) failed")
        }
    }

    static func umfpackError(_ status: Int, during what: String, rcond: Double) -> SparseError {
        switch Int32(truncatingIfNeeded: status) {
        case UMFPACK_WARNING_singular_matrix: return .singularMatrix(reciprocalCondition: rcond)
        case UMFPACK_ERROR_out_of_memory: return .outOfMemory(library: "UMFPACK")
        case UMFPACK_ERROR_invalid_matrix: return .libraryFailure(library: "UMFPACK", status: status,
                                                                   message: "\(what): invalid matrix")
        case UMFPACK_ERROR_different_pattern: return .patternMismatch("\(what): UMFPACK reports a different pattern")
        default: return .libraryFailure(library: "UMFPACK", status: status, message: "\(what) failed")
        }
    }
}

/// Runs `body` with OpenBLAS allowed `SparseThreads.count` threads: the supernodal and
/// multifrontal kernels of CHOLMOD and UMFPACK spend their time in BLAS, outside our own
/// parallel kernels, so the cores are theirs for the call.
func withLibraryThreads<T>(_ body: () throws -> T) rethrows -> T {
    _ = configureLibraries
    openblas_set_num_threads(Int32(SparseThreads.count))
    defer { openblas_set_num_threads(1) }
    return try body()
}
