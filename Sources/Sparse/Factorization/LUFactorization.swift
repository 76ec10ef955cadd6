import CSuiteSparse
import Dispatch
import Foundation

/// Sparse LU factorization over UMFPACK (`umfpack_dl_*`, 64-bit indices): PAQ = LU for a
/// square, possibly unsymmetric A. Symbolic analysis once in `init`; `factorize()` and
/// `refactor(values:)` do numeric work on the same pattern. Solves with A and with Aᵀ use
/// the same factor. The class owns its UMFPACK objects and frees them in deinit.
///
/// Memory: A as 64-bit CSC (20 bytes per nonzero, kept for UMFPACK's iterative refinement)
/// plus the LU factors (`factorNonzeros`).
public final class LUFactorization {
    public let dimension: Int
    public private(set) var isFactorized = false
    /// UMFPACK's reciprocal condition estimate of the latest factorization.
    public private(set) var reciprocalCondition: Double = .nan
    public let analyzeSeconds: Double
    /// UMFPACK's upper bound, from the symbolic analysis, on the peak memory of the numeric
    /// factorization in bytes. It assumes worst-case pivoting and can exceed the real peak
    /// by orders of magnitude on symmetric-pattern matrices.
    public let predictedPeakBytes: Int
    /// Bytes of L and U predicted by the symbolic analysis at 12 bytes per entry: AMD's
    /// nnz(L + U) under UMFPACK's symmetric strategy, its upper bounds otherwise. The size
    /// used by memory budgets.
    public let predictedFactorBytes: Int
    public private(set) var factorizeSeconds: Double = 0

    private var columnPointers: [Int]
    private var rowIndices: [Int]
    private var values: [Double]
    private let inputPointers: [Int]
    private let inputIndices: [Int32]
    private var symbolic: UnsafeMutableRawPointer?
    private var numeric: UnsafeMutableRawPointer?
    private var control = [Double](repeating: 0, count: Int(UMFPACK_CONTROL))
    private var info = [Double](repeating: 0, count: Int(UMFPACK_INFO))

    /// Analyzes a square matrix (given in CSR form; converted to CSC once).
    /// - Throws: `.dimensionMismatch` if not square, `.nonFinite`, `.outOfMemory`, `.libraryFailure`.
    public convenience init(_ a: CSRMatrix) throws {
        try self.init(a.toCSC())
    }

