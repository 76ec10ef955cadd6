import Foundation
import Sparse

/// LIBSVM files read in parallel as row blocks: each rank reads one byte range of the file
/// (1/K of its bytes, cut at line boundaries) and keeps the rows in it, so the rows of X are
/// distributed contiguously in file order and no rank reads or holds the whole file. Each
/// line is checked by the single-process reader's own rules (`LIBSVM.LineParser`), the index
/// base and the width are decided from the whole file as `LIBSVM.read` decides them (one
/// reduction), and error lines are exact (each rank counts the lines before its range by a
/// prefix sum).
///
/// A gzip file has no byte ranges: it is read by the documented fallback, every rank
/// streaming the whole file and keeping its share of the rows (an even split of the row
/// count) — two decompressions per rank, memory still only the rank's rows; `gunzip` first
/// for the parallel read.
///
/// Every error is agreed by all ranks (`Collective.agree`).
public enum DistributedLIBSVM {
    /// What a rank ends with.
    public struct RowBlock {
        /// The rows of the file over the ranks (contiguous blocks in file order).
        public var partition: RowPartition
        /// This rank's rows: `partition.localRows` × the width of the whole file.
        public var features: CSRMatrix
        /// The labels of this rank's rows.
        public var targets: [Double]
        /// 0 or 1: the index base decided for the file (or given).
        public var indexBase: Int
        /// True when the file was gzip-compressed (read by the streaming fallback).
        public var compressed: Bool
        /// The file's rows and stored nonzeros over all ranks.
        public var rows: Int { partition.globalRows }
        public var nonzeros: Int
    }

    /// Reads this rank's rows of `path` (collective: every rank calls it).
    /// - Parameters:
    ///   - indexBase: 0 or 1 to force the base; nil detects it from the whole file.
    ///   - columns: the width when known (a validation file read with its training file's).
    /// - Throws: `DistributedFailure` naming the file and line (what `LIBSVM.read` refuses).
    public static func read(path: String, indexBase: Int? = nil, columns: Int? = nil) throws -> RowBlock {
        if let indexBase, indexBase != 0 && indexBase != 1 {
            throw SparseError.invalidArgument("LIBSVM index base must be 0 or 1, got \(indexBase)")
        }
        let what = "reading \(path)"
        let (handle, size, compressed) = try Collective.agree(what) { () -> (FileHandle, Int, Bool) in
            let handle = try DistributedMatrixMarket.open(path)
            let head = try handle.read(upToCount: 2) ?? Data()
            let size = Int(try handle.seekToEnd())
            return (handle, size, head.starts(with: [0x1f, 0x8b]))
        }
        defer { try? handle.close() }
        if compressed {
            return try readCompressed(path: path, indexBase: indexBase, columns: columns)
        }
        let ranks = PETSc.size, rank = PETSc.rank
        let range = try Collective.agree(what) { () -> Range<Int> in
            let share = size / ranks
            let start = try DistributedMatrixMarket.lineBoundary(handle, at: rank * share, bodyOffset: 0, size: size)
            let end = try DistributedMatrixMarket.lineBoundary(handle, at: rank == ranks - 1 ? size : (rank + 1) * share,
                                                               bodyOffset: 0, size: size)
            return start..<max(start, end)
        }
        let lines = try Collective.agree(what) { try DistributedMatrixMarket.countLines(handle, range) }
        let firstLine = 1 + (try Collective.exclusivePrefixSum(lines))
        var parser = LIBSVM.LineParser(path: path)
        var pointers = [0], indices: [Int32] = [], values: [Double] = [], labels: [Double] = []
        try Collective.agree(what) {
            try DistributedMatrixMarket.forEachLine(handle, range, firstLine: firstLine) { base, length, line in
                guard let label = try parser.parse(base, length, line: line, indices: &indices, values: &values) else { return }
                labels.append(label)
                pointers.append(indices.count)
            }
        }
        return try assemble(path: path, parser: parser, indexBase: indexBase, columns: columns, pointers: pointers,
                            indices: indices, values: values, labels: labels, compressed: false)
    }

    /// The rows of every rank, the base and the width: what every rank found, reduced.
    static func assemble(path: String, parser: LIBSVM.LineParser, indexBase: Int?, columns: Int?, pointers: [Int],
                         indices: [Int32], values: [Double], labels: [Double], compressed: Bool) throws -> RowBlock {
        let found = try Collective.sum([parser.rows, parser.nonzeros])
        let minIndex = try Collective.minimum(parser.minIndex), maxIndex = try Collective.maximum(parser.maxIndex)
        // The first line with an index 0, and the first line holding the largest index.
        let firstZeroLine = try Collective.minimum(parser.firstZeroLine == 0 ? Int.max : parser.firstZeroLine)
        let maxIndexLine = try Collective.minimum(parser.maxIndex == maxIndex && maxIndex >= 0 ? parser.maxIndexLine : Int.max)
        let declared = try Collective.maximum(parser.declaredColumns)
        let (base, width) = try Collective.agree("reading \(path)") {
            try LIBSVM.baseAndWidth(path: path, minIndex: minIndex, maxIndex: maxIndex,
                                    firstZeroLine: firstZeroLine == Int.max ? 0 : firstZeroLine,
                                    maxIndexLine: maxIndexLine == Int.max ? 0 : maxIndexLine,
                                    declaredColumns: declared, indexBase: indexBase, columns: columns)
        }
        var indices = indices
        if base == 1 { indices.withUnsafeMutableBufferPointer { b in for k in 0..<b.count { b[k] -= 1 } } }
        let partition = RowPartition(blockSizes: try Collective.allGather(labels.count))
        let features = try Collective.agree("assembling the rows of \(path)") {
            try CSRMatrix(rows: labels.count, columns: width, rowPointers: pointers, columnIndices: indices, values: values)
        }
        guard partition.globalRows == found[0] else {
            throw DistributedFailure(rank: 0, message: "reading \(path): \(found[0]) rows parsed, \(partition.globalRows) kept", isInput: false)
        }
        return RowBlock(partition: partition, features: features, targets: labels, indexBase: base, compressed: compressed,
                        nonzeros: found[1])
    }

    /// The gzip fallback: a first pass counts the rows (every rank, the whole stream), a
    /// second keeps this rank's share of them.
    static func readCompressed(path: String, indexBase: Int?, columns: Int?) throws -> RowBlock {
        let what = "reading \(path)"
        let total = try Collective.agree(what) { try LIBSVM.forEachRow(path: path) { _, _, _, _ in }.rows }
        let share = RowPartition(globalRows: total).localRange
        var pointers = [0], indices: [Int32] = [], values: [Double] = [], labels: [Double] = []
        var row = 0
        var kept = LIBSVM.LineParser(path: path)
        let whole = try Collective.agree(what) {
            try LIBSVM.forEachRow(path: path) { label, rowIndices, rowValues, _ in
                defer { row += 1 }
                guard share.contains(row) else { return }
                labels.append(label)
                indices.append(contentsOf: rowIndices)
                values.append(contentsOf: rowValues)
                pointers.append(indices.count)
            }
        }
        guard whole.rows == total else {
            throw DistributedFailure(rank: PETSc.rank, message: "\(what): the file changed between the two passes", isInput: true)
        }
        // Every rank saw the whole file: its statistics are the file's; only rank 0 reports
        // them to the reduction (the others' are neutral), so the reduced values are the same.
        if PETSc.rank == 0 { kept = whole }
        return try assemble(path: path, parser: kept, indexBase: indexBase, columns: columns, pointers: pointers,
                            indices: indices, values: values, labels: labels, compressed: true)
    }
}
