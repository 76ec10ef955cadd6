import XCTest
import Foundation
import Sparse

/// `isparse solve`: one λ or a path, each answer checked here against the KKT conditions
/// (computed in the test from the file and the written w, not from the binary's gap), CD
/// against FISTA, and the path's warm starts.
final class SolveCommandTests: XCTestCase {
    /// Rows of a small LIBSVM problem with power-law features and their arrays.
    func problem() -> (path: String, x: [[Double]], y: [Double]) {
        var random = SplitMix(seed: 42)
        var rows: [[Double]] = [], ys: [Double] = [], lines: [String] = []
        for _ in 0..<120 {
            var row = [Double](repeating: 0, count: 15)
            for j in 0..<15 where random.next() < 0.6 / Double(j + 1).squareRoot() { row[j] = (random.next() * 2).rounded(toPlaces: 3) }
            let y = (2 * row[0] - row[1] + 0.5 * row[4] + 0.1 * random.next()).rounded(toPlaces: 6)
            rows.append(row); ys.append(y)
            lines.append("\(y) " + row.enumerated().filter { $0.element != 0 }.map { "\($0.offset + 1):\($0.element)" }.joined(separator: " "))
        }
        return (write(lines.joined(separator: "\n") + "\n", "solve.svm"), rows, ys)
    }

    /// Largest KKT violation of (1/2n)‖y − ȳ − (X − 1μᵀ)w‖² + λ(α‖w‖₁ + (1−α)/2‖w‖²), relative to λα.
    func kktViolation(_ x: [[Double]], _ y: [Double], _ w: [Double], lambda: Double, alpha: Double, intercept: Bool) -> Double {
        let n = Double(x.count), p = w.count
        let mu = (0..<p).map { j in intercept ? x.reduce(0) { $0 + $1[j] } / n : 0 }
        let ybar = intercept ? y.reduce(0, +) / n : 0
        var worst = 0.0
        let r = (0..<x.count).map { i in y[i] - ybar - (0..<p).reduce(0.0) { $0 + (x[i][$1] - mu[$1]) * w[$1] } }
        for j in 0..<p {
            let c = (0..<x.count).reduce(0.0) { $0 + (x[$1][j] - mu[j]) * r[$1] } / n - lambda * (1 - alpha) * w[j]
            let violation = w[j] != 0 ? abs(c - lambda * alpha * (w[j] > 0 ? 1 : -1)) : max(abs(c) - lambda * alpha, 0)
            worst = max(worst, violation / (lambda * alpha))
        }
        return worst
    }

    func testSolveSatisfiesKKTAndAgreesAcrossSolvers() throws {
        let (path, x, y) = problem()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-solve-w.mtx").path
        var objectives: [Double] = []
        for solver in ["cd", "fista"] {
            for (model, alpha) in [("lasso", 1.0), ("enet", 0.5)] {
                let result = try run(["solve", model, "--data", path, "--lambda-ratio", "8", "--l1-ratio", "0.5", "--fit-intercept",
                                      "--tol", "1e-12", "--solver", solver, "--output", out, "--json"])
                XCTAssertEqual(result.code, 0, result.err)
                let object = try json(result.out)
                let lambda = try XCTUnwrap(object["lambda"] as? Double)
                let w = try MatrixMarket.readDense(path: out).values
                XCTAssertLessThan(kktViolation(x, y, w, lambda: lambda, alpha: alpha, intercept: true), 1e-4, "\(model) \(solver)")
                XCTAssertLessThanOrEqual(try XCTUnwrap(object["dualityGap"] as? Double), 1e-10)
                if model == "lasso" { objectives.append(try XCTUnwrap(object["objective"] as? Double)) }
            }
        }
        XCTAssertEqual(objectives[0], objectives[1], accuracy: 1e-8 * objectives[0], "CD and FISTA reach the same objective")
    }