    /// Analyzes a square matrix given in CSC form.
    public init(_ a: CSCMatrix) throws {
        _ = configureLibraries
        let start = DispatchTime.now().uptimeNanoseconds
        guard a.rows == a.columns else {
            throw SparseError.dimensionMismatch(operation: "LUFactorization", expected: "a square matrix",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        try checkFinite(a.values, "matrix values")
        dimension = a.rows
        inputPointers = a.columnPointers
        inputIndices = a.rowIndices
        columnPointers = a.columnPointers
        rowIndices = a.rowIndices.map { Int($0) }
        values = a.values
        let n = dimension
        var symbolicHandle: UnsafeMutableRawPointer?
        var localControl = [Double](repeating: 0, count: Int(UMFPACK_CONTROL))
        umfpack_dl_defaults(&localControl)
        localControl[Int(UMFPACK_PRL)] = 0
        var localInfo = [Double](repeating: 0, count: Int(UMFPACK_INFO))
        let (cp, ri, vv) = (columnPointers, rowIndices, values)
        let status = withLibraryThreads {
            umfpack_dl_symbolic(n, n, cp, ri, vv, &symbolicHandle, localControl, &localInfo)
        }
        guard status == UMFPACK_OK else {
            throw SuiteSparseStatus.umfpackError(Int(status), during: "symbolic analysis", rcond: .nan)
        }
        symbolic = symbolicHandle
        control = localControl
        info = localInfo
        let estimate = localInfo[Int(UMFPACK_PEAK_MEMORY_ESTIMATE)] * localInfo[Int(UMFPACK_SIZE_OF_UNIT)]
        predictedPeakBytes = estimate.isFinite && estimate > 0 ? Int(estimate) : 0
        // With the symmetric strategy (chosen for near-symmetric patterns) AMD's count of
        // nnz(L + U) is realistic; the unsymmetric strategy only has its upper bounds.
        let symmetricStrategy = localInfo[Int(UMFPACK_STRATEGY_USED)] == Double(UMFPACK_STRATEGY_SYMMETRIC)
        let entries = symmetricStrategy ? localInfo[Int(UMFPACK_SYMMETRIC_LUNZ)]
            : localInfo[Int(UMFPACK_LNZ_ESTIMATE)] + localInfo[Int(UMFPACK_UNZ_ESTIMATE)]
        predictedFactorBytes = entries.isFinite && entries > 0 ? Int(12 * entries) : 0
        analyzeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    deinit {
        if numeric != nil { umfpack_dl_free_numeric(&numeric) }
        if symbolic != nil { umfpack_dl_free_symbolic(&symbolic) }
    }

    /// Numeric factorization. - Throws: `.singularMatrix` (the factor is dropped), `.outOfMemory`.
    public func factorize() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        var handle: UnsafeMutableRawPointer?
        let n = dimension
        let status = withLibraryThreads {
            umfpack_dl_numeric(columnPointers, rowIndices, values, symbolic, &handle, control, &info)
        }
        let rcond = info[Int(UMFPACK_RCOND)]
        if status != UMFPACK_OK || !(rcond > 0) {
            if handle != nil { umfpack_dl_free_numeric(&handle) }
            let code = status == UMFPACK_OK ? Int(UMFPACK_WARNING_singular_matrix) : Int(status)
            throw SuiteSparseStatus.umfpackError(code, during: "numeric factorization of a \(n) × \(n) matrix",
                                                 rcond: rcond.isNaN ? 0 : rcond)
        }
        if numeric != nil { umfpack_dl_free_numeric(&numeric) }
        numeric = handle
        reciprocalCondition = rcond
        isFactorized = true
        factorizeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Numeric refactorization with new CSC values on the analyzed pattern. On failure the
    /// previous factor and values stay in use.
    public func refactor(values newValues: [Double]) throws {
        try checkLength("LUFactorization.refactor", "values", expected: values.count, actual: newValues.count)
        try checkFinite(newValues, "values")
        let saved = values
        values = newValues
        do { try factorize() } catch {
            values = saved
            throw error
        }
    }

    /// Refactorization with a new matrix of the same pattern.
    public func refactor(_ a: CSCMatrix) throws {
        guard a.columnPointers == inputPointers, a.rowIndices == inputIndices else {
            throw SparseError.patternMismatch("LUFactorization.refactor: the matrix pattern differs from the analyzed one")
        }
        try refactor(values: a.values)
    }

    /// Refactorization with a new CSR matrix of the same pattern.
    public func refactor(_ a: CSRMatrix) throws { try refactor(a.toCSC()) }

    /// Solves AX = B (or AᵀX = B when `transposed`) for `columns` right-hand sides stored
    /// column-major, with UMFPACK's iterative refinement.
    public func solve(_ b: [Double], columns: Int = 1, transposed: Bool = false) throws -> [Double] {
        guard isFactorized else { throw SparseError.invalidArgument("LUFactorization.solve before a successful factorization") }
        guard columns >= 1 else { throw SparseError.invalidArgument("solve needs at least one right-hand side") }
        try checkLength("LUFactorization.solve", "right-hand side", expected: dimension * columns, actual: b.count)
        try checkFinite(b, "right-hand side")
        var x = [Double](repeating: 0, count: b.count)
        let n = dimension
        let system = Int(transposed ? UMFPACK_At : UMFPACK_A)
        try b.withUnsafeBufferPointer { bb in
            try x.withUnsafeMutableBufferPointer { xb in
                for c in 0..<columns {
                    let status = umfpack_dl_solve(system, columnPointers, rowIndices, values,
                                                  xb.baseAddress! + c * n, bb.baseAddress! + c * n,
                                                  numeric, control, &info)
                    if status != UMFPACK_OK {
                        throw SuiteSparseStatus.umfpackError(Int(status), during: "solve", rcond: reciprocalCondition)
                    }
                }
            }
        }
        return x
    }

    /// log|det A| and the sign of det A, from UMFPACK's mantissa–exponent form (no overflow).
    public func logAbsDeterminant() throws -> (logAbs: Double, sign: Double) {
        guard isFactorized else { throw SparseError.invalidArgument("logAbsDeterminant before a successful factorization") }
        var mantissa = 0.0, exponent = 0.0
        let status = umfpack_dl_get_determinant(&mantissa, &exponent, numeric, &info)
        guard status == UMFPACK_OK else {
            throw SuiteSparseStatus.umfpackError(Int(status), during: "determinant", rcond: reciprocalCondition)
        }
        return (Foundation.log(abs(mantissa)) + exponent * Foundation.log(10.0), mantissa < 0 ? -1 : 1)
    }

    /// nnz(L) + nnz(U) of the current factor.
    public var factorNonzeros: Int {
        guard let numeric else { return 0 }
        var lnz = 0, unz = 0, nrow = 0, ncol = 0, nzUdiag = 0
        _ = umfpack_dl_get_lunz(&lnz, &unz, &nrow, &ncol, &nzUdiag, numeric)
        return lnz + unz
    }
}
