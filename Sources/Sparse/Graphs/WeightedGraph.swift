/// An undirected graph with positive edge weights, held as its Laplacian L = D − W (CSR, both
/// triangles, every diagonal entry stored — the weighted degree, 0 for an isolated node).
/// Nothing else is stored per edge: the edges are the strict upper triangle of L (edge e joins
/// i < j with weight w_e = −L_ij), numbered row by row, and the incidence matrix D (row e =
/// e_i − e_j) is applied from L's pattern without being formed. Memory: 12 bytes per stored
/// entry of L (n + 2|E|) plus 16 bytes per node.
///
/// Built from an adjacency matrix (`init(adjacency:symmetrizing:)`), a file
/// (`WeightedGraph.read(path:)`: Matrix Market adjacency or edge list), or generated
/// (`grid(rows:columns:)`, `powerLaw(nodes:edges:exponent:seed:)`).
public struct WeightedGraph: Sendable {
    /// L = D − W, declared symmetric.
    public let laplacian: CSRMatrix
    /// edgeStart[i] is the number of the first edge (i, j) with j > i; edgeStart[n] = |E|.
    public let edgeStart: [Int]
    /// Position of L_ii in `laplacian`'s storage.
    public let diagonalPosition: [Int]
    /// What building the graph changed or dropped (self-loops, symmetrization, zero weights).
    public var notes: [String]

    public var nodeCount: Int { laplacian.rows }
    public var edgeCount: Int { edgeStart[nodeCount] }

    /// A graph from its Laplacian (symmetric, nonpositive off-diagonal entries, diagonal =
    /// weighted degree, every diagonal entry stored). Checked in O(nnz).
    public init(laplacian: CSRMatrix, notes: [String] = []) throws {
        guard laplacian.rows == laplacian.columns else {
            throw SparseError.dimensionMismatch(operation: "WeightedGraph", expected: "a square Laplacian",
                                                actual: "\(laplacian.rows) × \(laplacian.columns)")
        }
        let n = laplacian.rows
        let pointers = laplacian.rowPointers, indices = laplacian.columnIndices, values = laplacian.values
        var edgeStart = [Int](repeating: 0, count: n + 1), diagonal = [Int](repeating: -1, count: n)
        for i in 0..<n {
            var upper = 0, degree = 0.0
            for k in pointers[i]..<pointers[i + 1] {
                let j = Int(indices[k])
                if j == i { diagonal[i] = k; continue }
                guard values[k] <= 0, values[k].isFinite else {
                    throw SparseError.invalidArgument("WeightedGraph: Laplacian entry (\(i), \(j)) is \(values[k]); edge weights must be positive and finite")
                }
                degree -= values[k]
                if j > i { upper += 1 }
            }
            guard diagonal[i] >= 0 else {
                throw SparseError.invalidArgument("WeightedGraph: the Laplacian does not store its diagonal entry (\(i), \(i))")
            }
            guard abs(values[diagonal[i]] - degree) <= 1e-12 * max(1, degree) else {
                throw SparseError.invalidArgument("WeightedGraph: Laplacian row \(i) does not sum to zero (diagonal \(values[diagonal[i]]), degree \(degree))")
            }
            edgeStart[i + 1] = edgeStart[i] + upper
        }
        self.laplacian = laplacian.declaringSymmetric()
        self.edgeStart = edgeStart
        self.diagonalPosition = diagonal
        self.notes = notes
    }

    /// The graph of a weighted adjacency matrix W (square, finite, nonnegative). Diagonal
    /// entries (self-loops) are ignored and zero entries dropped, each counted in `notes`. A
    /// matrix that is not symmetric is refused unless `symmetrizing`, which uses (W + Wᵀ)/2.
    public init(adjacency w: CSRMatrix, symmetrizing: Bool = false) throws {
        guard w.rows == w.columns else {
            throw SparseError.dimensionMismatch(operation: "WeightedGraph", expected: "a square adjacency matrix",
                                                actual: "\(w.rows) × \(w.columns)")
        }
        var notes: [String] = []
        var selfLoops = 0, zeros = 0
        var builder = try COOBuilder(rows: w.rows, columns: w.columns, reservingCapacity: w.nonzeroCount * (symmetrizing ? 2 : 1))
        for i in 0..<w.rows {
            for k in w.rowPointers[i]..<w.rowPointers[i + 1] {
                let j = Int(w.columnIndices[k]), value = w.values[k]
                guard value.isFinite, value >= 0 else {
                    throw SparseError.invalidArgument("adjacency entry (\(i + 1), \(j + 1)) is \(value); edge weights must be nonnegative and finite")
                }
                if i == j { selfLoops += 1; continue }
                if value == 0 { zeros += 1; continue }
                if symmetrizing {
                    try builder.append(row: i, column: j, value: value / 2)
                    try builder.append(row: j, column: i, value: value / 2)
                } else {
                    try builder.append(row: i, column: j, value: value)
                }
            }
        }
        let symmetric = builder.makeCSR()
        if !symmetrizing && !symmetric.isSymmetric(tolerance: 1e-12) {
            throw SparseError.invalidArgument("the adjacency matrix is not symmetric; read it as undirected edges with W ← (W + Wᵀ)/2 (symmetrizing)")
        }
        if selfLoops > 0 { notes.append("\(selfLoops) self-loop\(selfLoops == 1 ? "" : "s") ignored") }
        if zeros > 0 { notes.append("\(zeros) zero-weight entr\(zeros == 1 ? "y" : "ies") dropped") }
        try self.init(laplacian: try symmetric.graphLaplacian(), notes: notes)
    }

