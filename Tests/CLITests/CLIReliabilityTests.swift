import XCTest
import ArgumentParser
import Foundation
import ImplicitSparse
@testable import isparse
import ISparseCLICore

/// Issue 10's classes, one regression test per class: no crash, no silently wrong answer
/// with exit 0, no destroyed input or half-written output, one exit code per error type, one
/// index-base decision per problem, linear-time parsing, no nonsense printed.
final class CLIReliabilityTests: XCTestCase {

    func assertFailure(_ arguments: [String], code: Int32, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try run(arguments)
        XCTAssertEqual(result.code, code, "\(arguments): \(result.err)", file: file, line: line)
        XCTAssertEqual(result.err.split(separator: "\n").count, 1, "\(arguments): \(result.err)", file: file, line: line)
        XCTAssertTrue(result.err.contains(fragment), "\(arguments): \(result.err)", file: file, line: line)
        XCTAssertLessThan(result.err.utf8.count, 2000, "one short line", file: file, line: line)
    }

    /// Crashes → typed errors: empty data, out-of-range options, declared sizes the run could
    /// not hold (budgeted for the whole run, not one vector), lines without end.
    func testDeclaredSizesAndDegenerateInputsGiveTypedErrors() throws {
        let empty = write("", "empty.svm"), comments = write("# nothing\n# here\n", "comments.svm")
        try assertFailure(["hypergrad", "lasso", "--data", empty], code: 2, "no samples")
        try assertFailure(["hypergrad", "lasso", "--data", comments], code: 2, "no samples")
        try assertFailure(["hypergrad", "lasso", "--data", "/dev/null"], code: 2, "no samples")
        let one = write("1 1:1\n", "one.svm")
        try assertFailure(["hypergrad", "lasso", "--data", one], code: 2, "at least 2 rows")
        try assertFailure(["linsolve", "--grid", "10", "--threads", "2147483648"], code: 1, "threads")
        try assertFailure(["linsolve", "--grid", "46340"], code: 3, "bytes")
        let huge = write("%%MatrixMarket matrix coordinate real general\n400000000 400000000 1\n1 1 1\n", "huge.mtx")
        try assertFailure(["linsolve", huge], code: 2, "huge.mtx:2")
        let hugeSVM = write("1 400000000:1\n", "huge.svm")
        try assertFailure(["data", "info", hugeSVM], code: 2, "huge.svm:1")
        let zero = write("%%MatrixMarket matrix coordinate real general\n0 0 0\n", "zero.mtx")
        for method in ["auto", "lu", "cholesky", "cg"] {
            try assertFailure(["linsolve", zero, "--method", method], code: 2, "empty")
        }
    }

