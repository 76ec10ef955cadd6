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
    /// Forming it may cost work: the policy asks only after `gramStructure`.
    var explicitMatrix: CSRMatrix? { get }
    /// XᵀDX + βI, when the operator is one: direct solvers factorize it from X without forming
    /// XᵀX (CHOLMOD's factorize_p), the dense path forms it row by row.
    var gramStructure: GramStructure? { get }
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
    func applyReturningInnerProduct(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>) -> Double
}

extension LinearOperator {
    public var isSymmetric: Bool { false }
    public var isPositiveDefinite: Bool { false }
    public var diagonal: [Double]? { nil }
    public var explicitMatrix: CSRMatrix? { nil }
    public var gramStructure: GramStructure? { nil }
    public var hasTransposeProduct: Bool { true }
    public var preconditioningMatrix: CSRMatrix? { explicitMatrix }
    public var patternIdentity: PatternIdentity? { nil }
    public var valuesIdentity: ValuesIdentity? { nil }

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
    ///   - symmetric, positiveDefinite: what is known of A (the automatic policy picks CG for
    ///     a symmetric positive definite operator, MINRES for a symmetric one, GMRES else).
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
    public var hasTransposeProduct: Bool { base.hasTransposeProduct }

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
    public var gramStructure: GramStructure? {
        GramStructure(columnMajor: matrix, rowMajor: rowMajor, weights: weights, shift: shift)
    }
    public var patternIdentity: PatternIdentity? { PatternIdentity(matrix.storage, role: .gram) }
    public var valuesIdentity: ValuesIdentity? { ValuesIdentity(matrix.values, scalars: [shift] + (weights ?? [])) }

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

/// XᵀDX + βI as a Gram operator declares it (X n × p, D = diag(weights) or I).
public struct GramStructure: Sendable {
    public let columnMajor: CSCMatrix
    public let rowMajor: CSRMatrix
    public let weights: [Double]?
    public let shift: Double
}

/// The identity of a sparsity pattern: a token made with the pattern and carried by every
/// copy, value replacement (`replacingValues`, `scaled`) and transpose of it, compared by
/// reference (O(1)), never element by element. An equal pattern built anew (another
/// `selectingColumns` of the same columns) has another identity: its analysis is redone.
public struct PatternIdentity: Equatable, Sendable {
    /// What the operator makes of the arrays: a CSR matrix A and the CSC matrix Aᵀ share
    /// their storage, and a Gram operator XᵀX shares X's, yet they are different operators.
    public enum Role: UInt8, Sendable { case csr, csc, gram }
    let token: PatternToken
    let role: Role
    let majorCount: Int
    let minorCount: Int

    init(_ storage: CompressedStorage, role: Role) {
        token = storage.patternToken
        self.role = role
        majorCount = storage.majorCount
        minorCount = storage.minorCount
    }

    public static func == (lhs: PatternIdentity, rhs: PatternIdentity) -> Bool {
        lhs.token === rhs.token && lhs.role == rhs.role && lhs.majorCount == rhs.majorCount && lhs.minorCount == rhs.minorCount
    }
}

/// The identity of a matrix's values (compared by buffer) and of a few scalars such as a
/// shift (compared by value).
public struct ValuesIdentity: Equatable, Sendable {
    let values: [Double]
    let scalars: [Double]

    public init(_ values: [Double], scalars: [Double] = []) {
        self.values = values
        self.scalars = scalars
    }

    public static func == (lhs: ValuesIdentity, rhs: ValuesIdentity) -> Bool {
        sameBuffer(lhs.values, rhs.values) && lhs.scalars == rhs.scalars
    }
}

func sameBuffer<T>(_ a: [T], _ b: [T]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
}
