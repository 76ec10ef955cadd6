import _Differentiation

/// What the graph problems share: the graph, the signal y on its nodes, the training nodes T
/// (observed in the fit), ε ≥ 0 (a ridge on every node) and the checks that the solution is
/// unique.
public struct GraphData: Sendable {
    public let graph: WeightedGraph
    /// y, one value per node (only training values enter the fit).
    public let signal: [Double]
    /// The training nodes T, 0-based, increasing.
    public let training: [Int]
    /// m_i = 1 on T, 0 elsewhere.
    public let trainingMask: [Double]

    /// - Throws: `GraphProblemError.invalid` for a signal of the wrong length or not finite,
    ///   training nodes out of range, repeated, or none.
    public init(graph: WeightedGraph, signal: [Double], training: [Int]) throws {
        let n = graph.nodeCount
        guard signal.count == n else {
            throw GraphProblemError.invalid("the signal has \(signal.count) values; the graph has \(n) nodes")
        }
        if let bad = signal.firstIndex(where: { !$0.isFinite }) {
            throw GraphProblemError.invalid("signal value at node \(bad + 1) is \(signal[bad])")
        }
        guard !training.isEmpty else { throw GraphProblemError.invalid("no training node: nothing is observed") }
        var mask = [Double](repeating: 0, count: n)
        for i in training {
            guard i >= 0, i < n else { throw GraphProblemError.invalid("training node \(i + 1) is out of range 1…\(n)") }
            guard mask[i] == 0 else { throw GraphProblemError.invalid("training node \(i + 1) is listed twice") }
            mask[i] = 1
        }
        self.graph = graph
        self.signal = signal
        self.training = training.sorted()
        self.trainingMask = mask
    }

    /// ½‖y_T‖², the scale of the duality-gap tolerances.
    public var trainingEnergy: Double {
        var s = 0.0
        for i in training { s += signal[i] * signal[i] }
        return 0.5 * s
    }

    /// The connected components holding no training node, and their nodes: with ε = 0 the
    /// fit does not determine x there (graph-ls: any constant; graph-tv: any value between
    /// observed neighbours).
    public func componentsWithoutTraining() -> (components: Int, nodes: Int) {
        let (labels, count) = graph.components()
        var observed = [Bool](repeating: false, count: count)
        for i in training { observed[labels[i]] = true }
        var nodes = 0
        for i in 0..<graph.nodeCount where !observed[labels[i]] { nodes += 1 }
        return (observed.filter { !$0 }.count, nodes)
    }

    /// Mean squared error of x against y over `nodes` (0 for no node).
    public func meanSquaredError(_ x: [Double], nodes: [Int]) -> Double {
        guard !nodes.isEmpty else { return 0 }
        var s = 0.0
        for i in nodes { let d = x[i] - signal[i]; s += d * d }
        return s / Double(nodes.count)
    }

    /// The differentiable validation loss (1/|V|) Σ_{i∈V} (x_i − y_i)², and V checked.
    func validationLoss(_ nodes: [Int]) throws -> @differentiable(reverse) (DifferentiableVector) -> Double {
        let n = graph.nodeCount
        guard !nodes.isEmpty else { throw GraphProblemError.invalid("no validation node") }
        var mask = [Double](repeating: 0, count: n)
        for i in nodes {
            guard i >= 0, i < n else { throw GraphProblemError.invalid("validation node \(i + 1) is out of range 1…\(n)") }
            mask[i] = 1 / Double(nodes.count)
        }
        let weights = DifferentiableVector(mask), y = DifferentiableVector(signal)
        return { x in
            let r = x - y
            return dot(weights, hadamard(r, r))
        }
    }
}

/// The outer loss of a graph model: the mean, over chosen nodes V, of a per-node loss of x
/// (any `Datafit`, its targets one per node of V in V's order) times a scale. The mean squared
/// error against the signal is `meanSquaredError(_:nodes:)`; `Huber`, `Logistic` (x as a
/// score) or a user's datafit give other validation losses.
public struct NodeLoss: Sendable {
    public let nodes: [Int]
    public let loss: any Datafit
    public let scale: Double

    /// - Throws: `GraphProblemError.invalid` for no node or a scale that is not positive and
    ///   finite; `.dimensionMismatch` when the loss' targets are not one per node; the loss'
    ///   own target validation.
    public init(nodes: [Int], loss: any Datafit, scale: Double = 1) throws {
        guard !nodes.isEmpty else { throw GraphProblemError.invalid("no validation node") }
        guard scale > 0, scale.isFinite else { throw GraphProblemError.invalid("the node loss' scale must be positive and finite, got \(scale)") }
        guard loss.targets.count == nodes.count else {
            throw SparseError.dimensionMismatch(operation: "NodeLoss", expected: "one target per node (\(nodes.count))", actual: "\(loss.targets.count)")
        }
        try loss.validate()
        self.nodes = nodes
        self.loss = loss
        self.scale = scale
    }

    /// (1/|V|) Σ_{i∈V} (x_i − y_i)² against the data's signal.
    /// - Throws: `GraphProblemError.invalid` for no node or a node out of range.
    public static func meanSquaredError(_ data: GraphData, nodes: [Int]) throws -> NodeLoss {
        let n = data.graph.nodeCount
        if let bad = nodes.first(where: { $0 < 0 || $0 >= n }) {
            throw GraphProblemError.invalid("validation node \(bad + 1) is out of range 1…\(n)")
        }
        return try NodeLoss(nodes: nodes, loss: SquaredError(targets: nodes.map { data.signal[$0] }))
    }

