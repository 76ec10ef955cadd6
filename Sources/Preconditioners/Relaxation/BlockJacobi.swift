import Dispatch
import Sparse

/// Block Jacobi: M = blockdiag(A_B1, A_B2, …) on a partition of the unknowns into blocks;
/// each block is factorized densely through LAPACK (blocks up to `denseLimit` unknowns;
/// Cholesky when A is known symmetric, LU otherwise) or, when larger, with CHOLMOD (falling
/// back to UMFPACK when the block is not positive definite). Symmetric when A is.
///
/// Apply: gather, solve and scatter per block; dense blocks use preallocated scratch, sparse
/// blocks allocate their solve's result. Memory: Σ 8·|B|² over dense blocks plus the
/// sparse blocks' factors.
public final class BlockJacobiPreconditioner: Preconditioner {
    public let setupSeconds: Double
    public let blocks: [[Int]]
    public let isSymmetric: Bool
    public let rows: Int
    private enum BlockSolver { case dense(DenseFactorization), cholesky(CholeskyFactorization), lu(LUFactorization) }
    private let solvers: [BlockSolver]
    private var scratch: [Double]
    private var scratch2: [Double]
    public var name: String { "block-jacobi" }
    public var columns: Int { rows }
    public let memoryBytes: Int

    /// - Parameters:
    ///   - a: the matrix whose diagonal blocks are factorized.
    ///   - blocks: disjoint index sets covering 0..<n exactly once.
    ///   - denseLimit: blocks up to this size are factorized densely.
    /// - Throws: `.invalidArgument` if the blocks do not partition the unknowns,
    ///   `.singularMatrix` for a singular block.
    public init(_ a: CSRMatrix, blocks: [[Int]], denseLimit: Int = 256) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        guard a.rows == a.columns else {
            throw SparseError.dimensionMismatch(operation: "BlockJacobiPreconditioner", expected: "a square matrix",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        let n = a.rows
        var seen = [Bool](repeating: false, count: n)
        for (b, block) in blocks.enumerated() {
            for i in block {
                guard i >= 0, i < n else { throw SparseError.invalidArgument("block \(b) holds index \(i), outside 0..<\(n)") }
                guard !seen[i] else { throw SparseError.invalidArgument("index \(i) appears in more than one block") }
                seen[i] = true
            }
        }
        if let missing = seen.firstIndex(of: false) {
            throw SparseError.invalidArgument("index \(missing) is in no block")
        }
        let symmetric = a.isKnownSymmetric
        var solvers: [BlockSolver] = []
        var memory = 0
        var largest = 0
        for block in blocks {
            let sorted = block.sorted()
            largest = max(largest, block.count)
            let sub = try a.selectingRows(block).selectingColumns(sorted)
            if block.count <= denseLimit {
                let m = block.count
                var dense = [Double](repeating: 0, count: m * m)
                for r in 0..<m {
                    for k in sub.rowPointers[r]..<sub.rowPointers[r + 1] {
                        let sortedColumn = Int(sub.columnIndices[k])
                        let column = block.firstIndex(of: sorted[sortedColumn])!
                        dense[column * m + r] = sub.values[k]
                    }
                }
                let factor = try DenseFactorization(columnMajor: dense, dimension: m, symmetricPositiveDefinite: symmetric)
                memory += factor.memoryBytes
                solvers.append(.dense(factor))
            } else {
                let permuted = try a.selectingRows(sorted).selectingColumns(sorted)
                var candidate = permuted
                if symmetric { candidate = candidate.declaringSymmetric() }
                if symmetric, let chol = try? CholeskyFactorization(symmetric: candidate), (try? chol.factorize()) != nil {
                    memory += chol.predictedFactorBytes
                    solvers.append(.cholesky(chol))
                } else {
                    let lu = try LUFactorization(permuted)
                    try lu.factorize()
                    memory += 12 * lu.factorNonzeros
                    solvers.append(.lu(lu))
                }
            }
        }
        self.blocks = blocks.map { $0.count > denseLimit ? $0.sorted() : $0 }
        self.solvers = solvers
        self.isSymmetric = symmetric
        self.rows = n
        self.scratch = [Double](repeating: 0, count: max(largest, 1))
        self.scratch2 = [Double](repeating: 0, count: max(largest, 1))
        self.memoryBytes = memory
        self.setupSeconds = elapsed(since: start)
    }

    /// Contiguous blocks of `blockSize` unknowns (the last one shorter).
    public convenience init(_ a: CSRMatrix, blockSize: Int, denseLimit: Int = 256) throws {
        guard blockSize >= 1 else { throw SparseError.invalidArgument("block size must be at least 1") }
        let blocks = stride(from: 0, to: a.rows, by: blockSize).map { Array($0..<min($0 + blockSize, a.rows)) }
        try self.init(a, blocks: blocks, denseLimit: denseLimit)
    }

    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        precondition(!accumulate, "BlockJacobiPreconditioner does not accumulate")
        scratch.withUnsafeMutableBufferPointer { s in scratch2.withUnsafeMutableBufferPointer { s2 in
            for (b, block) in blocks.enumerated() {
                switch solvers[b] {
                case let .dense(factor):
                    for (local, global) in block.enumerated() { s[local] = x[global] }
                    factor.solve(inPlace: s.baseAddress!, scratch: s2.baseAddress!)
                    for (local, global) in block.enumerated() { y[global] = s[local] }
                case let .cholesky(factor):
                    // A non-finite residual is the only failure; it propagates as NaN, which
                    // the Krylov method reports as a breakdown.
                    let solution = (try? factor.solve(block.map { x[$0] })) ?? [Double](repeating: .nan, count: block.count)
                    for (local, global) in block.enumerated() { y[global] = solution[local] }
                case let .lu(factor):
                    let solution = (try? factor.solve(block.map { x[$0] })) ?? [Double](repeating: .nan, count: block.count)
                    for (local, global) in block.enumerated() { y[global] = solution[local] }
                }
            }
        }}
    }
}
