import XCTest
import Foundation

/// `isparse paper theorem1`: the table, the JSON with a fitted slope near 1, the plot.
final class PaperCommandTests: XCTestCase {
    func testTheoremOneCommand() throws {
        let plot = FileManager.default.temporaryDirectory.path + "/isparse-cli-\(getpid())-theorem1.svg"
        let r = try run(["paper", "theorem1", "--problem", "ridge", "--rows", "300", "--columns", "150", "--json", "--plot", plot])
        XCTAssertEqual(r.code, 0, r.err)
        let results = try XCTUnwrap(try json(r.out)["results"] as? [[String: Any]])
        XCTAssertEqual(results.count, 1)
        let slope = try XCTUnwrap(results[0]["slope"] as? Double)
        XCTAssertTrue(slope > 0.8 && slope < 1.2, "slope \(slope)")
        XCTAssertEqual((results[0]["points"] as? [Any])?.count, 12)
        XCTAssertTrue(try String(contentsOfFile: plot, encoding: .utf8).contains("slope 1"))
        let text = try run(["paper", "theorem1", "--problem", "lasso", "--rows", "300", "--columns", "150"])
        XCTAssertEqual(text.code, 0, text.err)
        XCTAssertTrue(text.out.contains("support and signs"), text.out)
        XCTAssertEqual(try run(["paper", "theorem1", "--directions", "0"]).code, 1)
    }

    func testSoftSphereCommand() throws {
        let plot = FileManager.default.temporaryDirectory.path + "/isparse-cli-\(getpid())-md.svg"
        let r = try run(["paper", "md", "--particles", "128", "--check", "--json", "--plot", plot])
        XCTAssertEqual(r.code, 0, r.err)
        let object = try json(r.out)
        XCTAssertLessThan(try XCTUnwrap(object["gradientNorm"] as? Double), 1e-11)
        XCTAssertLessThan(try XCTUnwrap(object["finiteDifferenceRelativeDifference"] as? Double), 1e-6)
        XCTAssertEqual(object["contactsChanged"] as? Bool, false)
        XCTAssertEqual(try String(contentsOfFile: plot, encoding: .utf8).components(separatedBy: "<circle").count - 1, 128)
        // The default Hessian is the automatic one (detected pattern, star coloring).
        XCTAssertEqual(object["hessian"] as? String, "automatic")
        let jacobian = try XCTUnwrap(object["jacobian"] as? [String: Any])
        XCTAssertEqual(jacobian["pattern"] as? String, "detected")
        XCTAssertEqual(jacobian["starColoring"] as? Bool, true)
        XCTAssertGreaterThan(try XCTUnwrap(jacobian["colors"] as? Int), 2)
        // --hessian both: the hand-written route agrees.
        let both = try run(["paper", "md", "--particles", "200", "--hessian", "both", "--json"])
        XCTAssertEqual(both.code, 0, both.err)
        let comparison = try XCTUnwrap(try json(both.out)["handComparison"] as? [String: Any])
        XCTAssertLessThan(try XCTUnwrap(comparison["hessianRelativeDifference"] as? Double), 1e-12)
        XCTAssertLessThan(try XCTUnwrap(comparison["sensitivityRelativeDifference"] as? Double), 1e-9)
        let hand = try run(["paper", "md", "--particles", "200", "--hessian", "hand"])
        XCTAssertEqual(hand.code, 0, hand.err)
        XCTAssertTrue(hand.out.contains("Hessian: hand-written blocks"), hand.out)
        XCTAssertEqual(try run(["paper", "md", "--hessian", "numeric"]).code, 1)
        XCTAssertEqual(try run(["paper", "md", "--particles", "2"]).code, 1)
        XCTAssertEqual(try run(["paper", "md", "--packing-fraction", "2"]).code, 1)
    }

    func testMulticlassSVMCommand() throws {
        let plot = FileManager.default.temporaryDirectory.path + "/isparse-cli-\(getpid())-svm.svg"
        let r = try run(["paper", "svm", "--samples", "50", "--validation-samples", "30", "--classes", "3", "--features", "100,200",
                         "--row-nonzeros", "8", "--max-iterations", "2000", "--outer-steps", "3", "--check", "--json", "--plot", plot])
        XCTAssertEqual(r.code, 0, r.err)
        let object = try json(r.out)
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 6)
        for row in rows where (row["gap"] as? Double ?? 1) <= 1e-10 {
            let implicit = try XCTUnwrap(row["implicitGradient"] as? Double), fd = try XCTUnwrap(row["finiteDifference"] as? Double)
            XCTAssertEqual(implicit, fd, accuracy: 1e-6 * abs(fd), "\(row)")
            if let unrolled = row["unrolledGradient"] as? Double { XCTAssertEqual(unrolled, implicit, accuracy: 1e-5 * abs(implicit)) }
        }
        XCTAssertEqual(rows.filter { ($0["gap"] as? Double ?? 1) <= 1e-10 }.count, 4, "pg and bcd converge at both sizes")
        let descent = try XCTUnwrap(object["descent"] as? [[String: Any]])
        XCTAssertGreaterThan(descent.count, 1)
        XCTAssertLessThan(try XCTUnwrap(descent.last?["loss"] as? Double), try XCTUnwrap(descent.first?["loss"] as? Double))
        XCTAssertTrue(try String(contentsOfFile: plot, encoding: .utf8).contains("bcd unrolled"))
        XCTAssertEqual(try run(["paper", "svm", "--solvers", "md,xx"]).code, 1)
        XCTAssertEqual(try run(["paper", "svm", "--features", "10,abc"]).code, 1)
        XCTAssertEqual(try run(["paper", "svm", "--features", "10000000", "--classes", "1000"]).code, 1)
        let missing = try run(["paper", "svm", "--plot", "/nonexistent-isparse-dir/svm.svg"])
        XCTAssertNotEqual(missing.code, 0)
        XCTAssertTrue(missing.err.contains("does not exist"), missing.err)
        XCTAssertEqual(missing.out, "", "refused before any work")
    }
}
