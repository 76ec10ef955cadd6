import Foundation
import PETScShim
import Sparse

/// A square sparse matrix split by rows over the ranks (PETSc's MATAIJ: MPIAIJ over several
/// ranks, SeqAIJ on one). Each rank holds only its row block — `localRows` rows from
/// `partition.localRange.lowerBound`, in CSR with global column indices — and PETSc's copy of
/// it; nothing is gathered on one rank.
///
/// As a `LinearOperator` it keeps the contract of every operator: `rows` and `columns` are the
/// global dimensions, its `vectorSpace` says which part of each vector this rank holds
/// (`localRows` entries from `partition.localRange.lowerBound`) and sums over the ranks by
/// MPI_Allreduce, and `apply` is PETSc's MatMult on those parts, a collective call (every rank
/// must apply at the same time; the halo of x is exchanged inside). `PETScSolver` solves with
/// it, and so do the library's own Krylov methods, `LinearSolveStrategy` and `RootSolution`,
/// whose dot products and norms go through the vector space. A matrix of this process alone
/// (`isLocalOnly`) holds whole vectors (no vector space).
public final class DistributedMatrix: LinearOperator {
    public let partition: RowPartition
    /// This rank's rows: pointers from 0, global column indices sorted within each row.
    public let rowPointers: [Int32]
    public let columnIndices: [Int32]
    public let values: [Double]
    public let isSymmetric: Bool
    public let isPositiveDefinite: Bool
    /// True when the matrix lives on this rank alone (PETSC_COMM_SELF), not over every rank.
    public let isLocalOnly: Bool
    /// The pattern's identity, shared by `withValues` copies (a strategy keeps its state).
    public let patternIdentity: PatternIdentity?
    /// PETSc's Mat.
    var handle: UnsafeMutableRawPointer?

    /// A matrix from this rank's rows. `localOnly` makes a sequential matrix of this process
    /// (the whole matrix on one rank, however many ranks run).
    /// - Throws: `SparseError.invalidArgument` on inconsistent arrays (naming the row),
    ///   `PETScError` from PETSc.
    public convenience init(partition: RowPartition, rowPointers: [Int32], columnIndices: [Int32], values: [Double],
                            symmetric: Bool, positiveDefinite: Bool = false, localOnly: Bool = false) throws {
        try self.init(partition: partition, rowPointers: rowPointers, columnIndices: columnIndices, values: values, symmetric: symmetric,
                      positiveDefinite: positiveDefinite, localOnly: localOnly,
                      pattern: PatternIdentity(rows: partition.globalRows, columns: partition.globalRows))
    }

    private init(partition: RowPartition, rowPointers: [Int32], columnIndices: [Int32], values: [Double],
                 symmetric: Bool, positiveDefinite: Bool, localOnly: Bool, pattern: PatternIdentity) throws {
        try PETSc.requireInitialized()
        // Checked on every rank and agreed before any collective PETSc call, so that a bad
        // block on one rank fails every rank instead of leaving the others in MatCreate.
        if localOnly {
            try Self.check(partition, rowPointers, columnIndices, values)
        } else {
            try Collective.agree("building the distributed matrix") {
                guard partition.ranks == PETSc.size, partition.rank == PETSc.rank else {
                    throw SparseError.invalidArgument("DistributedMatrix: the partition is for rank \(partition.rank) of \(partition.ranks), this is rank \(PETSc.rank) of \(PETSc.size)")
                }
                try Self.check(partition, rowPointers, columnIndices, values)
            }
        }
        let local = partition.localRows, n = partition.globalRows
        self.partition = partition
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
        self.isSymmetric = symmetric
        self.isPositiveDefinite = positiveDefinite
        self.isLocalOnly = localOnly
        self.patternIdentity = pattern
        var mat: UnsafeMutableRawPointer?
        try PETSc.check(isp_matrix_create(localOnly ? 1 : 0, Int32(local), Int32(n), rowPointers, columnIndices, values,
                                          symmetric ? 1 : 0, positiveDefinite ? 1 : 0, &mat), "MatCreate")
        handle = mat
    }

