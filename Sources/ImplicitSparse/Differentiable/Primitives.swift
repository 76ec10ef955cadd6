import Foundation
import _Differentiation
import Sparse

// Differentiable primitives on `DifferentiableVector`, each with its reverse derivative
// registered. Pullbacks are written as vector operations so that a derivative with respect to
// x costs about one primal evaluation.

extension DifferentiableVector {
    // MARK: Elementwise arithmetic

    @differentiable(reverse)
    public static func .* (lhs: DifferentiableVector, rhs: DifferentiableVector) -> DifferentiableVector {
        hadamard(lhs, rhs)
    }

    @inlinable
    static func map2(_ a: [Double], _ b: [Double], _ f: (Double, Double) -> Double) -> [Double] {
        precondition(a.count == b.count, "DifferentiableVector: length mismatch")
        var out = [Double](repeating: 0, count: a.count)
        for i in 0..<a.count { out[i] = f(a[i], b[i]) }
        return out
    }
}

infix operator .* : MultiplicationPrecedence

/// Elementwise product x ⊙ y.
@differentiable(reverse)
public func hadamard(_ x: DifferentiableVector, _ y: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(DifferentiableVector.map2(x.scalars, y.scalars, *), trace: DependencyTrace.union(x.trace, y.trace))
}

@derivative(of: hadamard)
@usableFromInline
func vjpHadamard(_ x: DifferentiableVector, _ y: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    (hadamard(x, y), { g in
        let gs = g.dense(count: x.count)
        return (DifferentiableVector(DifferentiableVector.map2(gs, y.scalars, *)),
                DifferentiableVector(DifferentiableVector.map2(gs, x.scalars, *)))
    })
}

/// αx for a scalar α.
@differentiable(reverse)
public func scale(_ alpha: Double, _ x: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(x.scalars.map { alpha * $0 }, trace: x.trace)
}

/// With respect to x only (α constant, e.g. 1/n): no dot product for α's cotangent.
@derivative(of: scale, wrt: x)
@usableFromInline
func vjpScaleVector(_ alpha: Double, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let n = x.count
    return (scale(alpha, x), { g in DifferentiableVector(g.dense(count: n).map { alpha * $0 }) })
}

@derivative(of: scale)
@usableFromInline
func vjpScale(_ alpha: Double, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (Double, DifferentiableVector)) {
    (scale(alpha, x), { g in
        let gs = g.dense(count: x.count)
        return (Vector.dot(gs, x.scalars), DifferentiableVector(gs.map { alpha * $0 }))
    })
}

/// αx + y.
@differentiable(reverse)
public func axpy(_ alpha: Double, _ x: DifferentiableVector, _ y: DifferentiableVector) -> DifferentiableVector {
    scale(alpha, x) + y
}

/// xᵀy.
@differentiable(reverse)
public func dot(_ x: DifferentiableVector, _ y: DifferentiableVector) -> Double {
    precondition(x.count == y.count, "dot: length mismatch")
    x.trace?.denseCoupling("dot(_:_:)")
    y.trace?.denseCoupling("dot(_:_:)")
    return Vector.dot(x.scalars, y.scalars)
}

@derivative(of: dot)
@usableFromInline
func vjpDot(_ x: DifferentiableVector, _ y: DifferentiableVector)
    -> (value: Double, pullback: (Double) -> (DifferentiableVector, DifferentiableVector)) {
    (dot(x, y), { g in (DifferentiableVector(y.scalars.map { g * $0 }), DifferentiableVector(x.scalars.map { g * $0 })) })
}

/// Σᵢ xᵢ.
@differentiable(reverse)
public func sum(_ x: DifferentiableVector) -> Double {
    x.trace?.denseCoupling("sum(_:)")
    return x.scalars.reduce(0, +)
}

@derivative(of: sum)
@usableFromInline
func vjpSum(_ x: DifferentiableVector) -> (value: Double, pullback: (Double) -> DifferentiableVector) {
    let n = x.count   // the length only: the pullback must not keep x alive on a tape
    return (sum(x), { g in DifferentiableVector(repeating: g, count: n) })
}

