import CSuiteSparse
import Foundation

/// LU (or Cholesky) of a small dense matrix through LAPACK, for block-Jacobi blocks and AMG's
/// coarsest level. Column-major storage. Solves in place without allocating.
///
/// Memory: 8·n² + 4·n bytes.
public struct DenseFactorization: Sendable {
    public enum Kind: Sendable { case cholesky, lu, pseudoInverse, pivotedCholesky }
    public let dimension: Int
    public let kind: Kind
    private var factor: [Double]
    private var pivots: [Int32]

    /// Factorizes a dense column-major n × n matrix: Cholesky when `symmetricPositiveDefinite`
    /// (falling back to LU if it fails), LU otherwise.
    /// - Throws: `.singularMatrix` when LU meets an exactly zero pivot, `.nonFinite`.
    public init(columnMajor a: [Double], dimension n: Int, symmetricPositiveDefinite: Bool) throws {
        try self.init(columnMajor: a, dimension: n, symmetricPositiveDefinite: symmetricPositiveDefinite, allowLU: true)
    }

    /// As above; with `allowLU` false a failed Cholesky throws `.notPositiveDefinite` instead
    /// of falling back to LU.
    init(columnMajor a: [Double], dimension n: Int, symmetricPositiveDefinite: Bool, allowLU: Bool) throws {
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
                rank = n
                return
            }
        }
        guard allowLU else { throw SparseError.notPositiveDefinite(column: 0) }
        var f = a
        var p = [Int32](repeating: 0, count: n)
        let info = n == 0 ? 0 : LAPACKE_dgetrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), &f, Int32(n), &p)
        if info > 0 { throw SparseError.singularMatrix(reciprocalCondition: 0) }
        factor = f
        pivots = p
        kind = .lu
        rank = n
    }

    /// The numerical rank of a symmetric positive semidefinite matrix (column-major n × n) by
    /// LAPACK's pivoted Cholesky (`dpstrf`, tolerance n·ε·max diag as LAPACK's default): the
    /// cost of one Cholesky. A Gram matrix of duplicated or linearly dependent columns has rank
    /// below n even when rounding would let plain Cholesky through.
    /// - Throws: `.nonFinite`, `.dimensionMismatch`.
    public static func rank(ofSymmetricPositiveSemidefinite a: [Double], dimension n: Int) throws -> Int {
        try DenseFactorization(pivotedCholeskyOf: a, dimension: n).rank
    }

    /// A rank-revealing Cholesky of a symmetric positive semidefinite matrix: plain Cholesky
    /// (`dpotrf`, blocked and threaded) when it succeeds with every pivot L_ii² above
    /// 100·n·ε·max diag — a safety factor over `dpstrf`'s own tolerance, so a matrix that
    /// rounding lets through with a near-zero pivot (a column equal to a sum of others) is not
    /// taken as full rank — else the pivoted Cholesky below, whose `rank` is then the numerical
    /// rank. In both cases `rank == dimension` means `solve` may be used.
    public static func semidefinite(_ a: [Double], dimension n: Int) throws -> DenseFactorization {
        try checkLength("DenseFactorization", "matrix", expected: n * n, actual: a.count)
        guard n > 0 else { return try DenseFactorization(pivotedCholeskyOf: a, dimension: n) }
        let largest = (0..<n).reduce(0.0) { max($0, a[$1 * n + $1]) }
        let plain = try? DenseFactorization(columnMajor: a, dimension: n, symmetricPositiveDefinite: true, allowLU: false)
        if let plain, largest > 0,
           (0..<n).allSatisfy({ plain.factor[$0 * n + $0] * plain.factor[$0 * n + $0] > 100 * Double(n) * Double.ulpOfOne * largest }) {
            return plain
        }
        return try DenseFactorization(pivotedCholeskyOf: a, dimension: n)
    }

    /// Pivoted Cholesky of a symmetric positive semidefinite matrix (LAPACK `dpstrf`, LAPACK's
    /// default tolerance n·ε·max diag): PᵀAP = LLᵀ with L of `rank` columns. The rank test and a
    /// solver in one O(n³/3) factorization; `solve` needs full rank (`rank == dimension`), so a
    /// caller checks `rank` first and takes the pseudo-inverse otherwise.
    /// - Throws: `.nonFinite`, `.dimensionMismatch`.
    public init(pivotedCholeskyOf a: [Double], dimension n: Int) throws {
        try checkLength("DenseFactorization", "matrix", expected: n * n, actual: a.count)
        try checkFinite(a, "matrix")
        _ = configureLibraries
        var f = a
        var p = [Int32](repeating: 0, count: n)
        var r: Int32 = 0
        if n > 0 {
            let info = LAPACKE_dpstrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), &f, Int32(n), &p, &r, -1)
            if info < 0 { throw SparseError.libraryFailure(library: "LAPACK", status: Int(info), message: "dpstrf rejected its arguments") }
        }
        dimension = n
        factor = f
        pivots = p
        kind = .pivotedCholesky
        rank = Int(r)
    }

    /// The number of eigenvalues kept by a pseudo-inverse (above the cutoff); n for the other
    /// kinds.
    public private(set) var rank: Int = 0

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
        var kept = 0
        for k in 0..<n where abs(eigenvalues[k]) > relativeCutoff * largest {
            kept += 1
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
        rank = kept
    }

    /// Overwrites `x` (length n) with A⁻¹x. `scratch` must hold n doubles (pseudo-inverse and
    /// pivoted Cholesky only).
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
            case .pivotedCholesky:
                precondition(rank == dimension, "DenseFactorization.solve: pivoted Cholesky of rank \(rank) < \(dimension)")
                // x ← P (LLᵀ)⁻¹ Pᵀ x, pivots 1-based: position k holds row pivots[k] − 1.
                pivots.withUnsafeBufferPointer { p in
                    for k in 0..<dimension { scratch[k] = x[Int(p[k]) - 1] }
                    _ = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), n, 1, f.baseAddress, n, scratch, n)
                    for k in 0..<dimension { x[Int(p[k]) - 1] = scratch[k] }
                }
            case .pseudoInverse:
                scratch.update(from: x, count: dimension)
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, n, 1, f.baseAddress, n, scratch, 1, 0, x, 1)
            }
        }
    }

    /// A⁻¹b (A⁺b for a pseudo-inverse) into a new array (b of length n).
    public func solve(_ b: [Double]) -> [Double] {
        precondition(b.count == dimension, "DenseFactorization.solve: length \(b.count), expected \(dimension)")
        var x = b, scratch = [Double](repeating: 0, count: dimension)
        x.withUnsafeMutableBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in solve(inPlace: xp.baseAddress!, scratch: sp.baseAddress!) }
        }
        return x
    }

    public var memoryBytes: Int { 8 * factor.count + 4 * pivots.count }
}
