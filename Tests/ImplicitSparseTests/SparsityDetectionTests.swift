import _Differentiation
import XCTest
@testable import ImplicitSparse

/// Sparsity detection from the primitives (issue 29): on random instances the detected
/// pattern of ∂F/∂x equals the structural pattern of the dense Jacobian computed by reverse mode
/// (n pullbacks), diagonal included; conditions that couple x densely are refused naming the
/// primitive; a condition that drops the trace is caught at the first evaluation; and a
/// user-written condition with `jacobian: .automaticSparse` is differentiated through CHOLMOD
/// and through CG + AMG against central finite differences.
final class SparsityDetectionTests: XCTestCase {
    /// The dense ∂F/∂x by n pullbacks (row i = Jᵀeᵢ… column by column of Jᵀ).
    func denseJacobian(_ f: @escaping @differentiable(reverse) (DifferentiableVector) -> DifferentiableVector,
                       at x: DifferentiableVector) -> [[Double]] {
        let (value, pullback) = valueWithPullback(at: x, of: f)
        var jacobian = [[Double]](repeating: [Double](repeating: 0, count: x.count), count: value.count)
        for i in 0..<value.count {
            var e = [Double](repeating: 0, count: value.count)
            e[i] = 1
            jacobian[i] = pullback(DifferentiableVector(e)).dense(count: x.count)
        }
        return jacobian
    }

    func assertExact(_ name: String, _ f: @escaping @differentiable(reverse) (DifferentiableVector) -> DifferentiableVector,
                     at x: DifferentiableVector, file: StaticString = #filePath, line: UInt = #line) throws {
        let pattern = try SparsityDetection.jacobianPattern(of: { (x: DifferentiableVector, _: Double) in f(x) }, at: x, 0.0)
        let dense = denseJacobian(f, at: x)
        var detected = Set<Int>(), truth = Set<Int>()
        for i in 0..<pattern.rows {
            for k in pattern.rowPointers[i]..<pattern.rowPointers[i + 1] { detected.insert(i * x.count + Int(pattern.columnIndices[k])) }
            for j in 0..<x.count where dense[i][j] != 0 || i == j { truth.insert(i * x.count + j) }
        }
        XCTAssertTrue(truth.isSubset(of: detected), "\(name): the detected pattern misses \(truth.subtracting(detected).count) entries",
                      file: file, line: line)
        XCTAssertTrue(detected == truth, "\(name): the detected pattern has \(detected.subtracting(truth).count) entries "
                      + "that are structurally zero (of \(truth.count))", file: file, line: line)
        // The colored Jacobian on the detected pattern equals the dense one to 1e-13.
        let sparse = SparseJacobian<Double>(condition: { x, _ in f(x) })
        let matrix = try sparse.matrix(x, 0.0)
        var worst = 0.0
        for i in 0..<matrix.rows {
            var row = [Double](repeating: 0, count: x.count)
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] { row[Int(matrix.columnIndices[k])] = matrix.values[k] }
            for j in 0..<x.count { worst = max(worst, abs(row[j] - dense[i][j]) / max(1, abs(dense[i][j]))) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-13, "\(name): colored vs dense Jacobian", file: file, line: line)
        XCTAssertLessThan(sparse.coloring?.colorCount ?? .max, x.count, "\(name): fewer products than columns", file: file, line: line)
    }

    func testDetectedPatternsAreExactForTheShippedPrimitives() throws {
        for seed in 1...6 as ClosedRange<UInt64> {
            let n = 60
            var random = SplitMix64(seed: seed)
            // Power-law column frequencies, a duplicated column, a square graph Laplacian.
            let a = try CSRMatrix.randomPowerLaw(rows: 45, columns: n, nonzerosPerRow: 3, seed: seed)
            let design = DesignMatrix(a)
            let graph = try CSRMatrix.randomPowerLawGraph(nodes: n, edges: 2 * n, exponent: 2.2, seed: seed + 100)
            let values = SparsePattern(graph)
            let y = DifferentiableVector((0..<45).map { _ in random.nextGaussian() })
            let picks = (0..<20).map { _ in Int(random.nextUniform() * Double(n)) }
            let x = DifferentiableVector((0..<n).map { _ in 0.5 + random.nextUniform() })   // positive: log is defined
            let groups = [0..<5, 10..<18, 30..<31]
            let partition = FusedPartition(group: (0..<n).map { Int32($0 / 6) }, groupCount: 10, boundary: [Double](repeating: 0.1, count: 10))

            try assertExact("least squares gradient, seed \(seed)", { x in matvecTransposed(design, matvec(design, x) - y) }, at: x)
            try assertExact("logistic-type gradient, seed \(seed)", { x in
                matvecTransposed(a, sigmoid(matvec(a, x)) - y) + scale(0.1, x) }, at: x)
            try assertExact("graph with x-dependent values, seed \(seed)", { x in
                // Values of the graph matrix that depend on x through a gather of the column ends.
                let ends = gather(x, graph.columnIndices.map { Int($0) })
                return matvec(values, exp(scale(0.1, ends)), x) + log(x) }, at: x)
            try assertExact("gather/scatter, seed \(seed)", { x in
                scatter(softplus(gather(x, picks)), picks, count: n) + log1p(x) .* x }, at: x)
            try assertExact("group lasso prox, seed \(seed)", { x in
                x - proxGroupLasso(x - scale(0.1, matvec(graph, x)), groups: groups, threshold: DifferentiableVector([0.01, 0.02, 0.03])) }, at: x)
            try assertExact("fused groups and simplex blocks, seed \(seed)", { x in
                fusedGroupProx(x, 0.1, on: partition) + projectSimplexBlocks(scale(0.01, x), blockSize: 6) + scale(2, x) }, at: x)
            try assertExact("elementwise proxes, seed \(seed)", { x in
                proxLasso(matvec(graph, x), threshold: 1e-3) + proxElasticNet(x, l1: 1e-3, l2: 0.5) + projectBox(x, lower: [Double](repeating: -9, count: n), upper: [Double](repeating: 9, count: n))
            }, at: x)
        }
    }

