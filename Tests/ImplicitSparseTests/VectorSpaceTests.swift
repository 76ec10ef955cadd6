import Foundation
import ImplicitSparse
import XCTest

/// The vector-space contract without MPI: P threads play P processes, each holding a block of
/// rows of a power-law graph's system and its part of every vector; products gather x through
/// shared memory and reductions sum every thread's partial values behind a barrier. The same
/// Krylov methods, `LinearSolveStrategy` and `RootSolution` that run in one process run in each
/// thread, and must give the whole-vector answers (to 1e-10) with the same iterations on every
/// thread.
final class VectorSpaceTests: XCTestCase {
    /// A reusable barrier for `parties` threads, with a slot per thread for reductions.
    final class Team: @unchecked Sendable {
        let parties: Int
        private let condition = NSCondition()
        private var waiting = 0, generation = 0
        var slots: [[Double]]
        /// The whole x of the current product, written part by part.
        var shared: [Double]

        init(parties: Int, length: Int) {
            self.parties = parties
            slots = [[Double]](repeating: [], count: parties)
            shared = [Double](repeating: 0, count: length)
        }

        func barrier() {
            condition.lock()
            let current = generation
            waiting += 1
            if waiting == parties {
                waiting = 0
                generation += 1
                condition.broadcast()
            } else {
                while generation == current { condition.wait() }
            }
            condition.unlock()
        }

        /// Entrywise sums of every thread's `values` (collective).
        func sum(_ values: [Double], part: Int) -> [Double] {
            slots[part] = values
            barrier()
            var total = [Double](repeating: 0, count: values.count)
            for p in 0..<parties { for k in 0..<values.count { total[k] += slots[p][k] } }
            barrier()
            return total
        }
    }