    /// The rows × columns 4-neighbour grid, unit weights; node (r, c) is r·columns + c.
    public static func grid(rows: Int, columns: Int) throws -> WeightedGraph {
        try WeightedGraph(laplacian: try CSRMatrix.gridGraphLaplacian2D(rows: rows, columns: columns))
    }

    /// A random graph with power-law degrees (`CSRMatrix.randomPowerLawGraph`), unit weights.
    public static func powerLaw(nodes: Int, edges: Int, exponent: Double = 2.5, seed: UInt64) throws -> WeightedGraph {
        try WeightedGraph(adjacency: try CSRMatrix.randomPowerLawGraph(nodes: nodes, edges: edges, exponent: exponent, seed: seed))
    }

    /// The same graph with isolated nodes appended up to `nodes` (an edge list cannot name
    /// trailing isolated nodes).
    public func padded(to nodes: Int) throws -> WeightedGraph {
        let n = nodeCount
        guard nodes >= n else { throw SparseError.invalidArgument("cannot pad a graph of \(n) nodes down to \(nodes)") }
        guard nodes > n else { return self }
        var pointers = laplacian.rowPointers, indices = laplacian.columnIndices, values = laplacian.values
        for i in n..<nodes {
            indices.append(Int32(i)); values.append(0); pointers.append(indices.count)
        }
        return try WeightedGraph(laplacian: try CSRMatrix(rows: nodes, columns: nodes, rowPointers: pointers, columnIndices: indices, values: values),
                                 notes: notes)
    }

    /// The weighted adjacency matrix W (symmetric, zero diagonal): the Laplacian's
    /// off-diagonal entries negated.
    public var adjacency: CSRMatrix {
        var builder = try! COOBuilder(rows: nodeCount, columns: nodeCount, reservingCapacity: 2 * edgeCount)
        forEachEdge { _, i, j, w in
            try! builder.append(row: i, column: j, value: w)
            try! builder.append(row: j, column: i, value: w)
        }
        var matrix = builder.makeCSR()
        matrix.isKnownSymmetric = true
        return matrix
    }

    /// The edges' weights, in edge order.
    public var edgeWeights: [Double] {
        var weights = [Double](repeating: 0, count: edgeCount)
        forEachEdge { e, _, _, w in weights[e] = w }
        return weights
    }

    /// Calls `body(e, i, j, w)` for every edge e = (i, j), i < j, in edge order.
    @inlinable
    public func forEachEdge(_ body: (_ edge: Int, _ i: Int, _ j: Int, _ weight: Double) throws -> Void) rethrows {
        let pointers = laplacian.rowPointers, indices = laplacian.columnIndices, values = laplacian.values
        for i in 0..<nodeCount {
            var e = edgeStart[i]
            for k in pointers[i]..<pointers[i + 1] where Int(indices[k]) > i {
                try body(e, i, Int(indices[k]), -values[k])
                e += 1
            }
        }
    }

