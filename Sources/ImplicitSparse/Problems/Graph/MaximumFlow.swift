/// Maximum flow on an undirected capacitated graph with per-node supplies (Dinic's
/// algorithm: BFS level graphs and blocking flows by an iterative depth-first search), in
/// floating point: the feasibility test of graph-TV's fused groups. Memory: about 24 bytes per
/// arc (two arcs per undirected edge, two per node with a supply).
struct SupplyFlow {
    /// Nodes 0..<n, then the source n and the sink n + 1.
    let n: Int
    private var start: [Int]       // CSR over arcs: arcs of node v are start[v]..<start[v + 1]
    private var to: [Int32]
    private var reverse: [Int32]
    private(set) var capacity: [Double]  // residual capacities
    private let original: [Double]
    /// For undirected edge k (in the order given), its arc from `tail` to `head`.
    private let edgeArc: [Int32]

    /// - Parameters:
    ///   - edges: undirected edges (i, j, c), c ≥ 0 in both directions.
    ///   - supply: d_i > 0 must leave node i, d_i < 0 must arrive there.
    init(nodes n: Int, edges: [(Int, Int, Double)], supply: [Double]) {
        self.n = n
        var count = [Int](repeating: 0, count: n + 3)
        for (i, j, _) in edges { count[i + 1] += 1; count[j + 1] += 1 }
        for i in 0..<n where supply[i] != 0 {
            count[i + 1] += 1
            count[(supply[i] > 0 ? n : n + 1) + 1] += 1
        }
        for v in 0..<(n + 2) { count[v + 1] += count[v] }
        var next = Array(count.prefix(n + 2))
        let arcs = count[n + 2]
        var to = [Int32](repeating: 0, count: arcs)
        var reverse = [Int32](repeating: 0, count: arcs)
        var capacity = [Double](repeating: 0, count: arcs)
        var edgeArc = [Int32](repeating: 0, count: edges.count)
        func add(_ a: Int, _ b: Int, _ forward: Double, _ backward: Double) -> Int {
            let p = next[a], q = next[b]
            next[a] += 1; next[b] += 1
            to[p] = Int32(b); to[q] = Int32(a)
            reverse[p] = Int32(q); reverse[q] = Int32(p)
            capacity[p] = forward; capacity[q] = backward
            return p
        }
        for (k, (i, j, c)) in edges.enumerated() { edgeArc[k] = Int32(add(i, j, c, c)) }
        for i in 0..<n where supply[i] != 0 {
            if supply[i] > 0 { _ = add(n, i, supply[i], 0) } else { _ = add(i, n + 1, -supply[i], 0) }
        }
        self.start = count
        self.to = to
        self.reverse = reverse
        self.capacity = capacity
        self.original = capacity
        self.edgeArc = edgeArc
    }

    /// Pushes the maximum flow from the source to the sink; returns its value. Residuals
    /// below `epsilon` count as saturated.
    mutating func maximize(epsilon: Double) -> Double {
        let source = n, sink = n + 1, nodes = n + 2
        var level = [Int32](repeating: -1, count: nodes)
        var cursor = [Int](repeating: 0, count: nodes)
        var queue = [Int32](repeating: 0, count: nodes)
        var path: [Int] = []  // arcs from the source
        var total = 0.0
        while true {
            // BFS levels.
            for v in 0..<nodes { level[v] = -1 }
            level[source] = 0
            var head = 0, tail = 0
            queue[tail] = Int32(source); tail += 1
            while head < tail {
                let v = Int(queue[head]); head += 1
                for a in start[v]..<start[v + 1] where capacity[a] > epsilon && level[Int(to[a])] < 0 {
                    level[Int(to[a])] = level[v] + 1
                    queue[tail] = to[a]; tail += 1
                }
            }
            guard level[sink] >= 0 else { return total }
            for v in 0..<nodes { cursor[v] = start[v] }
            // Blocking flow by an iterative DFS.
            path.removeAll(keepingCapacity: true)
            var v = source
            while true {
                if v == sink {
                    var bottleneck = Double.infinity
                    for a in path { bottleneck = min(bottleneck, capacity[a]) }
                    var cut = -1
                    for (k, a) in path.enumerated() {
                        capacity[a] -= bottleneck
                        capacity[Int(reverse[a])] += bottleneck
                        if cut < 0 && capacity[a] <= epsilon { cut = k }
                    }
                    total += bottleneck
                    path.removeSubrange(cut...)
                    v = path.last.map { Int(to[$0]) } ?? source
                    continue
                }
                var advanced = false
                while cursor[v] < start[v + 1] {
                    let a = cursor[v], w = Int(to[a])
                    if capacity[a] > epsilon && level[w] == level[v] + 1 {
                        path.append(a)
                        v = w
                        advanced = true
                        break
                    }
                    cursor[v] += 1
                }
                if advanced { continue }
                if v == source { break }
                level[v] = -1  // dead end
                let a = path.removeLast()
                v = Int(to[Int(reverse[a])])
                cursor[v] += 1
            }
        }
    }

    /// Net flow along undirected edge k from its first node to its second.
    func netFlow(edge k: Int) -> Double {
        let a = Int(edgeArc[k])
        return original[a] - capacity[a]
    }
}
