import _Differentiation
import XCTest
import ImplicitSparse

/// Support reduction derived from the prox's Jacobian pattern (`ProximalFixedPoint`) against
/// the full-size implicit system of F = T − x (GMRES on all p unknowns, no reduction) for
/// several separable penalties, and against central finite differences.
final class ProximalFixedPointTests: XCTestCase {
    let x = try! CSRMatrix.randomPowerLaw(rows: 90, columns: 25, nonzerosPerRow: 6, seed: 21)
    let xv = try! CSRMatrix.randomPowerLaw(rows: 40, columns: 25, nonzerosPerRow: 6, seed: 22)
    lazy var y = DifferentiableVector(try! x.multiply((0..<25).map { $0 % 4 == 0 ? Double($0 % 7) - 3 : 0 })
        .enumerated().map { $0.element + 0.1 * sin(Double($0.offset)) })
    lazy var yv = DifferentiableVector((0..<40).map { cos(Double($0)) })

    /// A separable penalty, and θ for it.
    enum Penalty: CaseIterable {
        case lasso, nonNegativeLasso, elasticNet, weightedLasso
        /// The elastic net's ridge part in f instead of the prox: f depends on θ.
        case elasticNetRidgeInF
        /// Five groups of five: a block-diagonal prox Jacobian.
        case groupLasso

        static let groups = (0..<5).map { $0 * 5..<($0 + 1) * 5 }

        var pattern: ProxJacobianPattern { self == .groupLasso ? .blocks(Self.groups) : .diagonal }

        func theta(_ lambda: Double) -> DifferentiableVector {
            self == .weightedLasso ? DifferentiableVector((0..<25).map { lambda * (0.5 + Double($0 % 5) / 4) })
                                   : DifferentiableVector([lambda])
        }

        /// The prox for a step s, differentiable in (v, θ).
        func prox(_ s: Double) -> VectorProximalFixedPoint.Prox {
            let ones = DifferentiableVector(repeating: 1, count: 25)
            switch self {
            case .lasso: return { v, theta in proxLasso(v, threshold: scale(s * sum(theta), ones)) }
            case .nonNegativeLasso: return { v, theta in proxNonNegativeLasso(v, threshold: scale(s * sum(theta), ones)) }
            case .elasticNet:
                return { v, theta in proxElasticNet(v, l1: scale(0.7 * s * sum(theta), ones), l2: scale(0.3 * s * sum(theta), ones)) }
            case .weightedLasso: return { v, theta in proxLasso(v, threshold: scale(s, theta)) }
            case .elasticNetRidgeInF: return { v, theta in proxLasso(v, threshold: scale(0.7 * s * sum(theta), ones)) }
            case .groupLasso:
                let groupOnes = DifferentiableVector(repeating: 1, count: 5)
                return { v, theta in proxGroupLasso(v, groups: Self.groups, threshold: scale(2 * s * sum(theta), groupOnes)) }
            }
        }
    }

