import Foundation
import ImplicitSparse
import XCTest
@testable import PETScBackend

/// The parallel reader and the distributed graph problem on one rank (the whole file is this
/// rank's byte range), against the single-process readers and `GraphLeastSquares`. Their
/// multi-rank behaviour is tested through `isparse-mpi` (MultiRankTests).
final class DistributedReadTests: XCTestCase {
    override func setUpWithError() throws {
        try PETSc.initialize()
    }

    func temporary(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-petsc-\(getpid())-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func assertSameRows(_ block: DistributedMatrixMarket.RowBlock, _ matrix: CSRMatrix, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(block.rowPointers.map(Int.init), matrix.rowPointers, file: file, line: line)
        XCTAssertEqual(block.columnIndices, matrix.columnIndices, file: file, line: line)
        for (a, b) in zip(block.values, matrix.values) { XCTAssertEqual(a, b, accuracy: 1e-15 * max(1, abs(b)), file: file, line: line) }
    }

    func testEveryLayoutReadsAsMatrixMarketReads() throws {
        let files = [
            // general with duplicates, comments, blank lines, a last line without newline
            "%%MatrixMarket matrix coordinate real general\n% c\n4 5 6\n1 1 1.5\n\n2 3 -2\n% mid\n4 5 1e-3\n2 3 0.5\n3 1 7\n1 5 2",
            "%%MatrixMarket matrix coordinate real symmetric\n3 3 4\n1 1 4\n2 1 -1\n3 2 -1\n3 3 4\n",
            "%%MatrixMarket matrix coordinate integer skew-symmetric\n3 3 2\n2 1 3\n3 1 -4\n",
            "%%MatrixMarket matrix coordinate pattern general\n3 3 3\n1 2\n2 3\n3 1\n",
        ]
        for (k, text) in files.enumerated() {
            let path = try temporary("layout-\(k).mtx", text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let block = try DistributedMatrixMarket.read(path: path)
            let reference = try MatrixMarket.read(path: path)
            XCTAssertEqual(block.partition.globalRows, reference.matrix.rows)
            XCTAssertEqual(block.columns, reference.matrix.columns)
            XCTAssertEqual(block.storedEntries, reference.storedEntries)
            assertSameRows(block, reference.matrix)
        }
    }

    func testAdjacencyReadsAsWeightedGraphReads() throws {
        let text = "%%MatrixMarket matrix coordinate real general\n5 5 7\n1 2 1\n2 1 3\n3 3 9\n4 2 0\n5 1 2\n2 4 1.5\n1 5 2\n"
        let path = try temporary("adjacency.mtx", text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let graph = try DistributedGraph.read(path: path)
        let reference = try WeightedGraph.read(path: path)
        XCTAssertEqual(graph.edgeCount, reference.edgeCount)
        XCTAssertEqual(graph.notes, reference.notes)
        let l = graph.laplacian
        XCTAssertEqual(l.rowPointers.map(Int.init), reference.laplacian.rowPointers)
        XCTAssertEqual(l.columnIndices, reference.laplacian.columnIndices)
        for (a, b) in zip(l.values, reference.laplacian.values) { XCTAssertEqual(a, b, accuracy: 1e-14) }
    }

    func testMalformedFilesNameTheirLine() throws {
        let cases: [(String, String)] = [
            ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 3 1\n", ":4: index (2, 3) out of range"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 inf\n", ":4: value is NaN or infinite"),
            ("%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 2 1\n", ":3: entry (1, 2) above the diagonal"),
            ("%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n2 2 1\n", "the file has 2 entries, the size line declares 3"),
            ("%%MatrixMarket matrix array real general\n2 1\n1\n2\n", ":1: parallel reading needs the coordinate layout"),
            ("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", ":1: unsupported field 'complex'"),
            ("not a banner\n", ":1: expected the banner"),
        ]
        for (k, (text, expected)) in cases.enumerated() {
            let path = try temporary("bad-\(k).mtx", text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            XCTAssertThrowsError(try DistributedMatrixMarket.read(path: path)) { error in
                guard let failure = error as? DistributedFailure else { return XCTFail("\(error)") }
                XCTAssertTrue(failure.isInput)
                XCTAssertTrue(failure.message.contains(expected), "\(failure.message) should contain \(expected)")
            }
        }
        // gzip: refused with the reason.
        let gz = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-petsc-\(getpid()).mtx.gz").path
        try MatrixMarket.write(try CSRMatrix.identity(3), to: gz)
        defer { try? FileManager.default.removeItem(atPath: gz) }
        XCTAssertThrowsError(try DistributedMatrixMarket.read(path: gz)) { error in
            XCTAssertTrue("\(error)".contains("gunzip it first"), "\(error)")
        }
    }

    func testDistributedGraphLeastSquaresOnOneRankEqualsGraphLeastSquares() throws {
        let (rows, columns) = (40, 30)
        let y = Datasets.gridSignal(rows: rows, columns: columns, seed: 2)
        let split = try GraphData.nodeSplit(nodes: rows * columns, training: nil, validation: nil, validationFraction: 0.3, seed: 2)
        let reference = try GraphLeastSquares(data: try GraphData(graph: try WeightedGraph.grid(rows: rows, columns: columns), signal: y,
                                                                  training: split.training), lambda: 2, epsilon: 0.1)
        let direct = LinearSolveStrategy(solver: CholeskySolver())
        let x = try reference.solve(strategy: direct).x
        let expected = try reference.hypergradient(at: x, validation: split.validation, strategy: direct)
        let graph = try DistributedGraph.grid(rows: rows, columns: columns)
        XCTAssertEqual(graph.laplacian.values, try WeightedGraph.grid(rows: rows, columns: columns).laplacian.values)
        var mask = [Double](repeating: 0, count: rows * columns), validation = [Bool](repeating: false, count: rows * columns)
        for i in split.training { mask[i] = 1 }
        for i in split.validation { validation[i] = true }
        let problem = try DistributedGraphLeastSquares(graph: graph, trainingMask: mask, signal: y, validationMask: validation,
                                                       lambda: 2, epsilon: 0.1)
        // PETSc's CG + GAMG and the library's own CG + Jacobi, through one strategy each: the
        // same RootSolution path.
        let solvers: [any LinearSolver] = [PETScSolver(.cg, preconditioner: .gamg, options: KrylovOptions(relativeTolerance: 1e-12)),
                                           KrylovSolver(.cg, preconditioner: .jacobi, options: KrylovOptions(relativeTolerance: 1e-12))]
        for solver in solvers {
            let strategy = LinearSolveStrategy(solver: solver)
            let solution = try problem.solve(strategy: strategy)
            XCTAssertLessThan(solution.relativeResidual, 1e-11, solver.name)
            let h = try problem.hypergradient(at: solution.x, strategy: strategy)
            XCTAssertEqual(h.validationLoss, expected.value, accuracy: 1e-10 * expected.value)
            XCTAssertEqual(h.logLambda, expected.gradient[0], accuracy: 1e-10 * abs(expected.gradient[0]), solver.name)
            XCTAssertEqual(try XCTUnwrap(h.logEpsilon), expected.gradient[1], accuracy: 1e-10 * abs(expected.gradient[1]), solver.name)
            XCTAssertLessThan(h.adjointResidual, 1e-11, solver.name)
            XCTAssertLessThan(h.conditionResidual, 1e-9, solver.name)
            // The adjoint reused the solve's prepared state (one preparation in all).
            XCTAssertEqual(strategy.counts.preparations, 1, solver.name)
        }
        // Wrong lengths and a NaN signal are typed errors naming what is wrong.
        XCTAssertThrowsError(try DistributedGraphLeastSquares(graph: graph, trainingMask: [1], signal: y, validationMask: validation,
                                                              lambda: 2, epsilon: 0))
        var bad = y
        bad[17] = .nan
        XCTAssertThrowsError(try DistributedGraphLeastSquares(graph: graph, trainingMask: mask, signal: bad, validationMask: validation,
                                                              lambda: 2, epsilon: 0)) { error in
            XCTAssertTrue("\(error)".contains("node 18"), "\(error)")
        }
    }
}
