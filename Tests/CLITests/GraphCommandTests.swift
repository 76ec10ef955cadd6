import XCTest
import Foundation

/// `isparse solve|hypergrad graph-ls|graph-tv|graphnet`: answers checked against the
/// optimality conditions computed here from the files, `--check` agreements, and bad input
/// giving one line and the documented exit code.
final class GraphCommandTests: XCTestCase {
    /// A ring of 30 nodes with chords (weights 1–3), a signal, training and validation nodes.
    func ringProblem() -> (graph: String, signal: String, train: String, val: String, edges: [(Int, Int, Double)], y: [Double]) {
        var edges: [(Int, Int, Double)] = []
        for i in 0..<30 { edges.append((i, (i + 1) % 30, 1 + Double(i % 3))) }
        for i in stride(from: 0, to: 30, by: 7) { edges.append((i, (i + 11) % 30, 0.5)) }
        let y = (0..<30).map { i in (sin(Double(i) / 4) * 1000).rounded() / 1000 + (i < 12 ? 1 : 0) }
        let graph = write("# ring with chords\n" + edges.map { "\($0.0 + 1) \($0.1 + 1) \($0.2)" }.joined(separator: "\n") + "\n", "ring.txt")
        let signal = write(y.map { "\($0)" }.joined(separator: "\n") + "\n", "ring-y.txt")
        let train = write((1...30).filter { $0 % 4 != 0 }.map(String.init).joined(separator: "\n") + "\n", "ring-train.txt")
        let val = write((1...30).filter { $0 % 4 == 0 }.map(String.init).joined(separator: "\n") + "\n", "ring-val.txt")
        return (graph, signal, train, val, edges, y)
    }

