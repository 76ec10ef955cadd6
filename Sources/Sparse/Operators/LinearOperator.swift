/// A linear map y = Ax (or Aᵀx) that Krylov methods, preconditioners and the implicit
/// layer can apply without knowing how A is stored (DESIGN.md, "LinearOperator").
///
/// `apply` writes into the caller's buffer and must not allocate per call on hot paths.
/// Operators that keep scratch space are not safe to apply from two threads at once.
public protocol LinearOperator {
    var rows: Int { get }
    var columns: Int { get }
    /// y = Ax, or y = Aᵀx when `transposed`; with `accumulate`, y += Ax instead.
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
               transposed: Bool, accumulate: Bool)
    /// True when A = Aᵀ is known (CG and MINRES require it).
    var isSymmetric: Bool { get }
    /// True when A is known to be symmetric positive definite (CG's assumption).
    var isPositiveDefinite: Bool { get }
    /// True when A is known to be symmetric positive semidefinite and may be singular (a Gram
    /// matrix of possibly dependent columns): a rank-revealing method then gives the
    /// minimum-norm solution. Default: `isPositiveDefinite`.
    var isPositiveSemidefinite: Bool { get }
    /// The main diagonal, when cheap to provide (Jacobi preconditioning).
    var diagonal: [Double]? { get }
    /// The matrix itself, when it exists explicitly (direct solvers, incomplete factorizations).
    /// Forming it may cost work: the policy asks only after `gramStructure`.
    var explicitMatrix: CSRMatrix? { get }
    /// XᵀDX + βI, when the operator is one: direct solvers factorize it from X without forming
    /// XᵀX (CHOLMOD's factorize_p), the dense path forms it row by row.
    var gramStructure: GramStructure? { get }
    /// The matrix as a dense column-major n × n array, when the operator is one (a small
    /// system already formed densely): direct solvers factorize it as it is.
    var denseColumnMajor: [Double]? { get }
    /// True when `apply(_:into:transposed: true, …)` is available (Aᵀ products).
    var hasTransposeProduct: Bool { get }
    /// A sparse matrix to build matrix-based preconditioners (AMG, IC, ILU, SSOR) from when
    /// the operator itself is matrix-free: an approximation of A, or A itself. Default:
    /// `explicitMatrix`.
    var preconditioningMatrix: CSRMatrix? { get }
    /// A token for the operator's sparsity pattern: equal tokens mean the very same pattern
    /// arrays, so an analysis or AMG aggregation can be reused without comparing arrays.
    /// nil when the operator has no pattern (matrix-free) — nothing is then reused.
    var patternIdentity: PatternIdentity? { get }
    /// A token for the operator's values on that pattern (and shifts): equal tokens mean the
    /// numeric factorization can be reused as it is.
    var valuesIdentity: ValuesIdentity? { get }
    /// y = Ax and returns xᵀy (square operators): CG's curvature pᵀAp. Conformers may fuse
    /// the two in one pass over memory; the default applies and then takes the dot product.
    /// For a distributed operator the inner product is this process's part (the caller
    /// reduces it through `vectorSpace`).
    func applyReturningInnerProduct(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) -> Double
    /// How x and y are split over processes, for an operator whose vectors are (a square
    /// operator distributed by rows: `rows` and `columns` are the global dimensions, `apply`
    /// takes and writes this process's parts, of `localRows` entries, and is collective).
    /// nil (the default): whole vectors in this process.
    var vectorSpace: VectorSpace? { get }
}

extension LinearOperator {
    public var isSymmetric: Bool { false }
    public var isPositiveDefinite: Bool { false }
    public var isPositiveSemidefinite: Bool { isPositiveDefinite }
    public var diagonal: [Double]? { nil }
    public var explicitMatrix: CSRMatrix? { nil }
    public var gramStructure: GramStructure? { nil }
    public var denseColumnMajor: [Double]? { nil }
    public var hasTransposeProduct: Bool { true }
    public var preconditioningMatrix: CSRMatrix? { explicitMatrix }
    public var patternIdentity: PatternIdentity? { nil }
    public var valuesIdentity: ValuesIdentity? { nil }
    public var vectorSpace: VectorSpace? { nil }

