import CSuiteSparse
import Dispatch

/// Sparse Cholesky factorization over CHOLMOD (`cholmod_l_*`, 64-bit indices): P(A + βI)Pᵀ = LLᵀ
/// for a symmetric positive definite A, or P(AAᵀ + βI)Pᵀ = LLᵀ for any A (the Gram form
/// XᵀX + βI with A = Xᵀ, through `cholmod_l_factorize_p`).
///
/// The symbolic analysis (ordering, elimination tree, predicted factor size) happens once in
/// `init`; `factorize(shift:)` and `refactor(values:shift:)` do numeric work on the same
/// pattern. The class owns its CHOLMOD handles and frees them in deinit. CHOLMOD never
/// writes to stderr.
///
/// Memory: the upper triangle (or A itself in the outer-product form) as 64-bit CSC, plus
/// `predictedFactorBytes`; a refactorization holds a second factor transiently so that a
/// failure leaves the previous one usable.
public final class CholeskyFactorization {
    /// Fill-reducing ordering for the symbolic analysis.
    public enum Ordering: String, CaseIterable, Sendable {
        /// CHOLMOD's default strategy: AMD, and METIS too when AMD's fill is high.
        case automatic
        case amd
        case metis
        /// CHOLMOD's nested dissection (METIS-based, with constrained minimum degree).
        case nestedDissection = "nesdis"
        case natural
        /// A permutation the caller supplies (`init(symmetric:permutation:kind:memoryBudget:)`):
        /// the automatic policy's low-fill elimination order. Not an option by itself.
        case given
    }

    /// The factor's storage: CHOLMOD's choice (supernodal when the flops per nonzero are
    /// high), or forced.
    public enum FactorKind: String, CaseIterable, Sendable { case automatic, simplicial, supernodal }

    /// What is factorized: A itself (symmetric), or AAᵀ.
    public enum Form: Sendable, Equatable { case symmetric, outerProduct }

    public let form: Form
    /// The order n of the factorized matrix.
    public let dimension: Int
    public let ordering: Ordering
    /// nnz(L) predicted by the symbolic analysis, before any numeric work.
    public let predictedFactorNonzeros: Int
    /// Floating-point operations predicted for one numeric factorization.
    public let predictedFlops: Double
    /// Bytes the numeric factor will occupy (values and row indices), from the analysis.
    public let predictedFactorBytes: Int
    /// True once a numeric factorization has succeeded.
    public private(set) var isFactorized = false
    /// The shift β of the current factor.
    public private(set) var shift: Double = 0
    /// Seconds of the symbolic analysis and of the latest numeric factorization.
    public let analyzeSeconds: Double
    public private(set) var factorizeSeconds: Double = 0

    private let common: UnsafeMutablePointer<cholmod_common>
    private var matrix: UnsafeMutablePointer<cholmod_sparse>
    private var factor: UnsafeMutablePointer<cholmod_factor>
    // The input pattern, kept to check that refactorizations use the same one.
    private let inputPointers: [Int]
    private let inputIndices: [Int32]