/// ‖x‖².
@differentiable(reverse)
public func squaredNorm(_ x: DifferentiableVector) -> Double { dot(x, x) }

/// ‖x‖₂ (its derivative at 0 is taken as 0).
@differentiable(reverse)
public func norm(_ x: DifferentiableVector) -> Double {
    x.trace?.denseCoupling("norm(_:)")
    return Vector.norm(x.scalars)
}

@derivative(of: norm)
@usableFromInline
func vjpNorm(_ x: DifferentiableVector) -> (value: Double, pullback: (Double) -> DifferentiableVector) {
    let n = norm(x)
    return (n, { g in DifferentiableVector(n > 0 ? x.scalars.map { g * $0 / n } : [Double](repeating: 0, count: x.count)) })
}

/// ‖x‖₁ (subgradient 0 at 0).
@differentiable(reverse)
public func l1Norm(_ x: DifferentiableVector) -> Double {
    x.trace?.denseCoupling("l1Norm(_:)")
    return x.scalars.reduce(0) { $0 + abs($1) }
}

@derivative(of: l1Norm)
@usableFromInline
func vjpL1Norm(_ x: DifferentiableVector) -> (value: Double, pullback: (Double) -> DifferentiableVector) {
    (l1Norm(x), { g in DifferentiableVector(x.scalars.map { $0 > 0 ? g : ($0 < 0 ? -g : 0) }) })
}

// MARK: Elementwise functions

/// Applies f elementwise with derivative f′(x) given from (x, f(x)) (used by the named
/// elementwise primitives below). The slopes f′(xᵢ) are computed once, with the value: a
/// pullback applied many times (once per iteration of an adjoint Krylov solve) is then one
/// multiplication per entry, no transcendental function. Memory: one vector of n kept with
/// the pullback.
func elementwise(_ x: DifferentiableVector, _ f: (Double) -> Double, _ derivative: (Double, Double) -> Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let n = x.count
    var values = [Double](repeating: 0, count: n), slopes = [Double](repeating: 0, count: n)
    x.scalars.withUnsafeBufferPointer { xs in
        for i in 0..<n {
            let v = f(xs[i])
            values[i] = v
            slopes[i] = derivative(xs[i], v)
        }
    }
    return (DifferentiableVector(values), { g in
        if g.scalars.isEmpty { return DifferentiableVector([Double](repeating: 0, count: n)) }
        let out = [Double](unsafeUninitializedCapacity: n) { buffer, count in
            g.scalars.withUnsafeBufferPointer { gs in
                slopes.withUnsafeBufferPointer { d in for i in 0..<n { buffer[i] = gs[i] * d[i] } }
            }
            count = n
        }
        return DifferentiableVector(out)
    })
}

@differentiable(reverse)
public func exp(_ x: DifferentiableVector) -> DifferentiableVector { DifferentiableVector(x.scalars.map { Foundation.exp($0) }, trace: x.trace) }
@derivative(of: exp)
@usableFromInline
func vjpExp(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    elementwise(x, { Foundation.exp($0) }, { _, e in e })
}

@differentiable(reverse)
public func log(_ x: DifferentiableVector) -> DifferentiableVector { DifferentiableVector(x.scalars.map { Foundation.log($0) }, trace: x.trace) }
@derivative(of: log)
@usableFromInline
func vjpLog(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    elementwise(x, { Foundation.log($0) }, { t, _ in 1 / t })
}

@differentiable(reverse)
public func log1p(_ x: DifferentiableVector) -> DifferentiableVector { DifferentiableVector(x.scalars.map { Foundation.log1p($0) }, trace: x.trace) }
@derivative(of: log1p)
@usableFromInline
func vjpLog1p(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    elementwise(x, { Foundation.log1p($0) }, { t, _ in 1 / (1 + t) })
}

/// σ(x) = 1 / (1 + e^−x), computed without overflow.
@inline(__always) func logistic(_ t: Double) -> Double {
    t >= 0 ? 1 / (1 + Foundation.exp(-t)) : Foundation.exp(t) / (1 + Foundation.exp(t))
}

