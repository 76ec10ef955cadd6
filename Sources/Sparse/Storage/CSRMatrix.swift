/// A sparse matrix in compressed sparse row form: row pointers (`Int`, so nnz may exceed
/// 2³¹), column indices (`Int32`) and values in separate arrays, so the values can be
/// replaced on a fixed pattern. Column indices within a row are sorted and unique.
///
/// Memory: 8·(rows + 1) + 12·nnz bytes.
public struct CSRMatrix: Sendable {
    @usableFromInline var storage: CompressedStorage

    /// Set by constructions that know the matrix is symmetric (identity, diagonal, graph
    /// Laplacians, Gram matrices, Matrix Market files declared symmetric). `false` means
    /// "not known", not "unsymmetric": `isSymmetric(tolerance:)` checks.
    public internal(set) var isKnownSymmetric: Bool

    public var rows: Int { storage.majorCount }
    public var columns: Int { storage.minorCount }
    public var rowPointers: [Int] { storage.pointers }
    public var columnIndices: [Int32] { storage.indices }
    public var values: [Double] { storage.values }
    public var nonzeroCount: Int { storage.nonzeroCount }

    init(storage: CompressedStorage, isKnownSymmetric: Bool = false) {
        self.storage = storage
        self.isKnownSymmetric = isKnownSymmetric
        storage.checkInvariants()
    }

