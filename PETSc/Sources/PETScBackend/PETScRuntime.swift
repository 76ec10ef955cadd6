import Foundation
import PETScShim

/// A failure inside PETSc or MPI: the error code and PETSc's own first message (the function
/// that raised it), with what this package was doing.
public struct PETScError: Error, CustomStringConvertible, Equatable, Sendable {
    public var code: Int
    /// What was being done ("MatCreate", "KSPSolve", …).
    public var operation: String
    public var message: String
    public var description: String { "PETSc failed in \(operation): \(message)" }
}

/// A failure on some rank, agreed by every rank (`Collective.agree`): every rank throws the
/// same error, carrying the message of the lowest rank that failed, so that no rank waits in a
/// collective call for one that has given up.
public struct DistributedFailure: Error, CustomStringConvertible, Equatable, Sendable {
    /// The lowest failing rank.
    public var rank: Int
    public var message: String
    /// True when the failure is in the input (a file, an option), false when numerical.
    public var isInput: Bool
    public var description: String { message }
}

/// The PETSc runtime of this process: initialization (MPI included), rank and size.
public enum PETSc {
    /// Initializes PETSc (and MPI, as a singleton when not started by mpirun) once per
    /// process. `options` are PETSc's own ("-ksp_monitor -pc_gamg_threshold 0.02"), inserted
    /// into its options database: every solver applies them last.
    public static func initialize(options: String? = nil) throws {
        try check(isp_initialize(options), "PetscInitialize")
    }

    /// Inserts PETSc options ("-ksp_monitor") after initialization; solvers prepared later
    /// apply them. - Throws: `PETScError` on text PETSc cannot parse.
    public static func insertOptions(_ options: String) throws {
        try check(isp_insert_options(options), "PetscOptionsInsertString")
    }

    /// Finalizes PETSc and MPI; PETSc objects must be destroyed before (their owners' deinit).
    public static func finalize() {
        _ = isp_finalize()
    }

    public static var isInitialized: Bool { isp_is_initialized() != 0 }
    /// This process's rank in PETSC_COMM_WORLD (0 before initialization).
    public static var rank: Int { isInitialized ? Int(isp_rank()) : 0 }
    /// The number of ranks (1 before initialization).
    public static var size: Int { isInitialized ? Int(isp_size()) : 1 }

    /// Resident memory of this process now and at its peak, in bytes (PETSc's measurement).
    public static func memory() -> (current: Double, peak: Double) {
        var current = 0.0, peak = 0.0
        _ = isp_memory(&current, &peak)
        return (current, peak)
    }

    static func check(_ code: Int32, _ operation: String) throws {
        guard code == 0 else {
            throw PETScError(code: Int(code), operation: operation, message: String(cString: isp_error_message()))
        }
    }

    static func requireInitialized() throws {
        guard isInitialized else {
            throw PETScError(code: 0, operation: "PETSc use", message: "PETSc is not initialized: call PETSc.initialize() first")
        }
    }
}

/// Collective operations over every rank (MPI_Allreduce, MPI_Exscan, …). Every rank must call
/// the same ones in the same order.
public enum Collective {
    public static func sum(_ value: Double) throws -> Double { try reduce([value], op: 0)[0] }
    public static func sum(_ values: [Double]) throws -> [Double] { try reduce(values, op: 0) }
    public static func maximum(_ value: Double) throws -> Double { try reduce([value], op: 1)[0] }
    public static func sum(_ value: Int) throws -> Int { try reduce([Int64(value)], op: 0).map(Int.init)[0] }
    public static func sum(_ values: [Int]) throws -> [Int] { try reduce(values.map(Int64.init), op: 0).map(Int.init) }
    public static func maximum(_ value: Int) throws -> Int { try reduce([Int64(value)], op: 1).map(Int.init)[0] }
    public static func minimum(_ value: Int) throws -> Int { try reduce([Int64(value)], op: 2).map(Int.init)[0] }

    /// Σ over the ranks before this one (0 on rank 0).
    public static func exclusivePrefixSum(_ value: Int) throws -> Int {
        var result: Int64 = 0
        try PETSc.check(isp_exscan_int64(Int64(value), &result), "MPI_Exscan")
        return Int(result)
    }

    /// Every rank's value, in rank order.
    public static func allGather(_ value: Int) throws -> [Int] {
        var values = [Int64](repeating: 0, count: PETSc.size)
        try PETSc.check(isp_allgather_int64(Int64(value), &values), "MPI_Allgather")
        return values.map(Int.init)
    }

