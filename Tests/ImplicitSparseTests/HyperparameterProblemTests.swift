import Foundation
import XCTest
@testable import ImplicitSparse

/// Every shipped model through the one problem protocol (`HyperparameterProblem`): the same
/// generic code solves it, differentiates its held-out loss and checks the derivative against
/// the protocol's independent central differences (re-solves at 10⁻¹²); the one criterion
/// (`HeldOutCriterion`) and `Tuner` tune any of them. Data shaped like real data: power-law
/// column frequencies with duplicated columns, heavy-tailed graphs.
final class HyperparameterProblemTests: XCTestCase {
    /// Solve → hypergradient → central differences, for any model; returns the hypergradient.
    @discardableResult
    func checkDerivative<P: HyperparameterProblem>(_ problem: P, _ heldOut: P.HeldOut, tolerance: Double = 1e-12, relative: Double = 1e-5,
                                                   step: Double = 1e-4, _ label: String) throws -> Hypergradient<[Double]> {
        let strategy = problem.defaultStrategy(expectedSolves: 8)
        let solution = try problem.solve(warmStart: nil, tolerance: tolerance, strategy: strategy)
        let summary = problem.summary(of: solution)
        XCTAssertTrue(summary.certificate.isFinite, "\(label): \(summary.certificateName) \(summary.certificate)")
        let h = try problem.hypergradient(of: heldOut, at: solution, strategy: strategy)
        XCTAssertEqual(h.gradient.count, problem.hyperparameters.count, label)
        XCTAssertEqual(h.value, try problem.value(of: heldOut, at: solution), accuracy: 1e-12 * max(1, abs(h.value)), label)
        XCTAssertLessThan(h.conditionResidual, 1e-6, "\(label): the condition's residual at x*")
        let fd = try problem.finiteDifference(of: heldOut, at: solution, step: step, tolerance: tolerance, strategy: strategy)
        for (k, difference) in fd.enumerated() {
            guard let difference else {
                XCTAssertEqual(problem.hyperparameters[k], 0, "\(label): only a hyperparameter held at 0 has no difference")
                XCTAssertEqual(h.gradient[k], 0, label)
                continue
            }
            XCTAssertEqual(h.gradient[k], difference, accuracy: relative * max(abs(difference), 1e-8),
                           "\(label): d/d log \(problem.hyperparameterNames[k])")
        }
        return h
    }

    func testEveryModelThroughTheProtocol() throws {
        // Regression data: power-law columns, two duplicated columns, a held-out split.
        let data = try Datasets.generate(rows: 240, columns: 60, nonzerosPerRow: 6, duplicateColumns: 2, informative: 10, seed: 11)
        let split = try Datasets.split(rows: 240, validationFraction: 0.25, seed: 3)
        let train = try data.features.selectingRows(split.train), validation = try data.features.selectingRows(split.validation)
        let yTrain = split.train.map { data.targets[$0] }, yValidation = split.validation.map { data.targets[$0] }
        let mse = try HeldOutLoss(design: validation.toCSC(), loss: SquaredError(targets: yValidation))

        // Datafit × penalty pairs (held-out MSE and a held-out Huber loss).
        let lambdaMax = try XCTUnwrap(try GeneralizedLinearModel(design: train.toCSC(), datafit: Quadratic(targets: yTrain),
                                                                  penalty: try L1(lambda: 1)).lambdaMax())
        let huberModel = try GeneralizedLinearModel(design: train.toCSC(), datafit: try Huber(targets: yTrain, delta: 1),
                                                    penalty: try ElasticNet(lambda: lambdaMax / 20, l1Ratio: 0.7), fitIntercept: true)
        try checkDerivative(huberModel, mse, "Huber + elastic net")
        let huberLoss = try HeldOutLoss(design: validation.toCSC(), loss: try Huber(targets: yValidation, delta: 0.5))
        try checkDerivative(huberModel, huberLoss, "Huber + elastic net, held-out Huber loss")

        // The lasso family (with an intercept) and ridge.
        let lasso = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: .lasso, lambda: lambdaMax / 10, fitIntercept: true)
        let h = try checkDerivative(lasso, mse, "lasso")
        if let rank = h.rank { XCTAssertEqual(h.unique, rank == h.supportSize, "unique exactly when the support has full rank") }
        let ridge = try RegularizedLeastSquares(design: train, targets: yTrain, penalty: .ridge, lambda: 0.3)
        try checkDerivative(ridge, mse, "ridge")

