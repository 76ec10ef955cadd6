/// How the vectors of an operator are laid out over processes: their global length, the
/// range this process holds, and the reduction that makes a global sum of every process's
/// partial sums (an MPI all-reduce).
///
/// The Krylov methods, `LinearSolveStrategy`'s residual checks and `RootSolution` take every
/// dot product, norm and hyperparameter cotangent through the operator's space, so one code
/// path serves a single process and many: an operator without a space (`vectorSpace` nil, every
/// built-in single-process operator) holds whole vectors and its sums are the local ones; a
/// distributed operator (the PETSc backend's `DistributedMatrix`) holds this process's part of
/// each vector — arrays of `localLength` — and its sums are reduced over the processes.
///
/// Every reduction is collective: each process must call it, in the same order, with the same
/// number of values. A method whose every decision is taken on reduced quantities (the
/// Krylov methods' are: norms, curvatures, step lengths) then takes the same branch on every
/// process.
public struct VectorSpace: @unchecked Sendable {
    /// The length of the whole vector.
    public let globalLength: Int
    /// The entries this process holds (global indices).
    public let localRange: Range<Int>
    /// How many processes share the vectors.
    public let parts: Int
    /// Entrywise sums over the processes of the same-length arrays every process passes (nil
    /// when the reduction failed); nil for a single part.
    private let reduction: (([Double]) -> [Double]?)?

    /// - Parameters:
    ///   - globalLength: the length of the whole vector.
    ///   - localRange: this process's entries.
    ///   - parts: the number of processes.
    ///   - reduction: entrywise sums over the processes (collective); nil on failure, which
    ///     every caller turns into NaN (a Krylov method then stops with `.breakdown`).
    public init(globalLength: Int, localRange: Range<Int>, parts: Int, reduction: @escaping ([Double]) -> [Double]?) {
        self.globalLength = globalLength
        self.localRange = localRange
        self.parts = parts
        self.reduction = parts > 1 ? reduction : nil
    }

    /// Whole vectors of length n in this process.
    public init(whole n: Int) {
        globalLength = n
        localRange = 0..<n
        parts = 1
        reduction = nil
    }

    /// The length of this process's part.
    public var localLength: Int { localRange.count }

    /// True when the vectors are split over several processes.
    public var isDistributed: Bool { reduction != nil }

    /// Entrywise sums over the processes (collective). NaN entries when the reduction failed.
    public func sum(_ values: [Double]) -> [Double] {
        guard let reduction else { return values }
        guard let summed = reduction(values), summed.count == values.count else {
            return [Double](repeating: .nan, count: values.count)
        }
        return summed
    }

    public func sum(_ value: Double) -> Double {
        reduction == nil ? value : sum([value])[0]
    }

    /// Four sums in one reduction (CG's fused vector update).
    public func sum(_ values: SIMD4<Double>) -> SIMD4<Double> {
        guard reduction != nil else { return values }
        let s = sum([values[0], values[1], values[2], values[3]])
        return SIMD4(s[0], s[1], s[2], s[3])
    }

    /// xᵀy over the whole vectors (this process holds its parts).
    @inline(__always)
    public func dot(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) -> Double {
        reduction == nil ? Vector.dot(x, y) : sum(Vector.dot(x, y))
    }

    /// ‖x‖ over the whole vector.
    @inline(__always)
    public func norm(_ x: UnsafeBufferPointer<Double>) -> Double {
        guard reduction != nil else { return Vector.norm(x) }
        return sum(Vector.dot(x, x)).squareRoot()
    }

    public func dot(_ x: [Double], _ y: [Double]) -> Double {
        x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { dot(xb, $0) } }
    }

    public func norm(_ x: [Double]) -> Double { x.withUnsafeBufferPointer { norm($0) } }

    /// True when every entry of the whole vector is 0 (collective).
    public func isZero(_ x: [Double]) -> Bool {
        sum(x.contains(where: { $0 != 0 }) ? 1 : 0) == 0
    }

    /// Runs `body` on every process and agrees on the outcome (collective): when it throws on
    /// any process, it throws on all — its own error where it failed, `failedElsewhere`
    /// naming `what` on the others — so that no process goes on into a collective call the
    /// others will never make.
    public func agree<T>(_ what: String, _ body: () throws -> T) throws -> T {
        let result = Result { try body() }
        guard reduction != nil else { return try result.get() }
        var failed = 0.0
        if case .failure = result { failed = 1 }
        // How many failed and, when one did, where its part starts: the message says which.
        let totals = sum([failed, failed * Double(localRange.lowerBound)])
        if case .success = result, !(totals[0] == 0) {
            let which = totals[0] == 1 && totals[1].isFinite
                ? "1 process (the one holding entries \(Int(totals[1]) + 1)…; its error is not repeated here)"
                : totals[0].isFinite ? "\(Int(totals[0])) processes" : "another process"
            throw SparseError.invalidArgument("\(what) failed on \(which)")
        }
        return try result.get()
    }
}

extension LinearOperator {
    /// The length of the arrays `apply` takes for x: `columns`, or this process's part of it
    /// for a distributed operator.
    public var localColumns: Int { vectorSpace?.localLength ?? columns }
    /// The length of the arrays `apply` writes: `rows`, or this process's part of it.
    public var localRows: Int { vectorSpace?.localLength ?? rows }
    /// The operator's vector space, or whole vectors of length `rows` in this process.
    public var effectiveVectorSpace: VectorSpace { vectorSpace ?? VectorSpace(whole: rows) }
}
