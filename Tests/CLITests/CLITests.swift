import XCTest
import Foundation
import Preconditioners
import Sparse

/// Runs the built `isparse` binary and checks outputs and exit codes (0 success, 1 usage,
/// 2 input error, 3 numerical failure), and that every failure is one line on stderr.
final class CLITests: XCTestCase {
    func testLinsolveEveryMethodOnGrid() throws {
        for method in ["cholesky", "lu", "cg", "minres", "gmres", "bicgstab", "lsqr", "auto"] {
            let result = try run(["linsolve", "--grid", "30", "--method", method, "--precond", method == "lsqr" ? "none" : "jacobi", "--json"])
            XCTAssertEqual(result.code, 0, "\(method): \(result.err)")
            let object = try json(result.out)
            XCTAssertLessThanOrEqual(try XCTUnwrap(object["relativeResidual"] as? Double), 1e-8, method)
            for key in ["method", "preconditioner", "status", "iterations", "seconds"] { XCTAssertNotNil(object[key], key) }
            let seconds = try XCTUnwrap(object["seconds"] as? [String: Any])
            for key in ["analyze", "factorize", "solve", "total"] { XCTAssertNotNil(seconds[key], key) }
        }
    }

    /// A tolerance below the attainable accuracy: CG stops at its floor within a few dozen
    /// iterations with status stagnation, exit 0, the attained (finite) residual and a note, and
    /// writes its answer; a run that misses its tolerance at the iteration cap exits 3 with the
    /// finite residual it reached in the message (never NaN / null).
    func testLinsolveStopsAtTheAttainableAccuracy() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-floor.mtx").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        for precond in ["none", "jacobi"] {
            let result = try run(["linsolve", "--grid", "60", "--method", "cg", "--precond", precond, "--rtol", "1e-17", "--json", "--out", out])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            XCTAssertEqual(object["status"] as? String, "stagnation")
            XCTAssertLessThan(try XCTUnwrap(object["iterations"] as? Int), 300)
            let residual = try XCTUnwrap(object["relativeResidual"] as? Double)
            XCTAssertLessThan(residual, 1e-12)
            XCTAssertTrue((object["note"] as? String)?.contains("attainable accuracy") == true)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        }
        let capped = try run(["linsolve", "--grid", "60", "--method", "cg", "--rtol", "1e-12", "--max-iter", "5", "--json"])
        XCTAssertEqual(capped.code, 3, capped.err)
        XCTAssertFalse(capped.err.contains("nan"), capped.err)
        let object = try json(capped.out)
        XCTAssertTrue((object["relativeResidual"] as? Double)?.isFinite == true, capped.out)
    }

    func testLinsolveFileRhsAndOutput() throws {
        let a = write("%%MatrixMarket matrix coordinate real general\n3 3 5\n1 1 4\n2 2 5\n3 3 6\n1 2 1\n3 1 -1\n", "a.mtx")
        let b = write("%%MatrixMarket matrix array real general\n3 1\n1\n2\n3\n", "b.mtx")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-x.mtx").path
        let result = try run(["linsolve", a, "--rhs", b, "--out", out])
        XCTAssertEqual(result.code, 0, result.err)
        XCTAssertTrue(result.out.contains("method: lu"), result.out)  // unsymmetric → LU
        let x = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst(2).map { Double($0)! }
        // Check Ax = b directly.
        XCTAssertEqual(4 * x[0] + x[1], 1, accuracy: 1e-12)
        XCTAssertEqual(5 * x[1], 2, accuracy: 1e-12)
        XCTAssertEqual(-x[0] + 6 * x[2], 3, accuracy: 1e-12)
    }

    /// `linsolve --method auto` and the library's policy (the one the implicit layer uses)
    /// make the same choice for the same operator and right-hand side (b = A·1) and say the same
    /// reason; the choice stated before any solve (`choice(for:)`, probing a fixed
    /// pseudo-random right-hand side) takes the same method.
    func testAutoAndTheLibraryPolicyGiveTheSameChoiceAndReason() throws {
        // A Laplacian-like matrix large enough for the probe (not the small-matrix rule), and
        // a small indefinite-free one that goes straight to CHOLMOD.
        for (side, scale) in [(320, 40.0), (20, 1.0)] {
            let a = try CSRMatrix.gridGraphLaplacian2D(rows: side, columns: side).scaled(by: scale).addingIdentity(scaledBy: 1)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-policy\(side).mtx").path
            try MatrixMarket.write(a, to: path, symmetry: .symmetric)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try run(["linsolve", path, "--method", "auto", "--rtol", "1e-8", "--json"])
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            let read = try MatrixMarket.read(path: path).matrix.declaringSymmetric()
            let policy = AutomaticLinearSolver(options: KrylovOptions(relativeTolerance: 1e-8))
            let strategy = LinearSolveStrategy(solver: policy)
            _ = try strategy.solve(read, try read.multiply([Double](repeating: 1, count: read.columns)))
            let report = try XCTUnwrap(strategy.lastReport)
            XCTAssertEqual(object["method"] as? String, report.method)
            XCTAssertEqual(object["preconditioner"] as? String, report.preconditioner)
            let reason = try XCTUnwrap(object["reason"] as? String)
            XCTAssertTrue(("auto: " + report.reason).hasPrefix(reason) || reason.hasPrefix("auto: " + report.reason),
                          "CLI: \(reason)\nlibrary: \(report.reason)")
            let choice = try policy.choice(for: read)
            XCTAssertEqual(choice.method, report.method)
            XCTAssertEqual(choice.preconditioner, report.preconditioner)
        }
    }

    func testAutoFallsBackWhenOverBudgetAndOnIndefinite() throws {
        let over = try run(["linsolve", "--grid", "40", "--memory-budget", "1K", "--json"])
        XCTAssertEqual(over.code, 0, over.err)
        let object = try json(over.out)
        XCTAssertEqual(object["method"] as? String, "cg")
        XCTAssertTrue((object["reason"] as? String ?? "").contains("over the memory budget"))
        let indefinite = write("%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n1 1 1\n2 1 2\n2 2 1\n", "ind.mtx")
        let auto = try run(["linsolve", indefinite, "--json"])
        XCTAssertEqual(auto.code, 0, auto.err)
        // Cholesky finds it indefinite; the policy's next stage is UMFPACK LU.
        XCTAssertEqual(try json(auto.out)["method"] as? String, "lu")
        XCTAssertTrue((try json(auto.out)["reason"] as? String ?? "").contains("not positive definite"), auto.out)
        let explicit = try run(["linsolve", indefinite, "--method", "cholesky"])
        XCTAssertEqual(explicit.code, 3)
        XCTAssertTrue(explicit.err.contains("not positive definite"), explicit.err)
        XCTAssertEqual(explicit.err.split(separator: "\n").count, 1)
        let overExplicit = try run(["linsolve", "--grid", "40", "--method", "cholesky", "--memory-budget", "1K"])
        XCTAssertEqual(overExplicit.code, 3)
        XCTAssertTrue(overExplicit.err.contains("budget"), overExplicit.err)
    }

    func testExitCodesAndOneLineErrors() throws {
        let singular = write("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n1 2 1\n", "sing.mtx")
        let malformed = write("%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 x\n", "bad.mtx")
        let cases: [([String], Int32, String)] = [
            (["linsolve"], 1, "either"),
            (["linsolve", "--grid", "10", "--method", "nope"], 1, "nope"),
            (["linsolve", "--grid", "0"], 1, "grid"),
            (["frobnicate"], 1, ""),
            (["linsolve", malformed], 2, "bad.mtx:3"),
            (["linsolve", "/nonexistent/a.mtx"], 2, "cannot open"),
            (["data", "info", FileManager.default.temporaryDirectory.path], 2, "directory"),
            (["linsolve", singular, "--method", "lu"], 3, "singular"),
            (["linsolve", "--grid", "30", "--method", "cg", "--max-iter", "2"], 3, "did not converge"),
            // NaN/Inf in θ (the regularization strength) and the other hyperparameters.
            (["hypergrad", "lasso", "--lambda", "nan"], 1, "finite"),
            (["hypergrad", "lasso", "--lambda", "inf"], 1, "finite"),
            (["hypergrad", "lasso", "--lambda-ratio", "nan"], 1, "finite"),
            (["hypergrad", "enet", "--l1-ratio", "nan"], 1, "l1-ratio"),
            (["hypergrad", "ridge", "--lambda=-inf"], 1, "finite"),
        ]
        for (arguments, code, fragment) in cases {
            let result = try run(arguments)
            XCTAssertEqual(result.code, code, "\(arguments): \(result.err)")
            XCTAssertEqual(result.err.split(separator: "\n").count, 1, "\(arguments): \(result.err)")
            if !fragment.isEmpty { XCTAssertTrue(result.err.contains(fragment), "\(arguments): \(result.err)") }
        }
    }

    /// An unreadable file is an input error naming it. Root reads any file, so as root the
    /// binary runs with its privileges dropped to nobody (setpriv, util-linux).
    func testUnreadableFileIsAnInputError() throws {
        let path = write("1 1:1\n", "unreadable.svm")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(chmod(path, 0), 0)
        let result: (code: Int32, out: String, err: String)
        if geteuid() == 0 {
            let setpriv = "/usr/bin/setpriv"
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: setpriv), "running as root without setpriv")
            // The clone may sit under a directory nobody cannot enter (/root): run a copy.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-bin")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let copy = directory.appendingPathComponent("isparse")
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(at: binary, to: copy)
            XCTAssertEqual(chmod(directory.path, 0o755), 0)
            XCTAssertEqual(chmod(copy.path, 0o755), 0)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", copy.path, "data", "info", path]
            let err = Pipe()
            process.standardError = err
            process.standardOutput = Pipe()
            try process.run()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            result = (process.terminationStatus, "", String(decoding: errData, as: UTF8.self))
        } else {
            result = try run(["data", "info", path])
        }
        XCTAssertEqual(result.code, 2, result.err)
        XCTAssertTrue(result.err.contains("unreadable.svm") && result.err.contains("Permission denied"), result.err)
        XCTAssertEqual(result.err.split(separator: "\n").count, 1, result.err)
    }

    func testHypergradOnALIBSVMFileAgreesWithFiniteDifference() throws {
        // A small regression data set with a planted sparse truth.
        var lines: [String] = []
        for i in 0..<200 {
            var features: [(Int, Double)] = []
            var target = 0.0
            for j in 1...30 where (i * 7 + j * 13) % 5 == 0 || j == 1 + i % 30 {
                let value = sin(Double(i * 31 + j))
                features.append((j, value))
                if j % 6 == 1 { target += Double(j) / 10 * value }
            }
            target += 0.05 * cos(Double(i))
            lines.append("\(target) " + features.map { "\($0.0):\($0.1)" }.joined(separator: " "))
        }
        let path = write(lines.joined(separator: "\n") + "\n", "hyper.svm")
        for (model, intercept) in [("lasso", false), ("enet", false), ("ridge", false), ("lasso", true), ("enet", true), ("ridge", true)] {
            let strength = model == "ridge" ? ["--lambda", "0.01"] : ["--lambda-ratio", "20"]
            let result = try run(["hypergrad", model, "--data", path, "--check", "--json", "--tol", "1e-12"] + strength
                                 + (intercept ? ["--fit-intercept"] : []))
            XCTAssertEqual(result.code, 0, result.err)
            let object = try json(result.out)
            for key in ["lambda", "validationLoss", "hypergradient", "supportSize", "linearSolver", "adjointResidual", "seconds", "finiteDifference"] {
                XCTAssertNotNil(object[key], "\(model): \(key)")
            }
            let hyper = try XCTUnwrap(object["hypergradient"] as? Double)
            let fd = try XCTUnwrap(object["finiteDifference"] as? Double)
            // The bar: --check agrees to a relative 1e-5.
            XCTAssertEqual(hyper, fd, accuracy: 1e-5 * max(abs(fd), 1e-4), "\(model), intercept \(intercept)")
            XCTAssertEqual(object["fitIntercept"] as? Bool, intercept)
            XCTAssertGreaterThan(try XCTUnwrap(object["supportSize"] as? Int), 0)
        }
        let bad = try run(["hypergrad", "lasso", "--data", path, "--lambda", "-1"])
        XCTAssertEqual(bad.code, 1)
        let missing = try run(["hypergrad", "lasso", "--data", "/nonexistent.svm"])
        XCTAssertEqual(missing.code, 2)
    }

    func testDataInfoOnBothFormats() throws {
        let svm = write("1 1:2 3:4\n-1 2:1\n", "d.svm")
        let info = try run(["data", "info", svm, "--json"])
        XCTAssertEqual(info.code, 0, info.err)
        let object = try json(info.out)
        XCTAssertEqual(object["format"] as? String, "libsvm")
        XCTAssertEqual(object["rows"] as? Int, 2)
        XCTAssertEqual(object["columns"] as? Int, 3)
        XCTAssertEqual(object["nonzeros"] as? Int, 3)
        let mtx = write("%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n1 1 2\n3 1 1\n", "s.mtx")
        let text = try run(["data", "info", mtx])
        XCTAssertEqual(text.code, 0, text.err)
        XCTAssertTrue(text.out.contains("symmetric"))
        XCTAssertTrue(text.out.contains("nonzeros: 3"), text.out)
        let help = try run(["--help"])
        XCTAssertEqual(help.code, 0)
        XCTAssertTrue(help.out.contains("linsolve"))
    }
}
