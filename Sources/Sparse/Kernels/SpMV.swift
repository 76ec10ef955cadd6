import CSuiteSparse

extension CompressedStorage {
    /// Row-block boundaries of near-equal nonzero count for `blocks` threads (binary search
    /// on the pointers): balanced even when row lengths follow a power law.
    func nonzeroBalancedBoundaries(blocks: Int) -> [Int] {
        var bounds = [Int](repeating: 0, count: blocks + 1)
        bounds[blocks] = majorCount
        let nnz = nonzeroCount
        pointers.withUnsafeBufferPointer { p in
            for b in 1..<blocks {
                let target = nnz * b / blocks
                var low = bounds[b - 1], high = majorCount
                while low < high {
                    let mid = (low + high) / 2
                    if p[mid] < target { low = mid + 1 } else { high = mid }
                }
                bounds[b] = low
            }
        }
        return bounds
    }

    /// y[major] = α Σ_k values[k]·x[indices[k]] (+ y[major] when `accumulate`): the CSR
    /// product Ax, or Aᵀx for CSC storage. Parallel over disjoint, nnz-balanced major blocks.
    /// With `innerProduct`, also returns Σ x[i]·y[i] over the majors (square storage only),
    /// computed in the same pass: CG's pᵀAp without re-reading p and Ap.
    /// - Complexity: O(nnz + majorCount).
    @discardableResult
    func gatherProduct(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                       alpha: Double, accumulate: Bool, innerProduct: Bool = false) -> Double {
        precondition(x.count >= minorCount && y.count >= majorCount, "gatherProduct: buffer too short")
        let blocks = blockCount(work: nonzeroCount + majorCount)
        let bounds = blocks > 1 ? nonzeroBalancedBoundaries(blocks: blocks) : [0, majorCount]
        var partials = [Double](repeating: 0, count: blocks)
        pointers.withUnsafeBufferPointer { p in
            indices.withUnsafeBufferPointer { idx in
                values.withUnsafeBufferPointer { v in
                    partials.withUnsafeMutableBufferPointer { partial in
                        let xb = x.baseAddress!, yb = y.baseAddress!
                        let pb = p.baseAddress!, ib = idx.baseAddress!, vb = v.baseAddress!
                        parallelBlocks(blocks) { block in
                            var start = pb[bounds[block]]
                            var dot = 0.0
                            for row in bounds[block]..<bounds[block + 1] {
                                let end = pb[row + 1]
                                var sum0 = 0.0, sum1 = 0.0
                                var k = start
                                // Two accumulators break the add dependency chain.
                                while k + 1 < end {
                                    sum0 += vb[k] * xb[Int(ib[k])]
                                    sum1 += vb[k + 1] * xb[Int(ib[k + 1])]
                                    k += 2
                                }
                                if k < end { sum0 += vb[k] * xb[Int(ib[k])] }
                                let result = alpha * (sum0 + sum1)
                                let value = accumulate ? yb[row] + result : result
                                yb[row] = value
                                if innerProduct { dot += xb[row] * value }
                                start = end
                            }
                            partial[block] = dot
                        }
                    }
                }
            }
        }
        return partials.reduce(0, +)
    }

