import Foundation
import ImplicitSparse
import XCTest
@testable import PETScBackend
import PETScShim

/// One process (MPI singleton): the PETSc solvers as `LinearSolver` values, against CHOLMOD
/// and UMFPACK, inside the implicit layer unchanged, and the distributed types on one rank.
final class PETScSolverTests: XCTestCase {
    override func setUpWithError() throws {
        try PETSc.initialize()
    }

    func testEveryMethodAndPreconditionerSolvesLikeCholesky() throws {
        let a = try CSRMatrix.gridLaplacian2D(30, shift: 0.5).declaringSymmetric()
        let b = (0..<a.rows).map { sin(Double($0)) }
        let exact = try LinearSolveStrategy(solver: CholeskySolver()).solve(a, b)
        let tight = KrylovOptions(relativeTolerance: 1e-12)
        for (method, preconditioner) in [(PETScSolver.Method.cg, PETScSolver.Preconditioner.gamg), (.cg, .jacobi), (.cg, .boomeramg),
                                         (.minres, .none), (.gmres, .jacobi), (.bicgstab, .gamg)] {
            let strategy = LinearSolveStrategy(solver: PETScSolver(method, preconditioner: preconditioner, options: tight))
            let x = try strategy.solve(a, b)
            let error = zip(x, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!
            XCTAssertLessThan(error, 1e-8, "\(method)+\(preconditioner)")
            let report = try XCTUnwrap(strategy.lastReport)
            XCTAssertLessThan(report.relativeResidual, 1e-9, "\(method)+\(preconditioner): the certificate")
            XCTAssertGreaterThan(report.iterations, 0)
        }
    }

    func testUnsymmetricSystemWithGMRESMatchesUMFPACK() throws {
        // A convection-like unsymmetric perturbation of the grid Laplacian.
        let base = try CSRMatrix.gridLaplacian2D(20, shift: 1)
        var builder = try COOBuilder(rows: base.rows, columns: base.columns, reservingCapacity: base.nonzeroCount)
        for i in 0..<base.rows {
            for k in base.rowPointers[i]..<base.rowPointers[i + 1] {
                let j = Int(base.columnIndices[k])
                try builder.append(row: i, column: j, value: base.values[k] + (j == i + 1 ? -0.4 : 0))
            }
        }
        let a = builder.makeCSR()
        let b = (0..<a.rows).map { cos(0.3 * Double($0)) }
        let exact = try LinearSolveStrategy(solver: LUSolver()).solve(a, b)
        for method in [PETScSolver.Method.gmres, .bicgstab] {
            let x = try LinearSolveStrategy(solver: PETScSolver(method, preconditioner: .jacobi,
                                                                options: KrylovOptions(relativeTolerance: 1e-12))).solve(a, b)
            XCTAssertLessThan(zip(x, exact).map { abs($0 - $1) }.max()!, 1e-8 * exact.map(abs).max()!, "\(method)")
        }
        XCTAssertThrowsError(try PETScSolver(.cg, preconditioner: .jacobi).prepare(a)) { error in
            guard case LinearSolveError.unsuitableOperator = error else { return XCTFail("\(error)") }
        }
    }

    /// The implicit layer's adjoint on PETSc unchanged: `GraphLeastSquares` through
    /// `RootSolution` with a PETSc strategy, against CHOLMOD and central differences, on a
    /// graph with heavy-tailed degrees.
    func testGraphLeastSquaresHypergradientThroughRootSolutionOnPETSc() throws {
        let g = try WeightedGraph.powerLaw(nodes: 3000, edges: 9000, exponent: 2.2, seed: 5)
        let degrees = (0..<g.nodeCount).map { g.laplacian.values[g.diagonalPosition[$0]] }
        XCTAssertGreaterThan(degrees.max()!, 20 * (degrees.reduce(0, +) / Double(degrees.count)), "heavy-tailed degrees")
        let signal = (0..<g.nodeCount).map { sin(0.01 * Double($0)) + 0.1 * cos(Double($0)) }
        let split = try Datasets.split(rows: g.nodeCount, validationFraction: 0.2, seed: 1)
        let data = try GraphData(graph: g, signal: signal, training: split.train)
        let problem = try GraphLeastSquares(data: data, lambda: 0.7, epsilon: 0.05)
        let direct = LinearSolveStrategy(solver: CholeskySolver())
        let reference = try problem.hypergradient(at: try problem.solve(strategy: direct).x, validation: split.validation, strategy: direct)
        let petsc = LinearSolveStrategy(solver: PETScSolver(.cg, preconditioner: .gamg, options: KrylovOptions(relativeTolerance: 1e-12)))
        let solved = try problem.solve(strategy: petsc)
        XCTAssertLessThan(solved.relativeResidual, 1e-11)
        let h = try problem.hypergradient(at: solved.x, validation: split.validation, strategy: petsc)
        XCTAssertEqual(h.report?.method, "petsc-cg")
        XCTAssertEqual(h.gradient[0], reference.gradient[0], accuracy: 1e-10 * abs(reference.gradient[0]))
        XCTAssertEqual(h.gradient[1], reference.gradient[1], accuracy: 1e-10 * abs(reference.gradient[1]))
        let fd = try problem.finiteDifference(of: try NodeLoss.meanSquaredError(data, nodes: split.validation), at: solved, step: 1e-4,
                                              strategy: direct)
        XCTAssertEqual(h.gradient[0], try XCTUnwrap(fd[0]), accuracy: 1e-6 * abs(fd[0]!))
    }

    func testIterationLimitIsATypedError() throws {
        let a = try CSRMatrix.gridLaplacian2D(40, shift: 0).declaringSymmetric()
        let solver = PETScSolver(.cg, preconditioner: .none, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 3))
        let state = try solver.prepare(a)
        XCTAssertThrowsError(try state.solve([Double](repeating: 1, count: a.rows), transposed: false, initialGuess: nil)) { error in
            guard case let LinearSolveError.notConverged(method, status, iterations, residual) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(method.contains("DIVERGED_ITS"), method)
            XCTAssertEqual(status, .maximumIterations)
            XCTAssertEqual(iterations, 3)
            XCTAssertGreaterThan(residual, 1e-6)
        }
    }

