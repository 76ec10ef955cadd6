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
    /// The main diagonal, when cheap to provide (Jacobi preconditioning).
    var diagonal: [Double]? { get }
    /// The matrix itself, when it exists explicitly (direct solvers, incomplete factorizations).
    var explicitMatrix: CSRMatrix? { get }
    /// y = Ax and returns xᵀy (square operators): CG's curvature pᵀAp. Conformers may fuse
    /// the two in one pass over memory; the default applies and then takes the dot product.
    func applyReturningInnerProduct(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) -> Double
}

extension LinearOperator {
    public var isSymmetric: Bool { false }
    public var isPositiveDefinite: Bool { false }
    public var diagonal: [Double]? { nil }
    public var explicitMatrix: CSRMatrix? { nil }

    public func applyReturningInnerProduct(_ x: UnsafeBufferPointer<Double>,
                                           into y: UnsafeMutableBufferPointer<Double>) -> Double {
        apply(x, into: y, transposed: false, accumulate: false)
        return Vector.dot(x, UnsafeBufferPointer(y))
    }

    /// ‖b − Ax‖/‖b‖ (‖b − Ax‖ when b = 0), or with Aᵀ when `transposed`, from a true product:
    /// how every solve in the toolkit reports its answer. NaN on a shape mismatch.
    public func relativeResidual(_ x: [Double], _ b: [Double], transposed: Bool = false) -> Double {
        guard let ax = try? apply(x, transposed: transposed), ax.count == b.count else { return .nan }
        var r = 0.0
        for i in 0..<b.count { r += (b[i] - ax[i]) * (b[i] - ax[i]) }
        let bnorm = Vector.norm(b)
        return bnorm > 0 ? r.squareRoot() / bnorm : r.squareRoot()
    }

    /// y = Ax into a new array. - Throws: `.dimensionMismatch` on a wrong length.
    public func apply(_ x: [Double], transposed: Bool = false) throws -> [Double] {
        try productArray("LinearOperator.apply", x, inputLength: transposed ? rows : columns,
                         outputLength: transposed ? columns : rows) {
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
}

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

    public init(rows: Int, columns: Int, symmetric: Bool = false, positiveDefinite: Bool = false,
                diagonal: [Double]? = nil, forward: @escaping Product, adjoint: Product? = nil) throws {
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
        self.diagonal = diagonal
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
}

/// αA + βI for a square operator A, without forming it. Keeps one n-vector of scratch
/// for accumulated applies with α ≠ 1.
public final class ShiftedOperator<Base: LinearOperator>: LinearOperator {
    public let base: Base
    public let alpha: Double
    public let beta: Double
    private var scratch: [Double] = []

    public init(_ base: Base, alpha: Double = 1, beta: Double) throws {
        guard base.rows == base.columns else {
            throw SparseError.dimensionMismatch(operation: "ShiftedOperator", expected: "a square operator",
                                                actual: "\(base.rows) × \(base.columns)")
        }
        guard alpha.isFinite, beta.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        self.base = base
        self.alpha = alpha
        self.beta = beta
    }

    public var rows: Int { base.rows }
    public var columns: Int { base.columns }
    public var isSymmetric: Bool { base.isSymmetric }
    public var isPositiveDefinite: Bool { base.isPositiveDefinite && alpha > 0 && beta >= 0 }
    public var diagonal: [Double]? { base.diagonal.map { $0.map { alpha * $0 + beta } } }
    public var explicitMatrix: CSRMatrix? {
        guard let m = base.explicitMatrix else { return nil }
        return try? m.scaled(by: alpha).addingIdentity(scaledBy: beta)
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        let n = rows
        let xb = x.baseAddress!, yb = y.baseAddress!
        if alpha == 1 {
            base.apply(x, into: y, transposed: transposed, accumulate: accumulate)
            for i in 0..<n { yb[i] += beta * xb[i] }
        } else if !accumulate {
            base.apply(x, into: y, transposed: transposed, accumulate: false)
            for i in 0..<n { yb[i] = alpha * yb[i] + beta * xb[i] }
        } else {
            if scratch.count != n { scratch = [Double](repeating: 0, count: n) }
            scratch.withUnsafeMutableBufferPointer { t in
                base.apply(x, into: t, transposed: transposed, accumulate: false)
                for i in 0..<n { yb[i] += alpha * t[i] + beta * xb[i] }
            }
        }
    }
}

/// XᵀDX + βI for X (n × p) without forming it: per apply, t = Xx from a row-major copy and
/// y = Xᵀ(Dt) from the column-major one, both parallel gathers with no scratch allocation.
/// Symmetric; positive definite when β > 0 and D ≥ 0 (semi-definite when β = 0).
///
/// Memory: X twice (CSC and CSR, 12 bytes per nonzero each) plus 8·n bytes of scratch.
public final class GramOperator: LinearOperator {
    public let matrix: CSCMatrix
    public let weights: [Double]?
    public let shift: Double
    /// X in row-major (CSR) order.
    public let rowMajor: CSRMatrix
    private var scratch: [Double]

    public init(_ matrix: CSCMatrix, weights: [Double]? = nil, shift: Double = 0) throws {
        if let weights {
            try checkLength("GramOperator", "weights", expected: matrix.rows, actual: weights.count)
            try checkFinite(weights, "weights")
        }
        guard shift.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        self.matrix = matrix
        self.rowMajor = matrix.toCSR()
        self.weights = weights
        self.shift = shift
        self.scratch = [Double](repeating: 0, count: matrix.rows)
    }

    public var rows: Int { matrix.columns }
    public var columns: Int { matrix.columns }
    public var isSymmetric: Bool { true }
    public var isPositiveDefinite: Bool { shift > 0 && (weights?.allSatisfy { $0 >= 0 } ?? true) }

    /// diag(XᵀDX) + β: Σᵢ Dᵢ X²ᵢⱼ per column. O(nnz).
    public var diagonal: [Double]? {
        let s = matrix.storage
        return (0..<matrix.columns).map { j in
            var sum = shift
            for k in s.pointers[j]..<s.pointers[j + 1] {
                let v = s.values[k]
                sum += (weights?[Int(s.indices[k])] ?? 1) * v * v
            }
            return sum
        }
    }

    public var explicitMatrix: CSRMatrix? { try? matrix.gram(weights: weights, shift: shift) }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        scratch.withUnsafeMutableBufferPointer { t in
            rowMajor.multiply(x, into: t)
            if let weights {
                weights.withUnsafeBufferPointer { w in
                    for i in 0..<t.count { t[i] *= w[i] }
                }
            }
            matrix.multiplyTransposed(UnsafeBufferPointer(t), into: y, accumulate: accumulate)
        }
        if shift != 0 {
            let xb = x.baseAddress!, yb = y.baseAddress!
            for i in 0..<columns { yb[i] += shift * xb[i] }
        }
    }
}
