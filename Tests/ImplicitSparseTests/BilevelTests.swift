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

    /// A criterion that cannot be evaluated below x = −1 (as an inner solve failing far out on
    /// the path): line-search trials there are rejected, not fatal; the run ends at the best
    /// point it could evaluate and says why.
    func testTrialsThatFailAreRejected() throws {
        struct Unavailable: Error {}
        let f: TuningObjective = { x in
            if x[0] < -1 { throw Unavailable() }
            let d = x[0] + 3
            return (d * d, [2 * d])
        }
        for optimizer in [GradientDescent(), BoundedLBFGS()] as [any OuterOptimizer] {
            let result = try optimizer.minimize(f, from: [0], bounds: .unbounded(1), options: OuterOptions(maxIterations: 50), progress: nil)
            XCTAssertGreaterThanOrEqual(result.best[0], -1, optimizer.name)
            XCTAssertLessThan(result.best[0], -0.9, optimizer.name)
            XCTAssertTrue(result.stopReason.contains("could not be evaluated"), result.stopReason)
        }
        // The start itself failing is an error.
        XCTAssertThrowsError(try BoundedLBFGS().minimize(f, from: [-2], bounds: .unbounded(1), options: OuterOptions(), progress: nil))
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

/// The criteria of issue 14 beyond held-out log λ: the elastic net's two strengths, feature
/// weights, SURE (exact and Monte-Carlo) and held-out logistic loss — each hypergradient
/// against central differences of the criterion itself (tight inner solves), each value
/// against its definition.
final class TuningCriteriaTests: XCTestCase {
    func data(seed: UInt64 = 4) throws -> (CSRMatrix, [Double], CSRMatrix, [Double]) {
        let data = try Datasets.textLike(rows: 700, columns: 900, nonzerosPerRow: 12, informative: 25, noise: 0.5, seed: seed)
        let split = try Datasets.split(rows: 700, validationFraction: 0.3, seed: 1)
        return (try data.features.selectingRows(split.train), split.train.map { data.targets[$0] },
                try data.features.selectingRows(split.validation), split.validation.map { data.targets[$0] })
    }

    /// Central differences of C along coordinate j of θ, from a fresh criterion each time.
    func centralDifference(_ make: () throws -> any LambdaPathCriterion, at theta: [Double], coordinate j: Int, h: Double = 1e-4) throws -> Double {
        var plus = theta, minus = theta
        plus[j] += h
        minus[j] -= h
        return (try make().value(at: plus) - make().value(at: minus)) / (2 * h)
    }

    func testElasticNetStrengthsHypergradient() throws {
        let (x, y, xv, yv) = try data()
        let make = { try HeldOutRegression(design: x, targets: y, validation: xv, validationTargets: yv, penalty: .elasticNet(l1Ratio: 0.7),
                                           hyperparameters: .logStrengths, tolerance: 1e-13) as any LambdaPathCriterion }
        let criterion = try make()
        XCTAssertEqual(criterion.dimension, 2)
        let theta = criterion.theta(lambda: criterion.lambdaMax / 30)
        XCTAssertEqual(Foundation.exp(theta[0]) / (Foundation.exp(theta[0]) + Foundation.exp(theta[1])), 0.7, accuracy: 1e-12)
        let (value, gradient) = try criterion.evaluate(theta)
        // The same point as the plain elastic net in log λ: the values agree, and d/d log λ at
        // fixed α is the sum of the two components.
        let plain = try HeldOutRegression(design: x, targets: y, validation: xv, validationTargets: yv, penalty: .elasticNet(l1Ratio: 0.7),
                                          tolerance: 1e-13)
        let (plainValue, plainGradient) = try plain.evaluate([Foundation.log(criterion.lambdaMax / 30)])
        XCTAssertEqual(value, plainValue, accuracy: 1e-10 * value)
        XCTAssertEqual(gradient[0] + gradient[1], plainGradient[0], accuracy: 1e-8 * abs(plainGradient[0]))
        for j in 0..<2 {
            let fd = try centralDifference(make, at: theta, coordinate: j)
            XCTAssertEqual(gradient[j], fd, accuracy: 1e-5 * max(abs(fd), 1e-8), "component \(j)")
        }
    }

    func testFeatureWeightHypergradient() throws {
        let (x, y, xv, yv) = try data()
        let make = { try HeldOutRegression(design: x, targets: y, validation: xv, validationTargets: yv, hyperparameters: .logFeatureWeights,
                                           tolerance: 1e-13) as any LambdaPathCriterion }
        let criterion = try make()
        XCTAssertEqual(criterion.dimension, 900)
        var theta = criterion.theta(lambda: criterion.lambdaMax / 20)
        // Unequal weights: every fifth feature penalized twice as much.
        for j in stride(from: 0, to: 900, by: 5) { theta[j] += Foundation.log(2) }
        let (value, gradient) = try criterion.evaluate(theta)
        XCTAssertTrue(value.isFinite)
        // Off the support the derivative is zero; on it, against central differences.
        let w = try (criterion as! HeldOutRegression).model.solve(theta).weights
        let support = (0..<900).filter { w[$0] != 0 }
        XCTAssertGreaterThan(support.count, 5)
        for j in (0..<900) where w[j] == 0 { XCTAssertEqual(gradient[j], 0) }
        for j in support.prefix(4) {
            let fd = try centralDifference(make, at: theta, coordinate: j)
            XCTAssertEqual(gradient[j], fd, accuracy: 1e-5 * max(abs(fd), 1e-9), "feature \(j)")
        }
    }

    /// SURE with exact df = |S|: its value against the definition ‖y − Xw‖²/n − σ² + 2σ²|S|/n,
    /// its hypergradient against central differences, and the Monte-Carlo variant's df against
    /// its own definition δᵀ(X w(y + εδ) − X w(y))/ε.
    func testSteinUnbiasedRisk() throws {
        let (x, y, _, _) = try data()
        let sigma2 = 0.25
        let make = { try SteinUnbiasedRisk(model: LassoFamily(design: x, targets: y, tolerance: 1e-13), noiseVariance: sigma2) as any LambdaPathCriterion }
        let sure = try make() as! SteinUnbiasedRisk
        XCTAssertFalse(sure.monteCarlo)
        let theta = [Foundation.log(sure.lambdaMax / 15)]
        let (value, gradient) = try sure.evaluate(theta)
        let problem = try RegularizedLeastSquares(design: x, targets: y, penalty: .lasso, lambda: sure.lambdaMax / 15)
        let w = try problem.solve(tolerance: 1e-13).weights
        let n = Double(x.rows)
        let rss = try zip(y, x.multiply(w)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let support = Double(w.filter { $0 != 0 }.count)
        XCTAssertEqual(value, rss / n - sigma2 + 2 * sigma2 * support / n, accuracy: 1e-10)
        XCTAssertEqual(sure.lastDegreesOfFreedom, support)
        let fd = try centralDifference(make, at: theta, coordinate: 0, h: 1e-5)
        XCTAssertEqual(gradient[0], fd, accuracy: 1e-5 * max(abs(fd), 1e-9))

        // Monte-Carlo df on the elastic net: the definition with the criterion's own δ and ε.
        let enet = LassoFamily.self
        let makeMC = { try SteinUnbiasedRisk(model: enet.init(design: x, targets: y, penalty: .elasticNet(l1Ratio: 0.5), tolerance: 1e-13),
                                             noiseVariance: sigma2, seed: 7) as any LambdaPathCriterion }
        let mc = try makeMC() as! SteinUnbiasedRisk
        XCTAssertTrue(mc.monteCarlo)
        let thetaMC = [Foundation.log(mc.lambdaMax / 15)]
        let (valueMC, gradientMC) = try mc.evaluate(thetaMC)
        let p1 = try RegularizedLeastSquares(design: x, targets: y, penalty: .elasticNet(l1Ratio: 0.5), lambda: mc.lambdaMax / 15)
        let p2 = try RegularizedLeastSquares(design: x, targets: zip(y, mc.direction).map { $0 + mc.epsilon * $1 },
                                             penalty: .elasticNet(l1Ratio: 0.5), lambda: mc.lambdaMax / 15)
        let w1 = try p1.solve(tolerance: 1e-13).weights, w2 = try p2.solve(tolerance: 1e-13).weights
        let df = try zip(mc.direction, zip(x.multiply(w2), x.multiply(w1))).reduce(0) { $0 + $1.0 * ($1.1.0 - $1.1.1) } / mc.epsilon
        XCTAssertEqual(mc.lastDegreesOfFreedom, df, accuracy: 1e-6 * abs(df))
        let rss1 = try zip(y, x.multiply(w1)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        XCTAssertEqual(valueMC, rss1 / n - sigma2 + 2 * sigma2 * df / n, accuracy: 1e-8)
        // The elastic net's exact df is tr(X_S(X_SᵀX_S + nλ₂I)⁻¹X_Sᵀ) ≤ |S|: the estimate is
        // of that size (one probe: within a factor, not to digits).
        let supportMC = Double(w1.filter { $0 != 0 }.count)
        XCTAssertGreaterThan(df, 0.3 * supportMC)
        XCTAssertLessThan(df, 1.7 * supportMC)
        let fdMC = try centralDifference(makeMC, at: thetaMC, coordinate: 0, h: 1e-5)
        XCTAssertEqual(gradientMC[0], fdMC, accuracy: 1e-4 * max(abs(fdMC), 1e-9))
        XCTAssertThrowsError(try SteinUnbiasedRisk(model: LassoFamily(design: x, targets: y, penalty: .elasticNet(l1Ratio: 0.5)),
                                                   noiseVariance: sigma2, monteCarlo: false))
        XCTAssertThrowsError(try SteinUnbiasedRisk(model: LassoFamily(design: x, targets: y), noiseVariance: -1))
        // The estimated σ² is of the generated noise's size (0.5² = 0.25).
        let estimated = try SteinUnbiasedRisk.estimateNoiseVariance(design: x, targets: y, fitIntercept: false)
        XCTAssertGreaterThan(estimated, 0.1)
        XCTAssertLessThan(estimated, 1)
    }

    func testHeldOutLogisticHypergradient() throws {
        let data = try Datasets.textLike(rows: 800, columns: 600, nonzerosPerRow: 10, informative: 20, noise: 0.3, seed: 11)
        let labels = data.targets.map { $0 > 0 ? 1.0 : -1.0 }
        let split = try Datasets.split(rows: 800, validationFraction: 0.3, seed: 2)
        let x = try data.features.selectingRows(split.train), xv = try data.features.selectingRows(split.validation)
        let y = split.train.map { labels[$0] }, yv = split.validation.map { labels[$0] }
        for alpha in [1.0, 0.6] {
            let make = { try HeldOutLogistic(design: x, labels: y, validation: xv, validationLabels: yv, l1Ratio: alpha, tolerance: 1e-9) as any LambdaPathCriterion }
            let criterion = try make()
            let theta = [Foundation.log(criterion.lambdaMax / 10)]
            let (value, gradient) = try criterion.evaluate(theta)
            XCTAssertGreaterThan(value, 0)
            XCTAssertLessThan(value, Foundation.log(2))
            XCTAssertGreaterThan(criterion.lastSupportSize, 3)
            let fd = try centralDifference(make, at: theta, coordinate: 0, h: 1e-5)
            XCTAssertEqual(gradient[0], fd, accuracy: 1e-4 * max(abs(fd), 1e-9), "α = \(alpha)")
            // Above the dense limit (forced here by a limit of 3 columns): ℓ1 in forward mode
            // (MINRES on the consistent system), ℓ1 + ℓ2 on the shifted Gram operator — the
            // same derivative.
            let problem = try SparseLogisticRegression(design: x, labels: y, lambda: Foundation.exp(theta[0]), l1Ratio: alpha)
            let w = try problem.solvePoint(tolerance: 1e-10).result.solution
            let lossGradient = try LogisticHypergradient.heldOutLossAndGradient(w, validation: xv, labels: yv).gradient
            let dense = try LogisticHypergradient.gradient(problem: problem, solution: w, lossGradient: lossGradient, strategy: LinearSolveStrategy())
            let sparse = try LogisticHypergradient.gradient(problem: problem, solution: w, lossGradient: lossGradient, strategy: LinearSolveStrategy(),
                                                            rankRevealLimit: 3)
            XCTAssertGreaterThan(sparse.supportSize, 3)
            XCTAssertEqual(sparse.derivative, dense.derivative, accuracy: 1e-7 * max(abs(dense.derivative), 1e-9), "α = \(alpha)")
        }
    }
}

/// Held-out tuning of graph-ls in (log λ, log ε): the hypergradient against central
/// differences, and one analysis for every evaluation (the pattern of K(λ, ε) never changes).
final class GraphTuningTests: XCTestCase {
    func testGraphLeastSquaresCriterion() throws {
        let graph = try WeightedGraph.grid(rows: 30, columns: 30)
        let signal = Datasets.gridSignal(rows: 30, columns: 30, seed: 1)
        let split = try Datasets.split(rows: 900, validationFraction: 0.2, seed: 2)
        let data = try GraphData(graph: graph, signal: signal, training: split.train)
        let make = { try HeldOutCriterion(problem: try GraphLeastSquares(data: data, lambda: 0.7, epsilon: 0.05),
                                          heldOut: try NodeLoss.meanSquaredError(data, nodes: split.validation),
                                          strategy: LinearSolveStrategy(.cholesky)) }
        let criterion = try make()
        let theta = criterion.start
        let (value, gradient) = try criterion.evaluate(theta)
        XCTAssertEqual(value, try make().value(at: theta), accuracy: 1e-12)
        for j in 0..<2 {
            var plus = theta, minus = theta
            plus[j] += 1e-5
            minus[j] -= 1e-5
            let fd = (try make().value(at: plus) - make().value(at: minus)) / 2e-5
            XCTAssertEqual(gradient[j], fd, accuracy: 1e-6 * max(abs(fd), 1e-8), "component \(j)")
        }
        let result = try BoundedLBFGS().minimize({ try criterion.evaluate($0) }, from: theta,
                                                 bounds: TuningBounds(lower: [-8, -12], upper: [Foundation.log(100), 2]),
                                                 options: OuterOptions(maxIterations: 30), progress: nil)
        XCTAssertLessThanOrEqual(result.bestValue, value)
        // One analysis for the whole run; every later solve reuses it.
        XCTAssertEqual(criterion.linearAlgebra.preparations, 1)
        XCTAssertGreaterThan(criterion.linearAlgebra.updates, result.evaluations - 1)
        XCTAssertThrowsError(try NodeLoss.meanSquaredError(data, nodes: []))
        XCTAssertThrowsError(try NodeLoss.meanSquaredError(data, nodes: [900]))
        // ε = 0 cannot be tuned on a log scale unless left out of θ.
        let fixedEpsilon = try GraphLeastSquares(data: data, lambda: 0.7, epsilon: 0)
        let loss = try NodeLoss.meanSquaredError(data, nodes: split.validation)
        XCTAssertThrowsError(try HeldOutCriterion(problem: fixedEpsilon, heldOut: loss, tuned: [0, 1]))
        XCTAssertEqual(try HeldOutCriterion(problem: fixedEpsilon, heldOut: loss).dimension, 1)
    }

    /// The tuning plot's axis ticks sit at round values (multiples of 1, 2 or 5 × 10ᵏ), 3 to 8
    /// of them inside the range, and iterate labels that would overlap are joined.
    func testPlotTicksAreRoundAndLabelsDoNotOverlap() {
        var random = SplitMix64(seed: 3)
        for _ in 0..<500 {
            let low = (random.nextUniform() - 0.5) * Foundation.pow(10, Double(Int(random.next() % 9)) - 4)
            let high = low + Foundation.pow(10, Double(Int(random.next() % 9)) - 5) * (0.1 + random.nextUniform())
            let ticks = TuningPlot.roundTicks(low, high)
            XCTAssertTrue((3...8).contains(ticks.count), "\(low)…\(high): \(ticks.map(\.label))")
            guard ticks.count >= 2 else { continue }
            let step = ticks[1].value - ticks[0].value
            let mantissa = step / Foundation.pow(10, Foundation.floor(Foundation.log10(step) + 1e-9))
            XCTAssertTrue([1.0, 2, 5, 10].contains { abs(mantissa - $0) < 1e-4 }, "step \(step)")
            for t in ticks {
                XCTAssertTrue(t.value >= low - 1e-9 * abs(step) && t.value <= high + 1e-9 * abs(step))
                XCTAssertEqual(Double(t.label)!, t.value, accuracy: 1e-6 * abs(step) + 1e-12 * abs(t.value), t.label)
            }
        }
        let svg = TuningPlot.iterateLabels([(100, 100), (200, 50), (104, 103), (300, 20), (105, 99)])
        XCTAssertTrue(svg.contains(">0, 2, 4<"), svg)
        XCTAssertEqual(svg.components(separatedBy: "<text").count - 1, 3)
    }
}