    /// A request below the attainable accuracy (10⁻¹⁷): PETSc's CG runs out of iterations (it
    /// has no stagnation test); the state reports the attained true residual and accepts it,
    /// with a note, within `acceptableTrueResidual` — as our own Krylov methods do. The answer
    /// equals CHOLMOD's.
    func testARequestBelowTheFloorEndsWithTheAttainedResidual() throws {
        let a = try CSRMatrix.gridLaplacian2D(30, shift: 0.5).declaringSymmetric()
        let b = (0..<a.rows).map { sin(Double($0)) }
        let exact = try LinearSolveStrategy(solver: CholeskySolver()).solve(a, b)
        let solver = PETScSolver(.cg, preconditioner: .jacobi, options: KrylovOptions(relativeTolerance: 1e-17, maxIterations: 400))
        let strategy = LinearSolveStrategy(solver: solver)
        let x = try strategy.solve(a, b)
        let report = try XCTUnwrap(strategy.lastReport)
        XCTAssertTrue(report.reason.contains("attainable accuracy"), report.reason)
        XCTAssertTrue(report.relativeResidual.isFinite)
        XCTAssertLessThan(report.relativeResidual, 1e-12)
        XCTAssertLessThan(zip(x, exact).map { abs($0 - $1) }.max()! / exact.map(abs).max()!, 1e-10)
    }

    func testUpdateTakesNewValuesOnTheSamePatternOnly() throws {
        let a = try CSRMatrix.gridLaplacian2D(15, shift: 1).declaringSymmetric()
        let state = try PETScSolver(.cg, preconditioner: .jacobi, options: KrylovOptions(relativeTolerance: 1e-12)).prepare(a)
        var scaled = try CSRMatrix(rows: a.rows, columns: a.columns, rowPointers: a.rowPointers, columnIndices: a.columnIndices,
                                   values: a.values.map { 3 * $0 })
        scaled = scaled.declaringSymmetric()
        try state.update(scaled)
        let b = [Double](repeating: 1, count: a.rows)
        let x = try state.solve(b, transposed: false, initialGuess: nil).solution
        let once = try PETScSolver(.cg, preconditioner: .jacobi, options: KrylovOptions(relativeTolerance: 1e-12)).prepare(a)
            .solve(b, transposed: false, initialGuess: nil).solution
        for i in 0..<x.count { XCTAssertEqual(3 * x[i], once[i], accuracy: 1e-9) }
        // Another pattern (the identity of the same size) is refused.
        let other = try CSRMatrix.identity(a.rows).declaringSymmetric()
        XCTAssertThrowsError(try state.update(other)) { error in
            guard case SparseError.patternMismatch = error else { return XCTFail("\(error)") }
        }
    }

    func testMatrixFreeOperatorNeedsAnExplicitMatrix() throws {
        let a = try CSRMatrix.gridLaplacian2D(5, shift: 1)
        let free = try ClosureOperator(rows: a.rows, columns: a.columns, forward: { x, y in
            a.apply(x, into: y, transposed: false, accumulate: false)
        })
        XCTAssertThrowsError(try PETScSolver(.gmres, preconditioner: .none).prepare(free)) { error in
            XCTAssertEqual(error as? LinearSolveError, .needsExplicitMatrix("petsc-gmres"))
        }
    }

    func testRowPartitionMatchesPETScOwnership() throws {
        for n in [1, 2, 7, 10, 1001] {
            for ranks in 1...5 {
                var covered = 0
                for r in 0..<ranks {
                    let p = RowPartition(globalRows: n, ranks: ranks, rank: r)
                    XCTAssertEqual(p.localRange.lowerBound, covered)
                    for row in p.localRange { XCTAssertEqual(p.owner(of: row), r, "n \(n), ranks \(ranks), row \(row)") }
                    covered = p.localRange.upperBound
                }
                XCTAssertEqual(covered, n)
            }
        }
        // Blocks of given sizes (a partitioner's), empty blocks included: ranges tile 0..<n and
        // owner(of:) inverts them.
        for sizes in [[3, 0, 5, 2], [1], [0, 4], [7, 7, 7]] {
            var covered = 0
            for r in 0..<sizes.count {
                let p = RowPartition(blockSizes: sizes, rank: r)
                XCTAssertEqual(p.globalRows, sizes.reduce(0, +))
                XCTAssertEqual(p.localRange, covered..<(covered + sizes[r]))
                for row in p.localRange { XCTAssertEqual(p.owner(of: row), r, "sizes \(sizes), row \(row)") }
                covered += sizes[r]
            }
        }
        // PETSc's own split on this one rank: everything.
        let m = try DistributedMatrix(sequential: try CSRMatrix.gridLaplacian2D(4, shift: 1))
        var first: Int32 = 0, end: Int32 = 0, global: Int32 = 0
        XCTAssertEqual(isp_matrix_ownership(m.handle, &first, &end, &global), 0)
        XCTAssertEqual([first, end, global], [0, 16, 16])
    }
}
