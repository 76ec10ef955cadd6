import Foundation
import PETScShim
import Sparse

/// Matrix Market coordinate files read in parallel: each rank reads one byte range of the
/// file (1/K of its entries, cut at line boundaries), parses it, and sends every entry to the
/// rank owning its row (MPI_Alltoallv). No rank reads or holds the whole file; each ends with
/// its row block. Line numbers in errors are exact (each rank counts the lines before its
/// range by an exclusive prefix sum of the ranges' line counts).
///
/// Files must be uncompressed (a gzip stream has no byte ranges: `gunzip` it first). Every
/// error is agreed by all ranks (`Collective.agree`): bad input on one rank fails every rank
/// with that rank's message, and none is left waiting.
public enum DistributedMatrixMarket {
    /// How entries become rows.
    public enum Reading: Sendable {
        /// The matrix as stored: symmetric files expanded to both triangles, skew-symmetric
        /// ones with the negated mirror entry; duplicates summed (as `MatrixMarket.read`).
        case matrix
        /// A weighted adjacency matrix read as an undirected graph, as `WeightedGraph.read`
        /// does: nonnegative weights, self-loops ignored and zero weights dropped (counted),
        /// a general file read as W ← (W + Wᵀ)/2; square.
        case adjacency
    }

    /// What a rank ends with.
    public struct RowBlock {
        public var partition: RowPartition
        public var rowPointers: [Int32]
        /// Global column indices, sorted and unique within each row.
        public var columnIndices: [Int32]
        public var values: [Double]
        public var columns: Int
        public var symmetry: MatrixMarket.Symmetry
        /// Entries stored in the whole file.
        public var storedEntries: Int
        /// Self-loops ignored and zero weights dropped over the whole file (`.adjacency`).
        public var selfLoops = 0, zeroWeights = 0
    }

    struct Header {
        var rows = 0, columns = 0, entries = 0
        var pattern = false
        var symmetry = MatrixMarket.Symmetry.general
        /// Byte offset of the first line after the size line, and that line's number.
        var bodyOffset = 0
        var bodyLine = 1
    }