    func testReducedSystemEqualsFullSizeSystemAndFiniteDifferences() throws {
        let (x, y, xv, yv) = (self.x, self.y, self.xv, self.yv)
        let n = Double(x.rows)
        func gradientOfF(_ penalty: Penalty) -> VectorProximalFixedPoint.Gradient {
            if penalty == .elasticNetRidgeInF {
                return { w, theta in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) + scale(0.3 * sum(theta), w) }
            }
            return { w, _ in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) }
        }
        let lipschitz = try LassoProblem(design: x, targets: y.scalars, lambda: 1).lipschitzEstimate(iterations: 50)
        let eta = 0.9 / lipschitz
        let lambda = try LassoProblem.lambdaMax(design: x, targets: y.scalars) / 40
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in squaredNorm(matvec(xv, w) - yv) / 40 }
        for penalty in Penalty.allCases {
            let theta = penalty.theta(lambda)
            let name = "\(penalty)"
            // The inner solver: FISTA to a fixed-point residual of 1e-14 (outside AD).
            func solve(_ theta: DifferentiableVector) -> [Double] {
                var options = ProximalGradient.Options()
                options.tolerance = 1e-14
                options.maxIterations = 200_000
                options.initialStep = eta
                let result = ProximalGradient(options: options).minimize(
                    from: [Double](repeating: 0, count: 25),
                    smooth: { w in
                        let r = zip(try! x.multiply(w), y.scalars).map { $0 - $1 }
                        let ridge = penalty == .elasticNetRidgeInF ? 0.3 * theta[0] : 0
                        return (r.reduce(0) { $0 + $1 * $1 } / (2 * n) + ridge / 2 * w.reduce(0) { $0 + $1 * $1 },
                                zip(try! x.multiplyTransposed(r), w).map { $0 / n + ridge * $1 })
                    },
                    prox: { v, s in let p = penalty.prox(s); return p(DifferentiableVector(v), theta).scalars },
                    penalty: { _ in 0 })
                XCTAssertTrue(result.converged, name)
                return result.solution
            }
            let fixedPoint = try VectorProximalFixedPoint(gradient: gradientOfF(penalty), prox: penalty.prox(eta), step: eta,
                                                    strategy: LinearSolveStrategy(options: KrylovOptions(relativeTolerance: 1e-13)),
                                                    smoothDependsOnTheta: penalty == .elasticNetRidgeInF, pattern: penalty.pattern)
            let w = solve(theta)
            let reduced = try fixedPoint.hypergradient(at: DifferentiableVector(w), theta: theta, loss: loss)
            // The support comes from the prox's Jacobian: here it is the set of nonzeros.
            XCTAssertEqual(reduced.reduction.support, (0..<25).filter { w[$0] != 0 }, name)
            if penalty == .groupLasso {
                XCTAssertTrue(reduced.reduction.blocks.allSatisfy { $0.count == 5 }, "whole groups")
                // Declared diagonal, the group-lasso prox is refused, not silently mistreated.
                let wrong = try VectorProximalFixedPoint(gradient: gradientOfF(penalty), prox: penalty.prox(eta), step: eta)
                XCTAssertThrowsError(try wrong.reduction(at: DifferentiableVector(w), theta: theta)) { error in
                    XCTAssertTrue("\(error)".contains("pattern"), "\(error)")
                }
            }
            XCTAssertGreaterThan(reduced.reduction.support.count, 2, name)
            XCTAssertLessThan(reduced.reduction.support.count, 25, name)
            XCTAssertLessThan(reduced.reduction.fixedPointResidual, 1e-12, name)
            // Oracle 1: the full-size system through RootSolution (GMRES on p unknowns).
            let full = fixedPoint.fullSolution(strategy: LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-13)),
                                               solver: { theta in DifferentiableVector(solve(theta)) })
            let fullResult = try full.hypergradient(at: theta, loss: loss)
            let scaleOfG = max(norm(fullResult.gradient), 1e-8)
            XCTAssertLessThan(norm(reduced.gradient - fullResult.gradient) / scaleOfG, 1e-8, name)
            // Oracle 2: central differences of the whole pipeline along a direction of θ.
            let direction = DifferentiableVector((0..<theta.count).map { 1 + 0.1 * Double($0 % 3) })
            let h = 1e-6 * lambda
            let lossPlus = loss(DifferentiableVector(solve(theta + scale(h, direction))))
            let lossMinus = loss(DifferentiableVector(solve(theta - scale(h, direction))))
            let fd = (lossPlus - lossMinus) / (2 * h)
            XCTAssertEqual(dot(reduced.gradient, direction), fd, accuracy: 1e-6 * max(abs(fd), 1e-3), name)
        }
    }

    func testEmptySupportGivesZeroAndBadInputsAreTyped() throws {
        let (x, y) = (self.x, self.y)
        let n = Double(x.rows)
        let ones = DifferentiableVector(repeating: 1, count: 25)
        let fixedPoint = try VectorProximalFixedPoint(
            gradient: { w, _ in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) },
            prox: { v, theta in proxLasso(v, threshold: scale(sum(theta), ones)) }, step: 1)
        // Above λ_max the solution is 0 and the prox's Jacobian vanishes: the derivative is 0.
        let lambdaMax = try LassoProblem.lambdaMax(design: x, targets: y.scalars)
        let zero = DifferentiableVector(repeating: 0, count: 25)
        let result = try fixedPoint.hypergradient(at: zero, theta: DifferentiableVector([2 * lambdaMax])) { w in squaredNorm(w - ones) }
        XCTAssertEqual(result.reduction.support, [])
        XCTAssertEqual(result.gradient.scalars, [0])
        XCTAssertThrowsError(try fixedPoint.hypergradient(at: zero, theta: DifferentiableVector([.nan])) { w in squaredNorm(w) })
        XCTAssertThrowsError(try VectorProximalFixedPoint(gradient: { w, _ in w }, prox: { v, _ in v }, step: 0))
        // A prox that is not nonexpansive (it doubles its input) is refused, naming the coordinate.
        let bad = try VectorProximalFixedPoint(gradient: { w, _ in w }, prox: { v, _ in scale(2, v) }, step: 1)
        XCTAssertThrowsError(try bad.reduction(at: ones, theta: DifferentiableVector([1]))) { error in
            XCTAssertTrue("\(error)".contains("coordinate 0") && "\(error)".contains("nonexpansive"), "\(error)")
        }
        // Overlapping or empty blocks are refused at construction.
        XCTAssertThrowsError(try VectorProximalFixedPoint(gradient: { w, _ in w }, prox: { v, _ in v }, step: 1, pattern: .blocks([0..<3, 2..<4])))
        XCTAssertThrowsError(try VectorProximalFixedPoint(gradient: { w, _ in w }, prox: { v, _ in v }, step: 1, pattern: .blocks([0..<0])))
    }
}

