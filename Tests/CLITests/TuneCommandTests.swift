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
            XCTAssertEqual(j["outerIterations"] as? Int, trajectory.count - 1)
            // Not a terminal: one progress line per outer iteration on standard error.
            XCTAssertEqual(result.err.split(separator: "\n").filter { $0.hasPrefix("[") }.count, trajectory.count, result.err)
        }
        // 5-fold cross-validation on the training rows, against its own grid.
        let cv = try run(["tune", "lasso", "--data", data, "--criterion", "cv", "--folds", "4", "--grid", "30", "--json", "--quiet"])
        XCTAssertEqual(cv.code, 0, cv.err)
        let c = try json(cv.out)
        XCTAssertEqual(c["criterion"] as? String, "cv")
        XCTAssertLessThanOrEqual(try XCTUnwrap(c["validationLoss"] as? Double), 1.01 * (try XCTUnwrap(c["gridBestValidationLoss"] as? Double)))
        XCTAssertNotNil(c["heldOutValidationLoss"] as? Double)
        let quiet = try run(["tune", "lasso", "--data", data, "--quiet", "--max-iter", "3"])
        XCTAssertEqual(quiet.code, 0, quiet.err)
        XCTAssertTrue(quiet.err.isEmpty, quiet.err)
        let bad = try run(["tune", "lasso", "--data", data, "--start-ratio", "1e6", "--min-ratio", "10"])
        XCTAssertEqual(bad.code, 1)
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
}
