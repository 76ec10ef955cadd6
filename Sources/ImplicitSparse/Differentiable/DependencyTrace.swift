import Foundation
import Sparse

/// Which entries of the input x each entry of a vector depends on: the sparsity pattern of
/// ∂v/∂x, carried by a `DifferentiableVector` while `SparsityDetection` evaluates a condition
/// (issue 29). Every primitive of the library propagates it from its own structure — an
/// elementwise map keeps it, a sum of two vectors unites the rows, a sparse product composes
/// the matrix's pattern with it, a gather picks rows, a pair interaction unites the rows of
/// the pair — so the pattern of ∂F/∂x comes out of one evaluation of F, in O(nnz of the
/// result) per primitive, without a single derivative.
///
/// Rows are sorted, duplicate-free lists of input indices (CSR arrays without values). A
/// vector built outside the primitives (`DifferentiableVector(array)`) carries no trace: it
/// is a constant for detection. A primitive that reduces a traced vector to a scalar (a dot
/// product, a norm, a subscript) couples every entry densely; it is recorded in the session and
/// detection refuses the condition naming it (see `SparsityDetection`).
public final class DependencyTrace: @unchecked Sendable {
    /// Row r lists `indices[pointers[r]..<pointers[r+1]]`.
    let pointers: [Int]
    let indices: [Int32]
    /// The length of x.
    let inputCount: Int
    let session: TraceSession

    init(pointers: [Int], indices: [Int32], inputCount: Int, session: TraceSession) {
        self.pointers = pointers
        self.indices = indices
        self.inputCount = inputCount
        self.session = session
    }

    /// The entries of the vector that carries it.
    var count: Int { pointers.count - 1 }
    var nonzeroCount: Int { indices.count }

    /// xᵢ depends on xᵢ.
    static func identity(_ n: Int, session: TraceSession) -> DependencyTrace {
        DependencyTrace(pointers: Array(0...n), indices: (0..<n).map { Int32($0) }, inputCount: n, session: session)
    }

    /// The rows united entry by entry (two vectors of one length combined elementwise).
    static func union(_ a: DependencyTrace?, _ b: DependencyTrace?) -> DependencyTrace? {
        guard let a else { return b }
        guard let b, a !== b else { return a }
        precondition(a.count == b.count, "DependencyTrace: length mismatch")
        var pointers = [Int](repeating: 0, count: a.count + 1)
        var indices: [Int32] = []
        indices.reserveCapacity(max(a.nonzeroCount, b.nonzeroCount))
        for r in 0..<a.count {
            var i = a.pointers[r], j = b.pointers[r]
            let iEnd = a.pointers[r + 1], jEnd = b.pointers[r + 1]
            while i < iEnd || j < jEnd {
                if j >= jEnd || (i < iEnd && a.indices[i] < b.indices[j]) {
                    indices.append(a.indices[i]); i += 1
                } else if i >= iEnd || b.indices[j] < a.indices[i] {
                    indices.append(b.indices[j]); j += 1
                } else {
                    indices.append(a.indices[i]); i += 1; j += 1
                }
            }
            pointers[r + 1] = indices.count
        }
        return DependencyTrace(pointers: pointers, indices: indices, inputCount: a.inputCount, session: a.session)
    }

    /// Output row r depends on the union of this trace's rows listed in
    /// `structure[structurePointers[r]..<structurePointers[r+1]]` (a sparse product's pattern,
    /// a gather, a scatter, a group). O(Σ of the united rows' lengths) plus a sort per row.
    func composed(rows: Int, structurePointers: [Int], structureIndices: [Int32]) -> DependencyTrace {
        var pointers = [Int](repeating: 0, count: rows + 1)
        var indices: [Int32] = []
        indices.reserveCapacity(nonzeroCount)
        var mark = [Int](repeating: -1, count: inputCount)
        for r in 0..<rows {
            let start = indices.count
            for k in structurePointers[r]..<structurePointers[r + 1] {
                let source = Int(structureIndices[k])
                for m in row(source) where mark[Int(m)] != r {
                    mark[Int(m)] = r
                    indices.append(m)
                }
            }
            if indices.count - start > 1 { indices[start...].sort() }
            pointers[r + 1] = indices.count
        }
        return DependencyTrace(pointers: pointers, indices: indices, inputCount: inputCount, session: session)
    }