    /// Analyzes a symmetric matrix (both triangles stored; only the upper one is read).
    /// - Parameters:
    ///   - a: the symmetric matrix A.
    ///   - ordering: the fill-reducing ordering (METIS, AMD, …) of the analysis.
    ///   - kind: supernodal or simplicial factor (CHOLMOD chooses by default).
    ///   - memoryBudget: when given, throws `.factorTooLarge` if the predicted factor exceeds it.
    /// - Throws: `.dimensionMismatch` if A is not square, `.factorTooLarge`, `.outOfMemory`,
    ///   `.libraryFailure`.
    public convenience init(symmetric a: CSRMatrix, ordering: Ordering = .automatic, kind: FactorKind = .automatic,
                            memoryBudget: Int? = nil) throws {
        guard a.rows == a.columns else {
            throw SparseError.dimensionMismatch(operation: "CholeskyFactorization", expected: "a square matrix",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        // A CSR symmetric matrix read as CSC is A itself; keep entries with row ≤ column.
        try self.init(storage: a.storage, form: .symmetric, ordering: ordering, kind: kind, memoryBudget: memoryBudget)
    }

    /// Analyzes AAᵀ for A given as CSC (m × k): the factor is m × m.
    public convenience init(outerProductOf a: CSCMatrix, ordering: Ordering = .automatic, kind: FactorKind = .automatic,
                            memoryBudget: Int? = nil) throws {
        try self.init(storage: a.storage, form: .outerProduct, ordering: ordering, kind: kind, memoryBudget: memoryBudget)
    }

    /// Analyzes the Gram matrix XᵀX (p × p) of a design matrix X (n × p): AAᵀ with A = Xᵀ.
    public convenience init(gramOf x: CSRMatrix, ordering: Ordering = .automatic, kind: FactorKind = .automatic,
                            memoryBudget: Int? = nil) throws {
        try self.init(outerProductOf: x.transposeAsCSC, ordering: ordering, kind: kind, memoryBudget: memoryBudget)
    }

    /// Analyzes a symmetric matrix (both triangles stored; only the upper one is read) in a
    /// given elimination order: `permutation[k]` is the row eliminated k-th (CHOLMOD's `Perm`).
    /// The order is used as given (no postordering), so an order computed with the graph's
    /// structure in mind — the automatic policy's low-fill elimination — is not searched for
    /// again (AMD alone is most of CHOLMOD's analysis on a tree-like graph).
    /// - Parameters:
    ///   - a: the symmetric matrix A.
    ///   - permutation: a permutation of 0..<n.
    ///   - kind: supernodal or simplicial factor (CHOLMOD chooses by default).
    ///   - memoryBudget: when given, throws `.factorTooLarge` if the predicted factor exceeds it.
    /// - Throws: `.dimensionMismatch` if A is not square or the permutation's length is not n,
    ///   `.invalidArgument` if it is not a permutation, `.factorTooLarge`, `.outOfMemory`,
    ///   `.libraryFailure`.
    public convenience init(symmetric a: CSRMatrix, permutation: [Int], kind: FactorKind = .automatic,
                            memoryBudget: Int? = nil) throws {
        guard a.rows == a.columns else {
            throw SparseError.dimensionMismatch(operation: "CholeskyFactorization", expected: "a square matrix",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        guard permutation.count == a.rows else {
            throw SparseError.dimensionMismatch(operation: "CholeskyFactorization", expected: "a permutation of length \(a.rows)",
                                                actual: "length \(permutation.count)")
        }
        var seen = [Bool](repeating: false, count: a.rows)
        for (k, i) in permutation.enumerated() {
            guard i >= 0, i < a.rows, !seen[i] else {
                throw SparseError.invalidArgument("CholeskyFactorization: entry \(k) of the permutation (\(i)) is "
                                                  + (i >= 0 && i < a.rows ? "repeated" : "out of range 0..<\(a.rows)"))
            }
            seen[i] = true
        }
        try self.init(storage: a.storage, form: .symmetric, ordering: .given, kind: kind, memoryBudget: memoryBudget,
                      permutation: permutation)
    }

    private init(storage: CompressedStorage, form: Form, ordering: Ordering, kind: FactorKind, memoryBudget: Int?,
                 permutation: [Int]? = nil) throws {
        _ = configureLibraries
        let start = DispatchTime.now().uptimeNanoseconds
        self.form = form
        self.ordering = ordering
        self.dimension = form == .symmetric ? storage.majorCount : storage.minorCount
        self.inputPointers = storage.pointers
        self.inputIndices = storage.indices
        try checkFinite(storage.values, "matrix values")

        let common = UnsafeMutablePointer<cholmod_common>.allocate(capacity: 1)
        self.common = common
        cholmod_l_start(common)
        common.pointee.print = 0
        common.pointee.error_handler = nil
        // Leave the factor as LLᵀ: a simplicial LDLᵀ would otherwise accept negative pivots
        // and hide indefiniteness.
        common.pointee.final_ll = 1
        switch kind {
        case .automatic: common.pointee.supernodal = CHOLMOD_AUTO
        case .simplicial: common.pointee.supernodal = CHOLMOD_SIMPLICIAL
        case .supernodal: common.pointee.supernodal = CHOLMOD_SUPERNODAL
        }
        switch ordering {
        case .automatic: common.pointee.nmethods = 0
        case .amd: Self.setOrdering(common, CHOLMOD_AMD)
        case .metis: Self.setOrdering(common, CHOLMOD_METIS)
        case .nestedDissection: Self.setOrdering(common, CHOLMOD_NESDIS)
        case .natural: Self.setOrdering(common, CHOLMOD_NATURAL)
        case .given:
            guard permutation != nil else {
                cholmod_l_finish(common); common.deallocate()
                throw SparseError.invalidArgument("CholeskyFactorization: the ordering 'given' needs a permutation "
                                                  + "(init(symmetric:permutation:kind:memoryBudget:))")
            }
            Self.setOrdering(common, CHOLMOD_GIVEN)
            common.pointee.postorder = 0
        }

        guard let m = Self.makeSparse(storage, form: form, common: common) else {
            let status = common.pointee.status
            cholmod_l_finish(common); common.deallocate()
            throw SuiteSparseStatus.cholmodError(status, during: "copying the matrix")
        }
        matrix = m
        let analyzed: UnsafeMutablePointer<cholmod_factor>?
        if let permutation {
            analyzed = permutation.withUnsafeBufferPointer { perm in
                withLibraryThreads { cholmod_l_analyze_p(m, UnsafeMutablePointer(mutating: perm.baseAddress), nil, 0, common) }
            }
        } else {
            analyzed = withLibraryThreads { cholmod_l_analyze(m, common) }
        }
        guard let f = analyzed else {
            let status = common.pointee.status
            var mm: UnsafeMutablePointer<cholmod_sparse>? = m
            cholmod_l_free_sparse(&mm, common)
            cholmod_l_finish(common); common.deallocate()
            throw SuiteSparseStatus.cholmodError(status, during: "symbolic analysis")
        }
        factor = f
        predictedFactorNonzeros = Int(common.pointee.lnz)
        predictedFlops = common.pointee.fl
        if f.pointee.is_super != 0 {
            predictedFactorBytes = 8 * Int(f.pointee.xsize) + 8 * Int(f.pointee.ssize) + 8 * 4 * Int(f.pointee.nsuper)
        } else {
            predictedFactorBytes = 16 * Int(common.pointee.lnz) + 8 * 4 * dimension
        }
        analyzeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        if let memoryBudget, predictedFactorBytes > memoryBudget {
            throw SparseError.factorTooLarge(predictedBytes: predictedFactorBytes, budgetBytes: memoryBudget)
        }
    }

    deinit {
        var f: UnsafeMutablePointer<cholmod_factor>? = factor
        cholmod_l_free_factor(&f, common)
        var m: UnsafeMutablePointer<cholmod_sparse>? = matrix
        cholmod_l_free_sparse(&m, common)
        cholmod_l_finish(common)
        common.deallocate()
    }

    private static func setOrdering(_ common: UnsafeMutablePointer<cholmod_common>, _ method: Int32) {
        common.pointee.nmethods = 1
        common.pointee.method.0.ordering = method
        common.pointee.postorder = 1
    }

    /// Copies the input into a CHOLMOD sparse matrix with 64-bit indices: the upper triangle
    /// (stype 1, CHOLMOD's native orientation) for the symmetric form, all of A (stype 0) for the outer-product form.
    private static func makeSparse(_ s: CompressedStorage, form: Form,
                                   common: UnsafeMutablePointer<cholmod_common>) -> UnsafeMutablePointer<cholmod_sparse>? {
        let ncol = s.majorCount
        var count = 0
        if form == .symmetric {
            for j in 0..<ncol { for k in s.pointers[j]..<s.pointers[j + 1] where Int(s.indices[k]) <= j { count += 1 } }
        } else {
            count = s.nonzeroCount
        }
        guard let m = cholmod_l_allocate_sparse(s.minorCount, ncol, max(count, 1), 1, 1,
                                                form == .symmetric ? 1 : 0, CHOLMOD_REAL, common) else { return nil }
        fill(m, from: s, form: form, valuesOnly: false)
        return m
    }

    private static func fill(_ m: UnsafeMutablePointer<cholmod_sparse>, from s: CompressedStorage, form: Form,
                             valuesOnly: Bool) {
        let p = m.pointee.p.assumingMemoryBound(to: Int.self)
        let i = m.pointee.i.assumingMemoryBound(to: Int.self)
        let x = m.pointee.x.assumingMemoryBound(to: Double.self)
        var write = 0
        p[0] = 0
        for j in 0..<s.majorCount {
            for k in s.pointers[j]..<s.pointers[j + 1] {
                let row = Int(s.indices[k])
                if form == .symmetric && row > j { continue }
                if !valuesOnly { i[write] = row }
                x[write] = s.values[k]
                write += 1
            }
            p[j + 1] = write
        }
    }

    /// Numeric factorization of A + βI (or AAᵀ + βI).
    /// - Throws: `.notPositiveDefinite(column:)`, `.outOfMemory`, `.nonFinite` for a NaN β.
    public func factorize(shift beta: Double = 0) throws {
        guard beta.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        try numeric(shift: beta)
    }

    /// Numeric refactorization with new values on the pattern given at analysis (values in
    /// the input's own order: CSR values for `symmetric:`, CSC values for `outerProductOf:`).
    /// On failure the previous factor stays usable.
    /// - Throws: `.dimensionMismatch` for a wrong count, `.nonFinite`, `.notPositiveDefinite`.
    public func refactor(values: [Double], shift beta: Double = 0) throws {
        try checkLength("CholeskyFactorization.refactor", "values", expected: inputIndices.count, actual: values.count)
        try checkFinite(values, "values")
        guard beta.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        let storage = CompressedStorage(majorCount: inputPointers.count - 1,
                                        minorCount: form == .symmetric ? dimension : Int(matrix.pointee.nrow),
                                        pointers: inputPointers, indices: inputIndices, values: values)
        let previousValues = UnsafeMutableBufferPointer(start: matrix.pointee.x.assumingMemoryBound(to: Double.self),
                                                        count: Int(matrix.pointee.nzmax))
        let saved = Array(previousValues)
        Self.fill(matrix, from: storage, form: form, valuesOnly: true)
        do {
            try numeric(shift: beta)
        } catch {
            _ = previousValues.initialize(from: saved)
            throw error
        }
    }

    /// Refactorization with a new matrix of the same pattern.
    public func refactor(_ a: CSRMatrix, shift beta: Double = 0) throws {
        guard a.storage.pointers == inputPointers, a.storage.indices == inputIndices else {
            throw SparseError.patternMismatch("CholeskyFactorization.refactor: the matrix pattern differs from the analyzed one")
        }
        try refactor(values: a.values, shift: beta)
    }

    private func numeric(shift beta: Double) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        // Factorize a copy so that a failure leaves the current factor intact.
        let target: UnsafeMutablePointer<cholmod_factor>
        if isFactorized {
            guard let copy = cholmod_l_copy_factor(factor, common) else {
                throw SuiteSparseStatus.cholmodError(common.pointee.status, during: "copying the factor")
            }
            target = copy
        } else {
            target = factor
        }
        var betaPair: (Double, Double) = (beta, 0)
        let ok = withLibraryThreads {
            withUnsafeMutablePointer(to: &betaPair) { bp in
                bp.withMemoryRebound(to: Double.self, capacity: 2) { cholmod_l_factorize_p(matrix, $0, nil, 0, target, common) }
            }
        }
        let status = common.pointee.status
        var failure: SparseError?
        if ok == 0 || status < CHOLMOD_OK {
            failure = SuiteSparseStatus.cholmodError(status, during: "numeric factorization")
        } else if status == CHOLMOD_NOT_POSDEF || target.pointee.minor < target.pointee.n {
            failure = .notPositiveDefinite(column: Int(target.pointee.minor))
        } else if target.pointee.is_ll == 0 {
            // Defensive: an LDLᵀ left behind must still have a positive D.
            if let column = Self.firstNonPositivePivot(target) { failure = .notPositiveDefinite(column: column) }
        }
        if let failure {
            if target != factor {
                var t: UnsafeMutablePointer<cholmod_factor>? = target
                cholmod_l_free_factor(&t, common)
            } else {
                isFactorized = false
            }
            throw failure
        }
        if target != factor {
            var old: UnsafeMutablePointer<cholmod_factor>? = factor
            cholmod_l_free_factor(&old, common)
            factor = target
        }
        shift = beta
        isFactorized = true
        factorizeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    private static func firstNonPositivePivot(_ f: UnsafeMutablePointer<cholmod_factor>) -> Int? {
        let n = Int(f.pointee.n)
        let p = f.pointee.p.assumingMemoryBound(to: Int.self)
        let x = f.pointee.x.assumingMemoryBound(to: Double.self)
        for j in 0..<n where !(x[p[j]] > 0) { return j }
        return nil
    }

    /// Solves (A + βI)X = B for `columns` right-hand sides stored column-major in `b`.
    /// - Throws: `.invalidArgument` before a successful factorization, `.dimensionMismatch`,
    ///   `.nonFinite` for NaN/Inf in B.
    public func solve(_ b: [Double], columns: Int = 1) throws -> [Double] {
        guard isFactorized else { throw SparseError.invalidArgument("CholeskyFactorization.solve before a successful factorization") }
        guard columns >= 1 else { throw SparseError.invalidArgument("solve needs at least one right-hand side") }
        try checkLength("CholeskyFactorization.solve", "right-hand side", expected: dimension * columns, actual: b.count)
        try checkFinite(b, "right-hand side")
        var input = b
        return try input.withUnsafeMutableBufferPointer { buffer -> [Double] in
            var dense = cholmod_dense(nrow: dimension, ncol: columns, nzmax: dimension * columns, d: dimension,
                                      x: UnsafeMutableRawPointer(buffer.baseAddress!), z: nil,
                                      xtype: CHOLMOD_REAL, dtype: CHOLMOD_DOUBLE)
            guard let result = withLibraryThreads({ cholmod_l_solve(CHOLMOD_A, factor, &dense, common) }) else {
                throw SuiteSparseStatus.cholmodError(common.pointee.status, during: "solve")
            }
            var r: UnsafeMutablePointer<cholmod_dense>? = result
            defer { cholmod_l_free_dense(&r, common) }
            let x = result.pointee.x.assumingMemoryBound(to: Double.self)
            return Array(UnsafeBufferPointer(start: x, count: dimension * columns))
        }
    }

    /// log det(A + βI) read from the factor's diagonal: 2 Σ log Lⱼⱼ (supernodal or simplicial LLᵀ).
    /// - Complexity: O(n).
    public func logDeterminant() throws -> Double {
        guard isFactorized else { throw SparseError.invalidArgument("logDeterminant before a successful factorization") }
        let f = factor.pointee
        let x = f.x.assumingMemoryBound(to: Double.self)
        var sum = 0.0
        if f.is_super != 0 {
            let superStart = f.super.assumingMemoryBound(to: Int.self)
            let pi = f.pi.assumingMemoryBound(to: Int.self)
            let px = f.px.assumingMemoryBound(to: Int.self)
            for s in 0..<Int(f.nsuper) {
                let k1 = superStart[s], k2 = superStart[s + 1]
                let rowsInSupernode = pi[s + 1] - pi[s]
                let base = px[s]
                for j in 0..<(k2 - k1) {
                    sum += Foundation.log(x[base + j + j * rowsInSupernode])
                }
            }
            return 2 * sum
        }
        let p = f.p.assumingMemoryBound(to: Int.self)
        for j in 0..<Int(f.n) { sum += Foundation.log(x[p[j]]) }
        return f.is_ll != 0 ? 2 * sum : sum
    }

    /// Actual nnz(L) of the current numeric factor.
    public var factorNonzeros: Int {
        let f = factor.pointee
        if f.is_super != 0 {
            // Supernodal storage counts the dense trapezoids.
            return Int(f.xsize)
        }
        let nz = f.nz.assumingMemoryBound(to: Int.self)
        var total = 0
        for j in 0..<Int(f.n) { total += nz[j] }
        return total
    }

    /// True when CHOLMOD chose a supernodal factor.
    public var isSupernodal: Bool { factor.pointee.is_super != 0 }
}
import Foundation
