import XCTest
@testable import Preconditioners
import Sparse

/// The policy's low-fill elimination order and CHOLMOD's analysis in a given order, against
/// independent computations: CHOLMOD's own AMD analysis (the factor's size), the residual of
/// the solve, and the definition of a permutation and of a postorder.
final class LowFillOrderTests: XCTestCase {
    func laplacianPlusIdentity(_ w: CSRMatrix, scale: Double = 1, shift: Double = 1) throws -> CSRMatrix {
        var builder = try COOBuilder(rows: w.rows, columns: w.columns)
        for i in 0..<w.rows {
            var degree = 0.0
            for k in w.rowPointers[i]..<w.rowPointers[i + 1] where Int(w.columnIndices[k]) != i {
                try builder.append(row: i, column: Int(w.columnIndices[k]), value: -scale * w.values[k])
                degree += scale * w.values[k]
            }
            try builder.append(row: i, column: i, value: shift + degree)
        }
        return builder.makeCSR().declaringSymmetric()
    }

    func assertPermutation(_ order: [Int], _ n: Int, _ message: String) {
        XCTAssertEqual(order.count, n, message)
        XCTAssertEqual(Set(order).count, n, message)
        XCTAssertEqual(order.min(), 0, message); XCTAssertEqual(order.max(), n - 1, message)
    }

