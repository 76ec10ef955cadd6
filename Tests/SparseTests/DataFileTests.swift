import XCTest
import Foundation
@testable import Sparse

/// `SparseDataFile`: every format and gzip, round trips that return the same matrix bit for bit,
/// SciPy's `.npz` both ways (when SciPy is importable), NumPy headers, damaged archives.
final class DataFileTests: XCTestCase {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-datafile-\(getpid())").path

    override func setUpWithError() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// A matrix shaped like real data: power-law column frequencies, values that need all 17
    /// digits, an empty row, empty trailing columns.
    func awkwardMatrix() throws -> CSRMatrix {
        var builder = try COOBuilder(rows: 300, columns: 420)
        var random = SplitMix64(seed: 9)
        let sampler = PowerLawSampler(count: 400, exponent: 2)
        for i in 0..<300 where i != 17 {
            for _ in 0..<(1 + Int(random.next() % 9)) {
                let v = [1.0 / 3, 1e-300, -2.5e17, 0.1, random.nextGaussian(), Double.pi * 1e-7][Int(random.next() % 6)]
                try builder.append(row: i, column: sampler.sample(&random), value: v)
            }
        }
        return builder.makeCSR()
    }

    func assertIdentical(_ a: CSRMatrix, _ b: CSRMatrix, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.rows, b.rows, message, file: file, line: line)
        XCTAssertEqual(a.columns, b.columns, message, file: file, line: line)
        XCTAssertEqual(a.rowPointers, b.rowPointers, message, file: file, line: line)
        XCTAssertEqual(a.columnIndices, b.columnIndices, message, file: file, line: line)
        XCTAssertEqual(a.values.map(\.bitPattern), b.values.map(\.bitPattern), message, file: file, line: line)
    }

    func testRoundTripsThroughEveryFormatAreExact() throws {
        let original = try awkwardMatrix()
        let labels = (0..<original.rows).map { Double($0 % 3) - 1 + ($0 == 5 ? 0.1 : 0) }
        let chain = ["a.mtx", "b.svm.gz", "c.npz", "d.mtx.gz", "e.npz.gz", "f.libsvm", "g.mm", "h.txt.gz"]
        var current = SparseData(features: original, targets: labels)
        for name in chain {
            try SparseDataFile.write(current, to: path(name))
            let read = try SparseDataFile.read(path: path(name))
            assertIdentical(read.features, original, name)
            if let readLabels = read.targets { XCTAssertEqual(readLabels, labels, name) }
            current = SparseData(features: read.features, targets: labels)
        }
        // Every pair directly, in both directions.
        for a in ["p.mtx", "p.svm", "p.npz"] {
            for b in ["q.mtx.gz", "q.svm.gz", "q.npz.gz"] {
                try SparseDataFile.write(SparseData(features: original, targets: labels), to: path(a))
                try SparseDataFile.write(try SparseDataFile.read(path: path(a)), to: path(b))
                assertIdentical(try SparseDataFile.read(path: path(b)).features, original, "\(a) → \(b)")
            }
        }
    }

    /// The streamed LIBSVM conversion writes what the in-memory one writes, byte for byte, for
    /// 1- and 0-based inputs, and refuses a malformed line by its number without writing.
    func testStreamedLIBSVMConversionEqualsTheInMemoryOne() throws {
        let matrix = try awkwardMatrix()
        let labels = (0..<matrix.rows).map { Double($0 % 5) - 2 }
        for zeroBased in [false, true] {
            let input = path("s-\(zeroBased).svm.gz")
            try LIBSVM.write(features: matrix, targets: labels, to: input, zeroBased: zeroBased)
            for target in ["t.mtx", "t.svm", "t.mtx.gz"] {
                let streamed = path("streamed-" + target), inMemory = path("memory-" + target)
                let written = try SparseDataFile.convertLIBSVMStreaming(from: input, to: streamed, labelsPath: path("y.txt"))
                XCTAssertEqual(written.rows, matrix.rows)
                XCTAssertEqual(written.columns, matrix.columns)
                XCTAssertEqual(written.nonzeros, matrix.nonzeroCount)
                try SparseDataFile.write(try SparseDataFile.read(path: input), to: inMemory)
                let a = try BinaryFile.read(path: streamed), b = try BinaryFile.read(path: inMemory)
                XCTAssertEqual(a, b, "\(target), zero-based \(zeroBased)")
                XCTAssertEqual(try SparseDataFile.readTargets(path: path("y.txt")), labels)
            }
        }
        try "1 1:0.5\n-1 2:x\n".write(toFile: path("bad.svm"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SparseDataFile.convertLIBSVMStreaming(from: path("bad.svm"), to: path("never.mtx"))) { error in
            XCTAssertTrue("\(error)".contains("bad.svm:2"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("never.mtx")))
    }

    func testSymmetricMatricesThroughEdgeLists() throws {
        // A power-law graph with a trailing isolated node and a self-loop (diagonal entry).
        let graph = try CSRMatrix.randomPowerLawGraph(nodes: 500, edges: 1500, exponent: 2.5, seed: 4)
        var builder = try COOBuilder(rows: 501, columns: 501)
        for i in 0..<500 {
            for k in graph.rowPointers[i]..<graph.rowPointers[i + 1] {
                try builder.append(row: i, column: Int(graph.columnIndices[k]), value: 0.7 + Double(i + Int(graph.columnIndices[k])) / 3)
            }
        }
        try builder.append(row: 3, column: 3, value: 2.25)
        let original = builder.makeCSR()
        XCTAssertTrue(original.isSymmetric(tolerance: 0))
        for name in ["g.edges", "g.mtx", "g.edges.gz", "g.npz", "h.edges"] {
            try SparseDataFile.write(SparseData(features: original, symmetric: true), to: path(name))
            assertIdentical(try SparseDataFile.read(path: path(name)).features, original, name)
        }
        // The Matrix Market file stores one triangle (declared symmetric).
        XCTAssertTrue(try String(contentsOfFile: path("g.mtx"), encoding: .utf8).hasPrefix("%%MatrixMarket matrix coordinate real symmetric"))
        // An unsymmetric matrix is refused as an edge list.
        XCTAssertThrowsError(try SparseDataFile.write(SparseData(features: try awkwardMatrix()), to: path("bad.edges")))
    }

    func testLabelsFiles() throws {
        let labels = [1.0, -1, 0.5, 1e-300, 1.0 / 3]
        for name in ["y.npy", "y.mtx", "y.txt", "y.npy.gz"] {
            try SparseDataFile.writeTargets(labels, to: path(name))
            XCTAssertEqual(try SparseDataFile.readTargets(path: path(name)).map(\.bitPattern), labels.map(\.bitPattern), name)
        }
    }

    func testNumPyHeadersAndDtypes() throws {
        // Big-endian doubles, 8-byte and 2-byte integers, a bytes string: as other writers store them.
        func npy(_ descr: String, _ shape: String, _ body: [UInt8]) -> [UInt8] {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            let n = header.utf8.count
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xff), UInt8(n >> 8)] + Array(header.utf8) + body
        }
        var big: [UInt8] = []
        for v in [1.5, -2.0] { withUnsafeBytes(of: v.bitPattern.bigEndian) { big += $0 } }
        XCTAssertEqual(try NumPyArray.decode(npy(">f8", "(2,)", big), path: "t", name: "a").doubles(), [1.5, -2.0])
        var long: [UInt8] = []
        for v in [Int64(-3), 1 << 40] { withUnsafeBytes(of: v.littleEndian) { long += $0 } }
        XCTAssertEqual(try NumPyArray.decode(npy("<i8", "(2,)", long), path: "t", name: "a").integers(), [-3, 1 << 40])
        XCTAssertEqual(try NumPyArray.decode(npy("<i2", "(3,)", [0xff, 0xff, 2, 0, 0, 0x80]), path: "t", name: "a").integers(), [-1, 2, -32768])
        XCTAssertEqual(try NumPyArray.decode(npy("|S3", "()", Array("csr".utf8)), path: "t", name: "a").string(), "csr")
        XCTAssertEqual(try NumPyArray.decode(NumPyArray(string: "coo").encoded(), path: "t", name: "a").string(), "coo")
        // Our headers are padded to 64 bytes, as NumPy's.
        XCTAssertEqual((NumPyArray(doubles: [1, 2, 3]).encoded().count - 24) % 64, 0)
        // A shape that does not match the data is refused, naming the array.
        XCTAssertThrowsError(try NumPyArray.decode(npy("<f8", "(3,)", big), path: "t.npz", name: "data.npy")) { error in
            XCTAssertTrue("\(error)".contains("data.npy"), "\(error)")
        }
        XCTAssertThrowsError(try NumPyArray.decode(Array("not numpy".utf8), path: "t", name: "x"))
    }

    func testDamagedArchivesAreRefusedWithTheirReason() throws {
        let matrix = try awkwardMatrix()
        try SparseDataFile.write(SparseData(features: matrix), to: path("m.npz"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("m.npz"))))
        func refused(_ data: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
            try! Data(data).write(to: URL(fileURLWithPath: path("bad.npz")))
            XCTAssertThrowsError(try SparseDataFile.read(path: path("bad.npz")), file: file, line: line) { error in
                XCTAssertTrue(error is SparseIOError, "\(error)", file: file, line: line)
                XCTAssertTrue("\(error)".contains(path("bad.npz")) && "\(error)".contains(expected), "\(error)", file: file, line: line)
            }
        }
        refused(Array(bytes.prefix(bytes.count / 2)), "zip")                 // truncated: no directory
        refused(Array("hello".utf8), "not a zip archive")
        var flipped = bytes
        flipped[200] ^= 0x5a                                                  // inside the first entry's deflate data
        refused(flipped, "indices.npy")                                        // CRC or deflate error, naming the entry
        // Offsets and sizes a damaged file declares near 2⁶³ are refused, not overflowed: a zip64
        // locator pointing far beyond the file, just before the end record.
        var locator: [UInt8] = [0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0]
        withUnsafeBytes(of: UInt64(0x7FFF_FFFF_FFFF_FFF0).littleEndian) { locator += $0 }
        locator += [1, 0, 0, 0]
        refused(Array(bytes.dropLast(22)) + locator + Array(bytes.suffix(22)), "zip64")
        // A .npy shape whose element count overflows is refused by name.
        let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"
        let npy: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(huge.utf8.count & 0xff), UInt8(huge.utf8.count >> 8)] + Array(huge.utf8)
        XCTAssertThrowsError(try NumPyArray.decode(npy, path: "t.npz", name: "data.npy")) { XCTAssertTrue("\($0)".contains("2⁶³"), "\($0)") }
        // Binary files have no lines: no ':0:' in the message.
        XCTAssertThrowsError(try SparseDataFile.read(path: path("bad.npz"))) { XCTAssertFalse("\($0)".contains(":0:"), "\($0)") }
        // An archive without the sparse arrays.
        try BinaryFile.write(try ZipArchive.archive([(name: "x.npy", contents: NumPyArray(doubles: [1]).encoded())]), to: path("other.npz"))
        XCTAssertThrowsError(try SparseDataFile.read(path: path("other.npz"))) { XCTAssertTrue("\($0)".contains("save_npz"), "\($0)") }
        // A format we do not read.
        let bsr: [(name: String, contents: [UInt8])] = [("format.npy", NumPyArray(string: "bsr").encoded()),
                                                         ("shape.npy", NumPyArray(integers: [2, 2]).encoded()),
                                                         ("data.npy", NumPyArray(doubles: []).encoded())]
        try BinaryFile.write(try ZipArchive.archive(bsr), to: path("bsr.npz"))
        XCTAssertThrowsError(try SparseDataFile.read(path: path("bsr.npz"))) { XCTAssertTrue("\($0)".contains("bsr"), "\($0)") }
        // Unknown extensions name the ones known.
        XCTAssertThrowsError(try SparseFileFormat(path: "data.parquet")) { XCTAssertTrue("\($0)".contains(".npz"), "\($0)") }
    }

    /// SciPy's own reader and writer against ours; skipped (saying so) when SciPy is not importable.
    func testSciPyReadsOursAndWeReadSciPys() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import scipy.sparse, numpy"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { throw XCTSkip("python3 is not available: the SciPy interoperability test did not run") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("SciPy is not importable: the SciPy interoperability test did not run") }
        let matrix = try awkwardMatrix()
        try SparseDataFile.write(SparseData(features: matrix), to: path("ours.npz"))
        try MatrixMarket.write(matrix, to: path("ours.mtx"))
        let script = """
        import numpy as np, scipy.sparse as sp, scipy.io, sys
        d = sys.argv[1]
        A = sp.load_npz(d + "/ours.npz")
        B = sp.csr_matrix(scipy.io.mmread(d + "/ours.mtx"))
        assert A.format == "csr" and A.shape == B.shape, (A.format, A.shape, B.shape)
        assert (A != B).nnz == 0 and A.nnz == B.nnz
        assert np.array_equal(A.data.view(np.int64), B.data.view(np.int64))
        sp.save_npz(d + "/scipy-csr.npz", A)
        sp.save_npz(d + "/scipy-csc.npz", A.tocsc(), compressed=False)
        sp.save_npz(d + "/scipy-coo.npz", A.tocoo())
        C = A.tocsr(); C.indices = C.indices.astype(np.int64); C.indptr = C.indptr.astype(np.int64)
        sp.save_npz(d + "/scipy-long.npz", C)
        print("ok")
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, errors)
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "ok", errors)
        for name in ["scipy-csr.npz", "scipy-csc.npz", "scipy-coo.npz", "scipy-long.npz"] {
            assertIdentical(try SparseDataFile.read(path: path(name)).features, matrix, name)
        }
    }
}
