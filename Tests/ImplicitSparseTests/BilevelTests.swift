import XCTest
import Foundation
@testable import ImplicitSparse

/// The outer optimizers of bilevel tuning (issue 14, first part) on smooth cases with known
/// optima, and held-out tuning of the lasso against a fine grid.
final class BilevelTests: XCTestCase {
    let optimizers: [any OuterOptimizer] = [GradientDescent(), Adam(learningRate: 0.3), BoundedLBFGS()]

    /// f(x) = (x − 2)² + 0.1(x − 2)⁴ + 1: each optimizer reaches x = 2; with the box [−1, 1]
    /// each stops at the bound 1.
    func testEachOptimizerReachesTheOptimumOfASmoothOneDimensionalCase() throws {
        let f: TuningObjective = { x in
            let d = x[0] - 2
            return (d * d + 0.1 * d * d * d * d + 1, [2 * d + 0.4 * d * d * d])
        }
        for optimizer in optimizers {
            var options = OuterOptions(maxIterations: 500)
            options.relativeDecrease = 1e-14
            let result = try optimizer.minimize(f, from: [-3], bounds: .unbounded(1), options: options, progress: nil)
            XCTAssertEqual(result.best[0], 2, accuracy: optimizer is Adam ? 1e-3 : 1e-5, "\(optimizer.name): \(result.stopReason)")
            XCTAssertEqual(result.bestValue, 1, accuracy: 1e-6)
            XCTAssertEqual(result.trajectory.first?.point, [-3])
            let bounded = try optimizer.minimize(f, from: [-0.5], bounds: TuningBounds(lower: [-1], upper: [1]), options: options, progress: nil)
            XCTAssertEqual(bounded.best[0], 1, accuracy: optimizer is Adam ? 1e-3 : 1e-9, "\(optimizer.name) with bounds: \(bounded.stopReason)")
        }
    }

    /// A badly scaled two-dimensional quadratic: L-BFGS needs few iterations, GD converges.
    func testTwoDimensionalQuadratic() throws {
        let f: TuningObjective = { x in
            let a = x[0] - 1, b = x[1] + 2
            return (50 * a * a + 0.5 * b * b + a * b, [100 * a + b, b + a])
        }
        var options = OuterOptions(maxIterations: 2000)
        options.relativeDecrease = 0
        options.projectedGradientTolerance = 1e-9
        let lbfgs = try BoundedLBFGS().minimize(f, from: [0, 0], bounds: .unbounded(2), options: options, progress: nil)
        let gd = try GradientDescent().minimize(f, from: [0, 0], bounds: .unbounded(2), options: options, progress: nil)
        // The minimizer solves [[100, 1], [1, 1]] d = 0 shifted: a = 1, b = −2 exactly.
        for r in [lbfgs, gd] {
            XCTAssertEqual(r.best[0], 1, accuracy: 1e-8)
            XCTAssertEqual(r.best[1], -2, accuracy: 1e-7)
        }
        XCTAssertLessThan(lbfgs.trajectory.count, 30)
        // The callback can stop a run.
        let stopped = try GradientDescent().minimize(f, from: [0, 0], bounds: .unbounded(2), options: options) { $0.iteration < 3 }
        XCTAssertEqual(stopped.trajectory.count, 4)
        XCTAssertEqual(stopped.stopReason, "stopped by the callback")
        XCTAssertThrowsError(try Adam().minimize(f, from: [0, 0], bounds: TuningBounds(lower: [1], upper: [0]), options: options, progress: nil))
    }

    /// Held-out tuning of log λ on generated text-like data reaches within 1 % of the best
    /// of a 40-point grid from λ_max/1000 to λ_max, with each optimizer (L-BFGS in fewer solves
    /// than the grid).
    func testHeldOutLassoTuningMatchesAFineGrid() throws {
        let data = try Datasets.textLike(rows: 1500, columns: 2500, nonzerosPerRow: 15, informative: 40, noise: 0.5, seed: 4)
        let split = try Datasets.split(rows: 1500, validationFraction: 0.3, seed: 1)
        let train = try data.features.selectingRows(split.train), validation = try data.features.selectingRows(split.validation)
        let y = split.train.map { data.targets[$0] }, yv = split.validation.map { data.targets[$0] }
        let grid = try HeldOutRegression(design: train, targets: y, validation: validation, validationTargets: yv)
        let top = Foundation.log(grid.lambdaMax)
        var gridBest = Double.infinity
        for k in 0..<40 { gridBest = min(gridBest, try grid.validationLoss(lambda: Foundation.exp(top - Foundation.log(1000) * Double(k) / 39))) }
        for optimizer in optimizers {
            let criterion = try HeldOutRegression(design: train, targets: y, validation: validation, validationTargets: yv)
            let bounds = TuningBounds(lower: [top - Foundation.log(1e4)], upper: [top])
            let result = try optimizer.minimize({ try criterion.evaluate($0) }, from: [top - Foundation.log(10)], bounds: bounds,
                                                options: OuterOptions(maxIterations: 40), progress: nil)
            XCTAssertLessThanOrEqual(result.bestValue, 1.01 * gridBest, "\(optimizer.name): \(result.stopReason), λ = e^\(result.best[0])")
            // L-BFGS needs fewer solves than the grid; GD (backtracking trials) and Adam (a fixed
            // rate) are only asked to get there.
            if optimizer is BoundedLBFGS { XCTAssertLessThan(criterion.innerSolves, 40, optimizer.name) }
            XCTAssertEqual(criterion.innerSolves, result.evaluations)
        }
    }

    /// 5-fold CV: its hypergradient equals the size-weighted sum of the folds' (each checked by
    /// a central difference), and its value the size-weighted mean of the folds' MSE.
    func testCrossValidationHypergradientIsTheSumOverFolds() throws {
        let data = try Datasets.textLike(rows: 600, columns: 800, nonzerosPerRow: 12, informative: 20, noise: 0.5, seed: 9)
        let cv = try CrossValidatedRegression(design: data.features, targets: data.targets, folds: 5, seed: 3, tolerance: 1e-12)
        XCTAssertEqual(cv.folds.count, 5)
        XCTAssertEqual(cv.folds.reduce(0) { $0 + $1.validation.rows }, 600)
        let theta = Foundation.log(cv.lambdaMax / 20)
        let (value, gradient) = try cv.evaluate([theta])
        var sum = 0.0, mean = 0.0
        for fold in cv.folds {
            let w = Double(fold.validation.rows) / 600
            let (v, g) = try fold.evaluate([theta])
            mean += w * v
            sum += w * g[0]
            // Each fold's hypergradient against a central difference in log λ (the support does
            // not change within ±h here).
            let h = 1e-4
            func loss(_ t: Double) throws -> Double {
                try HeldOutRegression(design: fold.problemDesign, targets: fold.targets, validation: fold.validation,
                                      validationTargets: fold.validationTargets, tolerance: 1e-13).validationLoss(lambda: Foundation.exp(t))
            }
            let fd = (try loss(theta + h) - loss(theta - h)) / (2 * h)
            XCTAssertEqual(g[0], fd, accuracy: 1e-5 * max(abs(fd), 1e-9))
        }
        XCTAssertEqual(value, mean, accuracy: 1e-12 * mean)
        XCTAssertEqual(gradient[0], sum, accuracy: 1e-12 * max(abs(sum), 1e-300))
        XCTAssertThrowsError(try CrossValidatedRegression(design: data.features, targets: data.targets, folds: 1))
    }
}