    /// The loss and its gradient (dense, length `x.count`).
    /// - Throws: `GraphProblemError.invalid` for a node outside x.
    public func valueAndGradient(_ x: [Double]) throws -> (value: Double, gradient: [Double]) {
        if let bad = nodes.first(where: { $0 < 0 || $0 >= x.count }) {
            throw GraphProblemError.invalid("validation node \(bad + 1) is out of range 1…\(x.count)")
        }
        let inverse = scale / Double(nodes.count)
        var value = 0.0, gradient = [Double](repeating: 0, count: x.count)
        for (k, i) in nodes.enumerated() {
            value += loss.loss(x[i], row: k)
            gradient[i] += loss.derivative(x[i], row: k) * inverse
        }
        return (value * inverse, gradient)
    }
}

/// Failures of the graph problems.
public enum GraphProblemError: Error, CustomStringConvertible, Equatable {
    /// Input that does not make a problem (wrong lengths, bad nodes, bad λ or ε).
    case invalid(String)
    /// ε = 0 and part of the graph carries no training node: x* is not unique there.
    case nonUnique(model: String, components: Int, nodes: Int, detail: String)
    /// graph-tv with nodes outside the training set and ε = 0: total variation alone does not
    /// fix a value between observed neighbours (nor does the dual certificate exist).
    case needsRidge(unobservedNodes: Int)
    /// The solver stopped before its certificate met the tolerance.
    case notConverged(model: String, iterations: Int, gap: Double, target: Double, certificate: String = "duality gap")
    /// The fused groups of a graph-TV solution could not be identified consistently (the
    /// solution sits at or near a kink of the path, or the solve is too loose).
    case groupsNotIdentified(String)

    public var description: String {
        switch self {
        case let .invalid(message): return message
        case let .nonUnique(model, components, nodes, detail):
            return "\(model): the solution is not unique: \(components) connected component\(components == 1 ? "" : "s") (\(nodes) node\(nodes == 1 ? "" : "s")) hold no training node and ε = 0 — \(detail); give `epsilon` > 0 (a ridge on every node) or training nodes there"
        case let .needsRidge(nodes):
            return "graph-tv: the solution is not unique: \(nodes) node\(nodes == 1 ? " is" : "s are") outside the training set and ε = 0, and total variation alone does not fix a value between observed neighbours; give `epsilon` > 0 (a ridge on every node, e.g. 1e-3)"
        case let .notConverged(model, iterations, gap, target, certificate):
            return "\(model): not converged after \(iterations) iterations: \(certificate) \(gap) above the target \(target); raise the tolerance or the iteration limit"
        case let .groupsNotIdentified(message): return "graph-tv: \(message)"
        }
    }
}

func checkRegularization(lambda: Double, epsilon: Double) throws {
    guard lambda > 0, lambda.isFinite else { throw GraphProblemError.invalid("λ must be positive and finite, got \(lambda)") }
    guard epsilon >= 0, epsilon.isFinite else { throw GraphProblemError.invalid("ε must be nonnegative and finite, got \(epsilon)") }
}

extension GraphData {
    /// Training and validation nodes as the graph commands choose them (`isparse` and
    /// `isparse-mpi` alike): validation nodes given, or a seeded `validationFraction` of the
    /// nodes outside the training list (of every node without one, `Datasets.split`); training
    /// nodes given, or every node not in validation. Both lists sorted, 0-based.
    /// - Throws: `GraphProblemError.invalid` naming the sources: a node in both lists, fewer
    ///   than 2 nodes to split, no training node left.
    public static func nodeSplit(nodes n: Int, training: [Int]?, validation: [Int]?, validationFraction: Double?, seed: UInt64,
                                 trainingSource: String = "the training nodes", validationSource: String = "the validation nodes")
        throws -> (training: [Int], validation: [Int]) {
        var inTrain = [Bool](repeating: false, count: n)
        if let training {
            for i in training { inTrain[i] = true }
            if let validation, let both = validation.first(where: { inTrain[$0] }) {
                throw GraphProblemError.invalid("\(validationSource): node \(both + 1) is also a training node (\(trainingSource))")
            }
        }
        var chosen = validation ?? []
        if let validationFraction {
            // Validation drawn from the nodes outside the training list (all nodes without one).
            let candidates = training == nil ? Array(0..<n) : (0..<n).filter { !inTrain[$0] }
            guard candidates.count >= 2 else {
                throw GraphProblemError.invalid("`validationFraction`: fewer than 2 nodes outside the training set to split")
            }
            chosen = try Datasets.split(rows: candidates.count, validationFraction: validationFraction, seed: seed).validation.map { candidates[$0] }
        }
        var train = training
        if train == nil {
            var inValidation = [Bool](repeating: false, count: n)
            for i in chosen { inValidation[i] = true }
            train = (0..<n).filter { !inValidation[$0] }
        }
        guard !train!.isEmpty else { throw GraphProblemError.invalid("no training node: every node is in the validation set") }
        return (train!.sorted(), chosen.sorted())
    }
}
