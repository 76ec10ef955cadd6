import XCTest
@testable import Sparse

final class MatrixMarketTests: XCTestCase {
    func testRoundTripPlainAndCompressed() throws {
        let a = RandomMatrices.sparse(rows: 30, columns: 20, density: 0.2, seed: 1)
        for name in ["a.mtx", "a.mtx.gz"] {
            let path = temporaryPath(name)
            try MatrixMarket.write(a, to: path, comment: "test matrix")
            let read = try MatrixMarket.read(path: path)
            XCTAssertEqual(read.matrix, a)
            XCTAssertEqual(read.symmetry, .general)
        }
        // gzip output really is compressed (magic bytes 1f 8b).
        let bytes = try Data(contentsOf: URL(fileURLWithPath: temporaryPath("a.mtx.gz")))
        XCTAssertEqual(Array(bytes.prefix(2)), [0x1f, 0x8b])
    }

    func testSymmetricWriteStoresLowerTriangleAndExpands() throws {
        let a = RandomMatrices.spd(25, density: 0.2, seed: 2)
        let path = temporaryPath("s.mtx.gz")
        try MatrixMarket.write(a, to: path, symmetry: .symmetric)
        let read = try MatrixMarket.read(path: path)
        XCTAssertEqual(read.symmetry, .symmetric)
        XCTAssertTrue(read.matrix.isKnownSymmetric)
        XCTAssertLessThan(read.storedEntries, a.nonzeroCount)
        assertClose(read.matrix.values, a.values, relative: 1e-15)
        XCTAssertEqual(read.matrix.columnIndices, a.columnIndices)
    }

    func testFieldsLayoutsAndSymmetries() throws {
        let pattern = writeText("%%MatrixMarket matrix coordinate pattern general\n% c\n2 3 2\n1 3\n2 1\n", to: "p.mtx")
        let p = try MatrixMarket.read(path: pattern).matrix
        XCTAssertEqual(p.toDenseRowMajor(), [0, 0, 1, 1, 0, 0])
        let integer = writeText("%%MatrixMarket matrix coordinate integer general\n2 2 3\n1 1 4\n2 2 -2\n1 1 1\n", to: "i.mtx")
        XCTAssertEqual(try MatrixMarket.read(path: integer).matrix.toDenseRowMajor(), [5, 0, 0, -2])  // duplicates summed
        let skew = writeText("%%MatrixMarket matrix coordinate real skew-symmetric\n3 3 1\n3 1 2.5\n", to: "k.mtx")
        let k = try MatrixMarket.read(path: skew).matrix
        XCTAssertEqual(k[2, 0], 2.5); XCTAssertEqual(k[0, 2], -2.5)
        let array = writeText("%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n", to: "d.mtx")
        XCTAssertEqual(try MatrixMarket.read(path: array).matrix.toDenseRowMajor(), [1, 3, 2, 4])
        let symArray = writeText("%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n", to: "ds.mtx")
        XCTAssertEqual(try MatrixMarket.read(path: symArray).matrix.toDenseRowMajor(), [1, 2, 2, 3])
        let vector = temporaryPath("v.mtx")
        try MatrixMarket.writeDense([1.5, -2, 1e-300], rows: 3, to: vector)
        let dense = try MatrixMarket.readDense(path: vector)
        XCTAssertEqual(dense.values, [1.5, -2, 1e-300])
        XCTAssertEqual(dense.columns, 1)
        let crlf = writeText("%%MatrixMarket matrix coordinate real general\r\n1 1 1\r\n1 1 2\r\n", to: "crlf.mtx")
        XCTAssertEqual(try MatrixMarket.read(path: crlf).matrix.values, [2])
    }

