import _Differentiation
import XCTest
@testable import ImplicitSparse

/// The pair-interaction primitive: forces = ∇ of the energy (central differences), its pullback
/// = the Hessian-vector product and ∂F/∂σ (central differences of the forces), in 2-D and 3-D,
/// periodic and open, harmonic and Hertzian; its detected pattern exact; and the soft-sphere
/// Hessian by the automatic route (detected pattern, star coloring) equal to the hand-written
/// one, with equal sensitivities.
final class PairInteractionTests: XCTestCase {
    /// Random particles in a box with the pairs closer than 1.2·σ̄ (some in contact, some not).
    func instance(particles: Int, dimension: Int, periodic: Bool, potential: PairInteraction.Potential, seed: UInt64) throws
        -> (DifferentiableVector, DifferentiableVector, PairInteraction) {
        var random = SplitMix64(seed: seed)
        let side = 4.0
        let x = (0..<(particles * dimension)).map { _ in random.nextUniform() * side }
        var pairs: [(Int32, Int32)] = []
        for i in 0..<particles {
            for j in (i + 1)..<particles {
                var r2 = 0.0
                for c in 0..<dimension {
                    var d = x[dimension * i + c] - x[dimension * j + c]
                    if periodic { d -= side * (d / side).rounded() }
                    r2 += d * d
                }
                if r2 < 1.44 { pairs.append((Int32(i), Int32(j))) }
            }
        }
        let sigma = pairs.map { _ in 0.8 + 0.4 * random.nextUniform() }
        let interaction = try PairInteraction(particles: particles, dimension: dimension, pairs: pairs,
                                              periodicSide: periodic ? side : nil, potential: potential)
        return (DifferentiableVector(x), DifferentiableVector(sigma), interaction)
    }

    func testForcesHessianProductsAndSigmaDerivativesAgainstFiniteDifferences() throws {
        for (dimension, periodic, potential, seed) in [(2, true, PairInteraction.Potential.harmonic, UInt64(1)), (3, false, .hertzian, 2),
                                                        (2, false, .hertzian, 3), (3, true, .harmonic, 4)] {
            let name = "\(dimension)-D \(periodic ? "periodic" : "open") \(potential)"
            let (x, sigma, interaction) = try instance(particles: 30, dimension: dimension, periodic: periodic, potential: potential, seed: seed)
            XCTAssertGreaterThan(interaction.pairs.count, 10, name)
            let forces = pairForces(x, sigma, interaction)
            let h = 1e-6
            var random = SplitMix64(seed: seed + 10)
            let v = DifferentiableVector((0..<x.count).map { _ in random.nextGaussian() })
            let w = DifferentiableVector((0..<sigma.count).map { _ in random.nextGaussian() })
            // ∇E · v against a central difference of E along v.
            let fdEnergy = (pairEnergy(x + scale(h, v), sigma, interaction) - pairEnergy(x - scale(h, v), sigma, interaction)) / (2 * h)
            XCTAssertEqual(dot(forces, v), fdEnergy, accuracy: 1e-7 * max(1, abs(fdEnergy)), name)
            // The pullback: H v (H symmetric) against a central difference of the forces, and
            // (∂F/∂σ)ᵀ g · w against the forces' difference along w.
            let (_, pullback) = valueWithPullback(at: x, sigma) { a, b in pairForces(a, b, interaction) }
            let (hv, _) = pullback(v)
            let fdForces = (pairForces(x + scale(h, v), sigma, interaction) - pairForces(x - scale(h, v), sigma, interaction)).scalars.map { $0 / (2 * h) }
            XCTAssertLessThan(Vector.norm(zip(hv.scalars, fdForces).map { $0 - $1 }), 1e-6 * max(1, Vector.norm(fdForces)), name)
            let g = DifferentiableVector((0..<x.count).map { _ in random.nextGaussian() })
            let (_, dSigma) = pullback(g)
            let fdSigma = dot(g, pairForces(x, sigma + scale(h, w), interaction) - pairForces(x, sigma - scale(h, w), interaction)) / (2 * h)
            XCTAssertEqual(dot(dSigma, w), fdSigma, accuracy: 1e-6 * max(1, abs(fdSigma)), name)
            // The energy's pullback in σ.
            let (_, energyPullback) = valueWithPullback(at: x, sigma) { a, b in pairEnergy(a, b, interaction) }
            let fdEnergySigma = (pairEnergy(x, sigma + scale(h, w), interaction) - pairEnergy(x, sigma - scale(h, w), interaction)) / (2 * h)
            XCTAssertEqual(dot(energyPullback(1).1, w), fdEnergySigma, accuracy: 1e-7 * max(1, abs(fdEnergySigma)), name)

            // The detected pattern of ∂F/∂x is exactly the structural one of the dense Jacobian
            // when every listed pair is in contact (σ larger than every listed distance).
            let touching = DifferentiableVector([Double](repeating: 1.25, count: sigma.count))
            let pattern = try SparsityDetection.jacobianPattern(of: { (a: DifferentiableVector, _: Double) in pairForces(a, touching, interaction) },
                                                                at: x, 0.0)
            let (_, dense) = valueWithPullback(at: x) { a in pairForces(a, touching, interaction) }
            var truth = 0
            for i in 0..<x.count {
                var e = [Double](repeating: 0, count: x.count)
                e[i] = 1
                let column = dense(DifferentiableVector(e)).scalars   // H symmetric: row i
                let row = Set((pattern.rowPointers[i]..<pattern.rowPointers[i + 1]).map { Int(pattern.columnIndices[$0]) })
                for j in 0..<x.count where column[j] != 0 || i == j {   // the diagonal is always in the pattern
                    truth += 1
                    XCTAssertTrue(row.contains(j), "\(name): the pattern misses (\(i), \(j))")
                }
            }
            XCTAssertEqual(pattern.nonzeroCount, truth, "\(name): the detected pattern is exact")
        }
        XCTAssertThrowsError(try PairInteraction(particles: 3, pairs: [(0, 3)]))
        XCTAssertThrowsError(try PairInteraction(particles: 3, pairs: [(1, 1)]))
        XCTAssertThrowsError(try PairInteraction(particles: 3, dimension: 4, pairs: []))
        XCTAssertThrowsError(try PairInteraction(particles: 3, pairs: [], periodicSide: -1))
    }