    func testPathIsWarmStartedAndCertified() throws {
        let (path, x, y) = problem()
        let result = try run(["solve", "lasso", "--data", path, "--path", "6", "--lambda-ratio", "50", "--tol", "1e-12", "--json"])
        XCTAssertEqual(result.code, 0, result.err)
        let object = try json(result.out)
        let points = try XCTUnwrap(object["path"] as? [[String: Any]])
        XCTAssertEqual(points.count, 6)
        let lambdas = points.compactMap { $0["lambda"] as? Double }
        XCTAssertEqual(lambdas.first, object["lambdaMax"] as? Double)
        XCTAssertEqual(try XCTUnwrap(lambdas.last), try XCTUnwrap(object["lambdaMax"] as? Double) / 50, accuracy: 1e-12)
        XCTAssertEqual(points.first?["supportSize"] as? Int, 0)
        for k in 1..<points.count {
            XCTAssertLessThan(lambdas[k], lambdas[k - 1])
            XCTAssertLessThanOrEqual(try XCTUnwrap(points[k]["dualityGap"] as? Double), 1e-10)
        }
        // The last point equals a cold single solve at the same λ.
        let single = try json(try run(["solve", "lasso", "--data", path, "--lambda", String(format: "%.17g", lambdas.last!), "--tol", "1e-12", "--json"]).out)
        XCTAssertEqual(try XCTUnwrap(points.last?["objective"] as? Double), try XCTUnwrap(single["objective"] as? Double),
                       accuracy: 1e-9 * (single["objective"] as? Double ?? 1))
        _ = (x, y)
        // Usage errors: ridge has no path; --lambda with --path.
        XCTAssertEqual(try run(["solve", "ridge", "--data", path, "--path", "3"]).code, 1)
        XCTAssertEqual(try run(["solve", "lasso", "--data", path, "--path", "3", "--lambda", "0.1"]).code, 1)
        let ridge = try json(try run(["solve", "ridge", "--data", path, "--lambda", "0.1", "--json"]).out)
        XCTAssertTrue(ridge["lambdaMax"] is NSNull)
        XCTAssertLessThan(try XCTUnwrap(ridge["relativeResidual"] as? Double), 1e-9)
    }