    /// The text on `root`, on every rank.
    public static func broadcast(_ text: String, from root: Int) throws -> String {
        var bytes = Array(text.utf8)
        var count = [Int64(bytes.count)]
        // The length first (as a max-reduce of root's length: every rank contributes 0 but root).
        if PETSc.rank != root { count[0] = 0 }
        count = try reduce(count, op: 1)
        if PETSc.rank != root { bytes = [UInt8](repeating: 0, count: Int(count[0])) }
        guard !bytes.isEmpty else { return "" }
        try bytes.withUnsafeMutableBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) {
                try PETSc.check(isp_broadcast_bytes($0.baseAddress, Int32($0.count), Int32(root)), "MPI_Bcast")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `body` on every rank and agrees on the outcome: when any rank threw, every rank
    /// throws `DistributedFailure` with the message of the lowest failing rank (and no rank is
    /// left waiting in a later collective). `isInput` classifies the thrown error for exit codes.
    public static func agree<T>(_ what: String, isInput: (Error) -> Bool = { _ in true },
                                _ body: () throws -> T) throws -> T {
        var result: T?
        var failure: Error?
        do { result = try body() } catch { failure = error }
        let size = PETSc.size
        let lowest = try minimum(failure == nil ? size : PETSc.rank)
        guard lowest < size else { return result! }
        let message = try broadcast(failure.map { "\($0)" } ?? "", from: lowest)
        let input = try maximum(failure.map { isInput($0) ? 1 : 0 } ?? 0) > 0
        throw DistributedFailure(rank: lowest, message: size > 1 ? "\(what) (rank \(lowest)): \(message)" : "\(what): \(message)",
                                 isInput: input)
    }

    public static func barrier() throws { try PETSc.check(isp_barrier(), "MPI_Barrier") }

    static func reduce(_ values: [Double], op: Int32) throws -> [Double] {
        var values = values
        try PETSc.check(isp_allreduce_double(&values, Int32(values.count), op), "MPI_Allreduce")
        return values
    }

    static func reduce(_ values: [Int64], op: Int32) throws -> [Int64] {
        var values = values
        try PETSc.check(isp_allreduce_int64(&values, Int32(values.count), op), "MPI_Allreduce")
        return values
    }
}

/// Rows split into contiguous blocks over the ranks: as PETSc's PetscSplitOwnership does (rank
/// r owns ⌊n/K⌋ rows, one more when r < n mod K), or at given boundaries (a partitioner's
/// block sizes after renumbering).
public struct RowPartition: Equatable, Sendable {
    public var globalRows: Int
    public var ranks: Int
    public var rank: Int
    /// Rank r's rows are boundaries[r]..<boundaries[r + 1] (nil: PETSc's even split).
    public private(set) var boundaries: [Int]?

    public init(globalRows: Int, ranks: Int = PETSc.size, rank: Int = PETSc.rank) {
        self.globalRows = globalRows
        self.ranks = ranks
        self.rank = rank
        self.boundaries = nil
    }

    /// Blocks of the given sizes, one per rank in order.
    public init(blockSizes: [Int], rank: Int = PETSc.rank) {
        var starts = [0]
        for size in blockSizes { starts.append(starts.last! + size) }
        globalRows = starts.last!
        ranks = blockSizes.count
        self.rank = rank
        boundaries = starts
    }

    /// The rows of rank `r`.
    public func range(of r: Int) -> Range<Int> {
        if let boundaries { return boundaries[r]..<boundaries[r + 1] }
        let base = globalRows / ranks, extra = globalRows % ranks
        let start = r * base + min(r, extra)
        return start..<(start + base + (r < extra ? 1 : 0))
    }

    /// This rank's rows.
    public var localRange: Range<Int> { range(of: rank) }
    public var localRows: Int { localRange.count }

    /// The rank owning global row `row`.
    public func owner(of row: Int) -> Int {
        if let boundaries {
            // The last boundary not above `row` (binary search).
            var low = 0, high = ranks - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if boundaries[middle] <= row { low = middle } else { high = middle - 1 }
            }
            return low
        }
        let base = globalRows / ranks, extra = globalRows % ranks
        let boundary = extra * (base + 1)
        return row < boundary ? row / (base + 1) : extra + (row - boundary) / max(base, 1)
    }
}
