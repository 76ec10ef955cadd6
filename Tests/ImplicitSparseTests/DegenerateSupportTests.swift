import _Differentiation
import Foundation
import XCTest
import ImplicitSparse

/// Rank-deficient lasso supports on binary data: exact duplicates and a dependent block
/// (A+B, C+D, A+C, B+D over disjoint binary columns A, B, C, D: rank 3 of 4, and the signs
/// all agree, so the whole block can sit in the support). The derivative returned is that of
/// the minimum-norm solution; the oracle here is the Tikhonov limit (G + εI)⁻¹s, computed by
/// LU in the test, which converges to G⁺s for s in the range of G.
final class DegenerateSupportTests: XCTestCase {
    /// Binary design with power-law column frequencies plus the dependent columns.
    static func binaryData(rows n: Int, seed: UInt64) throws -> (CSRMatrix, [Double]) {
        var random = SplitMix64(seed: seed)
        var columns: [[Int]] = []
        for j in 0..<20 {
            let frequency = 0.4 / Double(j + 1).squareRoot()
            columns.append((0..<n).filter { _ in random.nextUniform() < frequency })
        }
        // Disjoint A, B, C, D: rows split into four bands, each kept with probability 0.6.
        let band = n / 4
        let parts = (0..<4).map { b in (b * band..<(b + 1) * band).filter { _ in random.nextUniform() < 0.6 } }
        columns.append(parts[0] + parts[1])          // A + B
        columns.append(parts[2] + parts[3])          // C + D
        columns.append((parts[0] + parts[2]).sorted())  // A + C
        columns.append((parts[1] + parts[3]).sorted())  // B + D
        columns.append(columns[0])                   // an exact duplicate of column 0
        var builder = try COOBuilder(rows: n, columns: columns.count)
        for (j, rowsOfJ) in columns.enumerated() { for i in rowsOfJ { try builder.append(row: i, column: j, value: 1) } }
        let x = builder.makeCSR()
        var beta = [Double](repeating: 0, count: columns.count)
        beta[0] = 1.5; beta[3] = -1; beta[7] = 0.8
        beta[20] = 1; beta[21] = 1; beta[22] = 1; beta[23] = 1
        let y = try x.multiply(beta).map { $0 + 0.05 * (random.nextUniform() - 0.5) }
        return (x, y)
    }

    func oracle(problem: LassoProblem, w: [Double], gradient g: [Double]) throws -> Double {
        let support = (0..<w.count).filter { w[$0] != 0 }
        let n = Double(problem.design.rows), k = support.count
        let dense = problem.design.toDenseRowMajor(), p = problem.design.columns
        var gram = [Double](repeating: 0, count: k * k)
        for a in 0..<k { for b in 0..<k {
            var sum = 0.0
            for i in 0..<problem.design.rows {
                sum += (dense[i * p + support[a]] - problem.columnMeans[support[a]]) * (dense[i * p + support[b]] - problem.columnMeans[support[b]])
            }
            gram[a * k + b] = sum
        } }
        let trace = (0..<k).reduce(0.0) { $0 + gram[$1 * k + $1] }
        let epsilon = 1e-11 * trace / Double(k)
        var builder = try COOBuilder(rows: k, columns: k)
        for a in 0..<k { for b in 0..<k where gram[a * k + b] != 0 || a == b {
            try builder.append(row: a, column: b, value: gram[a * k + b] + (a == b ? epsilon : 0))
        } }
        let lu = try LUFactorization(builder.makeCSR())
        try lu.factorize()
        let y = try lu.solve(support.map { w[$0] > 0 ? 1 : -1 })
        return -n * problem.lambda * zip(support, y).reduce(0) { $0 + g[$1.0] * $1.1 }
    }