/// One named hyperparameter (a struct θ through `ProximalFixedPoint`).
struct RidgeStrength: Differentiable {
    var logLambda: Double
}

/// Fused groups: isotonic (monotone) ridge regression, whose projection averages over pooled
/// blocks found at the solution — the reduced system has one unknown per block.
final class FusedGroupReductionTests: XCTestCase {
    func testIsotonicRegressionReducesToPooledBlocks() throws {
        let n = 60, m = 90
        var random = SplitMix64(seed: 77)
        var builder = try COOBuilder(rows: m, columns: n)
        for i in 0..<m { for j in 0..<n where random.nextUniform() < 0.15 { try builder.append(row: i, column: j, value: random.nextUniform() - 0.2) } }
        let a = builder.makeCSR()
        // A target from a step function: many coordinates pool at the solution.
        let truth = (0..<n).map { Double($0 / 12) }
        let y = DifferentiableVector(try a.multiply(truth).map { $0 + 0.3 * (random.nextUniform() - 0.5) })
        let aCSC = a.toCSC()
        let lipschitz = try { () throws -> Double in
            var v = [Double](repeating: 1, count: n), estimate = 0.0
            for _ in 0..<50 { let w = try aCSC.multiplyTransposed(try a.multiply(v)); estimate = Vector.norm(w); v = w.map { $0 / estimate } }
            return estimate
        }()
        func solve(_ theta: RidgeStrength) throws -> DifferentiableVector {
            let lambda = Foundation.exp(theta.logLambda)
            var options = ProximalGradient.Options()
            options.tolerance = 1e-13
            options.maxIterations = 200_000
            options.initialStep = 1 / (lipschitz + lambda)
            let result = ProximalGradient(options: options).minimize(
                from: [Double](repeating: 0, count: n),
                smooth: { w in
                    let r = zip(try! a.multiply(w), y.scalars).map { $0 - $1 }
                    let g = try! a.multiplyTransposed(r)
                    return (0.5 * Vector.dot(r, r) + 0.5 * lambda * Vector.dot(w, w), zip(g, w).map { $0 + lambda * $1 })
                },
                prox: { v, _ in projectIsotonic(DifferentiableVector(v)).scalars },
                penalty: { _ in 0 })
            XCTAssertTrue(result.converged)
            return DifferentiableVector(result.solution)
        }
        let eta = 1 / (lipschitz + 1)
        let fixedPoint = try ProximalFixedPoint<RidgeStrength>(
            gradient: { w, theta in matvecTransposed(a, matvec(a, w) - y) + scale(Foundation.exp(theta.logLambda), w) },
            prox: { v, _ in projectIsotonic(v) },
            step: eta, pattern: .fusedGroups(edges: ProxJacobianPattern.chain(count: n)))
        let theta = RidgeStrength(logLambda: Foundation.log(0.5))
        let x = try solve(theta)
        let weights = DifferentiableVector((0..<n).map { Double($0 % 5) + 1 })
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in dot(weights, w .* w) }
        let (_, reduced, reduction) = try fixedPoint.hypergradient(at: x, theta: theta, loss: loss)
        XCTAssertTrue(reduction.fusedGroups)
        XCTAssertLessThan(reduction.blocks.count, n / 2, "the solution should pool into few blocks")
        XCTAssertEqual(reduction.support.count, n)
        // Oracle 1: the full-size fixed point F = T − x by GMRES, same θ struct.
        let full = fixedPoint.fullSolution(strategy: LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: 1e-13)),
                                           solver: solve)
        let fullResult = try full.hypergradient(at: theta, solution: x, loss: loss)
        XCTAssertEqual(reduced.logLambda, fullResult.gradient.logLambda, accuracy: 1e-8 * abs(fullResult.gradient.logLambda))
        // Oracle 2: a central difference in log λ (the blocks do not change within ±h).
        let h = 1e-5
        let fd = (loss(try solve(RidgeStrength(logLambda: theta.logLambda + h)))
                  - loss(try solve(RidgeStrength(logLambda: theta.logLambda - h)))) / (2 * h)
        XCTAssertEqual(reduced.logLambda, fd, accuracy: 1e-5 * abs(fd))
        // Inside Swift AD, through the reduced pullback.
        let solution = fixedPoint.solution(solver: solve)
        let g = try solution.checked { gradient(at: theta) { t in loss(solution(t)) } }
        XCTAssertEqual(g.logLambda, reduced.logLambda, accuracy: 1e-10 * abs(reduced.logLambda))
        // A prox that does not average over the declared groups is refused.
        let wrong = try ProximalFixedPoint<RidgeStrength>(
            gradient: { w, theta in matvecTransposed(a, matvec(a, w) - y) + scale(Foundation.exp(theta.logLambda), w) },
            prox: { v, _ in scale(0.5, v) }, step: eta, pattern: .fusedGroups(edges: ProxJacobianPattern.chain(count: n)))
        XCTAssertThrowsError(try wrong.reduction(at: x, theta: theta))
    }
}
