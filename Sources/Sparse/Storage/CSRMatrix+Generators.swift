/// Matrices generated in memory: model problems for the CLI's `--grid`, the tests and the
/// benchmarks. All are reproducible from their arguments (and seed).
extension CSRMatrix {
    /// The 5-point Laplacian of a k × k grid with Dirichlet boundaries (4 on the diagonal,
    /// −1 to each grid neighbour) plus `shift`·I: n = k², symmetric positive definite for
    /// shift ≥ 0. `--grid 1000` gives 10⁶ unknowns and about 5·10⁶ nonzeros.
    public static func gridLaplacian2D(_ k: Int, shift: Double = 0) throws -> CSRMatrix {
        try gridLaplacian(dimensions: [k, k], shift: shift)
    }

    /// The graph Laplacian L = D − W of the rows × columns 4-neighbour grid graph (Neumann
    /// boundaries: each diagonal entry is the node's degree, 2 to 4), plus `shift`·I:
    /// symmetric, positive semidefinite with the constant vector in its null space when
    /// shift = 0. The smoothing operator of graph-regularized problems on images.
    public static func gridGraphLaplacian2D(rows: Int, columns: Int, shift: Double = 0) throws -> CSRMatrix {
        try gridLaplacian(dimensions: [columns, rows], shift: shift, graph: true)
    }

    /// The 7-point Laplacian of a k × k × k grid plus `shift`·I.
    public static func gridLaplacian3D(_ k: Int, shift: Double = 0) throws -> CSRMatrix {
        try gridLaplacian(dimensions: [k, k, k], shift: shift)
    }

    static func gridLaplacian(dimensions: [Int], shift: Double, graph: Bool = false) throws -> CSRMatrix {
        guard dimensions.allSatisfy({ $0 >= 1 }) else {
            throw SparseError.invalidArgument("grid size must be at least 1")
        }
        let (n, overflow) = dimensions.reduce((1, false)) { acc, d in
            let (m, o) = acc.0.multipliedReportingOverflow(by: d); return (m, acc.1 || o)
        }
        guard !overflow, n <= Int(Int32.max) else {
            throw SparseError.invalidDimension("grid of \(dimensions) exceeds 2³¹ − 1 unknowns")
        }
        guard shift.isFinite else { throw SparseError.nonFinite(what: "shift", index: 0) }
        let d = dimensions.count
        var strides = [Int](repeating: 1, count: d)
        for a in 1..<max(d, 1) { strides[a] = strides[a - 1] * dimensions[a - 1] }
        var pointers = [Int](repeating: 0, count: n + 1)
        var indices = [Int32](); indices.reserveCapacity(n * (2 * d + 1))
        var values = [Double](); values.reserveCapacity(n * (2 * d + 1))
        var coordinate = [Int](repeating: 0, count: d)
        for row in 0..<n {
            // Neighbours in increasing index order: −stride (largest first), then diagonal, then +stride.
            for a in stride(from: d - 1, through: 0, by: -1) where coordinate[a] > 0 {
                indices.append(Int32(row - strides[a])); values.append(-1)
            }
            var degree = 2 * d
            if graph {
                degree = 0
                for a in 0..<d { degree += (coordinate[a] > 0 ? 1 : 0) + (coordinate[a] < dimensions[a] - 1 ? 1 : 0) }
            }
            indices.append(Int32(row)); values.append(Double(degree) + shift)
            for a in 0..<d where coordinate[a] < dimensions[a] - 1 {
                indices.append(Int32(row + strides[a])); values.append(-1)
            }
            pointers[row + 1] = indices.count
            var a = 0
            while a < d {
                coordinate[a] += 1
                if coordinate[a] < dimensions[a] { break }
                coordinate[a] = 0
                a += 1
            }
        }
        return CSRMatrix(storage: CompressedStorage(majorCount: n, minorCount: n, pointers: pointers,
                                                    indices: indices, values: values),
                         isKnownSymmetric: true)
    }

    /// A random symmetric adjacency matrix with power-law degrees (Chung–Lu: node i has
    /// weight (i + 1)^(−1/(exponent − 1)), each of `edges` edges joins two nodes drawn with
    /// probability ∝ weight; self loops dropped, duplicates merged, weights 1).
    public static func randomPowerLawGraph(nodes: Int, edges: Int, exponent: Double = 2.5, seed: UInt64) throws -> CSRMatrix {
        guard nodes >= 1, edges >= 0, exponent > 1 else {
            throw SparseError.invalidArgument("randomPowerLawGraph needs nodes ≥ 1, edges ≥ 0, exponent > 1")
        }
        var rng = SplitMix64(seed: seed)
        let sampler = PowerLawSampler(count: nodes, exponent: exponent)
        var builder = try COOBuilder(rows: nodes, columns: nodes, reservingCapacity: 2 * edges)
        for _ in 0..<edges {
            let i = sampler.sample(&rng), j = sampler.sample(&rng)
            if i == j { continue }
            try builder.append(row: i, column: j, value: 1)
            try builder.append(row: j, column: i, value: 1)
        }
        var matrix = builder.makeCSR()
        matrix.storage.values = [Double](repeating: 1, count: matrix.nonzeroCount)
        matrix.isKnownSymmetric = true
        return matrix
    }

