import CSuiteSparse

/// A small square matrix held densely (column-major), as an operator: for systems already
/// formed densely, such as a support's Gram matrix, so that the automatic policy factorizes
/// them as they are (LAPACK) and any other solver can still be requested.
///
/// Memory: 8·n² bytes.
public struct DenseMatrixOperator: LinearOperator {
    public let dimension: Int
    public let columnMajor: [Double]
    public let isSymmetric: Bool
    public let isPositiveDefinite: Bool
    public let isPositiveSemidefinite: Bool

    /// - Parameters:
    ///   - columnMajor: the n × n entries, column by column.
    ///   - n: the dimension.
    ///   - symmetric: declared symmetric.
    ///   - positiveDefinite: declared symmetric positive definite.
    ///   - positiveSemidefinite: declared symmetric positive semidefinite, possibly singular
    ///     (the automatic policy then takes `RankRevealingDenseSolver`).
    /// - Throws: `.dimensionMismatch` when the array is not n × n, `.nonFinite`.
    public init(columnMajor: [Double], dimension n: Int, symmetric: Bool, positiveDefinite: Bool = false,
                positiveSemidefinite: Bool = false) throws {
        try checkLength("DenseMatrixOperator", "matrix", expected: n * n, actual: columnMajor.count)
        try checkFinite(columnMajor, "matrix")
        dimension = n
        self.columnMajor = columnMajor
        isSymmetric = symmetric || positiveDefinite || positiveSemidefinite
        isPositiveDefinite = positiveDefinite
        isPositiveSemidefinite = positiveDefinite || positiveSemidefinite
    }

    public var rows: Int { dimension }
    public var columns: Int { dimension }
    public var denseColumnMajor: [Double]? { columnMajor }
    public var diagonal: [Double]? { (0..<dimension).map { columnMajor[$0 * dimension + $0] } }

    /// The nonzeros as a CSR matrix (for sparse direct solvers or matrix-based preconditioners
    /// when requested). O(n²) each time it is asked for.
    public var explicitMatrix: CSRMatrix? {
        let n = dimension
        var pointers = [Int](repeating: 0, count: n + 1), indices: [Int32] = [], values: [Double] = []
        for i in 0..<n {
            for j in 0..<n where columnMajor[j * n + i] != 0 { indices.append(Int32(j)); values.append(columnMajor[j * n + i]) }
            pointers[i + 1] = indices.count
        }
        let m = CSRMatrix(storage: CompressedStorage(majorCount: n, minorCount: n, pointers: pointers, indices: indices, values: values))
        return isSymmetric ? m.declaringSymmetric() : m
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        let n = Int32(dimension)
        guard dimension > 0 else { return }
        columnMajor.withUnsafeBufferPointer { a in
            cblas_dgemv(CblasColMajor, transposed ? CblasTrans : CblasNoTrans, n, n, 1, a.baseAddress, n, x.baseAddress, 1,
                        accumulate ? 1 : 0, y.baseAddress, 1)
        }
    }
}
