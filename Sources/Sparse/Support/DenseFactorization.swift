import CSuiteSparse
import Foundation

/// LU (or Cholesky) of a small dense matrix through LAPACK, for block-Jacobi blocks and AMG's
/// coarsest level. Column-major storage. Solves in place without allocating.
///
/// Memory: 8·n² + 4·n bytes.
public struct DenseFactorization: Sendable {
    public enum Kind: Sendable { case cholesky, lu, pseudoInverse, pivotedCholesky, eigen }
    public let dimension: Int
    public let kind: Kind
    private var factor: [Double]
    private var pivots: [Int32]
    private var inverseEigenvalues: [Double] = []
    /// Rank-deficient pivoted Cholesky: the Cholesky factor of LᵀL.
    private var gramFactor: [Double] = []

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

    /// A rank-revealing factorization of a symmetric positive semidefinite matrix: plain
    /// Cholesky (`dpotrf`, blocked and threaded) when it succeeds with every pivot L_ii² above
    /// 100·n·ε·max diag — a safety factor over `dpstrf`'s own tolerance, so a matrix that
    /// rounding lets through with a near-zero pivot (a column equal to a sum of others) is not
    /// taken as full rank — else the pivoted Cholesky (`init(pivotedCholeskyOf:)`), whose
    /// `rank` is the numerical rank and whose `solve` is the pseudo-inverse's (the minimum-norm
    /// solution). The factorization that tests the rank also solves: one O(n³/3) Cholesky at
    /// full rank, a second (pivoted) one below it.
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

    /// The eigendecomposition A = V diag(μ) Vᵀ of a symmetric matrix (LAPACK `dsyevd`), kept
    /// as V and 1/μ for the eigenvalues above `relativeCutoff`·max|μ| (0 for the others):
    /// `solve` applies the pseudo-inverse V diag(1/μ⁺) Vᵀ in O(n²) — the minimum-norm
    /// least-squares solution — without forming it; `rank` counts the eigenvalues kept.
    public init(symmetricEigenOf a: [Double], dimension n: Int, relativeCutoff: Double = 1e-10) throws {
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
        let inverse = eigenvalues.map { abs($0) > relativeCutoff * largest ? 1 / $0 : 0 }
        dimension = n
        factor = vectors
        pivots = []
        inverseEigenvalues = inverse
        kind = .eigen
        rank = inverse.filter { $0 != 0 }.count
    }

    /// Pivoted Cholesky of a symmetric positive semidefinite matrix (LAPACK `dpstrf`, LAPACK's
    /// default tolerance n·ε·max diag): PᵀAP = LLᵀ with L of `rank` columns. The rank test and a
    /// solver in one O(n³/3) factorization; below full rank `solve` applies the pseudo-inverse
    /// P L(LᵀL)⁻²Lᵀ Pᵀ (the minimum-norm solution; LᵀL is factorized here, O(n·r²)).
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
        // Rank-deficient: the minimum-norm solve needs LᵀL (r × r, L the first r columns of
        // the factor), factorized once.
        if rank < n && rank > 0 {
            var l = [Double](repeating: 0, count: n * rank)
            for j in 0..<rank { for i in j..<n { l[j * n + i] = f[j * n + i] } }
            var m = [Double](repeating: 0, count: rank * rank)
            cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, Int32(rank), Int32(n), 1, l, Int32(n), 0, &m, Int32(rank))
            if LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(rank), &m, Int32(rank)) != 0 {
                throw SparseError.notPositiveDefinite(column: 0)
            }
            factor = l
            gramFactor = m
        }
    }

    /// The number of eigenvalues kept by a pseudo-inverse (above the cutoff); n for the other
    /// kinds.
    public private(set) var rank: Int = 0

    /// The Moore–Penrose pseudo-inverse of a symmetric matrix (eigenvalues below
    /// `relativeCutoff`·max|λ| treated as zero): the coarsest AMG level of a singular
    /// operator such as a pure graph Laplacian. O(n³); for n up to a few thousand.
    public init(symmetricPseudoInverseOf a: [Double], dimension n: Int, relativeCutoff: Double = 1e-10) throws {
        let eigen = try DenseFactorization(symmetricEigenOf: a, dimension: n, relativeCutoff: relativeCutoff)
        var inverse = [Double](repeating: 0, count: n * n)
        for k in 0..<n where eigen.inverseEigenvalues[k] != 0 {
            let scale = eigen.inverseEigenvalues[k]
            for j in 0..<n {
                let vjk = eigen.factor[k * n + j] * scale
                if vjk == 0 { continue }
                for i in 0..<n { inverse[j * n + i] += eigen.factor[k * n + i] * vjk }
            }
        }
        dimension = n
        factor = inverse
        pivots = []
        kind = .pseudoInverse
        rank = eigen.rank
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
                // x ← P (LLᵀ)⁺ Pᵀ x, pivots 1-based: position k holds row pivots[k] − 1. Full
                // rank: two triangular solves. Rank r < n: (LLᵀ)⁺ = L(LᵀL)⁻²Lᵀ for the n × r
                // factor L of full column rank — the minimum-norm solution of G z = x in
                // O(n·r) after the O(n·r²) set-up.
                pivots.withUnsafeBufferPointer { p in
                    for k in 0..<dimension { scratch[k] = x[Int(p[k]) - 1] }
                    if rank == dimension {
                        _ = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), n, 1, f.baseAddress, n, scratch, n)
                    } else if rank == 0 {
                        for k in 0..<dimension { scratch[k] = 0 }
                    } else {
                        let r = Int32(rank)
                        var c = [Double](repeating: 0, count: rank)
                        cblas_dgemv(CblasColMajor, CblasTrans, n, r, 1, f.baseAddress, n, scratch, 1, 0, &c, 1)
                        gramFactor.withUnsafeBufferPointer { m in
                            _ = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), r, 1, m.baseAddress, r, &c, r)
                            _ = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), r, 1, m.baseAddress, r, &c, r)
                        }
                        cblas_dgemv(CblasColMajor, CblasNoTrans, n, r, 1, f.baseAddress, n, c, 1, 0, scratch, 1)
                    }
                    for k in 0..<dimension { x[Int(p[k]) - 1] = scratch[k] }
                }
            case .eigen:
                cblas_dgemv(CblasColMajor, CblasTrans, n, n, 1, f.baseAddress, n, x, 1, 0, scratch, 1)
                for k in 0..<dimension { scratch[k] *= inverseEigenvalues[k] }
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, n, 1, f.baseAddress, n, scratch, 1, 0, x, 1)
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
