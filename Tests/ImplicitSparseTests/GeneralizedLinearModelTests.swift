import Foundation
@testable import ImplicitSparse
import Sparse
import XCTest

/// Datafits × penalties on binary text-like data (power-law column frequencies, exact
/// duplicates and dependent columns): every pair solved by the working-set solver against
/// FISTA (the reference) and against a KKT check written here from X, independently of the
/// penalties' own code; hypergradients against central finite differences.
final class GeneralizedLinearModelTests: XCTestCase {
    struct Data {
        var x: CSRMatrix
        var csc: CSCMatrix
        var y: [Double]
        var labels: [Double]
        var counts: [Double]
        var outliers: [Double]
        var dense: [[Double]]
    }

    func data(rows: Int = 240, columns: Int = 60, seed: UInt64 = 3, defects: Int = 3) throws -> Data {
        try Self.makeData(rows: rows, columns: columns, seed: seed, defects: defects)
    }

    /// `defects` duplicated and as many dependent columns.
    static func makeData(rows: Int, columns: Int, seed: UInt64, defects: Int = 3) throws -> Data {
        let generated = try Datasets.binaryTextLike(rows: rows, columns: columns, nonzerosPerRow: 7, duplicateColumns: defects,
                                                    dependentColumns: defects, informative: 12, noise: 0.4, seed: seed)
        let x = generated.features
        let truth = generated.truth
        var rng = SplitMix64(seed: seed &+ 11)
        let signal = try x.multiply(truth)
        let scale = 0.4 / max(signal.map(abs).max() ?? 1, 1e-12)
        // Poisson counts with log-rate 0.2 + scale·xᵢᵀw (Knuth's sampler).
        let counts = signal.map { s -> Double in
            let rate = Foundation.exp(0.2 + scale * s)
            var k = 0.0, product = rng.nextUniform()
            while product > Foundation.exp(-rate) { k += 1; product *= rng.nextUniform() }
            return k
        }
        // Heavy outliers on one row in ten for Huber.
        var outliers = generated.targets
        for i in stride(from: 0, to: rows, by: 10) { outliers[i] += (rng.nextUniform() < 0.5 ? -1 : 1) * 25 }
        let labels = generated.targets.map { $0 > (generated.targets.sorted()[rows / 2]) ? 1.0 : -1.0 }
        var dense = [[Double]](repeating: [Double](repeating: 0, count: columns), count: rows)
        for i in 0..<rows { for k in x.rowPointers[i]..<x.rowPointers[i + 1] { dense[i][Int(x.columnIndices[k])] += x.values[k] } }
        return Data(x: x, csc: x.toCSC(), y: generated.targets, labels: labels, counts: counts, outliers: outliers, dense: dense)
    }

    /// ∇F from the dense copy of X, with the datafit's derivative written here.
    func denseGradient(_ d: Data, w: [Double], b: Double, derivative: (Double, Int) -> Double) -> (weights: [Double], intercept: Double) {
        let n = d.dense.count, p = w.count
        var g = [Double](repeating: 0, count: p), gb = 0.0
        for i in 0..<n {
            var z = b
            for j in 0..<p { z += d.dense[i][j] * w[j] }
            let u = derivative(z, i) / Double(n)
            gb += u
            for j in 0..<p { g[j] += d.dense[i][j] * u }
        }
        return (g, gb)
    }

