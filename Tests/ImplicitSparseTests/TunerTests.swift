import Foundation
import ImplicitSparse
import XCTest

/// One library tuner drives a lasso (held-out MSE), a graph-ls model (two hyperparameters, no
/// support) and a Huber + ℓ1 model through the same code; each answer is checked against a
/// grid of the same criterion (the tuned value is no worse than the grid's best by more than
/// the grid's resolution allows).
final class TunerTests: XCTestCase {
    func gridBest(_ criterion: any LambdaPathCriterion, minRatio: Double, points: Int = 30) throws -> Double {
        try (0..<points).map { k in
            try criterion.validationLoss(lambda: criterion.lambdaMax * pow(minRatio, -Double(k) / Double(points - 1)))
        }.min()!
    }

    func testOneTunerForLassoGraphAndHuber() throws {
        let data = try Datasets.textLike(rows: 1_200, columns: 900, nonzerosPerRow: 10, informative: 30, seed: 4)
        let split = try Datasets.split(rows: 1_200, validationFraction: 0.25, seed: 1)
        let train = try data.features.selectingRows(split.train), yTrain = split.train.map { data.targets[$0] }
        let validation = try data.features.selectingRows(split.validation), yValidation = split.validation.map { data.targets[$0] }
        let tuner = Tuner()
        var steps = 0

        // The lasso's criterion, written before the tuner.
        let lasso = try HeldOutRegression(model: try LassoFamily(design: train, targets: yTrain), validation: validation, validationTargets: yValidation)
        let lassoReport = try tuner.tune(lasso, path: Tuner.Path(startRatio: 10, minRatio: 1e3)) { _ in steps += 1; return true }
        XCTAssertGreaterThan(steps, 1)
        XCTAssertLessThanOrEqual(lassoReport.bestValue, try gridBest(lasso, minRatio: 1e3) * 1.01)
        XCTAssertEqual(lassoReport.trajectory.first?.theta, [Foundation.log(lasso.lambdaMax / 10)])

        // Huber + ℓ1 (a GLM criterion), with outliers in the training targets.
        var outliers = yTrain
        for i in stride(from: 0, to: outliers.count, by: 15) { outliers[i] += 30 }
        let huber = try HeldOutGLM(model: try GeneralizedLinearModel(design: train.toCSC(), datafit: try Huber(targets: outliers, delta: 1),
                                                                     penalty: try L1(lambda: 1), fitIntercept: true),
                                   heldOut: try HeldOutLoss(design: validation.toCSC(), loss: Quadratic(targets: yValidation), scale: 2))
        let huberReport = try tuner.tune(huber, path: Tuner.Path(startRatio: 10, minRatio: 1e3, gridPoints: 5))
        XCTAssertEqual(huberReport.grid.count, 5)
        XCTAssertLessThanOrEqual(huberReport.bestValue, try gridBest(huber, minRatio: 1e3) * 1.01)
        XCTAssertGreaterThan(huber.innerSolves, 5)

        // graph-ls in (log λ, log ε) on a grid graph, through the general entry point.
        let graph = try WeightedGraph.grid(rows: 25, columns: 25)
        let signal = Datasets.gridSignal(rows: 25, columns: 25, seed: 1)
        let nodes = try Datasets.split(rows: 625, validationFraction: 0.2, seed: 2)
        let graphData = try GraphData(graph: graph, signal: signal, training: nodes.train)
        let graphCriterion = try HeldOutCriterion(problem: try GraphLeastSquares(data: graphData, lambda: 1, epsilon: 0.05),
                                                  heldOut: try NodeLoss.meanSquaredError(graphData, nodes: nodes.validation))
        let start = graphCriterion.start
        let graphReport = try tuner.tune(graphCriterion, from: start, bounds: TuningBounds(lower: [-8, -12], upper: [Foundation.log(100), 2]))
        XCTAssertLessThan(graphReport.bestValue, try graphCriterion.value(at: start))
        // The report is Encodable as documented.
        let encoded = try JSONEncoder().encode(graphReport)
        XCTAssertTrue(String(decoding: encoded, as: UTF8.self).contains("\"bestValue\""))
    }

