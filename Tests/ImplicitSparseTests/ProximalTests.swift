import _Differentiation
import XCTest
import ImplicitSparse

/// Prox operators and projections: values against their definitions, Jacobians (wrt the
/// point and the parameters) against central finite differences away from kinks.
final class ProximalTests: XCTestCase {
    var rng = SplitMix64(seed: 77)

    /// A point whose coordinates stay at least `margin` away from ±t (no kink within FD reach).
    func point(_ n: Int, avoiding t: Double, margin: Double = 0.05) -> DifferentiableVector {
        DifferentiableVector((0..<n).map { _ in
            var x = 0.0
            repeat { x = 2 * rng.nextGaussian() } while abs(abs(x) - t) < margin
            return x
        })
    }

    func direction(_ n: Int) -> DifferentiableVector { DifferentiableVector((0..<n).map { _ in rng.nextGaussian() }) }

    /// ⟨∇f(x), d⟩ against central differences.
    func check(_ name: String, _ x: DifferentiableVector, _ f: @escaping @differentiable(reverse) (DifferentiableVector) -> Double,
               file: StaticString = #filePath, line: UInt = #line) {
        let g = gradient(at: x, of: f).dense(count: x.count)
        for _ in 0..<3 {
            let d = direction(x.count), h = 1e-7
            let fd = (f(x + scale(h, d)) - f(x - scale(h, d))) / (2 * h)
            let ad = zip(g, d.scalars).map(*).reduce(0, +)
            XCTAssertEqual(ad, fd, accuracy: 1e-6 * max(1, abs(fd)), name, file: file, line: line)
        }
    }

    func testSoftThresholdingFamily() {
        let n = 12
        let v = point(n, avoiding: 0.5)
        let t = DifferentiableVector(repeating: 0.5, count: n)
        let w = direction(n)
        XCTAssertEqual(proxLasso(DifferentiableVector([2, -0.2, -3]), threshold: DifferentiableVector([0.5, 0.5, 1])).scalars, [1.5, 0, -2])
        XCTAssertEqual(proxNonNegativeLasso(DifferentiableVector([2, -3]), threshold: DifferentiableVector([0.5, 0.5])).scalars, [1.5, 0])
        check("lasso wrt v", v) { v in dot(proxLasso(v, threshold: t), w) }
        check("lasso wrt t", t) { t in dot(proxLasso(v, threshold: t), w) }
        let vPositive = point(n, avoiding: 0.5).scalars.map { abs($0) > 0.55 || abs($0) < 0.45 ? $0 : 2 }
        check("nn-lasso wrt v", DifferentiableVector(vPositive)) { v in dot(proxNonNegativeLasso(v, threshold: t), w) }
        let b = DifferentiableVector(repeating: 0.3, count: n)
        check("enet wrt v", v) { v in dot(proxElasticNet(v, l1: t, l2: b), w) }
        check("enet wrt l1", t) { a in dot(proxElasticNet(v, l1: a, l2: b), w) }
        check("enet wrt l2", b) { b in dot(proxElasticNet(v, l1: t, l2: b), w) }
        // Uniform (scalar) parameters: the same values and derivatives as the per-coordinate forms.
        XCTAssertEqual(proxLasso(v, threshold: 0.5).scalars, proxLasso(v, threshold: t).scalars)
        XCTAssertEqual(proxElasticNet(v, l1: 0.5, l2: 0.3).scalars,
                       proxElasticNet(v, l1: t, l2: DifferentiableVector(repeating: 0.3, count: n)).scalars)
        check("uniform lasso wrt v", v) { v in dot(proxLasso(v, threshold: 0.5), w) }
        check("uniform lasso wrt t", DifferentiableVector([0.5])) { t in dot(proxLasso(v, threshold: sum(t)), w) }
        check("uniform enet wrt v", v) { v in dot(proxElasticNet(v, l1: 0.5, l2: 0.3), w) }
        let e0 = DifferentiableVector([1, 0]), e1 = DifferentiableVector([0, 1])
        check("uniform enet wrt (a, b)", DifferentiableVector([0.5, 0.3])) { p in dot(proxElasticNet(v, l1: dot(p, e0), l2: dot(p, e1)), w) }
        check("ridge wrt v", v) { v in dot(proxRidge(v, b), w) }
        check("ridge wrt t", b) { b in dot(proxRidge(v, b), w) }
        // Elastic net with no l2 part is the lasso prox.
        XCTAssertEqual(proxElasticNet(v, l1: t, l2: .init(repeating: 0, count: n)), proxLasso(v, threshold: t))
    }