@differentiable(reverse)
public func sigmoid(_ x: DifferentiableVector) -> DifferentiableVector { DifferentiableVector(x.scalars.map(logistic), trace: x.trace) }
@derivative(of: sigmoid)
@usableFromInline
func vjpSigmoid(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    elementwise(x, logistic, { _, s in s * (1 - s) })
}

/// log(1 + eˣ), computed without overflow.
@inline(__always) func softplusScalar(_ t: Double) -> Double {
    t > 0 ? t + Foundation.log1p(Foundation.exp(-t)) : Foundation.log1p(Foundation.exp(t))
}

@differentiable(reverse)
public func softplus(_ x: DifferentiableVector) -> DifferentiableVector { DifferentiableVector(x.scalars.map(softplusScalar), trace: x.trace) }
@derivative(of: softplus)
@usableFromInline
func vjpSoftplus(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    elementwise(x, softplusScalar, { t, _ in logistic(t) })
}

/// max(xᵢ, c) elementwise (derivative 1 where xᵢ > c, else 0).
@differentiable(reverse, wrt: x)
public func maximum(_ x: DifferentiableVector, _ c: Double) -> DifferentiableVector {
    DifferentiableVector(x.scalars.map { max($0, c) }, trace: x.trace)
}
@derivative(of: maximum, wrt: x)
@usableFromInline
func vjpMaximum(_ x: DifferentiableVector, _ c: Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    elementwise(x, { max($0, c) }, { t, _ in t > c ? 1 : 0 })
}

// MARK: Sparse products, gather and scatter

/// y = A x for A with a fixed pattern and differentiable values: ∂/∂x is Aᵀg, ∂/∂values_k
/// is g[row k]·x[column k].
@differentiable(reverse, wrt: (values, x))
public func matvec(_ pattern: SparsePattern, _ values: DifferentiableVector, _ x: DifferentiableVector) -> DifferentiableVector {
    let a = try! pattern.matrix.replacingValues(values.scalars)
    // Row i depends on x at row i's columns and on the values of row i's nonzeros.
    let byValues = values.trace?.composed(rows: a.rows, structurePointers: a.rowPointers,
                                          structureIndices: (0..<a.nonzeroCount).map { Int32($0) })
    return DifferentiableVector(try! a.multiply(x.scalars), trace: DependencyTrace.union(x.trace?.multiplied(by: a), byValues))
}

@derivative(of: matvec, wrt: (values, x))
@usableFromInline
func vjpMatvec(_ pattern: SparsePattern, _ values: DifferentiableVector, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    let a = try! pattern.matrix.replacingValues(values.scalars)
    let y = DifferentiableVector(try! a.multiply(x.scalars))
    return (y, { g in
        let gs = g.dense(count: a.rows)
        let dx = try! a.multiplyTransposed(gs)
        var dv = [Double](repeating: 0, count: a.nonzeroCount)
        let p = a.rowPointers, c = a.columnIndices
        for i in 0..<a.rows where gs[i] != 0 {
            for k in p[i]..<p[i + 1] { dv[k] = gs[i] * x.scalars[Int(c[k])] }
        }
        return (DifferentiableVector(dv), DifferentiableVector(dx))
    })
}

/// y = A x for a constant matrix A (derivative wrt x only: Aᵀg).
@differentiable(reverse, wrt: x)
public func matvec(_ a: CSRMatrix, _ x: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(try! a.multiply(x.scalars), trace: x.trace?.multiplied(by: a))
}

@derivative(of: matvec, wrt: x)
@usableFromInline
func vjpMatvecConstant(_ a: CSRMatrix, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (matvec(a, x), { g in DifferentiableVector(try! a.multiplyTransposed(g.dense(count: a.rows))) })
}

/// y = A x for a constant operator A of any storage — a matrix distributed over processes
/// included (x and y are then this process's parts, and the product is collective); the
/// derivative with respect to x is Aᵀg. A product that fails (a wrong length, a failed
/// collective) gives NaN, which every check downstream refuses. Sparsity detection reads
/// the operator's explicit matrix when it has one and refuses it otherwise (a dense coupling).
@differentiable(reverse, wrt: x)
public func apply(_ a: any LinearOperator, _ x: DifferentiableVector) -> DifferentiableVector {
    let trace: DependencyTrace?
    if let t = x.trace, let m = a.explicitMatrix { trace = t.multiplied(by: m) } else {
        x.trace?.denseCoupling("apply(_:_:) with an operator without an explicit matrix")
        trace = nil
    }
    let y = (try? a.apply(x.scalars)) ?? [Double](repeating: .nan, count: a.localRows)
    return DifferentiableVector(y, trace: trace)
}

