import Foundation
import XCTest

/// `isparse solve|hypergrad|tune glm`: every pair on a small LIBSVM file with power-law
/// binary columns, a duplicated column and outliers; the JSON's certificates, the
/// hypergradient against the command's own finite difference, and bad input as one line
/// with the right exit code.
final class GLMCommandTests: XCTestCase {
    func problem() -> (regression: String, counts: String, labels: String) {
        var random = SplitMix(seed: 9)
        var regression: [String] = [], counts: [String] = [], labels: [String] = []
        for i in 0..<300 {
            var columns: [Int] = []
            for j in 0..<40 where random.next() < 0.5 / Double(j + 1).squareRoot() { columns.append(j) }
            if columns.contains(0) { columns.append(40) }                        // column 41 duplicates column 1
            let signal = (columns.contains(0) ? 1.5 : 0) - (columns.contains(2) ? 1 : 0) + (columns.contains(5) ? 0.8 : 0)
            let y = signal + 0.3 * (random.next() - 0.5) + (i % 17 == 0 ? 20 : 0)
            let features = columns.map { "\($0 + 1):1" }.joined(separator: " ")
            regression.append("\(y) \(features)")
            let rate = Foundation.exp(0.2 + 0.4 * signal)
            var k = 0, product = random.next()
            while product > Foundation.exp(-rate) { k += 1; product *= random.next() }
            counts.append("\(k) \(features)")
            // One label in four flipped: separable labels have no minimizer under MCP or SCAD
            // (the weights run off beyond γλ where the penalty is flat).
            let flip = random.next() < 0.25
            labels.append("\((signal + 0.3 * (random.next() - 0.5) > 0.2) != flip ? 1 : -1) \(features)")
        }
        return (write(regression.joined(separator: "\n") + "\n", "glm-y.svm"), write(counts.joined(separator: "\n") + "\n", "glm-k.svm"),
                write(labels.joined(separator: "\n") + "\n", "glm-c.svm"))
    }

    func testEveryDatafitAndPenaltySolvesWithItsCertificate() throws {
        let files = problem()
        let groups = write("%%MatrixMarket matrix array real general\n41 1\n" + (0..<41).map { "\($0 / 4)" }.joined(separator: "\n") + "\n", "glm-groups.mtx")
        let weights = write("%%MatrixMarket matrix array real general\n41 1\n" + (0..<41).map { $0 % 5 == 0 ? "0" : "1.5" }.joined(separator: "\n") + "\n",
                            "glm-weights.mtx")
        let datafits = [("quadratic", files.regression), ("huber", files.regression), ("logistic", files.labels), ("poisson", files.counts)]
        let penalties: [[String]] = [["l1"], ["enet", "--l1-ratio", "0.6"], ["wl1", "--weights", weights], ["nnl1"], ["mcp"], ["scad"],
                                     ["group", "--groups", groups]]
        for (datafit, file) in datafits {
            for penalty in penalties {
                let result = try run(["solve", "glm", "--data", file, "--datafit", datafit, "--penalty"] + penalty
                                     + ["--tol", "1e-9", "--json"] + (datafit == "logistic" ? [] : ["--fit-intercept"]))
                XCTAssertEqual(result.code, 0, "\(datafit) + \(penalty[0]): \(result.err)")
                guard result.code == 0 else { continue }
                let o = try json(result.out)
                XCTAssertEqual(o["datafit"] as? String, datafit)
                XCTAssertEqual(o["penalty"] as? String, penalty[0])
                XCTAssertLessThanOrEqual(try XCTUnwrap(o["kktResidual"] as? Double), 1e-9, "\(datafit) + \(penalty[0])")
                XCTAssertEqual(o["globalOptimum"] as? Bool, !["mcp", "scad"].contains(penalty[0]))
                XCTAssertGreaterThan(try XCTUnwrap(o["supportSize"] as? Int), 0)
            }
        }
        // A box keeps every weight inside its bounds; the written w is checked here.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-glm-box.mtx").path
        let box = try run(["solve", "glm", "--data", files.regression, "--datafit", "huber", "--penalty", "box", "--lower=-0.5",
                           "--upper", "0.5", "--output", out])
        XCTAssertEqual(box.code, 0, box.err)
        let written = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst(2).compactMap { Double($0) }
        XCTAssertEqual(written.count, 41)
        XCTAssertTrue(written.allSatisfy { $0 >= -0.5 && $0 <= 0.5 })
        XCTAssertTrue(written.contains(0.5) || written.contains(-0.5))
    }

    func testHypergradientsAgreeWithFiniteDifferences() throws {
        let files = problem()
        for (datafit, file, penalty) in [("huber", files.regression, "l1"), ("poisson", files.counts, "l1"), ("quadratic", files.regression, "mcp"),
                                         ("logistic", files.labels, "enet")] {
            let result = try run(["hypergrad", "glm", "--data", file, "--datafit", datafit, "--penalty", penalty, "--lambda-ratio", "6",
                                  "--tol", "1e-12", "--check", "--json"])
            XCTAssertEqual(result.code, 0, "\(datafit) + \(penalty): \(result.err)")
            guard result.code == 0 else { continue }
            let o = try json(result.out)
            let h = try XCTUnwrap(o["hypergradient"] as? Double), fd = try XCTUnwrap(o["finiteDifference"] as? Double)
            if o["nonUnique"] as? Bool == false {
                XCTAssertEqual(h, fd, accuracy: 1e-5 * max(abs(fd), 1e-6), "\(datafit) + \(penalty)")
            }
            XCTAssertNotNil(o["adjointResidual"] as? Double, "a number, never NaN: \(result.out)")
        }
    }

