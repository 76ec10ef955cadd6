import XCTest
@testable import Sparse

/// Column and row colorings of sparsity patterns (structurally orthogonal groups) and the
/// Jacobian recovered from one product per color, against the matrix itself: the products are
/// computed by the library's SpMV on the true matrix, and the decompressed matrix must equal it
/// exactly (each recovered entry is the only nonzero of its color in its row, times 1).
final class JacobianColoringTests: XCTestCase {
    /// A design shaped like real data: power-law column frequencies, plus duplicated columns
    /// (identical patterns must get different colors).
    func testColoringsRecoverAPowerLawMatrixExactly() throws {
        let base = try CSRMatrix.randomPowerLaw(rows: 2_000, columns: 1_500, nonzerosPerRow: 6, seed: 4)
        // Duplicate the 20 most frequent columns into the last 20 (same rows, other values).
        var builder = try COOBuilder(rows: base.rows, columns: base.columns + 20)
        let csc = base.toCSC()
        let pointers = csc.columnPointers
        let counts: [Int] = (0..<base.columns).map { pointers[$0 + 1] - pointers[$0] }
        let frequent: [Int] = Array((0..<base.columns).sorted { counts[$0] > counts[$1] }.prefix(20))
        for i in 0..<base.rows {
            for k in base.rowPointers[i]..<base.rowPointers[i + 1] {
                let j = Int(base.columnIndices[k])
                try builder.append(row: i, column: j, value: base.values[k])
                if let d = frequent.firstIndex(of: j) { try builder.append(row: i, column: base.columns + d, value: 2 * base.values[k] + 1) }
            }
        }
        let a = builder.makeCSR()
        let longestRow = (0..<a.rows).map { a.rowPointers[$0 + 1] - a.rowPointers[$0] }.max()!
        let columnColoring = JacobianColoring(a, kind: .columns)
        XCTAssertTrue(columnColoring.isValid)
        XCTAssertGreaterThanOrEqual(columnColoring.colorCount, longestRow)
        XCTAssertLessThan(columnColoring.colorCount, a.columns / 4, "a useful compression")
        for (d, j) in frequent.enumerated() {
            XCTAssertNotEqual(columnColoring.colors[j], columnColoring.colors[base.columns + d], "a duplicated column shares its twin's rows")
        }
        let byColumns = try columnColoring.evaluate { try a.multiply($0) }
        XCTAssertEqual(byColumns.rowPointers, a.rowPointers)
        XCTAssertEqual(byColumns.columnIndices, a.columnIndices)
        XCTAssertEqual(byColumns.values, a.values)

        let rowColoring = JacobianColoring(a, kind: .rows)
        XCTAssertTrue(rowColoring.isValid)
        let longestColumn = (0..<a.columns).map { a.toCSC().columnPointers[$0 + 1] - a.toCSC().columnPointers[$0] }.max()!
        XCTAssertGreaterThanOrEqual(rowColoring.colorCount, longestColumn)
        let byRows = try rowColoring.evaluate { try a.multiplyTransposed($0) }
        XCTAssertEqual(byRows.values, a.values)
    }

    /// Known counts: a tridiagonal matrix needs exactly 3 colors; the 5-point grid Laplacian
    /// needs at least 5 (a row has 5 nonzeros) and greedy largest-first stays close.
    func testColorCountsOnStructuredPatterns() throws {
        let tridiagonal = try CSRMatrix.gridLaplacian(dimensions: [50], shift: 1)
        let t = JacobianColoring(tridiagonal)
        XCTAssertTrue(t.isValid)
        XCTAssertEqual(t.colorCount, 3)
        let grid = try CSRMatrix.gridLaplacian2D(40, shift: 1)
        let g = JacobianColoring(grid)
        XCTAssertTrue(g.isValid)
        XCTAssertGreaterThanOrEqual(g.colorCount, 5)
        XCTAssertLessThanOrEqual(g.colorCount, 8)
        XCTAssertEqual(try g.evaluate { try grid.multiply($0) }.values, grid.values)
        // A dense row forces one color per column.
        var builder = try COOBuilder(rows: 3, columns: 6)
        for j in 0..<6 { try builder.append(row: 1, column: j, value: Double(j + 1)) }
        try builder.append(row: 0, column: 0, value: 1)
        let dense = builder.makeCSR()
        XCTAssertEqual(JacobianColoring(dense).colorCount, 6)
        XCTAssertEqual(JacobianColoring(dense, kind: .rows).colorCount, 2)
    }

