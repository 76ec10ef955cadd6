import _Differentiation
import XCTest
@testable import ImplicitSparse

/// ∂F/∂x assembled from a declared pattern by colored vector–Jacobian products, against the
/// closed form of a nonlinear condition on a power-law graph, and the hypergradient through it
/// against the matrix-free adjoint; a pattern that misses entries is refused.
final class SparseJacobianTests: XCTestCase {
    func testColoredJacobianOfANonlinearConditionOnAPowerLawGraph() throws {
        // F(x, θ) = (I + L) x + θ₀ exp(x) − b: ∂F/∂x = I + L + θ₀ diag(exp(x)), L a power-law
        // graph's Laplacian (heavy-tailed degrees: a hub's row is long).
        let graph = try WeightedGraph.powerLaw(nodes: 3_000, edges: 9_000, exponent: 2.2, seed: 12)
        let system = try graph.laplacian(scaledBy: 1, plusDiagonal: [Double](repeating: 1, count: 3_000))
        var random = SplitMix64(seed: 3)
        let b = DifferentiableVector((0..<3_000).map { _ in random.nextGaussian() })
        let condition: RootSolution<DifferentiableVector>.Condition = { x, theta in
            matvec(system, x) + scale(theta[0], exp(x)) - b
        }
        let jacobian = SparseJacobian(condition: condition, pattern: system)
        let longestRow = (0..<3_000).map { system.rowPointers[$0 + 1] - system.rowPointers[$0] }.max()!
        XCTAssertGreaterThanOrEqual(jacobian.coloring?.colorCount ?? 0, longestRow)
        XCTAssertLessThan(jacobian.coloring?.colorCount ?? .max, 3 * longestRow, "colors near the longest row")
        let x = DifferentiableVector((0..<3_000).map { _ in 0.3 * random.nextGaussian() })
        let theta = DifferentiableVector([0.7])
        let assembled = try jacobian.matrix(x, theta)
        // The closed form, entry by entry.
        for i in 0..<3_000 {
            for k in system.rowPointers[i]..<system.rowPointers[i + 1] {
                let j = Int(system.columnIndices[k])
                let expected = system.values[k] + (i == j ? 0.7 * Foundation.exp(x[i]) : 0)
                XCTAssertEqual(assembled.values[k], expected, accuracy: 1e-13 * max(1, abs(expected)))
            }
        }
        // The hypergradient through the assembled matrix (CHOLMOD by the policy) equals the
        // matrix-free one (CG on F's pullbacks).
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { w in 0.5 * squaredNorm(w) }
        let explicit = RootSolution<DifferentiableVector>(condition: condition, symmetricJacobian: true, dimension: 3_000,
                                                          jacobianPattern: system, solver: { _ in x })
        let minres = LinearSolveStrategy(solver: KrylovSolver(.minres, options: KrylovOptions(relativeTolerance: 1e-13)))
        let free = RootSolution<DifferentiableVector>(condition: condition, symmetricJacobian: true, strategy: minres, dimension: 3_000,
                                                      solver: { _ in x })
        let h1 = try explicit.hypergradient(at: theta, solution: x, loss: loss)
        let h2 = try free.hypergradient(at: theta, solution: x, loss: loss)
        XCTAssertEqual(h1.gradient[0], h2.gradient[0], accuracy: 1e-9 * abs(h2.gradient[0]))
        XCTAssertEqual(h1.jacobian?.source, .automaticSparse)
        XCTAssertEqual(h1.jacobian?.colors, explicit.sparseJacobian?.coloring?.colorCount)
        XCTAssertEqual(h1.jacobian?.symmetric, true, "declared symmetric: star coloring")
        XCTAssertLessThanOrEqual(h1.jacobian?.colors ?? .max, jacobian.coloring?.colorCount ?? 0)
        XCTAssertEqual(h1.report?.method, "cholesky", "the assembled matrix reaches a factorization through the policy")
        XCTAssertEqual(h2.jacobian?.source, .matrixFree)
        XCTAssertEqual(try explicit.sparseJacobian?.matrix(x, theta).values, assembled.values)

        // A pattern without the diagonal misses θ₀ exp(x): refused, not a wrong matrix.
        var builder = try COOBuilder(rows: 3_000, columns: 3_000)
        for i in 0..<3_000 {
            for k in system.rowPointers[i]..<system.rowPointers[i + 1] where Int(system.columnIndices[k]) != i {
                try builder.append(row: i, column: Int(system.columnIndices[k]), value: 1)
            }
        }
        let offDiagonal = SparseJacobian(condition: condition, pattern: builder.makeCSR())
        XCTAssertThrowsError(try offDiagonal.matrix(x, theta)) { error in
            XCTAssertTrue("\(error)".contains("pattern misses"), "\(error)")
        }
        let rectangular = SparseJacobian(condition: condition, pattern: try CSRMatrix.randomPowerLaw(rows: 4, columns: 5, nonzerosPerRow: 2, seed: 1))
        XCTAssertThrowsError(try rectangular.matrix(x, theta)) { error in XCTAssertTrue("\(error)".contains("square"), "\(error)") }
    }
}