    func testTuneFollowsTheHypergradient() throws {
        let files = problem()
        let plot = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-glm-tune.svg").path
        let result = try run(["tune", "glm", "--data", files.regression, "--datafit", "huber", "--penalty", "l1", "--fit-intercept", "--grid", "8",
                              "--json", "--quiet", "--plot", plot])
        XCTAssertEqual(result.code, 0, result.err)
        let o = try json(result.out)
        let best = try XCTUnwrap(o["validationLoss"] as? Double)
        let grid = try XCTUnwrap(o["grid"] as? [[String: Any]]).compactMap { $0["validationLoss"] as? Double }
        XCTAssertEqual(grid.count, 8)
        XCTAssertLessThanOrEqual(best, grid.min()! * 1.02)
        XCTAssertEqual(result.err, "", "--quiet prints nothing")
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") || svg.contains("<svg"), "the plot is an SVG")
        XCTAssertTrue(svg.contains("mean huber loss"), "its axis names the held-out loss")
        let cv = try run(["tune", "glm", "--data", files.counts, "--datafit", "poisson", "--penalty", "l1", "--fit-intercept", "--cv", "3",
                          "--json", "--quiet"])
        XCTAssertEqual(cv.code, 0, cv.err)
        let o2 = try json(cv.out)
        XCTAssertEqual(o2["trainRows"] as? Int, 300)
        XCTAssertTrue((o2["data"] as? String)?.contains("3-fold") == true)
        XCTAssertEqual(try run(["tune", "glm", "--data", files.counts, "--cv", "1"]).code, 1)
        // SURE on every row (quadratic + ℓ1: df = |S|), σ² given.
        let sure = try run(["tune", "glm", "--data", files.regression, "--datafit", "quadratic", "--penalty", "l1", "--criterion", "sure",
                            "--sigma2", "0.25", "--json", "--quiet"])
        XCTAssertEqual(sure.code, 0, sure.err)
        let o3 = try json(sure.out)
        XCTAssertEqual(o3["criterion"] as? String, "sure")
        XCTAssertEqual(o3["noiseVariance"] as? Double, 0.25)
        XCTAssertEqual(o3["noiseVarianceEstimated"] as? Bool, false)
        XCTAssertEqual(o3["validationRows"] as? Int, 0)
        XCTAssertTrue((o3["validationLoss"] as? Double)?.isFinite == true)
        let huberSure = try run(["tune", "glm", "--data", files.regression, "--datafit", "huber", "--penalty", "l1", "--criterion", "sure"])
        XCTAssertEqual(huberSure.code, 2, huberSure.err)
        XCTAssertTrue(huberSure.err.contains("SURE applies to the quadratic datafit"), huberSure.err)
        XCTAssertEqual(try run(["tune", "glm", "--data", files.regression, "--sigma2", "1"]).code, 1)
    }

    func testBadInputGivesOneLineAndTheExitCode() throws {
        let files = problem()
        let cases: [([String], Int32, String)] = [
            (["solve", "glm", "--data", files.regression, "--penalty", "wl1"], 1, "--weights"),
            (["solve", "glm", "--data", files.regression, "--penalty", "l1", "--gamma", "3"], 1, "--gamma"),
            (["solve", "glm", "--data", files.regression, "--penalty", "scad", "--gamma", "1.5"], 1, "above 2"),
            (["solve", "glm", "--data", files.regression, "--datafit", "huber", "--delta", "-1"], 1, "--delta"),
            (["solve", "glm", "--data", files.regression, "--datafit", "poisson"], 2, "counts ≥ 0"),
            (["solve", "glm", "--data", files.regression, "--datafit", "logistic"], 2, "label"),
            (["solve", "glm", "--data", files.regression, "--penalty", "group", "--groups",
              write("%%MatrixMarket matrix array real general\n41 1\n" + (0..<41).map { "\($0 % 2)" }.joined(separator: "\n") + "\n", "glm-bad-groups.mtx")],
             2, "consecutive"),
            (["solve", "glm", "--data", files.regression, "--datafit", "huber", "--max-epochs", "2"], 3, "did not converge"),
            (["tune", "glm", "--data", files.regression, "--penalty", "box", "--upper", "1"], 1, "box"),
        ]
        for (arguments, code, fragment) in cases {
            let result = try run(arguments)
            XCTAssertEqual(result.code, code, "\(arguments): \(result.err)")
            XCTAssertTrue(result.err.contains(fragment), "\(arguments): \(result.err)")
            XCTAssertEqual(result.err.split(separator: "\n").count, 1, "one line: \(result.err)")
        }
    }
}