    /// The catalogue of malformed files: each gives a typed error naming the line.
    func testMalformedCatalogue() throws {
        let cases: [(String, String, Int)] = [
            ("", "empty", 1),
            ("%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n", "complex", 1),
            ("%%MatrixMarket matrix coordinate real hermitian\n1 1 1\n1 1 1\n", "hermitian", 1),
            ("%%NotMatrixMarket x\n", "banner", 1),
            ("%%MatrixMarket matrix coordinate real general\n2 2\n", "size count", 2),
            ("%%MatrixMarket matrix coordinate real general\n2 x 1\n", "size text", 2),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n", "row out of range", 3),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n0 1 1.0\n", "zero index", 3),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 abc\n", "non-numeric", 3),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 nan\n", "NaN", 3),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 inf\n", "Inf", 3),
            ("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1.0\n", "too few", 4),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1.0\n2 2 1.0\n", "too many", 4),
            ("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1.0 7\n", "trailing", 3),
            ("%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 2 1.0\n", "upper in symmetric", 3),
            ("%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n1 1 1.0\n", "non-square symmetric", 2),
            ("%%MatrixMarket matrix array real general\n2 1\n1\n", "short array", 4),
        ]
        for (index, (text, name, line)) in cases.enumerated() {
            let path = writeText(text, to: "bad\(index).mtx")
            XCTAssertThrowsError(try MatrixMarket.read(path: path), name) { error in
                guard case let SparseIOError.malformed(p, l, _) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(p, path, name)
                XCTAssertEqual(l, line, "\(name): \(error)")
            }
        }
        // A header that declares 10¹² rows is refused before any allocation.
        let huge = writeText("%%MatrixMarket matrix coordinate real general\n1000000000000 1 1\n1 1 1\n", to: "huge.mtx")
        XCTAssertThrowsError(try MatrixMarket.read(path: huge)) { error in
            guard case SparseIOError.tooLarge = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try MatrixMarket.read(path: temporaryPath("does-not-exist.mtx"))) { error in
            guard case SparseIOError.cannotOpen = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try MatrixMarket.read(path: FileManager.default.temporaryDirectory.path)) { error in
            guard case SparseIOError.isDirectory = error else { return XCTFail("\(error)") }
        }
    }

    func testTruncatedGzipIsAnError() throws {
        let a = RandomMatrices.sparse(rows: 400, columns: 400, density: 0.05, seed: 3)
        let path = temporaryPath("t.mtx.gz")
        try MatrixMarket.write(a, to: path)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data = data.prefix(data.count / 2)
        let truncated = temporaryPath("truncated.mtx.gz")
        try data.write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try MatrixMarket.read(path: truncated)) { error in
            switch error {
            case SparseIOError.compression, SparseIOError.malformed: break
            default: XCTFail("\(error)")
            }
        }
    }
}

final class LIBSVMTests: XCTestCase {
    func testRoundTripAndIndexBase() throws {
        let x = RandomMatrices.sparse(rows: 50, columns: 30, density: 0.1, seed: 4)
        let labels = (0..<50).map { Double($0 % 3) - 1 }
        for (name, zeroBased) in [("a.svm", false), ("a.svm.gz", false), ("z.svm", true)] {
            let path = temporaryPath(name)
            try LIBSVM.write(features: x, targets: labels, to: path, zeroBased: zeroBased)
            let read = try LIBSVM.read(path: path, columns: 30)
            XCTAssertEqual(read.targets, labels)
            XCTAssertEqual(read.features, x)
            if zeroBased && x.columnIndices.contains(0) { XCTAssertEqual(read.indexBase, 0) }
            if !zeroBased { XCTAssertEqual(read.indexBase, 1) }
        }
    }

    func testCommentsQidUnsortedAndEmptyRows() throws {
        let text = """
        # header comment
        1 qid:3 3:1.5 1:2 # trailing comment
        -1
        +2.5e0 2:-1e-3

        0 10:4
        """
        let read = try LIBSVM.read(path: writeText(text, to: "c.svm"))
        XCTAssertEqual(read.targets, [1, -1, 2.5, 0])
        XCTAssertEqual(read.features.rows, 4)
        XCTAssertEqual(read.features.columns, 10)
        XCTAssertEqual(read.features[0, 0], 2)
        XCTAssertEqual(read.features[0, 2], 1.5)
        XCTAssertEqual(read.features[2, 1], -1e-3)
        XCTAssertEqual(read.features[3, 9], 4)
        XCTAssertEqual(read.features.rowPointers, [0, 2, 2, 3, 4])
    }

    func testMalformedCatalogue() {
        let cases: [(String, String, Int)] = [
            ("1 1:2\nabc 1:2\n", "non-numeric label", 2),
            ("1 1:2\n1 3\n", "missing colon", 2),
            ("1 1:x\n", "non-numeric value", 1),
            ("1 1:\n", "missing value", 1),
            ("1 a:1\n", "non-integer index", 1),
            ("1 -2:1\n", "negative index", 1),
            ("1 2:1 2:3\n", "duplicate index", 1),
            ("1 1:nan\n", "NaN value", 1),
            ("inf 1:1\n", "Inf label", 1),
            ("1 1:2\n\n0 1:1 2:5 1:3\n", "duplicate after sort", 3),
        ]
        for (index, (text, name, line)) in cases.enumerated() {
            let path = writeText(text, to: "bad\(index).svm")
            XCTAssertThrowsError(try LIBSVM.read(path: path), name) { error in
                guard case let SparseIOError.malformed(p, l, _) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(p, path)
                XCTAssertEqual(l, line, "\(name): \(error)")
            }
        }
        XCTAssertThrowsError(try LIBSVM.read(path: writeText("1 5:1\n", to: "w.svm"), columns: 2))
    }
}
import Foundation

