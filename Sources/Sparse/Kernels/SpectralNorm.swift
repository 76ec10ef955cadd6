import Foundation

extension CSRMatrix {
    /// An estimate of the spectral norm ‖A‖₂ (the largest singular value) by power iteration
    /// on AᵀA from a seeded random start: the Lipschitz constant of ∇(½‖Ax − b‖²) is ‖A‖₂², the
    /// step a proximal-gradient method needs. The estimate increases towards ‖A‖₂ and is
    /// within a relative `tolerance` when two iterations agree to it (or after `iterations`).
    /// - Complexity: O(iterations · nnz); memory O(rows + columns).
    public func spectralNormEstimate(iterations: Int = 100, tolerance: Double = 1e-6, seed: UInt64 = 0) -> Double {
        guard rows > 0, columns > 0, nonzeroCount > 0 else { return 0 }
        var random = SplitMix64(seed: seed)
        var v = (0..<columns).map { _ in random.nextUniform() + 0.5 }
        var norm = Vector.norm(v)
        for j in 0..<columns { v[j] /= norm }
        var u = [Double](repeating: 0, count: rows), w = [Double](repeating: 0, count: columns)
        var estimate = 0.0
        for _ in 0..<max(iterations, 1) {
            v.withUnsafeBufferPointer { vb in u.withUnsafeMutableBufferPointer { multiply(vb, into: $0) } }
            u.withUnsafeBufferPointer { ub in w.withUnsafeMutableBufferPointer { multiplyTransposed(ub, into: $0) } }
            norm = Vector.norm(w)                     // ‖AᵀA v‖ with ‖v‖ = 1: a lower bound of σ²
            guard norm > 0, norm.isFinite else { return 0 }
            let next = norm.squareRoot()
            for j in 0..<columns { v[j] = w[j] / norm }
            if abs(next - estimate) <= tolerance * next { return next }
            estimate = next
        }
        return estimate
    }
}

extension CSCMatrix {
    /// ‖A‖₂ estimated by power iteration (`CSRMatrix.spectralNormEstimate`).
    public func spectralNormEstimate(iterations: Int = 100, tolerance: Double = 1e-6, seed: UInt64 = 0) -> Double {
        transposeAsCSR.spectralNormEstimate(iterations: iterations, tolerance: tolerance, seed: seed)
    }
}