    /// Builds a matrix from raw CSR arrays, checking every invariant.
    /// - Throws: `SparseError.invalidStructure` naming the first bad pointer or index
    ///   (unsorted or duplicate column indices included), `.nonFinite` for NaN/Inf values,
    ///   `.invalidDimension` for negative or over-2³¹ dimensions.
    /// - Complexity: O(rows + nnz).
    public init(rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32], values: [Double]) throws {
        let storage = CompressedStorage(majorCount: rows, minorCount: columns, pointers: rowPointers,
                                        indices: columnIndices, values: values)
        try storage.validate(majorName: "row", minorName: "column")
        self.storage = storage
        self.isKnownSymmetric = false
    }

    /// The all-zero matrix.
    public static func zeros(rows: Int, columns: Int) throws -> CSRMatrix {
        try CompressedStorage.checkDimensions(rows, columns)
        return CSRMatrix(storage: CompressedStorage(majorCount: rows, minorCount: columns,
                                                    pointers: [Int](repeating: 0, count: rows + 1),
                                                    indices: [], values: []))
    }

    /// The n × n identity.
    public static func identity(_ n: Int) throws -> CSRMatrix {
        try diagonal([Double](repeating: 1, count: n))
    }

    /// The square diagonal matrix with `diagonal` on its diagonal (zeros are stored).
    public static func diagonal(_ diagonal: [Double]) throws -> CSRMatrix {
        let n = diagonal.count
        try CompressedStorage.checkDimensions(n, n)
        try checkFinite(diagonal, "diagonal")
        return CSRMatrix(storage: CompressedStorage(majorCount: n, minorCount: n, pointers: Array(0...n),
                                                    indices: (0..<n).map { Int32($0) }, values: diagonal),
                         isKnownSymmetric: true)
    }

    /// A copy with new values on the same pattern (not known to be symmetric any more: set
    /// `isKnownSymmetric` again if the new values are).
    /// - Throws: `.dimensionMismatch` if `values.count != nonzeroCount`, `.nonFinite`.
    public func replacingValues(_ values: [Double]) throws -> CSRMatrix {
        try checkLength("CSRMatrix.replacingValues", "values", expected: nonzeroCount, actual: values.count)
        try checkFinite(values, "values")
        var copy = self
        copy.storage.values = values
        // New values on a symmetric pattern need not be symmetric: the caller re-asserts it.
        copy.isKnownSymmetric = false
        return copy
    }

    /// Aᵀ. - Complexity: O(nnz + rows + columns).
    public func transposed() -> CSRMatrix {
        CSRMatrix(storage: storage.transposed(), isKnownSymmetric: isKnownSymmetric)
    }

    /// The same matrix in CSC form. - Complexity: O(nnz + rows + columns).
    public func toCSC() -> CSCMatrix {
        CSCMatrix(storage: storage.transposed(), isKnownSymmetric: isKnownSymmetric)
    }

    /// The CSC matrix of Aᵀ, which shares this matrix's arrays: O(1).
    public var transposeAsCSC: CSCMatrix { CSCMatrix(storage: storage, isKnownSymmetric: isKnownSymmetric) }

    /// αA. - Complexity: O(nnz).
    public func scaled(by alpha: Double) -> CSRMatrix {
        var copy = self
        copy.storage.values = values.map { alpha * $0 }
        return copy
    }

    /// αA + βB on the union of the patterns.
    /// - Throws: `.dimensionMismatch` when shapes differ.
    public func adding(_ other: CSRMatrix, alpha: Double = 1, beta: Double = 1) throws -> CSRMatrix {
        guard rows == other.rows, columns == other.columns else {
            throw SparseError.dimensionMismatch(operation: "CSRMatrix.adding", expected: "\(rows) × \(columns)",
                                                actual: "\(other.rows) × \(other.columns)")
        }
        return CSRMatrix(storage: storage.adding(other.storage, alpha: alpha, beta: beta),
                         isKnownSymmetric: isKnownSymmetric && other.isKnownSymmetric)
    }

    /// A + βI (square matrices only); the diagonal is added to the pattern where missing.
    public func addingIdentity(scaledBy beta: Double) throws -> CSRMatrix {
        guard rows == columns else {
            throw SparseError.dimensionMismatch(operation: "CSRMatrix.addingIdentity", expected: "a square matrix",
                                                actual: "\(rows) × \(columns)")
        }
        return try adding(.identity(rows), alpha: 1, beta: beta)
    }

    /// The submatrix on the listed rows (in the given order). - Complexity: O(selected nnz).
    public func selectingRows(_ rows: [Int]) throws -> CSRMatrix {
        CSRMatrix(storage: try storage.selectingMajors(rows))
    }

    /// The submatrix on the listed columns (strictly increasing): the support restriction.
    /// - Complexity: O(nnz + columns).
    public func selectingColumns(_ columns: [Int]) throws -> CSRMatrix {
        CSRMatrix(storage: try storage.selectingMinors(columns))
    }

    /// The main diagonal (zeros where no entry is stored). - Complexity: O(nnz).
    public func diagonalEntries() -> [Double] {
        let n = min(rows, columns)
        var d = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for k in storage.pointers[i]..<storage.pointers[i + 1] where Int(storage.indices[k]) == i {
                d[i] = storage.values[k]
            }
        }
        return d
    }

    /// True when A equals Aᵀ entry-wise within `tolerance` relative to the largest |entry|.
    /// - Complexity: O(nnz + rows) time, one transposed copy of memory.
    public func isSymmetric(tolerance: Double = 0) -> Bool {
        guard rows == columns else { return false }
        if isKnownSymmetric { return true }
        let t = storage.transposed()
        guard t.pointers == storage.pointers, t.indices == storage.indices else {
            // Patterns differ: still symmetric if the extra entries are all zero.
            let difference = storage.adding(t, alpha: 1, beta: -1)
            let scale = storage.values.reduce(0) { max($0, abs($1)) }
            return difference.values.allSatisfy { abs($0) <= tolerance * scale }
        }
        let scale = storage.values.reduce(0) { max($0, abs($1)) }
        for k in 0..<storage.values.count where abs(storage.values[k] - t.values[k]) > tolerance * scale {
            return false
        }
        return true
    }

    /// The entry at (row, column), zero when not stored. - Complexity: O(log nnz in the row).
    public subscript(row: Int, column: Int) -> Double {
        precondition(row >= 0 && row < rows && column >= 0 && column < columns, "index out of range")
        var low = storage.pointers[row], high = storage.pointers[row + 1]
        let target = Int32(column)
        while low < high {
            let mid = (low + high) / 2
            let index = storage.indices[mid]
            if index == target { return storage.values[mid] }
            if index < target { low = mid + 1 } else { high = mid }
        }
        return 0
    }

    /// A dense row-major copy (for tests and small problems only).
    public func toDenseRowMajor() -> [Double] {
        var dense = [Double](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            for k in storage.pointers[i]..<storage.pointers[i + 1] {
                dense[i * columns + Int(storage.indices[k])] += storage.values[k]
            }
        }
        return dense
    }
}

extension CSRMatrix: Equatable {
    public static func == (lhs: CSRMatrix, rhs: CSRMatrix) -> Bool {
        lhs.storage.hasSamePattern(as: rhs.storage) && lhs.storage.values == rhs.storage.values
    }
}

extension CSRMatrix {
    /// The same matrix declared symmetric (A = Aᵀ), without checking: for callers that know it
    /// by construction (a Hessian, a condition declaring a symmetric Jacobian) after an
    /// operation that cleared the flag, such as `replacingValues`. Solvers then read only one
    /// triangle (Cholesky) or assume symmetry (CG, MINRES).
    public func declaringSymmetric() -> CSRMatrix {
        CSRMatrix(storage: storage, isKnownSymmetric: true)
    }
}
