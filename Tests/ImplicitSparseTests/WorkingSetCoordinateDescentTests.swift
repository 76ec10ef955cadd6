import XCTest
@testable import ImplicitSparse
import Sparse

/// The working-set coordinate descent on the whole lasso family, on binary data shaped like
/// real data (power-law column frequencies, duplicated and linearly dependent columns): every
/// answer is checked by its duality gap, by KKT conditions computed here from X directly, and
/// against FISTA (the reference solver) on the same problem.
final class WorkingSetCoordinateDescentTests: XCTestCase {
    let data = try! Datasets.binaryTextLike(rows: 400, columns: 160, nonzerosPerRow: 8, duplicateColumns: 6, dependentColumns: 6,
                                            informative: 20, seed: 11)

    /// ∇f(w) = X̃ᵀ(X̃w − ỹ)/n + λ(1 − α)w, computed from X without the library's products.
    func smoothGradient(_ problem: LassoProblem, _ w: [Double]) -> [Double] {
        let x = problem.design
        let n = Double(x.rows)
        let b = problem.fitIntercept ? problem.targetMean - zip(problem.columnMeans, w).map(*).reduce(0, +) : 0
        var residual = [Double](repeating: 0, count: x.rows)
        for i in 0..<x.rows {
            var s = b
            for k in x.rowPointers[i]..<x.rowPointers[i + 1] { s += x.values[k] * w[Int(x.columnIndices[k])] }
            residual[i] = s - problem.targets[i]
        }
        var gradient = [Double](repeating: 0, count: x.columns)
        for i in 0..<x.rows {
            for k in x.rowPointers[i]..<x.rowPointers[i + 1] { gradient[Int(x.columnIndices[k])] += x.values[k] * residual[i] / n }
        }
        let ridge = problem.lambda * (1 - problem.l1Ratio)
        return (0..<w.count).map { gradient[$0] + ridge * w[$0] }
    }

    /// KKT: −∇ⱼf ∈ λαωⱼ ∂|wⱼ| (non-negative: −∇ⱼf ≤ λαωⱼ at wⱼ = 0, = at wⱼ > 0).
    func assertKKT(_ problem: LassoProblem, _ w: [Double], tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
        let g = smoothGradient(problem, w)
        for j in 0..<w.count {
            let t = problem.threshold(j)
            if problem.nonNegative { XCTAssertGreaterThanOrEqual(w[j], 0, file: file, line: line) }
            if w[j] != 0 {
                XCTAssertEqual(-g[j], w[j] > 0 ? t : -t, accuracy: tolerance, "feature \(j)", file: file, line: line)
            } else if problem.nonNegative {
                XCTAssertLessThanOrEqual(-g[j], t + tolerance, "feature \(j)", file: file, line: line)
            } else {
                XCTAssertLessThanOrEqual(abs(g[j]), t + tolerance, "feature \(j)", file: file, line: line)
            }
        }
    }

