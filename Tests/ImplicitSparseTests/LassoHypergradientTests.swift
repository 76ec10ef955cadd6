import _Differentiation
import XCTest
import ImplicitSparse

/// The support-reduced lasso hypergradient against two independent oracles: central finite
/// differences of the whole pipeline, and the full-size implicit derivative of the
/// proximal-gradient fixed point through `RootSolution` (no support reduction).
final class LassoHypergradientTests: XCTestCase {
    func testAgainstFiniteDifferencesAndFullFixedPoint() throws {
        let data = try Datasets.textLike(rows: 300, columns: 80, nonzerosPerRow: 8, informative: 10, noise: 0.3, seed: 9)
        let split = try Datasets.split(rows: 300, validationFraction: 0.3, seed: 1)
        let x = try data.features.selectingRows(split.train), xv = try data.features.selectingRows(split.validation)
        let y = split.train.map { data.targets[$0] }, yv = split.validation.map { data.targets[$0] }
        for alpha in [1.0, 0.6] {
            let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y, l1Ratio: alpha)
            let lambda = lambdaMax / 8
            func solve(_ lambda: Double) throws -> [Double] {
                let result = try LassoProblem(design: x, targets: y, lambda: lambda, l1Ratio: alpha).solve(tolerance: 1e-14)
                XCTAssertTrue(result.converged)
                return result.solution
            }
            func loss(_ w: [Double]) throws -> Double {
                zip(yv, try xv.multiply(w)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(xv.rows)
            }
            let w = try solve(lambda)
            let problem = try LassoProblem(design: x, targets: y, lambda: lambda, l1Ratio: alpha)
            let result = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv,
                                                       validationTargets: yv, strategy: LinearSolveStrategy())
            XCTAssertGreaterThan(result.supportSize ?? 0, 0)
            XCTAssertNil(result.nonUniqueness)
            // Oracle 1: central difference in log λ.
            let h = 1e-4
            let fd = (try loss(try solve(lambda * Foundation.exp(h))) - loss(try solve(lambda * Foundation.exp(-h)))) / (2 * h)
            XCTAssertEqual(result.gradient, fd, accuracy: 1e-5 * max(abs(fd), 1e-3), "α = \(alpha)")
            // Oracle 2: the full fixed point T(w, θ) = prox(w − η∇f(w)), θ = log λ, by RootSolution.
            let eta = 0.5 / (try x.multiplyTransposed(try x.multiply([Double](repeating: 1, count: 80))).map(abs).max()! / Double(x.rows))
            let n = Double(x.rows)
            let yd = DifferentiableVector(y), xvd = xv, yvd = DifferentiableVector(yv), ones = DifferentiableVector(repeating: 1, count: 80)
            let map: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, theta in
                let lam = exp(theta)  // θ = log λ as a 1-vector
                let l = sum(lam)
                let gradient = scale(1 / n, matvecTransposed(x, matvec(x, w) - yd)) + scale(l * (1 - alpha), w)
                return proxLasso(w - scale(eta, gradient), threshold: scale(eta * alpha * l, ones))
            }
            let solution = RootSolution.fixedPoint(of: map, solver: { theta in DifferentiableVector(try solve(Foundation.exp(theta[0]))) })
            let g = gradient(at: DifferentiableVector([Foundation.log(lambda)])) { theta in
                let r = yvd - matvec(xvd, solution(theta))
                return squaredNorm(r) / Double(xv.rows)
            }
            XCTAssertEqual(result.gradient, g[0], accuracy: 1e-7 * max(abs(g[0]), 1e-3), "α = \(alpha)")
        }
    }

    func testDuplicatedColumnsAreReportedNotExploded() throws {
        // Two identical columns in the support: X_SᵀX_S is singular.
        let base = try CSRMatrix.randomPowerLaw(rows: 100, columns: 6, nonzerosPerRow: 4, seed: 3)
        let dense = base.toDenseRowMajor()
        var builder = try COOBuilder(rows: 100, columns: 7)
        for i in 0..<100 {
            for j in 0..<6 where dense[i * 6 + j] != 0 { try builder.append(row: i, column: j, value: dense[i * 6 + j]) }
            if dense[i * 6] != 0 { try builder.append(row: i, column: 6, value: dense[i * 6]) }
        }
        let x = builder.makeCSR()
        let y = try x.multiply([2, 0, -1, 0, 0.5, 0, 2]).enumerated().map { $0.element + 0.01 * sin(Double($0.offset)) }
        let problem = try LassoProblem(design: x, targets: y, lambda: try LassoProblem.lambdaMax(design: x, targets: y) / 50)
        let w = problem.solve(tolerance: 1e-13).solution
        let result = try LassoAdjoint.compute(problem: problem, solution: w, validation: x, validationTargets: y,
                                                   strategy: LinearSolveStrategy())
        XCTAssertTrue(result.gradient.isFinite)
        XCTAssertTrue(w[0] != 0 && w[6] != 0, "both copies of the duplicated feature are in the support")
        let size = w.filter { $0 != 0 }.count
        XCTAssertTrue(result.nonUniqueness?.contains("support of \(size) columns has rank \(size - 1) (1 exact duplicates)") == true,
                      "\(String(describing: result.nonUniqueness))")
        XCTAssertEqual(result.rank, size - 1)
        XCTAssertEqual(result.report?.method, "pseudo-inverse")
        // The validation loss as a function of λ is that of the problem without the copy (w₀ + w₆
        // acts as one coefficient under the same ℓ₁ penalty): central differences of that one.
        let xm = base
        func loss(_ lambda: Double) throws -> Double {
            let wm = try LassoProblem(design: xm, targets: y, lambda: lambda).solve(tolerance: 1e-14).solution
            return zip(y, try xm.multiply(wm)).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 100
        }
        let h = 1e-4
        let fd = (try loss(problem.lambda * Foundation.exp(h)) - loss(problem.lambda * Foundation.exp(-h))) / (2 * h)
        XCTAssertEqual(result.gradient, fd, accuracy: 1e-5 * max(abs(fd), 1e-3))
    }

    /// With an intercept: the eliminated-intercept solution against an independent solve with
    /// an explicit, unpenalized column of ones; the hypergradient against central differences.
    func testInterceptAgainstExplicitColumnAndFiniteDifferences() throws {
        let data = try Datasets.textLike(rows: 240, columns: 40, nonzerosPerRow: 6, informative: 8, noise: 0.2, seed: 4)
        let x = data.features
        let y = data.targets.map { $0 + 3 }  // an offset only the intercept can absorb
        let xv = try CSRMatrix.randomPowerLaw(rows: 60, columns: 40, nonzerosPerRow: 6, seed: 5)
        let yv = try xv.multiply([Double](repeating: 0.1, count: 40)).map { $0 + 2.5 }
        for alpha in [1.0, 0.5] {
            let lambda = try LassoProblem.lambdaMax(design: x, targets: y, l1Ratio: alpha, fitIntercept: true) / 10
            let problem = try LassoProblem(design: x, targets: y, lambda: lambda, l1Ratio: alpha, fitIntercept: true)
            let result = problem.solve(tolerance: 1e-13, maxIterations: 100_000)
            XCTAssertTrue(result.converged)
            let w = result.solution, b = problem.intercept(w)
            // Oracle: FISTA on [X, 1] with the last coordinate unpenalized.
            var builder = try COOBuilder(rows: 240, columns: 41)
            let dense = x.toDenseRowMajor()
            for i in 0..<240 {
                for j in 0..<40 where dense[i * 40 + j] != 0 { try builder.append(row: i, column: j, value: dense[i * 40 + j]) }
                try builder.append(row: i, column: 40, value: 1)
            }
            let augmented = builder.makeCSR()
            let n = 240.0
            var options = ProximalGradient.Options()
            options.tolerance = 1e-13
            options.maxIterations = 500_000
            options.initialStep = 0.9 / (try LassoProblem(design: augmented, targets: y, lambda: 1).lipschitzEstimate(iterations: 60))
            let oracle = ProximalGradient(options: options).minimize(
                from: [Double](repeating: 0, count: 41),
                smooth: { v in
                    let r = zip(try! augmented.multiply(v), y).map { $0 - $1 }
                    var g = try! augmented.multiplyTransposed(r).map { $0 / n }
                    for j in 0..<40 { g[j] += lambda * (1 - alpha) * v[j] }
                    return (r.reduce(0) { $0 + $1 * $1 } / (2 * n) + lambda * (1 - alpha) / 2 * v[0..<40].reduce(0) { $0 + $1 * $1 }, g)
                },
                prox: { v, s in
                    let t = s * lambda * alpha
                    return v.enumerated().map { j, value in j == 40 ? value : (value > t ? value - t : (value < -t ? value + t : 0)) }
                },
                penalty: { v in lambda * alpha * v[0..<40].reduce(0) { $0 + abs($1) } })
            XCTAssertTrue(oracle.converged, "α = \(alpha)")
            XCTAssertEqual(b, oracle.solution[40], accuracy: 1e-6 * max(1, abs(b)))
            for j in 0..<40 { XCTAssertEqual(w[j], oracle.solution[j], accuracy: 1e-6, "α = \(alpha), j = \(j)") }
            XCTAssertGreaterThan(w.filter { $0 != 0 }.count, 2)
            // Hypergradient vs central differences in log λ.
            let hyper = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv, validationTargets: yv,
                                                      strategy: LinearSolveStrategy())
            func loss(_ lambda: Double) throws -> Double {
                let p = try LassoProblem(design: x, targets: y, lambda: lambda, l1Ratio: alpha, fitIntercept: true)
                let ws = p.solve(tolerance: 1e-13, warmStart: w, maxIterations: 100_000).solution
                let bs = p.intercept(ws)
                return zip(yv, try xv.multiply(ws)).map { ($0 - $1 - bs) * ($0 - $1 - bs) }.reduce(0, +) / 60
            }
            let h = 1e-4
            let fd = (try loss(lambda * Foundation.exp(h)) - loss(lambda * Foundation.exp(-h))) / (2 * h)
            XCTAssertEqual(hyper.gradient, fd, accuracy: 1e-5 * max(abs(fd), 1e-3), "α = \(alpha)")
            XCTAssertNil(hyper.nonUniqueness)
            // The automatic policy on this small support: the dense centered Gram matrix, by the
            // rank-revealing Cholesky for the lasso (declared semidefinite; full rank here) and
            // LAPACK Cholesky for the elastic net (definite); CHOLMOD on the same matrix agrees.
            XCTAssertEqual(hyper.report?.method, alpha == 1 ? "dense cholesky" : "cholesky")
            if alpha == 1 { XCTAssertEqual(hyper.rank, hyper.supportSize) }
            let sparse = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv, validationTargets: yv,
                                                       strategy: LinearSolveStrategy(.cholesky))
            XCTAssertEqual(sparse.report?.method, "cholesky")
            XCTAssertEqual(sparse.gradient, hyper.gradient, accuracy: 1e-9 * max(abs(hyper.gradient), 1e-6))
        }
    }
}
import Foundation