    /// y[indices[k]] += α·values[k]·x[major]: the CSR product Aᵀx, or Ax for CSC storage.
    /// With several threads each scatters into its own copy of y (extra memory
    /// 8·minorCount·(threads − 1) bytes for the call), then the copies are summed in parallel.
    /// - Complexity: O(nnz + threads·minorCount).
    func scatterProduct(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                        alpha: Double, accumulate: Bool) {
        precondition(x.count >= majorCount && y.count >= minorCount, "scatterProduct: buffer too short")
        let blocks = blockCount(work: nonzeroCount + majorCount)
        let n = minorCount
        if !accumulate {
            y.baseAddress!.update(repeating: 0, count: n)
        }
        if blocks == 1 {
            scatter(range: 0..<majorCount, x, y.baseAddress!, alpha: alpha)
            return
        }
        let bounds = nonzeroBalancedBoundaries(blocks: blocks)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: n * (blocks - 1))
        defer { scratch.deallocate() }
        parallelBlocks(blocks) { block in
            let target: UnsafeMutablePointer<Double>
            if block == 0 {
                target = y.baseAddress!
            } else {
                target = scratch + (block - 1) * n
                target.initialize(repeating: 0, count: n)
            }
            scatter(range: bounds[block]..<bounds[block + 1], x, target, alpha: alpha)
        }
        let yb = y.baseAddress!
        parallelBlocks(blocks) { block in
            let range = evenRange(block, of: blocks, count: n)
            for copy in 0..<(blocks - 1) {
                let source = scratch + copy * n
                for i in range { yb[i] += source[i] }
            }
        }
    }

    private func scatter(range: Range<Int>, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutablePointer<Double>,
                         alpha: Double) {
        pointers.withUnsafeBufferPointer { p in
            indices.withUnsafeBufferPointer { idx in
                values.withUnsafeBufferPointer { v in
                    for major in range {
                        let xm = alpha * x[major]
                        if xm == 0 { continue }
                        for k in p[major]..<p[major + 1] {
                            y[Int(idx[k])] += v[k] * xm
                        }
                    }
                }
            }
        }
    }
}

extension CSRMatrix {
    /// y = αAx (+ y when `accumulate`), parallel over nnz-balanced row blocks.
    /// - Complexity: O(nnz + rows). Memory: none beyond the buffers.
    public func multiply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                         alpha: Double = 1, accumulate: Bool = false) {
        storage.gatherProduct(x, into: y, alpha: alpha, accumulate: accumulate)
    }

    /// y = αAᵀx (+ y when `accumulate`). - Complexity: O(nnz + threads·columns).
    public func multiplyTransposed(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                                   alpha: Double = 1, accumulate: Bool = false) {
        storage.scatterProduct(x, into: y, alpha: alpha, accumulate: accumulate)
    }

    /// Ax as a new array. - Throws: `.dimensionMismatch` when `x.count != columns`.
    public func multiply(_ x: [Double]) throws -> [Double] {
        try productArray("CSRMatrix.multiply", x, inputLength: columns, outputLength: rows) { multiply($0, into: $1) }
    }

    /// Aᵀx as a new array. - Throws: `.dimensionMismatch` when `x.count != rows`.
    public func multiplyTransposed(_ x: [Double]) throws -> [Double] {
        try productArray("CSRMatrix.multiplyTransposed", x, inputLength: rows, outputLength: columns) {
            multiplyTransposed($0, into: $1)
        }
    }
}

extension CSCMatrix {
    /// y = αAx (+ y when `accumulate`). - Complexity: O(nnz + threads·rows).
    public func multiply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                         alpha: Double = 1, accumulate: Bool = false) {
        storage.scatterProduct(x, into: y, alpha: alpha, accumulate: accumulate)
    }

    /// y = αAᵀx (+ y when `accumulate`), parallel over column blocks. - Complexity: O(nnz + columns).
    public func multiplyTransposed(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                                   alpha: Double = 1, accumulate: Bool = false) {
        storage.gatherProduct(x, into: y, alpha: alpha, accumulate: accumulate)
    }

    /// Ax as a new array.
    public func multiply(_ x: [Double]) throws -> [Double] {
        try productArray("CSCMatrix.multiply", x, inputLength: columns, outputLength: rows) { multiply($0, into: $1) }
    }

    /// Aᵀx as a new array.
    public func multiplyTransposed(_ x: [Double]) throws -> [Double] {
        try productArray("CSCMatrix.multiplyTransposed", x, inputLength: rows, outputLength: columns) {
            multiplyTransposed($0, into: $1)
        }
    }
}

/// Checks the input length, then runs a buffer product into a new array.
func productArray(_ operation: String, _ x: [Double], inputLength: Int, outputLength: Int,
                  _ product: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void) throws -> [Double] {
    try checkLength(operation, "x", expected: inputLength, actual: x.count)
    var y = [Double](repeating: 0, count: outputLength)
    x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { product(xb, $0) } }
    return y
}