    private func row(_ r: Int) -> ArraySlice<Int32> { indices[self.pointers[r]..<self.pointers[r + 1]] }

    /// Rows picked by index (a gather).
    func gathered(_ picks: [Int]) -> DependencyTrace {
        composed(rows: picks.count, structurePointers: Array(0...picks.count), structureIndices: picks.map { Int32($0) })
    }

    /// Output row i unites the rows k with picks[k] == i (a scatter into n entries).
    func scattered(_ picks: [Int], count n: Int) -> DependencyTrace {
        var counts = [Int](repeating: 0, count: n + 1)
        for i in picks { counts[i + 1] += 1 }
        for i in 0..<n { counts[i + 1] += counts[i] }
        var fill = counts, structure = [Int32](repeating: 0, count: picks.count)
        for (k, i) in picks.enumerated() { structure[fill[i]] = Int32(k); fill[i] += 1 }
        return composed(rows: n, structurePointers: counts, structureIndices: structure)
    }

    /// Every output row of a group unites the group's rows (`group[i]` the group of entry i).
    func grouped(_ group: [Int], groupCount: Int) -> DependencyTrace {
        let perGroup = scattered(group, count: groupCount)
        return perGroup.gathered(group)
    }

    /// Row i of A·v: the union of the rows of v at A's column indices in row i.
    func multiplied(by a: CSRMatrix) -> DependencyTrace {
        composed(rows: a.rows, structurePointers: a.rowPointers, structureIndices: a.columnIndices)
    }

    /// Row j of Aᵀ·v: the union of the rows of v at A's row indices in column j.
    func multiplied(transposeOf a: CSRMatrix) -> DependencyTrace {
        let csc = a.toCSC()
        return composed(rows: a.columns, structurePointers: csc.columnPointers, structureIndices: csc.rowIndices)
    }

    /// True when some entry depends on x.
    var dependsOnInput: Bool { !indices.isEmpty }

    /// Records that `primitive` reduced this (x-dependent) vector to a scalar or coupled its
    /// entries densely.
    func denseCoupling(_ primitive: String) {
        if dependsOnInput { session.record(primitive) }
    }
}

/// One detection run: what was recorded while the condition was evaluated.
final class TraceSession: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var couplings: [String] = []
    func record(_ primitive: String) {
        lock.lock()
        if !couplings.contains(primitive) { couplings.append(primitive) }
        lock.unlock()
    }
}

