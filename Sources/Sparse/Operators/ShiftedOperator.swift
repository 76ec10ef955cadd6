
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