    /// The adjacency of a tree-like graph with heavy-tailed degrees, as dependency and citation
    /// graphs are: a tree grown by preferential attachment (node i joins an earlier node drawn
    /// with probability ∝ its degree, or uniformly with probability `uniformShare`), plus
    /// `extraEdges` edges between uniformly random pairs (the cycles that make it "like" a tree).
    /// Sparse direct factorizations have little fill on it; Jacobi-CG needs many iterations.
    /// Unit weights, symmetric, connected.
    ///
    /// With `bipartite`, each extra edge instead joins a node to a random other child of its
    /// grandparent (an "uncle"): the cycles are local 4-cycles and the graph stays bipartite
    /// (two classes by depth parity, as packages and the libraries they depend on), the shape
    /// of real dependency graphs, on which a Cholesky factor has almost no fill. Pairs without
    /// an uncle are skipped, so the graph may have a few fewer than `extraEdges` extra edges.
    public static func randomTreeLikeGraph(nodes: Int, extraEdges: Int, uniformShare: Double = 0.2, bipartite: Bool = false,
                                           seed: UInt64) throws -> CSRMatrix {
        guard nodes >= 1, extraEdges >= 0, uniformShare >= 0, uniformShare <= 1 else {
            throw SparseError.invalidArgument("randomTreeLikeGraph needs nodes ≥ 1, extraEdges ≥ 0, uniformShare in [0, 1]")
        }
        var rng = SplitMix64(seed: seed)
        var builder = try COOBuilder(rows: nodes, columns: nodes, reservingCapacity: 2 * (nodes - 1 + extraEdges))
        // Every edge's two ends, in order: a uniform draw from it is a degree-proportional draw.
        var ends = [Int32]()
        ends.reserveCapacity(2 * max(nodes - 1, 0))
        var parent = [Int32](repeating: -1, count: bipartite ? nodes : 0)
        for i in 1..<max(nodes, 1) {
            let j = ends.isEmpty || rng.nextUniform() < uniformShare ? Int(rng.next() % UInt64(i)) : Int(ends[Int(rng.next() % UInt64(ends.count))])
            try builder.append(row: i, column: j, value: 1)
            try builder.append(row: j, column: i, value: 1)
            ends.append(Int32(i)); ends.append(Int32(j))
            if bipartite { parent[i] = Int32(j) }
        }
        if bipartite {
            // Children lists (CSR by parent), then an uncle for each extra edge.
            var start = [Int](repeating: 0, count: nodes + 1)
            for i in 1..<max(nodes, 1) { start[Int(parent[i]) + 1] += 1 }
            for i in 0..<nodes { start[i + 1] += start[i] }
            var fill = start, children = [Int32](repeating: 0, count: max(nodes - 1, 0))
            for i in 1..<max(nodes, 1) { children[fill[Int(parent[i])]] = Int32(i); fill[Int(parent[i])] += 1 }
            for _ in 0..<extraEdges where nodes > 2 {
                let v = Int(rng.next() % UInt64(nodes))
                guard parent[v] >= 0, parent[Int(parent[v])] >= 0 else { continue }
                let p = Int(parent[v]), g = Int(parent[p])
                let count = start[g + 1] - start[g]
                guard count > 1 else { continue }
                let u = Int(children[start[g] + Int(rng.next() % UInt64(count))])
                if u == p { continue }
                try builder.append(row: v, column: u, value: 1)
                try builder.append(row: u, column: v, value: 1)
            }
        }
        for _ in 0..<extraEdges where nodes > 1 && !bipartite {
            let i = Int(rng.next() % UInt64(nodes)), j = Int(rng.next() % UInt64(nodes))
            if i == j { continue }
            try builder.append(row: i, column: j, value: 1)
            try builder.append(row: j, column: i, value: 1)
        }
        var matrix = builder.makeCSR()
        matrix.storage.values = [Double](repeating: 1, count: matrix.nonzeroCount)
        matrix.isKnownSymmetric = true
        return matrix
    }

    /// A random rows × columns matrix whose column frequencies follow a power law (text-like
    /// data: a few columns in most rows, most columns rare), `nonzerosPerRow` entries per row
    /// on average, Gaussian values.
    public static func randomPowerLaw(rows: Int, columns: Int, nonzerosPerRow: Int, exponent: Double = 2.0,
                                      seed: UInt64) throws -> CSRMatrix {
        guard rows >= 1, columns >= 1, nonzerosPerRow >= 1, exponent > 1 else {
            throw SparseError.invalidArgument("randomPowerLaw needs positive sizes and exponent > 1")
        }
        var rng = SplitMix64(seed: seed)
        let sampler = PowerLawSampler(count: columns, exponent: exponent)
        var builder = try COOBuilder(rows: rows, columns: columns, reservingCapacity: rows * nonzerosPerRow)
        for i in 0..<rows {
            // Row lengths vary between 1 and 2·nonzerosPerRow − 1.
            let length = 1 + Int(rng.next() % UInt64(2 * nonzerosPerRow - 1))
            for _ in 0..<length {
                try builder.append(row: i, column: sampler.sample(&rng), value: rng.nextGaussian())
            }
        }
        return builder.makeCSR()
    }
}

/// Inverse-CDF sampler over 0..<count with probability ∝ (i + 1)^(−1/(exponent − 1)).
struct PowerLawSampler {
    let cumulative: [Double]
    init(count: Int, exponent: Double) {
        var c = [Double](repeating: 0, count: count)
        var total = 0.0
        let power = -1 / (exponent - 1)
        for i in 0..<count {
            total += Foundation.pow(Double(i + 1), power)
            c[i] = total
        }
        cumulative = c.map { $0 / total }
    }
    func sample(_ rng: inout SplitMix64) -> Int {
        let u = rng.nextUniform()
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
import Foundation