        // GraphNet over a chain of the features.
        var builder = try COOBuilder(rows: 60, columns: 60)
        for j in 0..<59 {
            try builder.append(row: j, column: j + 1, value: 1)
            try builder.append(row: j + 1, column: j, value: 1)
        }
        let chain = try WeightedGraph(adjacency: builder.makeCSR())
        let graphNet = try GraphNet(design: train, targets: yTrain, featureGraph: chain, lambda1: lambdaMax / 10, lambda2: 0.05)
        try checkDerivative(graphNet, mse, tolerance: 1e-14, "graphnet")

        // Graph models on a heavy-tailed graph, with a custom validation loss (Huber per node).
        let graph = try WeightedGraph.powerLaw(nodes: 300, edges: 900, seed: 5)
        var random = SplitMix64(seed: 2)
        let signal = (0..<300).map { _ in random.nextGaussian() }
        let nodes = try Datasets.split(rows: 300, validationFraction: 0.3, seed: 1)
        let graphData = try GraphData(graph: graph, signal: signal, training: nodes.train)
        let graphMSE = try NodeLoss.meanSquaredError(graphData, nodes: nodes.validation)
        let graphHuber = try NodeLoss(nodes: nodes.validation, loss: try Huber(targets: nodes.validation.map { signal[$0] }, delta: 0.3))
        let ls = try GraphLeastSquares(data: graphData, lambda: 0.8, epsilon: 0.05)
        try checkDerivative(ls, graphMSE, "graph-ls")
        try checkDerivative(ls, graphHuber, "graph-ls, Huber validation loss")
        var tv = try GraphTotalVariation(data: graphData, lambda: 0.05, epsilon: 0.1)
        tv.options.maxIterations = 50_000
        try checkDerivative(tv, graphHuber, tolerance: 1e-10, relative: 1e-4, step: 1e-5, "graph-tv, Huber validation loss")
    }

    /// One criterion and one tuner for any model: graph-tv tuned in (log λ, log ε) lowers its
    /// validation loss, counts its solves and keeps one strategy; a lasso-family criterion is a
    /// λ-path criterion (`Tuner.tune(_:path:)`) whose best point beats its start.
    func testOneCriterionTunesAnyModel() throws {
        let graph = try WeightedGraph.grid(rows: 12, columns: 12)
        let signal = Datasets.gridSignal(rows: 12, columns: 12, seed: 4)
        let nodes = try Datasets.split(rows: 144, validationFraction: 0.25, seed: 2)
        let data = try GraphData(graph: graph, signal: signal, training: nodes.train)
        let criterion = try HeldOutCriterion(problem: try GraphTotalVariation(data: data, lambda: 0.5, epsilon: 0.1),
                                             heldOut: try NodeLoss.meanSquaredError(data, nodes: nodes.validation), tolerance: 1e-8)
        let startValue = try criterion.value(at: criterion.start)
        let report = try Tuner(options: OuterOptions(maxIterations: 6)).tune(criterion, from: criterion.start,
                                                                             bounds: TuningBounds(lower: [-8, -8], upper: [3, 2]))
        XCTAssertLessThan(report.bestValue, startValue)
        XCTAssertGreaterThan(criterion.innerSolves, 2)
        // Per-step inner iterations: ADMM iterations between accepted steps, summing to at most all of them.
        XCTAssertGreaterThan(report.trajectory.dropFirst().reduce(0) { $0 + $1.innerIterations }, 0)
        XCTAssertLessThanOrEqual(report.trajectory.reduce(0) { $0 + $1.innerIterations }, criterion.innerEpochs)

        let regression = try Datasets.generate(rows: 200, columns: 40, nonzerosPerRow: 5, informative: 8, seed: 7)
        let split = try Datasets.split(rows: 200, validationFraction: 0.3, seed: 1)
        let lasso = try RegularizedLeastSquares(design: try regression.features.selectingRows(split.train),
                                                targets: split.train.map { regression.targets[$0] }, penalty: .lasso, lambda: 1)
        let heldOut = try HeldOutLoss(design: try regression.features.selectingRows(split.validation).toCSC(),
                                      loss: SquaredError(targets: split.validation.map { regression.targets[$0] }))
        let path = try HeldOutCriterion(problem: lasso, heldOut: heldOut)
        XCTAssertEqual(path.lambdaMax, try RegularizedLeastSquares.lambdaMax(design: lasso.design, targets: lasso.targets, penalty: .lasso),
                       accuracy: 1e-12)
        let pathReport = try Tuner().tune(path, path: Tuner.Path(gridPoints: 5))
        XCTAssertEqual(pathReport.grid.count, 5)
        XCTAssertLessThanOrEqual(pathReport.bestValue, pathReport.trajectory[0].value)
        // Ridge has no λ_max: the path convenience refuses it with a clear error.
        let ridge = try HeldOutCriterion(problem: try RegularizedLeastSquares(design: lasso.design, targets: lasso.targets, penalty: .ridge, lambda: 1),
                                         heldOut: heldOut)
        XCTAssertThrowsError(try Tuner().tune(ridge, path: Tuner.Path()))
    }

    /// SURE generic over problems: the GLM (quadratic + ℓ1, with an intercept) and the lasso
    /// family give the value of the definition ‖y − ŷ‖²/n − σ² + 2σ²(|S| + 1)/n and equal the
    /// lasso's own `SteinUnbiasedRisk`; the hypergradient matches a central difference of the
    /// criterion; pairs whose df are not |S| are refused.
    func testSteinUnbiasedRiskIsGenericOverProblems() throws {
        let data = try Datasets.generate(rows: 200, columns: 50, nonzerosPerRow: 6, duplicateColumns: 1, informative: 8, noise: 0.5, seed: 5)
        let x = data.features, y = data.targets, sigma2 = 0.3
        let lambdaMax = try RegularizedLeastSquares.lambdaMax(design: x, targets: y, penalty: .lasso, fitIntercept: true)
        let lambda = lambdaMax / 12
        let glm = try GeneralizedLinearModel(design: x.toCSC(), datafit: Quadratic(targets: y), penalty: try L1(lambda: lambda), fitIntercept: true)
        let lasso = try RegularizedLeastSquares(design: x, targets: y, penalty: .lasso, lambda: lambda, fitIntercept: true)
        let reference = try SteinUnbiasedRisk(model: LassoFamily(design: x, targets: y, fitIntercept: true, tolerance: 1e-13), noiseVariance: sigma2)
        let theta = [Foundation.log(lambda)]
        let expected = try reference.evaluate(theta)
        let glmSure = try SteinUnbiasedRiskCriterion(problem: glm, noiseVariance: sigma2, tolerance: 1e-13)
        let lassoSure = try SteinUnbiasedRiskCriterion(problem: lasso, noiseVariance: sigma2, tolerance: 1e-13)
        for (name, criterion) in [("glm", glmSure as any LambdaPathCriterion), ("lasso", lassoSure)] {
            let (value, gradient) = try criterion.evaluate(theta)
            XCTAssertEqual(value, expected.value, accuracy: 1e-9, name)
            XCTAssertEqual(gradient[0], expected.gradient[0], accuracy: 1e-6 * max(abs(expected.gradient[0]), 1e-9), name)
            XCTAssertEqual(criterion.lambdaMax, lambdaMax, accuracy: 1e-10 * lambdaMax, name)
        }
        // The definition, from the solution itself.
        let w = try glm.solve(tolerance: 1e-13)
        let residual = zip(y, glm.linearPredictor(w.weights, intercept: w.intercept)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let n = Double(x.rows), df = Double(w.supportSize + 1)
        XCTAssertEqual(try glmSure.value(at: theta), residual / n - sigma2 + 2 * sigma2 * df / n, accuracy: 1e-9)
        XCTAssertEqual(glmSure.lastDegreesOfFreedom, df)
        // Central difference of the criterion (the support does not change within the step).
        let h = 1e-5
        let fd = (try glmSure.value(at: [theta[0] + h]) - glmSure.value(at: [theta[0] - h])) / (2 * h)
        XCTAssertEqual(try glmSure.evaluate(theta).gradient[0], fd, accuracy: 1e-5 * max(abs(fd), 1e-9))
        // σ² estimated when not given: RSS/(n − df) at the model as given.
        let estimated = try SteinUnbiasedRiskCriterion(problem: glm.withStrength(lambdaMax / 100))
        XCTAssertTrue(estimated.estimatedNoiseVariance)
        XCTAssertGreaterThan(estimated.noiseVariance, 0.05)
        // Pairs whose degrees of freedom are not |S|: refused.
        let enet = try GeneralizedLinearModel(design: x.toCSC(), datafit: Quadratic(targets: y), penalty: try ElasticNet(lambda: lambda, l1Ratio: 0.5))
        XCTAssertThrowsError(try SteinUnbiasedRiskCriterion(problem: enet, noiseVariance: sigma2))
        let huber = try GeneralizedLinearModel(design: x.toCSC(), datafit: try Huber(targets: y, delta: 1), penalty: try L1(lambda: lambda))
        XCTAssertThrowsError(try SteinUnbiasedRiskCriterion(problem: huber, noiseVariance: sigma2))
        XCTAssertThrowsError(try SteinUnbiasedRiskCriterion(problem: glm, noiseVariance: -1))
    }
}