/// The two-pass column-major LIBSVM reader gives exactly `read(…).features.toCSC()`: 1- and
/// 0-based files, rows with unsorted indices, the columns comment, an expected width, gzip,
/// power-law column counts; and the same errors.
final class ColumnMajorLIBSVMTests: XCTestCase {
    func testEqualsTheRowReaderConvertedToCSC() throws {
        var random = SplitMix64(seed: 5)
        var lines = ["# isparse: columns=60"]
        for _ in 0..<300 {
            var row = Set<Int>()
            let length = 1 + Int(random.nextUniform() * 6)
            while row.count < length { row.insert(Int(Foundation.pow(random.nextUniform(), 3) * 50) + 1) }
            let entries = row.shuffled(using: &random).map { "\($0):\(String(format: "%.3f", random.nextGaussian()))" }
            lines.append("\(String(format: "%.2f", random.nextGaussian())) " + entries.joined(separator: " "))
        }
        let text = lines.joined(separator: "\n") + "\n"
        let oneBased = temporaryPath("cm-one.svm")
        try text.write(toFile: oneBased, atomically: true, encoding: .utf8)
        let zeroBased = temporaryPath("cm-zero.svm.gz")
        try LIBSVM.write(features: try LIBSVM.read(path: oneBased).features, targets: try LIBSVM.read(path: oneBased).targets, to: zeroBased,
                         zeroBased: true)
        for (path, base, columns) in [(oneBased, nil, nil), (zeroBased, 0, nil), (oneBased, nil, 80), (oneBased, 1, nil)] as [(String, Int?, Int?)] {
            let rows = try LIBSVM.read(path: path, indexBase: base, columns: columns)
            let cm = try LIBSVM.readColumnMajor(path: path, indexBase: base, columns: columns)
            let expected = rows.features.toCSC()
            XCTAssertEqual(cm.features.rows, expected.rows)
            XCTAssertEqual(cm.features.columns, expected.columns)
            XCTAssertEqual(cm.features.columnPointers, expected.columnPointers)
            XCTAssertEqual(cm.features.rowIndices, expected.rowIndices)
            XCTAssertEqual(cm.features.values, expected.values)
            XCTAssertEqual(cm.targets, rows.targets)
            XCTAssertEqual(cm.indexBase, rows.indexBase)
        }
        XCTAssertEqual(try LIBSVM.readColumnMajor(path: oneBased).features.columns, 60, "the columns comment")
        // The same errors: a feature 0 in a file forced 1-based, a width too small.
        XCTAssertThrowsError(try LIBSVM.readColumnMajor(path: zeroBased, indexBase: 1))
        XCTAssertThrowsError(try LIBSVM.readColumnMajor(path: oneBased, columns: 10))
    }

    /// Any byte string round-trips through `FileSystemPath` (escaped where it is not UTF-8),
    /// valid UTF-8 is left as it is, and messages show escaped bytes as \xNN.
    func testFileSystemPathsRoundTripAnyBytes() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let bytes = (0..<Int(random.next() % 12)).map { _ in UInt8(truncatingIfNeeded: random.next() % 255 + 1) }
            XCTAssertEqual(FileSystemPath.bytes(FileSystemPath.string(bytes: bytes)), bytes, "\(bytes)")
        }
        for text in ["plain.svm", "données/été.mtx", "数据.npz", "emoji-🙂.txt"] {
            XCTAssertEqual(FileSystemPath.string(bytes: Array(text.utf8)), text)
            XCTAssertEqual(FileSystemPath.bytes(text), Array(text.utf8))
        }
        let name = FileSystemPath.string(bytes: Array("d".utf8) + [0xFF, 0xC3] + Array("ta.svm".utf8))
        XCTAssertEqual(FileSystemPath.display(name), "d\\xFF\\xC3ta.svm")
        // Overlong and surrogate encodings are not UTF-8: escaped byte by byte.
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            XCTAssertEqual(FileSystemPath.string(bytes: bad).unicodeScalars.count, bad.count)
            XCTAssertEqual(FileSystemPath.bytes(FileSystemPath.string(bytes: bad)), bad)
        }
    }
}
