import _Differentiation
import XCTest
import ImplicitSparse

/// Every primitive's registered derivative against central finite differences in float64
/// (directional derivatives along random directions).
final class PrimitivesTests: XCTestCase {
    var rng = SplitMix64(seed: 2026)

    func randomVector(_ n: Int, positive: Bool = false) -> DifferentiableVector {
        DifferentiableVector((0..<n).map { _ in positive ? 0.2 + rng.nextUniform() : rng.nextGaussian() })
    }

    /// Checks ⟨∇f(x), d⟩ against (f(x + hd) − f(x − hd)) / 2h for three random directions.
    func checkGradient(_ name: String, at x: DifferentiableVector, tolerance: Double = 1e-6,
                       _ f: @escaping @differentiable(reverse) (DifferentiableVector) -> Double,
                       file: StaticString = #filePath, line: UInt = #line) {
        let g = gradient(at: x, of: f).dense(count: x.count)
        for _ in 0..<3 {
            let d = randomVector(x.count)
            let h = 1e-6
            let plus = f(x + scale(h, d)), minus = f(x - scale(h, d))
            let fd = (plus - minus) / (2 * h)
            let ad = zip(g, d.scalars).map(*).reduce(0, +)
            XCTAssertEqual(ad, fd, accuracy: tolerance * max(1, abs(fd)), "\(name): AD \(ad) vs FD \(fd)", file: file, line: line)
        }
    }

    func testArithmeticReductionsAndNorms() {
        let y = randomVector(7)
        let x = randomVector(7)
        checkGradient("hadamard·sum", at: x) { x in sum(hadamard(x, x)) }
        checkGradient(".*", at: x) { x in dot(x .* y, x) }
        checkGradient("dot", at: x) { x in dot(x, y) * dot(x, x) }
        checkGradient("scale/axpy", at: x) { x in squaredNorm(axpy(-2.5, x, y)) + dot(scale(3, x), y) }
        checkGradient("norm", at: x) { x in norm(x - y) }
        checkGradient("l1", at: x) { x in l1Norm(x) }
        checkGradient("sub/add", at: x) { x in squaredNorm((x + y) - scale(0.5, x)) }
        // Gradient with respect to a scalar of scale: ⟨g, x⟩.
        let (value, pullback) = valueWithPullback(at: 2.0) { (alpha: Double) in sum(scale(alpha, x)) }
        XCTAssertEqual(value, 2 * x.scalars.reduce(0, +), accuracy: 1e-12)
        XCTAssertEqual(pullback(1), x.scalars.reduce(0, +), accuracy: 1e-12)
    }

    /// The derivatives registered with respect to one argument only (scale with a constant α,
    /// x − constant) and the elementwise pullback with precomputed slopes, applied many times,
    /// as an adjoint Krylov solve applies them.
    func testOneSidedDerivativesAndRepeatedPullbacks() {
        let x = randomVector(9), y = randomVector(9)
        let n = 9.0
        checkGradient("scale(const)", at: x) { x in squaredNorm(scale(1 / n, x)) }
        checkGradient("x − const", at: x) { x in squaredNorm(x - y) }
        checkGradient("const − x", at: x) { x in squaredNorm(y - x) }
        checkGradient("logistic condition", at: x) { x in squaredNorm(scale(1 / n, sigmoid(x) - y) + scale(0.1, x)) }
        let (_, pullback) = valueWithPullback(at: x) { x in sigmoid(x) - y }
        let v = randomVector(9)
        let first = pullback(v).scalars
        for _ in 0..<3 { XCTAssertEqual(pullback(v).scalars, first) }
        for i in 0..<9 {
            let s = 1 / (1 + Foundation.exp(-x.scalars[i]))
            XCTAssertEqual(first[i], v.scalars[i] * s * (1 - s), accuracy: 1e-15)
        }
        // A zero cotangent (.zero, stored empty) pulls back to zeros of the right length.
        let (_, elementPullback) = valueWithPullback(at: x) { x in exp(x) }
        XCTAssertEqual(elementPullback(.zero).dense(count: 9), [Double](repeating: 0, count: 9))
    }

    func testElementwiseFunctions() {
        let x = randomVector(9)
        let positive = randomVector(9, positive: true)
        checkGradient("exp", at: x) { x in sum(exp(x)) }
        checkGradient("log", at: positive) { x in sum(log(x)) }
        checkGradient("log1p", at: positive) { x in sum(log1p(x)) }
        checkGradient("sigmoid", at: x) { x in dot(sigmoid(x), x) }
        checkGradient("softplus", at: scale(30, x)) { x in sum(softplus(x)) }  // large |x|: no overflow
        checkGradient("maximum", at: x) { x in squaredNorm(maximum(x, 0.1)) }
        XCTAssertTrue(softplus(DifferentiableVector([800, -800])).scalars.allSatisfy(\.isFinite))
        XCTAssertTrue(sigmoid(DifferentiableVector([800, -800])).scalars.allSatisfy(\.isFinite))
    }

