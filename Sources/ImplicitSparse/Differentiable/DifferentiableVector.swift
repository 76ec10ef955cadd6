import _Differentiation
import Sparse

/// A dense vector of doubles that Swift's `_Differentiation` can differentiate through: its
/// tangent vector is itself, and every primitive on it (Primitives.swift) registers a
/// reverse-mode derivative, so a user-written optimality condition F(x, θ) composed of them
/// has exact pullbacks (one pass, no tape of scalar operations).
///
/// The zero tangent is the empty vector (Swift AD asks for `zero` without a length); adding
/// it to any vector returns that vector.
public struct DifferentiableVector: Differentiable, AdditiveArithmetic, Equatable, Sendable {
    public typealias TangentVector = DifferentiableVector

    /// The entries. Mutate through the primitives when a derivative is needed.
    public var scalars: [Double]
    /// Set only while `SparsityDetection` evaluates a condition: which entries of x each
    /// entry depends on (`DependencyTrace`). Not part of equality; nil for every vector a
    /// caller builds.
    @noDerivative public internal(set) var trace: DependencyTrace?

    public init(_ scalars: [Double]) { self.scalars = scalars; self.trace = nil }

    init(_ scalars: [Double], trace: DependencyTrace?) { self.scalars = scalars; self.trace = trace }

    public static func == (lhs: DifferentiableVector, rhs: DifferentiableVector) -> Bool { lhs.scalars == rhs.scalars }

    public init(repeating value: Double, count: Int) {
        scalars = [Double](repeating: value, count: count)
        trace = nil
    }

    public var count: Int { scalars.count }

    /// One entry, differentiable: `theta[0]` inside a differentiable closure.
    @differentiable(reverse, wrt: self)
    public subscript(index: Int) -> Double {
        trace?.denseCoupling("a subscript x[i]")
        return scalars[index]
    }

    @usableFromInline
    @derivative(of: subscript.get)
    func vjpSubscript(_ index: Int) -> (value: Double, pullback: (Double) -> DifferentiableVector) {
        let n = count
        return (scalars[index], { g in
            var out = [Double](repeating: 0, count: n)
            out[index] = g
            return DifferentiableVector(out)
        })
    }

    public static var zero: DifferentiableVector { DifferentiableVector([]) }

    public static func + (lhs: DifferentiableVector, rhs: DifferentiableVector) -> DifferentiableVector {
        if lhs.scalars.isEmpty { return rhs }
        if rhs.scalars.isEmpty { return lhs }
        precondition(lhs.count == rhs.count, "DifferentiableVector +: length mismatch")
        var out = lhs.scalars
        for i in 0..<out.count { out[i] += rhs.scalars[i] }
        return DifferentiableVector(out, trace: DependencyTrace.union(lhs.trace, rhs.trace))
    }

    public static func - (lhs: DifferentiableVector, rhs: DifferentiableVector) -> DifferentiableVector {
        if rhs.scalars.isEmpty { return lhs }
        if lhs.scalars.isEmpty { return DifferentiableVector(rhs.scalars.map { -$0 }, trace: rhs.trace) }
        precondition(lhs.count == rhs.count, "DifferentiableVector -: length mismatch")
        var out = lhs.scalars
        for i in 0..<out.count { out[i] -= rhs.scalars[i] }
        return DifferentiableVector(out, trace: DependencyTrace.union(lhs.trace, rhs.trace))
    }

    public mutating func move(by offset: DifferentiableVector) {
        self = self + offset
    }

    /// The entries, materialized to `count` (an empty zero tangent becomes zeros).
    public func dense(count n: Int) -> [Double] {
        scalars.isEmpty ? [Double](repeating: 0, count: n) : scalars
    }
}

/// A sparse pattern (CSR) whose values are a differentiable input: products differentiate
/// with respect to the values on the fixed pattern and to the vector.
public struct SparsePattern: Sendable {
    public let matrix: CSRMatrix
    public init(_ matrix: CSRMatrix) { self.matrix = matrix }
    public var nonzeroCount: Int { matrix.nonzeroCount }
    public var rows: Int { matrix.rows }
    public var columns: Int { matrix.columns }
}

extension DifferentiableVector {
    @derivative(of: +)
    @usableFromInline
    static func vjpAdd(lhs: DifferentiableVector, rhs: DifferentiableVector)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
        (lhs + rhs, { g in (g, g) })
    }

    /// With respect to the left side only (a constant subtracted, as y in Xw − y): the
    /// cotangent passes through, no negated copy.
    @derivative(of: -, wrt: lhs)
    @usableFromInline
    static func vjpSubtractConstant(lhs: DifferentiableVector, rhs: DifferentiableVector)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
        (lhs - rhs, { g in g })
    }

    @derivative(of: -)
    @usableFromInline
    static func vjpSubtract(lhs: DifferentiableVector, rhs: DifferentiableVector)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
        (lhs - rhs, { g in (g, .zero - g) })
    }
}