    /// Wrong products are refused with the place named; a wrong coloring is caught by `isValid`.
    func testDecompressionErrors() throws {
        let a = try CSRMatrix.gridLaplacian2D(6, shift: 1)
        let coloring = JacobianColoring(a)
        XCTAssertThrowsError(try coloring.decompress([])) { error in
            XCTAssertTrue("\(error)".contains("one per color"), "\(error)")
        }
        var products = try (0..<coloring.colorCount).map { try a.multiply(coloring.seed($0)) }
        products[0] = products[0].map { _ in .nan }
        XCTAssertThrowsError(try coloring.decompress(products)) { error in
            guard case SparseError.nonFinite = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try coloring.decompress(products.map { Array($0.dropLast()) }))
    }

    /// Star coloring of symmetric patterns shaped like real graphs (a power-law graph with hubs,
    /// a random tree, a grid): a valid star coloring (checked by brute force over every path on
    /// four vertices on the small ones), fewer colors than the distance-2 column coloring, and
    /// the matrix recovered exactly from H·s_c.
    func testStarColoringRecoversSymmetricMatricesExactly() throws {
        var random = SplitMix64(seed: 21)
        let tree: CSRMatrix = try {
            // A random recursive tree (heavy-tailed degrees near the root) plus 1 on the diagonal.
            let n = 3_000
            var builder = try COOBuilder(rows: n, columns: n)
            for v in 1..<n {
                let parent = Int(random.nextUniform() * Double(v))
                let w = random.nextGaussian()
                try builder.append(row: v, column: parent, value: w)
                try builder.append(row: parent, column: v, value: w)
            }
            for v in 0..<n { try builder.append(row: v, column: v, value: 4 + random.nextUniform()) }
            return builder.makeCSR()
        }()
        let cases: [(String, CSRMatrix)] = [
            ("power-law graph", try CSRMatrix.randomPowerLawGraph(nodes: 4_000, edges: 12_000, exponent: 2.2, seed: 5).addingIdentity(scaledBy: 3)),
            ("random tree", tree),
            ("grid", try CSRMatrix.gridLaplacian2D(60, shift: 0.5)),
        ]
        for (name, h) in cases {
            let star = JacobianColoring(h, kind: .symmetric)
            let distanceTwo = JacobianColoring(h, kind: .columns)
            XCTAssertTrue(star.isValid, name)
            XCTAssertLessThanOrEqual(star.colorCount, distanceTwo.colorCount, name)
            let recovered = try star.evaluate { try h.multiply($0) }
            XCTAssertEqual(recovered.columnIndices, h.columnIndices, name)
            for k in 0..<h.nonzeroCount {
                XCTAssertEqual(recovered.values[k], h.values[k], accuracy: 1e-13 * max(1, abs(h.values[k])), "\(name) entry \(k)")
            }
            print("\(name): star \(star.colorCount) colors, distance-2 \(distanceTwo.colorCount)")
        }
        // A tree is star-coloured with few colors whatever its largest degree (the hub of a
        // random recursive tree has degree ~ log n; a distance-2 coloring needs degree + 1).
        XCTAssertLessThan(JacobianColoring(tree, kind: .symmetric).colorCount, JacobianColoring(tree, kind: .columns).colorCount)

        // Brute force on small random graphs: every path on four vertices uses ≥ 3 colors.
        for seed in 1...20 as ClosedRange<UInt64> {
            let h = try CSRMatrix.randomPowerLawGraph(nodes: 40, edges: 90, exponent: 2.1, seed: seed).addingIdentity(scaledBy: 1)
            let star = JacobianColoring(h, kind: .symmetric)
            let c = star.colors
            func neighbours(_ v: Int) -> [Int] { (h.rowPointers[v]..<h.rowPointers[v + 1]).map { Int(h.columnIndices[$0]) }.filter { $0 != v } }
            for a in 0..<h.rows {
                for b in neighbours(a) {
                    XCTAssertNotEqual(c[a], c[b], "seed \(seed): adjacent \(a), \(b)")
                    for d in neighbours(b) where d != a {
                        for e in neighbours(d) where e != b && e != a {
                            XCTAssertGreaterThanOrEqual(Set([c[a], c[b], c[d], c[e]]).count, 3, "seed \(seed): path \(a)-\(b)-\(d)-\(e)")
                        }
                    }
                }
            }
            let recovered = try star.evaluate { try h.multiply($0) }
            for k in 0..<h.nonzeroCount { XCTAssertEqual(recovered.values[k], h.values[k], accuracy: 1e-13 * max(1, abs(h.values[k]))) }
        }
        // A pattern that is not structurally symmetric is not a star coloring's input: invalid.
        let unsymmetric = try CSRMatrix(rows: 3, columns: 3, rowPointers: [0, 2, 3, 4], columnIndices: [0, 1, 1, 2], values: [1, 1, 1, 1])
        XCTAssertFalse(JacobianColoring(unsymmetric, kind: .symmetric).isValid)
    }
}
