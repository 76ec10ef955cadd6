extension CSRMatrix {
    /// The sparse product C = A·B (Gustavson's row-by-row algorithm with a dense accumulator
    /// and a marker per thread), parallel over blocks of rows of C; column indices of C come
    /// out sorted. Used for Galerkin products PᵀAP and Gram matrices.
    /// - Throws: `.dimensionMismatch` when `columns != other.rows`.
    /// - Complexity: O(flops) = O(Σ over entries a_ik of nnz(row k of B)) time; memory of the
    ///   result plus 12·(B.columns) bytes per thread.
    public func multiplying(_ other: CSRMatrix) throws -> CSRMatrix {
        guard columns == other.rows else {
            throw SparseError.dimensionMismatch(operation: "CSRMatrix.multiplying", expected: "B with \(columns) rows",
                                                actual: "\(other.rows) rows")
        }
        return CSRMatrix(storage: storage.multiplying(other.storage, rowScale: nil))
    }
}

extension CompressedStorage {
    /// Gustavson product of two majors-compressed matrices (CSR × CSR), with optional
    /// scaling of the rows of `other` (B ← diag(rowScale)·B) folded in.
    func multiplying(_ other: CompressedStorage, rowScale: [Double]?) -> CompressedStorage {
        let rowsOfC = majorCount, columnsOfC = other.minorCount
        // Rough flop count decides the threading.
        let blocks = blockCount(work: nonzeroCount * 4)
        var blockPointers = [[Int]](repeating: [], count: blocks)
        var blockIndices = [[Int32]](repeating: [], count: blocks)
        var blockValues = [[Double]](repeating: [], count: blocks)
        let bounds = blocks > 1 ? nonzeroBalancedBoundaries(blocks: blocks) : [0, rowsOfC]
        blockPointers.withUnsafeMutableBufferPointer { bp in
        blockIndices.withUnsafeMutableBufferPointer { bi in
        blockValues.withUnsafeMutableBufferPointer { bv in
        pointers.withUnsafeBufferPointer { ap in
        indices.withUnsafeBufferPointer { ai in
        values.withUnsafeBufferPointer { av in
        other.pointers.withUnsafeBufferPointer { bpp in
        other.indices.withUnsafeBufferPointer { bii in
        other.values.withUnsafeBufferPointer { bvv in
            parallelBlocks(blocks) { block in
                var accumulator = [Double](repeating: 0, count: columnsOfC)
                var marker = [Int](repeating: -1, count: columnsOfC)
                var touched = [Int32]()
                var localPointers = [0]
                var localIndices = [Int32]()
                var localValues = [Double]()
                for i in bounds[block]..<bounds[block + 1] {
                    touched.removeAll(keepingCapacity: true)
                    for a in ap[i]..<ap[i + 1] {
                        let k = Int(ai[a])
                        var scale = av[a]
                        if let rowScale { scale *= rowScale[k] }
                        if scale == 0 { continue }
                        for b in bpp[k]..<bpp[k + 1] {
                            let j = Int(bii[b])
                            if marker[j] != i {
                                marker[j] = i
                                touched.append(Int32(j))
                                accumulator[j] = 0
                            }
                            accumulator[j] += scale * bvv[b]
                        }
                    }
                    touched.sort()
                    for j in touched {
                        localIndices.append(j)
                        localValues.append(accumulator[Int(j)])
                    }
                    localPointers.append(localIndices.count)
                }
                bp[block] = localPointers
                bi[block] = localIndices
                bv[block] = localValues
            }
        }}}}}}}}}
        var newPointers = [Int](); newPointers.reserveCapacity(rowsOfC + 1)
        newPointers.append(0)
        let total = blockIndices.reduce(0) { $0 + $1.count }
        var newIndices = [Int32](); newIndices.reserveCapacity(total)
        var newValues = [Double](); newValues.reserveCapacity(total)
        for block in 0..<blocks {
            let offset = newIndices.count
            newPointers.append(contentsOf: blockPointers[block].dropFirst().map { $0 + offset })
            newIndices.append(contentsOf: blockIndices[block])
            newValues.append(contentsOf: blockValues[block])
        }
        return CompressedStorage(majorCount: rowsOfC, minorCount: columnsOfC, pointers: newPointers,
                                 indices: newIndices, values: newValues)
    }
}
