import Foundation
import XCTest
@testable import ImplicitSparse
import Sparse

/// Proximal Newton for sparse logistic regression on binary data with duplicated and
/// dependent columns: the duality gap, KKT conditions computed here from X, and FISTA (with
/// the smooth part and prox written in the test) as the reference.
final class SparseLogisticRegressionTests: XCTestCase {
    let data = try! Datasets.binaryTextLike(rows: 500, columns: 150, nonzerosPerRow: 8, duplicateColumns: 5, dependentColumns: 5,
                                            informative: 20, classification: true, seed: 21)

    /// ∇F(w) = −(1/n) Σ yᵢσ(−yᵢxᵢᵀw)xᵢ from X's rows.
    func lossGradient(_ problem: SparseLogisticRegression, _ w: [Double]) -> [Double] {
        let x = problem.design, n = Double(x.rows)
        var g = [Double](repeating: 0, count: x.columns)
        for i in 0..<x.rows {
            var z = 0.0
            for k in x.rowPointers[i]..<x.rowPointers[i + 1] { z += x.values[k] * w[Int(x.columnIndices[k])] }
            let yi = problem.labels[i]
            let coefficient = -yi / (1 + exp(yi * z)) / n
            for k in x.rowPointers[i]..<x.rowPointers[i + 1] { g[Int(x.columnIndices[k])] += coefficient * x.values[k] }
        }
        return g
    }

    func fista(_ problem: SparseLogisticRegression) throws -> [Double] {
        var options = ProximalGradient.Options()
        options.tolerance = 1e-9 * log(2.0)
        options.maxIterations = 100_000
        let l1 = problem.lambda * problem.l1Ratio, l2 = problem.lambda * (1 - problem.l1Ratio)
        let result = ProximalGradient(options: options).minimize(
            from: [Double](repeating: 0, count: problem.design.columns),
            smooth: { w in
                let loss = problem.loss(margins: try! problem.design.multiply(w))
                return (loss, self.lossGradient(problem, w))
            },
            prox: { v, step in v.map { abs($0) > step * l1 ? ($0 - (($0 > 0) ? 1 : -1) * step * l1) / (1 + step * l2) : 0 } },
            penalty: { problem.penalty($0) },
            certificate: { try! problem.dualityGap($0) })
        XCTAssertTrue(result.converged, "FISTA reference")
        return result.solution
    }

    func testProximalNewtonAgainstFISTAWithKKTAndGap() throws {
        let x = data.features, y = data.targets
        for alpha in [1.0, 0.5] {
            let lambdaMax = try SparseLogisticRegression.lambdaMax(design: x, labels: y, l1Ratio: alpha)
            for ratio in [5.0, 20.0] {
                let problem = try SparseLogisticRegression(design: x, labels: y, lambda: lambdaMax / ratio, l1Ratio: alpha)
                let result = try ProximalNewton().solve(problem, tolerance: 1e-10)
                XCTAssertTrue(result.converged, "α \(alpha) λ_max/\(ratio): gap \(result.dualityGap)")
                XCTAssertLessThanOrEqual(try problem.dualityGap(result.solution), 1.01e-10 * log(2.0))
                let w = result.solution
                XCTAssertTrue(w.contains { $0 != 0 })
                let g = lossGradient(problem, w)
                let l1 = problem.lambda * alpha, l2 = problem.lambda * (1 - alpha)
                for j in 0..<w.count {
                    let v = -(g[j] + l2 * w[j])
                    if w[j] != 0 { XCTAssertEqual(v, w[j] > 0 ? l1 : -l1, accuracy: 1e-4 * l1, "feature \(j)") } else {
                        XCTAssertLessThanOrEqual(abs(v), l1 * (1 + 1e-4), "feature \(j)")
                    }
                }
                let reference = try problem.objective(try fista(problem))
                XCTAssertEqual(try problem.objective(w), reference, accuracy: 1e-8 * reference)
            }
        }
    }

    func testLabelsLambdaMaxAndErrors() throws {
        let x = data.features, y = data.targets
        let zeroOne = y.map { $0 > 0 ? 1.0 : 0.0 }
        let lambdaMax = try SparseLogisticRegression.lambdaMax(design: x, labels: y)
        XCTAssertEqual(try SparseLogisticRegression.lambdaMax(design: x, labels: zeroOne), lambdaMax)
        let at = try SparseLogisticRegression(design: x, labels: zeroOne, lambda: lambdaMax * (1 + 1e-9))
        XCTAssertEqual(at.labels, y)
        XCTAssertTrue(try ProximalNewton().solve(at).solution.allSatisfy { $0 == 0 })
        var bad = y
        bad[6] = 2
        XCTAssertThrowsError(try SparseLogisticRegression(design: x, labels: bad, lambda: 0.1)) { error in
            XCTAssertTrue("\(error)".contains("row 7"), "\(error)")
        }
        bad[6] = 0
        XCTAssertThrowsError(try SparseLogisticRegression(design: x, labels: bad, lambda: 0.1))
        XCTAssertThrowsError(try SparseLogisticRegression(design: x, labels: y, lambda: 0.1, l1Ratio: 0))
        XCTAssertThrowsError(try ProximalNewton().solve(at, warmStart: [1]))
        // A tolerance below what rounding allows stops with the gap reached, not a loop.
        let tight = try ProximalNewton().solve(try SparseLogisticRegression(design: x, labels: y, lambda: lambdaMax / 5), tolerance: 1e-15)
        XCTAssertLessThan(tight.outerIterations, 50)
        XCTAssertLessThan(tight.dualityGap, 1e-9)
    }
}