    func testMinimumNormDerivativeOnRankDeficientSupports() throws {
        let (x, y) = try Self.binaryData(rows: 400, seed: 3)
        let (xv, yv) = try Self.binaryData(rows: 150, seed: 4)
        var sawDeficient = false
        for fitIntercept in [false, true] {
            for ratio in [10.0, 30.0, 100.0] {
                let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y, fitIntercept: fitIntercept)
                let problem = try LassoProblem(design: x, targets: y, lambda: lambdaMax / ratio, fitIntercept: fitIntercept)
                let solved = problem.solve(tolerance: 1e-14, maxIterations: 200_000)
                XCTAssertTrue(solved.converged)
                let w = solved.solution
                let result = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv, validationTargets: yv,
                                                           strategy: LinearSolveStrategy())
                let (_, g) = try LassoAdjoint.validationLossAndGradient(problem: problem, solution: w, validation: xv,
                                                                             validationTargets: yv)
                let expected = try oracle(problem: problem, w: w, gradient: g)
                XCTAssertEqual(result.gradient, expected, accuracy: 1e-6 * max(abs(expected), 1e-6),
                               "ratio \(ratio), intercept \(fitIntercept): \(result.nonUniqueness ?? "unique")")
                if let rank = result.rank, let size = result.supportSize, rank < size {
                    sawDeficient = true
                    XCTAssertTrue(!result.unique)
                    XCTAssertEqual(result.report?.method, "pseudo-inverse")
                    // Forward mode (the path for supports above the dense limit) gives the same.
                    let forward = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv, validationTargets: yv,
                                                                strategy: LinearSolveStrategy(), rankRevealLimit: 0)
                    XCTAssertTrue(!forward.unique)
                    XCTAssertEqual(forward.report?.method, "minres")
                    XCTAssertLessThan(forward.report?.iterations ?? .max, 10 * size, "no iteration cap reached")
                    XCTAssertEqual(forward.gradient, result.gradient, accuracy: 1e-7 * max(abs(expected), 1e-6))
                }
            }
        }
        XCTAssertTrue(sawDeficient, "the generated data should give at least one rank-deficient support")
    }

    /// At λ = λ_max the solution is 0 and the most correlated coordinate sits at the boundary:
    /// the right derivative is 0 (w stays 0 as λ grows), the left one is that of the support
    /// {j*}; each matches its one-sided finite difference.
    func testBreakpointGivesBothOneSidedDerivatives() throws {
        let data = try Datasets.textLike(rows: 300, columns: 40, nonzerosPerRow: 6, informative: 6, noise: 0.1, seed: 8)
        let split = try Datasets.split(rows: 300, validationFraction: 0.3, seed: 8)
        let x = try data.features.selectingRows(split.train), xv = try data.features.selectingRows(split.validation)
        let y = split.train.map { data.targets[$0] }, yv = split.validation.map { data.targets[$0] }
        for fitIntercept in [false, true] {
            let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y, fitIntercept: fitIntercept)
            let problem = try LassoProblem(design: x, targets: y, lambda: lambdaMax, fitIntercept: fitIntercept)
            let w = [Double](repeating: 0, count: x.columns)
            let result = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv, validationTargets: yv,
                                                       strategy: LinearSolveStrategy())
            XCTAssertNotNil(result.kink)
            let left = try XCTUnwrap(result.leftDerivative), right = try XCTUnwrap(result.rightDerivative)
            XCTAssertEqual(right, 0)
            XCTAssertEqual(result.gradient, 0)
            func loss(_ lambda: Double) throws -> Double {
                let p = try LassoProblem(design: x, targets: y, lambda: lambda, fitIntercept: fitIntercept)
                let solved = p.solve(tolerance: 1e-15, maxIterations: 200_000)
                return try LassoAdjoint.validationLossAndGradient(problem: p, solution: solved.solution, validation: xv,
                                                                       validationTargets: yv).loss
            }
            let h = 1e-5
            let leftFD = (try loss(lambdaMax) - loss(lambdaMax * Foundation.exp(-h))) / h
            XCTAssertEqual(left, leftFD, accuracy: 1e-3 * abs(leftFD), "intercept \(fitIntercept)")
            XCTAssertNotEqual(left, 0)
            let rightFD = (try loss(lambdaMax * Foundation.exp(h)) - loss(lambdaMax)) / h
            XCTAssertEqual(rightFD, 0, accuracy: 1e-12)
        }
        // Away from a breakpoint nothing is reported.
        let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y)
        let problem = try LassoProblem(design: x, targets: y, lambda: lambdaMax / 7)
        let w = problem.solve(tolerance: 1e-14, maxIterations: 200_000).solution
        let result = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv, validationTargets: yv,
                                                   strategy: LinearSolveStrategy())
        XCTAssertNil(result.kink)
        XCTAssertNil(result.leftDerivative)
    }
}

