/// A sparse matrix in compressed sparse column form: column pointers (`Int`), row
/// indices (`Int32`, sorted and unique within a column) and values in separate arrays.
/// The natural layout for design matrices X (coordinate descent walks columns) and for
/// CHOLMOD and UMFPACK.
///
/// Memory: 8·(columns + 1) + 12·nnz bytes.
public struct CSCMatrix: Sendable {
    @usableFromInline var storage: CompressedStorage

    /// See `CSRMatrix.isKnownSymmetric`.
    public internal(set) var isKnownSymmetric: Bool

    public var rows: Int { storage.minorCount }
    public var columns: Int { storage.majorCount }
    public var columnPointers: [Int] { storage.pointers }
    public var rowIndices: [Int32] { storage.indices }
    public var values: [Double] { storage.values }
    public var nonzeroCount: Int { storage.nonzeroCount }

    init(storage: CompressedStorage, isKnownSymmetric: Bool = false) {
        self.storage = storage
        self.isKnownSymmetric = isKnownSymmetric
        storage.checkInvariants()
    }

    /// Builds a matrix from raw CSC arrays, checking every invariant (see `CSRMatrix.init`).
    /// - Complexity: O(columns + nnz).
    public init(rows: Int, columns: Int, columnPointers: [Int], rowIndices: [Int32], values: [Double]) throws {
        let storage = CompressedStorage(majorCount: columns, minorCount: rows, pointers: columnPointers,
                                        indices: rowIndices, values: values)
        try storage.validate(majorName: "column", minorName: "row")
        self.storage = storage
        self.isKnownSymmetric = false
    }

    /// The same matrix in CSR form. - Complexity: O(nnz + rows + columns).
    public func toCSR() -> CSRMatrix {
        CSRMatrix(storage: storage.transposed(), isKnownSymmetric: isKnownSymmetric)
    }

    /// The CSR matrix of Aᵀ, sharing this matrix's arrays: O(1).
    public var transposeAsCSR: CSRMatrix { CSRMatrix(storage: storage, isKnownSymmetric: isKnownSymmetric) }

    /// Aᵀ in CSC form. - Complexity: O(nnz + rows + columns).
    public func transposed() -> CSCMatrix {
        CSCMatrix(storage: storage.transposed(), isKnownSymmetric: isKnownSymmetric)
    }

    /// A copy with new values on the same pattern (not known to be symmetric any more: set
    /// `isKnownSymmetric` again if the new values are).
    public func replacingValues(_ values: [Double]) throws -> CSCMatrix {
        try checkLength("CSCMatrix.replacingValues", "values", expected: nonzeroCount, actual: values.count)
        try checkFinite(values, "values")
        var copy = self
        copy.storage.values = values
        copy.isKnownSymmetric = false
        return copy
    }

    /// αA. - Complexity: O(nnz).
    public func scaled(by alpha: Double) -> CSCMatrix {
        var copy = self
        copy.storage.values = values.map { alpha * $0 }
        return copy
    }

    /// αA + βB on the union of the patterns.
    public func adding(_ other: CSCMatrix, alpha: Double = 1, beta: Double = 1) throws -> CSCMatrix {
        guard rows == other.rows, columns == other.columns else {
            throw SparseError.dimensionMismatch(operation: "CSCMatrix.adding", expected: "\(rows) × \(columns)",
                                                actual: "\(other.rows) × \(other.columns)")
        }
        return CSCMatrix(storage: storage.adding(other.storage, alpha: alpha, beta: beta),
                         isKnownSymmetric: isKnownSymmetric && other.isKnownSymmetric)
    }

    /// The submatrix on the listed columns (in the given order): X_S for a support S.
    /// - Complexity: O(selected nnz).
    public func selectingColumns(_ columns: [Int]) throws -> CSCMatrix {
        CSCMatrix(storage: try storage.selectingMajors(columns))
    }

    /// The submatrix on the listed rows (strictly increasing), e.g. a train/validation split.
    /// - Complexity: O(nnz + rows).
    public func selectingRows(_ rows: [Int]) throws -> CSCMatrix {
        CSCMatrix(storage: try storage.selectingMinors(rows))
    }

    /// The entry at (row, column), zero when not stored.
    public subscript(row: Int, column: Int) -> Double { transposeAsCSR[column, row] }
}

extension CSCMatrix: Equatable {
    public static func == (lhs: CSCMatrix, rhs: CSCMatrix) -> Bool {
        lhs.storage.hasSamePattern(as: rhs.storage) && lhs.storage.values == rhs.storage.values
    }
}
