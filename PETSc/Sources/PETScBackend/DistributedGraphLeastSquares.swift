import Dispatch
import Foundation
import ImplicitSparse
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
    /// For each local node, its index in the graph as read or generated (nil: the same
    /// numbering). Set by `partitioned(type:)`: node data are taken through it.
    public var originalNodes: [Int]? = nil

    init(laplacian: DistributedMatrix, edgeCount: Int, notes: [String], originalNodes: [Int]? = nil) {
        self.laplacian = laplacian
        self.edgeCount = edgeCount
        self.notes = notes
        self.originalNodes = originalNodes
    }

    /// The graph renumbered by PETSc's MatPartitioning (`DistributedMatrix.partitioned`):
    /// each rank holds the nodes the partitioner grouped. Collective.
    /// A graph already partitioned is returned as it is.
    public func partitioned(type: String = "ptscotch") throws -> DistributedGraph {
        guard originalNodes == nil else { return self }
        let (matrix, original) = try laplacian.partitioned(type: type)
        return DistributedGraph(laplacian: matrix, edgeCount: edgeCount, notes: notes, originalNodes: original)
    }

    /// The graph in contiguous row blocks of equal nonzero shares, its nodes keeping their
    /// numbers (`DistributedMatrix.balancedByNonzeros`). Collective.
    public func balanced() throws -> DistributedGraph {
        guard originalNodes == nil else { return self }
        return DistributedGraph(laplacian: try laplacian.balancedByNonzeros(), edgeCount: edgeCount, notes: notes)
    }

    /// This rank's entries of a whole-graph node array (in the numbering as read).
    public func localPart<T>(of whole: [T]) -> [T] {
        if let originalNodes { return originalNodes.map { whole[$0] } }
        return Array(whole[partition.localRange])
    }

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
/// K x* = M y with K = M + εI + λL — with every vector held by rows over the ranks. It is the
/// single-process model's code path: a `RootSolution` whose condition
/// F(x, θ) = M(x − y) + εx + λLx is written with the same differentiable primitives (`apply`
/// takes the distributed Laplacian), whose ∂F/∂x is the distributed K, and whose vector space
/// is the graph's; the solves and the adjoint go through one `LinearSolveStrategy` over any
/// solver value — PETSc's KSP, or the library's own Krylov methods, whose sums the vector
/// space reduces. No adjoint is written by hand.
public final class DistributedGraphLeastSquares {
    public let graph: DistributedGraph
    /// This rank's nodes: training indicator, signal, validation indicator.
    public let trainingMask: [Double]
    public let signal: [Double]
    public let validationMask: [Bool]
    public let validationCount: Int
    public let lambda: Double
    public let epsilon: Double
    /// The last K built and its (λ, ε): the solve, F's Jacobian and the adjoint see one matrix
    /// (one values identity), so the strategy's prepared state serves all of them.
    private var cached: (key: [Double], matrix: DistributedMatrix)?

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

    /// K = λL + diag(m + ε) on L's pattern (this rank's rows), kept for the last (λ, ε).
    public func system(lambda: Double, epsilon: Double) throws -> DistributedMatrix {
        if let cached, cached.key == [lambda, epsilon] { return cached.matrix }
        let l = graph.laplacian, first = l.partition.localRange.lowerBound
        var values = l.values.map { lambda * $0 }
        for i in 0..<l.localRows {
            for k in Int(l.rowPointers[i])..<Int(l.rowPointers[i + 1]) where Int(l.columnIndices[k]) == first + i {
                values[k] += trainingMask[i] + epsilon
            }
        }
        let k = try l.withValues(values, positiveDefinite: true)
        cached = ([lambda, epsilon], k)
        return k
    }

    /// K at the problem's (λ, ε).
    public func system() throws -> DistributedMatrix { try system(lambda: lambda, epsilon: epsilon) }

    /// The implicit solution x*(θ), θ = (λ, ε), on this rank's rows: the condition of
    /// `GraphLeastSquares.implicitSolution`, ∂F/∂x = K (symmetric positive definite), the
    /// graph's vector space, and `strategy` for the inner solve and the adjoint.
    public func implicitSolution(strategy: LinearSolveStrategy) -> RootSolution<DifferentiableVector> {
        let laplacian = graph.laplacian
        let mask = DifferentiableVector(trainingMask), y = DifferentiableVector(signal)
        let targets = zip(trainingMask, signal).map { $0 * $1 }
        return RootSolution(
            condition: { x, theta in
                hadamard(mask, x - y) + scale(theta[1], x) + scale(theta[0], apply(laplacian, x))
            },
            positiveDefiniteJacobian: true, strategy: strategy, dimension: graph.partition.localRows,
            jacobianOperator: { _, theta in try self.system(lambda: theta[0], epsilon: theta[1]) },
            vectorSpace: laplacian.vectorSpace,
            solver: { theta in DifferentiableVector(try strategy.solve(try self.system(lambda: theta[0], epsilon: theta[1]), targets)) })
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

    /// Solves K x = M y with `strategy` (its prepared state then serves the adjoint).
    public func solve(strategy: LinearSolveStrategy) throws -> Solution {
        let k = try system()
        let b = zip(trainingMask, signal).map { $0 * $1 }
        let x = try strategy.solve(k, b)
        let report = strategy.lastReport
        return Solution(x: x, relativeResidual: report?.relativeResidual ?? k.relativeResidual(x, b), iterations: report?.iterations ?? 0,
                        setupSeconds: strategy.preparedState?.timings.setup ?? 0,
                        solveSeconds: max((report?.seconds ?? 0) - (strategy.preparedState?.timings.setup ?? 0), 0))
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

    /// d(validation MSE)/d log λ and d log ε at x* (this rank's part), through
    /// `implicitSolution(strategy:)` with the strategy of the solve (its prepared state).
    public func hypergradient(at x: [Double], strategy: LinearSolveStrategy) throws -> Hypergradient {
        let start = DispatchTime.now().uptimeNanoseconds
        guard validationCount > 0 else { throw SparseError.invalidArgument("no validation node: the validation loss is undefined") }
        let weights = DifferentiableVector(validationMask.map { $0 ? 1 / Double(validationCount) : 0 })
        let y = DifferentiableVector(signal)
        let solution = implicitSolution(strategy: strategy)
        // The validation MSE, a sum over nodes: each rank's value is its nodes' part, and
        // `RootSolution` sums it over the ranks.
        let h = try solution.hypergradient(at: DifferentiableVector([lambda, epsilon]), solution: DifferentiableVector(x)) { x in
            dot(hadamard(weights, x - y), x - y)
        }
        let gradient = h.gradient.dense(count: 2)
        return Hypergradient(validationLoss: h.value, logLambda: lambda * gradient[0],
                             logEpsilon: epsilon > 0 ? epsilon * gradient[1] : nil,
                             adjointIterations: h.report?.iterations ?? 0, adjointResidual: h.report?.relativeResidual ?? .nan,
                             conditionResidual: h.conditionResidual,
                             seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}