    /// wlasso (with an unpenalized feature), nnlasso and logreg: each answer checked here from
    /// the file and the written w (KKT with the weights, w ≥ 0, the logistic KKT), the JSON
    /// fields the issue names, and bad weights / labels / options refused with one line.
    func testWeightedNonNegativeAndLogistic() throws {
        let (path, x, y) = problem()
        let dir = FileManager.default.temporaryDirectory.path
        let out = "\(dir)/isparse-cli-\(getpid())-solve-w2.mtx"
        let weightsPath = "\(dir)/isparse-cli-\(getpid())-weights.mtx"
        let omega = (0..<15).map { $0 == 2 ? 0.0 : 1.0 + 0.1 * Double($0) }
        try ("%%MatrixMarket matrix array real general\n15 1\n" + omega.map { "\($0)" }.joined(separator: "\n") + "\n")
            .write(toFile: weightsPath, atomically: true, encoding: .utf8)
        let n = Double(x.count)
        func correlations(_ w: [Double], labels: [Double]? = nil) -> [Double] {
            // Least squares: Xᵀ(y − Xw)/n; logistic: Xᵀ(yσ(−y∘Xw))/n.
            let r = (0..<x.count).map { i -> Double in
                let z = (0..<15).reduce(0.0) { $0 + x[i][$1] * w[$1] }
                if let labels { return labels[i] / (1 + Foundation.exp(labels[i] * z)) }
                return y[i] - z
            }
            return (0..<15).map { j in (0..<x.count).reduce(0.0) { $0 + x[$1][j] * r[$1] } / n }
        }
        // Weighted lasso: −∇ⱼf ∈ λωⱼ∂|wⱼ|, the unpenalized feature at stationarity.
        let weighted = try run(["solve", "wlasso", "--data", path, "--weights", weightsPath, "--lambda-ratio", "5", "--tol", "1e-12",
                                "--output", out, "--json"])
        XCTAssertEqual(weighted.code, 0, weighted.err)
        let wObject = try json(weighted.out)
        for key in ["objective", "dualityGap", "supportSize", "iterations", "seconds", "lambda", "lambdaMax"] {
            XCTAssertNotNil(wObject[key], key)
        }
        let lambda = try XCTUnwrap(wObject["lambda"] as? Double)
        var w = try MatrixMarket.readDense(path: out).values
        var c = correlations(w)
        XCTAssertNotEqual(w[2], 0)
        for j in 0..<15 {
            let t = lambda * omega[j]
            if w[j] != 0 { XCTAssertEqual(c[j], w[j] > 0 ? t : -t, accuracy: 1e-5 * lambda, "wlasso \(j)") } else {
                XCTAssertLessThanOrEqual(abs(c[j]), t + 1e-5 * lambda)
            }
        }
        // Non-negative lasso.
        let nonNegative = try run(["solve", "nnlasso", "--data", path, "--lambda-ratio", "20", "--tol", "1e-12", "--output", out, "--json"])
        XCTAssertEqual(nonNegative.code, 0, nonNegative.err)
        let nnLambda = try XCTUnwrap(try json(nonNegative.out)["lambda"] as? Double)
        w = try MatrixMarket.readDense(path: out).values
        c = correlations(w)
        XCTAssertTrue(w.allSatisfy { $0 >= 0 })
        for j in 0..<15 {
            if w[j] > 0 { XCTAssertEqual(c[j], nnLambda, accuracy: 1e-5 * nnLambda) } else { XCTAssertLessThanOrEqual(c[j], nnLambda * (1 + 1e-5)) }
        }
        // Logistic regression on labels 0/1 (the sign of y), ℓ1 and ℓ1 + ℓ2.
        let labels = y.map { $0 > 1 ? 1.0 : 0.0 }
        let lines = (0..<x.count).map { i in
            "\(Int(labels[i])) " + x[i].enumerated().filter { $0.element != 0 }.map { "\($0.offset + 1):\($0.element)" }.joined(separator: " ")
        }
        let classification = write(lines.joined(separator: "\n") + "\n", "solve-cls.svm")
        for alpha in [1.0, 0.6] {
            let logistic = try run(["solve", "logreg", "--data", classification, "--lambda-ratio", "4", "--l1-ratio", "\(alpha)",
                                    "--tol", "1e-10", "--output", out, "--json"])
            XCTAssertEqual(logistic.code, 0, logistic.err)
            let object = try json(logistic.out)
            let lambda = try XCTUnwrap(object["lambda"] as? Double)
            XCTAssertEqual(object["solver"] as? String, "proximal Newton")
            w = try MatrixMarket.readDense(path: out).values
            XCTAssertTrue(w.contains { $0 != 0 })
            c = correlations(w, labels: labels.map { $0 == 1 ? 1 : -1 })
            for j in 0..<15 {
                let v = c[j] - lambda * (1 - alpha) * w[j], t = lambda * alpha
                if w[j] != 0 { XCTAssertEqual(v, w[j] > 0 ? t : -t, accuracy: 3e-5 * t, "logreg \(j): the KKT error of a gap of 1e-10 is about its square root") } else {
                    XCTAssertLessThanOrEqual(abs(v), t * (1 + 3e-5))
                }
            }
        }
        let logisticPath = try json(try run(["solve", "logreg", "--data", classification, "--path", "4", "--lambda-ratio", "10", "--json"]).out)
        XCTAssertEqual((logisticPath["path"] as? [[String: Any]])?.count, 4)
        // Refusals: one line each, exit 2 for input, 1 for usage.
        let badWeights = write("%%MatrixMarket matrix array real general\n3 1\n1\n2\n3\n", "bad-weights.mtx")
        let short = try run(["solve", "wlasso", "--data", path, "--weights", badWeights])
        XCTAssertEqual(short.code, 2)
        XCTAssertTrue(short.err.contains("15 features"), short.err)
        let negative = write("%%MatrixMarket matrix array real general\n15 1\n" + (0..<15).map { $0 == 4 ? "-1" : "1" }.joined(separator: "\n") + "\n",
                             "negative-weights.mtx")
        let refused = try run(["solve", "wlasso", "--data", path, "--weights", negative])
        XCTAssertEqual(refused.code, 2)
        XCTAssertTrue(refused.err.contains("weight 5"), refused.err)
        let notLabels = try run(["solve", "logreg", "--data", path])
        XCTAssertEqual(notLabels.code, 2)
        XCTAssertTrue(notLabels.err.contains("label of row 1"), notLabels.err)
        XCTAssertEqual(try run(["solve", "logreg", "--data", classification, "--fit-intercept"]).code, 1)
        XCTAssertEqual(try run(["solve", "wlasso", "--data", path]).code, 1)
        XCTAssertEqual(try run(["solve", "lasso", "--data", path, "--weights", weightsPath]).code, 1)
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = Foundation.pow(10.0, Double(places))
        return (self * scale).rounded() / scale
    }
}