    /// Reads this rank's row block of `path` (collective: every rank calls it).
    /// - Throws: `DistributedFailure` naming the file and line (malformed banner or entry, an
    ///   index out of range, a non-finite value, an upper-triangle entry of a symmetric file,
    ///   an entry count that differs from the size line, a gzip file, a non-square matrix).
    public static func read(path: String, reading: Reading = .matrix) throws -> RowBlock {
        // Phase 1: the header, on every rank (a few lines).
        let header = try Collective.agree("reading \(path)") { try readHeader(path: path, reading: reading) }
        let partition = RowPartition(globalRows: header.rows)
        let ranks = partition.ranks, rank = partition.rank
        // Phase 2: this rank's byte range, parsed into per-destination buffers.
        var outgoing = [[(Int32, Int32, Double)]](repeating: [], count: ranks)
        var counts = (stored: 0, selfLoops: 0, zeros: 0)
        var linesInRange = 0
        let parsed: (FileHandle, Range<Int>, Int) = try Collective.agree("reading \(path)") {
            let handle = try open(path)
            let size = Int(try handle.seekToEnd())
            let body = header.bodyOffset
            let share = (size - body) / ranks
            let nominalStart = rank == 0 ? body : body + rank * share
            let nominalEnd = rank == ranks - 1 ? size : body + (rank + 1) * share
            let start = try lineBoundary(handle, at: nominalStart, bodyOffset: body, size: size)
            let end = try lineBoundary(handle, at: nominalEnd, bodyOffset: body, size: size)
            return (handle, start..<max(start, end), size)
        }
        let (handle, range, _) = parsed
        defer { try? handle.close() }
        // Line numbers: the lines before this range (prefix sum of the ranges' line counts).
        linesInRange = try Collective.agree("reading \(path)") { try countLines(handle, range) }
        let firstLine = header.bodyLine + (try Collective.exclusivePrefixSum(linesInRange))
        try Collective.agree("reading \(path)") {
            try forEachLine(handle, range, firstLine: firstLine) { bytes, count, line in
                var scanner = FieldScanner(bytes, count)
                if scanner.atEnd || bytes[scanner.position] == 37 { return }  // blank or comment
                let fail = { (message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
                guard let i = scanner.integer(), let j = scanner.integer() else {
                    throw fail("expected 'row column\(header.pattern ? "" : " value")' with integer indices")
                }
                var value = 1.0
                if !header.pattern {
                    guard let v = scanner.double() else { throw fail("expected a numeric value after the indices") }
                    guard v.isFinite else { throw fail("value is NaN or infinite") }
                    value = v
                }
                guard scanner.atEnd else { throw fail("unexpected text after the entry") }
                guard i >= 1, i <= header.rows, j >= 1, j <= header.columns else {
                    throw fail("index (\(i), \(j)) out of range for a \(header.rows) × \(header.columns) matrix (indices are 1-based)")
                }
                counts.stored += 1
                let row = Int32(i - 1), column = Int32(j - 1)
                func send(_ r: Int32, _ c: Int32, _ v: Double) {
                    outgoing[partition.owner(of: Int(r))].append((r, c, v))
                }
                switch reading {
                case .matrix:
                    switch header.symmetry {
                    case .general:
                        send(row, column, value)
                    case .symmetric:
                        guard i >= j else { throw fail("entry (\(i), \(j)) above the diagonal in a symmetric file (store the lower triangle)") }
                        send(row, column, value)
                        if i != j { send(column, row, value) }
                    case .skewSymmetric:
                        guard i > j else { throw fail("entry (\(i), \(j)) on or above the diagonal in a skew-symmetric file") }
                        send(row, column, value)
                        send(column, row, -value)
                    }
                case .adjacency:
                    guard value >= 0 else { throw fail("negative edge weight \(value) for (\(i), \(j)); weights must be nonnegative") }
                    let general = header.symmetry == .general
                    if !general && i < j { throw fail("entry (\(i), \(j)) above the diagonal in a symmetric file (store the lower triangle)") }
                    if i == j { counts.selfLoops += 1; return }
                    if value == 0 { counts.zeros += 1; return }
                    let w = general ? value / 2 : value
                    send(row, column, w)
                    send(column, row, w)
                }
            }
        }
        let totals = try Collective.sum([counts.stored, counts.selfLoops, counts.zeros])
        guard totals[0] == header.entries else {
            let lastLine = try Collective.sum(linesInRange) + header.bodyLine - 1
            throw DistributedFailure(rank: 0, message: "reading \(path): \(SparseIOError.malformed(path: path, line: lastLine + 1, message: "the file has \(totals[0]) entries, the size line declares \(header.entries)"))",
                                     isInput: true)
        }
        // Phase 3: every entry to its row's owner.
        var sendCounts = [Int32](repeating: 0, count: ranks)
        var rows: [Int32] = [], columns: [Int32] = [], values: [Double] = []
        let total = outgoing.reduce(0) { $0 + $1.count }
        rows.reserveCapacity(total); columns.reserveCapacity(total); values.reserveCapacity(total)
        for r in 0..<ranks {
            sendCounts[r] = Int32(clamping: outgoing[r].count)
            for (i, j, v) in outgoing[r] { rows.append(i); columns.append(j); values.append(v) }
            outgoing[r] = []
        }
        let received = try Collective.agree("exchanging the entries of \(path)", isInput: { _ in false }) {
            try exchange(sendCounts, rows, columns, values)
        }
        rows = []; columns = []; values = []
        let block = try Collective.agree("assembling the rows of \(path)") { try compress(received, partition: partition) }
        return RowBlock(partition: partition, rowPointers: block.pointers, columnIndices: block.columns, values: block.values,
                        columns: header.columns, symmetry: header.symmetry, storedEntries: header.entries,
                        selfLoops: totals[1], zeroWeights: totals[2])
    }

    static func open(_ path: String) throws -> FileHandle {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SparseIOError.cannotOpen(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw SparseIOError.isDirectory(path: path) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SparseIOError.cannotOpen(path: path, reason: "not readable")
        }
        return handle
    }

    static func readHeader(path: String, reading: Reading) throws -> Header {
        let handle = try open(path)
        defer { try? handle.close() }
        let head = try handle.read(upToCount: 1 << 16) ?? Data()
        if head.starts(with: [0x1f, 0x8b]) {
            throw SparseIOError.malformed(path: path, line: 1, message: "a gzip-compressed file has no byte ranges to read in parallel: gunzip it first")
        }
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        var header = Header()
        var offset = 0, line = 0
        let bytes = [UInt8](head)
        func nextLine() -> String? {
            guard offset < bytes.count, let end = bytes[offset...].firstIndex(of: 10) else { return nil }
            let text = String(decoding: bytes[offset..<end], as: UTF8.self)
            offset = end + 1
            line += 1
            return text
        }
        guard let banner = nextLine() else { throw fail(1, "empty file, or a first line over 64 KiB") }
        let words = banner.lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard words.count == 5, words[0] == "%%matrixmarket", words[1] == "matrix" else {
            throw fail(1, "expected the banner '%%MatrixMarket matrix coordinate real general'")
        }
        guard words[2] == "coordinate" else { throw fail(1, "parallel reading needs the coordinate layout (found \(words[2]))") }
        switch words[3] {
        case "real", "integer", "double": header.pattern = false
        case "pattern": header.pattern = true
        default: throw fail(1, "unsupported field '\(words[3])' (real, integer or pattern)")
        }
        guard let symmetry = MatrixMarket.Symmetry(rawValue: String(words[4])) else {
            throw fail(1, "unsupported symmetry '\(words[4])' (general, symmetric or skew-symmetric)")
        }
        header.symmetry = symmetry
        while true {
            guard let text = nextLine() else { throw fail(line + 1, "no size line within the first 64 KiB") }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("%") { continue }
            let numbers = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map { Int($0) }
            guard numbers.count == 3, let m = numbers[0], let n = numbers[1], let e = numbers[2], m >= 0, n >= 0, e >= 0 else {
                throw fail(line, "expected the size line 'rows columns entries' (three nonnegative integers)")
            }
            guard m <= Int(Int32.max), n <= Int(Int32.max) else {
                throw SparseIOError.tooLarge(path: path, line: line, message: "dimensions \(m) × \(n) exceed 2³¹ − 1")
            }
            (header.rows, header.columns, header.entries) = (m, n, e)
            break
        }
        if reading == .adjacency {
            guard header.rows == header.columns else {
                throw fail(line, "an adjacency matrix must be square, the size line says \(header.rows) × \(header.columns)")
            }
            guard header.symmetry != .skewSymmetric else {
                throw fail(1, "a skew-symmetric matrix cannot be an adjacency matrix (weights must be nonnegative)")
            }
        }
        header.bodyOffset = offset
        header.bodyLine = line + 1
        return header
    }

    /// `position` moved to the start of a line: itself when it starts one, else just past the
    /// next newline.
    static func lineBoundary(_ handle: FileHandle, at position: Int, bodyOffset: Int, size: Int) throws -> Int {
        if position <= bodyOffset { return bodyOffset }
        if position >= size { return size }
        try handle.seek(toOffset: UInt64(position - 1))
        var at = position - 1
        while at < size {
            guard let chunk = try handle.read(upToCount: 1 << 16), !chunk.isEmpty else { return size }
            if let newline = chunk.firstIndex(of: 10) { return at + (newline - chunk.startIndex) + 1 }
            at += chunk.count
        }
        return size
    }

    static let blockSize = 1 << 24

    static func countLines(_ handle: FileHandle, _ range: Range<Int>) throws -> Int {
        var lines = 0, at = range.lowerBound
        try handle.seek(toOffset: UInt64(at))
        while at < range.upperBound {
            guard let chunk = try handle.read(upToCount: min(blockSize, range.upperBound - at)), !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { raw in
                for byte in raw.bindMemory(to: UInt8.self) where byte == 10 { lines += 1 }
            }
            at += chunk.count
        }
        // A last line without a newline at the end of the file.
        if range.upperBound > range.lowerBound {
            try handle.seek(toOffset: UInt64(range.upperBound - 1))
            if let last = try handle.read(upToCount: 1), last.first != 10 { lines += 1 }
        }
        return lines
    }

    /// Streams the lines of `range` in blocks of 16 MiB (a line split by a block boundary is
    /// carried over); `body` gets each line's bytes — without its newline and a carriage
    /// return before it, NUL-terminated, writable — their count and the line's number.
    static func forEachLine(_ handle: FileHandle, _ range: Range<Int>, firstLine: Int,
                            _ body: (UnsafeMutablePointer<UInt8>, Int, Int) throws -> Void) throws {
        var at = range.lowerBound, line = firstLine
        var carry: [UInt8] = []
        try handle.seek(toOffset: UInt64(at))
        while at < range.upperBound {
            guard let chunk = try handle.read(upToCount: min(blockSize, range.upperBound - at)), !chunk.isEmpty else { break }
            at += chunk.count
            var buffer = carry
            buffer.append(contentsOf: chunk)
            carry = []
            try buffer.withUnsafeMutableBufferPointer { bytes in
                var start = 0
                let base = bytes.baseAddress!
                while start < bytes.count {
                    guard let found = memchr(base + start, 10, bytes.count - start) else {
                        carry = Array(bytes[start...])
                        return
                    }
                    let end = UnsafeMutableRawPointer(found) - UnsafeMutableRawPointer(base)
                    base[end] = 0
                    var length = end - start
                    if length > 0 && base[start + length - 1] == 13 { length -= 1; base[start + length] = 0 }
                    try body(base + start, length, line)
                    line += 1
                    start = end + 1
                }
            }
        }
        if !carry.isEmpty {
            var length = carry.count
            if carry[length - 1] == 13 { length -= 1 }
            carry.append(0)
            carry[length] = 0
            try carry.withUnsafeMutableBufferPointer { try body($0.baseAddress!, length, line) }
        }
    }

    static func exchange(_ counts: [Int32], _ rows: [Int32], _ columns: [Int32], _ values: [Double])
        throws -> (rows: [Int32], columns: [Int32], values: [Double]) {
        var outRows: UnsafeMutablePointer<Int32>?, outColumns: UnsafeMutablePointer<Int32>?, outValues: UnsafeMutablePointer<Double>?
        var received: Int64 = 0
        try PETSc.check(isp_alltoallv_entries(counts, rows, columns, values, &outRows, &outColumns, &outValues, &received),
                        "MPI_Alltoallv")
        defer { isp_free(outRows); isp_free(outColumns); isp_free(outValues) }
        let n = Int(received)
        return (Array(UnsafeBufferPointer(start: outRows, count: n)), Array(UnsafeBufferPointer(start: outColumns, count: n)),
                Array(UnsafeBufferPointer(start: outValues, count: n)))
    }

    /// This rank's entries (global rows in its range) as CSR rows, columns sorted, duplicates
    /// summed. O(entries + local rows) with a counting sort by row.
    static func compress(_ entries: (rows: [Int32], columns: [Int32], values: [Double]), partition: RowPartition) throws
        -> (pointers: [Int32], columns: [Int32], values: [Double]) {
        let first = partition.localRange.lowerBound, local = partition.localRows
        var counts = [Int](repeating: 0, count: local + 1)
        for r in entries.rows { counts[Int(r) - first + 1] += 1 }
        for i in 0..<local { counts[i + 1] += counts[i] }
        var next = counts
        var columns = [Int32](repeating: 0, count: entries.rows.count), values = [Double](repeating: 0, count: entries.rows.count)
        for k in 0..<entries.rows.count {
            let i = Int(entries.rows[k]) - first
            columns[next[i]] = entries.columns[k]
            values[next[i]] = entries.values[k]
            next[i] += 1
        }
        var pointers = [Int32](repeating: 0, count: local + 1)
        var outColumns: [Int32] = [], outValues: [Double] = []
        outColumns.reserveCapacity(columns.count); outValues.reserveCapacity(columns.count)
        for i in 0..<local {
            let row = (counts[i]..<counts[i + 1]).sorted { columns[$0] < columns[$1] }
            for k in row {
                if let last = outColumns.last, outColumns.count > Int(pointers[i]), last == columns[k] {
                    outValues[outValues.count - 1] += values[k]
                } else {
                    outColumns.append(columns[k]); outValues.append(values[k])
                }
            }
            guard outColumns.count <= Int(Int32.max) else {
                throw SparseError.invalidArgument("more than 2³¹ − 1 entries on one rank: use more ranks")
            }
            pointers[i + 1] = Int32(outColumns.count)
        }
        return (pointers, outColumns, outValues)
    }
}

/// Whitespace-separated integers and doubles of one line (no allocation).
struct FieldScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    var position = 0

    init(_ base: UnsafePointer<UInt8>, _ count: Int) {
        self.base = base
        self.count = count
        skipSpace()
    }

    var atEnd: Bool { position >= count }

    mutating func skipSpace() {
        while position < count, base[position] == 32 || base[position] == 9 || base[position] == 13 { position += 1 }
    }

    mutating func integer() -> Int? {
        var k = position, negative = false
        if k < count, base[k] == 45 || base[k] == 43 { negative = base[k] == 45; k += 1 }
        var value = 0, digits = 0
        while k < count, base[k] >= 48, base[k] <= 57 {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int(base[k] - 48))
            if o1 || o2 { return nil }
            value = sum; digits += 1; k += 1
        }
        guard digits > 0, k == count || base[k] == 32 || base[k] == 9 || base[k] == 13 else { return nil }
        position = k
        skipSpace()
        return negative ? -value : value
    }

    mutating func double() -> Double? {
        var k = position
        while k < count, base[k] != 32, base[k] != 9, base[k] != 13 { k += 1 }
        guard k > position, k - position < 64 else { return nil }
        // strtod on a NUL-terminated copy in a stack buffer (no allocation per entry).
        let length = k - position
        let parsed = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 65) { text -> (Double, Int) in
            for t in 0..<length { text[t] = CChar(bitPattern: base[position + t]) }
            text[length] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &end)
            return (value, end.map { $0 - text.baseAddress! } ?? 0)
        }
        let value = parsed.0
        guard parsed.1 == length else { return nil }
        position = k
        skipSpace()
        return value
    }
}
