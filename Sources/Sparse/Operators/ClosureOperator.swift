
/// An operator given by closures: `forward(x, y)` writes y = Ax, `adjoint(x, y)` writes y = Aᵀx
/// (omit it for symmetric operators, where Aᵀ = A). Accumulation is handled here.
public final class ClosureOperator: LinearOperator {
    public typealias Product = (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void
    public let rows: Int
    public let columns: Int
    public let isSymmetric: Bool
    public let isPositiveDefinite: Bool
    public let diagonal: [Double]?
    private let forward: Product
    private let adjoint: Product?
    private var scratch: [Double]

    /// A matrix for preconditioning only (see `LinearOperator.preconditioningMatrix`).
    public let preconditioningMatrix: CSRMatrix?

    /// - Parameters:
    ///   - rows: A's row count.
    ///   - columns: A's column count.
    ///   - symmetric: whether A = Aᵀ (the automatic policy picks CG for a symmetric positive
    ///     definite operator, MINRES for a symmetric one, GMRES else).
    ///   - positiveDefinite: whether A is positive definite.
    ///   - forward: the product x ↦ Ax.
    ///   - adjoint: the product x ↦ Aᵀx, when available (nil: methods that need it refuse).
    ///   - diagonal: A's diagonal, for Jacobi preconditioning.
    ///   - preconditioningMatrix: an explicit sparse matrix equal or close to A, from which
    ///     matrix-based preconditioners (AMG, IC(0), …) are built.
    public init(rows: Int, columns: Int, symmetric: Bool = false, positiveDefinite: Bool = false,
                diagonal: [Double]? = nil, preconditioningMatrix: CSRMatrix? = nil,
                forward: @escaping Product, adjoint: Product? = nil) throws {
        try CompressedStorage.checkDimensions(rows, columns)
        if symmetric && rows != columns {
            throw SparseError.invalidArgument("a symmetric operator must be square, got \(rows) × \(columns)")
        }
        if let diagonal {
            try checkLength("ClosureOperator", "diagonal", expected: min(rows, columns), actual: diagonal.count)
        }
        self.rows = rows
        self.columns = columns
        self.isSymmetric = symmetric
        self.isPositiveDefinite = positiveDefinite
        if let m = preconditioningMatrix, m.rows != rows || m.columns != columns {
            throw SparseError.dimensionMismatch(operation: "ClosureOperator", expected: "a \(rows) × \(columns) preconditioning matrix",
                                                actual: "\(m.rows) × \(m.columns)")
        }
        self.diagonal = diagonal
        self.preconditioningMatrix = preconditioningMatrix
        self.forward = forward
        self.adjoint = adjoint ?? (symmetric ? forward : nil)
        self.scratch = []
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        guard let product = transposed ? adjoint : forward else {
            preconditionFailure("ClosureOperator: no adjoint product was given")
        }
        if !accumulate {
            product(x, y)
            return
        }
        let count = transposed ? columns : rows
        if scratch.count != count { scratch = [Double](repeating: 0, count: count) }
        scratch.withUnsafeMutableBufferPointer { s in
            product(x, s)
            for i in 0..<count { y[i] += s[i] }
        }
    }

    /// True when the operator can apply Aᵀ.
    public var hasAdjoint: Bool { adjoint != nil }
    public var hasTransposeProduct: Bool { adjoint != nil }
}
