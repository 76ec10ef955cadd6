import XCTest
@testable import Preconditioners
import Sparse

/// The elimination kernel the policy prices CHOLMOD's analysis with, and the bipartite
/// tree-like generator it was calibrated on, against independent computations: a brute-force
/// degree-≤-2 reduction on an edge set (with explicit parallel-edge and self-loop handling) and
/// a breadth-first two-colouring.
final class EliminationKernelTests: XCTestCase {
    /// Laplacian-like matrix (I + L) of an adjacency.
    func laplacianPlusIdentity(_ w: CSRMatrix) throws -> CSRMatrix {
        var builder = try COOBuilder(rows: w.rows, columns: w.columns)
        for i in 0..<w.rows {
            var degree = 0.0
            for k in w.rowPointers[i]..<w.rowPointers[i + 1] where Int(w.columnIndices[k]) != i {
                try builder.append(row: i, column: Int(w.columnIndices[k]), value: -w.values[k])
                degree += w.values[k]
            }
            try builder.append(row: i, column: i, value: 1 + degree)
        }
        return builder.makeCSR()
    }

    /// The same reduction on a multiset of edges, O(n·m): repeatedly take the smallest node
    /// of degree ≤ 2, remove it (a leaf), or join its two neighbours (dropping the self-loop
    /// when they are the same node).
    func bruteForceKernel(_ w: CSRMatrix) -> (nodes: Int, edges: Int) {
        var edges: [(Int, Int)] = []
        for i in 0..<w.rows { for k in w.rowPointers[i]..<w.rowPointers[i + 1] where Int(w.columnIndices[k]) > i { edges.append((i, Int(w.columnIndices[k]))) } }
        var alive = Set(0..<w.rows)
        while true {
            var degree = [Int: Int]()
            for (a, b) in edges { degree[a, default: 0] += 1; degree[b, default: 0] += 1 }
            guard let v = alive.sorted().first(where: { (degree[$0] ?? 0) <= 2 }) else { break }
            alive.remove(v)
            let incident = edges.indices.filter { edges[$0].0 == v || edges[$0].1 == v }
            let others = incident.map { edges[$0].0 == v ? edges[$0].1 : edges[$0].0 }
            edges = edges.indices.filter { !incident.contains($0) }.map { edges[$0] }
            if others.count == 2 && others[0] != others[1] { edges.append((others[0], others[1])) }
        }
        return (alive.count, edges.count)
    }

    func testKernelOfTreesCyclesAndDenseGraphs() throws {
        // A path and a star reduce to nothing; a cycle too (to a self-loop, dropped).
        func adjacency(_ n: Int, _ pairs: [(Int, Int)]) throws -> CSRMatrix {
            var builder = try COOBuilder(rows: n, columns: n)
            for (i, j) in pairs { try builder.append(row: i, column: j, value: 1); try builder.append(row: j, column: i, value: 1) }
            return builder.makeCSR()
        }
        let path = try adjacency(6, (0..<5).map { ($0, $0 + 1) })
        let cycle = try adjacency(6, (0..<6).map { ($0, ($0 + 1) % 6) })
        let star = try adjacency(7, (1..<7).map { (0, $0) })
        var complete: [(Int, Int)] = []
        for i in 0..<5 { for j in (i + 1)..<5 { complete.append((i, j)) } }
        let k5 = try adjacency(5, complete)
        for (name, w) in [("path", path), ("cycle", cycle), ("star", star)] {
            let kernel = AutomaticLinearSolver.eliminationKernel(try laplacianPlusIdentity(w))
            XCTAssertEqual(kernel.nodes, 0, name); XCTAssertEqual(kernel.edges, 0, name)
        }
        let kernel = AutomaticLinearSolver.eliminationKernel(try laplacianPlusIdentity(k5))
        XCTAssertEqual(kernel.nodes, 5); XCTAssertEqual(kernel.edges, 10)
    }