    func testWholeFamilyAgainstFISTAWithKKTAndGap() throws {
        let x = data.features, y = data.targets
        var rng = SplitMix64(seed: 4)
        var weights = (0..<x.columns).map { _ in 0.2 + 1.8 * rng.nextUniform() }
        weights[3] = 0; weights[40] = 0   // unpenalized features
        let cases: [(String, Double, [Double]?, Bool, Bool)] = [
            ("lasso", 1, nil, false, false), ("lasso + intercept", 1, nil, false, true),
            ("elastic net", 0.5, nil, false, false), ("elastic net + intercept", 0.5, nil, false, true),
            ("weighted lasso", 1, weights, false, false), ("weighted lasso + intercept", 1, weights, false, true),
            ("non-negative lasso", 1, nil, true, false), ("non-negative lasso + intercept", 1, nil, true, true),
            ("weighted non-negative elastic net", 0.7, weights, true, false),
        ]
        for (name, alpha, w, nonNegative, intercept) in cases {
            let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y, l1Ratio: alpha, fitIntercept: intercept,
                                                       penaltyWeights: w, nonNegative: nonNegative)
            for ratio in [10.0, 300.0] {
                let problem = try LassoProblem(design: x, targets: y, lambda: lambdaMax / ratio, l1Ratio: alpha, fitIntercept: intercept,
                                               penaltyWeights: w, nonNegative: nonNegative)
                let result = try CoordinateDescent().solve(problem, tolerance: 1e-12)
                XCTAssertTrue(result.converged, name)
                XCTAssertLessThanOrEqual(problem.dualityGap(result.solution), 1.01e-12 * problem.gapScale, "\(name) λ_max/\(ratio)")
                assertKKT(problem, result.solution, tolerance: 1e-6 * problem.lambda)
                let fista = problem.solve(tolerance: 1e-10, maxIterations: 100_000)
                XCTAssertTrue(fista.converged, "FISTA \(name)")
                let objective = problem.objective(result.solution), reference = problem.objective(fista.solution)
                // Duplicated and dependent columns make w* non-unique at small λ: the objectives agree.
                XCTAssertEqual(objective, reference, accuracy: 1e-8 * abs(reference), "\(name) λ_max/\(ratio)")
                XCTAssertLessThanOrEqual(objective, reference + 1e-12 * problem.gapScale, "\(name): CD no worse than FISTA (whose gap is 100× looser)")
            }
        }
    }

    /// At λ_max the answer is 0 (for the penalized features); just below it is not.
    func testLambdaMaxOfWeightedAndNonNegative() throws {
        let x = data.features, y = data.targets
        var weights = [Double](repeating: 1, count: x.columns)
        weights[0] = 3
        for nonNegative in [false, true] {
            let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y, penaltyWeights: weights, nonNegative: nonNegative)
            let at = try LassoProblem(design: x, targets: y, lambda: lambdaMax * (1 + 1e-9), penaltyWeights: weights, nonNegative: nonNegative)
            XCTAssertTrue(try CoordinateDescent().solve(at, tolerance: 1e-12).solution.allSatisfy { $0 == 0 })
            let below = try LassoProblem(design: x, targets: y, lambda: lambdaMax * 0.99, penaltyWeights: weights, nonNegative: nonNegative)
            XCTAssertTrue(try CoordinateDescent().solve(below, tolerance: 1e-12).solution.contains { $0 != 0 })
        }
    }

    /// Screening is safe (a screened feature is zero in the unscreened solution) and neither
    /// screening nor extrapolation changes the objective reached.
    func testScreeningAndExtrapolationDoNotChangeTheAnswer() throws {
        let x = data.features, y = data.targets
        let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y)
        let problem = try LassoProblem(design: x, targets: y, lambda: lambdaMax / 100)
        let reference = try CoordinateDescent().solve(problem, tolerance: 1e-13)
        XCTAssertGreaterThan(reference.screenedFeatures, 0)
        for (screening, anderson) in [(false, 5), (true, 0), (false, 0)] {
            var options = CoordinateDescent.Options()
            options.screening = screening
            options.andersonMemory = anderson
            let other = try CoordinateDescent(options: options).solve(problem, tolerance: 1e-13)
            XCTAssertTrue(other.converged)
            XCTAssertEqual(problem.objective(other.solution), problem.objective(reference.solution), accuracy: 1e-11)
            if !screening { XCTAssertEqual(other.screenedFeatures, 0) }
        }
        // One thread and two give the same iterates (the full pass only reads).
        var serial = CoordinateDescent.Options()
        serial.threads = 1
        var parallel = CoordinateDescent.Options()
        parallel.threads = 2
        let big = try Datasets.binaryTextLike(rows: 3_000, columns: 4_000, nonzerosPerRow: 30, duplicateColumns: 20, dependentColumns: 20, seed: 2)
        let bigMax = try LassoProblem.lambdaMax(design: big.features, targets: big.targets)
        let bigProblem = try LassoProblem(design: big.features, targets: big.targets, lambda: bigMax / 50)
        let one = try CoordinateDescent(options: serial).solve(bigProblem, tolerance: 1e-10)
        let two = try CoordinateDescent(options: parallel).solve(bigProblem, tolerance: 1e-10)
        XCTAssertEqual(one.solution, two.solution)
        XCTAssertEqual(one.epochs, two.epochs)
    }

    func testBadWeightsAndWarmStartsAreTypedErrors() throws {
        let x = data.features, y = data.targets
        var weights = [Double](repeating: 1, count: x.columns)
        weights[7] = -1
        XCTAssertThrowsError(try LassoProblem(design: x, targets: y, lambda: 0.1, penaltyWeights: weights)) { error in
            XCTAssertTrue("\(error)".contains("7"), "\(error)")
        }
        weights[7] = .nan
        XCTAssertThrowsError(try LassoProblem(design: x, targets: y, lambda: 0.1, penaltyWeights: weights))
        XCTAssertThrowsError(try LassoProblem(design: x, targets: y, lambda: 0.1, penaltyWeights: [1, 2]))
        let nonNegative = try LassoProblem(design: x, targets: y, lambda: 0.1, nonNegative: true)
        var start = [Double](repeating: 0, count: x.columns)
        start[2] = -1
        XCTAssertThrowsError(try CoordinateDescent().solve(nonNegative, warmStart: start))
    }
}
