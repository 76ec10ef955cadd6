import XCTest
import Foundation
@testable import ImplicitSparse

/// Graph-regularized problems (issue 13): graph-ls against a dense solve and finite
/// differences, graph-TV against hand-derived fused-group closed forms and finite
/// differences, the graph readers' errors.
final class GraphProblemsTests: XCTestCase {
    /// A graph from an undirected edge list (0-based).
    func graph(nodes: Int, _ edges: [(Int, Int, Double)]) throws -> WeightedGraph {
        var builder = try COOBuilder(rows: nodes, columns: nodes)
        for (i, j, w) in edges {
            try builder.append(row: i, column: j, value: w)
            try builder.append(row: j, column: i, value: w)
        }
        return try WeightedGraph(adjacency: builder.makeCSR())
    }

    /// Gaussian elimination with partial pivoting on a dense row-major matrix (the oracle).
    func denseSolve(_ a: [Double], _ b: [Double]) -> [Double] {
        let n = b.count
        var m = a, x = b
        for c in 0..<n {
            let p = (c..<n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) }!
            if p != c {
                for k in 0..<n { m.swapAt(c * n + k, p * n + k) }
                x.swapAt(c, p)
            }
            for r in (c + 1)..<n {
                let f = m[r * n + c] / m[c * n + c]
                if f == 0 { continue }
                for k in c..<n { m[r * n + k] -= f * m[c * n + k] }
                x[r] -= f * x[c]
            }
        }
        for c in stride(from: n - 1, through: 0, by: -1) {
            var s = x[c]
            for k in (c + 1)..<n { s -= m[c * n + k] * x[k] }
            x[c] = s / m[c * n + c]
        }
        return x
    }

    func randomSignal(_ n: Int, seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        return (0..<n).map { i in Double(i % 5 < 2 ? 1 : 0) + 0.3 * random.nextGaussian() }
    }

    /// x*, d loss/d log λ and d log ε of graph-ls against a dense solve of K x = My and the
    /// dense adjoint −gᵀK⁻¹(Lx), −gᵀK⁻¹x, and against central differences; on a grid with
    /// ε = 0 and on a power-law graph (hubs, several components) with ε > 0.
    func testGraphLeastSquaresAgainstDenseSolveAndFiniteDifferences() throws {
        let cases: [(WeightedGraph, Double, Double)] = [
            (try WeightedGraph.grid(rows: 7, columns: 9), 0.7, 0),
            (try WeightedGraph.powerLaw(nodes: 80, edges: 160, seed: 3), 2.0, 0.05),
        ]
        for (g, lambda, epsilon) in cases {
            let n = g.nodeCount
            let y = randomSignal(n, seed: 5)
            let split = try Datasets.split(rows: n, validationFraction: 0.3, seed: 9)
            let data = try GraphData(graph: g, signal: y, training: split.train)
            let problem = try GraphLeastSquares(data: data, lambda: lambda, epsilon: epsilon)
            let strategy = GraphLeastSquares.defaultStrategy()
            let solution = try problem.solve(strategy: strategy)
            let k = try problem.system(lambda: lambda, epsilon: epsilon).toDenseRowMajor()
            let reference = denseSolve(k, zip(data.trainingMask, y).map { $0 * $1 })
            for i in 0..<n { XCTAssertEqual(solution.x[i], reference[i], accuracy: 1e-10 * max(1, abs(reference[i]))) }
            let h = try problem.hypergradient(at: solution.x, validation: split.validation, strategy: strategy)
            XCTAssertTrue(h.report?.reused ?? false, "the adjoint reuses the forward factor: \(h.report?.reason ?? "")")
            // Dense adjoint: g = ∇loss, u = K⁻¹g (K symmetric), dλ = −uᵀLx, dε = −uᵀx.
            var grad = [Double](repeating: 0, count: n)
            for i in split.validation { grad[i] = 2 * (reference[i] - y[i]) / Double(split.validation.count) }
            let u = denseSolve(k, grad)
            let lx = try g.laplacian.multiply(reference)
            let dLambda = -lambda * zip(u, lx).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(h.gradient[0], dLambda, accuracy: 1e-9 * abs(dLambda))
            XCTAssertLessThan(h.conditionResidual, 1e-8)
            // The protocol's generic central difference (independent re-solves).
            let fd = try problem.finiteDifference(of: try NodeLoss.meanSquaredError(data, nodes: split.validation), at: solution, step: 1e-4,
                                                  strategy: strategy)
            XCTAssertEqual(h.gradient[0], try XCTUnwrap(fd[0]), accuracy: 1e-6 * abs(fd[0]!))
            if epsilon > 0 {
                let dEpsilon = -epsilon * zip(u, reference).reduce(0) { $0 + $1.0 * $1.1 }
                XCTAssertEqual(h.gradient[1], dEpsilon, accuracy: 1e-9 * abs(dEpsilon))
                XCTAssertEqual(h.gradient[1], try XCTUnwrap(fd[1]), accuracy: 1e-6 * abs(fd[1]!))
            } else {
                XCTAssertEqual(h.gradient[1], 0, "ε = 0 is held fixed: d/d log ε = ε ∂/∂ε = 0")
                XCTAssertNil(fd[1])
            }
        }
    }

    /// A component without a training node and ε = 0: refused with the count, never NaN;
    /// with ε > 0 the same data solves.
    /// A tolerance tighter than the strategy's own (the finite-difference check's 10⁻¹² against
    /// Jacobi-CG at 10⁻⁶) is met by iterative refinement on the same prepared state; one below
    /// the rounding floor fails with the attained residual, named as such.
    func testGraphLeastSquaresRefinesToTheRequestedTolerance() throws {
        let g = try WeightedGraph.powerLaw(nodes: 3_000, edges: 9_000, exponent: 2.2, seed: 8)
        var random = SplitMix64(seed: 5)
        let y = (0..<3_000).map { _ in random.nextGaussian() }
        let data = try GraphData(graph: g, signal: y, training: (0..<3_000).filter { $0 % 5 != 0 })
        let problem = try GraphLeastSquares(data: data, lambda: 10, epsilon: 0.01)
        let options = KrylovOptions(relativeTolerance: 1e-6)
        let strategy = LinearSolveStrategy(solver: KrylovSolver(.cg, preconditioner: .jacobi, options: options), options: options)
        let loose = try problem.solve(strategy: strategy)
        XCTAssertGreaterThan(loose.relativeResidual, 1e-10)
        let tight = try problem.solve(warmStart: nil, tolerance: 1e-12, strategy: strategy)
        let k = try problem.system(lambda: 10, epsilon: 0.01)
        let b = zip(data.trainingMask, data.signal).map { $0 * $1 }
        XCTAssertLessThanOrEqual(k.relativeResidual(tight.x, b), 1e-12)
        XCTAssertThrowsError(try problem.solve(warmStart: nil, tolerance: 1e-30, strategy: strategy)) { error in
            XCTAssertTrue("\(error)".contains("relative residual"), "\(error)")
        }
    }

    func testGraphLeastSquaresRefusesComponentWithoutTrainingNode() throws {
        let g = try graph(nodes: 5, [(0, 1, 1), (1, 2, 1), (3, 4, 2)])
        let data = try GraphData(graph: g, signal: [1, 2, 3, 4, 5], training: [0, 2])
        XCTAssertThrowsError(try GraphLeastSquares(data: data, lambda: 1)) { error in
            XCTAssertEqual(error as? GraphProblemError,
                           .nonUnique(model: "graph-ls", components: 1, nodes: 2,
                                      detail: "any constant added there leaves the objective unchanged (M + λL is singular)"))
            XCTAssertTrue("\(error)".contains("`epsilon` > 0"), "\(error)")  // the CLI says --epsilon
        }
        let x = try GraphLeastSquares(data: data, lambda: 1, epsilon: 0.1).solve().x
        XCTAssertTrue(x.allSatisfy(\.isFinite))
        XCTAssertEqual(x[3], 0, accuracy: 1e-14)  // no data there: the ridge holds it at 0
    }

    /// Graph TV on a chain with a step: two groups with the closed form
    /// c₁ = λw/3, c₂ = 1 − λw/3 (w the weight of the middle edge, w ≤ 1.5), to 10⁻¹⁰; with a
    /// heavier middle edge the ends split off (the solver found that too).
    func testGraphTotalVariationChainClosedForm() throws {
        for w in [1.0, 1.4] {  // the groups stay calibrable while 2λw/3 ≤ λ (the inner edge carries it)
            let g = try graph(nodes: 6, [(0, 1, 1), (1, 2, 1), (2, 3, w), (3, 4, 1), (4, 5, 1)])
            let data = try GraphData(graph: g, signal: [0, 0, 0, 1, 1, 1], training: Array(0..<6))
            let lambda = 0.3
            let solution = try GraphTotalVariation(data: data, lambda: lambda).solve()
            XCTAssertTrue(solution.polished)
            XCTAssertEqual(solution.groups, 2)
            XCTAssertLessThanOrEqual(solution.dualityGap, solution.targetGap)
            for i in 0..<3 { XCTAssertEqual(solution.x[i], lambda * w / 3, accuracy: 1e-10) }
            for i in 3..<6 { XCTAssertEqual(solution.x[i], 1 - lambda * w / 3, accuracy: 1e-10) }
        }
    }

    /// The maximum-flow certificate refuses a partition that is not optimal: on the chain with
    /// a heavy middle edge (whose ends split off), the two-group candidate is not certified.
    func testGroupCertificateRefusesAWrongPartition() throws {
        let g = try graph(nodes: 6, [(0, 1, 1), (1, 2, 1), (2, 3, 2.5), (3, 4, 1), (4, 5, 1)])
        let data = try GraphData(graph: g, signal: [0, 0, 0, 1, 1, 1], training: Array(0..<6))
        let problem = try GraphTotalVariation(data: data, lambda: 0.3)
        let wrong = FusedPartition(group: [0, 0, 0, 1, 1, 1], groupCount: 2, boundary: [-2.5, 2.5])
        let c = [0.25, 0.75]
        XCTAssertNil(problem.certify(wrong.group.map { c[Int($0)] }, partition: wrong, lower: g.lowerEdgeNumbers()))
        var options = GraphTotalVariation.Options()
        options.exactGroups = true
        let solution = try problem.solve(options: options)
        XCTAssertTrue(solution.groupsCertified)
        XCTAssertEqual(solution.groups, 4)
        let right = try XCTUnwrap(solution.partition)
        let gap = try XCTUnwrap(problem.certify(solution.x, partition: right, lower: g.lowerEdgeNumbers()))
        XCTAssertLessThan(gap, 1e-14)
    }

    /// Graph TV on a grid with a 4 × 4 block of ones (a square is calibrable for this
    /// anisotropic TV): block value 1 − λ·16/16, outside λ·16/(n − 16), to 10⁻¹⁰.
    func testGraphTotalVariationSquareBlockClosedForm() throws {
        let side = 12, n = side * side
        let g = try WeightedGraph.grid(rows: side, columns: side)
        var y = [Double](repeating: 0, count: n)
        for r in 4..<8 { for c in 4..<8 { y[r * side + c] = 1 } }
        let data = try GraphData(graph: g, signal: y, training: Array(0..<n))
        let lambda = 0.05
        let solution = try GraphTotalVariation(data: data, lambda: lambda).solve()
        XCTAssertEqual(solution.groups, 2)
        for i in 0..<n {
            let expected = y[i] == 1 ? 1 - lambda : lambda * 16 / Double(n - 16)
            XCTAssertEqual(solution.x[i], expected, accuracy: 1e-10)
        }
    }

    /// d loss/d log λ and d log ε of graph TV (fused-group reduction in the implicit layer)
    /// against central differences of tight solves, on a grid with unobserved nodes (ε > 0)
    /// and on a power-law graph.
    func testGraphTotalVariationHypergradientMatchesFiniteDifferences() throws {
        let cases: [(WeightedGraph, Double, Double)] = [
            (try WeightedGraph.grid(rows: 15, columns: 15), 0.1, 0.05),
            (try WeightedGraph.powerLaw(nodes: 150, edges: 400, seed: 8), 0.05, 0.2),
        ]
        for (g, lambda, epsilon) in cases {
            let n = g.nodeCount
            let y = randomSignal(n, seed: 12)
            let split = try Datasets.split(rows: n, validationFraction: 0.3, seed: 4)
            let data = try GraphData(graph: g, signal: y, training: split.train)
            let problem = try GraphTotalVariation(data: data, lambda: lambda, epsilon: epsilon)
            var options = GraphTotalVariation.Options()
            options.exactGroups = true
            let solution = try problem.solve(options: options)
            XCTAssertTrue(solution.polished)
            XCTAssertTrue(solution.groupsCertified, "a maximum flow certifies the fused groups")
            XCTAssertLessThan(solution.dualityGap, 1e-10 * data.trainingEnergy)
            XCTAssertLessThanOrEqual(solution.dualityGap, solution.targetGap)
            XCTAssertGreaterThan(solution.groups, 1)
            XCTAssertLessThan(solution.groups, n)
            let h = try problem.hypergradient(at: solution, validation: split.validation)
            XCTAssertEqual(h.supportSize, solution.groups)
            XCTAssertNil(h.warning, "certified groups: no warning")
            XCTAssertLessThan(h.conditionResidual, 1e-10)
            // The library's default solve does not certify the groups: its derivative says so.
            let loose = try problem.solve()
            XCTAssertFalse(loose.groupsCertified)
            if loose.polished {
                XCTAssertNotNil(try problem.hypergradient(at: loose, validation: split.validation).warning)
            }
            let fd = try problem.finiteDifference(validation: split.validation, step: 1e-4, options: options)
            XCTAssertFalse(fd.kink)
            XCTAssertEqual(h.gradient[0], fd.logLambda, accuracy: 1e-7 * abs(fd.logLambda))
            XCTAssertEqual(h.gradient[1], try XCTUnwrap(fd.logEpsilon), accuracy: 1e-7 * abs(fd.logEpsilon!))
            // The problem protocol's solve certifies the groups by itself; same derivative.
            let viaProtocol = try problem.solve(warmStart: nil, tolerance: options.tolerance, strategy: problem.defaultStrategy)
            XCTAssertTrue(viaProtocol.groupsCertified)
            let h2 = try problem.hypergradient(of: try NodeLoss.meanSquaredError(data, nodes: split.validation), at: viaProtocol,
                                               strategy: problem.defaultStrategy)
            XCTAssertEqual(h2.gradient[0], h.gradient[0], accuracy: 1e-8 * abs(h.gradient[0]))
        }
    }

    /// ε = 0 with unobserved nodes: refused (the fit is not unique there).
    func testGraphTotalVariationNeedsRidgeForUnobservedNodes() throws {
        let g = try WeightedGraph.grid(rows: 4, columns: 4)
        let data = try GraphData(graph: g, signal: randomSignal(16, seed: 1), training: Array(0..<12))
        XCTAssertThrowsError(try GraphTotalVariation(data: data, lambda: 0.1)) { error in
            XCTAssertEqual(error as? GraphProblemError, .needsRidge(unobservedNodes: 4))
            // The library names its own parameter (the CLI translates it to --epsilon).
            XCTAssertTrue("\(error)".contains("`epsilon` > 0"), "\(error)")
            XCTAssertFalse("\(error)".contains("--"), "\(error)")
        }
    }

    /// The readers: edge lists and Matrix Market adjacencies, their notes and errors with lines.
    func testGraphFilesAndTheirErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graph-files-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func file(_ name: String, _ text: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func line(_ error: Error) -> Int? {
            if case let SparseIOError.malformed(_, line, _) = error { return line }
            return nil
        }
        // Edge list: comments, a weightless edge, a self-loop, a repeated edge.
        let edges = try WeightedGraph.read(path: try file("g.txt", "# nodes 1..4\n1 2 0.5\n\n2 3\n% comment\n3 3 7\n4 3 2\n1 2 0.25\n"))
        XCTAssertEqual(edges.nodeCount, 4)
        XCTAssertEqual(edges.edgeCount, 3)
        XCTAssertEqual(edges.laplacian[0, 1], -0.75)
        XCTAssertEqual(edges.laplacian[2, 2], 3)
        XCTAssertEqual(edges.notes, ["1 self-loop ignored"])
        XCTAssertThrowsError(try WeightedGraph.read(path: try file("neg.txt", "1 2\n2 3 1\n3 4 -1\n"))) { XCTAssertEqual(line($0), 3) }
        XCTAssertThrowsError(try WeightedGraph.read(path: try file("zero.txt", "1 2\n0 3\n"))) { XCTAssertEqual(line($0), 2) }
        XCTAssertThrowsError(try WeightedGraph.read(path: try file("nan.txt", "1 2 nan\n"))) { XCTAssertEqual(line($0), 1) }
        XCTAssertThrowsError(try WeightedGraph.read(path: try file("text.txt", "1 2\nfoo bar\n"))) { XCTAssertEqual(line($0), 2) }
        // A general Matrix Market adjacency is symmetrized: (W + Wᵀ)/2.
        let general = try WeightedGraph.read(path: try file("g.mtx", "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 2 2\n2 1 4\n3 2 1\n"))
        XCTAssertEqual(general.laplacian[0, 1], -3)
        XCTAssertEqual(general.laplacian[1, 2], -0.5)
        XCTAssertTrue(general.notes.contains { $0.contains("(W + Wᵀ)/2") })
        let pattern = try WeightedGraph.read(path: try file("p.mtx", "%%MatrixMarket matrix coordinate pattern symmetric\n3 3 3\n2 1\n3 2\n3 3\n"))
        XCTAssertEqual(pattern.edgeCount, 2)
        XCTAssertEqual(pattern.notes, ["1 self-loop ignored"])
        XCTAssertThrowsError(try WeightedGraph.read(path: try file("negm.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n2 1 1\n3 1 -2\n"))) {
            XCTAssertEqual(line($0), 4)
        }
        XCTAssertThrowsError(try WeightedGraph.read(path: try file("range.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 3 1\n4 1 1\n"))) {
            XCTAssertEqual(line($0), 3)
        }
        // Signals and node lists.
        XCTAssertEqual(try GraphFiles.readSignal(path: try file("y.txt", "1\n# c\n2.5\n-3\n"), nodes: 3), [1, 2.5, -3])
        XCTAssertThrowsError(try GraphFiles.readSignal(path: try file("short.txt", "1\n2\n"), nodes: 3)) { XCTAssertEqual(line($0), 3) }
        XCTAssertThrowsError(try GraphFiles.readSignal(path: try file("inf.txt", "1\ninf\n3\n"), nodes: 3)) { XCTAssertEqual(line($0), 2) }
        XCTAssertEqual(try GraphFiles.readSignal(path: try file("y.mtx", "%%MatrixMarket matrix array real general\n3 1\n1\n2\n3\n"), nodes: 3), [1, 2, 3])
        XCTAssertThrowsError(try GraphFiles.readSignal(path: try file("y2.mtx", "%%MatrixMarket matrix array real general\n2 1\n1\n2\n"), nodes: 3))
        XCTAssertEqual(try GraphFiles.readNodes(path: try file("t.txt", "3\n1\n"), nodes: 3), [2, 0])
        XCTAssertThrowsError(try GraphFiles.readNodes(path: try file("t2.txt", "3\n1\n3\n"), nodes: 3)) { XCTAssertEqual(line($0), 3) }
        XCTAssertThrowsError(try GraphFiles.readNodes(path: try file("t3.txt", "1\n4\n"), nodes: 3)) { XCTAssertEqual(line($0), 2) }
        // Problem data checks.
        let g = try WeightedGraph.grid(rows: 2, columns: 2)
        XCTAssertThrowsError(try GraphData(graph: g, signal: [1, 2, 3], training: [0]))
        XCTAssertThrowsError(try GraphData(graph: g, signal: [1, .nan, 3, 4], training: [0]))
        XCTAssertThrowsError(try GraphData(graph: g, signal: [1, 2, 3, 4], training: [4]))
        XCTAssertThrowsError(try GraphData(graph: g, signal: [1, 2, 3, 4], training: []))
        let data = try GraphData(graph: g, signal: [1, 2, 3, 4], training: [0, 1, 2, 3])
        XCTAssertThrowsError(try GraphLeastSquares(data: data, lambda: -1))
        XCTAssertThrowsError(try GraphTotalVariation(data: data, lambda: 1, epsilon: .nan))
    }

    /// The incidence products agree with D formed explicitly (on a power-law graph, whose
    /// rows are unbalanced), and DᵀWD = L.
    /// The parallel path is forced (threshold 0, 3 threads) so that TSan sees it.
    func testIncidenceProductsMatchTheLaplacian() throws {
        let (threshold, threads) = (SparseThreads.serialThreshold, SparseThreads.count)
        SparseThreads.serialThreshold = 0
        SparseThreads.count = 3
        defer { (SparseThreads.serialThreshold, SparseThreads.count) = (threshold, threads) }
        let g = try WeightedGraph.powerLaw(nodes: 300, edges: 1200, seed: 2)
        let n = g.nodeCount, e = g.edgeCount
        var random = SplitMix64(seed: 1)
        let x = (0..<n).map { _ in random.nextGaussian() }
        var dx = [Double](repeating: 0, count: e), back = [Double](repeating: 0, count: n)
        g.incidence(x, into: &dx)
        let w = g.edgeWeights
        g.incidenceTransposed(zip(w, dx).map { $0 * $1 }, lowerEdge: g.lowerEdgeNumbers(), into: &back)
        let lx = try g.laplacian.multiply(x)
        for i in 0..<n { XCTAssertEqual(back[i], lx[i], accuracy: 1e-12 * max(1, abs(lx[i]))) }
        var expected = [Double](repeating: 0, count: e)
        g.forEachEdge { k, i, j, _ in expected[k] = x[i] - x[j] }
        XCTAssertEqual(dx, expected)
    }

    /// GraphNet on binary text-like data with duplicated and dependent columns and a chain
    /// over the features: the solution satisfies the KKT conditions (computed here from X,
    /// not from the solver's gap), and the two-hyperparameter derivative matches central
    /// differences in log λ₁ and log λ₂.
    func testGraphNetKKTAndFiniteDifferencesInBothHyperparameters() throws {
        let generated = try Datasets.binaryTextLike(rows: 400, columns: 60, nonzerosPerRow: 6, duplicateColumns: 4,
                                                    dependentColumns: 4, informative: 10, noise: 0.3, seed: 5)
        let split = try Datasets.split(rows: 400, validationFraction: 0.25, seed: 2)
        let x = try generated.features.selectingRows(split.train), y = split.train.map { generated.targets[$0] }
        let xv = try generated.features.selectingRows(split.validation), yv = split.validation.map { generated.targets[$0] }
        let chain = try graph(nodes: 60, (0..<59).map { ($0, $0 + 1, 1.0 + Double($0 % 3)) })
        let lambda1 = try GraphNet.lambda1Max(design: x, targets: y) / 8, lambda2 = 0.02
        let problem = try GraphNet(design: x, targets: y, featureGraph: chain, lambda1: lambda1, lambda2: lambda2)
        let solution = try problem.solve(tolerance: 1e-12)
        XCTAssertLessThanOrEqual(solution.dualityGap, solution.targetGap)
        XCTAssertGreaterThan(solution.supportSize, 0)
        // KKT: g = Xᵀ(Xw − y)/n + λ₂Lw; g_j = −λ₁ sign(w_j) on the support, |g_j| ≤ λ₁ off it.
        let w = solution.weights, n = Double(x.rows)
        let r = zip(try x.multiply(w), y).map { $0 - $1 }
        let lw = try chain.laplacian.multiply(w)
        let g = zip(try x.multiplyTransposed(r), lw).map { $0 / n + lambda2 * $1 }
        for j in 0..<60 {
            if w[j] != 0 { XCTAssertEqual(g[j], -lambda1 * (w[j] > 0 ? 1 : -1), accuracy: 1e-5 * lambda1, "feature \(j)") }
            else { XCTAssertLessThanOrEqual(abs(g[j]), lambda1 * (1 + 1e-5), "feature \(j)") }
        }
        let h = try problem.hypergradient(at: w, validation: xv, validationTargets: yv)
        let fd = try problem.finiteDifference(of: try HeldOutLoss(design: xv.toCSC(), loss: SquaredError(targets: yv)), at: solution, step: 1e-5,
                                              tolerance: 1e-14)
        XCTAssertEqual(h.gradient[0], try XCTUnwrap(fd[0]), accuracy: 1e-6 * abs(fd[0]!))
        XCTAssertEqual(h.gradient[1], try XCTUnwrap(fd[1]), accuracy: 1e-6 * abs(fd[1]!))
        XCTAssertThrowsError(try GraphNet(design: x, targets: y, featureGraph: try WeightedGraph.grid(rows: 2, columns: 2), lambda1: 1, lambda2: 1))
    }
}
