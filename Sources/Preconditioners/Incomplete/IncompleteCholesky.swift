import Dispatch
import Sparse

/// Incomplete Cholesky M = LLᵀ ≈ A for symmetric positive definite A, in two kinds:
/// IC(0) on the pattern of A's lower triangle, and ICT with a drop tolerance and a fill
/// limit per column of L. When a pivot breaks down (A is not an M-matrix), the
/// factorization is retried on A + α·diag(A) with α = 10⁻³, 2·10⁻³, … and the shift used is
/// reported in `shift` (Manteuffel, 1980).
///
/// Apply: one forward and one backward triangular solve, O(nnz(L)), serial.
/// Memory: 12·nnz(L) + 8·(n + 1) bytes.
public struct IncompleteCholeskyPreconditioner: Preconditioner {
    public enum Kind: Sendable, Equatable {
        /// IC(0): no fill beyond A's pattern.
        case zeroFill
        /// ICT: entries of L below `dropTolerance`·‖row of A‖ are dropped, and at most
        /// `fillPerColumn` off-diagonal entries are kept per column of L (the largest).
        case threshold(dropTolerance: Double, fillPerColumn: Int)
    }

    public let kind: Kind
    /// The multiple α of diag(A) added to make the factorization succeed (0 when none was needed).
    public let shift: Double
    public let setupSeconds: Double
    /// Rows of Lᵀ (= columns of L), diagonal first: upper-triangular CSR.
    private let pointers: [Int]
    private let indices: [Int32]
    private let factorValues: [Double]
    public var name: String { kind == .zeroFill ? "ic0" : "ict" }
    public var rows: Int { pointers.count - 1 }
    public var columns: Int { pointers.count - 1 }
    public var isSymmetric: Bool { true }
    public var isPositiveDefinite: Bool { true }
    public var memoryBytes: Int { 12 * indices.count + 8 * pointers.count }
    /// nnz(L), diagonal included.
    public var factorNonzeros: Int { indices.count }