    func testDenseCouplingsAreRefusedNamingThePrimitive() throws {
        let x = DifferentiableVector([1, 2, 3])
        let cases: [(String, (DifferentiableVector, Double) -> DifferentiableVector)] = [
            ("sum(_:)", { x, _ in scale(sum(x), x) }),
            ("dot(_:_:)", { x, _ in scale(dot(x, x), x) }),
            ("norm(_:)", { x, _ in scale(norm(x), x) }),
            ("a subscript", { x, _ in scale(x[0], x) }),
            ("projectSimplex", { x, _ in x - projectSimplex(x) }),
            ("projectL2Ball", { x, _ in x - projectL2Ball(x, radius: 1) }),
            ("projectIsotonic", { x, _ in x - projectIsotonic(x) }),
        ]
        for (name, condition) in cases {
            XCTAssertThrowsError(try SparsityDetection.jacobianPattern(of: condition, at: x, 0.0), name) { error in
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains("densely"), "\(name): \(error)")
            }
        }
        // A reduction of a constant is not a coupling.
        let b = DifferentiableVector([1, 1, 1])
        XCTAssertEqual(try SparsityDetection.jacobianPattern(of: { x, _ in scale(sum(b), x) }, at: x, 0.0).nonzeroCount, 3)
        // A value that does not depend on x at all.
        XCTAssertThrowsError(try SparsityDetection.jacobianPattern(of: { _, _ in b }, at: x, 0.0)) { error in
            XCTAssertTrue("\(error)".contains("does not depend on x"), "\(error)")
        }
    }

    /// Code that builds a vector from `.scalars` drops the trace: detection sees a constant,
    /// and the first evaluation's check refuses the too-small pattern (never a wrong matrix).
    func testADroppedTraceIsCaughtAtTheFirstEvaluation() throws {
        let laplacian = try CSRMatrix.gridLaplacian2D(5, shift: 1)
        let condition: RootSolution<Double>.Condition = { x, theta in
            matvec(laplacian, x) + scale(theta, shiftedByHand(x))
        }
        let x = DifferentiableVector((0..<25).map { Double($0) / 25 })
        let jacobian = SparseJacobian(condition: condition)
        XCTAssertThrowsError(try jacobian.matrix(x, 0.5)) { error in
            XCTAssertTrue("\(error)".contains("detected Jacobian pattern misses"), "\(error)")
        }
    }

    /// A user-written condition with no declared Jacobian: F(x, θ) = x − y + e^θ L x + 0.1·x³
    /// (elementwise cube by hadamard) on a heavy-tailed graph; `jacobian: .automaticSparse`
    /// assembles ∂F/∂x (star coloring: the condition is a gradient) and the hypergradient goes
    /// through CHOLMOD and through CG + AMG, both against central finite differences.
    func testAutomaticSparseJacobianThroughCholmodAndAMGAgainstFiniteDifferences() throws {
        let n = 4_000
        let graph = try WeightedGraph.powerLaw(nodes: n, edges: 12_000, exponent: 2.3, seed: 8)
        let laplacian = try graph.laplacian(scaledBy: 1, plusDiagonal: [Double](repeating: 0, count: n))
        var random = SplitMix64(seed: 9)
        let y = DifferentiableVector((0..<n).map { _ in random.nextGaussian() })
        let weights = DifferentiableVector((0..<n).map { _ in random.nextUniform() })
        let condition: RootSolution<DifferentiableVector>.Condition = { x, theta in
            x - y + scale(Foundation.exp(theta[0]), matvec(laplacian, x)) + scale(0.1, x .* x .* x)
        }
        // The inner solver: Newton on F with CHOLMOD (the Jacobian written here only for the
        // solver; the derivative never sees it).
        func solve(_ theta: DifferentiableVector) throws -> DifferentiableVector {
            var x = DifferentiableVector(y.scalars.map { $0 / 2 })
            for _ in 0..<30 {
                let f = condition(x, theta)
                if Vector.norm(f.scalars) < 1e-13 * Vector.norm(y.scalars) { break }
                let j = try graph.laplacian(scaledBy: Foundation.exp(theta[0]), plusDiagonal: x.scalars.map { 1 + 0.3 * $0 * $0 })
                let factor = try CholeskyFactorization(symmetric: j)
                try factor.factorize()
                let step = try factor.solve(f.scalars)
                x = DifferentiableVector(zip(x.scalars, step).map { $0 - $1 })
            }
            return x
        }
        let loss: @differentiable(reverse) (DifferentiableVector) -> Double = { x in dot(weights, x .* x) }
        let theta = DifferentiableVector([Foundation.log(3.0)])
        let h = 1e-4
        let fd = (loss(try solve(DifferentiableVector([theta[0] + h]))) - loss(try solve(DifferentiableVector([theta[0] - h])))) / (2 * h)
        let strategies: [(String, LinearSolveStrategy)] = [
            ("cholmod", LinearSolveStrategy(solver: CholeskySolver())),
            ("cg+amg", LinearSolveStrategy(solver: KrylovSolver(.cg, preconditioner: .amg(SmoothedAggregationAMG.Options()),
                                                                options: KrylovOptions(relativeTolerance: 1e-12)))),
        ]
        for (name, strategy) in strategies {
            let solution = RootSolution<DifferentiableVector>(condition: condition, positiveDefiniteJacobian: true, strategy: strategy,
                                                              dimension: n, jacobian: .automaticSparse, solver: solve)
            let result = try solution.hypergradient(at: theta, loss: loss)
            let summary = try XCTUnwrap(result.jacobian)
            print("\(name): \(summary); adjoint \(result.report?.method ?? "?")+\(result.report?.preconditioner ?? "?")")
            XCTAssertEqual(summary.source, .automaticSparse)
            XCTAssertEqual(summary.patternSource, .detected)
            XCTAssertEqual(summary.symmetric, true, "a gradient's Jacobian is star-coloured")
            XCTAssertEqual(summary.nonzeros, laplacian.nonzeroCount + (0..<n).filter { i in
                !(laplacian.rowPointers[i]..<laplacian.rowPointers[i + 1]).contains { Int(laplacian.columnIndices[$0]) == i } }.count)
            XCTAssertEqual(result.gradient[0], fd, accuracy: 1e-6 * abs(fd), name)
        }
    }

    /// ∂F/∂θ for a per-entry θ (a sparse Jacobian) by colored pullbacks, equal to the dense one
    /// by reverse mode; a scalar θ (a dense column) is left to the caller (nil).
    func testHyperparameterJacobianByColoredPullbacks() throws {
        let n = 40
        let graph = try CSRMatrix.randomPowerLawGraph(nodes: n, edges: 80, exponent: 2.2, seed: 3)
        var random = SplitMix64(seed: 4)
        let x = DifferentiableVector((0..<n).map { _ in random.nextUniform() })
        let theta = DifferentiableVector((0..<n).map { _ in 0.5 + random.nextUniform() })
        let condition: RootSolution<DifferentiableVector>.Condition = { x, theta in
            matvec(graph, theta .* x) + exp(theta) .* x
        }
        let jacobian = SparseJacobian<DifferentiableVector>(condition: condition)
        let matrix = try XCTUnwrap(try jacobian.hyperparameterMatrix(x, theta))
        let (_, pullback) = valueWithPullback(at: x, theta, of: condition)
        var worst = 0.0
        for i in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[i] = 1
            let row = pullback(DifferentiableVector(e)).1.scalars
            var assembled = [Double](repeating: 0, count: n)
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] { assembled[Int(matrix.columnIndices[k])] = matrix.values[k] }
            worst = max(worst, zip(row, assembled).map { abs($0 - $1) }.max()!)
        }
        XCTAssertLessThanOrEqual(worst, 1e-13)
        let scalar = SparseJacobian<DifferentiableVector>(condition: { x, t in scale(t[0], x) + x })
        XCTAssertNil(try scalar.hyperparameterMatrix(DifferentiableVector([Double](repeating: 1, count: 300)), DifferentiableVector([2])))
    }
}

/// x shifted by one entry, built from `.scalars` by hand (drops the detection's trace).
@differentiable(reverse)
func shiftedByHand(_ x: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(x.scalars.indices.map { x.scalars[($0 + 1) % x.count] })
}

@derivative(of: shiftedByHand)
func vjpShiftedByHand(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let n = x.count
    return (shiftedByHand(x), { g in
        let gs = g.dense(count: n)
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n { out[(i + 1) % n] += gs[i] }
        return DifferentiableVector(out)
    })
}