    func testSparseProductsGatherAndScatter() throws {
        let a = try CSRMatrix.randomPowerLaw(rows: 12, columns: 9, nonzerosPerRow: 3, seed: 4)
        let pattern = SparsePattern(a)
        let x = randomVector(9), values = DifferentiableVector(a.values), z = randomVector(12)
        checkGradient("matvec wrt x", at: x) { x in squaredNorm(matvec(a, x)) }
        checkGradient("matvec pattern wrt x", at: x) { x in dot(matvec(pattern, values, x), z) }
        checkGradient("matvec pattern wrt values", at: values) { v in squaredNorm(matvec(pattern, v, x)) }
        checkGradient("matvecTransposed", at: z) { z in squaredNorm(matvecTransposed(a, z)) }
        let support = [1, 4, 5, 8]
        checkGradient("gather", at: x) { x in squaredNorm(gather(x, support)) }
        checkGradient("scatter", at: gather(x, support)) { v in dot(scatter(v, support, count: 9), x) }
        // Both arguments at once.
        let (gv, gx) = gradient(at: values, x) { v, x in sum(matvec(pattern, v, x)) }
        // ∂/∂x Σ(Ax) = Aᵀ1 ; ∂/∂a_k = x[column k].
        let expected = try a.multiplyTransposed([Double](repeating: 1, count: 12))
        for j in 0..<9 { XCTAssertEqual(gx.scalars[j], expected[j], accuracy: 1e-12) }
        for k in 0..<a.nonzeroCount { XCTAssertEqual(gv.scalars[k], x.scalars[Int(a.columnIndices[k])], accuracy: 1e-12) }
    }

    func testComposedLogisticLossMatchesClosedForm() throws {
        // f(w) = Σ softplus(Xw) − yᵀXw + (λ/2)‖w‖²: ∇f = Xᵀ(σ(Xw) − y) + λw.
        let x = try CSRMatrix.randomPowerLaw(rows: 40, columns: 15, nonzerosPerRow: 4, seed: 7)
        let y = DifferentiableVector((0..<40).map { Double($0 % 2) })
        let w = randomVector(15)
        let lambda = 0.3
        let g = gradient(at: w) { w in
            sum(softplus(matvec(x, w))) - dot(y, matvec(x, w)) + 0.5 * lambda * squaredNorm(w)
        }
        let margins = try x.multiply(w.scalars)
        let residual = zip(margins, y.scalars).map { 1 / (1 + Foundation.exp(-$0.0)) - $0.1 }
        let closed = try x.multiplyTransposed(residual).enumerated().map { $0.element + lambda * w.scalars[$0.offset] }
        for j in 0..<15 { XCTAssertEqual(g.scalars[j], closed[j], accuracy: 1e-12) }
    }

    /// `DesignMatrix` products (gathers both ways) equal the CSR ones, values and pullbacks.
    func testDesignMatrixProductsMatchCSR() throws {
        let x = try CSRMatrix.randomPowerLaw(rows: 50, columns: 20, nonzerosPerRow: 4, seed: 17)
        let design = DesignMatrix(x)
        let both = try DesignMatrix(rowMajor: x, columnMajor: x.toCSC())
        let w = randomVector(20), r = DifferentiableVector((0..<50).map { sin(Double($0)) })
        for d in [design, both] {
            XCTAssertEqual(matvec(d, w).scalars, try x.multiply(w.scalars))
            let t1 = matvecTransposed(d, r).scalars, t2 = try x.multiplyTransposed(r.scalars)
            for j in 0..<20 { XCTAssertEqual(t1[j], t2[j], accuracy: 1e-13) }
            let g1 = gradient(at: w) { w in squaredNorm(matvecTransposed(d, matvec(d, w) - r)) }
            let g2 = gradient(at: w) { w in squaredNorm(matvecTransposed(x, matvec(x, w) - r)) }
            for j in 0..<20 { XCTAssertEqual(g1[j], g2[j], accuracy: 1e-11 * max(1, abs(g2[j]))) }
        }
        XCTAssertThrowsError(try DesignMatrix(rowMajor: x, columnMajor: try x.selectingColumns([0, 1]).toCSC()))
    }
}
import Foundation
