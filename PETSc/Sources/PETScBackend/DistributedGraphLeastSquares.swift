import Dispatch
import Foundation
import Sparse

/// A graph held by rows over the ranks: each rank has its nodes' rows of the Laplacian
/// L = D − W (every diagonal entry stored, as `WeightedGraph`).
public struct DistributedGraph {
    public let laplacian: DistributedMatrix
    /// Edges of the whole graph.
    public let edgeCount: Int
    /// What reading changed (self-loops ignored, zero weights dropped, symmetrization).
    public let notes: [String]
    public var partition: RowPartition { laplacian.partition }
    public var nodeCount: Int { partition.globalRows }

    /// The rows × columns 4-neighbour grid with unit weights (node (r, c) is r·columns + c,
    /// as `WeightedGraph.grid`), each rank generating its own rows.
    public static func grid(rows: Int, columns: Int) throws -> DistributedGraph {
        let (n, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 1, columns >= 1, !overflow, n <= Int(Int32.max) else {
            throw SparseError.invalidArgument("grid \(rows)×\(columns) must have between 1 and 2³¹ − 1 nodes")
        }
        let block = gridRows(rows: rows, columns: columns, partition: RowPartition(globalRows: n)) { degree in Double(degree) }
        let laplacian = try DistributedMatrix(partition: RowPartition(globalRows: n), rowPointers: block.pointers,
                                              columnIndices: block.columns, values: block.values, symmetric: true)
        return DistributedGraph(laplacian: laplacian, edgeCount: rows * (columns - 1) + columns * (rows - 1), notes: [])
    }

    /// This rank's rows of a 4-neighbour grid operator: −1 to each neighbour, `diagonal(degree)`
    /// on the diagonal; columns sorted.
    public static func gridRows(rows: Int, columns: Int, partition: RowPartition, diagonal: (Int) -> Double)
        -> (pointers: [Int32], columns: [Int32], values: [Double]) {
        var pointers: [Int32] = [0], indices: [Int32] = [], values: [Double] = []
        let local = partition.localRange
        pointers.reserveCapacity(local.count + 1)
        indices.reserveCapacity(5 * local.count)
        values.reserveCapacity(5 * local.count)
        for k in local {
            let r = k / columns, c = k % columns
            let degree = (r > 0 ? 1 : 0) + (c > 0 ? 1 : 0) + (c < columns - 1 ? 1 : 0) + (r < rows - 1 ? 1 : 0)
            if r > 0 { indices.append(Int32(k - columns)); values.append(-1) }
            if c > 0 { indices.append(Int32(k - 1)); values.append(-1) }
            indices.append(Int32(k)); values.append(diagonal(degree))
            if c < columns - 1 { indices.append(Int32(k + 1)); values.append(-1) }
            if r < rows - 1 { indices.append(Int32(k + columns)); values.append(-1) }
            pointers.append(Int32(indices.count))
        }
        return (pointers, indices, values)
    }

    /// A weighted adjacency matrix in Matrix Market coordinate form read in parallel
    /// (`DistributedMatrixMarket`, `.adjacency`: the rules of `WeightedGraph.read`).
    public static func read(path: String) throws -> DistributedGraph {
        let block = try DistributedMatrixMarket.read(path: path, reading: .adjacency)
        let partition = block.partition, first = partition.localRange.lowerBound
        var pointers: [Int32] = [0], indices: [Int32] = [], values: [Double] = []
        indices.reserveCapacity(block.columnIndices.count + partition.localRows)
        values.reserveCapacity(block.columnIndices.count + partition.localRows)
        var localEdges = 0
        for i in 0..<partition.localRows {
            let row = Int32(first + i)
            var degree = 0.0
            for k in Int(block.rowPointers[i])..<Int(block.rowPointers[i + 1]) { degree += block.values[k] }
            var placed = false
            for k in Int(block.rowPointers[i])..<Int(block.rowPointers[i + 1]) {
                let j = block.columnIndices[k]
                if !placed && j > row { indices.append(row); values.append(degree); placed = true }
                indices.append(j); values.append(-block.values[k])
                if j > row { localEdges += 1 }
            }
            if !placed { indices.append(row); values.append(degree) }
            pointers.append(Int32(indices.count))
        }
        var notes: [String] = []
        if block.symmetry == .general { notes.append("a general matrix is read as undirected edges: W ← (W + Wᵀ)/2") }
        if block.selfLoops > 0 { notes.append("\(block.selfLoops) self-loop\(block.selfLoops == 1 ? "" : "s") ignored") }
        if block.zeroWeights > 0 { notes.append("\(block.zeroWeights) zero-weight entr\(block.zeroWeights == 1 ? "y" : "ies") dropped") }
        let laplacian = try DistributedMatrix(partition: partition, rowPointers: pointers, columnIndices: indices, values: values,
                                              symmetric: true)
        return DistributedGraph(laplacian: laplacian, edgeCount: try Collective.sum(localEdges), notes: notes)
    }
}

/// Laplacian-regularized least squares on a distributed graph — the model of
/// `GraphLeastSquares`, x* = argmin ½Σ_{i∈T}(x_i − y_i)² + (λ/2)xᵀLx + (ε/2)‖x‖², i.e.
/// K x* = M y with K = M + εI + λL — with every vector held by rows over the ranks, the solves
/// by PETSc, and the hypergradient of the validation MSE by the implicit function theorem:
/// one adjoint solve K w = ∇ℓ(x*) with the same prepared KSP (K is symmetric), then
/// dℓ/dλ = −wᵀLx*, dℓ/dε = −wᵀx* as global dot products.
///
/// The single-process `GraphLeastSquares` goes through `RootSolution`, whose differentiable
/// primitives act on whole vectors; here the same two-line adjoint is written out over row
/// blocks (DESIGN.md's departure, ARCHITECTURE.md says so). The tests hold the two to 1e-8.
public final class DistributedGraphLeastSquares {
    public let graph: DistributedGraph
    /// This rank's nodes: training indicator, signal, validation indicator.
    public let trainingMask: [Double]
    public let signal: [Double]
    public let validationMask: [Bool]
    public let validationCount: Int
    public let lambda: Double
    public let epsilon: Double

