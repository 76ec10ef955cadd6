extension CSCMatrix {
    /// The explicit Gram matrix XᵀDX (+ βI), p × p, symmetric, for X = self (n × p) and
    /// optional weights D = diag(weights): the sparse product Xᵀ·(DX), where Xᵀ in CSR form
    /// is this matrix's own storage and D is folded into the product.
    /// - Complexity: O(Σᵢ nnz(row i of X)²) time (the flops); memory of the result plus one
    ///   CSR copy of X.
    public func gram(weights: [Double]? = nil, shift beta: Double = 0) throws -> CSRMatrix {
        if let weights {
            try checkLength("CSCMatrix.gram", "weights", expected: rows, actual: weights.count)
            try checkFinite(weights, "weights")
        }
        guard beta.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        var product = CSRMatrix(storage: storage.multiplying(toCSR().storage, rowScale: weights))
        if beta != 0 { product = try product.addingIdentity(scaledBy: beta) }
        product.isKnownSymmetric = true
        return product
    }
}

extension CSRMatrix {
    /// XᵀDX + βI as a dense column-major p × p array for X = self (n × p, row-major) and
    /// optional weights D = diag(weights): row by row, G[a, b] += dᵢ x_ia x_ib. For the small
    /// systems that are factorized densely (a support's Gram matrix).
    /// - Complexity: Σᵢ kᵢ² flops for kᵢ nonzeros in row i; 8·p² bytes.
    public func denseGram(weights: [Double]? = nil, shift: Double = 0) -> [Double] {
        let p = columns
        var g = [Double](repeating: 0, count: p * p)
        let pointers = rowPointers, indices = columnIndices, values = self.values
        g.withUnsafeMutableBufferPointer { g in
            for i in 0..<rows {
                let start = pointers[i], end = pointers[i + 1]
                let d = weights?[i] ?? 1
                for k in start..<end {
                    let c = Int(indices[k]), vc = d * values[k]
                    for l in start..<end { g[c * p + Int(indices[l])] += vc * values[l] }
                }
            }
            for j in 0..<p { g[j * p + j] += shift }
        }
        return g
    }

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