    /// A line with no end (a private zero device, streamed, never copied) stops at the line
    /// limit; a 2·10⁵-feature LIBSVM row parses (in linear time since issue 10: it took 7 s when
    /// quadratic; the speed is a benchmark's to measure, not a test's).
    func testLongLinesAreBoundedAndLinear() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-zero-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let zero = directory + "/zero"
        guard mknod(zero, mode_t(S_IFCHR) | 0o666, dev_t(1 << 8 | 5)) == 0 else { throw XCTSkip("mknod is not permitted here") }
        try assertFailure(["data", "info", zero], code: 2, "line longer than")
        let row = "1 " + (1...200_000).map { "\($0):1" }.joined(separator: " ") + "\n"
        let wide = write(row, "wide.svm")
        let result = try run(["data", "info", wide, "--json"])
        XCTAssertEqual(result.code, 0, result.err)
        XCTAssertEqual(try json(result.out)["columns"] as? Int, 200_000)
        // A 10⁵-byte token is cut in the message.
        let token = write("1 " + String(repeating: "x", count: 100_000) + "\n", "token.svm")
        try assertFailure(["data", "info", token], code: 2, "bytes)")
    }

    /// Every "solved" is backed by the true residual: an unsymmetric matrix refused by
    /// Cholesky, a singular system never reported solved by a direct method (auto moves on to a
    /// method that solves the consistent system), an overflowing right-hand side refused —
    /// and no output written on failure.
    func testNoWrongAnswerWithExitZero() throws {
        let unsymmetric = write("%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 2\n1 2 1\n2 2 2\n3 3 2\n", "uns.mtx")
        try assertFailure(["linsolve", unsymmetric, "--method", "cholesky"], code: 2, "symmetric")
        let singular = write("%%MatrixMarket matrix coordinate real general\n2 2 4\n1 1 1\n1 2 1\n2 1 1\n2 2 1\n", "dup.mtx")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-x.mtx").path
        try? FileManager.default.removeItem(atPath: out)
        for method in ["cholesky", "lu"] {
            let result = try run(["linsolve", singular, "--method", method, "--out", out])
            XCTAssertEqual(result.code, 3, result.err)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output on failure")
        }
        // b = A·1 is consistent: auto ends with a Krylov method and a true residual within
        // the tolerance, saying why the direct methods were not used.
        let auto = try run(["linsolve", singular, "--json", "--out", out])
        XCTAssertEqual(auto.code, 0, auto.err)
        let object = try json(auto.out)
        XCTAssertLessThanOrEqual(try XCTUnwrap(object["relativeResidual"] as? Double), 1e-6)
        XCTAssertTrue((object["reason"] as? String ?? "").contains("singular") || (object["reason"] as? String ?? "").contains("not positive definite"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        try? FileManager.default.removeItem(atPath: out)
        // A Neumann (graph) Laplacian, singular positive semidefinite, consistent b = A·1.
        var lines = ["%%MatrixMarket matrix coordinate real symmetric", "50 50 99"]
        for i in 1...50 { lines.append("\(i) \(i) \(i == 1 || i == 50 ? 1 : 2)") }
        for i in 1..<50 { lines.append("\(i + 1) \(i) -1") }
        let neumann = write(lines.joined(separator: "\n") + "\n", "neumann.mtx")
        let solved = try run(["linsolve", neumann, "--json"])
        XCTAssertEqual(solved.code, 0, solved.err)
        XCTAssertLessThanOrEqual(try XCTUnwrap(try json(solved.out)["relativeResidual"] as? Double), 1e-6)
        let direct = try run(["linsolve", neumann, "--method", "cholesky"])
        XCTAssertNotEqual(direct.code, 0, "a direct method on a singular matrix must not report solved: \(direct.out)")
        // An overflowing right-hand side.
        let rhs = write("%%MatrixMarket matrix array real general\n2 1\n1e308\n1e308\n", "big-rhs.mtx")
        let spd = write("%%MatrixMarket matrix coordinate real symmetric\n2 2 2\n1 1 1e-300\n2 2 1e-300\n", "tiny.mtx")
        let overflow = try run(["linsolve", spd, "--rhs", rhs, "--out", out])
        XCTAssertNotEqual(overflow.code, 0, overflow.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Outputs: an output that names an input is refused (the input intact), writes are atomic
    /// (a temporary file renamed into place: no stray files, no partial file), and a full
    /// standard output is an error, not a silent exit 0.
    func testOutputsNeverDestroyInputsAndAreAtomic() throws {
        let a = write("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 2\n2 2 4\n", "keep.mtx")
        let before = try String(contentsOfFile: a, encoding: .utf8)
        try assertFailure(["linsolve", a, "--out", a], code: 1, "refusing to overwrite")
        let link = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-link.mtx").path
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: a)
        try assertFailure(["linsolve", a, "--out", link], code: 1, "refusing to overwrite")
        XCTAssertEqual(try String(contentsOfFile: a, encoding: .utf8), before)
        let data = write("1 1:1\n2 2:1\n1 1:2\n3 2:2\n1 1:1 2:1\n", "train.svm")
        try assertFailure(["hypergrad", "lasso", "--data", data, "--output", data], code: 1, "refusing to overwrite")
        // Atomic: the directory holds only the result afterwards.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-out")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let x = directory.appendingPathComponent("x.mtx.gz").path
        let ok = try run(["linsolve", a, "--out", x])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["x.mtx.gz"])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: x))
        XCTAssertEqual(Array(bytes.prefix(2)), [0x1f, 0x8b], "gzip magic bytes")
        // Standard output to a full device (a private node, never the system's /dev/full).
        let devices = try privateDevices()
        defer { try? FileManager.default.removeItem(atPath: devices.directory) }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["linsolve", a, "--json"]
        process.standardOutput = FileHandle(forWritingAtPath: devices.full)
        let err = Pipe()
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("standard output"))
    }

    /// A temporary directory holding private character devices like /dev/full (1, 7) and
    /// /dev/null (1, 3), made with mknod: the tests never write to the system's nodes (as
    /// root a rename over them would replace them). Skips when mknod is not permitted.
    func privateDevices() throws -> (directory: String, full: String, null: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-dev-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let full = directory + "/full", null = directory + "/null"
        // Linux's makedev(1, minor) for minors below 256.
        guard mknod(full, mode_t(S_IFCHR) | 0o666, dev_t(1 << 8 | 7)) == 0, mknod(null, mode_t(S_IFCHR) | 0o666, dev_t(1 << 8 | 3)) == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            throw XCTSkip("mknod is not permitted here (\(String(cString: strerror(errno))))")
        }
        return (directory, full, null)
    }

    func isCharacterDevice(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
    }

    /// Outputs onto special files: a full device fails with exit 2 naming the file and stays a
    /// device; a null device is written through (exit 0) and stays a device; a FIFO without a
    /// reader is refused at once (no hang); a symbolic link keeps being a link and its target
    /// gets the result. No temporary file is left beside any of them.
    func testOutputsOntoDevicesFIFOsAndLinks() throws {
        let devices = try privateDevices()
        defer { try? FileManager.default.removeItem(atPath: devices.directory) }
        for option in [["linsolve", "--grid", "10", "--out"], ["hypergrad", "graph-ls", "--grid", "8x8", "--lambda", "1", "--epsilon", "0.1", "--output"]] {
            let full = try run(option + [devices.full])
            XCTAssertEqual(full.code, 2, "\(option): \(full.err)")
            XCTAssertTrue(full.err.contains(devices.full), full.err)
            XCTAssertEqual(full.err.split(separator: "\n").count, 1, full.err)
            XCTAssertTrue(isCharacterDevice(devices.full), "the device node survives")
            let null = try run(option + [devices.null])
            XCTAssertEqual(null.code, 0, "\(option): \(null.err)")
            XCTAssertTrue(isCharacterDevice(devices.null), "the device node survives")
        }
        let plot = try run(["tune", "graph-ls", "--grid", "8x8", "--lambda", "1", "--epsilon", "0.1", "--max-iter", "2", "--quiet", "--plot", devices.full])
        XCTAssertEqual(plot.code, 2, plot.err)
        XCTAssertTrue(isCharacterDevice(devices.full))
        // A FIFO without a reader: refused without blocking.
        let fifo = devices.directory + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let refused = try run(["linsolve", "--grid", "10", "--out", fifo])
        XCTAssertEqual(refused.code, 2, refused.err)
        XCTAssertTrue(refused.err.contains("FIFO"), refused.err)
        // A symbolic link: the link stays, its target receives the answer.
        let target = devices.directory + "/x.mtx", link = devices.directory + "/link.mtx"
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(try run(["linsolve", "--grid", "10", "--out", link]).code, 0)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertTrue(try String(contentsOfFile: target, encoding: .utf8).hasPrefix("%%MatrixMarket"))
        let left = try FileManager.default.contentsOfDirectory(atPath: devices.directory).filter { $0.contains(".tmp-") }
        XCTAssertEqual(left, [], "no temporary files left")
    }

    /// Inputs read once: a FIFO without a writer is refused at once (exit 2, no hang); a FIFO
    /// with a writer is read whole, by the streamed two-pass conversion too (the same bytes as
    /// from the file); two outputs naming one file are a usage error before any work; an
    /// output whose directory is missing stops the command before the first output is written.
    func testInputsReadOnceAndOutputsAsOneTransaction() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-once").path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let data = directory + "/t.svm"
        XCTAssertEqual(try run(["data", "generate", "regression", "--rows", "200", "--features", "300", "--support", "20", "--out", data]).code, 0)
        let fifo = directory + "/in.svm"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        for arguments in [["data", "info", fifo], ["solve", "lasso", "--data", fifo], ["data", "convert", fifo, directory + "/x.mtx"],
                          ["data", "split", fifo, "--fractions", "0.5,0.5", "--out", directory + "/p1.svm," + directory + "/p2.svm"]] {
            let refused = try run(arguments)
            XCTAssertEqual(refused.code, 2, "\(arguments): \(refused.err)")
            XCTAssertTrue(refused.err.contains("FIFO with no writer"), refused.err)
        }
        // A writer: the streamed conversion reads the FIFO once, whole.
        XCTAssertEqual(try run(["data", "convert", data, directory + "/a.mtx"]).code, 0)
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "cat \"\(data)\" > \"\(fifo)\""]
        try writer.run()
        let streamed = try run(["data", "convert", fifo, directory + "/b.mtx"])
        writer.waitUntilExit()
        XCTAssertEqual(streamed.code, 0, streamed.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/a.mtx")), try Data(contentsOf: URL(fileURLWithPath: directory + "/b.mtx")))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).contains { $0.hasPrefix(".isparse-input-\(getpid())") })
        // Two outputs, one file.
        let w = directory + "/w.mtx"
        try assertFailure(["tune", "lasso", "--data", data, "--max-iter", "1", "--output", w, "--plot", directory + "/./w.mtx"], code: 1, "name the same file")
        try assertFailure(["data", "generate", "regression", "--rows", "20", "--features", "30", "--support", "5", "--out", directory + "/g.mtx",
                           "--labels-out", directory + "/y.mtx", "--truth-out", directory + "/../\(URL(fileURLWithPath: directory).lastPathComponent)/y.mtx"],
                          code: 1, "name the same file")
        try assertFailure(["data", "split", data, "--fractions", "0.5,0.5", "--out", directory + "/s.svm," + directory + "/./s.svm"], code: 1, "same file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: w))
        // A later output in a missing directory: nothing is written.
        let first = directory + "/o.mtx"
        let missing = try run(["data", "convert", data, first, "--labels", directory + "/nodir/y.npy"])
        XCTAssertNotEqual(missing.code, 0)
        XCTAssertTrue(missing.err.contains("does not exist"), missing.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: first), "no output before the failure")
    }

    /// Sizes from options are checked before allocating (no trap, no kill), malformed grid
    /// sizes refused, and input errors name their file.
    func testSizesFromOptionsAndMessagesNamingTheirFile() throws {
        try assertFailure(["data", "generate", "graph", "power-law", "--nodes", "1000", "--average-degree", "1e19", "--out", "/tmp/never.mtx"],
                          code: 1, "2³¹ − 1 edges")
        try assertFailure(["data", "generate", "graph", "power-law", "--nodes", "10000000000", "--out", "/tmp/never.mtx"], code: 1, "--nodes")
        try assertFailure(["data", "generate", "regression", "--rows", "100000000", "--features", "1000", "--nnz-per-row", "20", "--out", "/tmp/never.svm"],
                          code: 3, "over the limit")
        try assertFailure(["solve", "graph-ls", "--grid", "20000x10000", "--lambda", "1"], code: 3, "over the limit")
        for grid in ["5X5x", "x5x5", "5xx5", "5x", "5"] {
            try assertFailure(["solve", "graph-ls", "--grid", grid, "--lambda", "1"], code: 1, "--grid")
        }
        XCTAssertEqual(try run(["solve", "graph-ls", "--grid", "5X5", "--lambda", "1"]).code, 0)
        let labels = write("1 1:1 2:1\n2 1:2\n-1 2:3\n", "labels.svm")
        try assertFailure(["tune", "logreg", "--data", labels, "--val", labels], code: 2, "labels.svm: sample 2 has label 2.0")
        let train = write("1 1:1 2:1\n2 1:2\n-1 2:3\n0.5 1:1\n", "train4.svm"), empty = write("", "empty-val.svm")
        for command in [["hypergrad", "lasso"], ["tune", "lasso"]] {
            try assertFailure(command + ["--data", train, "--val", empty], code: 2, "empty-val.svm: no samples")
        }
    }

    /// Paths the suite had never run: `--threads 1` and `--threads 2` give the same answers
    /// (to rounding: parallel sums change the order of additions); `solve graph-tv` succeeds
    /// with its certificate; `--zero-based` reads a 0-based file as the same problem as its
    /// 1-based twin.
    func testThreadsZeroBasedAndGraphTVSolve() throws {
        var answers: [[Double]] = []
        for threads in ["1", "2"] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-threads-\(threads).mtx").path
            defer { try? FileManager.default.removeItem(atPath: out) }
            let result = try run(["linsolve", "--grid", "120", "--method", "cg", "--precond", "jacobi", "--rtol", "1e-12", "--threads", threads, "--out", out])
            XCTAssertEqual(result.code, 0, result.err)
            answers.append(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst(2).map { Double($0)! })
        }
        XCTAssertEqual(answers[0].count, answers[1].count)
        let scale = answers[0].map(abs).max() ?? 1
        for (a, b) in zip(answers[0], answers[1]) { XCTAssertEqual(a, b, accuracy: 1e-9 * scale) }
        var derivatives: [Double] = []
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-threads.svm").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        XCTAssertEqual(try run(["data", "generate", "regression", "--rows", "600", "--features", "400", "--support", "20", "--out", data]).code, 0)
        for threads in ["1", "2"] {
            let result = try run(["hypergrad", "lasso", "--data", data, "--lambda-ratio", "5", "--threads", threads, "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            derivatives.append(try XCTUnwrap(try json(result.out)["hypergradient"] as? Double))
        }
        XCTAssertEqual(derivatives[0], derivatives[1], accuracy: 1e-9 * max(abs(derivatives[0]), 1e-12))
        // solve graph-tv: the success path and its certificate.
        let tv = try run(["solve", "graph-tv", "--grid", "10x10", "--lambda", "0.1", "--epsilon", "0.1", "--json"])
        XCTAssertEqual(tv.code, 0, tv.err)
        let object = try json(tv.out)
        let gap = try XCTUnwrap(object["dualityGap"] as? Double)
        XCTAssertLessThanOrEqual(gap, 1e-6 * 0.5 * 100 * 10, "the gap meets --tol's default target (a bound on ½‖y_T‖²)")
        XCTAssertGreaterThan(try XCTUnwrap(object["groups"] as? Int), 1)
        // --zero-based: the same problem as the 1-based file.
        let oneBased = write("1 1:1 3:2\n-1 2:1\n2 1:1 2:1 3:1\n0.5 3:4\n1.5 1:2 2:-1\n", "one.svm")
        let zeroBased = write("1 0:1 2:2\n-1 1:1\n2 0:1 1:1 2:1\n0.5 2:4\n1.5 0:2 1:-1\n", "zero.svm")
        let a = try run(["solve", "lasso", "--data", oneBased, "--lambda-ratio", "3", "--json"])
        let b = try run(["solve", "lasso", "--data", zeroBased, "--zero-based", "--lambda-ratio", "3", "--json"])
        XCTAssertEqual(a.code, 0, a.err)
        XCTAssertEqual(b.code, 0, b.err)
        XCTAssertEqual(try XCTUnwrap(try json(a.out)["objective"] as? Double), try XCTUnwrap(try json(b.out)["objective"] as? Double), accuracy: 1e-12)
    }

    /// bench failures that need no work: one line on standard error, nothing on standard
    /// output (no header first), the right exit code.
    func testBenchFailuresAreOneLine() throws {
        for (arguments, code, fragment) in [(["bench", "lasso", "--data", "/nonexistent-isparse.svm", "--quick", "--rounds", "1"], Int32(2), "no such file"),
                                            (["bench", "nosuch"], Int32(1), "unknown suite")] {
            let result = try run(arguments)
            XCTAssertEqual(result.code, code, result.err)
            XCTAssertEqual(result.out, "", "nothing before the error")
            XCTAssertEqual(result.err.split(separator: "\n").count, 1, result.err)
            XCTAssertTrue(result.err.contains(fragment), result.err)
        }
    }

    /// SIGTERM and SIGINT during a long write: exit 143 / 130, the target absent (never
    /// half-written), no hidden temporary left beside it.
    func testSignalsDuringAWriteLeaveNoTemporaries() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-signal").path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (signal, code) in [(SIGTERM, Int32(143)), (SIGINT, Int32(130))] {
            let out = directory + "/big-\(signal).svm"
            let process = Process()
            process.executableURL = binary
            process.arguments = ["data", "generate", "regression", "--rows", "150000", "--features", "100000", "--nnz-per-row", "30", "--out", out]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until the write has begun (its temporary exists), then signal.
            var started = false
            for _ in 0..<6000 {
                if (try FileManager.default.contentsOfDirectory(atPath: directory)).contains(where: { $0.contains(".tmp-") }) { started = true; break }
                if !process.isRunning { break }
                usleep(20_000)
            }
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            guard started else {
                XCTFail("the write of about 100 MB finished before it could be interrupted (signal \(signal))")
                continue
            }
            XCTAssertEqual(process.terminationStatus, code, "signal \(signal)")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory)
            XCTAssertFalse(left.contains { $0.contains(".tmp-") }, "\(left)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no half-written output")
        }
    }

    /// Exit codes by error type: preconditioner failures as their kind (zero diagonal = input,
    /// as for Jacobi), numerical failures of hypergrad = 3, never the usage code.
    func testExitCodesFollowTheErrorType() throws {
        let zeroDiagonal = write("%%MatrixMarket matrix coordinate real symmetric\n2 2 2\n1 1 1\n2 1 1\n", "zero-diag.mtx")
        for precond in ["jacobi", "ssor", "ic0", "ilu0"] {
            let method = precond == "ilu0" ? "gmres" : "cg"
            let result = try run(["linsolve", zeroDiagonal, "--method", method, "--precond", precond])
            XCTAssertEqual(result.code, 2, "\(precond): \(result.err)")
        }
        // Every error type the commands can meet has its code (docs/CLI.md's table); numerical
        // failures of the implicit layer and the inner solvers are 3, never the usage code.
        let table: [(Error, Int32)] = [
            (ImplicitError.singularJacobian(SparseError.singularMatrix(reciprocalCondition: 0)), 3),
            (ImplicitError.solverFailed(SparseError.invalidArgument("x")), 3),
            (ImplicitError.invalidTheta(SparseError.nonFinite(what: "θ", index: 0)), 2),
            (RegularizedLeastSquaresError.notConverged(solver: "FISTA", iterations: 1, unit: "iterations", certificate: 1, target: 0), 3),
            (LinearSolveError.notConverged(method: "minres", status: .maximumIterations, iterations: 1, relativeResidual: 1), 3),
            (LinearSolveError.inaccurate(method: "cholesky", relativeResidual: 1, acceptable: 0), 3),
            (LinearSolveError.needsExplicitMatrix("lu"), 2),
            (PreconditionerError.breakdown(row: 0, shift: 1), 3),
            (PreconditionerError.zeroDiagonal(row: 0), 2),
            (SparseError.memoryBudgetExceeded(what: "x", predictedBytes: 2, limitBytes: 1), 3),
            (SparseError.notPositiveDefinite(column: 0), 3),
            (SparseIOError.malformed(path: "a", line: 1, message: "m"), 2),
        ]
        for (error, code) in table {
            let classified = try XCTUnwrap(ErrorReport.classifyLibraryError(error), "\(error)")
            XCTAssertEqual(classified.0.rawValue, code, "\(error)")
        }
    }

    /// One index-base decision per problem: a validation file is read with the training file's
    /// base; an index 0 in a file read 1-based is an error naming its line; `--zero-based`
    /// forces 0-based for both, giving the same answer as a 1-based pair shifted by one.
    func testOneIndexBaseDecisionPerProblem() throws {
        var random = SplitMix(seed: 5)
        var trainLines: [String] = [], valLines: [String] = []
        for i in 0..<80 {
            let x1 = random.next(), x2 = random.next(), x3 = random.next()
            let y = 2 * x1 - x2 + 0.5 * x3 + 0.1 * random.next()
            let line = String(format: "%.6f 1:%.6f 2:%.6f 3:%.6f", y, x1, x2, x3)
            if i < 60 { trainLines.append(line) } else { valLines.append(line) }
        }
        let train = write(trainLines.joined(separator: "\n") + "\n", "base-train.svm")
        let val = write(valLines.joined(separator: "\n") + "\n", "base-val.svm")
        let reference = try run(["hypergrad", "lasso", "--data", train, "--val", val, "--json"])
        XCTAssertEqual(reference.code, 0, reference.err)
        let shift = { (lines: [String]) in lines.map { line in
            line.split(separator: " ").enumerated().map { k, token in
                k == 0 ? String(token) : { let p = token.split(separator: ":"); return "\(Int(p[0])! - 1):\(p[1])" }()
            }.joined(separator: " ")
        } }
        let train0 = write(shift(trainLines).joined(separator: "\n") + "\n", "base-train0.svm")
        let val0 = write(shift(valLines).joined(separator: "\n") + "\n", "base-val0.svm")
        let zeroBased = try run(["hypergrad", "lasso", "--data", train0, "--val", val0, "--json"])
        XCTAssertEqual(zeroBased.code, 0, zeroBased.err)
        XCTAssertEqual(try json(zeroBased.out)["validationLoss"] as? Double, try json(reference.out)["validationLoss"] as? Double)
        // Training file 1-based (no feature 0), validation file 0-based: an error, not a shift.
        try assertFailure(["hypergrad", "lasso", "--data", train, "--val", val0], code: 2, "base-val0.svm:1")
    }

    /// Nonsense printed: ridge has no λ_max (none in text, null in JSON) and its inner solve is
    /// CG with a relative residual; a vanishing derivative prints without a sign.
    func testRidgeReportsWhatItDid() throws {
        let text = try run(["hypergrad", "ridge", "--lambda", "1e-3"])
        XCTAssertEqual(text.code, 0, text.err)
        XCTAssertTrue(text.out.contains("no λ_max"), text.out)
        XCTAssertTrue(text.out.contains("inner solve: CG"), text.out)
        XCTAssertFalse(text.out.contains("duality gap"), text.out)
        XCTAssertFalse(text.out.contains("e+298"), text.out)
        let object = try json(try run(["hypergrad", "ridge", "--lambda", "1e-3", "--json"]).out)
        XCTAssertTrue(object["lambdaMax"] is NSNull)
        XCTAssertEqual(object["innerSolver"] as? String, "cg")
        let lasso = try run(["hypergrad", "lasso", "--lambda-ratio", "1.0001"])
        XCTAssertFalse(lasso.out.contains("-0\n"), lasso.out)
    }

    /// The hypergradient against a computation in the test itself (not the binary's own
    /// --check): one feature with an intercept, where the lasso is a soft threshold,
    /// w = S(c, λ)/a with a = Σ(x − x̄)²/n, c = Σ(x − x̄)(y − ȳ)/n, b = ȳ − x̄w, and
    /// d w / d log λ = −λ/a on the support.
    func testHypergradientAgainstAClosedForm() throws {
        var random = SplitMix(seed: 11)
        var xs: [Double] = [], ys: [Double] = []
        for _ in 0..<40 { let x = random.next() * 2; xs.append(x); ys.append(1.5 * x + 0.3 + 0.2 * (random.next() - 0.5)) }
        let (xt, yt, xv, yv) = (Array(xs[..<30]), Array(ys[..<30]), Array(xs[30...]), Array(ys[30...]))
        let lines = { (x: [Double], y: [Double]) in zip(x, y).map { String(format: "%.17g 1:%.17g", $1, $0) }.joined(separator: "\n") + "\n" }
        let train = write(lines(xt, yt), "closed-train.svm"), val = write(lines(xv, yv), "closed-val.svm")
        let n = Double(xt.count)
        let xbar = xt.reduce(0, +) / n, ybar = yt.reduce(0, +) / n
        let a = xt.reduce(0) { $0 + ($1 - xbar) * ($1 - xbar) } / n
        let c = zip(xt, yt).reduce(0) { $0 + ($1.0 - xbar) * ($1.1 - ybar) } / n
        let lambda = c / 3
        let w = (c - lambda) / a, b = ybar - xbar * w
        let residuals = zip(xv, yv).map { $1 - w * $0 - b }
        let loss = residuals.reduce(0) { $0 + $1 * $1 } / Double(xv.count)
        // dL/dw with b = ȳ − x̄w: −(2/n_v) Σ r_v (x_v − x̄); dw/d log λ = −λ/a.
        let dLdw = -2 / Double(xv.count) * zip(residuals, xv).reduce(0) { $0 + $1.0 * ($1.1 - xbar) }
        let derivative = dLdw * (-lambda / a)
        for solver in ["cd", "fista"] {
            let result = try run(["hypergrad", "lasso", "--data", train, "--val", val, "--fit-intercept",
                                  "--lambda", String(format: "%.17g", lambda), "--solver", solver, "--tol", "1e-14", "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            XCTAssertEqual(try XCTUnwrap(object["validationLoss"] as? Double), loss, accuracy: 1e-9 * loss, solver)
            XCTAssertEqual(try XCTUnwrap(object["intercept"] as? Double), b, accuracy: 1e-7, solver)
            XCTAssertEqual(try XCTUnwrap(object["hypergradient"] as? Double), derivative, accuracy: 1e-7 * abs(derivative), solver)
        }
    }

    /// Options README documents and no test ran: standalone AMG, Cholesky orderings, JSON
    /// arrays for the AMG levels, and `--output`.
    func testDocumentedLinsolveAndHypergradOptions() throws {
        let amg = try run(["linsolve", "--grid", "40", "--method", "amg", "--json"])
        XCTAssertEqual(amg.code, 0, amg.err)
        let levels = try XCTUnwrap(try json(amg.out)["amg"] as? [String: Any])
        XCTAssertNotNil(levels["rows"] as? [Int], "amg.rows is an array of integers")
        XCTAssertNotNil(levels["nonzeros"] as? [Int])
        for ordering in ["amd", "metis", "nesdis", "natural"] {
            let result = try run(["linsolve", "--grid", "30", "--method", "cholesky", "--ordering", ordering, "--json"])
            XCTAssertEqual(result.code, 0, "\(ordering): \(result.err)")
            XCTAssertLessThan(try XCTUnwrap(try json(result.out)["relativeResidual"] as? Double), 1e-12)
        }
        // `given` is the policy's own ordering (it needs a permutation): not an option value.
        let given = try run(["linsolve", "--grid", "30", "--method", "cholesky", "--ordering", "given"])
        XCTAssertEqual(given.code, 1, given.err)
        XCTAssertFalse(given.err.contains("Fatal"), given.err)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-w.mtx").path
        try? FileManager.default.removeItem(atPath: output)
        let data = write((0..<30).map { i in "\(Double(i % 5)) 1:\(Double(i % 3)) 2:\(Double(i % 7))" }.joined(separator: "\n") + "\n", "opt.svm")
        let result = try run(["hypergrad", "lasso", "--data", data, "--lambda-ratio", "4", "--output", output])
        XCTAssertEqual(result.code, 0, result.err)
        let written = try String(contentsOfFile: output, encoding: .utf8)
        XCTAssertTrue(written.hasPrefix("%%MatrixMarket matrix array real general\n2 1\n"), written)
    }

    /// A rank-deficient support (an exact duplicate of a binary column, both copies in the
    /// FISTA solution): exit 0, the non-uniqueness line, `nonUnique` and `supportRank` in JSON.
    func testRankDeficientSupportIsReportedWithExitZero() throws {
        var random = SplitMix(seed: 21)
        var lines: [String] = []
        for i in 0..<200 {
            var features: [(Int, Double)] = []
            for j in 1...12 where random.next() < 0.5 / Double(j).squareRoot() { features.append((j, 1)) }
            if features.contains(where: { $0.0 == 1 }) { features.append((13, 1)) }  // column 13 = column 1
            let y = features.reduce(0.0) { $0 + ($1.0 == 1 || $1.0 == 13 ? 1.5 : $1.0 == 4 ? -1 : 0) } + 0.05 * random.next()
            lines.append(String(format: "%.6f ", y) + features.map { "\($0.0):1" }.joined(separator: " "))
            _ = i
        }
        let data = write(lines.joined(separator: "\n") + "\n", "dup-binary.svm")
        let arguments = ["hypergrad", "lasso", "--data", data, "--solver", "fista", "--lambda-ratio", "20", "--tol", "1e-13"]
        let text = try run(arguments)
        XCTAssertEqual(text.code, 0, text.err)
        XCTAssertTrue(text.out.contains("not unique"), text.out)
        let object = try json(try run(arguments + ["--json"]).out)
        XCTAssertEqual(object["nonUnique"] as? Bool, true)
        let rank = try XCTUnwrap(object["supportRank"] as? Int), size = try XCTUnwrap(object["supportSize"] as? Int)
        XCTAssertEqual(rank, size - 1)
        XCTAssertEqual(object["linearSolver"] as? String, "pseudo-inverse")
        XCTAssertTrue((try XCTUnwrap(object["hypergradient"] as? Double)).isFinite)
    }

    /// The tolerance is bounded by what double precision can certify.
    func testToleranceBelowDoublePrecisionIsRefused() throws {
        try assertFailure(["hypergrad", "lasso", "--tol", "1e-300"], code: 1, "double precision")
    }
    /// Declared sizes of every input are budgeted before allocating: a LIBSVM width comment,
    /// a one-entry Matrix Market array of 46340² used as weights or a signal, a `.npz` whose
    /// shape declares 2³¹ rows — exit 2 with the file, the line and the estimate; no SIGABRT,
    /// no kill by the kernel.
    func testDeclaredSizesOfEveryInputAreBudgeted() throws {
        let wide = write("# isparse: columns=2000000000\n1 1:1\n-1 2:1\n", "wide-comment.svm")
        try assertFailure(["hypergrad", "lasso", "--data", wide], code: 2, "wide-comment.svm:1")
        try assertFailure(["solve", "lasso", "--data", wide, "--lambda", "0.1"], code: 2, "columns=")
        let array = write("%%MatrixMarket matrix array real general\n46340 46340\n1\n", "huge-array.mtx")
        let data = write("1 1:1 2:1\n-1 1:1\n1 2:1\n", "small.svm")
        try assertFailure(["solve", "glm", "--data", data, "--datafit", "quadratic", "--penalty", "wl1", "--weights", array, "--lambda", "0.1"],
                          code: 2, "huge-array.mtx:2")
        let graph = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-budget-grid.mtx").path
        XCTAssertEqual(try run(["data", "generate", "graph", "grid", "--nodes", "100", "--out", graph]).code, 0)
        try assertFailure(["hypergrad", "graph-ls", "--graph", graph, "--signal", array, "--lambda", "1"], code: 2, "huge-array.mtx:2")
    }

    /// Every subcommand's `--help` (walked from the command tree itself) exits 0 and prints
    /// text without stray line-continuation backslashes.
    func testEveryHelpPrintsCleanly() throws {
        // The tree as the reference pages walk it (hidden commands too), with each command's
        // name as typed (a configured name or ArgumentParser's kebab-case default).
        let paths = ReferenceDocsCommand.commands(includeHidden: true).map(\.path)
        XCTAssertGreaterThan(paths.count, 20)
        for path in paths {
            let r = try run(path + ["--help"])
            XCTAssertEqual(r.code, 0, "\(path): \(r.err)")
            XCTAssertTrue(r.out.contains("USAGE: isparse \(path.joined(separator: " "))"), "\(path): \(r.out.prefix(300))")
            for line in r.out.split(separator: "\n") where line.hasSuffix("\\") {
                XCTFail("\(path.joined(separator: " ")) --help: a stray backslash: \(line)")
            }
        }
    }

    /// The CLI reference in docs/cli/ is generated from the commands: it fails here when a
    /// command, option or help text changed without `isparse reference-docs` being rerun.
    func testCLIReferenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let r = try run(["reference-docs", "--check", "--out", root.appendingPathComponent("docs/cli").path])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(r.out.contains("current"), r.out)
        // And the check can fail: a page edited by hand is stale.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-ref-\(getpid())")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(at: root.appendingPathComponent("docs/cli"), to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        try "# edited\n".write(to: copy.appendingPathComponent("isparse-linsolve.md"), atomically: true, encoding: .utf8)
        let stale = try run(["reference-docs", "--check", "--out", copy.path])
        XCTAssertEqual(stale.code, 2)
        XCTAssertTrue(stale.err.contains("isparse-linsolve.md"), stale.err)
    }

    /// File names are byte strings: a name that is not UTF-8 (here with the byte 0xFF) works as
    /// data, as an output (read back byte for byte) and in messages (shown as \xFF). The
    /// arguments go through /bin/sh and printf, since `Process` passes only UTF-8 strings.
    func testFileNamesThatAreNotUTF8() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-bytes-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = write("1 1:1 2:0.5\n-1 1:0.2 3:1\n1 2:1 3:0.3\n-1 1:1 3:0.7\n1 2:0.4\n", "bytes-source.svm")
        func shell(_ script: String) throws -> (code: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script, "sh", binary.path, directory, source]
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
        }
        // $1 = isparse, $2 = directory, $3 = a UTF-8 source file.
        let copy = try shell(#"n="$2/$(printf 'd\377ta')"; cp "$3" "$n.svm" && "$1" data convert "$n.svm" "$n.mtx" && "$1" data info "$n.mtx""#)
        XCTAssertEqual(copy.code, 0, copy.err)
        XCTAssertTrue(copy.out.contains("5") , copy.out)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        XCTAssertEqual(names.count, 2, "\(names)")  // no stray temporary, no U+FFFD-named twin
        let solved = try shell(#"n="$2/$(printf 'd\377ta')"; "$1" solve lasso --data "$n.svm" --lambda-ratio 0.5 --output "$n-w.mtx" --json && cat "$n-w.mtx""#)
        XCTAssertEqual(solved.code, 0, solved.err)
        XCTAssertTrue(solved.out.contains("%%MatrixMarket"), solved.out)
        let missing = try shell(#""$1" data info "$2/$(printf 'no\377pe').svm""#)
        XCTAssertEqual(missing.code, 2)
        XCTAssertTrue(missing.err.contains("no\\xFFpe.svm"), missing.err)
        XCTAssertEqual(missing.err.split(separator: "\n").count, 1, missing.err)
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Double {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}