    /// - Throws: `SparseError.invalidArgument` on wrong local lengths, a non-finite signal
    ///   value (naming the node), λ ≤ 0, ε < 0 or no validation node anywhere.
    public init(graph: DistributedGraph, trainingMask: [Double], signal: [Double], validationMask: [Bool],
                lambda: Double, epsilon: Double) throws {
        // Local checks agreed by every rank before the collective count below.
        try Collective.agree("setting up graph-ls") {
            let local = graph.partition.localRows
            guard trainingMask.count == local, signal.count == local, validationMask.count == local else {
                throw SparseError.invalidArgument("DistributedGraphLeastSquares: this rank holds \(local) nodes; the training mask, signal and validation mask must have as many entries")
            }
            guard lambda > 0, lambda.isFinite, epsilon >= 0, epsilon.isFinite else {
                throw SparseError.invalidArgument("λ must be positive and finite and ε nonnegative and finite (λ = \(lambda), ε = \(epsilon))")
            }
            if let bad = signal.firstIndex(where: { !$0.isFinite }) {
                throw SparseError.invalidArgument("the signal at node \(graph.partition.localRange.lowerBound + bad + 1) is not finite")
            }
        }
        self.graph = graph
        self.trainingMask = trainingMask
        self.signal = signal
        self.validationMask = validationMask
        self.lambda = lambda
        self.epsilon = epsilon
        self.validationCount = try Collective.sum(validationMask.filter { $0 }.count)
    }

    /// K = λL + diag(m + ε) on L's pattern (this rank's rows).
    public func system() throws -> DistributedMatrix {
        let l = graph.laplacian, first = l.partition.localRange.lowerBound
        var values = l.values.map { lambda * $0 }
        for i in 0..<l.rows {
            for k in Int(l.rowPointers[i])..<Int(l.rowPointers[i + 1]) where Int(l.columnIndices[k]) == first + i {
                values[k] += trainingMask[i] + epsilon
            }
        }
        return try l.withValues(values, positiveDefinite: true)
    }

    public struct Solution {
        /// This rank's part of x*.
        public var x: [Double]
        /// ‖Kx − My‖/‖My‖ over every rank, from a true product.
        public var relativeResidual: Double
        public var iterations: Int
        public var setupSeconds: Double
        public var solveSeconds: Double
    }

    /// Prepares `solver` on K and solves K x = M y. The returned state serves the adjoint.
    public func solve(solver: PETScSolver) throws -> (solution: Solution, state: PETScSolverState) {
        let k = try system()
        let state = try solver.prepare(k) as! PETScSolverState
        let b = zip(trainingMask, signal).map { $0 * $1 }
        let outcome = try state.solve(b, transposed: false, initialGuess: nil)
        let residual = try k.globalRelativeResidual(outcome.solution, b)
        return (Solution(x: outcome.solution, relativeResidual: residual, iterations: outcome.iterations,
                         setupSeconds: state.timings.setup, solveSeconds: outcome.seconds), state)
    }

    public struct Hypergradient {
        public var validationLoss: Double
        public var logLambda: Double
        /// nil when ε = 0.
        public var logEpsilon: Double?
        public var adjointIterations: Int
        /// ‖Kw − ∇ℓ‖/‖∇ℓ‖ over every rank.
        public var adjointResidual: Double
        /// ‖F(x*, θ)‖ = ‖Kx* − My‖ over every rank.
        public var conditionResidual: Double
        public var seconds: Double
    }

    /// d(validation MSE)/d log λ and d log ε at x* (this rank's part), with the prepared state.
    public func hypergradient(at x: [Double], state: PETScSolverState) throws -> Hypergradient {
        let start = DispatchTime.now().uptimeNanoseconds
        guard validationCount > 0 else { throw SparseError.invalidArgument("no validation node: the validation loss is undefined") }
        var gradient = [Double](repeating: 0, count: x.count)
        var loss = 0.0
        let scale = 1 / Double(validationCount)
        for i in 0..<x.count where validationMask[i] {
            let d = x[i] - signal[i]
            loss += d * d * scale
            gradient[i] = 2 * d * scale
        }
        let adjoint = try state.solve(gradient, transposed: true, initialGuess: nil)
        let w = adjoint.solution, k = state.matrix
        // One distributed product: Kx* = λLx* + (m + ε)x* from Lx*.
        let lx = try graph.laplacian.multiply(x)
        var local = [loss, 0, 0, 0]
        for i in 0..<x.count {
            local[1] += w[i] * lx[i]
            local[2] += w[i] * x[i]
            let f = lambda * lx[i] + (trainingMask[i] + epsilon) * x[i] - trainingMask[i] * signal[i]
            local[3] += f * f
        }
        let global = try Collective.sum(local)
        let adjointResidual = try k.globalRelativeResidual(w, gradient)
        return Hypergradient(validationLoss: global[0], logLambda: -lambda * global[1],
                             logEpsilon: epsilon > 0 ? -epsilon * global[2] : nil,
                             adjointIterations: adjoint.iterations, adjointResidual: adjointResidual,
                             conditionResidual: global[3].squareRoot(),
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}
