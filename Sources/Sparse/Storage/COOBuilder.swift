/// Collects (row, column, value) triplets in any order and compresses them; duplicate
/// entries are summed (the Matrix Market and scipy convention).
///
/// Memory: 16 bytes per triplet while building, plus the compressed result.
public struct COOBuilder: Sendable {
    public let rows: Int
    public let columns: Int
    @usableFromInline var rowIndices: [Int32] = []
    @usableFromInline var columnIndices: [Int32] = []
    @usableFromInline var values: [Double] = []

    public var count: Int { values.count }

    public init(rows: Int, columns: Int, reservingCapacity capacity: Int = 0) throws {
        try CompressedStorage.checkDimensions(rows, columns)
        self.rows = rows
        self.columns = columns
        rowIndices.reserveCapacity(capacity)
        columnIndices.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    /// Adds one entry. - Throws: `.invalidArgument` for an index out of range,
    /// `.nonFinite` for NaN/Inf.
    @inlinable
    public mutating func append(row: Int, column: Int, value: Double) throws {
        guard row >= 0, row < rows, column >= 0, column < columns else {
            throw SparseError.invalidArgument("entry (\(row), \(column)) out of range for a \(rows) × \(columns) matrix")
        }
        guard value.isFinite else { throw SparseError.nonFinite(what: "COO values", index: values.count) }
        rowIndices.append(Int32(truncatingIfNeeded: row))
        columnIndices.append(Int32(truncatingIfNeeded: column))
        values.append(value)
    }

    /// Compressed storage with `major` indices from `majors` and `minor` from `minors`:
    /// two stable counting sorts (minor, then major) give sorted minors inside each major
    /// slice; adjacent duplicates are then summed. O(nnz + rows + columns).
    private func compress(majors: [Int32], majorCount: Int, minors: [Int32], minorCount: Int) -> CompressedStorage {
        let nnz = values.count
        // Pass 1: order by minor.
        var minorPointers = [Int](repeating: 0, count: minorCount + 1)
        for m in minors { minorPointers[Int(m) + 1] += 1 }
        for j in 0..<minorCount { minorPointers[j + 1] += minorPointers[j] }
        var order = [Int](repeating: 0, count: nnz)
        var next = minorPointers
        for k in 0..<nnz {
            let m = Int(minors[k])
            order[next[m]] = k
            next[m] += 1
        }
        // Pass 2: stable by major.
        var majorPointers = [Int](repeating: 0, count: majorCount + 1)
        for m in majors { majorPointers[Int(m) + 1] += 1 }
        for i in 0..<majorCount { majorPointers[i + 1] += majorPointers[i] }
        var sortedMinor = [Int32](repeating: 0, count: nnz)
        var sortedValues = [Double](repeating: 0, count: nnz)
        next = majorPointers
        for k in order {
            let m = Int(majors[k])
            sortedMinor[next[m]] = minors[k]
            sortedValues[next[m]] = values[k]
            next[m] += 1
        }
        // Sum duplicates in place.
        var pointers = [Int](repeating: 0, count: majorCount + 1)
        var write = 0
        for i in 0..<majorCount {
            let start = write
            for k in majorPointers[i]..<majorPointers[i + 1] {
                if write > start && sortedMinor[write - 1] == sortedMinor[k] {
                    sortedValues[write - 1] += sortedValues[k]
                } else {
                    sortedMinor[write] = sortedMinor[k]
                    sortedValues[write] = sortedValues[k]
                    write += 1
                }
            }
            pointers[i + 1] = write
        }
        sortedMinor.removeLast(nnz - write)
        sortedValues.removeLast(nnz - write)
        return CompressedStorage(majorCount: majorCount, minorCount: minorCount, pointers: pointers,
                                 indices: sortedMinor, values: sortedValues)
    }

    /// The CSR matrix (duplicates summed). - Complexity: O(nnz + rows + columns).
    public func makeCSR() -> CSRMatrix {
        CSRMatrix(storage: compress(majors: rowIndices, majorCount: rows, minors: columnIndices, minorCount: columns))
    }

    /// The CSC matrix (duplicates summed). - Complexity: O(nnz + rows + columns).
    public func makeCSC() -> CSCMatrix {
        CSCMatrix(storage: compress(majors: columnIndices, majorCount: columns, minors: rowIndices, minorCount: rows))
    }
}