    /// Dx: (Dx)_e = x_i − x_j for edge e = (i, j), i < j. Rows in parallel blocks.
    public func incidence(_ x: [Double], into out: inout [Double]) {
        precondition(x.count == nodeCount && out.count == edgeCount, "WeightedGraph.incidence: lengths")
        let n = nodeCount
        laplacian.storage.pointers.withUnsafeBufferPointer { pointers in
            laplacian.storage.indices.withUnsafeBufferPointer { indices in
                edgeStart.withUnsafeBufferPointer { starts in
                    x.withUnsafeBufferPointer { xp in
                        out.withUnsafeMutableBufferPointer { op in
                            let o = op.baseAddress!
                            rowBlocks(n, work: pointers[n]) { range in
                                for i in range {
                                    var e = starts[i]
                                    for k in pointers[i]..<pointers[i + 1] {
                                        let j = Int(indices[k])
                                        if j > i { o[e] = xp[i] - xp[j]; e += 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Dᵀu: (Dᵀu)_i = Σ_{e=(i,j)} u_e − Σ_{e=(j,i)} u_e. Each node gathers from its own row
    /// (the edge number of (j, i), j < i, is found from row j's upper part), so rows run in
    /// parallel without write conflicts; `lowerEdge` caches, for each stored lower entry,
    /// its edge number (`lowerEdgeNumbers()`).
    public func incidenceTransposed(_ u: [Double], lowerEdge: [Int32], into out: inout [Double]) {
        precondition(u.count == edgeCount && out.count == nodeCount, "WeightedGraph.incidenceTransposed: lengths")
        let n = nodeCount
        laplacian.storage.pointers.withUnsafeBufferPointer { pointers in
            laplacian.storage.indices.withUnsafeBufferPointer { indices in
                edgeStart.withUnsafeBufferPointer { starts in
                    lowerEdge.withUnsafeBufferPointer { lower in
                        u.withUnsafeBufferPointer { up in
                            out.withUnsafeMutableBufferPointer { op in
                                let o = op.baseAddress!
                                rowBlocks(n, work: pointers[n]) { range in
                                    for i in range {
                                        var e = starts[i], sum = 0.0
                                        for k in pointers[i]..<pointers[i + 1] {
                                            let j = Int(indices[k])
                                            if j > i { sum += up[e]; e += 1 } else if j < i { sum -= up[Int(lower[k])] }
                                        }
                                        o[i] = sum
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// For every stored entry (i, j) of L with j < i, the number of edge (j, i); −1 elsewhere.
    /// 4 bytes per stored entry; O(nnz).
    public func lowerEdgeNumbers() -> [Int32] {
        let pointers = laplacian.rowPointers, indices = laplacian.columnIndices
        var lower = [Int32](repeating: -1, count: laplacian.nonzeroCount)
        // Rows i are walked in order, so the lower entries (j, i), i < j, of each row j are
        // met in increasing i — their storage order: one cursor per row finds them.
        var cursor = Array(pointers.prefix(nodeCount))
        for i in 0..<nodeCount {
            var e = edgeStart[i]
            for k in pointers[i]..<pointers[i + 1] where Int(indices[k]) > i {
                // Edge e = (i, j): find entry (j, i) in row j, which lies in j's lower part.
                let j = Int(indices[k])
                var position = cursor[j]
                while Int(indices[position]) != i { position += 1 }
                lower[position] = Int32(e)
                cursor[j] = position + 1
                e += 1
            }
        }
        return lower
    }

    /// λL + diag(d) with L's pattern (the pattern identity is shared, so a factorization or
    /// AMG hierarchy of one such matrix is reused numerically for another), declared symmetric.
    public func laplacian(scaledBy lambda: Double, plusDiagonal d: [Double]) throws -> CSRMatrix {
        guard d.count == nodeCount else {
            throw SparseError.dimensionMismatch(operation: "WeightedGraph.laplacian", expected: "\(nodeCount) diagonal values",
                                                actual: "\(d.count)")
        }
        var values = laplacian.values
        for k in 0..<values.count { values[k] *= lambda }
        for i in 0..<nodeCount { values[diagonalPosition[i]] += d[i] }
        return try laplacian.replacingValues(values).declaringSymmetric()
    }

    /// The connected components: a label per node (0-based, in order of first node) and
    /// the number of components. Union–find, O(|E| α).
    public func components() -> (labels: [Int], count: Int) {
        components { _, _, _ in true }
    }

    /// The connected components of the edges for which `joins(e, i, j)` holds (every node
    /// its own component otherwise): labels in order of first node, and their count — the
    /// fused groups of a graph-TV solution, the components of a graph. Union–find with path
    /// halving; the root of a component is its smallest node. O(|E| α).
    public func components(joining joins: (_ edge: Int, _ i: Int, _ j: Int) -> Bool) -> (labels: [Int], count: Int) {
        let n = nodeCount
        var parent = Array(0..<n)
        parent.withUnsafeMutableBufferPointer { parent in
            func root(_ i: Int) -> Int {
                var i = i
                while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
                return i
            }
            forEachEdge { e, i, j, _ in
                guard joins(e, i, j) else { return }
                let a = root(i), b = root(j)
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var labels = [Int](repeating: -1, count: n), count = 0
        for i in 0..<n {
            var r = i
            while parent[r] != r { r = parent[r] }
            if labels[r] < 0 { labels[r] = count; count += 1 }
            labels[i] = labels[r]
        }
        return (labels, count)
    }
}

/// Runs `body` on contiguous blocks of `0..<n`, in parallel when the work is large enough.
@inline(__always)
func rowBlocks(_ n: Int, work: Int, _ body: (Range<Int>) -> Void) {
    let blocks = blockCount(work: work)
    parallelBlocks(blocks) { body(evenRange($0, of: blocks, count: n)) }
}
