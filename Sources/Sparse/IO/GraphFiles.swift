/// Files of graph problems: a graph (Matrix Market adjacency or edge list), a signal on its
/// nodes, a list of nodes. Every error names the file and the 1-based line.
extension WeightedGraph {
    /// Reads a graph. A file that starts with the `%%MatrixMarket` banner is a weighted
    /// adjacency matrix in coordinate layout (square; `pattern` means weight 1; a `symmetric`
    /// file lists each edge once; a `general` file is read as undirected edges with
    /// W ← (W + Wᵀ)/2, said in `notes`). Any other file is an edge list: one edge `i j [w]` per
    /// line (1-based node indices, weight 1 when omitted, repeated edges add their weights),
    /// blank lines and lines starting with `#` or `%` skipped; the node count is the largest
    /// index, or N of a `# nodes: N` comment (as `isparse data` writes), which keeps trailing
    /// isolated nodes. Self-loops are ignored and zero weights dropped, both counted in `notes`.
    /// - Throws: `SparseIOError.malformed` naming the line: a negative or non-finite weight, an
    ///   index out of range (or below 1), text that is not `i j [w]`.
    public static func read(path: String) throws -> WeightedGraph {
        if try MatrixMarket.hasBanner(path: path) { return try readMatrixMarket(path: path) }
        return try readEdgeList(path: path)
    }

    static func readMatrixMarket(path: String) throws -> WeightedGraph {
        let reader = try LineReader(path: path)
        let header = try MatrixMarket.readHeader(reader)
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        guard header.layout == .coordinate else {
            throw fail(1, "a graph's adjacency matrix must be in coordinate layout (found array)")
        }
        guard header.rows == header.columns else {
            throw fail(1, "an adjacency matrix must be square, the size line says \(header.rows) × \(header.columns)")
        }
        guard header.symmetry != .skewSymmetric else {
            throw fail(1, "a skew-symmetric matrix cannot be an adjacency matrix (weights must be nonnegative)")
        }
        let general = header.symmetry == .general
        var builder = try COOBuilder(rows: header.rows, columns: header.columns, reservingCapacity: 2 * min(header.entries, 1 << 24))
        var selfLoops = 0, zeros = 0
        let stored = try MatrixMarket.coordinateEntries(reader, header) { i, j, value, line in
            guard value >= 0 else { throw fail(line, "negative edge weight \(value) for (\(i), \(j)); weights must be nonnegative") }
            if !general && i < j {
                throw fail(line, "entry (\(i), \(j)) above the diagonal in a symmetric file (store the lower triangle)")
            }
            if i == j { selfLoops += 1; return }
            if value == 0 { zeros += 1; return }
            let w = general ? value / 2 : value
            try builder.append(row: i - 1, column: j - 1, value: w)
            try builder.append(row: j - 1, column: i - 1, value: w)
        }
        guard stored == header.entries else {
            throw fail(reader.lineNumber + 1, "file ends after \(stored) of the \(header.entries) entries declared in the size line")
        }
        var notes: [String] = []
        if general { notes.append("a general matrix is read as undirected edges: W ← (W + Wᵀ)/2") }
        if selfLoops > 0 { notes.append("\(selfLoops) self-loop\(selfLoops == 1 ? "" : "s") ignored") }
        if zeros > 0 { notes.append("\(zeros) zero-weight entr\(zeros == 1 ? "y" : "ies") dropped") }
        return try WeightedGraph(laplacian: try builder.makeCSR().graphLaplacian(), notes: notes)
    }