    func testKernelEqualsBruteForceOnRandomGraphShapes() throws {
        for seed in UInt64(1)...4 {
            let graphs: [(String, CSRMatrix)] = [
                ("power-law", try CSRMatrix.randomPowerLawGraph(nodes: 120, edges: 200, exponent: 2.2, seed: seed)),
                ("tree-like", try CSRMatrix.randomTreeLikeGraph(nodes: 150, extraEdges: 15, seed: seed)),
                ("bipartite tree-like", try CSRMatrix.randomTreeLikeGraph(nodes: 150, extraEdges: 40, bipartite: true, seed: seed)),
            ]
            for (name, w) in graphs {
                let kernel = AutomaticLinearSolver.eliminationKernel(try laplacianPlusIdentity(w))
                let expected = bruteForceKernel(w)
                XCTAssertEqual(kernel.nodes, expected.nodes, "\(name) seed \(seed)")
                XCTAssertEqual(kernel.edges, expected.edges, "\(name) seed \(seed)")
            }
        }
        // At scale, the shapes the policy separates: local cycles reduce to a small kernel,
        // random long cycles do not.
        let n = 20_000
        let local = AutomaticLinearSolver.eliminationKernel(try laplacianPlusIdentity(
            try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: n / 10, bipartite: true, seed: 1)))
        let random = AutomaticLinearSolver.eliminationKernel(try laplacianPlusIdentity(
            try CSRMatrix.randomPowerLawGraph(nodes: n, edges: 3 * n / 2, exponent: 2.2, seed: 1)))
        XCTAssertLessThan(local.edges * 5, random.edges, "local \(local), random \(random)")
    }

    /// The kernel's breadth-first depth separates geometric kernels (a grid, a random 2-D
    /// geometric graph like a packing's contact network: depth of the order of √nodes) from
    /// expander-like ones (power-law, trees with random extra edges: depth of the order of
    /// log nodes), which the policy prices differently.
    func testKernelDepthSeparatesGeometricFromExpanderKernels() throws {
        let grid = AutomaticLinearSolver.eliminationKernelGraph(try CSRMatrix.gridLaplacian2D(150, shift: 1))
        XCTAssertGreaterThanOrEqual(Double(grid.depth), Double(grid.nodes).squareRoot(), "grid \(grid)")
        // Random points in a square joined when closer than r (mean degree ≈ 6).
        let n = 20_000
        var random = SplitMix64(seed: 3)
        let points = (0..<n).map { _ in (random.nextUniform(), random.nextUniform()) }
        let r = (6 / (Double.pi * Double(n))).squareRoot()
        let cells = Int(1 / r)
        var bucket = [[Int]](repeating: [], count: cells * cells)
        func cell(_ v: Double) -> Int { min(Int(v * Double(cells)), cells - 1) }
        for (i, p) in points.enumerated() { bucket[cell(p.0) * cells + cell(p.1)].append(i) }
        var edges: [(Int, Int)] = []
        for (i, p) in points.enumerated() {
            for dx in -1...1 { for dy in -1...1 {
                let cx = cell(p.0) + dx, cy = cell(p.1) + dy
                guard cx >= 0, cy >= 0, cx < cells, cy < cells else { continue }
                for j in bucket[cx * cells + cy] where j > i {
                    let q = points[j]
                    if (p.0 - q.0) * (p.0 - q.0) + (p.1 - q.1) * (p.1 - q.1) < r * r { edges.append((i, j)) }
                }
            } }
        }
        var builder = try COOBuilder(rows: n, columns: n)
        for (i, j) in edges { try builder.append(row: i, column: j, value: 1); try builder.append(row: j, column: i, value: 1) }
        let geometric = AutomaticLinearSolver.eliminationKernelGraph(try laplacianPlusIdentity(builder.makeCSR()))
        XCTAssertGreaterThanOrEqual(Double(geometric.depth), 0.25 * Double(geometric.nodes).squareRoot(), "geometric \(geometric)")
        for (name, w) in [("power-law", try CSRMatrix.randomPowerLawGraph(nodes: n, edges: 3 * n / 2, exponent: 2.2, seed: 1)),
                          ("tree-like", try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: n / 10, seed: 1))] {
            let kernel = AutomaticLinearSolver.eliminationKernelGraph(try laplacianPlusIdentity(w))
            XCTAssertGreaterThan(kernel.nodes, 100, name)
            XCTAssertLessThan(Double(kernel.depth), 0.25 * Double(kernel.nodes).squareRoot(), "\(name) \(kernel)")
        }
    }

    /// The bipartite generator: connected, two-colourable by breadth-first search, heavy-tailed.
    func testBipartiteTreeLikeGraphIsConnectedAndBipartite() throws {
        let n = 5000
        let w = try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: n / 10, bipartite: true, seed: 7)
        XCTAssertTrue(w.isSymmetric(tolerance: 0))
        var colour = [Int](repeating: -1, count: n)
        colour[0] = 0
        var queue = [0], head = 0, bipartite = true
        while head < queue.count {
            let v = queue[head]; head += 1
            for k in w.rowPointers[v]..<w.rowPointers[v + 1] {
                let u = Int(w.columnIndices[k])
                XCTAssertNotEqual(u, v)
                if colour[u] < 0 { colour[u] = 1 - colour[v]; queue.append(u) } else if colour[u] == colour[v] { bipartite = false }
            }
        }
        XCTAssertTrue(bipartite)
        XCTAssertEqual(queue.count, n, "connected")
        let edges = w.nonzeroCount / 2
        XCTAssertGreaterThan(edges, n - 1 + n / 20, "most extra edges placed")
        XCTAssertLessThanOrEqual(edges, n - 1 + n / 10)
        let maxDegree = (0..<n).map { w.rowPointers[$0 + 1] - w.rowPointers[$0] }.max()!
        XCTAssertGreaterThan(maxDegree, 30, "heavy-tailed degrees")
    }
}
