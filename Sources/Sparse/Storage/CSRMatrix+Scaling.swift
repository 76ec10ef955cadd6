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
}