    /// The CSR arrays of this rank's rows: lengths, increasing pointers, sorted in-range
    /// columns, finite values. - Throws: `SparseError.invalidArgument` naming the global row.
    static func check(_ partition: RowPartition, _ rowPointers: [Int32], _ columnIndices: [Int32], _ values: [Double]) throws {
        let local = partition.localRows, n = partition.globalRows
        guard n <= Int(Int32.max) else {
            throw SparseError.invalidArgument("PETSc here has 32-bit indices: \(n) rows exceed 2³¹ − 1")
        }
        guard rowPointers.count == local + 1, rowPointers.first == 0, Int(rowPointers[local]) == columnIndices.count,
              values.count == columnIndices.count else {
            throw SparseError.invalidArgument("DistributedMatrix: \(local) local rows need \(local + 1) row pointers from 0 to the entry count, and one value per column index")
        }
        for i in 0..<local {
            guard rowPointers[i] <= rowPointers[i + 1] else {
                throw SparseError.invalidArgument("DistributedMatrix: row pointers decrease at global row \(partition.localRange.lowerBound + i + 1)")
            }
            var previous: Int32 = -1
            for k in Int(rowPointers[i])..<Int(rowPointers[i + 1]) {
                let j = columnIndices[k]
                guard j > previous, j < Int32(n) else {
                    throw SparseError.invalidArgument("DistributedMatrix: global row \(partition.localRange.lowerBound + i + 1) has column \(Int(j) + 1) out of order or out of range 1…\(n)")
                }
                guard values[k].isFinite else {
                    throw SparseError.invalidArgument("DistributedMatrix: entry (\(partition.localRange.lowerBound + i + 1), \(Int(j) + 1)) is not finite")
                }
                previous = j
            }
        }
    }

    /// The whole of `matrix` as this process's own sequential PETSc matrix.
    public convenience init(sequential matrix: CSRMatrix, symmetric: Bool? = nil, positiveDefinite: Bool? = nil) throws {
        guard matrix.rows == matrix.columns else {
            throw LinearSolveError.unsuitableOperator(method: "petsc", reason: "the matrix is \(matrix.rows) × \(matrix.columns), not square")
        }
        // CSR rows (sorted, unique columns: CSRMatrix's invariant) with 32-bit pointers.
        let sorted = matrix
        guard sorted.nonzeroCount <= Int(Int32.max) else {
            throw SparseError.invalidArgument("PETSc here has 32-bit indices: \(sorted.nonzeroCount) entries exceed 2³¹ − 1")
        }
        try self.init(partition: RowPartition(globalRows: matrix.rows, ranks: 1, rank: 0),
                      rowPointers: sorted.rowPointers.map { Int32($0) }, columnIndices: sorted.columnIndices,
                      values: sorted.values, symmetric: symmetric ?? matrix.isSymmetric,
                      positiveDefinite: positiveDefinite ?? matrix.isPositiveDefinite, localOnly: true)
    }

    deinit {
        // PETSc objects must not outlive PetscFinalize: a matrix released after it leaks only
        // the process's own memory, freed at exit.
        if PETSc.isInitialized { _ = isp_matrix_destroy(&handle) }
    }

    /// The same pattern with new values (a new PETSc matrix; `PETScSolver`'s `update` takes it).
    public func withValues(_ newValues: [Double], positiveDefinite: Bool? = nil) throws -> DistributedMatrix {
        try DistributedMatrix(partition: partition, rowPointers: rowPointers, columnIndices: columnIndices, values: newValues,
                              symmetric: isSymmetric, positiveDefinite: positiveDefinite ?? isPositiveDefinite,
                              localOnly: isLocalOnly, pattern: patternIdentity ?? PatternIdentity(rows: rows, columns: columns))
    }

    /// The values' identity (their buffer): the same matrix is used as it is.
    public var valuesIdentity: ValuesIdentity? { ValuesIdentity(values) }