    func readVector(_ path: String) throws -> [Double] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("%") }
        return lines.dropFirst().map { Double($0.trimmingCharacters(in: .whitespaces))! }
    }

    /// graph-ls: x written by `solve` satisfies (m + ε)x + λLx = my (checked here from the
    /// edge list), and `hypergrad --check` agrees in log λ and log ε.
    func testGraphLeastSquaresSolveAndCheck() throws {
        let p = ringProblem()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-ring-x.mtx").path
        let solved = try run(["solve", "graph-ls", "--graph", p.graph, "--signal", p.signal, "--train", p.train,
                              "--lambda", "0.7", "--epsilon", "0.01", "--output", out, "--json"])
        XCTAssertEqual(solved.code, 0, solved.err)
        let object = try json(solved.out)
        XCTAssertEqual(object["nodes"] as? Int, 30)
        XCTAssertEqual(object["edges"] as? Int, 35)
        let x = try readVector(out)
        var residual = [Double](repeating: 0, count: 30)
        for i in 0..<30 {
            let trained = (i + 1) % 4 != 0
            residual[i] = trained ? 1.01 * x[i] - p.y[i] : 0.01 * x[i]
        }
        for (i, j, w) in p.edges {
            residual[i] += 0.7 * w * (x[i] - x[j])
            residual[j] += 0.7 * w * (x[j] - x[i])
        }
        XCTAssertLessThan(residual.map(abs).max()!, 1e-9)
        let checked = try run(["hypergrad", "graph-ls", "--graph", p.graph, "--signal", p.signal, "--train", p.train, "--val", p.val,
                               "--lambda", "0.7", "--epsilon", "0.01", "--check", "--json"])
        XCTAssertEqual(checked.code, 0, checked.err)
        let h = try json(checked.out)
        XCTAssertLessThan(try XCTUnwrap(h["relativeDifference"] as? Double), 1e-6)
        let gradient = try XCTUnwrap(h["gradient"] as? [String: Any]), fd = try XCTUnwrap(h["finiteDifferenceGradient"] as? [String: Any])
        let e = try XCTUnwrap(gradient["logEpsilon"] as? Double), fe = try XCTUnwrap(fd["logEpsilon"] as? Double)
        XCTAssertEqual(e, fe, accuracy: 1e-6 * abs(fe))
        XCTAssertEqual(h["validationNodes"] as? Int, 7)
        XCTAssertNotNil(h["linearSolverReason"] as? String)
    }

    /// graph-tv on the built-in grid signal: certified, exactly fused, `--check` within 1e-5.
    func testGraphTotalVariationCheck() throws {
        let result = try run(["hypergrad", "graph-tv", "--grid", "14x14", "--lambda", "0.1", "--epsilon", "0.05", "--check", "--json"])
        XCTAssertEqual(result.code, 0, result.err)
        let h = try json(result.out)
        XCTAssertLessThan(try XCTUnwrap(h["relativeDifference"] as? Double), 1e-5)
        XCTAssertEqual(h["polished"] as? Bool, true)
        let groups = try XCTUnwrap(h["groups"] as? Int)
        XCTAssertTrue((2..<196).contains(groups), "\(groups) groups")
        XCTAssertNotNil((h["gradient"] as? [String: Any])?["logEpsilon"] as? Double)
        // --uncertified: the groups of the tolerance-level solve, said in a note.
        let fast = try run(["hypergrad", "graph-tv", "--grid", "14x14", "--lambda", "0.1", "--epsilon", "0.05", "--uncertified", "--json"])
        XCTAssertEqual(fast.code, 0, fast.err)
        XCTAssertTrue((try json(fast.out)["solveNotes"] as? String)?.contains("--uncertified") ?? false, fast.out)
        // Without --epsilon the validation nodes make the fit non-unique: exit 3 with the hint.
        let refused = try run(["hypergrad", "graph-tv", "--grid", "14x14", "--lambda", "0.1"])
        XCTAssertEqual(refused.code, 3)
        XCTAssertTrue(refused.err.contains("--epsilon"), refused.err)
        XCTAssertEqual(refused.err.split(separator: "\n").count, 1)
    }

    /// graphnet: `--check` agrees in both hyperparameters.
    func testGraphNetCheck() throws {
        var lines: [String] = []
        var state: UInt64 = 7
        func uniform() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) }
        for _ in 0..<200 {
            var features: [Int: Double] = [:]
            for j in 0..<25 where uniform() < 0.35 / (1 + Double(j) / 8) { features[j] = 1 }
            let y = (0..<12).reduce(0.0) { $0 + (features[$1] ?? 0) * sin(Double($1) / 3) } + 0.1 * (uniform() - 0.5)
            lines.append(String(format: "%.6f", y) + features.keys.sorted().map { " \($0 + 1):1" }.joined())
        }
        let data = write(lines.joined(separator: "\n") + "\n", "graphnet.svm")
        let chain = write((1..<25).map { "\($0) \($0 + 1)" }.joined(separator: "\n") + "\n", "graphnet-chain.txt")
        let result = try run(["hypergrad", "graphnet", "--data", data, "--feature-graph", chain, "--lambda2", "0.05", "--check", "--json"])
        XCTAssertEqual(result.code, 0, result.err)
        let h = try json(result.out)
        XCTAssertLessThan(try XCTUnwrap(h["relativeDifference"] as? Double), 1e-6)
        let gradient = try XCTUnwrap(h["gradient"] as? [String: Any]), fd = try XCTUnwrap(h["finiteDifferenceGradient"] as? [String: Any])
        let d2 = try XCTUnwrap(gradient["logLambda2"] as? Double), f2 = try XCTUnwrap(fd["logLambda2"] as? Double)
        XCTAssertEqual(d2, f2, accuracy: 1e-6 * abs(f2))
    }

    /// Bad input: one line naming the file and line, exit 2 (input) or 3 (numerical) or 1 (usage).
    func testGraphBadInput() throws {
        let p = ringProblem()
        func expect(_ arguments: [String], code: Int32, contains text: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try run(arguments)
            XCTAssertEqual(result.code, code, result.err, file: file, line: line)
            XCTAssertTrue(result.err.contains(text), "\(result.err) lacks \(text)", file: file, line: line)
            XCTAssertEqual(result.err.split(separator: "\n").count, 1, result.err, file: file, line: line)
            XCTAssertTrue(result.out.isEmpty, result.out, file: file, line: line)
        }
        let negative = write("1 2 1\n2 3 1\n3 1 -2\n", "neg-graph.txt")
        try expect(["solve", "graph-ls", "--graph", negative, "--signal", p.signal, "--lambda", "1"], code: 2, contains: "neg-graph.txt:3")
        let outside = write("1 2\n2 40\n", "outside-graph.txt")
        try expect(["solve", "graph-ls", "--graph", outside, "--signal", p.signal, "--lambda", "1"], code: 2, contains: "the graph has 40 nodes")
        let short = write("1\n2\n", "short-y.txt")
        try expect(["solve", "graph-ls", "--graph", p.graph, "--signal", short, "--lambda", "1"], code: 2, contains: "short-y.txt:3")
        let badTrain = write("1\n31\n", "bad-train.txt")
        try expect(["solve", "graph-ls", "--graph", p.graph, "--signal", p.signal, "--train", badTrain, "--lambda", "1"], code: 2, contains: "bad-train.txt:2")
        try expect(["hypergrad", "graph-ls", "--graph", p.graph, "--signal", p.signal, "--train", p.train, "--val", p.train, "--lambda", "1"],
                   code: 2, contains: "also a training node")
        // Two components, training nodes in one only, ε = 0: not unique.
        let split = write("1 2\n2 3\n4 5\n", "two-components.txt")
        let y5 = write("1\n2\n3\n4\n5\n", "y5.txt"), t3 = write("1\n3\n", "t3.txt")
        try expect(["solve", "graph-ls", "--graph", split, "--signal", y5, "--train", t3, "--lambda", "1"], code: 3, contains: "--epsilon")
        try expect(["solve", "graph-ls", "--graph", p.graph, "--lambda", "1"], code: 1, contains: "--signal")
        try expect(["solve", "graph-ls", "--grid", "10by10", "--lambda", "1"], code: 1, contains: "--grid")
        try expect(["solve", "graph-ls", "--grid", "10x10", "--lambda", "-1"], code: 1, contains: "--lambda")
        try expect(["solve", "graph-tv", "--grid", "10x10", "--lambda", "1", "--val-fraction", "0.2"], code: 3, contains: "--epsilon")
    }

    /// The solver vocabulary on the graph commands: --solver cholesky / cg+amg and the older
    /// --linear-solver amg give the same derivative and print the spec in the JSON; both at once
    /// and a malformed spec are usage errors.
    func testSolverSpecOnTheGraphCommands() throws {
        var values: [Double] = []
        for arguments in [["--solver", "cholesky"], ["--solver", "cg+amg"], ["--linear-solver", "amg"], ["--solver", "minres+jacobi"]] {
            let r = try run(["hypergrad", "graph-ls", "--grid", "20x20", "--lambda", "1", "--json"] + arguments)
            XCTAssertEqual(r.code, 0, r.err)
            let object = try json(r.out)
            let expected = arguments[1] == "amg" ? "cg+amg" : arguments[1]
            XCTAssertEqual(object["linearSolver"] as? String, expected)
            values.append(try XCTUnwrap(object["hypergradient"] as? Double))
        }
        for v in values { XCTAssertEqual(v, values[0], accuracy: 1e-8 * abs(values[0])) }
        XCTAssertEqual(try run(["hypergrad", "graph-ls", "--grid", "20x20", "--lambda", "1", "--solver", "cholesky", "--linear-solver", "cg"]).code, 1)
        XCTAssertEqual(try run(["hypergrad", "graph-ls", "--grid", "20x20", "--lambda", "1", "--solver", "cg+gamg"]).code, 1)
        let lin = try run(["linsolve", "--grid", "20", "--solver", "cg+amg", "--json"])
        XCTAssertEqual(lin.code, 0, lin.err)
        XCTAssertEqual(try json(lin.out)["linearSolver"] as? String, "cg+amg")
        XCTAssertEqual(try run(["linsolve", "--grid", "20", "--solver", "cg", "--method", "lu"]).code, 1)
    }
}