@derivative(of: apply, wrt: x)
@usableFromInline
func vjpApplyOperator(_ a: any LinearOperator, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (apply(a, x), { g in
        DifferentiableVector((try? a.apply(g.dense(count: a.localRows), transposed: true))
                             ?? [Double](repeating: .nan, count: a.localColumns))
    })
}

/// y = Aᵀ x for a constant matrix A.
@differentiable(reverse, wrt: x)
public func matvecTransposed(_ a: CSRMatrix, _ x: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(try! a.multiplyTransposed(x.scalars), trace: x.trace?.multiplied(transposeOf: a))
}

@derivative(of: matvecTransposed, wrt: x)
@usableFromInline
func vjpMatvecTransposed(_ a: CSRMatrix, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (matvecTransposed(a, x), { g in DifferentiableVector(try! a.multiply(g.dense(count: a.columns))) })
}

/// x restricted to an index set S (x_S).
@differentiable(reverse, wrt: x)
public func gather(_ x: DifferentiableVector, _ indices: [Int]) -> DifferentiableVector {
    DifferentiableVector(indices.map { x.scalars[$0] }, trace: x.trace?.gathered(indices))
}

@derivative(of: gather, wrt: x)
@usableFromInline
func vjpGather(_ x: DifferentiableVector, _ indices: [Int])
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    // The length only: capturing x would keep every gathered vector alive on an unrolled
    // loop's tape (unrolled BCD gathered one sample's block per step: a copy of β each).
    let n = x.count
    return (gather(x, indices), { g in
        let gs = g.dense(count: indices.count)
        var out = [Double](repeating: 0, count: n)
        for (k, i) in indices.enumerated() { out[i] += gs[k] }
        return DifferentiableVector(out)
    })
}

/// A length-n vector with v on the index set S and zeros elsewhere.
@differentiable(reverse, wrt: v)
public func scatter(_ v: DifferentiableVector, _ indices: [Int], count n: Int) -> DifferentiableVector {
    var out = [Double](repeating: 0, count: n)
    for (k, i) in indices.enumerated() { out[i] += v.scalars[k] }
    return DifferentiableVector(out, trace: v.trace?.scattered(indices, count: n))
}

@derivative(of: scatter, wrt: v)
@usableFromInline
func vjpScatter(_ v: DifferentiableVector, _ indices: [Int], count n: Int)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (scatter(v, indices, count: n), { g in
        let gs = g.dense(count: n)
        return DifferentiableVector(indices.map { gs[$0] })
    })
}

/// A constant matrix held in both row- and column-major order, so that products with A and
/// with Aᵀ — and both of their pullbacks — are parallel gathers (no per-thread scratch, no
/// scatter): for conditions that use X and Xᵀ, such as least squares ∇f = Xᵀ(Xw − y)/n.
/// Memory: A twice (12·nnz each).
///
/// Rows over processes (`rowSpace`): A holds this process's rows, vectors of length
/// `columns` are whole on every process, vectors of length `rows` are this process's part.
/// Aᵀx is then summed over the processes, and so is the pullback of Ax (collective: every
/// process evaluates the same expression), so a condition written with these primitives is
/// the same code on one process and on many.
public struct DesignMatrix: Sendable {
    public let rowMajor: CSRMatrix
    /// Aᵀ in row-major order (the column-major arrays of A).
    public let transposed: CSRMatrix
    /// The rows' split over processes (nil: every row here).
    public let rowSpace: VectorSpace?

    public init(_ a: CSRMatrix, rowSpace: VectorSpace? = nil) {
        rowMajor = a
        transposed = a.toCSC().transposeAsCSR
        self.rowSpace = rowSpace?.isDistributed == true ? rowSpace : nil
    }

