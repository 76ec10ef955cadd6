extension CSRMatrix {
    /// diag(scale)·A: row i multiplied by scale[i]. - Complexity: O(nnz).
    /// - Throws: `.dimensionMismatch` when `scale.count != rows`.
    public func scalingRows(by scale: [Double]) throws -> CSRMatrix {
        try checkLength("CSRMatrix.scalingRows", "scale", expected: rows, actual: scale.count)
        var copy = self
        copy.isKnownSymmetric = false
        copy.storage.values.withUnsafeMutableBufferPointer { v in
            for i in 0..<rows {
                for k in storage.pointers[i]..<storage.pointers[i + 1] { v[k] *= scale[i] }
            }
        }
        return copy
    }

    /// A·diag(scale): column j multiplied by scale[j] (feature scaling of a design matrix).
    /// Same pattern (and pattern identity) as A. - Complexity: O(nnz).
    /// - Throws: `.dimensionMismatch` when `scale.count != columns`, `.nonFinite`.
    public func scalingColumns(by scale: [Double]) throws -> CSRMatrix {
        try checkLength("CSRMatrix.scalingColumns", "scale", expected: columns, actual: scale.count)
        try checkFinite(scale, "scale")
        var copy = self
        copy.isKnownSymmetric = false
        let indices = storage.indices
        copy.storage.values.withUnsafeMutableBufferPointer { v in
            for k in 0..<v.count { v[k] *= scale[Int(indices[k])] }
        }
        return copy
    }
}
