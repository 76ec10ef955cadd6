import XCTest
import Foundation

/// `isparse data convert`, `data generate` and `bench --quick`: round trips through the CLI,
/// refusals with their exit codes, the generators' statistics, the benchmark table.
final class DataConvertTests: XCTestCase {
    func temporary(_ name: String) -> String { FileManager.default.temporaryDirectory.path + "/isparse-cli-\(getpid())-\(name)" }

    func dataLines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    func testConvertRoundTripsWithLabelsAndRefusals() throws {
        let input = write("1 1:0.1 4:-2.5e+17\n-1 2:0.3333333333333333\n0.5\n1 3:1e-300 6:7\n", "conv-in.svm")
        let (npz, mtx, back, labels) = (temporary("conv.npz"), temporary("conv.mtx.gz"), temporary("conv-back.svm"), temporary("conv-y.npy"))
        var r = try run(["data", "convert", input, npz, "--labels", labels])
        XCTAssertEqual(r.code, 0, r.err)
        r = try run(["data", "convert", npz, mtx, "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let object = try json(r.out)
        XCTAssertEqual(object["rows"] as? Int, 4)
        XCTAssertEqual(object["columns"] as? Int, 6)
        XCTAssertEqual(object["nonzeros"] as? Int, 5)
        r = try run(["data", "convert", mtx, back, "--labels", labels])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertEqual(try dataLines(back), try dataLines(input))
        // Without labels a LIBSVM output gets 0 and says so.
        r = try run(["data", "convert", npz, temporary("nolabels.svm")])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.err.contains("label 0"), r.err)
        // Refusals: unknown extension and labels with no side to travel to (usage, 1); an
        // unsymmetric matrix as an edge list, a labels file of the wrong length (input, 2).
        XCTAssertEqual(try run(["data", "convert", input, temporary("x.parquet")]).code, 1)
        XCTAssertEqual(try run(["data", "convert", input, temporary("x.svm"), "--labels", labels]).code, 1)
        XCTAssertEqual(try run(["data", "convert", npz, temporary("x.mtx"), "--labels", labels]).code, 1)
        r = try run(["data", "convert", input, temporary("x.edges")])
        XCTAssertEqual(r.code, 2, r.err)
        XCTAssertTrue(r.err.contains("edge list"), r.err)
        let short = write("1\n2\n", "conv-short.txt")
        r = try run(["data", "convert", npz, temporary("x2.svm"), "--labels", short])
        XCTAssertEqual(r.code, 2, r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1, r.err)
        // A damaged input names the file, one line, exit 2; the output is not written.
        let damaged = write("PK\u{3}\u{4} not really a zip", "conv-bad.npz")
        let target = temporary("never.mtx")
        r = try run(["data", "convert", damaged, target])
        XCTAssertEqual(r.code, 2, r.err)
        XCTAssertTrue(r.err.contains(damaged), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        // Writing over the input is refused.
        XCTAssertNotEqual(try run(["data", "convert", input, input]).code, 0)
    }

    func testGeneratedRegressionHasTheRequestedStatistics() throws {
        let out = temporary("gen.svm")
        for zipf in [1.0, 1.5] {
            let r = try run(["data", "generate", "regression", "--rows", "20000", "--features", "3000", "--nnz-per-row", "5",
                             "--zipf", "\(zipf)", "--seed", "3", "--out", out, "--json"])
            XCTAssertEqual(r.code, 0, r.err)
            let lines = try dataLines(out)
            XCTAssertEqual(lines.count, 20_000)
            var counts = [Int](repeating: 0, count: 3000)
            var nonzeros = 0
            for line in lines {
                for token in line.split(separator: " ").dropFirst() {
                    counts[Int(token.split(separator: ":")[0])! - 1] += 1
                    nonzeros += 1
                }
            }
            // Row lengths are uniform in 1…9 before repeated draws merge: the mean is a bit under 5
            // (further under for a more skewed law, whose frequent columns repeat within a row).
            let mean = Double(nonzeros) / 20_000
            XCTAssertTrue(mean > (zipf == 1 ? 4.3 : 3) && mean <= 5.05, "mean nonzeros per row \(mean)")
            // log count against log (j + 1) over columns 10…999: slope −zipf.
            let points = (10..<1000).filter { counts[$0] > 0 }.map { (Foundation.log(Double($0 + 1)), Foundation.log(Double(counts[$0]))) }
            let mx = points.map(\.0).reduce(0, +) / Double(points.count), my = points.map(\.1).reduce(0, +) / Double(points.count)
            let slope = points.map { ($0.0 - mx) * ($0.1 - my) }.reduce(0, +) / points.map { ($0.0 - mx) * ($0.0 - mx) }.reduce(0, +)
            XCTAssertEqual(-slope, zipf, accuracy: 0.1, "fitted Zipf exponent")
        }
        // Classification labels are ±1; duplicated columns are exact copies; binary values are 1.
        let r = try run(["data", "generate", "classification", "--rows", "2000", "--features", "400", "--binary",
                         "--duplicate-columns", "10", "--out", temporary("cls.mtx"), "--labels-out", temporary("cls-y.txt")])
        XCTAssertEqual(r.code, 0, r.err)
        let labels = try dataLines(temporary("cls-y.txt")).map { Double($0)! }
        XCTAssertEqual(labels.count, 2000)
        XCTAssertEqual(Set(labels), [-1, 1])
        let entries = try dataLines(temporary("cls.mtx")).filter { !$0.hasPrefix("%") }.dropFirst().map { $0.split(separator: " ") }
        XCTAssertTrue(entries.allSatisfy { $0[2] == "1" })
        var columns: [Int: [Int]] = [:]
        for e in entries { columns[Int(e[1])!, default: []].append(Int(e[0])!) }
        let rareColumns = (391...400).compactMap { columns[$0]?.sorted() }
        XCTAssertEqual(rareColumns.count, 10)
        for column in rareColumns {
            XCTAssertTrue(columns.contains { $0.key <= 390 && $0.value.sorted() == column }, "a duplicated column copies another")
        }
        // Bad parameters: usage errors.
        XCTAssertEqual(try run(["data", "generate", "regression", "--zipf", "0", "--out", out]).code, 1)
        XCTAssertEqual(try run(["data", "generate", "regression", "--out", temporary("x.edges")]).code, 1)
    }

    func testGeneratedGraphs() throws {
        var r = try run(["data", "generate", "graph", "grid", "--rows", "30", "--columns", "40", "--out", temporary("grid.edges"), "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        var object = try json(r.out)
        XCTAssertEqual(object["nodes"] as? Int, 1200)
        XCTAssertEqual(object["edges"] as? Int, 30 * 39 + 29 * 40)
        XCTAssertEqual(object["maxDegree"] as? Int, 4)
        r = try run(["data", "generate", "graph", "power-law", "--nodes", "20000", "--average-degree", "8", "--out", temporary("pl.mtx"), "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        object = try json(r.out)
        let mean = try XCTUnwrap(object["meanDegree"] as? Double), maximum = try XCTUnwrap(object["maxDegree"] as? Int)
        // Merged repeats and dropped self-loops take a little off the mean; the tail is heavy.
        XCTAssertTrue(mean > 6.5 && mean <= 8, "mean degree \(mean)")
        XCTAssertGreaterThan(Double(maximum), 20 * mean, "a heavy-tailed degree distribution")
        // The graph commands read what generate writes.
        XCTAssertEqual(try run(["data", "info", temporary("pl.mtx")]).code, 0)
    }

    func testBenchQuickPrintsItsTableAndSkipsMissingPeers() throws {
        let work = temporary("bench")
        let r = try run(["bench", "spmv", "lasso", "--quick", "--rounds", "2", "--peers", "--python", "/nonexistent/python3",
                         "--work", work, "--json", temporary("bench.json"), "--plot", temporary("bench.svg")])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("isparse bench —") && r.out.contains("cores"), r.out)
        XCTAssertTrue(r.out.contains("OPENBLAS_CORETYPE="), r.out)
        XCTAssertTrue(r.out.contains("spmv") && r.out.contains("lasso, 2000 × 4000"), r.out)
        XCTAssertTrue(r.out.contains("skipped"), r.out)
        let object = try json(try String(contentsOfFile: temporary("bench.json"), encoding: .utf8))
        let cases = try XCTUnwrap(object["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 4)
        for c in cases { XCTAssertEqual((c["oursSeconds"] as? [Double])?.count, 2) }
        XCTAssertTrue(try String(contentsOfFile: temporary("bench.svg"), encoding: .utf8).hasPrefix("<svg"))
        // A saved run re-prints as Markdown (docs/BENCHMARKS.md's form) without running anything.
        let saved = try run(["bench", "--report", temporary("bench.json"), "--markdown"])
        XCTAssertEqual(saved.code, 0, saved.err)
        XCTAssertTrue(saved.out.contains("| suite | case |") && saved.out.contains("| spmv |"), saved.out)
        XCTAssertEqual(try run(["bench", "--report", write("{}", "not-bench.json")]).code, 2)
        XCTAssertEqual(try run(["bench", "nosuch"]).code, 1)
    }

    /// The bench runner's results, not only its format: on the same files, our lasso objective
    /// equals every peer's that ran (scikit-learn in CI: python3-sklearn; skglm and celer where
    /// installed) to 1e-8 relative — each side solves to a duality gap far below that.
    func testBenchResultsAgreeWithThePeers() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import sklearn, scipy, numpy"]
        probe.standardError = FileHandle.nullDevice
        try probe.run(); probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("scikit-learn is not importable (CI installs python3-sklearn)") }
        let r = try run(["bench", "lasso", "--quick", "--rounds", "1", "--peers", "--peer-threads", "1",
                         "--work", temporary("bench-peers"), "--json", temporary("bench-peers.json")])
        XCTAssertEqual(r.code, 0, r.err)
        let object = try json(try String(contentsOfFile: temporary("bench-peers.json"), encoding: .utf8))
        let cases = try XCTUnwrap(object["cases"] as? [[String: Any]])
        XCTAssertFalse(cases.isEmpty)
        func objective(_ detail: String) -> Double? {
            guard let range = detail.range(of: "objective ") else { return nil }
            return Double(detail[range.upperBound...].prefix { !$0.isWhitespace && $0 != "," })
        }
        var compared = 0
        for c in cases {
            let ours = try XCTUnwrap(objective(c["oursDetail"] as? String ?? ""), "\(c)")
            for peer in c["peers"] as? [[String: Any]] ?? [] where peer["skipped"] == nil {
                let theirs = try XCTUnwrap(objective(peer["detail"] as? String ?? ""), "\(peer)")
                XCTAssertEqual(ours, theirs, accuracy: 1e-8 * abs(theirs), "\(c["case"] ?? "") against \(peer["peer"] ?? "")")
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, cases.count, "scikit-learn ran on every case")
    }
}