    /// Entrywise sums over the processes holding the rows.
    func reduced(_ v: [Double]) -> [Double] { rowSpace?.sum(v) ?? v }

    /// From both orders at hand (e.g. a solver's CSC copy).
    /// - Throws: `.dimensionMismatch` when the two do not have the same shape and nonzero count.
    public init(rowMajor: CSRMatrix, columnMajor: CSCMatrix, rowSpace: VectorSpace? = nil) throws {
        guard rowMajor.rows == columnMajor.rows, rowMajor.columns == columnMajor.columns,
              rowMajor.nonzeroCount == columnMajor.nonzeroCount else {
            throw SparseError.dimensionMismatch(operation: "DesignMatrix", expected: "\(rowMajor.rows) × \(rowMajor.columns), \(rowMajor.nonzeroCount) nonzeros",
                                                actual: "\(columnMajor.rows) × \(columnMajor.columns), \(columnMajor.nonzeroCount) nonzeros")
        }
        self.rowMajor = rowMajor
        self.transposed = columnMajor.transposeAsCSR
        self.rowSpace = rowSpace?.isDistributed == true ? rowSpace : nil
    }
}

/// y = A x (gather), pullback Aᵀg (gather).
@differentiable(reverse, wrt: x)
public func matvec(_ a: DesignMatrix, _ x: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(try! a.rowMajor.multiply(x.scalars), trace: x.trace?.multiplied(by: a.rowMajor))
}

@derivative(of: matvec, wrt: x)
@usableFromInline
func vjpMatvecDesign(_ a: DesignMatrix, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (matvec(a, x), { g in DifferentiableVector(a.reduced(try! a.transposed.multiply(g.dense(count: a.rowMajor.rows)))) })
}

/// y = Aᵀ x (gather), pullback A g (gather).
@differentiable(reverse, wrt: x)
public func matvecTransposed(_ a: DesignMatrix, _ x: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(a.reduced(try! a.transposed.multiply(x.dense(count: a.rowMajor.rows))), trace: x.trace?.multiplied(by: a.transposed))
}

@derivative(of: matvecTransposed, wrt: x)
@usableFromInline
func vjpMatvecTransposedDesign(_ a: DesignMatrix, _ x: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (matvecTransposed(a, x), { g in DifferentiableVector(try! a.rowMajor.multiply(g.dense(count: a.rowMajor.columns))) })
}

/// s·1, one entry per row of A (this process's rows); the pullback is the sum of the
/// cotangent over all rows (over all processes when the rows are split).
@differentiable(reverse, wrt: s)
public func rowConstant(_ a: DesignMatrix, _ s: Double) -> DifferentiableVector {
    DifferentiableVector([Double](repeating: s, count: a.rowMajor.rows))
}

@derivative(of: rowConstant, wrt: s)
@usableFromInline
func vjpRowConstant(_ a: DesignMatrix, _ s: Double) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> Double) {
    (rowConstant(a, s), { g in
        let local = g.dense(count: a.rowMajor.rows).reduce(0, +)
        return a.rowSpace?.sum(local) ?? local
    })
}

// MARK: - Scalar functions
// A condition written against `import ImplicitSparse` alone sees the vector `exp`/`log` above
// and would not find the scalar ones for a hyperparameter such as `exp(h.logLambda)`. These
// differentiable scalar versions fill that gap; they are disfavored, so with Foundation (or
// Glibc) imported its own functions are chosen, as before.

/// eˣ for a scalar (differentiable).
@_disfavoredOverload
@differentiable(reverse)
public func exp(_ x: Double) -> Double { Foundation.exp(x) }

@usableFromInline
@derivative(of: exp(_:))
func vjpScalarExp(_ x: Double) -> (value: Double, pullback: (Double) -> Double) {
    let y = Foundation.exp(x)
    return (y, { g in g * y })
}

/// log x for a scalar (differentiable).
@_disfavoredOverload
@differentiable(reverse)
public func log(_ x: Double) -> Double { Foundation.log(x) }

@usableFromInline
@derivative(of: log(_:))
func vjpScalarLog(_ x: Double) -> (value: Double, pullback: (Double) -> Double) {
    (Foundation.log(x), { g in g / x })
}
