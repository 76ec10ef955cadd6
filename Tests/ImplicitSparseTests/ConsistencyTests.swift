import _Differentiation
import XCTest
import ImplicitSparse

/// Cross-checks between the implicit layer's own paths: forward against reverse, every
/// linear-solve choice against the others, and the error of the derivative against the error
/// of the solve (Blondel et al., Theorem 1).
final class ConsistencyTests: XCTestCase {
    let x = try! CSRMatrix.randomPowerLaw(rows: 90, columns: 25, nonzerosPerRow: 6, seed: 51)
    lazy var y = DifferentiableVector((0..<90).map { sin(0.3 * Double($0)) })

    func ridge(_ d: [Double], tolerance: Double = 1e-14) throws -> [Double] {
        let op = try GramOperator(x.toCSC(), weights: nil, shift: 0)
        let shifted = try ClosureOperator(rows: 25, columns: 25, symmetric: true, positiveDefinite: true) { v, out in
            op.apply(v, into: out, transposed: false, accumulate: false)
            for i in 0..<25 { out[i] += d[i] * v[i] }
        }
        let result = try ConjugateGradient(options: KrylovOptions(relativeTolerance: tolerance, maxIterations: 10_000))
            .solve(shifted, try x.multiplyTransposed(y.scalars))
        return result.solution
    }

    func testForwardAndReverseAreAdjoint() throws {
        let (x, y) = (self.x, self.y)
        let solution = RootSolution(
            condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + hadamard(theta, w) },
            symmetricJacobian: true,
            solver: { theta in DifferentiableVector(try self.ridge(theta.scalars)) })
        var rng = SplitMix64(seed: 8)
        let theta = DifferentiableVector((0..<25).map { _ in 0.2 + rng.nextUniform() })
        let u = DifferentiableVector((0..<25).map { _ in rng.nextGaussian() })
        let v = DifferentiableVector((0..<25).map { _ in rng.nextGaussian() })
        let jv = try solution.sensitivity(at: theta, direction: v) { w, _, t in (0..<25).map { t[$0] * w[$0] } }.tangent
        let jtu = gradient(at: theta) { theta in dot(solution(theta), u) }
        let left = zip(u.scalars, jv).map(*).reduce(0, +)
        let right = dot(jtu, v)
        XCTAssertEqual(left, right, accuracy: 1e-9 * max(1, abs(left)))
    }

    func testEveryLinearSolveChoiceGivesTheSameHypergradient() throws {
        let data = try Datasets.textLike(rows: 250, columns: 60, nonzerosPerRow: 8, informative: 8, noise: 0.2, seed: 4)
        let split = try Datasets.split(rows: 250, validationFraction: 0.3, seed: 2)
        let xt = try data.features.selectingRows(split.train), xv = try data.features.selectingRows(split.validation)
        let yt = split.train.map { data.targets[$0] }, yv = split.validation.map { data.targets[$0] }
        let problem = try LassoProblem(design: xt, targets: yt, lambda: try LassoProblem.lambdaMax(design: xt, targets: yt) / 10,
                                       l1Ratio: 0.8)
        let w = problem.solve(tolerance: 1e-14).solution
        var values: [LinearSolveMethod: Double] = [:]
        for solver in LinearSolveMethod.allCases {
            let strategy = LinearSolveStrategy(solver, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 5_000))
            let result = try LassoAdjoint.compute(problem: problem, solution: w, validation: xv,
                                                       validationTargets: yv, strategy: strategy)
            // The automatic policy's small elastic-net support: the dense (definite) Gram matrix by LAPACK Cholesky.
            XCTAssertEqual(result.report?.method, solver == .automatic || solver == .dense ? "cholesky" : solver.rawValue)
            if solver == .automatic { XCTAssertTrue(result.report?.reason.contains("dense symmetric positive definite") ?? false) }
            values[solver] = result.gradient
        }
        let reference = values[.cholesky]!
        for (solver, value) in values {
            XCTAssertEqual(value, reference, accuracy: 1e-8 * max(abs(reference), 1e-6), solver.rawValue)
        }
    }

    /// Theorem 1: ‖J(x̂) − J(x*)‖ ≤ C‖x̂ − x*‖ — the derivative is as good as the solve.
    func testDerivativeErrorShrinksWithTheSolveError() throws {
        let (x, y) = (self.x, self.y)
        let theta = DifferentiableVector(repeating: 0.5, count: 25)
        let weights = DifferentiableVector((0..<25).map { cos(Double($0)) })
        func hypergradient(tolerance: Double) throws -> ([Double], [Double]) {
            let solution = RootSolution(
                condition: { w, theta in matvecTransposed(x, matvec(x, w) - y) + hadamard(theta, w) },
                symmetricJacobian: true,
                strategy: LinearSolveStrategy(options: KrylovOptions(relativeTolerance: 1e-14)),
                solver: { theta in DifferentiableVector(try self.ridge(theta.scalars, tolerance: tolerance)) })
            let g = gradient(at: theta) { theta in 0.5 * squaredNorm(solution(theta) - weights) }
            return (try self.ridge(theta.scalars, tolerance: tolerance), g.scalars)
        }
        let (xStar, gStar) = try hypergradient(tolerance: 1e-14)
        var ratios: [Double] = []
        var previous = Double.infinity
        for tolerance in [1e-2, 1e-4, 1e-6] {
            let (xHat, gHat) = try hypergradient(tolerance: tolerance)
            let solutionError = Vector.norm(zip(xHat, xStar).map { $0 - $1 })
            let derivativeError = Vector.norm(zip(gHat, gStar).map { $0 - $1 })
            XCTAssertLessThan(derivativeError, previous)
            previous = derivativeError
            if solutionError > 0 { ratios.append(derivativeError / solutionError) }
        }
        // A bounded constant C across three orders of magnitude of solution error.
        XCTAssertLessThan(ratios.max()! / ratios.min()!, 100, "ratios \(ratios)")
    }
}