    /// A given order is used as given: a tree in the series reduction's order fills at most one
    /// entry per node eliminated between two others (at most n + 2(n − 1) factor nonzeros),
    /// in the reverse order (roots first) it fills far more; the factor solves.
    func testGivenOrderIsUsedAndSolves() throws {
        let n = 2000
        let star = try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: 0, seed: 5)
        let a = try laplacianPlusIdentity(star)
        let structure = AutomaticLinearSolver.eliminationStructure(a, lowFill: (8, 1000))
        let low = try XCTUnwrap(structure.lowFill)
        XCTAssertEqual(low.core, 0)
        assertPermutation(low.order, n, "tree")
        let leavesFirst = try CholeskyFactorization(symmetric: a, permutation: low.order)
        XCTAssertGreaterThanOrEqual(leavesFirst.predictedFactorNonzeros, n + (n - 1))
        XCTAssertLessThanOrEqual(leavesFirst.predictedFactorNonzeros, n + 2 * (n - 1), "at most one fill per node")
        XCTAssertLessThanOrEqual(Double(leavesFirst.predictedFactorNonzeros), low.factorNonzeros, "the policy's bound")
        XCTAssertEqual(leavesFirst.ordering, .given)
        let rootsFirst = try CholeskyFactorization(symmetric: a, permutation: Array(low.order.reversed()))
        XCTAssertGreaterThan(rootsFirst.predictedFactorNonzeros, 4 * n, "the reversed order fills: it was not replaced")
        try leavesFirst.factorize()
        let b = (0..<n).map { Double($0 % 7) - 3 }
        let x = try leavesFirst.solve(b)
        let r = zip(try a.apply(x), b).map { $0 - $1 }
        XCTAssertLessThan(Vector.norm(r), 1e-12 * Vector.norm(b))
    }

    func testGivenOrderRejectsWhatIsNotAPermutation() throws {
        let a = try laplacianPlusIdentity(try CSRMatrix.randomTreeLikeGraph(nodes: 10, extraEdges: 2, seed: 1))
        for (bad, expected) in [([0, 1, 2], "length 3"), ([0, 1, 2, 3, 4, 5, 6, 7, 8, 8], "repeated"), ([0, 1, 2, 3, 4, 5, 6, 7, 8, 10], "out of range")] {
            XCTAssertThrowsError(try CholeskyFactorization(symmetric: a, permutation: bad)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    /// Graphs of local cycles hung on a tree have a low-fill order whose factor is within a
    /// few per cent of AMD's (CHOLMOD's analysis with its own ordering); random long cycles
    /// (whose core outgrows the limit at 10⁵ nodes) and meshes have none; postordering keeps
    /// the fill exactly.
    func testLowFillOrderExistsExactlyWhereTheFactorIsSmall() throws {
        let n = 20_000
        let local = try laplacianPlusIdentity(try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: n / 10, bipartite: true, seed: 1),
                                              scale: 100)
        let low = try XCTUnwrap(AutomaticLinearSolver.eliminationStructure(local, lowFill: (8, 1000)).lowFill)
        assertPermutation(low.order, n, "bipartite tree-like")
        let amd = try CholeskyFactorization(symmetric: local, ordering: .amd)
        let given = try CholeskyFactorization(symmetric: local, permutation: low.order)
        XCTAssertLessThan(Double(given.predictedFactorNonzeros), 1.15 * Double(amd.predictedFactorNonzeros),
                          "given \(given.predictedFactorNonzeros), AMD \(amd.predictedFactorNonzeros)")
        // The prediction the policy prices with bounds CHOLMOD's count from above.
        XCTAssertGreaterThanOrEqual(low.factorNonzeros, Double(given.predictedFactorNonzeros))
        // The order is postordered, and postordering kept the fill: the raw order (the
        // structure recomputed without postorder) has the same factor, and in the returned one
        // every elimination subtree is contiguous — the tree recomputed independently of the
        // policy's own (Liu's algorithm on the matrix in that order).
        let raw = try XCTUnwrap(AutomaticLinearSolver.eliminationStructure(local, lowFill: (8, 1000), postordered: false).lowFill)
        XCTAssertNotEqual(raw.order, low.order)
        let rawFactor = try CholeskyFactorization(symmetric: local, permutation: raw.order)
        XCTAssertEqual(rawFactor.predictedFactorNonzeros, given.predictedFactorNonzeros, "a postorder keeps the fill")
        /// Elimination subtrees (Liu's algorithm on the matrix in `order`) that are contiguous:
        /// children come before parents, so one forward pass accumulates subtree sizes and
        /// first descendants, and a subtree is contiguous exactly when it fills first…k.
        func contiguousSubtrees(_ order: [Int]) -> Int {
            var position = [Int](repeating: 0, count: n)
            for (k, v) in order.enumerated() { position[v] = k }
            var parent = [Int](repeating: -1, count: n), ancestor = [Int](repeating: -1, count: n)
            for k in 0..<n {
                let v = order[k]
                for slot in local.rowPointers[v]..<local.rowPointers[v + 1] {
                    var i = position[Int(local.columnIndices[slot])]
                    while i != -1 && i < k { let next = ancestor[i]; ancestor[i] = k; if next == -1 { parent[i] = k }; i = next }
                }
            }
            var firstDescendant = Array(0..<n), size = [Int](repeating: 1, count: n), contiguous = 0
            for k in 0..<n {
                if size[k] == k - firstDescendant[k] + 1 { contiguous += 1 }
                guard parent[k] != -1 else { continue }
                firstDescendant[parent[k]] = min(firstDescendant[parent[k]], firstDescendant[k])
                size[parent[k]] += size[k]
            }
            return contiguous
        }
        XCTAssertEqual(contiguousSubtrees(low.order), n, "every elimination subtree contiguous: a postorder")
        XCTAssertLessThan(contiguousSubtrees(raw.order), n, "the raw order is not one (the check can fail)")
        let large = 100_000
        for (name, w) in [("power-law", try CSRMatrix.randomPowerLawGraph(nodes: large, edges: 3 * large / 2, exponent: 2.2, seed: 1)),
                          ("tree-like with random edges", try CSRMatrix.randomTreeLikeGraph(nodes: large, extraEdges: large / 10, seed: 1))] {
            let structure = AutomaticLinearSolver.eliminationStructure(try laplacianPlusIdentity(w), lowFill: (8, 1000))
            XCTAssertTrue(structure.lowFill == nil, "\(name): core \(structure.lowFill?.core ?? -1)")
            XCTAssertGreaterThan(structure.kernel.nodes, 1000, name)
        }
        // A mesh is not even looked at (its rows have three or four neighbours).
        XCTAssertNil(AutomaticLinearSolver().elimination(try CSRMatrix.gridLaplacian2D(100, shift: 1)))
    }

    /// The policy: CHOLMOD in the low-fill order for a hard system on such a graph (the probe
    /// stopped at its early look), Jacobi-CG for an easy one on the same graph (λ small: the
    /// matrix is close to its diagonal); both solve to the tolerance.
    func testPolicyTakesTheLowFillOrderOnlyWhenItPays() throws {
        let n = 100_000
        let w = try CSRMatrix.randomTreeLikeGraph(nodes: n, extraEdges: n / 10, bipartite: true, seed: 2)
        let b = (0..<n).map { sin(Double($0) / 97) }
        for (scale, method) in [(100.0, "cholesky"), (0.01, "cg")] {
            let a = try laplacianPlusIdentity(w, scale: scale, shift: 0.01)
            var policy = AutomaticLinearSolver(options: KrylovOptions(relativeTolerance: 1e-10))
            policy.expectedSolves = 2
            let state = try policy.prepare(a)
            let outcome = try state.solve(b, transposed: false, initialGuess: nil)
            XCTAssertEqual(state.method, method, "λ = \(scale): \(state.reason)")
            if method == "cholesky" {
                XCTAssertTrue(state.reason.contains("low-fill elimination order"), state.reason)
                XCTAssertTrue(state.reason.contains("5-iteration Jacobi-CG probe"), state.reason)
            }
            let r = zip(try a.apply(outcome.solution), b).map { $0 - $1 }
            XCTAssertLessThan(Vector.norm(r), 1e-9 * Vector.norm(b), "λ = \(scale)")
            // The second solve (the adjoint's) reuses the choice.
            let again = try state.solve(b.map { -$0 }, transposed: true, initialGuess: nil)
            XCTAssertLessThan(Vector.norm(zip(again.solution, outcome.solution).map { $0 + $1 }), 1e-8 * Vector.norm(outcome.solution))
        }
    }
}
