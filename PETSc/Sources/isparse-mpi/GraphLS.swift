import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import PETScBackend

/// `isparse-mpi hypergrad graph-ls`: the model and options of `isparse hypergrad graph-ls`,
/// the graph held by rows over the ranks, the solves and the adjoint on PETSc.
struct MPIGraphLS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph-ls",
        abstract: "Laplacian-regularized least squares on a distributed graph, and d(validation MSE)/d log λ, d log ε.",
        discussion: """
        x* = argmin ½Σ_{i∈T}(x_i − y_i)² + (λ/2)xᵀLx + (ε/2)‖x‖². The graph's rows are generated \
        (--grid) or read in parallel (--graph, an uncompressed Matrix Market adjacency matrix); \
        with --graph, --signal (one value per line or a Matrix Market array) and --val files \
        (and --train, or every other node) and node numbers kept (--partition none or \
        balanced), each rank reads its byte ranges of the node files and receives its nodes' \
        values (JSON nodeData: ranges); otherwise (--grid's signal, a seeded --val-fraction \
        split, a coordinate signal, ptscotch) the node data are built whole on every rank as \
        isparse builds them and each rank keeps its part (whole). With --graph, ε must be positive: whether every \
        connected component holds a training node (what makes x* unique when ε = 0) is not \
        checked across ranks.
        """)

    @Option(help: "The graph: a Matrix Market adjacency matrix (coordinate, uncompressed).")
    var graph: String?

    @Option(help: "A built-in R×C 4-neighbour grid graph, e.g. 1000x1000.")
    var grid: String?

    @Option(help: "The signal y: a Matrix Market array or one value per line (default with --grid: the built-in seeded signal).")
    var signal: String?

    @Option(help: "Training nodes (1-based, one per line); default: every node not in the validation set.")
    var train: String?

    @Option(help: "Validation nodes (1-based, one per line).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Hold out this fraction of the non-training nodes for validation (default 0.2).")
    var valFraction: Double?

    @Option(help: "Seed of the split and of the built-in signal.")
    var seed: UInt64 = 0

    @Option(help: "λ > 0, the weight of the graph penalty.")
    var lambda: Double

    @Option(help: "ε ≥ 0, a ridge (ε/2)‖x‖² on every node (> 0 with --graph).")
    var epsilon: Double = 0

    @Option(help: "Write x* as a Matrix Market dense array (the ranks append their parts in order).")
    var output: String?

    @Option(help: "How the graph's rows are split over the ranks: none (PETSc's even row split, the default: measured fastest on 2 ranks, docs/SCALING.md), balanced (contiguous blocks of equal nonzero shares, nodes keep their numbers), or ptscotch (renumbered by PT-Scotch through PETSc's MatPartitioning: the smallest halo, but 0.5 s at 10⁵ and over 200 s at 10⁶ power-law nodes; not with --output).")
    var partition: String = "none"

    @OptionGroup var petsc: PETScOptions

    func validate() throws {
        if (graph == nil) == (grid == nil) { throw ValidationError("give exactly one of --graph FILE and --grid RxC") }
        guard ["none", "balanced", "ptscotch"].contains(partition) else {
            throw ValidationError("--partition must be none, balanced or ptscotch")
        }
        if partition == "ptscotch" && output != nil {
            throw ValidationError("--output writes x* in the file's node order, which PT-Scotch's renumbering changes: use --partition none or balanced")
        }
        if let grid, parseGrid(grid) == nil { throw ValidationError("--grid must be RxC with R, C ≥ 1, e.g. 1000x1000") }
        if graph != nil && signal == nil { throw ValidationError("--graph needs --signal (the built-in signal is defined on --grid only)") }
        if graph != nil && !(epsilon > 0) {
            throw ValidationError("--graph needs --epsilon > 0: uniqueness of x* with ε = 0 (a training node in every connected component) is not checked across ranks; use isparse for ε = 0")
        }
        if let valFraction, !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1)") }
        if val != nil && valFraction != nil { throw ValidationError("give --val or --val-fraction, not both") }
        if !(lambda > 0 && lambda.isFinite) { throw ValidationError("--lambda must be positive and finite") }
        if !(epsilon >= 0 && epsilon.isFinite) { throw ValidationError("--epsilon must be nonnegative and finite") }
    }

    func parseGrid(_ text: String) -> (Int, Int)? {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let r = Int(parts[0]), let c = Int(parts[1]), r >= 1, c >= 1,
              !r.multipliedReportingOverflow(by: c).overflow, r * c <= Int(Int32.max) else { return nil }
        return (r, c)
    }

    func run() throws {
        let start = DispatchTime.now()
        let solver = try petsc.makeSolver()
        var g: DistributedGraph, source: String
        if let graph {
            g = try DistributedGraph.read(path: graph)
            source = graph
        } else {
            let (r, c) = parseGrid(grid!)!
            g = try DistributedGraph.grid(rows: r, columns: c)
            source = "grid \(r)×\(c)"
        }
        // Node files are read by ranges when the nodes keep their numbers and the split is
        // given by files; otherwise built whole on every rank, exactly as isparse builds them.
        let byRanges = try Collective.agree("reading \(signal ?? "the signal")") {
            try graph != nil && val != nil && valFraction == nil && partition != "ptscotch"
                && DistributedNodeFiles.isLocalReadable(signal: signal!)
        }
        let whole = byRanges ? nil : try Collective.agree("reading the node data") { try nodeData(nodes: g.nodeCount) }
        // The partitioner renumbers the rows; node data follow through `localPart`.
        let before = try PartitionStatistics(g.laplacian)
        let partitioner = PETSc.size > 1 ? partition : "none"
        let partitionStart = DispatchTime.now()
        if partitioner == "balanced" { g = try g.balanced() } else if partitioner != "none" { g = try g.partitioned(type: partitioner) }
        let partitionSeconds = seconds(since: partitionStart)
        let nodes = try whole.map { LocalNodeData(signal: g.localPart(of: $0.signal), mask: g.localPart(of: $0.mask),
                                                  validation: g.localPart(of: $0.validation), trainingCount: $0.trainingCount) }
            ?? localNodeData(partition: g.partition)
        let readSeconds = seconds(since: start) - partitionSeconds
        let problem = try DistributedGraphLeastSquares(graph: g, trainingMask: nodes.mask, signal: nodes.signal,
                                                       validationMask: nodes.validation, lambda: lambda, epsilon: epsilon)
        // One strategy for the solve and the adjoint (its prepared state serves both).
        let strategy = LinearSolveStrategy(solver: solver, name: "graph system")
        let solution = try problem.solve(strategy: strategy)
        let h = try problem.hypergradient(at: solution.x, strategy: strategy)
        let method = strategy.lastReport?.method ?? solver.name, preconditioner = strategy.lastReport?.preconditioner ?? "none"
        if let output { try writeDistributedVector(solution.x, globalLength: g.nodeCount, to: output) }
        var trainingLocal = 0.0
        for i in 0..<solution.x.count where problem.trainingMask[i] > 0 {
            trainingLocal += (solution.x[i] - problem.signal[i]) * (solution.x[i] - problem.signal[i])
        }
        let trainingMSE = try Collective.sum(trainingLocal) / Double(nodes.trainingCount)
        let memory = try peakMemoryOverRanks()
        let spread = try PartitionStatistics(g.laplacian)
        let total = seconds(since: start)
        if petsc.json {
            var object = JSON()
            object.set("model", "graph-ls")
            object.set("graph", source)
            object.set("nodes", g.nodeCount)
            object.set("edges", g.edgeCount)
            object.set("trainNodes", nodes.trainingCount)
            object.set("validationNodes", problem.validationCount)
            object.set("lambda", lambda)
            object.set("epsilon", epsilon)
            object.set("ranks", PETSc.size)
            object.set("partitioner", partitioner)
            // How the node data came: each rank's byte ranges of the files, or built whole on
            // every rank (the built-in signal, a seeded split, a coordinate signal, PT-Scotch).
            object.set("nodeData", byRanges ? "ranges" : "whole")
            if !g.notes.isEmpty { object.set("notes", g.notes.joined(separator: "; ")) }
            object.set("linearSolver", method + (preconditioner == "none" ? "" : "+" + preconditioner))
            object.set("iterations", solution.iterations)
            object.set("relativeResidual", solution.relativeResidual)
            object.set("trainingLoss", trainingMSE)
            object.set("validationLoss", h.validationLoss)
            object.set("hypergradient", h.logLambda)
            var gradient = JSON()
            gradient.set("logLambda", h.logLambda)
            if let e = h.logEpsilon { gradient.set("logEpsilon", e) } else { gradient.setNull("logEpsilon") }
            object.set("gradient", gradient)
            object.set("adjointIterations", h.adjointIterations)
            object.set("adjointResidual", h.adjointResidual)
            object.set("conditionResidual", h.conditionResidual)
            var times = JSON()
            times.set("read", readSeconds)
            times.set("partition", partitionSeconds)
            times.set("setup", solution.setupSeconds)
            times.set("solve", solution.solveSeconds)
            times.set("hypergradient", h.seconds)
            times.set("total", total)
            object.set("seconds", times)
            setPeakMemory(&object, memory)
            spread.add(to: &object)
            if partitioner != "none" { object.set("partitionBefore", before.json) }
            say(object.render())
        } else {
            say("graph: \(source): \(g.nodeCount) nodes, \(g.edgeCount) edges; \(nodes.trainingCount) training nodes, \(problem.validationCount) validation nodes; \(PETSc.size) rank\(PETSc.size == 1 ? "" : "s")")
            for note in g.notes { say("note: \(note)") }
            say(String(format: "model: graph-ls, λ = %.6g, ε = %.6g", lambda, epsilon))
            say(String(format: "solve: %@ + %@, %d iterations, relative residual %.3e", method, preconditioner,
                       solution.iterations, solution.relativeResidual))
            say(String(format: "training MSE: %.10g", trainingMSE))
            say(String(format: "validation loss (MSE): %.10g", h.validationLoss))
            say(String(format: "d loss / d log λ: %.10g", h.logLambda))
            if let e = h.logEpsilon { say(String(format: "d loss / d log ε: %.10g", e)) }
            say(String(format: "adjoint: %d iterations, residual %.3e (the forward solve's prepared state reused)", h.adjointIterations, h.adjointResidual))
            say("peak memory: \(formatBytes(memory.maximum)) on the largest rank, \(formatBytes(memory.total)) over all ranks")
            if PETSc.size > 1 {
                if partitioner != "none" { say("before \(partitioner): " + before.line) }
                say(spread.line)
            }
            say(String(format: "seconds: read %.3f, setup %.3f, solve %.3f, hypergradient %.3f, total %.3f", readSeconds,
                       solution.setupSeconds, solution.solveSeconds, h.seconds, total))
        }
    }

    /// This rank's nodes' signal, training mask and validation flags.
    struct LocalNodeData {
        var signal: [Double]
        var mask: [Double]
        var validation: [Bool]
        var trainingCount: Int
    }

    /// The node files read by byte ranges (`DistributedNodeFiles`): each rank ends with its own
    /// nodes' data and no rank holds a whole file. Checks as `GraphData.nodeSplit`: a node in
    /// both lists (the first validation line naming one), no validation node, no training node.
    func localNodeData(partition: RowPartition) throws -> LocalNodeData {
        let y = try DistributedNodeFiles.readSignal(path: signal!, partition: partition)
        let held = try DistributedNodeFiles.readNodes(path: val!, partition: partition)
        var validation = [Bool](repeating: false, count: partition.localRows)
        for i in held.local { validation[i] = true }
        var mask = [Double](repeating: 0, count: partition.localRows)
        if let train {
            let listed = try DistributedNodeFiles.readNodes(path: train, partition: partition)
            for i in listed.local { mask[i] = 1 }
            // The first validation line (in file order) naming a training node.
            let both = zip(held.local, held.lines).filter { mask[$0.0] > 0 }.min { $0.1 < $1.1 }
            let first = try Collective.minimum(both?.1 ?? Int.max)
            try Collective.agree("reading \(val!)") {
                if let both, both.1 == first {
                    throw GraphProblemError.invalid("\(val!): node \(partition.localRange.lowerBound + both.0 + 1) is also a training node (\(train))")
                }
            }
        } else {
            for i in 0..<partition.localRows where !validation[i] { mask[i] = 1 }
        }
        let counts = try Collective.sum([Int(mask.reduce(0, +)), held.local.count])
        guard counts[1] > 0 else { throw MPIFailure(code: 1, message: "hypergrad needs validation nodes: --val FILE or --val-fraction F") }
        guard counts[0] > 0 else { throw MPIFailure(code: 2, message: "no training node: every node is in the validation set") }
        return LocalNodeData(signal: y, mask: mask, validation: validation, trainingCount: counts[0])
    }

    struct NodeData {
        var signal: [Double]
        var mask: [Double]
        var validation: [Bool]
        var trainingCount: Int
    }

    /// Signal, training and validation nodes built exactly as `isparse` builds them (the same
    /// files, seeds and split), whole on every rank (O(n) per rank during set-up; each rank
    /// keeps its nodes' part): the built-in grid signal, a seeded --val-fraction split, a
    /// Matrix Market coordinate signal, or a graph renumbered by PT-Scotch.
    func nodeData(nodes n: Int) throws -> NodeData {
        let y: [Double]
        if let signal { y = try GraphFiles.readSignal(path: signal, nodes: n) } else {
            let (r, c) = parseGrid(grid!)!
            y = Datasets.gridSignal(rows: r, columns: c, seed: seed)
        }
        let split = try GraphData.nodeSplit(nodes: n, training: try train.map { try GraphFiles.readNodes(path: $0, nodes: n) },
                                            validation: try val.map { try GraphFiles.readNodes(path: $0, nodes: n) },
                                            validationFraction: valFraction ?? (val == nil ? 0.2 : nil), seed: seed,
                                            trainingSource: train ?? "", validationSource: val ?? "")
        guard !split.validation.isEmpty else {
            throw MPIFailure(code: 1, message: "hypergrad needs validation nodes: --val FILE or --val-fraction F")
        }
        var isValidation = [Bool](repeating: false, count: n), mask = [Double](repeating: 0, count: n)
        for i in split.validation { isValidation[i] = true }
        for i in split.training { mask[i] = 1 }
        let count = split.training.count
        return NodeData(signal: y, mask: mask, validation: isValidation, trainingCount: count)
    }
}
