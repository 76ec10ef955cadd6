
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