    func testBadStartsAreRefused() throws {
        let graph = try WeightedGraph.grid(rows: 5, columns: 5)
        let data = try GraphData(graph: graph, signal: Datasets.gridSignal(rows: 5, columns: 5, seed: 1), training: Array(0..<20))
        let criterion = try HeldOutCriterion(problem: try GraphLeastSquares(data: data, lambda: 1, epsilon: 0.1),
                                             heldOut: try NodeLoss.meanSquaredError(data, nodes: Array(20..<25)))
        XCTAssertThrowsError(try Tuner().tune(criterion, from: [0], bounds: .unbounded(2)))
        XCTAssertThrowsError(try Tuner().tune(criterion, from: [.nan, 0], bounds: .unbounded(2)))
        // A λ path with a start ratio above the minimum ratio (a GLM criterion has a path).
        let x = try Datasets.generate(rows: 30, columns: 8, nonzerosPerRow: 3, informative: 4, seed: 1)
        let model = try GeneralizedLinearModel(design: x.features.toCSC(), datafit: Quadratic(targets: x.targets), penalty: try L1(lambda: 0.01))
        let path = try HeldOutCriterion(problem: model, heldOut: try HeldOutLoss(design: x.features.toCSC(), loss: SquaredError(targets: x.targets)))
        XCTAssertThrowsError(try Tuner().tune(path, path: Tuner.Path(startRatio: 10, minRatio: 2)))
    }

    /// k-fold cross-validation generic over problems: the GLM specification's CV criterion
    /// (quadratic + ℓ1, MSE per fold) equals the lasso's own `CrossValidatedRegression` on the
    /// same folds, and its hypergradient matches a central difference; a Huber model is
    /// cross-validated through the same code.
    func testCrossValidationOfAnyModel() throws {
        let data = try Datasets.binaryTextLike(rows: 400, columns: 120, nonzerosPerRow: 8, duplicateColumns: 0, informative: 15, seed: 8)
        let x = data.features, y = data.targets
        let lasso = try CrossValidatedRegression(design: x, targets: y, folds: 4, seed: 3, tolerance: 1e-12)
        let spec = GLMSpecification(datafit: .quadratic, penalty: .l1)
        let glm = try spec.crossValidatedCriterion(design: x, targets: y, folds: 4, seed: 3, tolerance: 1e-12)
        XCTAssertEqual(glm.lambdaMax, lasso.lambdaMax, accuracy: 1e-12 * lasso.lambdaMax)
        let theta = glm.theta(lambda: glm.lambdaMax / 12)
        let ours = try glm.evaluate(theta), reference = try lasso.evaluate(theta)
        XCTAssertEqual(ours.value, reference.value, accuracy: 1e-9 * reference.value)
        XCTAssertEqual(ours.gradient[0], reference.gradient[0], accuracy: 1e-6 * max(abs(reference.gradient[0]), 1e-6))
        let h = 1e-5
        let fd = (try glm.value(at: [theta[0] + h]) - glm.value(at: [theta[0] - h])) / (2 * h)
        XCTAssertEqual(ours.gradient[0], fd, accuracy: 1e-5 * max(abs(fd), 1e-6))
        var huber = GLMSpecification(datafit: .huber, penalty: .l1)
        huber.fitIntercept = true
        let criterion = try huber.crossValidatedCriterion(design: x, targets: y, folds: 3, seed: 1, tolerance: 1e-10)
        let report = try Tuner().tune(criterion, path: Tuner.Path(startRatio: 10, minRatio: 1e3))
        XCTAssertLessThanOrEqual(report.bestValue, try criterion.value(at: criterion.theta(lambda: criterion.lambdaMax / 10)))
        XCTAssertThrowsError(try spec.crossValidatedCriterion(design: x, targets: y, folds: 1))
        XCTAssertThrowsError(try CrossValidated(folds: [], weights: [], lambdaMax: 1))
    }
}
