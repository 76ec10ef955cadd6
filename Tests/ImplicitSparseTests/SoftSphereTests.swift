import XCTest
import Sparse
@testable import Preconditioners
@testable import ImplicitSparse

/// The soft-sphere packing of `isparse paper md`: the minimum's certificate (‖∇E‖), the
/// Hessian against differences of the gradient, and dx*/dθ against central finite
/// differences of the minimizer (re-minimized at θ ± h), with rattlers present.
final class SoftSphereTests: XCTestCase {
    func testSensitivityMatchesFiniteDifferences() throws {
        for (count, seed) in [(64, UInt64(1)), (400, UInt64(2))] {
            let packing = try SoftSpherePacking(count: count, packingFraction: 0.9)
            let minimum = try packing.minimize(from: packing.randomPositions(seed: seed), theta: 1)
            XCTAssertLessThan(minimum.gradientNorm, 1e-11, "N = \(count): the minimum's gradient")
            XCTAssertGreaterThan(minimum.energy, 0, "above jamming the packing keeps overlaps")
            let sensitivity = try packing.sensitivity(at: minimum.positions, theta: 1)
            XCTAssertLessThan(sensitivity.residual, 1e-10)
            let fd = try packing.finiteDifference(at: minimum.positions, theta: 1)
            XCTAssertFalse(fd.contactsChanged, "N = \(count): a smooth point")
            let difference = zip(fd.derivative, sensitivity.derivative).map { $0 - $1 }
            let relative = Vector.norm(difference) / Vector.norm(fd.derivative)
            XCTAssertLessThan(relative, 1e-5, "N = \(count): implicit against finite differences, \(sensitivity.rattlers) rattlers")
        }
    }

    func testHessianIsTheGradientsDerivative() throws {
        let packing = try SoftSpherePacking(count: 100, packingFraction: 0.92)
        let x = try packing.minimize(from: packing.randomPositions(seed: 5), theta: 1).positions
        let list = packing.pairs(x, theta: 1, skin: 0.3)
        let system = try packing.reducedHessian(x, theta: 1, pairs: list)
        var random = SplitMix64(seed: 8)
        let direction = system.coordinates.map { _ in random.nextGaussian() }
        let h = 1e-6
        var plus = x, minus = x
        for (k, c) in system.coordinates.enumerated() { plus[c] += h * direction[k]; minus[c] -= h * direction[k] }
        var gp = [Double](repeating: 0, count: x.count), gm = gp
        _ = packing.energy(plus, theta: 1, pairs: list, gradient: &gp)
        _ = packing.energy(minus, theta: 1, pairs: list, gradient: &gm)
        let fd = system.coordinates.map { (gp[$0] - gm[$0]) / (2 * h) }
        let product = try system.matrix.multiply(direction)
        XCTAssertLessThan(Vector.norm(zip(fd, product).map { $0 - $1 }) / Vector.norm(fd), 1e-6)
        // ∂F/∂θ against a difference of the gradient in θ, on the non-rattlers' coordinates.
        let b = packing.conditionThetaDerivative(x, theta: 1, pairs: list, rattler: system.rattler)
        var gThetaPlus = gp, gThetaMinus = gm
        _ = packing.energy(x, theta: 1 + h, pairs: list, gradient: &gThetaPlus)
        _ = packing.energy(x, theta: 1 - h, pairs: list, gradient: &gThetaMinus)
        for c in system.coordinates {
            let i = c / 2
            // Coordinates of particles touching a rattler are left out (those contacts are excluded by design).
            let touchesRattler = list.contains { (Int($0.0) == i && system.rattler[Int($0.1)]) || (Int($0.1) == i && system.rattler[Int($0.0)]) }
            if touchesRattler { continue }
            XCTAssertEqual(b[c], (gThetaPlus[c] - gThetaMinus[c]) / (2 * h), accuracy: 1e-6 * max(1, abs(b[c])))
        }
    }

    func testBadArgumentsAreRefused() {
        XCTAssertThrowsError(try SoftSpherePacking(count: 3))
        XCTAssertThrowsError(try SoftSpherePacking(count: 100, packingFraction: 0.3))
        XCTAssertThrowsError(try SoftSpherePacking(count: 10).minimize(from: [1, 2], theta: 1))
    }

    /// The automatic policy's Jacobi-CG probe on a jammed packing's Hessian (ill-conditioned:
    /// near-zero modes): its predicted iteration count must be within a factor 2 of what CG
    /// then needs. The whole-probe rate predicted 453 where CG took 1 013 (and chose CG at 10⁵
    /// particles, 13× slower than CHOLMOD); the second half's rate predicts 603.
    func testPolicyProbeDoesNotFlatterTheJammedHessian() throws {
        let packing = try SoftSpherePacking(count: 1_500, packingFraction: 0.86)
        let x = try packing.minimize(from: packing.randomPositions(seed: 4), theta: 1).positions
        let system = try packing.reducedHessian(x, theta: 1, pairs: packing.pairs(x, theta: 1, skin: 0.3))
        let matrix = system.matrix.declaringSymmetric()
        let policy = AutomaticLinearSolver(options: KrylovOptions(relativeTolerance: 1e-10), smallDirectNonzeros: 0)
        let predicted = try XCTUnwrap(policy.probe(matrix)).iterations
        let diagonal = try XCTUnwrap(matrix.diagonal)
        var random = SplitMix64(seed: 0x9e37_79b9)
        let b = (0..<matrix.rows).map { _ in random.nextUniform() - 0.5 }
        let result = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-10, maxIterations: 100_000))
            .solve(matrix, b, preconditioner: try JacobiPreconditioner(diagonal: diagonal))
        XCTAssertEqual(result.status, .converged)
        print("probe predicted \(predicted), CG took \(result.iterations)")
        XCTAssertGreaterThan(Double(predicted), Double(result.iterations) / 2, "predicted \(predicted), CG took \(result.iterations)")
    }
}
