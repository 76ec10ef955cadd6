import CSuiteSparse
import Foundation

/// LU (or Cholesky) of a small dense matrix through LAPACK, for block-Jacobi blocks and AMG's
/// coarsest level. Column-major storage. Solves in place without allocating.
///
/// Memory: 8·n² + 4·n bytes.
public struct DenseFactorization: Sendable {
    public enum Kind: Sendable { case cholesky, lu, pseudoInverse }
    public let dimension: Int
    public let kind: Kind
    private var factor: [Double]
    private var pivots: [Int32]

    /// Factorizes a dense column-major n × n matrix: Cholesky when `symmetricPositiveDefinite`
    /// (falling back to LU if it fails), LU otherwise.
    /// - Throws: `.singularMatrix` when LU meets an exactly zero pivot, `.nonFinite`.
    public init(columnMajor a: [Double], dimension n: Int, symmetricPositiveDefinite: Bool) throws {
        try checkLength("DenseFactorization", "matrix", expected: n * n, actual: a.count)
        try checkFinite(a, "matrix")
        _ = configureLibraries
        dimension = n
        if symmetricPositiveDefinite {
            var f = a
            if n == 0 || LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), &f, Int32(n)) == 0 {
                factor = f
                pivots = []
                kind = .cholesky
                return
            }
        }
        var f = a
        var p = [Int32](repeating: 0, count: n)
        let info = n == 0 ? 0 : LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), &f, Int32(n), &p)
        if info > 0 { throw SparseError.singularMatrix(reciprocalCondition: 0) }
        factor = f
        pivots = p
        kind = .lu
    }

    /// The Moore–Penrose pseudo-inverse of a symmetric matrix (eigenvalues below
    /// `relativeCutoff`·max|λ| treated as zero): the coarsest AMG level of a singular
    /// operator such as a pure graph Laplacian. O(n³); for n up to a few thousand.
    public init(symmetricPseudoInverseOf a: [Double], dimension n: Int, relativeCutoff: Double = 1e-10) throws {
        try checkLength("DenseFactorization", "matrix", expected: n * n, actual: a.count)
        try checkFinite(a, "matrix")
        _ = configureLibraries
        var vectors = a
        var eigenvalues = [Double](repeating: 0, count: n)
        if n > 0 {
            let info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")), Int32(n),
                                      &vectors, Int32(n), &eigenvalues)
            if info != 0 { throw SparseError.libraryFailure(library: "LAPACK", status: Int(info), message: "dsyevd did not converge") }
        }
        let largest = eigenvalues.map(abs).max() ?? 0
        var inverse = [Double](repeating: 0, count: n * n)
        for k in 0..<n where abs(eigenvalues[k]) > relativeCutoff * largest {
            let scale = 1 / eigenvalues[k]
            for j in 0..<n {
                let vjk = vectors[k * n + j] * scale
                if vjk == 0 { continue }
                for i in 0..<n { inverse[j * n + i] += vectors[k * n + i] * vjk }
            }
        }
        dimension = n
        factor = inverse
        pivots = []
        kind = .pseudoInverse
    }

    /// Overwrites `x` (length n) with A⁻¹x. `scratch` must hold n doubles (pseudo-inverse only).
    public func solve(inPlace x: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>) {
        let n = Int32(dimension)
        guard dimension > 0 else { return }
        factor.withUnsafeBufferPointer { f in
            switch kind {
            case .cholesky:
                _ = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), n, 1, f.baseAddress, n, x, n)
            case .lu:
                pivots.withUnsafeBufferPointer { p in
                    _ = LAPACKE_dgetrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "N")), n, 1, f.baseAddress, n, p.baseAddress, x, n)
                }
            case .pseudoInverse:
                scratch.update(from: x, count: dimension)
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, n, 1, f.baseAddress, n, scratch, 1, 0, x, 1)
            }
        }
    }

    public var memoryBytes: Int { 8 * factor.count + 4 * pivots.count }
}