    /// The KKT residual of the ℓ1-type and nonconvex penalties from their definitions.
    func kkt(_ name: String, w: [Double], g: [Double], lambda: Double, gamma: Double = 3, alpha: Double = 0.5,
             weights: [Double] = [], groups: [Range<Int>] = []) -> Double {
        var worst = 0.0
        if name == "group" {
            for group in groups {
                let norm = group.reduce(0.0) { $0 + w[$1] * w[$1] }.squareRoot()
                let t = lambda * Double(group.count).squareRoot()
                if norm == 0 {
                    worst = max(worst, group.reduce(0.0) { $0 + g[$1] * g[$1] }.squareRoot() - t)
                } else {
                    worst = max(worst, group.reduce(0.0) { $0 + pow(g[$1] + t * w[$1] / norm, 2) }.squareRoot())
                }
            }
            return max(worst, 0)
        }
        for j in 0..<w.count {
            let s: Double = w[j] > 0 ? 1 : -1, a = abs(w[j])
            switch name {
            case "l1", "wl1":
                let t = lambda * (weights.isEmpty ? 1 : weights[j])
                worst = max(worst, w[j] == 0 ? abs(g[j]) - t : abs(g[j] + t * s))
            case "enet":
                worst = max(worst, w[j] == 0 ? abs(g[j]) - lambda * alpha : abs(g[j] + lambda * alpha * s + lambda * (1 - alpha) * w[j]))
            case "nnl1":
                XCTAssertGreaterThanOrEqual(w[j], 0)
                worst = max(worst, w[j] == 0 ? -g[j] - lambda : abs(g[j] + lambda))
            case "mcp":
                let slope = a == 0 ? 0 : max(lambda - a / gamma, 0) * s
                worst = max(worst, w[j] == 0 ? abs(g[j]) - lambda : abs(g[j] + slope))
            case "scad":
                let slope = a <= lambda ? lambda : max(gamma * lambda - a, 0) / (gamma - 1)
                worst = max(worst, w[j] == 0 ? abs(g[j]) - lambda : abs(g[j] + slope * s))
            default:
                XCTFail("no KKT check for \(name)")
            }
        }
        return max(worst, 0)
    }

    func checkPair<Fit: Datafit, Reg: Penalty>(_ model: GeneralizedLinearModel<Fit, Reg>, _ d: Data, derivative: (Double, Int) -> Double,
                                               lambda: Double, weights: [Double] = [], groups: [Range<Int>] = [],
                                               fistaTolerance: Double = 1e-7, file: StaticString = #filePath, line: UInt = #line) throws {
        let cd = try model.solve(tolerance: 1e-11)
        XCTAssertTrue(cd.converged, file: file, line: line)
        XCTAssertLessThanOrEqual(cd.kktResidual, 1e-11, file: file, line: line)
        let g = denseGradient(d, w: cd.weights, b: cd.intercept, derivative: derivative)
        let independent = kkt(model.penalty.name, w: cd.weights, g: g.weights, lambda: lambda, weights: weights, groups: groups)
        XCTAssertLessThanOrEqual(independent, 1e-9, "\(model.datafit.name) + \(model.penalty.name): KKT from X", file: file, line: line)
        if model.fitIntercept { XCTAssertLessThanOrEqual(abs(g.intercept), 1e-9, file: file, line: line) }
        XCTAssertGreaterThan(cd.supportSize, 0, "\(model.datafit.name) + \(model.penalty.name): a nontrivial solution", file: file, line: line)
        guard model.penalty.isConvex else { return }
        // FISTA crawls along the flat directions duplicated columns make: the objective it
        // reaches in a fixed budget is the reference (its KKT residual need not reach 1e-7).
        let reached = try model.fista(tolerance: fistaTolerance, warmStart: nil, warmIntercept: nil, maxIterations: 10_000)
        let fista = (objective: model.objective(reached.weights, intercept: reached.intercept), kkt: reached.kkt)
        XCTAssertLessThanOrEqual(fista.kkt, 1e-4, file: file, line: line)
        XCTAssertEqual(fista.objective, cd.objective, accuracy: 1e-8 * max(abs(cd.objective), 1e-3),
                       "\(model.datafit.name) + \(model.penalty.name): working set against FISTA", file: file, line: line)
        XCTAssertLessThanOrEqual(cd.objective, fista.objective + 1e-12 * abs(cd.objective), file: file, line: line)
    }