    func testGroupLasso() {
        let v = DifferentiableVector([3, -1, 2, 0.1, -0.2, 4, 1, -1, 2])
        let groups = [0..<3, 3..<5, 5..<9]
        let t = DifferentiableVector([1, 1, 1.5])
        let x = proxGroupLasso(v, groups: groups, threshold: t)
        XCTAssertEqual(x.scalars[3], 0)  // ‖(0.1, −0.2)‖ < 1: the group vanishes
        let n0 = (9.0 + 1 + 4).squareRoot()
        XCTAssertEqual(x.scalars[0], 3 * (1 - 1 / n0), accuracy: 1e-14)
        let w = direction(9)
        check("group wrt v", v) { v in dot(proxGroupLasso(v, groups: groups, threshold: t), w) }
        check("group wrt t", t) { t in dot(proxGroupLasso(v, groups: groups, threshold: t), w) }
    }

    func testProjections() {
        let v = DifferentiableVector([0.95, -0.4, 0.35, 1.7, -2.1, 0.05])
        let w = direction(6)
        let lower = [Double](repeating: -1, count: 6), upper = [Double](repeating: 1, count: 6)
        XCTAssertEqual(projectBox(v, lower: lower, upper: upper).scalars, [0.95, -0.4, 0.35, 1, -1, 0.05])
        check("box", v) { v in dot(projectBox(v, lower: lower, upper: upper), w) }
        check("non-negative", v) { v in dot(projectNonNegative(v), w) }
        let s = projectSimplex(v)
        XCTAssertEqual(s.scalars.reduce(0, +), 1, accuracy: 1e-14)
        XCTAssertTrue(s.scalars.allSatisfy { $0 >= 0 })
        check("simplex", v) { v in dot(projectSimplex(v), w) }
        let l1 = projectL1Ball(v, radius: 2)
        XCTAssertEqual(l1.scalars.map(abs).reduce(0, +), 2, accuracy: 1e-14)
        check("l1 ball", v) { v in dot(projectL1Ball(v, radius: 2), w) }
        XCTAssertEqual(projectL1Ball(v, radius: 100), v)
        let l2 = projectL2Ball(v, radius: 1.5)
        XCTAssertEqual(norm(l2), 1.5, accuracy: 1e-14)
        check("l2 ball", v) { v in dot(projectL2Ball(v, radius: 1.5), w) }
        XCTAssertEqual(projectL2Ball(v, radius: 10), v)
    }

    /// The block projection is the simplex projection of each block, value and pullback.
    func testSimplexBlocksProjectionIsTheProjectionOfEachBlock() {
        let v = DifferentiableVector([0.9, -0.3, 0.5, 2.0, 1.4, -1.0, 0.45, 0.46, 0.1])
        let g = DifferentiableVector([0.3, -1.2, 0.7, 0.1, 0.9, -0.4, 2.0, -0.5, 0.25])
        let (value, pullback) = valueWithPullback(at: v) { projectSimplexBlocks($0, blockSize: 3) }
        let back = pullback(g).dense(count: 9)
        for b in 0..<3 {
            let indices = Array(3 * b..<3 * b + 3)
            let (blockValue, blockPullback) = valueWithPullback(at: DifferentiableVector(indices.map { v[$0] })) { projectSimplex($0) }
            let blockBack = blockPullback(DifferentiableVector(indices.map { g[$0] })).dense(count: 3)
            for (k, i) in indices.enumerated() {
                XCTAssertEqual(value[i], blockValue[k], accuracy: 1e-15)
                XCTAssertEqual(back[i], blockBack[k], accuracy: 1e-15)
            }
            XCTAssertEqual(indices.map { value[$0] }.reduce(0, +), 1, accuracy: 1e-15)
        }
    }
}
