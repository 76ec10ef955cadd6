import Foundation
import Sparse

/// Node data files read by byte ranges, as the matrix is: each rank parses 1/K of a file's
/// bytes and sends every value or node to the rank owning that node (MPI_Alltoallv), so no
/// rank reads or holds the whole file. The rules are `GraphFiles.readSignal`'s and
/// `GraphFiles.readNodes`'s (one value, or one 1-based node, per line; blank lines and `#` /
/// `%` comments skipped; a Matrix Market array for the signal), with exact line numbers.
/// Matrix Market *coordinate* signals are not read this way (`isLocalReadable` says so).
public enum DistributedNodeFiles {
    /// True when `readSignal` can read `path` by ranges: a plain one-value-per-line file or a
    /// Matrix Market array (not coordinate, not gzip).
    public static func isLocalReadable(signal path: String) throws -> Bool {
        let handle = try DistributedMatrixMarket.open(path)
        defer { try? handle.close() }
        let head = [UInt8](try handle.read(upToCount: 256) ?? Data())
        if head.starts(with: [0x1f, 0x8b]) { return false }
        let text = String(decoding: head.prefix { $0 != 10 }, as: UTF8.self).lowercased()
        guard text.hasPrefix("%%matrixmarket") else { return true }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        return words.count >= 3 && words[2] == "array"
    }

    /// This rank's nodes' values of a signal file (collective): `partition.localRows` values.
    /// - Throws: `DistributedFailure` naming the file and line (text that is not one finite
    ///   number, more or fewer values than nodes, a Matrix Market array not n × 1).
    public static func readSignal(path: String, partition: RowPartition) throws -> [Double] {
        let nodes = partition.globalRows
        let what = "reading \(path)"
        let (handle, body, bodyLine, size) = try Collective.agree(what) { () -> (FileHandle, Int, Int, Int) in
            let handle = try DistributedMatrixMarket.open(path)
            let size = Int(try handle.seekToEnd())
            let (offset, line) = try arrayHeader(handle, path: path, nodes: nodes)
            return (handle, offset, line, size)
        }
        defer { try? handle.close() }
        var values: [Double] = [], lines: [Int32] = []
        try parse(handle, path: path, body: body, bodyLine: bodyLine, size: size) { scanner, line in
            guard let v = scanner.double(), scanner.atEnd else {
                throw SparseIOError.malformed(path: path, line: line, message: "expected one numeric value per line, found '\(scanner.rest)'")
            }
            guard v.isFinite else { throw SparseIOError.malformed(path: path, line: line, message: "value is NaN or infinite") }
            values.append(v)
            lines.append(Int32(clamping: line))
        }
        // Value k of the file belongs to node k: the values before this range by a prefix sum.
        let first = try Collective.exclusivePrefixSum(values.count)
        let total = try Collective.sum(values.count)
        let lastLine = try Collective.maximum(lines.last.map(Int.init) ?? 0)
        try Collective.agree(what) {
            if total > nodes, first + values.count > nodes, first <= nodes {
                throw SparseIOError.malformed(path: path, line: Int(lines[nodes - first]), message: "more than \(nodes) values: the graph has \(nodes) nodes")
            }
            if total < nodes && PETSc.rank == 0 {
                throw SparseIOError.malformed(path: path, line: lastLine + 1, message: "the file ends after \(total) values; the graph has \(nodes) nodes")
            }
        }
        let nodesOf = (0..<values.count).map { Int32(first + $0) }
        let received = try exchange(nodes: nodesOf, lines: lines, values: values, partition: partition)
        var local = [Double](repeating: 0, count: partition.localRows)
        let start = partition.localRange.lowerBound
        for k in 0..<received.nodes.count { local[Int(received.nodes[k]) - start] = received.values[k] }
        return local
    }

    /// The nodes of a node file this rank owns, local indices (node − first local node), and
    /// for each the file line (collective).
    /// - Throws: `DistributedFailure` naming the line of text that is not one integer, a node
    ///   out of range, or a node listed twice (the later line).
    public static func readNodes(path: String, partition: RowPartition) throws -> (local: [Int], lines: [Int]) {
        let nodes = partition.globalRows
        let what = "reading \(path)"
        let (handle, size) = try Collective.agree(what) { () -> (FileHandle, Int) in
            let handle = try DistributedMatrixMarket.open(path)
            return (handle, Int(try handle.seekToEnd()))
        }
        defer { try? handle.close() }
        var listed: [Int32] = [], lines: [Int32] = []
        try parse(handle, path: path, body: 0, bodyLine: 1, size: size) { scanner, line in
            guard let i = scanner.integer(), scanner.atEnd else {
                throw SparseIOError.malformed(path: path, line: line, message: "expected one 1-based node index per line, found '\(scanner.rest)'")
            }
            guard i >= 1, i <= nodes else {
                throw SparseIOError.malformed(path: path, line: line, message: "node \(i) out of range: the graph has nodes 1…\(nodes)")
            }
            listed.append(Int32(i - 1))
            lines.append(Int32(clamping: line))
        }
        let received = try exchange(nodes: listed, lines: lines, values: [Double](repeating: 0, count: listed.count), partition: partition)
        let start = partition.localRange.lowerBound
        var order = Array(0..<received.nodes.count)
        order.sort { received.lines[$0] < received.lines[$1] }
        var seen = [Bool](repeating: false, count: partition.localRows)
        var local: [Int] = [], localLines: [Int] = []
        var duplicate: (node: Int, line: Int)?
        for k in order {
            let i = Int(received.nodes[k]) - start
            if seen[i] {
                if duplicate == nil || Int(received.lines[k]) < duplicate!.line { duplicate = (i + start, Int(received.lines[k])) }
                continue
            }
            seen[i] = true
            local.append(i)
            localLines.append(Int(received.lines[k]))
        }
        // The first duplicate in file order, reported by the rank that owns it.
        let first = try Collective.minimum(duplicate?.line ?? Int.max)
        try Collective.agree(what) {
            if let duplicate, duplicate.line == first {
                throw SparseIOError.malformed(path: path, line: duplicate.line, message: "node \(duplicate.node + 1) is listed twice")
            }
        }
        return (local, localLines)
    }

