extension CSCMatrix {
    /// The explicit Gram matrix XᵀDX (+ βI), p × p, symmetric, for X = self (n × p) and
    /// optional nonnegative-or-not weights D = diag(weights). Gustavson's row-by-row product
    /// with a dense accumulator per thread, parallel over blocks of result columns.
    /// - Complexity: O(Σᵢ nnz(row i of X)²) time (the flops); memory of the result plus
    ///   one CSR copy of X and 12·p bytes of accumulator per thread.
    public func gram(weights: [Double]? = nil, shift beta: Double = 0) throws -> CSRMatrix {
        if let weights {
            try checkLength("CSCMatrix.gram", "weights", expected: rows, actual: weights.count)
            try checkFinite(weights, "weights")
        }
        guard beta.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        let xr = toCSR().storage
        let xc = storage
        let p = columns
        let blocks = blockCount(work: nonzeroCount * 4)
        var blockPointers = [[Int]](repeating: [], count: blocks)
        var blockIndices = [[Int32]](repeating: [], count: blocks)
        var blockValues = [[Double]](repeating: [], count: blocks)
        blockPointers.withUnsafeMutableBufferPointer { bp in
        blockIndices.withUnsafeMutableBufferPointer { bi in
        blockValues.withUnsafeMutableBufferPointer { bv in
            parallelBlocks(blocks) { block in
                let range = evenRange(block, of: blocks, count: p)
                var accumulator = [Double](repeating: 0, count: p)
                var marker = [Int32](repeating: -1, count: p)
                var touched = [Int32]()
                var localPointers = [0]
                var localIndices = [Int32]()
                var localValues = [Double]()
                for j in range {
                    touched.removeAll(keepingCapacity: true)
                    if beta != 0 {
                        marker[j] = Int32(j); touched.append(Int32(j)); accumulator[j] = beta
                    }
                    for a in xc.pointers[j]..<xc.pointers[j + 1] {
                        let i = Int(xc.indices[a])
                        let scale = xc.values[a] * (weights?[i] ?? 1)
                        if scale == 0 { continue }
                        for b in xr.pointers[i]..<xr.pointers[i + 1] {
                            let k = Int(xr.indices[b])
                            if marker[k] != Int32(j) {
                                marker[k] = Int32(j); touched.append(Int32(k)); accumulator[k] = 0
                            }
                            accumulator[k] += scale * xr.values[b]
                        }
                    }
                    touched.sort()
                    for k in touched {
                        localIndices.append(k)
                        localValues.append(accumulator[Int(k)])
                    }
                    localPointers.append(localIndices.count)
                }
                bp[block] = localPointers
                bi[block] = localIndices
                bv[block] = localValues
            }
        }}}
        var pointers = [Int](); pointers.reserveCapacity(p + 1)
        pointers.append(0)
        var indices = [Int32](), values = [Double]()
        for block in 0..<blocks {
            let offset = indices.count
            pointers.append(contentsOf: blockPointers[block].dropFirst().map { $0 + offset })
            indices.append(contentsOf: blockIndices[block])
            values.append(contentsOf: blockValues[block])
        }
        return CSRMatrix(storage: CompressedStorage(majorCount: p, minorCount: p, pointers: pointers,
                                                    indices: indices, values: values),
                         isKnownSymmetric: true)
    }
}

extension CSRMatrix {
    /// The graph Laplacian L = D − W of this symmetric adjacency matrix W (diagonal entries
    /// of W, self loops, are ignored; D holds the weighted degrees).
    /// - Throws: `.dimensionMismatch` if W is not square, `.invalidArgument` if W is not
    ///   symmetric.
    /// - Complexity: O(nnz + n).
    public func graphLaplacian(shift beta: Double = 0) throws -> CSRMatrix {
        guard rows == columns else {
            throw SparseError.dimensionMismatch(operation: "graphLaplacian", expected: "a square adjacency matrix",
                                                actual: "\(rows) × \(columns)")
        }
        guard isSymmetric(tolerance: 1e-12) else {
            throw SparseError.invalidArgument("graphLaplacian: the adjacency matrix is not symmetric")
        }
        let n = rows
        var pointers = [Int](repeating: 0, count: n + 1)
        var indices = [Int32](); indices.reserveCapacity(nonzeroCount + n)
        var values = [Double](); values.reserveCapacity(nonzeroCount + n)
        let s = storage
        for i in 0..<n {
            var degree = 0.0
            for k in s.pointers[i]..<s.pointers[i + 1] where Int(s.indices[k]) != i { degree += s.values[k] }
            var placedDiagonal = false
            for k in s.pointers[i]..<s.pointers[i + 1] {
                let j = Int(s.indices[k])
                if j == i { continue }
                if !placedDiagonal && j > i {
                    indices.append(Int32(i)); values.append(degree + beta); placedDiagonal = true
                }
                indices.append(Int32(j)); values.append(-s.values[k])
            }
            if !placedDiagonal { indices.append(Int32(i)); values.append(degree + beta) }
            pointers[i + 1] = indices.count
        }
        return CSRMatrix(storage: CompressedStorage(majorCount: n, minorCount: n, pointers: pointers,
                                                    indices: indices, values: values),
                         isKnownSymmetric: true)
    }
}