    /// - Throws: `PreconditionerError.zeroDiagonal`, `.breakdown` when every shift fails,
    ///   `.invalidArgument` for a bad tolerance or fill limit, `.dimensionMismatch`.
    public init(_ a: CSRMatrix, kind: Kind = .zeroFill) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let diagonal = try diagonalPositions(a, operation: "IncompleteCholeskyPreconditioner")
        if case let .threshold(tolerance, fill) = kind {
            guard tolerance >= 0, tolerance.isFinite, fill >= 0 else {
                throw SparseError.invalidArgument("ICT needs a nonnegative drop tolerance and fill limit")
            }
        }
        self.kind = kind
        var lastRow = 0
        for alpha in shiftSchedule {
            let result: Result<([Int], [Int32], [Double]), PreconditionerError>
            switch kind {
            case .zeroFill: result = Self.factorZeroFill(a, diagonal: diagonal, shift: alpha)
            case let .threshold(tolerance, fill):
                result = Self.factorThreshold(a, diagonal: diagonal, shift: alpha, tolerance: tolerance, fill: fill)
            }
            switch result {
            case let .success((p, i, v)):
                pointers = p; indices = i; factorValues = v
                shift = alpha
                setupSeconds = elapsed(since: start)
                return
            case let .failure(.breakdown(row, _)):
                lastRow = row
            case let .failure(error):
                throw error
            }
        }
        throw PreconditionerError.breakdown(row: lastRow, shift: shiftSchedule.last!)
    }

    /// IC(0), up-looking by rows of L (= rows of the lower triangle of A):
    /// L_ik = (a_ik − Σ_{j<k} L_ij L_kj) / L_kk, L_ii = √(a_ii − Σ_{j<i} L_ij²).
    /// Stored transposed (as rows of Lᵀ) for the solves.
    static func factorZeroFill(_ a: CSRMatrix, diagonal: [Int], shift: Double)
        -> Result<([Int], [Int32], [Double]), PreconditionerError> {
        let n = a.rows
        let ap = a.rowPointers, ac = a.columnIndices, av = a.values
        // Lower triangle rows (columns ascending, diagonal last).
        var lp = [Int](repeating: 0, count: n + 1)
        for i in 0..<n { lp[i + 1] = lp[i] + (diagonal[i] - ap[i] + 1) }
        var lc = [Int32](repeating: 0, count: lp[n])
        var lv = [Double](repeating: 0, count: lp[n])
        for i in 0..<n {
            var w = lp[i]
            for k in ap[i]...diagonal[i] {
                lc[w] = ac[k]
                lv[w] = k == diagonal[i] ? av[k] * (1 + shift) : av[k]
                w += 1
            }
        }
        var failure: Int?
        lp.withUnsafeBufferPointer { p in lc.withUnsafeBufferPointer { c in lv.withUnsafeMutableBufferPointer { v in
            for i in 0..<n {
                let rowEnd = p[i + 1] - 1  // diagonal position
                var diagonalSum = v[rowEnd]
                for e in p[i]..<rowEnd {
                    let k = Int(c[e])
                    // Σ_{j<k} L_ij L_kj by merging row i (before e) with row k (before its diagonal).
                    var s = v[e]
                    var x = p[i], y = p[k]
                    let yEnd = p[k + 1] - 1
                    while x < e && y < yEnd {
                        let cx = c[x], cy = c[y]
                        if cx == cy { s -= v[x] * v[y]; x += 1; y += 1 } else if cx < cy { x += 1 } else { y += 1 }
                    }
                    let lik = s / v[yEnd]
                    v[e] = lik
                    diagonalSum -= lik * lik
                }
                guard diagonalSum > 0, diagonalSum.isFinite else { failure = i; return }
                v[rowEnd] = diagonalSum.squareRoot()
            }
        }}}
        if let failure { return .failure(.breakdown(row: failure, shift: shift)) }
        return .success(transposeLower(n: n, lp, lc, lv))
    }

    /// L (rows, diagonal last) → Lᵀ (rows, diagonal first).
    static func transposeLower(n: Int, _ lp: [Int], _ lc: [Int32], _ lv: [Double]) -> ([Int], [Int32], [Double]) {
        let t = try! CSRMatrix(rows: n, columns: n, rowPointers: lp, columnIndices: lc, values: lv).transposed()
        return (t.rowPointers, t.columnIndices, t.values)
    }

    /// ICT by the IKJ (row-wise, Doolittle) elimination of row i of A against the rows of U
    /// kept so far, with dropping; M = Uᵀ D⁻¹ U with D = diag(U), i.e. L = Uᵀ D^{-1/2}.
    /// Fill-ins below the diagonal are visited in increasing column order through a heap.
    static func factorThreshold(_ a: CSRMatrix, diagonal: [Int], shift: Double, tolerance: Double, fill: Int)
        -> Result<([Int], [Int32], [Double]), PreconditionerError> {
        let n = a.rows
        let ap = a.rowPointers, ac = a.columnIndices, av = a.values
        var up = [Int](repeating: 0, count: n + 1)
        var uc = [Int32](), uv = [Double]()
        uc.reserveCapacity(a.nonzeroCount)
        uv.reserveCapacity(a.nonzeroCount)
        var work = [Double](repeating: 0, count: n)
        var present = [Bool](repeating: false, count: n)
        var upperPattern = [Int32]()
        var heap = MinHeap()
        var kept = [(Int32, Double)]()
        for i in 0..<n {
            var rowNorm = 0.0
            upperPattern.removeAll(keepingCapacity: true)
            for k in ap[i]..<ap[i + 1] {
                let j = Int(ac[k])
                var value = av[k]
                if j == i { value *= 1 + shift }
                work[j] = value
                present[j] = true
                rowNorm += value * value
                if j < i { heap.push(Int32(j)) } else { upperPattern.append(Int32(j)) }
            }
            let dropBelow = tolerance * rowNorm.squareRoot()
            while let k32 = heap.pop() {
                let k = Int(k32)
                let multiplier = work[k] / uv[up[k]]
                work[k] = 0
                present[k] = false
                if abs(multiplier) <= dropBelow { continue }
                for e in (up[k] + 1)..<up[k + 1] {
                    let j = Int(uc[e])
                    if !present[j] {
                        present[j] = true
                        work[j] = 0
                        if j < i { heap.push(Int32(j)) } else { upperPattern.append(Int32(j)) }
                    }
                    work[j] -= multiplier * uv[e]
                }
            }
            let pivot = work[i]
            kept.removeAll(keepingCapacity: true)
            for j32 in upperPattern where Int(j32) != i {
                let j = Int(j32)
                if abs(work[j]) > dropBelow { kept.append((j32, work[j])) }
                work[j] = 0
                present[j] = false
            }
            work[i] = 0
            present[i] = false
            guard pivot > 0, pivot.isFinite else { return .failure(.breakdown(row: i, shift: shift)) }
            if kept.count > fill {
                kept.sort { abs($0.1) > abs($1.1) }
                kept.removeLast(kept.count - fill)
            }
            kept.sort { $0.0 < $1.0 }
            uc.append(Int32(i)); uv.append(pivot)
            for (j, value) in kept { uc.append(j); uv.append(value) }
            up[i + 1] = uc.count
        }
        // Scale to Lᵀ = D^{-1/2} U so that M = LLᵀ and the solves match IC(0)'s.
        for i in 0..<n {
            let root = uv[up[i]].squareRoot()
            for e in up[i]..<up[i + 1] { uv[e] /= root }
        }
        return .success((up, uc, uv))
    }

    /// z = (LLᵀ)⁻¹r with Lᵀ stored by rows (diagonal first).
    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        precondition(!accumulate, "IncompleteCholeskyPreconditioner does not accumulate")
        let n = rows
        for i in 0..<n { y[i] = x[i] }
        pointers.withUnsafeBufferPointer { p in indices.withUnsafeBufferPointer { c in factorValues.withUnsafeBufferPointer { v in
            // L t = r: column-oriented over rows of Lᵀ.
            for k in 0..<n {
                let tk = y[k] / v[p[k]]
                y[k] = tk
                for e in (p[k] + 1)..<p[k + 1] { y[Int(c[e])] -= v[e] * tk }
            }
            // Lᵀ z = t: row-oriented, backward.
            for i in stride(from: n - 1, through: 0, by: -1) {
                var s = y[i]
                for e in (p[i] + 1)..<p[i + 1] { s -= v[e] * y[Int(c[e])] }
                y[i] = s / v[p[i]]
            }
        }}}
    }
}

/// A binary min-heap of column indices (ICT's elimination order).
struct MinHeap {
    private var items: [Int32] = []
    mutating func push(_ x: Int32) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }
    mutating func pop() -> Int32? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count && items[l] < items[smallest] { smallest = l }
                if r < items.count && items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return first
    }
}
