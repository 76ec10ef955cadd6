import XCTest
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `isparse tune`: the tuned λ against its own grid, the SVG plot (well-formed XML, one marker
/// per outer iteration), and a Ctrl-C that keeps the outputs.
final class TuneCommandTests: XCTestCase {
    /// A LIBSVM problem with power-law features and a planted sparse truth.
    func dataset(rows: Int = 400) -> String {
        var state: UInt64 = 11
        func uniform() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) }
        var lines: [String] = []
        for _ in 0..<rows {
            var features: [Int: Double] = [:]
            for j in 0..<60 where uniform() < 0.4 / (1 + Double(j) / 6) { features[j] = (uniform() * 2).rounded(toPlaces: 3) }
            var y = 0.3 * (uniform() - 0.5)
            for j in 0..<8 {
                let x: Double = features[j] ?? 0
                y += x * (Double(j % 3) - 1)
            }
            lines.append(String(format: "%.6f", y) + features.keys.sorted().map { " \($0 + 1):\(features[$0]!)" }.joined())
        }
        return write(lines.joined(separator: "\n") + "\n", "tune-\(rows).svm")
    }

    /// Markers of class "iterate" in an SVG that parses as XML.
    func iterateMarkers(_ path: String) throws -> Int {
        let parser = XMLParser(contentsOf: URL(fileURLWithPath: path))!
        final class Counter: NSObject, XMLParserDelegate {
            var iterates = 0
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "circle" && attributes["class"] == "iterate" { iterates += 1 }
            }
        }
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "the plot is well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        return counter.iterates
    }

    func testTunedLambdaMatchesItsGridAndThePlotHasOneMarkerPerIteration() throws {
        let data = dataset()
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-tune.svg").path
        for optimizer in ["lbfgs", "gd", "adam"] {
            // Adam has a fixed rate and no line search: it gets more iterations.
            let result = try run(["tune", "lasso", "--data", data, "--optimizer", optimizer, "--grid", "40",
                                  "--max-iter", optimizer == "adam" ? "80" : "25",
                                  "--plot", plot, "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let j = try json(result.out)
            let best = try XCTUnwrap(j["validationLoss"] as? Double), gridBest = try XCTUnwrap(j["gridBestValidationLoss"] as? Double)
            XCTAssertLessThanOrEqual(best, 1.01 * gridBest, optimizer)
            let trajectory = try XCTUnwrap(j["trajectory"] as? [[String: Any]])
            XCTAssertEqual(try iterateMarkers(plot), trajectory.count, optimizer)
            XCTAssertEqual(j["iterations"] as? Int, trajectory.count - 1)
            // Not a terminal: one progress line per outer iteration on standard error.
            XCTAssertEqual(result.err.split(separator: "\n").filter { $0.hasPrefix("[") }.count, trajectory.count, result.err)
        }
        // 5-fold cross-validation on the training rows, against its own grid.
        let cv = try run(["tune", "lasso", "--data", data, "--cv", "4", "--grid", "30", "--json", "--quiet"])
        XCTAssertEqual(cv.code, 0, cv.err)
        let c = try json(cv.out)
        XCTAssertEqual(c["criterion"] as? String, "cv")
        XCTAssertEqual(c["folds"] as? Int, 4)
        XCTAssertLessThanOrEqual(try XCTUnwrap(c["criterionValue"] as? Double), 1.01 * (try XCTUnwrap(c["gridBestValidationLoss"] as? Double)))
        // Cross-validation folds all of --data: no validation rows to report without --val.
        XCTAssertTrue(c["validationLoss"] is NSNull)
        XCTAssertEqual(c["trainRows"] as? Int, 400)
        let quiet = try run(["tune", "lasso", "--data", data, "--quiet", "--max-iter", "3"])
        XCTAssertEqual(quiet.code, 0, quiet.err)
        XCTAssertTrue(quiet.err.isEmpty, quiet.err)
        let bad = try run(["tune", "lasso", "--data", data, "--init-ratio", "1e6", "--min-ratio", "10"])
        XCTAssertEqual(bad.code, 1)
        for arguments in [["--cv", "1"], ["--cv", "3", "--criterion", "sure"], ["--sigma2", "0.1"], ["--criterion", "sure", "--sigma2", "-1"],
                          ["--output-weights", "/tmp/never.mtx"]] {
            let refused = try run(["tune", "lasso", "--data", data] + arguments)
            XCTAssertEqual(refused.code, 1, "\(arguments): \(refused.err)")
            XCTAssertFalse(refused.err.isEmpty)
        }
    }

    /// The other models and criteria: each run's JSON has the documented keys, its criterion
    /// reaches within 1 % of its grid (enet at its starting α: tuning both strengths can only do
    /// better), the weighted lasso starts from the best lasso and does not end worse, its weights
    /// file has one entry per feature, and the multi-hyperparameter plot has one marker per
    /// outer iteration.
    func testModelsAndCriteria() throws {
        let data = dataset()
        let dir = FileManager.default.temporaryDirectory.path
        let plot = dir + "/isparse-cli-\(getpid())-tune-models.svg", weights = dir + "/isparse-cli-\(getpid())-weights.mtx"
        for (model, extra) in [("enet", ["--l1-ratio", "0.7"]), ("lasso", ["--criterion", "sure"]), ("enet", ["--criterion", "sure", "--sigma2", "0.01"]),
                               ("wlasso", ["--output-weights", weights])] {
            let result = try run(["tune", model, "--data", data, "--grid", "25", "--plot", plot, "--json", "--quiet"] + extra)
            XCTAssertEqual(result.code, 0, "\(model) \(extra): \(result.err)")
            let j = try json(result.out)
            for key in ["lambda", "criterion", "criterionValue", "validationLoss", "supportSize", "iterations", "innerSolves", "seconds", "trajectory", "grid", "gridSeconds"] {
                XCTAssertNotNil(j[key], "\(model) \(extra): \(key)")
            }
            let seconds = try XCTUnwrap(j["seconds"] as? [String: Any])
            for key in ["total", "inner", "hypergradient"] { XCTAssertNotNil(seconds[key] as? Double, key) }
            let trajectory = try XCTUnwrap(j["trajectory"] as? [[String: Any]])
            XCTAssertEqual(try iterateMarkers(plot), trajectory.count, "\(model) \(extra)")
            for step in trajectory {
                for key in ["lambda", "validationLoss", "innerIterations", "seconds"] { XCTAssertNotNil(step[key], key) }
            }
            let value = try XCTUnwrap(j["criterionValue"] as? Double), gridBest = try XCTUnwrap(j["gridBestValidationLoss"] as? Double)
            // SURE estimates a risk near zero (it may be negative): its 1 % is of σ², the noise's scale.
            let scale = extra.contains("sure") ? try XCTUnwrap(j["noiseVariance"] as? Double) : abs(gridBest)
            XCTAssertLessThanOrEqual(value, gridBest + 0.01 * scale, "\(model) \(extra)")
            if model == "enet" {
                let alpha = try XCTUnwrap(j["l1Ratio"] as? Double)
                XCTAssertTrue(alpha > 0 && alpha < 1)
            }
            if model == "wlasso" {
                XCTAssertLessThanOrEqual(value, try XCTUnwrap(j["lassoCriterionValue"] as? Double))
                let lines = try String(contentsOfFile: weights, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("%") }
                XCTAssertEqual(lines.first, "60 1")
                XCTAssertEqual(lines.count, 61)
            }
            if extra.contains("sure") { XCTAssertNotNil(j["noiseVariance"] as? Double) }
        }
        // logreg on ±1 labels: the held-out logistic loss, below log 2 (better than a constant).
        let labels = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n").map { line -> String in
            let parts = line.split(separator: " ", maxSplits: 1)
            return ((Double(parts[0]) ?? 0) > 0 ? "1" : "-1") + (parts.count > 1 ? " " + parts[1] : "")
        }
        let classification = write(labels.joined(separator: "\n") + "\n", "tune-classes.svm")
        let logreg = try run(["tune", "logreg", "--data", classification, "--grid", "20", "--json", "--quiet"])
        XCTAssertEqual(logreg.code, 0, logreg.err)
        let l = try json(logreg.out)
        let loss = try XCTUnwrap(l["validationLoss"] as? Double)
        XCTAssertLessThan(loss, Foundation.log(2))
        XCTAssertLessThanOrEqual(loss, 1.01 * (try XCTUnwrap(l["gridBestValidationLoss"] as? Double)))
        XCTAssertEqual(try run(["tune", "logreg", "--data", classification, "--criterion", "sure"]).code, 1)
    }

    /// Ctrl-C after the first outer step: exit 130, the best point printed, the plot and the
    /// JSON still written.
    func testInterruptionKeepsTheOutputs() throws {
        let data = dataset(rows: 3000)
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-interrupted.svg").path
        try? FileManager.default.removeItem(atPath: plot)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["tune", "lasso", "--data", data, "--max-iter", "10000", "--optimizer", "adam", "--plot", plot, "--json"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        var progress = Data()
        let deadline = Date().addingTimeInterval(120)
        while !String(decoding: progress, as: UTF8.self).contains("[1/") && Date() < deadline {
            progress.append(err.fileHandleForReading.availableData)
        }
        kill(process.processIdentifier, SIGINT)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let j = try json(String(decoding: output, as: UTF8.self))
        XCTAssertEqual(j["stopReason"] as? String, "interrupted")
        XCTAssertNotNil(j["lambda"] as? Double)
        XCTAssertGreaterThan(try iterateMarkers(plot), 0)
    }

    /// `tune graph-ls`: the JSON, one analysis reused by every solve, the plot's markers, and a
    /// start of ε = 0 refused (ε is searched on a log scale).
    func testGraphLeastSquaresTuning() throws {
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-tune-graph.svg").path
        let result = try run(["tune", "graph-ls", "--grid", "40x40", "--lambda", "1", "--epsilon", "0.01", "--lambda-grid", "15",
                              "--linear-solver", "cholesky", "--plot", plot, "--json", "--quiet"])
        XCTAssertEqual(result.code, 0, result.err)
        let j = try json(result.out)
        let trajectory = try XCTUnwrap(j["trajectory"] as? [[String: Any]])
        XCTAssertEqual(try iterateMarkers(plot), trajectory.count)
        let algebra = try XCTUnwrap(j["linearAlgebra"] as? [String: Any])
        XCTAssertEqual(algebra["prepared"] as? Int, 1)
        let best = try XCTUnwrap(j["criterionValue"] as? Double)
        let grid = try XCTUnwrap(j["grid"] as? [[String: Any]]).compactMap { $0["validationLoss"] as? Double }
        XCTAssertLessThanOrEqual(best, 1.01 * (grid.min() ?? .infinity))
        XCTAssertEqual(try run(["tune", "graph-ls", "--grid", "10x10", "--lambda", "1"]).code, 1)
    }

    /// `tune graph-tv` (the graph tuner over the problem protocol): the JSON's best point is
    /// the trajectory's best, lower than the start, each evaluation's groups certified, --output
    /// written at the best point; ε = 0 refused.
    func testGraphTotalVariationTuning() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-tune-tv.mtx").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let result = try run(["tune", "graph-tv", "--grid", "12x12", "--lambda", "0.5", "--epsilon", "0.1", "--max-iter", "5",
                              "--tol", "1e-8", "--output", output, "--json", "--quiet"])
        XCTAssertEqual(result.code, 0, result.err)
        let j = try json(result.out)
        XCTAssertEqual(j["model"] as? String, "graph-tv")
        let trajectory = try XCTUnwrap(j["trajectory"] as? [[String: Any]])
        let values = trajectory.compactMap { $0["validationLoss"] as? Double }
        let best = try XCTUnwrap(j["criterionValue"] as? Double)
        XCTAssertEqual(best, values.min()!, accuracy: 1e-15)
        XCTAssertLessThan(best, values[0])
        XCTAssertGreaterThan(try XCTUnwrap(j["innerIterations"] as? Int), 0)
        XCTAssertTrue(try String(contentsOfFile: output, encoding: .utf8).contains("\n144 1\n"), "x* at the best point, one value per node")
        XCTAssertEqual(try run(["tune", "graph-tv", "--grid", "10x10", "--lambda", "1"]).code, 1)
    }
}
