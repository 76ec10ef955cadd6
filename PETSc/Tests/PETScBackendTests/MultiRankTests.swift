import Foundation
import ImplicitSparse
import XCTest

/// `mpirun -np K isparse-mpi …` with K = 1, 2, 3 against the single-process library on the
/// same data: graph-ls on a grid and on a heavy-tailed power-law graph file (10⁴ nodes), a
/// linear solve of an unsymmetric file, and bad input on one rank failing every rank with one
/// message and no hang. Skips, saying so, when mpirun is missing.
final class MultiRankTests: XCTestCase {
    var binary: URL {
        var dir = Bundle(for: MultiRankTests.self).bundleURL
        while dir.pathExtension == "xctest" || dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("isparse-mpi")
    }

    var mpirun: String? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("isparse-mpi-\(getpid())-\(name)").path
    }

    /// Runs `isparse-mpi` on `ranks` ranks; fails the test (and kills the run) after `timeout`.
    func run(ranks: Int, _ arguments: [String], timeout: Double = 120) throws -> (code: Int32, out: String, err: String) {
        let mpirun = try XCTUnwrap(mpirun)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-q", "--allow-run-as-root", "--oversubscribe", "-np", String(ranks), binary.path] + arguments
        // Without the MPI singleton's own variables: the in-process tests initialize MPI in this
        // process, and a child mpirun that inherits them takes itself for part of that job.
        process.environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !["OMPI_", "PMIX_", "OPAL_", "ORTE_"].contains { key.hasPrefix($0) }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        // The pipes drained on two threads while this one watches the clock.
        let outData = Collected(), errData = Collected()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { outData.data = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            XCTFail("mpirun -np \(ranks) \(arguments.joined(separator: " ")) did not finish within \(timeout) s (a hang)")
        }
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, String(decoding: outData.data, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    override func setUpWithError() throws {
        try XCTSkipIf(mpirun == nil, "mpirun not found (apt-get install openmpi-bin): the multi-rank tests need it")
    }

    func relative(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-300) }

    func readVector(_ path: String) throws -> [Double] { try MatrixMarket.readDense(path: path).values }

    /// The single-process answer on the built-in grid problem (isparse's signal and split for
    /// `seed`): x* and the hypergradient by `GraphLeastSquares` with CHOLMOD.
    func gridReference(rows: Int, columns: Int, seed: UInt64, validationFraction: Double, lambda: Double, epsilon: Double) throws
        -> (x: [Double], split: (train: [Int], validation: [Int]), reference: Hypergradient<[Double]>) {
        let g = try WeightedGraph.grid(rows: rows, columns: columns)
        let y = Datasets.gridSignal(rows: rows, columns: columns, seed: seed)
        let split = try Datasets.split(rows: g.nodeCount, validationFraction: validationFraction, seed: seed)
        let problem = try GraphLeastSquares(data: try GraphData(graph: g, signal: y, training: split.train), lambda: lambda, epsilon: epsilon)
        let direct = LinearSolveStrategy(solver: CholeskySolver())
        let x = try problem.solve(strategy: direct).x
        return (x, (split.train, split.validation), try problem.hypergradient(at: x, validation: split.validation, strategy: direct))
    }

    /// The built-in grid problem: 1, 2, 3 ranks equal `GraphLeastSquares` with CHOLMOD.
    func testGraphLSOnAGridMatchesTheSingleProcessPathOnOneTwoThreeRanks() throws {
        let (rows, columns) = (100, 120)
        let (x, split, reference) = try gridReference(rows: rows, columns: columns, seed: 3, validationFraction: 0.25, lambda: 3, epsilon: 0.02)
        for ranks in 1...3 {
            let output = temporary("grid-x-\(ranks).mtx")
            defer { try? FileManager.default.removeItem(atPath: output) }
            let result = try run(ranks: ranks, ["hypergrad", "graph-ls", "--grid", "\(rows)x\(columns)", "--seed", "3", "--val-fraction", "0.25",
                                                "--lambda", "3", "--epsilon", "0.02", "--output", output, "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            XCTAssertEqual(object["ranks"] as? Int, ranks)
            XCTAssertEqual(object["nodes"] as? Int, rows * columns)
            XCTAssertEqual(object["validationNodes"] as? Int, split.validation.count)
            XCTAssertLessThan(relative(try XCTUnwrap(object["validationLoss"] as? Double), reference.value), 1e-8, "\(ranks) ranks")
            let gradient = try XCTUnwrap(object["gradient"] as? [String: Any])
            XCTAssertLessThan(relative(try XCTUnwrap(gradient["logLambda"] as? Double), reference.gradient[0]), 1e-9, "\(ranks) ranks")
            XCTAssertLessThan(relative(try XCTUnwrap(gradient["logEpsilon"] as? Double), reference.gradient[1]), 1e-9, "\(ranks) ranks")
            XCTAssertLessThan(try XCTUnwrap(object["relativeResidual"] as? Double), 1e-9)
            let written = try readVector(output)
            XCTAssertEqual(written.count, x.count)
            let error = zip(written, x).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(error, 1e-8 * x.map(abs).max()!, "\(ranks) ranks: x*")
        }
    }

    /// A power-law graph with heavy-tailed degrees, written as a Matrix Market adjacency file
    /// with its entries shuffled (every rank's byte range holds rows of every rank), read in
    /// parallel, split by PETSc (`none`), in nonzero-balanced blocks or by PT-Scotch; BoomerAMG, GAMG,
    /// GMRES and Jacobi-CG give the single-process answer.
    func testGraphLSOnAPowerLawGraphFileMatchesOnOneTwoThreeRanks() throws {
        let g = try WeightedGraph.powerLaw(nodes: 10_000, edges: 30_000, exponent: 2.2, seed: 11)
        let degrees = (0..<g.nodeCount).map { g.laplacian.values[g.diagonalPosition[$0]] }
        XCTAssertGreaterThan(degrees.max()!, 30 * degrees.reduce(0, +) / Double(degrees.count), "heavy-tailed degrees")
        // Entries of the lower triangle, shuffled, with a comment line and weights in (0.5, 1.5).
        var entries: [String] = []
        var rng = SplitMix64(seed: 4)
        g.forEachEdge { _, i, j, _ in
            entries.append("\(max(i, j) + 1) \(min(i, j) + 1) \(0.5 + Double(rng.next() % 1000) / 1000)")
        }
        for k in stride(from: entries.count - 1, to: 0, by: -1) { entries.swapAt(k, Int(rng.next() % UInt64(k + 1))) }
        let graphPath = temporary("powerlaw.mtx"), signalPath = temporary("powerlaw-signal.mtx")
        defer { try? FileManager.default.removeItem(atPath: graphPath); try? FileManager.default.removeItem(atPath: signalPath) }
        let text = "%%MatrixMarket matrix coordinate real symmetric\n% shuffled power-law graph\n\(g.nodeCount) \(g.nodeCount) \(entries.count)\n"
            + entries.joined(separator: "\n") + "\n"
        try text.write(toFile: graphPath, atomically: true, encoding: .utf8)
        let signal = (0..<g.nodeCount).map { sin(0.003 * Double($0)) + 0.2 * cos(7 * Double($0)) }
        try MatrixMarket.writeDense(signal, rows: signal.count, to: signalPath)
        // The single-process reference reads the same files.
        let graph = try WeightedGraph.read(path: graphPath)
        let split = try Datasets.split(rows: g.nodeCount, validationFraction: 0.2, seed: 0)
        let problem = try GraphLeastSquares(data: try GraphData(graph: graph, signal: try GraphFiles.readSignal(path: signalPath, nodes: g.nodeCount),
                                                                training: split.train), lambda: 0.5, epsilon: 0.1)
        let direct = LinearSolveStrategy(solver: CholeskySolver())
        let xReference = try problem.solve(strategy: direct).x
        let reference = try problem.hypergradient(at: xReference, validation: split.validation, strategy: direct)
        for (ranks, solver, partition) in [(1, "cg+gamg", "balanced"), (2, "cg+boomeramg", "balanced"), (3, "cg+gamg", "ptscotch"),
                                           (3, "gmres+jacobi", "balanced"), (2, "cg+jacobi", "none"), (2, "cg+jacobi", "ptscotch")] {
            let result = try run(ranks: ranks, ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", signalPath, "--lambda", "0.5",
                                                "--epsilon", "0.1", "--solver", solver, "--partition", partition, "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            XCTAssertEqual(object["edges"] as? Int, g.edgeCount)
            // On more than one rank, balanced row blocks and PT-Scotch's renumbering shrink the
            // heaviest rank's nonzeros (balanced: to within a row of an equal share), and
            // PT-Scotch's halo too (the file's rows are in the generator's order, hubs first).
            let chosen = ranks == 1 ? "none" : partition
            XCTAssertEqual(object["partitioner"] as? String, chosen)
            XCTAssertEqual(object["nodeData"] as? String, "whole", "a seeded split is built whole on every rank")
            if chosen != "none" {
                let before = try XCTUnwrap(object["partitionBefore"] as? [String: Any]), after = try XCTUnwrap(object["partition"] as? [String: Any])
                let most = try XCTUnwrap(after["nonzerosPerRankMax"] as? Int), least = try XCTUnwrap(after["nonzerosPerRankMin"] as? Int)
                XCTAssertLessThan(most, try XCTUnwrap(before["nonzerosPerRankMax"] as? Int), "\(ranks) ranks, \(chosen)")
                if chosen == "balanced" { XCTAssertLessThan(Double(most - least), 0.02 * Double(most), "\(ranks) ranks: equal shares") }
                if chosen == "ptscotch" {
                    XCTAssertLessThan(try XCTUnwrap(after["ghostsPerProductTotal"] as? Int), try XCTUnwrap(before["ghostsPerProductTotal"] as? Int), "\(ranks) ranks")
                }
            }
            let gradient = try XCTUnwrap(object["gradient"] as? [String: Any])
            XCTAssertLessThan(relative(try XCTUnwrap(gradient["logLambda"] as? Double), reference.gradient[0]), 1e-9, "\(ranks) ranks, \(solver)")
            XCTAssertLessThan(relative(try XCTUnwrap(gradient["logEpsilon"] as? Double), reference.gradient[1]), 1e-9, "\(ranks) ranks, \(solver)")
            XCTAssertLessThan(relative(try XCTUnwrap(object["validationLoss"] as? Double), reference.value), 1e-10)
        }
        // Balanced blocks keep the file's node numbers: x* is written in the file's order.
        let written = temporary("powerlaw-x.mtx")
        defer { try? FileManager.default.removeItem(atPath: written) }
        let balanced = try run(ranks: 3, ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", signalPath, "--lambda", "0.5",
                                          "--epsilon", "0.1", "--solver", "cg+jacobi", "--rtol", "1e-12", "--partition", "balanced",
                                          "--output", written, "--json"])
        XCTAssertEqual(balanced.code, 0, balanced.err)
        XCTAssertEqual(try json(balanced.out)["partitioner"] as? String, "balanced")
        let x = try readVector(written)
        XCTAssertEqual(x.count, xReference.count)
        XCTAssertLessThan(zip(x, xReference).map { abs($0 - $1) }.max()! / xReference.map(abs).max()!, 1e-9)
        // PT-Scotch renumbers the nodes: with --partition ptscotch, --output is refused.
        let refused = try run(ranks: 2, ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", signalPath, "--lambda", "0.5",
                                         "--epsilon", "0.1", "--partition", "ptscotch", "--output", temporary("never.mtx")], timeout: 60)
        XCTAssertEqual(refused.code, 1, refused.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temporary("never.mtx")))
    }

    /// The library's own Krylov methods on the distributed matrix (`--backend library`: the
    /// sums of CG go through the matrix's vector space), and graph-ls through `RootSolution`
    /// on 1, 2 and 3 ranks: the single-process hypergradient to 1e-10 (measured ≈ 1e-12: the arithmetic differs
    /// only in the order of the reductions), the adjoint certified by its global residual.
    func testTheLibrarysKrylovMethodsAndRootSolutionOnDistributedRows() throws {
        let (rows, columns) = (90, 70)
        let (_, _, reference) = try gridReference(rows: rows, columns: columns, seed: 5, validationFraction: 0.2, lambda: 2, epsilon: 0.05)
        for ranks in 1...3 {
            for solver in ["cg+jacobi", "minres+jacobi", "gmres+jacobi", "bicgstab"] {
                let result = try run(ranks: ranks, ["hypergrad", "graph-ls", "--grid", "\(rows)x\(columns)", "--seed", "5", "--val-fraction", "0.2",
                                                    "--lambda", "2", "--epsilon", "0.05", "--backend", "library", "--solver", solver,
                                                    "--rtol", "1e-12", "--json"])
                XCTAssertEqual(result.code, 0, "\(ranks) ranks, \(solver): \(result.err)")
                let object = try json(result.out)
                XCTAssertEqual(object["linearSolver"] as? String, solver == "bicgstab" ? "bicgstab" : solver)
                let gradient = try XCTUnwrap(object["gradient"] as? [String: Any])
                XCTAssertLessThan(relative(try XCTUnwrap(gradient["logLambda"] as? Double), reference.gradient[0]), 1e-10, "\(ranks) ranks, \(solver)")
                XCTAssertLessThan(relative(try XCTUnwrap(gradient["logEpsilon"] as? Double), reference.gradient[1]), 1e-10, "\(ranks) ranks, \(solver)")
                XCTAssertLessThan(relative(try XCTUnwrap(object["validationLoss"] as? Double), reference.value), 1e-10)
                XCTAssertLessThan(try XCTUnwrap(object["relativeResidual"] as? Double), 1e-11, "\(ranks) ranks, \(solver)")
                XCTAssertLessThan(try XCTUnwrap(object["adjointResidual"] as? Double), 1e-11, "\(ranks) ranks, \(solver)")
                XCTAssertLessThan(try XCTUnwrap(object["conditionResidual"] as? Double), 1e-9, "\(ranks) ranks, \(solver)")
            }
            // A linear solve by the library's CG on the distributed grid: x = 1 for b = A·1.
            let linear = try run(ranks: ranks, ["linsolve", "--grid", "60", "--backend", "library", "--solver", "cg+jacobi", "--rtol", "1e-12", "--json"])
            XCTAssertEqual(linear.code, 0, linear.err)
            let object = try json(linear.out)
            XCTAssertLessThan(try XCTUnwrap(object["maxErrorAgainstOnes"] as? Double), 1e-9)
            XCTAssertEqual(object["method"] as? String, "cg")
        }
        // Multigrid on a distributed matrix is PETSc's: a usage error with the library.
        let refused = try run(ranks: 2, ["linsolve", "--grid", "10", "--backend", "library", "--solver", "cg+gamg"], timeout: 60)
        XCTAssertEqual(refused.code, 1, refused.err)
        XCTAssertEqual(refused.err.components(separatedBy: "--backend library takes").count - 1, 1, refused.err)
    }

    /// An unsymmetric general file read by byte ranges, GMRES on 1–3 ranks against UMFPACK.
    func testLinsolveOfAnUnsymmetricFileMatchesUMFPACK() throws {
        let base = try CSRMatrix.gridLaplacian2D(40, shift: 1)
        var builder = try COOBuilder(rows: base.rows, columns: base.columns, reservingCapacity: base.nonzeroCount)
        for i in 0..<base.rows {
            for k in base.rowPointers[i]..<base.rowPointers[i + 1] {
                let j = Int(base.columnIndices[k])
                try builder.append(row: i, column: j, value: base.values[k] * (j == i + 1 ? 0.5 : 1))
            }
        }
        let a = builder.makeCSR()
        let path = temporary("unsymmetric.mtx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try MatrixMarket.write(a, to: path)
        let exact = try LinearSolveStrategy(solver: LUSolver()).solve(a, try a.multiply([Double](repeating: 1, count: a.columns)))
        for ranks in 1...3 {
            let out = temporary("unsymmetric-x-\(ranks).mtx")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let result = try run(ranks: ranks, ["linsolve", path, "--solver", "gmres+jacobi", "--rtol", "1e-12", "--out", out, "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            XCTAssertEqual(object["nonzeros"] as? Int, a.nonzeroCount)
            XCTAssertEqual(object["status"] as? String, "converged")
            let x = try readVector(out)
            XCTAssertLessThan(zip(x, exact).map { abs($0 - $1) }.max()!, 1e-8, "\(ranks) ranks")
        }
    }

    /// `linsolve --rhs` on 1 and 2 ranks: the answer equals CHOLMOD's for that b, and the JSON
    /// has isparse linsolve's keys (the same names for the same things; PETSc's extras after).
    func testLinsolveWithARightHandSideAndTheSameJSONKeys() throws {
        let a = try CSRMatrix.gridLaplacian2D(30, shift: 0.5).declaringSymmetric()
        let path = temporary("spd.mtx"), rhs = temporary("rhs.mtx")
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: rhs) }
        try MatrixMarket.write(a, to: path, symmetry: .symmetric)
        let b = (0..<a.rows).map { sin(0.3 * Double($0)) + 0.2 }
        try MatrixMarket.writeDense(b, rows: b.count, to: rhs)
        let exact = try LinearSolveStrategy(solver: CholeskySolver()).solve(a, b)
        for ranks in 1...2 {
            let out = temporary("rhs-x-\(ranks).mtx")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let result = try run(ranks: ranks, ["linsolve", path, "--rhs", rhs, "--solver", "cg+jacobi", "--rtol", "1e-12", "--out", out, "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            for key in ["matrix", "rows", "columns", "nonzeros", "linearSolver", "method", "reason", "preconditioner", "status",
                        "iterations", "relativeResidual", "seconds"] {
                XCTAssertNotNil(object[key], "isparse linsolve's key \(key) missing")
            }
            let seconds = try XCTUnwrap(object["seconds"] as? [String: Any])
            for key in ["read", "analyze", "factorize", "setup", "solve", "total"] { XCTAssertNotNil(seconds[key], key) }
            XCTAssertEqual(object["linearSolver"] as? String, "cg+jacobi")
            XCTAssertNil(object["maxErrorAgainstOnes"], "b is not A·1")
            let x = try readVector(out)
            XCTAssertLessThan(zip(x, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!, 1e-9, "\(ranks) ranks")
        }
        let short = temporary("short.mtx")
        defer { try? FileManager.default.removeItem(atPath: short) }
        try MatrixMarket.writeDense([1, 2, 3], rows: 3, to: short)
        let bad = try run(ranks: 2, ["linsolve", path, "--rhs", short, "--solver", "cg+jacobi"])
        XCTAssertEqual(bad.code, 2, bad.err)
        XCTAssertTrue(bad.err.contains("short.mtx"), bad.err)
    }

    /// A bad line in the last rank's byte range: every rank stops, exit 2, one error line
    /// naming the file line, within the timeout.
    func testBadInputOnOneRankFailsEveryRankWithOneMessage() throws {
        let a = try CSRMatrix.gridLaplacian2D(30, shift: 1)
        let path = temporary("bad.mtx")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try MatrixMarket.write(a, to: path)
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let badLine = lines.count - 5  // 0-based index near the end: in the last rank's range
        lines[badLine] = "17 x 1.0"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        for ranks in [1, 3] {
            let result = try run(ranks: ranks, ["linsolve", path], timeout: 60)
            XCTAssertEqual(result.code, 2, "\(ranks) ranks: \(result.err)")
            // One line in all (mpirun -q adds none of its own).
            XCTAssertEqual(result.err.split(separator: "\n").count, 1, result.err)
            XCTAssertTrue(result.err.hasPrefix("error: "), result.err)
            XCTAssertTrue(result.err.contains(":\(badLine + 1):"), result.err)
            XCTAssertTrue(result.out.isEmpty, result.out)
        }
        // A missing file, a NaN value, a count that differs from the size line.
        let missing = try run(ranks: 2, ["linsolve", temporary("no-such.mtx")], timeout: 60)
        XCTAssertEqual(missing.code, 2)
        XCTAssertEqual(missing.err.split(separator: "\n").count, 1, missing.err)
        lines[badLine] = "17 1 nan"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let nan = try run(ranks: 2, ["linsolve", path], timeout: 60)
        XCTAssertEqual(nan.code, 2)
        XCTAssertTrue(nan.err.contains("NaN or infinite") && nan.err.contains(":\(badLine + 1):"), nan.err)
        lines.remove(at: badLine)
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let short = try run(ranks: 3, ["linsolve", path], timeout: 60)
        XCTAssertEqual(short.code, 2)
        XCTAssertTrue(short.err.contains("the size line declares"), short.err)
        // A solver that cannot converge: exit 3, one line.
        let limited = try run(ranks: 2, ["linsolve", "--grid", "50", "--solver", "cg", "--max-iter", "3"], timeout: 60)
        XCTAssertEqual(limited.code, 3, limited.err)
        XCTAssertEqual(limited.err.split(separator: "\n").count, 1, limited.err)
        XCTAssertTrue(limited.err.contains("did not converge"), limited.err)
        // Help prints once, on stdout, exit 0.
        let help = try run(ranks: 2, ["hypergrad", "graph-ls", "--help"], timeout: 60)
        XCTAssertEqual(help.code, 0, help.err)
        XCTAssertEqual(help.out.components(separatedBy: "USAGE:").count - 1, 1, help.out)
        XCTAssertTrue(help.err.isEmpty, help.err)
        // Usage errors print once.
        let usage = try run(ranks: 3, ["linsolve", "--grid", "10", "--solver", "lu"], timeout: 60)
        XCTAssertEqual(usage.code, 1)
        XCTAssertEqual(usage.err.components(separatedBy: "--solver must be").count - 1, 1, usage.err)
    }

    /// Node files read by byte ranges (a signal with comments and blank lines, training and
    /// validation node lists): graph-ls on 1, 2, 3 ranks, row blocks as PETSc splits them and
    /// balanced, equals `GraphLeastSquares` on the same files to 1e-9; a node listed twice, a
    /// node in both lists and a short signal fail every rank with the file's line.
    func testNodeFilesReadByRangesGiveTheSingleProcessAnswer() throws {
        let g = try WeightedGraph.powerLaw(nodes: 3000, edges: 9000, exponent: 2.2, seed: 7)
        let graphPath = temporary("nodes-graph.mtx"), signalPath = temporary("nodes-signal.txt")
        let trainPath = temporary("nodes-train.txt"), valPath = temporary("nodes-val.txt"), badPath = temporary("nodes-bad.txt")
        defer { for p in [graphPath, signalPath, trainPath, valPath, badPath] { try? FileManager.default.removeItem(atPath: p) } }
        try MatrixMarket.write(g.adjacency, to: graphPath)
        let n = g.nodeCount
        let signal = (0..<n).map { sin(0.01 * Double($0)) + 0.1 * cos(5 * Double($0)) }
        var signalLines = ["# a signal with comments", ""]
        for (i, v) in signal.enumerated() { signalLines.append(String(v)); if i % 500 == 0 { signalLines.append("% a comment") } }
        try (signalLines.joined(separator: "\n") + "\n").write(toFile: signalPath, atomically: true, encoding: .utf8)
        var rng = SplitMix64(seed: 12)
        var order = Array(0..<n)
        for k in stride(from: n - 1, to: 0, by: -1) { order.swapAt(k, Int(rng.next() % UInt64(k + 1))) }
        let validation = Array(order[0..<600]), training = Array(order[600..<2400])
        try (training.map { String($0 + 1) }.joined(separator: "\n") + "\n").write(toFile: trainPath, atomically: true, encoding: .utf8)
        try ("# validation nodes\n" + validation.map { String($0 + 1) }.joined(separator: "\n") + "\n").write(toFile: valPath, atomically: true, encoding: .utf8)
        let problem = try GraphLeastSquares(data: try GraphData(graph: try WeightedGraph.read(path: graphPath),
                                                                signal: try GraphFiles.readSignal(path: signalPath, nodes: n),
                                                                training: try GraphFiles.readNodes(path: trainPath, nodes: n)),
                                            lambda: 0.5, epsilon: 0.1)
        let direct = LinearSolveStrategy(solver: CholeskySolver())
        let x = try problem.solve(strategy: direct).x
        let reference = try problem.hypergradient(at: x, validation: try GraphFiles.readNodes(path: valPath, nodes: n), strategy: direct)
        let common = ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", signalPath, "--val", valPath, "--lambda", "0.5",
                      "--epsilon", "0.1", "--solver", "cg+jacobi", "--rtol", "1e-12", "--json"]
        for (ranks, partition) in [(1, "none"), (2, "none"), (3, "balanced")] {
            let result = try run(ranks: ranks, common + ["--train", trainPath, "--partition", partition])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            XCTAssertEqual(object["nodeData"] as? String, "ranges")
            XCTAssertEqual(object["trainNodes"] as? Int, training.count)
            XCTAssertEqual(object["validationNodes"] as? Int, validation.count)
            let gradient = try XCTUnwrap(object["gradient"] as? [String: Any])
            XCTAssertLessThan(relative(try XCTUnwrap(gradient["logLambda"] as? Double), reference.gradient[0]), 1e-9, "\(ranks) ranks")
            XCTAssertLessThan(relative(try XCTUnwrap(gradient["logEpsilon"] as? Double), reference.gradient[1]), 1e-9, "\(ranks) ranks")
        }
        // Without --train: every node not in the validation list trains.
        let complement = try run(ranks: 2, common)
        XCTAssertEqual(complement.code, 0, complement.err)
        XCTAssertEqual(try json(complement.out)["trainNodes"] as? Int, n - validation.count)
        // A node listed twice (the later line named), a node in both lists, a short signal.
        try ("# validation nodes\n" + validation.map { String($0 + 1) }.joined(separator: "\n") + "\n\(validation[3] + 1)\n")
            .write(toFile: badPath, atomically: true, encoding: .utf8)
        let twice = try run(ranks: 3, ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", signalPath, "--val", badPath,
                                       "--lambda", "0.5", "--epsilon", "0.1"], timeout: 60)
        XCTAssertEqual(twice.code, 2, twice.err)
        XCTAssertTrue(twice.err.contains(":\(validation.count + 2):") && twice.err.contains("listed twice"), twice.err)
        try ("\(training[5] + 1)\n" + validation.map { String($0 + 1) }.joined(separator: "\n") + "\n").write(toFile: badPath, atomically: true, encoding: .utf8)
        let both = try run(ranks: 2, ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", signalPath, "--val", badPath,
                                      "--train", trainPath, "--lambda", "0.5", "--epsilon", "0.1"], timeout: 60)
        XCTAssertNotEqual(both.code, 0)
        XCTAssertTrue(both.err.contains("node \(training[5] + 1) is also a training node"), both.err)
        try (signal.dropLast(3).map { String($0) }.joined(separator: "\n") + "\n").write(toFile: badPath, atomically: true, encoding: .utf8)
        let short = try run(ranks: 3, ["hypergrad", "graph-ls", "--graph", graphPath, "--signal", badPath, "--val", valPath,
                                       "--lambda", "0.5", "--epsilon", "0.1"], timeout: 60)
        XCTAssertEqual(short.code, 2, short.err)
        XCTAssertTrue(short.err.contains(":\(n - 2):") && short.err.contains("the file ends after \(n - 3) values"), short.err)
    }

    /// `isparse-mpi hypergrad lasso|enet` on 1, 2 and 3 ranks against the single-process path
    /// of `isparse hypergrad` (the same library calls: `LIBSVM.read`, isparse's split,
    /// `RegularizedLeastSquares` solved by coordinate descent on every row, `LassoAdjoint`)
    /// on binary text-like data with duplicated and dependent columns: λ_max, the validation
    /// loss and d loss / d log λ to 1e-8 (measured ≈ 1e-12: the solutions differ by the two
    /// solvers' tolerances), the gap certified; a gzip file through the streaming fallback; a
    /// bad line in the last rank's range failing every rank with its line; cd refused.
    func testLassoHypergradientOnRowsOverOneTwoThreeRanksEqualsTheSingleProcessPath() throws {
        let g = try Datasets.binaryTextLike(rows: 3000, columns: 2000, nonzerosPerRow: 15, duplicateColumns: 50,
                                            dependentColumns: 50, informative: 60, seed: 3)
        let path = temporary("lasso.svm"), gz = temporary("lasso.svm.gz"), bad = temporary("lasso-bad.svm")
        defer { for p in [path, gz, bad] { try? FileManager.default.removeItem(atPath: p) } }
        try LIBSVM.write(features: g.features, targets: g.targets, to: path)
        try LIBSVM.write(features: g.features, targets: g.targets, to: gz)
        let read = try LIBSVM.read(path: path)
        let split = try Datasets.split(rows: read.features.rows, validationFraction: 0.2, seed: 0)
        let train = try read.features.selectingRows(split.train), yTrain = split.train.map { read.targets[$0] }
        let held = try read.features.selectingRows(split.validation), yHeld = split.validation.map { read.targets[$0] }
        for (model, ranks, file, intercept) in [("lasso", 1, path, true), ("lasso", 2, path, true), ("lasso", 3, path, false),
                                                ("enet", 2, gz, true)] {
            let penalty: RegularizedLeastSquares.Penalty = model == "lasso" ? .lasso : .elasticNet(l1Ratio: 0.5)
            let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: train, targets: yTrain, penalty: penalty, fitIntercept: intercept)
            let problem = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: penalty, lambda: lambdaMax / 20,
                                                      fitIntercept: intercept)
            let w = try problem.solve(tolerance: 1e-13).weights
            let reference = try problem.hypergradient(at: w, validation: held, validationTargets: yHeld,
                                                      strategy: LinearSolveStrategy(.automatic, options: KrylovOptions(relativeTolerance: 1e-10)))
            XCTAssertGreaterThan(reference.supportSize ?? 0, 10)
            let result = try run(ranks: ranks, ["hypergrad", model, "--data", file, "--tol", "1e-12", "--lambda-ratio", "20", "--json"]
                                 + (intercept ? ["--fit-intercept"] : []))
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            let label = "\(model), \(ranks) ranks, \(file.hasSuffix(".gz") ? "gzip" : "plain"), intercept \(intercept)"
            XCTAssertEqual(object["ranks"] as? Int, ranks)
            XCTAssertEqual(object["trainRows"] as? Int, train.rows, label)
            XCTAssertEqual(object["validationRows"] as? Int, held.rows, label)
            XCTAssertEqual(object["innerSolver"] as? String, "ws")
            XCTAssertLessThan(relative(try XCTUnwrap(object["lambdaMax"] as? Double), lambdaMax), 1e-12, label)
            XCTAssertLessThanOrEqual(try XCTUnwrap(object["dualityGap"] as? Double), 1e-12 * problem.centered.gapScale, label)
            XCTAssertLessThan(relative(try XCTUnwrap(object["validationLoss"] as? Double), reference.value), 1e-8, label)
            XCTAssertLessThan(relative(try XCTUnwrap(object["hypergradient"] as? Double), reference.gradient), 1e-8, label)
        }
        // tune lasso on 2 ranks: the library's Tuner on the single-process held-out criterion
        // (coordinate descent) takes the same outer steps to the same best λ — to the inner
        // solves' accuracy: a relative gap ε leaves the fitted values √ε-close (the two
        // solvers stop at different points), so 1e-11 gives ≈ 3e-6. (Below ≈ 1e-12 the
        // working sets' Gram-matrix gap is at its rounding floor on these supports: such a
        // solve ends not converged, with its gap.)
        let criterion = try HeldOutRegression(design: train, targets: yTrain, validation: held, validationTargets: yHeld,
                                              fitIntercept: true, tolerance: 1e-11)
        var outer = Tuner.defaultOptions
        outer.maxIterations = 20
        outer.relativeDecrease = 1e-4
        let top = log(criterion.lambdaMax)
        let tuned = try Tuner(optimizer: BoundedLBFGS(), options: outer)
            .tune(criterion, from: criterion.theta(lambda: criterion.lambdaMax / 10), bounds: TuningBounds(lower: [top - log(1e4)], upper: [top]))
        let tune = try run(ranks: 2, ["tune", "lasso", "--data", path, "--tol", "1e-11", "--fit-intercept", "--quiet", "--json"])
        XCTAssertEqual(tune.code, 0, tune.err)
        let tuneObject = try json(tune.out)
        XCTAssertEqual(tuneObject["iterations"] as? Int, tuned.trajectory.count - 1)
        XCTAssertLessThan(relative(try XCTUnwrap(tuneObject["lambda"] as? Double), exp(tuned.best[0])), 2e-5)
        XCTAssertLessThan(relative(try XCTUnwrap(tuneObject["criterionValue"] as? Double), tuned.bestValue), 2e-5)
        // A bad value near the end of the file (the last rank's range): exit 2, one line, its number.
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let badLine = lines.count - 4
        lines[badLine] = "1.5 3:0.5 7:x"
        try lines.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let failed = try run(ranks: 3, ["hypergrad", "lasso", "--data", bad], timeout: 60)
        XCTAssertEqual(failed.code, 2, failed.err)
        XCTAssertEqual(failed.err.split(separator: "\n").count, 1, failed.err)
        XCTAssertTrue(failed.err.contains(":\(badLine + 1):"), failed.err)
        // The index base and the width are the whole file's: a 0 index only in the last
        // rank's rows makes every rank read 0-based, and a `columns=` declaration on rank 0's
        // first line widens every rank's rows (as LIBSVM.read decides).
        var rng = SplitMix64(seed: 9)
        var crafted = ["# isparse: columns=12"]
        for i in 0..<60 {
            let a = 1 + Int(rng.next() % 3), b = 4 + Int(rng.next() % 2)
            crafted.append("\(Double(i % 7) - 3) \(a):1 \(b):\(0.5 + Double(i % 5))" + (i == 59 ? " 0:1" : ""))
        }
        try (crafted.joined(separator: "\n") + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let single = try LIBSVM.read(path: bad)
        XCTAssertEqual(single.indexBase, 0)
        let decided = try run(ranks: 3, ["hypergrad", "lasso", "--data", bad, "--json"], timeout: 60)
        XCTAssertEqual(decided.code, 0, decided.err)
        XCTAssertEqual(try json(decided.out)["features"] as? Int, single.features.columns)
        XCTAssertEqual(single.features.columns, 12)
        let cd = try run(ranks: 2, ["hypergrad", "lasso", "--data", path, "--solver", "cd"], timeout: 60)
        XCTAssertEqual(cd.code, 1, cd.err)
        XCTAssertTrue(cd.err.contains("one reduction per coordinate"), cd.err)
    }
}

/// Bytes read by one thread and read after `DispatchGroup.wait()` by another.
final class Collected: @unchecked Sendable {
    var data = Data()
}