    public func applyReturningInnerProduct(_ x: UnsafeBufferPointer<Double>,
                                           into y: UnsafeMutableBufferPointer<Double>) -> Double {
        apply(x, into: y, transposed: false, accumulate: false)
        return Vector.dot(x, UnsafeBufferPointer(y))
    }

    /// ‖b − Ax‖/‖b‖ (‖b − Ax‖ when b = 0), or with Aᵀ when `transposed`, from a true product:
    /// how every solve in the toolkit reports its answer. NaN on a shape mismatch.
    /// Over every process for a distributed operator (collective: one reduction).
    public func relativeResidual(_ x: [Double], _ b: [Double], transposed: Bool = false) -> Double {
        guard let ax = try? apply(x, transposed: transposed), ax.count == b.count else { return .nan }
        var r = 0.0, bb = 0.0
        for i in 0..<b.count {
            r += (b[i] - ax[i]) * (b[i] - ax[i])
            bb += b[i] * b[i]
        }
        if let vectorSpace {
            let global = vectorSpace.sum([r, bb])
            r = global[0]
            bb = global[1]
        }
        return bb > 0 ? (r / bb).squareRoot() : r.squareRoot()
    }

    /// ‖Aᵀ(Ax − b)‖ / ‖Aᵀb‖ (A and Aᵀ swapped when `transposed`): the quality of a
    /// least-squares answer, which is 0 at the minimum-norm solution of a singular system.
    public func normalEquationResidual(_ x: [Double], _ b: [Double], transposed: Bool = false) -> Double {
        guard let ax = try? apply(x, transposed: transposed), ax.count == b.count,
              let normal = try? apply(zip(ax, b).map { $0 - $1 }, transposed: !transposed),
              let atb = try? apply(b, transposed: !transposed) else { return .nan }
        let space = effectiveVectorSpace
        let scale = space.norm(atb), normalNorm = space.norm(normal)
        return scale > 0 ? normalNorm / scale : normalNorm
    }

    /// y = Ax into a new array (this process's parts for a distributed operator).
    /// - Throws: `.dimensionMismatch` on a wrong length.
    public func apply(_ x: [Double], transposed: Bool = false) throws -> [Double] {
        try productArray("LinearOperator.apply", x, inputLength: transposed ? localRows : localColumns,
                         outputLength: transposed ? localColumns : localRows) {
            apply($0, into: $1, transposed: transposed, accumulate: false)
        }
    }
}

extension CSRMatrix: LinearOperator {
    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        if transposed {
            multiplyTransposed(x, into: y, accumulate: accumulate)
        } else {
            multiply(x, into: y, accumulate: accumulate)
        }
    }
    public var isSymmetric: Bool { isKnownSymmetric }
    public var diagonal: [Double]? { diagonalEntries() }
    public var explicitMatrix: CSRMatrix? { self }
    public var patternIdentity: PatternIdentity? { PatternIdentity(storage, role: .csr) }
    public var valuesIdentity: ValuesIdentity? { ValuesIdentity(values) }

    public func applyReturningInnerProduct(_ x: UnsafeBufferPointer<Double>,
                                           into y: UnsafeMutableBufferPointer<Double>) -> Double {
        precondition(rows == columns, "applyReturningInnerProduct needs a square matrix")
        return storage.gatherProduct(x, into: y, alpha: 1, accumulate: false, innerProduct: true)
    }
}

extension CSCMatrix: LinearOperator {
    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        if transposed {
            multiplyTransposed(x, into: y, accumulate: accumulate)
        } else {
            multiply(x, into: y, accumulate: accumulate)
        }
    }
    public var isSymmetric: Bool { isKnownSymmetric }
    public var diagonal: [Double]? { transposeAsCSR.diagonalEntries() }
    public var explicitMatrix: CSRMatrix? { toCSR() }
    public var patternIdentity: PatternIdentity? { PatternIdentity(storage, role: .csc) }
    public var valuesIdentity: ValuesIdentity? { ValuesIdentity(values) }
}
