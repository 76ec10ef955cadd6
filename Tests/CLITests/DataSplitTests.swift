import XCTest
import Foundation

/// `isparse data split`: part sizes from the fractions, every row in exactly one part (order
/// kept), stratification within one row of each label's share, the seed's effect, refusals.
final class DataSplitTests: XCTestCase {
    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }

    func testSplitByFractionsAndStratified() throws {
        // 100 rows: 70 of label 1, 30 of label −1, each row distinguishable by its feature value.
        let rows = (0..<100).map { i in "\(i % 10 < 7 ? 1 : -1) 1:\(i + 1) \(i % 5 + 2):1" }
        let input = write(rows.joined(separator: "\n") + "\n", "split-input.svm")
        let dir = FileManager.default.temporaryDirectory.path
        let (a, b, c) = (dir + "/isparse-cli-\(getpid())-a.svm", dir + "/isparse-cli-\(getpid())-b.svm", dir + "/isparse-cli-\(getpid())-c.svm")
        let plain = try run(["data", "split", input, "--fractions", "0.6,0.2,0.2", "--out", "\(a),\(b),\(c)", "--seed", "5"])
        XCTAssertEqual(plain.code, 0, plain.err)
        let parts = try [a, b, c].map(lines)
        XCTAssertEqual(parts.map(\.count), [60, 20, 20])
        // Every row exactly once, each part in the input's order.
        XCTAssertEqual(Set(parts.flatMap { $0 }), Set(rows))
        XCTAssertEqual(parts.flatMap { $0 }.count, 100)
        for part in parts { XCTAssertEqual(part, rows.filter { Set(part).contains($0) }) }
        // Another seed, another split.
        XCTAssertEqual(try run(["data", "split", input, "--fractions", "0.6,0.2,0.2", "--out", "\(a),\(b),\(c)", "--seed", "6"]).code, 0)
        XCTAssertNotEqual(try lines(a), parts[0])
        // Stratified: each part holds 70 % label 1 to within one row per label.
        let stratified = try run(["data", "split", input, "--fractions", "0.5,0.5", "--out", "\(a),\(b)", "--stratify", "--json"])
        XCTAssertEqual(stratified.code, 0, stratified.err)
        for path in [a, b] {
            let part = try lines(path)
            XCTAssertEqual(part.count, 50)
            XCTAssertEqual(part.filter { $0.hasPrefix("1 ") }.count, 35)
        }
        // Refusals: one line, exit 1.
        for bad in [["--fractions", "0.6,0.5", "--out", "\(a),\(b)"], ["--fractions", "0.5,0.5", "--out", a], ["--fractions", "1", "--out", a],
                    ["--fractions", "0.5,0.5", "--out", "\(a),\(a)"]] {
            let refused = try run(["data", "split", input] + bad)
            XCTAssertEqual(refused.code, 1, "\(bad): \(refused.err)")
        }
        // Writing over the input is refused.
        XCTAssertNotEqual(try run(["data", "split", input, "--fractions", "0.5,0.5", "--out", "\(input),\(b)"]).code, 0)
    }
}