    /// Rows `range` of a square matrix, acting on the parts of vectors a `Team` shares.
    struct RowBlock: LinearOperator {
        let matrix: CSRMatrix
        let range: Range<Int>
        let part: Int
        let team: Team
        let diagonal: [Double]?
        init(matrix: CSRMatrix, range: Range<Int>, part: Int, team: Team) {
            self.matrix = matrix
            self.range = range
            self.part = part
            self.team = team
            diagonal = Array(matrix.diagonalEntries()[range])
        }
        var rows: Int { matrix.rows }
        var columns: Int { matrix.columns }
        var isSymmetric: Bool { true }
        var isPositiveDefinite: Bool { true }
        var vectorSpace: VectorSpace? {
            let team = self.team, part = self.part
            return VectorSpace(globalLength: matrix.rows, localRange: range, parts: team.parties) { team.sum($0, part: part) }
        }
        func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
            for i in 0..<range.count { team.shared[range.lowerBound + i] = x[i] }
            team.barrier()
            for (i, row) in range.enumerated() {
                var s = 0.0
                for k in matrix.rowPointers[row]..<matrix.rowPointers[row + 1] { s += matrix.values[k] * team.shared[Int(matrix.columnIndices[k])] }
                y[i] = accumulate ? y[i] + s : s
            }
            team.barrier()
        }
    }

    /// Runs `body(part)` on `parties` threads at once and returns the results in part order.
    func together<T>(_ parties: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        try runParts(parties, body)
    }

    func ranges(_ n: Int, _ parties: Int) -> [Range<Int>] {
        (0..<parties).map { p in (p * n / parties)..<((p + 1) * n / parties) }
    }

    /// I·(m + ε) + λL on a power-law graph (heavy-tailed degrees) with a training mask.
    func graphSystem() throws -> (graph: WeightedGraph, mask: [Double], y: [Double]) {
        let graph = try WeightedGraph.powerLaw(nodes: 3000, edges: 7500, exponent: 2.2, seed: 21)
        var random = SplitMix64(seed: 22)
        let mask = (0..<graph.nodeCount).map { _ in random.nextUniform() < 0.7 ? 1.0 : 0.0 }
        let y = (0..<graph.nodeCount).map { i in sin(0.01 * Double(i)) + 0.3 * (random.nextUniform() - 0.5) }
        return (graph, mask, y)
    }

    /// CG, MINRES, GMRES and BiCGSTAB with Jacobi on 1, 2 and 3 parts: the whole solve's
    /// answer and iterations, every part agreeing on the count.
    func testKrylovMethodsOnSplitVectorsEqualTheWholeSolve() throws {
        let (graph, mask, _) = try graphSystem()
        let k = try graph.laplacian(scaledBy: 2, plusDiagonal: mask.map { $0 + 0.01 }).declaringSymmetric()
        let b = (0..<k.rows).map { sin(Double($0)) }
        let options = KrylovOptions(relativeTolerance: 1e-11, maxIterations: 5000)
        for method in [KrylovSolver.Method.cg, .minres, .gmres, .bicgstab] {
            let whole = try KrylovSolver(method, preconditioner: .jacobi, options: options).prepare(k).solve(b, transposed: false, initialGuess: nil)
            for parties in 1...3 {
                let team = Team(parties: parties, length: k.rows)
                let blocks = ranges(k.rows, parties)
                let parts = try together(parties) { p in
                    let op = RowBlock(matrix: k, range: blocks[p], part: p, team: team)
                    return try KrylovSolver(method, preconditioner: .jacobi, options: options).prepare(op)
                        .solve(Array(b[blocks[p]]), transposed: false, initialGuess: nil)
                }
                let x = parts.flatMap(\.solution)
                let error = zip(x, whole.solution).map { abs($0 - $1) }.max()! / whole.solution.map(abs).max()!
                XCTAssertLessThan(error, 1e-9, "\(method), \(parties) parts")
                XCTAssertLessThanOrEqual(k.relativeResidual(x, b), 1e-10, "\(method), \(parties) parts: the certificate")
                XCTAssertEqual(Set(parts.map(\.iterations)).count, 1, "\(method), \(parties) parts: every part took the same iterations")
                if method == .cg { XCTAssertEqual(parts[0].iterations, whole.iterations, "\(parties) parts") }
            }
        }
    }

    /// Graph-ls's condition through `RootSolution` with `vectorSpace:` and `jacobianOperator:`
    /// on 1, 2 and 3 parts, solved by the strategy's policy (a distributed operator gets CG +
    /// Jacobi): the hypergradient of the single-process `GraphLeastSquares` (CHOLMOD) to 1e-10,
    /// the loss summed over the parts, the condition residual taken over the whole vector.
    func testRootSolutionOnSplitVectorsEqualsTheSingleProcessHypergradient() throws {
        let (graph, mask, y) = try graphSystem()
        let (lambda, epsilon) = (1.5, 0.05)
        var random = SplitMix64(seed: 23)
        let validation = (0..<graph.nodeCount).filter { mask[$0] == 0 && random.nextUniform() < 0.8 }
        let training = (0..<graph.nodeCount).filter { mask[$0] == 1 }
        let problem = try GraphLeastSquares(data: try GraphData(graph: graph, signal: y, training: training), lambda: lambda, epsilon: epsilon)
        let direct = LinearSolveStrategy(solver: CholeskySolver())
        let xWhole = try problem.solve(strategy: direct).x
        let reference = try problem.hypergradient(at: xWhole, validation: validation, strategy: direct)
        let weightsWhole = (0..<graph.nodeCount).map { validation.contains($0) ? 1 / Double(validation.count) : 0 }
        let laplacian = graph.laplacian
        for parties in 1...3 {
            let team = Team(parties: parties, length: graph.nodeCount)
            let blocks = ranges(graph.nodeCount, parties)
            let results = try together(parties) { p -> (Double, [Double], Double, String) in
                let rows = blocks[p]
                let l = RowBlock(matrix: laplacian, range: rows, part: p, team: team)
                let space = l.vectorSpace
                let m = DifferentiableVector(Array(mask[rows])), yLocal = DifferentiableVector(Array(y[rows]))
                let weights = DifferentiableVector(Array(weightsWhole[rows]))
                func system(_ theta: DifferentiableVector) throws -> RowBlock {
                    let k = try graph.laplacian(scaledBy: theta[0], plusDiagonal: mask.map { $0 + theta[1] })
                    return RowBlock(matrix: k, range: rows, part: p, team: team)
                }
                let strategy = LinearSolveStrategy(solver: AutomaticLinearSolver(options: KrylovOptions(relativeTolerance: 1e-12)))
                let targets = zip(m.scalars, yLocal.scalars).map { $0 * $1 }
                let solution = RootSolution<DifferentiableVector>(
                    condition: { x, theta in hadamard(m, x - yLocal) + scale(theta[1], x) + scale(theta[0], apply(l, x)) },
                    positiveDefiniteJacobian: true, strategy: strategy, dimension: rows.count,
                    jacobianOperator: { _, theta in try system(theta) }, vectorSpace: space,
                    solver: { theta in DifferentiableVector(try strategy.solve(try system(theta), targets)) })
                let theta = DifferentiableVector([lambda, epsilon])
                let h = try solution.hypergradient(at: theta) { x in dot(hadamard(weights, x - yLocal), x - yLocal) }
                return (h.value, h.gradient.dense(count: 2), h.conditionResidual, strategy.lastReport?.method ?? "")
            }
            for (p, (value, gradient, residual, method)) in results.enumerated() {
                XCTAssertEqual(value, reference.value, accuracy: 1e-12 * reference.value, "\(parties) parts, part \(p)")
                XCTAssertEqual(lambda * gradient[0], reference.gradient[0], accuracy: 1e-10 * abs(reference.gradient[0]), "\(parties) parts, part \(p)")
                XCTAssertEqual(epsilon * gradient[1], reference.gradient[1], accuracy: 1e-10 * abs(reference.gradient[1]), "\(parties) parts, part \(p)")
                XCTAssertLessThan(residual, 1e-9)
                XCTAssertEqual(method, "cg")
            }
        }
    }

    /// A failure on one part only (a NaN in its x*) is thrown on every part — its own error
    /// there, "failed on 1 process" elsewhere — instead of leaving the others in a collective.
    func testAFailureOnOnePartIsAgreedByAll() throws {
        let n = 60
        let team = Team(parties: 3, length: n)
        let blocks = ranges(n, 3)
        let identity = try CSRMatrix.identity(n).declaringSymmetric()
        let errors = try together(3) { p -> String in
            let op = RowBlock(matrix: identity, range: blocks[p], part: p, team: team)
            var x = [Double](repeating: 1, count: blocks[p].count)
            if p == 1 { x[2] = .nan }
            let solution = RootSolution<DifferentiableVector>(
                condition: { x, _ in apply(op, x) }, positiveDefiniteJacobian: true, vectorSpace: op.vectorSpace,
                solver: { _ in DifferentiableVector(x) })
            do {
                _ = try solution.solveWithResidual(DifferentiableVector([1]))
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(errors[1].contains("index \(blocks[1].lowerBound + 2)"), errors[1])
        XCTAssertTrue(errors[0].contains("failed on 1 process"), errors[0])
        XCTAssertTrue(errors[2].contains("failed on 1 process"), errors[2])
        // The others say where the failing part is.
        XCTAssertTrue(errors[0].contains("entries \(blocks[1].lowerBound + 1)…"), errors[0])
    }
}

/// Runs `body(part)` on `parties` threads at once (each plays one process) and returns the
/// results in part order; a part that does not finish in 120 s fails the test (a collective
/// call out of step).
func runParts<T>(_ parties: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let box = ResultBox<T>(count: parties)
    let lock = NSLock(), done = DispatchGroup()
    for p in 0..<parties {
        done.enter()
        let thread = Thread {
            let r = Result { try body(p) }
            lock.lock(); box.results[p] = r; lock.unlock()
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "the parts did not finish (a collective call out of step)")
    return try box.results.map { try XCTUnwrap($0).get() }
}

/// Results of threads, written under a lock.
final class ResultBox<T>: @unchecked Sendable {
    var results: [Result<T, Error>?]
    init(count: Int) { results = [Result<T, Error>?](repeating: nil, count: count) }
}