/// The generic reduced path (no problem-specific solve): a non-negative lasso whose support
/// holds both copies of a duplicated column. The reduced system is singular and the reverse
/// right-hand side inconsistent; the derivative returned is the minimum-norm one (LSQR), equal
/// to the Tikhonov-limit oracle, and the reduction says the system was singular.
final class GenericDegenerateSupportTests: XCTestCase {
    func testNonNegativeLassoWithADuplicatedColumn() throws {
        var random = SplitMix64(seed: 31)
        let n = 120, p = 6
        var builder = try COOBuilder(rows: n, columns: p + 1)
        var dense = [[Double]](repeating: [Double](repeating: 0, count: p + 1), count: n)
        for i in 0..<n {
            for j in 0..<p where random.nextUniform() < 0.5 { dense[i][j] = random.nextUniform() + 0.2 }
            dense[i][p] = dense[i][0]
            for j in 0...p where dense[i][j] != 0 { try builder.append(row: i, column: j, value: dense[i][j]) }
        }
        let x = builder.makeCSR()
        let y = DifferentiableVector(try x.multiply([1.5, 0, 0.8, 0, 0.4, 0, 1.5]).map { $0 + 0.05 * (random.nextUniform() - 0.5) })
        let nd = Double(n)
        let ones = DifferentiableVector(repeating: 1, count: p + 1)
        let fixedPoint = try VectorProximalFixedPoint(
            gradient: { w, _ in scale(1 / nd, matvecTransposed(x, matvec(x, w) - y)) },
            prox: { v, theta in proxNonNegativeLasso(v, threshold: scale(theta[0], ones)) }, step: 1)
        // FISTA spreads the weight evenly over the two copies (both positive).
        let lambda = 0.02
        var options = ProximalGradient.Options()
        options.tolerance = 1e-15
        options.maxIterations = 200_000
        options.initialStep = 0.5
        let solved = ProximalGradient(options: options).minimize(
            from: [Double](repeating: 0, count: p + 1),
            smooth: { w in
                let r = zip(try! x.multiply(w), y.scalars).map { $0 - $1 }
                return (Vector.dot(r, r) / (2 * nd), try! x.multiplyTransposed(r).map { $0 / nd })
            },
            prox: { v, s in v.map { max($0 - s * lambda, 0) } }, penalty: { w in lambda * w.reduce(0, +) })
        let w = solved.solution
        XCTAssertTrue(w[0] > 0 && w[p] > 0, "both copies in the support: \(w)")
        let weights = DifferentiableVector((0...p).map { Double($0 + 1) })
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in dot(weights, w .* w) }
        let (_, gradient, reduction) = try fixedPoint.hypergradient(at: DifferentiableVector(w), theta: DifferentiableVector([lambda]), loss: loss)
        XCTAssertTrue(reduction.singular)
        XCTAssertEqual(reduction.report?.method, "lsqr")
        // Oracle: the minimum-norm solution of (G/n) dw_S = −1 splits the merged column's
        // derivative evenly over the two identical copies; the merged system (column p folded
        // into column 0) is of full rank and solved by LU here.
        let support = (0..<p).filter { w[$0] > 0 }   // column p merged into column 0
        XCTAssertEqual(support.first, 0)
        let k = support.count
        var merged = try COOBuilder(rows: k, columns: k)
        for a in 0..<k { for b in 0..<k {
            try merged.append(row: a, column: b, value: (0..<n).reduce(0.0) { $0 + dense[$1][support[a]] * dense[$1][support[b]] } / nd)
        } }
        let lu = try LUFactorization(merged.makeCSR())
        try lu.factorize()
        let u = try lu.solve([Double](repeating: -1, count: k))
        var dw = [Double](repeating: 0, count: p + 1)
        for (a, j) in support.enumerated() { dw[j] = u[a] }
        dw[0] = u[0] / 2
        dw[p] = u[0] / 2
        let expected = (0...p).reduce(0.0) { $0 + 2 * weights[$1] * w[$1] * dw[$1] }
        XCTAssertEqual(gradient[0], expected, accuracy: 1e-6 * abs(expected))
    }
}