    func testEveryDatafitWithEveryConvexPenaltyAgainstFISTAAndKKT() throws {
        let d = try data(rows: 150, columns: 40)
        let p = d.x.columns
        var rng = SplitMix64(seed: 5)
        let weights = (0..<p).map { j in j % 9 == 0 ? 0 : 0.5 + rng.nextUniform() }
        let groups = stride(from: 0, to: p, by: 4).map { $0..<min($0 + 4, p) }
        let quadratic = Quadratic(targets: d.y), huber = try Huber(targets: d.outliers, delta: 1.0)
        let logistic = try Logistic(labels: d.labels), poisson = Poisson(targets: d.counts)
        let y = d.y, out = d.outliers, lab = d.labels, cnt = d.counts
        let derivatives: [String: (Double, Int) -> Double] = [
            "quadratic": { z, i in z - y[i] },
            "huber": { z, i in -min(max(out[i] - z, -1), 1) },
            "logistic": { z, i in -lab[i] / (1 + Foundation.exp(lab[i] * z)) },
            "poisson": { z, i in Foundation.exp(z) - cnt[i] },
        ]
        func run<Fit: Datafit>(_ fit: Fit, intercept: Bool) throws {
            let derivative = derivatives[fit.name]!
            let scale = try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try L1(lambda: 1), fitIntercept: intercept).lambdaMax()!
            let lambda = scale / 8
            try checkPair(try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try L1(lambda: lambda), fitIntercept: intercept),
                          d, derivative: derivative, lambda: lambda)
            try checkPair(try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try ElasticNet(lambda: lambda, l1Ratio: 0.5),
                                                     fitIntercept: intercept), d, derivative: derivative, lambda: lambda)
            try checkPair(try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try WeightedL1(lambda: lambda, weights: weights),
                                                     fitIntercept: intercept), d, derivative: derivative, lambda: lambda, weights: weights)
            try checkPair(try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try NonNegativeL1(lambda: lambda / 2),
                                                     fitIntercept: intercept), d, derivative: derivative, lambda: lambda / 2)
            try checkPair(try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try GroupLasso(lambda: lambda, groups: groups),
                                                     fitIntercept: intercept), d, derivative: derivative, lambda: lambda, groups: groups)
        }
        try run(quadratic, intercept: true)
        try run(huber, intercept: true)
        try run(logistic, intercept: false)
        try run(poisson, intercept: true)
    }

    func testNonconvexPenaltiesReachStationaryPoints() throws {
        let d = try data()
        for fit in [Quadratic(targets: d.y)] {
            let lambdaMax = try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try MCP(lambda: 1, gamma: 3)).lambdaMax()!
            let lambda = lambdaMax / 6
            let y = d.y
            let mcp = try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try MCP(lambda: lambda, gamma: 3))
            try checkPair(mcp, d, derivative: { z, i in z - y[i] }, lambda: lambda)
            let scad = try GeneralizedLinearModel(design: d.csc, datafit: fit, penalty: try SCAD(lambda: lambda, gamma: 3))
            try checkPair(scad, d, derivative: { z, i in z - y[i] }, lambda: lambda)
            XCTAssertFalse(try mcp.solve(tolerance: 1e-10).globalOptimum)
        }
    }

    func testBoxConstraintsAgainstFISTA() throws {
        let d = try data()
        let p = d.x.columns
        let box = try BoxConstraint(lower: [Double](repeating: -0.2, count: p), upper: [Double](repeating: 0.3, count: p))
        let model = try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: box, fitIntercept: true)
        let cd = try model.solve(tolerance: 1e-10)
        let fista = try model.solve(tolerance: 1e-7, method: .fista, maxIterations: 200_000)
        XCTAssertEqual(cd.objective, fista.objective, accuracy: 1e-8 * abs(cd.objective))
        XCTAssertTrue(cd.weights.allSatisfy { $0 >= -0.2 && $0 <= 0.3 })
        XCTAssertTrue(cd.weights.contains { $0 == 0.3 } || cd.weights.contains { $0 == -0.2 }, "some bound is active")
    }

    /// The duality gap of every datafit with a conjugate × every convex penalty with a dual
    /// set: nonnegative, an upper bound on P(w) − P* at any point (checked at a perturbed point
    /// against P* from a tight solve), and → 0 at the solution; for quadratic + ℓ1 with an
    /// intercept it equals the lasso's own gap at the same w. Pairs without one say nil.
    func testDualityGapOfEveryConvexPair() throws {
        let d = try data(rows: 260, columns: 70, seed: 9)
        var weights = (0..<70).map { 0.5 + Double($0 % 3) / 2 }
        weights[4] = 2
        let groups = (0..<14).map { $0 * 5..<($0 + 1) * 5 }
        func check<Fit: Datafit, Reg: Penalty>(_ datafit: Fit, _ penalty: Reg, intercept: Bool, _ label: String) throws {
            let base = try GeneralizedLinearModel(design: d.csc, datafit: datafit, penalty: penalty, fitIntercept: intercept)
            let model = base.withStrength(try XCTUnwrap(try base.lambdaMax()) / 8)
            let solution = try model.solve(tolerance: 1e-11)
            let optimum = model.objective(solution.weights, intercept: solution.intercept)
            let gapAtSolution = try XCTUnwrap(model.dualityGap(solution.weights, intercept: solution.intercept), label)
            XCTAssertLessThan(gapAtSolution, 1e-8 * max(1, abs(optimum)), label)
            var w = solution.weights
            for j in stride(from: 0, to: w.count, by: 7) { w[j] += 0.05 }
            let b = solution.intercept + (intercept ? 0.1 : 0)
            let gap = try XCTUnwrap(model.dualityGap(w, intercept: b), label)
            let suboptimality = model.objective(w, intercept: b) - optimum
            XCTAssertGreaterThan(suboptimality, 0, label)
            XCTAssertGreaterThanOrEqual(gap, suboptimality * (1 - 1e-9), "\(label): the gap bounds P(w) − P*")
        }
        for intercept in [false, true] {
            try check(Quadratic(targets: d.y), try L1(lambda: 1), intercept: intercept, "quadratic + l1")
            try check(Quadratic(targets: d.y), try ElasticNet(lambda: 1, l1Ratio: 0.6), intercept: intercept, "quadratic + enet")
            try check(try Huber(targets: d.outliers, delta: 1), try L1(lambda: 1), intercept: intercept, "huber + l1")
            try check(try Logistic(labels: d.labels), try L1(lambda: 1), intercept: intercept, "logistic + l1")
            try check(Poisson(targets: d.counts), try WeightedL1(lambda: 1, weights: weights), intercept: intercept, "poisson + wl1")
            try check(Quadratic(targets: d.y), try NonNegativeL1(lambda: 1), intercept: intercept, "quadratic + nnl1")
            try check(try Logistic(labels: d.labels), try GroupLasso(lambda: 1, groups: groups), intercept: intercept, "logistic + group")
        }
        // Quadratic + ℓ1 with an intercept: the lasso's own gap at the same point.
        let lambda = try LassoProblem.lambdaMax(design: d.x, targets: d.y, fitIntercept: true) / 10
        let lasso = try LassoProblem(design: d.x, targets: d.y, lambda: lambda, fitIntercept: true)
        let glm = try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: try L1(lambda: lambda), fitIntercept: true)
        var w = try glm.solve(tolerance: 1e-6).weights
        w[3] += 0.02
        let b = lasso.intercept(w)
        XCTAssertEqual(try XCTUnwrap(glm.dualityGap(w, intercept: b)), lasso.dualityGap(w), accuracy: 1e-10 * max(1, lasso.dualityGap(w)))
        // No gap: nonconvex penalties, box constraints, an unpenalized weighted-ℓ1 feature.
        XCTAssertNil(try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: try MCP(lambda: 0.1, gamma: 3))
            .dualityGap(w))
        weights[0] = 0
        XCTAssertNil(try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: try WeightedL1(lambda: 0.1, weights: weights))
            .dualityGap(w))
    }

    func testQuadraticL1MatchesTheLassoSolver() throws {
        let d = try data(rows: 300, columns: 90, seed: 7)
        let lambda = try LassoProblem.lambdaMax(design: d.x, targets: d.y, fitIntercept: true) / 10
        let lasso = try RegularizedLeastSquares(design: d.x, targets: d.y, penalty: .lasso, lambda: lambda, fitIntercept: true)
            .solve(tolerance: 1e-13)
        let glm = try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: try L1(lambda: lambda), fitIntercept: true)
        let ours = try glm.solve(tolerance: 1e-12)
        XCTAssertEqual(glm.objective(ours.weights, intercept: ours.intercept), glm.objective(lasso.weights, intercept: lasso.intercept),
                       accuracy: 1e-11)
        XCTAssertEqual(ours.intercept, lasso.intercept, accuracy: 1e-6)
        XCTAssertEqual(try glm.lambdaMax()!, lambda * 10, accuracy: 1e-10 * lambda * 10)
    }

    func testBadInputIsRefusedWithTheEntry() throws {
        let d = try data(rows: 40, columns: 10, defects: 1)
        XCTAssertThrowsError(try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: [1, 2]), penalty: try L1(lambda: 1)))
        XCTAssertThrowsError(try GeneralizedLinearModel(design: d.csc, datafit: Poisson(targets: d.y.map { _ in -1 }), penalty: try L1(lambda: 1))) {
            XCTAssertTrue("\($0)".contains("row 0"), "\($0)")
        }
        XCTAssertThrowsError(try GroupLasso(lambda: 1, groups: [0..<3, 3..<10], weights: [1]))
        XCTAssertThrowsError(try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y),
                                                        penalty: try GroupLasso(lambda: 1, groups: [0..<3, 4..<10])))
        XCTAssertThrowsError(try GroupLasso.contiguousGroups(labels: [0, 0, 1, 0])) { XCTAssertTrue("\($0)".contains("feature 3"), "\($0)") }
        XCTAssertThrowsError(try MCP(lambda: 1, gamma: -1))
        XCTAssertThrowsError(try SCAD(lambda: 1, gamma: 2))
        XCTAssertThrowsError(try Huber(targets: d.y, delta: .nan))
        XCTAssertThrowsError(try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: try L1(lambda: 1),
                                                        sampleWeights: d.y.map { _ in -1 }))
        let model = try GeneralizedLinearModel(design: d.csc, datafit: Quadratic(targets: d.y), penalty: try L1(lambda: 1e-6))
        XCTAssertThrowsError(try model.solve(tolerance: 1e-12, maxIterations: 1)) {
            guard case GeneralizedLinearModelError.notConverged = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try model.solve(warmStart: [1]))
    }

    func testSampleWeightsEqualRepeatedRows() throws {
        // Weight 2 on a row = the row twice.
        let d = try data(rows: 60, columns: 15, defects: 1)
        let weights = (0..<60).map { $0 % 3 == 0 ? 2.0 : 1.0 }
        let repeated = (0..<60).flatMap { $0 % 3 == 0 ? [$0, $0] : [$0] }
        var pointers = [0], indices: [Int32] = [], values: [Double] = []
        for i in repeated {
            for k in d.x.rowPointers[i]..<d.x.rowPointers[i + 1] { indices.append(d.x.columnIndices[k]); values.append(d.x.values[k]) }
            pointers.append(indices.count)
        }
        let stacked = try CSRMatrix(rows: repeated.count, columns: 15, rowPointers: pointers, columnIndices: indices, values: values)
        let model = try GeneralizedLinearModel(design: d.csc, datafit: try Huber(targets: d.outliers, delta: 1), penalty: try L1(lambda: 0.01),
                                               fitIntercept: true, sampleWeights: weights)
        let twice = try GeneralizedLinearModel(design: stacked, datafit: try Huber(targets: repeated.map { d.outliers[$0] }, delta: 1),
                                               penalty: try L1(lambda: 0.01), fitIntercept: true)
        let a = try model.solve(tolerance: 1e-12), b = try twice.solve(tolerance: 1e-12)
        for j in 0..<a.weights.count { XCTAssertEqual(a.weights[j], b.weights[j], accuracy: 1e-8) }
        XCTAssertEqual(a.intercept, b.intercept, accuracy: 1e-8)
    }

    // MARK: - Hypergradients against central finite differences

    func checkHypergradient<Fit: Datafit, Reg: Penalty, Loss: Datafit>(_ model: GeneralizedLinearModel<Fit, Reg>, heldOut: HeldOutLoss<Loss>,
                                                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let solution = try model.solve(tolerance: 1e-13)
        let h = try model.hypergradient(at: solution, heldOut: heldOut)
        let fd = try model.finiteDifference(at: solution, heldOut: heldOut, tolerance: 1e-13)
        XCTAssertGreaterThan(h.supportSize ?? 0, 0, file: file, line: line)
        XCTAssertTrue(h.unique, "no duplicated columns: the reduced system is nonsingular", file: file, line: line)
        XCTAssertLessThanOrEqual(h.conditionResidual, 1e-8, file: file, line: line)
        XCTAssertEqual(h.gradient, fd.derivative, accuracy: 1e-5 * max(abs(fd.derivative), 1e-4),
                       "\(model.datafit.name) + \(model.penalty.name): implicit \(h.gradient) vs FD \(fd.derivative) (h = \(fd.step))",
                       file: file, line: line)
    }

    func testHypergradientsAgainstFiniteDifferences() throws {
        // Without duplicated columns: with them x* is not unique and a finite difference
        // follows whichever solution the warm start lands on (see the non-uniqueness test).
        let train = try data(rows: 240, columns: 50, seed: 21, defects: 0)
        let validation = try data(rows: 120, columns: 50, seed: 22, defects: 0)
        let p = train.x.columns
        let groups = stride(from: 0, to: p, by: 5).map { $0..<min($0 + 5, p) }
        // Huber + ℓ1 with an intercept, held-out Huber loss.
        let huber = try Huber(targets: train.outliers, delta: 1)
        let huberMax = try GeneralizedLinearModel(design: train.csc, datafit: huber, penalty: try L1(lambda: 1), fitIntercept: true).lambdaMax()!
        try checkHypergradient(try GeneralizedLinearModel(design: train.csc, datafit: huber, penalty: try L1(lambda: huberMax / 7), fitIntercept: true),
                               heldOut: try HeldOutLoss(design: validation.csc, loss: try Huber(targets: validation.outliers, delta: 1)))
        // Poisson + ℓ1, held-out Poisson deviance (up to a constant).
        let poisson = Poisson(targets: train.counts)
        let poissonMax = try GeneralizedLinearModel(design: train.csc, datafit: poisson, penalty: try L1(lambda: 1), fitIntercept: true).lambdaMax()!
        try checkHypergradient(try GeneralizedLinearModel(design: train.csc, datafit: poisson, penalty: try L1(lambda: poissonMax / 5), fitIntercept: true),
                               heldOut: try HeldOutLoss(design: validation.csc, loss: Poisson(targets: validation.counts)))
        // Least squares + MCP, held-out mean squared error.
        let quadratic = Quadratic(targets: train.y)
        let quadraticMax = try GeneralizedLinearModel(design: train.csc, datafit: quadratic, penalty: try L1(lambda: 1)).lambdaMax()!
        try checkHypergradient(try GeneralizedLinearModel(design: train.csc, datafit: quadratic, penalty: try MCP(lambda: quadraticMax / 6, gamma: 4)),
                               heldOut: try HeldOutLoss(design: validation.csc, loss: SquaredError(targets: validation.y)))
        // Least squares + group lasso (dense active blocks).
        try checkHypergradient(try GeneralizedLinearModel(design: train.csc, datafit: quadratic, penalty: try GroupLasso(lambda: quadraticMax / 6, groups: groups),
                                                          fitIntercept: true),
                               heldOut: try HeldOutLoss(design: validation.csc, loss: SquaredError(targets: validation.y)))
        // Logistic + elastic net.
        let logistic = try Logistic(labels: train.labels)
        let logisticMax = try GeneralizedLinearModel(design: train.csc, datafit: logistic, penalty: try L1(lambda: 1)).lambdaMax()!
        try checkHypergradient(try GeneralizedLinearModel(design: train.csc, datafit: logistic, penalty: try ElasticNet(lambda: logisticMax / 6, l1Ratio: 0.7)),
                               heldOut: try HeldOutLoss(design: validation.csc, loss: try Logistic(labels: validation.labels)))
    }

    func testDuplicatedColumnsInTheSupportAreReportedNonUnique() throws {
        // Column 0 duplicated into the last columns: a support holding both copies makes
        // X̃_SᵀDX̃_S singular; the derivative is the minimum-norm solution's and says so.
        let train = try data(rows: 240, columns: 50, seed: 21, defects: 3)
        let validation = try data(rows: 120, columns: 50, seed: 22, defects: 3)
        let base = try GeneralizedLinearModel(design: train.csc, datafit: Poisson(targets: train.counts), penalty: try L1(lambda: 1), fitIntercept: true)
        let model = base.withStrength(try base.lambdaMax()! / 5)
        let solution = try model.solve(tolerance: 1e-13)
        let h = try model.hypergradient(at: solution, heldOut: try HeldOutLoss(design: validation.csc, loss: Poisson(targets: validation.counts)))
        let columns = (0..<train.x.columns).map { j in (0..<train.x.rows).map { train.dense[$0][j] } }
        let support = (0..<train.x.columns).filter { solution.weights[$0] != 0 }
        let duplicated = support.contains { a in support.contains { b in b > a && columns[a] == columns[b] } }
        XCTAssertTrue(duplicated, "the data puts a duplicated pair in the support")
        XCTAssertFalse(h.unique, "\(String(describing: h.report))")
        XCTAssertEqual(h.report?.method, "pseudo-inverse")
        XCTAssertTrue(h.gradient.isFinite)
    }

    func testLassoHypergradientMatchesTheLassoRoutine() throws {
        let train = try data(rows: 200, columns: 40, seed: 31)
        let validation = try data(rows: 100, columns: 40, seed: 32)
        let lambda = try LassoProblem.lambdaMax(design: train.x, targets: train.y) / 8
        let problem = try RegularizedLeastSquares(design: train.x, targets: train.y, penalty: .lasso, lambda: lambda)
        let w = try problem.solve(tolerance: 1e-13).weights
        let reference = try problem.hypergradient(at: w, validation: validation.x, validationTargets: validation.y,
                                                  strategy: LinearSolveStrategy())
        let glm = try GeneralizedLinearModel(design: train.csc, datafit: Quadratic(targets: train.y), penalty: try L1(lambda: lambda))
        let ours = try glm.hypergradient(at: try glm.solve(tolerance: 1e-13), heldOut: try HeldOutLoss(design: validation.csc, loss: SquaredError(targets: validation.y)))
        XCTAssertEqual(ours.value, reference.value, accuracy: 1e-10)
        XCTAssertEqual(ours.gradient, reference.gradient, accuracy: 1e-7 * abs(reference.gradient))
    }
}