    /// The offset and line number where the values start: after a Matrix Market array's header
    /// (which must be n × 1 or 1 × n), else 0 and 1.
    static func arrayHeader(_ handle: FileHandle, path: String, nodes: Int) throws -> (Int, Int) {
        try handle.seek(toOffset: 0)
        let bytes = [UInt8](try handle.read(upToCount: 1 << 16) ?? Data())
        guard bytes.count >= 14, String(decoding: bytes.prefix(14), as: UTF8.self).lowercased() == "%%matrixmarket" else { return (0, 1) }
        var offset = 0, line = 0
        while let end = bytes[offset...].firstIndex(of: 10) {
            let text = String(decoding: bytes[offset..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            offset = end + 1
            line += 1
            if text.isEmpty || text.hasPrefix("%") { continue }
            let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map { Int($0) }
            guard numbers.count == 2, let m = numbers[0], let n = numbers[1], min(m, n) == 1, max(m, n) == nodes else {
                throw SparseIOError.malformed(path: path, line: line,
                                              message: "the signal is \(text); the graph has \(nodes) nodes (expected \(nodes) × 1)")
            }
            return (offset, line + 1)
        }
        throw SparseIOError.malformed(path: path, line: line + 1, message: "no size line within the first 64 KiB")
    }

    /// Every data line of this rank's byte range of the body (blank lines and `#` / `%`
    /// comments skipped), with its exact line number (collective).
    static func parse(_ handle: FileHandle, path: String, body: Int, bodyLine: Int, size: Int,
                      _ line: (inout LineFields, Int) throws -> Void) throws {
        let ranks = PETSc.size, rank = PETSc.rank
        let what = "reading \(path)"
        let range = try Collective.agree(what) { () -> Range<Int> in
            let share = (size - body) / ranks
            let start = try DistributedMatrixMarket.lineBoundary(handle, at: body + rank * share, bodyOffset: body, size: size)
            let end = try DistributedMatrixMarket.lineBoundary(handle, at: rank == ranks - 1 ? size : body + (rank + 1) * share,
                                                               bodyOffset: body, size: size)
            return start..<max(start, end)
        }
        let count = try Collective.agree(what) { try DistributedMatrixMarket.countLines(handle, range) }
        let firstLine = bodyLine + (try Collective.exclusivePrefixSum(count))
        try Collective.agree(what) {
            try DistributedMatrixMarket.forEachLine(handle, range, firstLine: firstLine) { base, length, number in
                var fields = LineFields(base, length)
                if fields.atEnd || base[fields.position] == 35 || base[fields.position] == 37 { return }
                try line(&fields, number)
            }
        }
    }

    /// (node, line, value) triples sent to the owners of the nodes; what this rank receives.
    static func exchange(nodes: [Int32], lines: [Int32], values: [Double], partition: RowPartition) throws
        -> (nodes: [Int32], lines: [Int32], values: [Double]) {
        var counts = [Int32](repeating: 0, count: partition.ranks)
        var byRank = [[Int]](repeating: [], count: partition.ranks)
        for k in 0..<nodes.count { byRank[partition.owner(of: Int(nodes[k]))].append(k) }
        var n: [Int32] = [], l: [Int32] = [], v: [Double] = []
        for r in 0..<partition.ranks {
            counts[r] = Int32(byRank[r].count)
            for k in byRank[r] { n.append(nodes[k]); l.append(lines[k]); v.append(values[k]) }
        }
        let received = try Collective.agree("exchanging node data", isInput: { _ in false }) {
            try DistributedMatrixMarket.exchange(counts, n, l, v)
        }
        return (received.rows, received.columns, received.values)
    }
}

/// One line's fields for the node files: `FieldScanner` plus the unparsed rest for messages.
struct LineFields {
    var scanner: FieldScanner
    init(_ base: UnsafePointer<UInt8>, _ count: Int) { scanner = FieldScanner(base, count) }
    var atEnd: Bool { scanner.atEnd }
    var position: Int { scanner.position }
    mutating func double() -> Double? { scanner.double() }
    mutating func integer() -> Int? { scanner.integer() }
    var rest: String {
        String(decoding: UnsafeBufferPointer(start: scanner.base + scanner.position, count: scanner.count - scanner.position), as: UTF8.self)
    }
}
