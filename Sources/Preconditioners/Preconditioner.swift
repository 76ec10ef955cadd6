import Sparse

/// An approximate inverse M⁻¹ of an operator A, applied as a `LinearOperator`
/// (`apply(r, into: z)` writes z = M⁻¹r into the caller's buffer without allocating), so
/// any Krylov method of `Sparse` accepts it. Conformers report their set-up cost and memory
/// and whether M is symmetric (CG and MINRES refuse an unsymmetric one).
public protocol Preconditioner: LinearOperator {
    /// A short name for reports ("jacobi", "amg", …).
    var name: String { get }
    /// Seconds spent in set-up.
    var setupSeconds: Double { get }
    /// Bytes held by the preconditioner.
    var memoryBytes: Int { get }
}

/// Jacobi (diagonal) preconditioning: M = diag(A), z = r ./ diag(A).
/// - Set-up O(nnz) when the diagonal comes from an explicit matrix, apply O(n).
/// - Memory: 8·n bytes.
public struct JacobiPreconditioner: Preconditioner {
    public let inverseDiagonal: [Double]
    public let setupSeconds: Double
    public var name: String { "jacobi" }
    public var rows: Int { inverseDiagonal.count }
    public var columns: Int { inverseDiagonal.count }
    public var isSymmetric: Bool { true }
    public var isPositiveDefinite: Bool { inverseDiagonal.allSatisfy { $0 > 0 } }
    public var memoryBytes: Int { 8 * inverseDiagonal.count }
    public var diagonal: [Double]? { inverseDiagonal }

    /// Builds from an operator's diagonal.
    /// - Throws: `SparseError.invalidArgument` when the operator has no diagonal or is not
    ///   square, or when a diagonal entry is zero (naming its index), `.nonFinite` for NaN/Inf.
    public init(_ op: some LinearOperator) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        guard op.rows == op.columns else {
            throw SparseError.dimensionMismatch(operation: "JacobiPreconditioner", expected: "a square operator",
                                                actual: "\(op.rows) × \(op.columns)")
        }
        guard let d = op.diagonal else {
            throw SparseError.invalidArgument("Jacobi preconditioner: the operator provides no diagonal")
        }
        try self.init(diagonal: d)
        self = JacobiPreconditioner(inverseDiagonal: inverseDiagonal,
                                    setupSeconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }

    /// Builds from a diagonal.
    public init(diagonal d: [Double]) throws {
        var inverse = [Double](repeating: 0, count: d.count)
        for i in 0..<d.count {
            guard d[i].isFinite else { throw SparseError.nonFinite(what: "diagonal", index: i) }
            guard d[i] != 0 else {
                throw SparseError.invalidArgument("Jacobi preconditioner: zero diagonal entry at index \(i)")
            }
            inverse[i] = 1 / d[i]
        }
        self.init(inverseDiagonal: inverse, setupSeconds: 0)
    }

    private init(inverseDiagonal: [Double], setupSeconds: Double) {
        self.inverseDiagonal = inverseDiagonal
        self.setupSeconds = setupSeconds
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        inverseDiagonal.withUnsafeBufferPointer { d in
            let xb = x.baseAddress!, yb = y.baseAddress!, db = d.baseAddress!
            if accumulate {
                for i in 0..<d.count { yb[i] += db[i] * xb[i] }
            } else {
                for i in 0..<d.count { yb[i] = db[i] * xb[i] }
            }
        }
    }
}
import Dispatch