    static func readEdgeList(path: String) throws -> WeightedGraph {
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        var tails: [Int32] = [], heads: [Int32] = [], weights: [Double] = []
        var selfLoops = 0, zeros = 0
        let (largest, declared, lastLine) = try SparseDataFile.forEachEdgeLine(path: path) { i, j, w, line in
            guard w.isFinite else { throw fail(line, "edge weight is NaN or infinite") }
            guard w >= 0 else { throw fail(line, "negative edge weight \(w) for (\(i), \(j)); weights must be nonnegative") }
            if i == j { selfLoops += 1; return }
            if w == 0 { zeros += 1; return }
            tails.append(Int32(i - 1)); heads.append(Int32(j - 1)); weights.append(w)
        }
        let nodes = max(largest, declared ?? 0)
        guard nodes > 0 else { throw fail(max(lastLine, 1), "no edges: expected lines 'i j [weight]'") }
        try SparseLimits.checkDimension(nodes, path: path, line: lastLine, what: "largest node index",
                                        extra: 32 * tails.count)
        var builder = try COOBuilder(rows: nodes, columns: nodes, reservingCapacity: 2 * tails.count)
        for e in 0..<tails.count {
            try builder.append(row: Int(tails[e]), column: Int(heads[e]), value: weights[e])
            try builder.append(row: Int(heads[e]), column: Int(tails[e]), value: weights[e])
        }
        var notes: [String] = []
        if selfLoops > 0 { notes.append("\(selfLoops) self-loop\(selfLoops == 1 ? "" : "s") ignored") }
        if zeros > 0 { notes.append("\(zeros) zero-weight edge\(zeros == 1 ? "" : "s") dropped") }
        return try WeightedGraph(laplacian: try builder.makeCSR().graphLaplacian(), notes: notes)
    }
}

/// Per-node files of graph problems.
public enum GraphFiles {
    /// A signal of `nodes` values: a Matrix Market dense array (n × 1 or 1 × n), or plain text
    /// with one value per line (blank lines and `#`/`%` comments skipped).
    /// - Throws: `SparseIOError.malformed` naming the line of a bad or non-finite value, or the
    ///   length when it is not `nodes`.
    public static func readSignal(path: String, nodes: Int) throws -> [Double] {
        if try MatrixMarket.hasBanner(path: path) {
            let (rows, columns, values) = try MatrixMarket.readDense(path: path)
            guard min(rows, columns) == 1, values.count == nodes else {
                throw SparseIOError.malformed(path: path, line: 2,
                                              message: "the signal is \(rows) × \(columns); the graph has \(nodes) nodes (expected \(nodes) × 1)")
            }
            return values
        }
        var values: [Double] = []
        let reader = try LineReader(path: path)
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        while let value = try reader.nextLine({ base, length -> Double? in
            var scanner = LineScanner(base, length)
            if scanner.atEnd || base[scanner.position] == 35 || base[scanner.position] == 37 { return nil }
            guard let v = scanner.double(), scanner.atEnd else {
                throw fail(reader.lineNumber, "expected one numeric value per line, found '\(scanner.rest)'")
            }
            guard v.isFinite else { throw fail(reader.lineNumber, "value is NaN or infinite") }
            return v
        }) {
            guard let value else { continue }
            guard values.count < nodes else {
                throw fail(reader.lineNumber, "more than \(nodes) values: the graph has \(nodes) nodes")
            }
            values.append(value)
        }
        guard values.count == nodes else {
            throw fail(reader.lineNumber + 1, "the file ends after \(values.count) values; the graph has \(nodes) nodes")
        }
        return values
    }

    /// A set of nodes: 1-based indices, one per line (blank lines and `#`/`%` comments
    /// skipped). Returned 0-based, in file order.
    /// - Throws: `SparseIOError.malformed` naming the line of an index out of 1…`nodes`, a
    ///   node listed twice, or text that is not one integer.
    public static func readNodes(path: String, nodes: Int) throws -> [Int] {
        let reader = try LineReader(path: path)
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        var seen = [Bool](repeating: false, count: nodes), list: [Int] = []
        while let index = try reader.nextLine({ base, length -> Int? in
            var scanner = LineScanner(base, length)
            if scanner.atEnd || base[scanner.position] == 35 || base[scanner.position] == 37 { return nil }
            guard let i = scanner.integer(), scanner.atEnd else {
                throw fail(reader.lineNumber, "expected one 1-based node index per line, found '\(scanner.rest)'")
            }
            return i
        }) {
            guard let index else { continue }
            guard index >= 1, index <= nodes else {
                throw fail(reader.lineNumber, "node \(index) out of range: the graph has nodes 1…\(nodes)")
            }
            guard !seen[index - 1] else { throw fail(reader.lineNumber, "node \(index) is listed twice") }
            seen[index - 1] = true
            list.append(index - 1)
        }
        return list
    }
}