    public var rows: Int { partition.globalRows }
    public var columns: Int { partition.globalRows }
    public var globalRows: Int { partition.globalRows }

    /// This rank's part of every vector, and sums over the ranks (nil for a matrix of this
    /// process alone, which holds whole vectors).
    public var vectorSpace: VectorSpace? {
        if isLocalOnly { return nil }
        return VectorSpace(globalLength: partition.globalRows, localRange: partition.localRange, parts: partition.ranks) { values in
            try? Collective.sum(values)
        }
    }
    public var localNonzeros: Int { columnIndices.count }

    /// y = Ax on this rank's parts (collective). A PETSc failure here (none is expected for a
    /// matrix PETSc accepted) leaves NaN in y, which every solve's residual check refuses.
    public func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>,
                      transposed: Bool, accumulate: Bool) {
        if accumulate {
            var product = [Double](repeating: 0, count: y.count)
            if isp_matrix_multiply(handle, x.baseAddress, &product, transposed ? 1 : 0) != 0 {
                product = [Double](repeating: .nan, count: y.count)
            }
            for i in 0..<y.count { y[i] += product[i] }
        } else if isp_matrix_multiply(handle, x.baseAddress, y.baseAddress, transposed ? 1 : 0) != 0 {
            for i in 0..<y.count { y[i] = .nan }
        }
    }

    /// y = Ax on this rank's parts, throwing PETSc's error.
    public func multiply(_ x: [Double]) throws -> [Double] {
        guard x.count == localRows else {
            throw SparseError.dimensionMismatch(operation: "DistributedMatrix.multiply", expected: "\(localRows) local entries", actual: "\(x.count)")
        }
        var y = [Double](repeating: 0, count: localRows)
        try PETSc.check(isp_matrix_multiply(handle, x, &y, 0), "MatMult")
        return y
    }

    /// The same matrix in contiguous row blocks holding equal shares of the nonzeros (the
    /// rows keep their numbers; block boundaries move): the documented fallback partition —
    /// O(nnz) once, no partitioning library — for graphs whose rows are ordered by degree,
    /// where PETSc's even row split put 75 % of a power-law graph's nonzeros on one of two
    /// ranks. The halo is not reduced (PT-Scotch's `partitioned` does that). Collective.
    public func balancedByNonzeros() throws -> DistributedMatrix {
        guard !isLocalOnly, partition.ranks > 1 else { return self }
        let ranks = partition.ranks, first = partition.localRange.lowerBound
        let local = columnIndices.count
        let before = try Collective.exclusivePrefixSum(local), total = try Collective.sum(local)
        // Boundary r (1 ≤ r < K) is the first row whose entries start at or after r·total/K;
        // the rank holding that position finds it, the others add 0.
        var found = [Int](repeating: 0, count: ranks + 1)
        for r in 1..<ranks {
            let target = Int((Double(r) * Double(total) / Double(ranks)).rounded(.down))
            guard target >= before, target < before + local else { continue }
            var row = 0
            while row < partition.localRows && before + Int(rowPointers[row + 1]) <= target { row += 1 }
            found[r] = first + row
        }
        var boundaries = try Collective.sum(found)
        boundaries[0] = 0
        boundaries[ranks] = partition.globalRows
        for r in 1..<ranks where boundaries[r] < boundaries[r - 1] { boundaries[r] = boundaries[r - 1] }
        let sizes = (0..<ranks).map { boundaries[$0 + 1] - boundaries[$0] }
        var result: UnsafeMutableRawPointer?
        try PETSc.check(isp_matrix_reblock(handle, Int32(boundaries[partition.rank]), Int32(boundaries[partition.rank + 1]), &result),
                        "MatCreateSubMatrix")
        defer { var r = result; _ = isp_matrix_destroy(&r) }
        let (pointers, columns, values) = try Self.localCSR(result)
        return try DistributedMatrix(partition: RowPartition(blockSizes: sizes), rowPointers: pointers, columnIndices: columns,
                                     values: values, symmetric: isSymmetric, positiveDefinite: isPositiveDefinite)
    }

    /// This rank's rows of a PETSc matrix in CSR (sorted global columns).
    static func localCSR(_ handle: UnsafeMutableRawPointer?) throws -> (pointers: [Int32], columns: [Int32], values: [Double]) {
        var localRows: Int32 = 0, entries: Int32 = 0
        try PETSc.check(isp_matrix_local_csr(handle, nil, nil, nil, &localRows, &entries), "MatGetRow")
        var pointers = [Int32](repeating: 0, count: Int(localRows) + 1)
        var columns = [Int32](repeating: 0, count: Int(entries)), values = [Double](repeating: 0, count: Int(entries))
        try PETSc.check(isp_matrix_local_csr(handle, &pointers, &columns, &values, &localRows, &entries), "MatGetRow")
        return (pointers, columns, values)
    }

    /// The matrix renumbered by PETSc's MatPartitioning (`type`: "ptscotch" where Debian's
    /// PETSc has PT-Scotch, "parmetis" where it has ParMETIS) so that each rank owns the rows
    /// the partitioner grouped — fewer nonzeros on the heaviest rank and a smaller halo on
    /// graphs with hubs — and, for each local row of the result, its global index here
    /// (`originalRows`: node data and answers map through it). Collective. One rank: itself.
    public func partitioned(type: String = "ptscotch") throws -> (matrix: DistributedMatrix, originalRows: [Int]) {
        guard !isLocalOnly, partition.ranks > 1 else { return (self, Array(partition.localRange)) }
        var result: UnsafeMutableRawPointer?
        var oldRows: UnsafeMutablePointer<Int32>?
        var count: Int32 = 0
        try PETSc.check(isp_matrix_partition(handle, type, &result, &oldRows, &count), "MatPartitioningApply (\(type))")
        defer { isp_free(oldRows); var r = result; _ = isp_matrix_destroy(&r) }
        let original = (0..<Int(count)).map { Int(oldRows![$0]) }
        let (pointers, columns, values) = try Self.localCSR(result)
        let sizes = try Collective.allGather(pointers.count - 1)
        let renumbered = RowPartition(blockSizes: sizes)
        let matrix = try DistributedMatrix(partition: renumbered, rowPointers: pointers, columnIndices: columns, values: values,
                                           symmetric: isSymmetric, positiveDefinite: isPositiveDefinite)
        return (matrix, original)
    }

    /// Values this rank receives from other ranks in each product (the halo exchanged by
    /// MatMult; 0 on one rank).
    public var ghostCount: Int {
        var count: Int32 = 0
        _ = isp_matrix_ghosts(handle, &count)
        return Int(count)
    }

    /// This rank's diagonal entries.
    public var diagonal: [Double]? {
        let first = partition.localRange.lowerBound
        return (0..<localRows).map { i in
            for k in Int(rowPointers[i])..<Int(rowPointers[i + 1]) where Int(columnIndices[k]) == first + i { return values[k] }
            return 0
        }
    }

    /// Bytes PETSc's copy uses on this rank (MatGetInfo), plus this object's CSR arrays.
    public var memoryBytes: Int {
        var bytes = 0.0
        _ = isp_matrix_memory(handle, &bytes)
        return Int(bytes) + rowPointers.count * 4 + columnIndices.count * 4 + values.count * 8
    }

    /// ‖b − Ax‖/‖b‖ over every rank (collective), this rank holding its parts of x and b.
    public func globalRelativeResidual(_ x: [Double], _ b: [Double]) throws -> Double {
        let ax = try multiply(x)
        var local = [0.0, 0.0]
        for i in 0..<b.count {
            local[0] += (b[i] - ax[i]) * (b[i] - ax[i])
            local[1] += b[i] * b[i]
        }
        let global = isLocalOnly ? local : try Collective.sum(local)
        return global[1] > 0 ? (global[0] / global[1]).squareRoot() : global[0].squareRoot()
    }
}