    /// The soft-sphere packing's reduced Hessian by both routes, equal to 1e-12 relative, and
    /// the sensitivities dx*/dθ equal to 1e-12 relative (the automatic route's ∂F/∂θ comes from
    /// the automatic ∂F/∂σ, one σ per contact).
    func testSoftSphereHessianByBothRoutes() throws {
        for (count, seed) in [(400, UInt64(2)), (2_000, UInt64(3))] {
            let packing = try SoftSpherePacking(count: count, packingFraction: 0.9)
            let x = try packing.minimize(from: packing.randomPositions(seed: seed), theta: 1).positions
            let list = packing.pairs(x, theta: 1, skin: 0)
            let hand = try packing.reducedHessian(x, theta: 1, pairs: list)
            let automatic = try packing.automaticHessian(x, theta: 1, pairs: list)
            XCTAssertEqual(automatic.coordinates, hand.coordinates)
            XCTAssertEqual(automatic.matrix.rowPointers, hand.matrix.rowPointers, "N = \(count): one pattern")
            XCTAssertEqual(automatic.matrix.columnIndices, hand.matrix.columnIndices, "N = \(count): one pattern")
            let scale = hand.matrix.values.map(abs).max()!
            let worst = zip(automatic.matrix.values, hand.matrix.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-12 * scale, "N = \(count)")
            let summary = automatic.jacobian.summary
            XCTAssertEqual(summary.symmetric, true)
            print("N = \(count): \(summary); Hessian difference \(worst / scale) relative")
            let byHand = try packing.sensitivity(at: x, theta: 1, hessian: .hand)
            let byAutomatic = try packing.sensitivity(at: x, theta: 1, hessian: .automatic)
            let difference = Vector.norm(zip(byHand.derivative, byAutomatic.derivative).map { $0 - $1 }) / Vector.norm(byHand.derivative)
            print("N = \(count): sensitivities differ by \(difference) relative; residuals \(byHand.residual), \(byAutomatic.residual)")
            XCTAssertLessThan(difference, 1e-12, "N = \(count)")
            XCTAssertEqual(byAutomatic.jacobian?.source, .automaticSparse)
            XCTAssertLessThan(byAutomatic.residual, 1e-9)
        }
    }
}