/// The sparsity pattern of ∂F/∂x of a condition written with the differentiable primitives,
/// found by evaluating F once on an x that carries its own dependencies (`DependencyTrace`).
///
/// Which primitives propagate patterns: `+`, `-`, `.*`/`hadamard`, `scale`, `axpy`, the
/// elementwise functions (`exp`, `log`, `log1p`, `sigmoid`, `softplus`, `maximum`), the sparse
/// products (`matvec`, `matvecTransposed` with a `CSRMatrix`, a `DesignMatrix` or a
/// `SparsePattern` whose values may themselves depend on x), `gather`, `scatter`,
/// `pairForces`, and the proximal maps that act entry by entry or group by group
/// (`proxLasso`, `proxNonNegativeLasso`, `proxElasticNet`, `proxRidge`, `projectBox`,
/// `projectNonNegative`, `proxGroupLasso`, `projectSimplexBlocks`, `fusedGroupProx`).
///
/// What does not: primitives that reduce a vector that depends on x to a scalar (`dot`, `sum`,
/// `norm`, `squaredNorm`, `l1Norm`, a subscript) or couple all its entries (`projectSimplex`,
/// `projectL1Ball`, `projectL2Ball`, `projectIsotonic`, whose pooled blocks depend on the
/// values). Detection throws `ImplicitError.invalidCondition` naming them: ∂F/∂x would be
/// dense in those columns, which the matrix-free adjoint handles better. Code that builds a
/// vector from `.scalars` by hand drops the trace (the entries look constant); the pattern is
/// then too small, which `SparseJacobian` catches at its first evaluation by checking the
/// assembled matrix against one more product of F's own pullback (an error naming the
/// column, never a silently wrong matrix).
///
/// The diagonal is always included (a superset; factorizations and preconditioners want it).
/// ∂F/∂θ needs no pattern: the hypergradient applies it by one pullback.
public enum SparsityDetection {
    /// The pattern of ∂F/∂x at (x, θ) as an n × n CSR matrix with unit values.
    /// - Throws: `ImplicitError.invalidCondition` naming the primitives that couple x densely,
    ///   or when F's value does not depend on x through the propagating primitives, or when
    ///   F(x, θ) does not have x's length.
    public static func jacobianPattern<Hyperparameters>(
        of condition: (DifferentiableVector, Hyperparameters) -> DifferentiableVector,
        at x: DifferentiableVector, _ theta: Hyperparameters) throws -> CSRMatrix {
        let n = x.count
        let session = TraceSession()
        var traced = x
        traced.trace = .identity(n, session: session)
        let value = condition(traced, theta)
        if !session.couplings.isEmpty {
            throw ImplicitError.invalidCondition(SparseError.invalidArgument(
                "sparsity detection: \(session.couplings.joined(separator: ", ")) couple\(session.couplings.count == 1 ? "s" : "") "
                + "the entries of x densely (∂F/∂x would have dense columns); use the matrix-free adjoint, or declare a pattern"))
        }
        guard value.count == n else {
            throw SparseError.dimensionMismatch(operation: "SparsityDetection", expected: "F(x, θ) of length \(n)", actual: "\(value.count)")
        }
        guard let trace = value.trace, trace.dependsOnInput else {
            throw ImplicitError.invalidCondition(SparseError.invalidArgument(
                "sparsity detection: F(x, θ) does not depend on x through the primitives that propagate patterns "
                + "(a vector built from `.scalars` by hand drops the trace); declare a pattern or use the matrix-free adjoint"))
        }
        // Add the diagonal, then unit values.
        let withDiagonal = DependencyTrace.union(trace, .identity(n, session: session))!
        return try CSRMatrix(rows: n, columns: n, rowPointers: withDiagonal.pointers, columnIndices: withDiagonal.indices,
                             values: [Double](repeating: 1, count: withDiagonal.nonzeroCount))
    }

    /// The pattern of ∂F/∂θ (n × p) for a vector θ, found the same way with θ traced instead
    /// of x (a per-pair or per-node hyperparameter has a sparse one). No diagonal is added; a
    /// condition that does not depend on θ gives an empty pattern.
    /// - Throws: `ImplicitError.invalidCondition` naming primitives that couple θ densely.
    public static func hyperparameterPattern(
        of condition: (DifferentiableVector, DifferentiableVector) -> DifferentiableVector,
        at x: DifferentiableVector, _ theta: DifferentiableVector) throws -> CSRMatrix {
        let session = TraceSession()
        var traced = theta
        traced.trace = .identity(theta.count, session: session)
        let value = condition(x, traced)
        if !session.couplings.isEmpty {
            throw ImplicitError.invalidCondition(SparseError.invalidArgument(
                "sparsity detection: \(session.couplings.joined(separator: ", ")) couple the entries of θ densely"))
        }
        let n = value.count
        guard let trace = value.trace else {
            return try CSRMatrix(rows: n, columns: theta.count, rowPointers: [Int](repeating: 0, count: n + 1), columnIndices: [], values: [])
        }
        return try CSRMatrix(rows: n, columns: theta.count, rowPointers: trace.pointers, columnIndices: trace.indices,
                             values: [Double](repeating: 1, count: trace.nonzeroCount))
    }
}
