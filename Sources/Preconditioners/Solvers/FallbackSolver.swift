import Sparse

/// Solvers tried in order: when one fails to prepare (a factor over budget, a Cholesky pivot
/// that is not positive, a matrix-free operator for a direct method) or its solve fails (a
/// Krylov method that did not converge), the next one is prepared and used. The automatic
/// policy states its fallbacks this way; a user can chain any solvers.
public struct FallbackSolver: LinearSolver {
    public struct Stage {
        public var solver: any LinearSolver
        /// Why this stage is next (appended to the reason when it is reached).
        public var label: String
        /// True when this stage is a capped first attempt whose failure is part of the plan
        /// (not reported as a fallback).
        public var mayFail: Bool
        public init(_ solver: any LinearSolver, label: String, mayFail: Bool = false) {
            self.solver = solver
            self.label = label
            self.mayFail = mayFail
        }
    }

    public var stages: [Stage]
    public var reason: String
    /// An answer whose true relative residual ‖b − Au‖/‖b‖ is above this (or not finite) is
    /// not accepted: the next stage is tried (a direct method on a singular matrix, say). nil
    /// accepts whatever a stage returns.
    public var acceptableResidual: Double?

    public init(_ stages: [Stage], reason: String, acceptableResidual: Double? = nil) {
        precondition(!stages.isEmpty, "FallbackSolver needs at least one stage")
        self.stages = stages
        self.reason = reason
        self.acceptableResidual = acceptableResidual
    }

    public var name: String { stages.map(\.solver.name).joined(separator: " → ") }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState { try prepareState(a) }

    func prepareState(_ a: any LinearOperator) throws -> FallbackSolverState {
        let state = FallbackSolverState(stages: stages, reason: reason, operator: a, acceptableResidual: acceptableResidual)
        try state.advance(from: 0)
        return state
    }

    /// Whether a failure moves on quietly (a planned alternative: over a budget, a capped
    /// first attempt) rather than as a numerical fallback that the report flags.
    static func isPlanned(_ error: Error) -> Bool {
        switch error {
        case SparseError.factorTooLarge, LinearSolveError.tooExpensive: return true
        default: return false
        }
    }
}

final class FallbackSolverState: LinearSolverState {
    private let stages: [FallbackSolver.Stage]
    private let baseReason: String
    private let acceptableResidual: Double?
    private var a: any LinearOperator
    private(set) var current: (any LinearSolverState)?
    private var index = 0
    private var notes: [String] = []
    private var stageFellBack = false
    /// A later stage answered, or the stage in use fell back itself (a rank-revealing solver
    /// on a singular matrix).
    var fellBack: Bool { stageFellBack || (current?.fellBack ?? false) }

    init(stages: [FallbackSolver.Stage], reason: String, operator a: any LinearOperator, acceptableResidual: Double?) {
        self.stages = stages
        self.baseReason = reason
        self.a = a
        self.acceptableResidual = acceptableResidual
    }

    var method: String { current?.method ?? stages[index].solver.name }
    var preconditioner: String { current?.preconditioner ?? "none" }
    var reason: String {
        let inner = current?.reason ?? ""
        return ([baseReason] + notes + [inner == "requested" ? "" : inner]).filter { !$0.isEmpty }.joined(separator: "; ")
    }
    var memoryBytes: Int { current?.memoryBytes ?? 0 }
    var details: LinearSolverDetails { current?.details ?? LinearSolverDetails() }
    var timings: LinearSolverTimings { current?.timings ?? LinearSolverTimings() }

    /// Prepares stage `start`, or the first one after it that prepares.
    func advance(from start: Int) throws {
        var lastError: Error?
        for k in start..<stages.count {
            if k > 0 { notes.append(stages[k].label) }
            do {
                current = try stages[k].solver.prepare(a)
                index = k
                return
            } catch {
                lastError = error
                if !FallbackSolver.isPlanned(error) && !stages[k].mayFail { stageFellBack = true }
                notes.append("\(stages[k].solver.name) not used: \(error)")
            }
        }
        throw lastError!
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        while true {
            guard let current else {
                // Every stage failed on an earlier call; say so rather than retry.
                throw LinearSolveError.unsuitableOperator(method: stages.map(\.solver.name).joined(separator: " → "),
                                                          reason: "every stage failed: " + notes.joined(separator: "; "))
            }
            do {
                let outcome = try current.solve(b, transposed: transposed, initialGuess: initialGuess)
                if let acceptableResidual, index + 1 < stages.count {
                    let residual = a.relativeResidual(outcome.solution, b, transposed: transposed)
                    if !(residual <= acceptableResidual) && !a.effectiveVectorSpace.isZero(b) {
                        throw LinearSolveError.inaccurate(method: current.method, relativeResidual: residual, acceptable: acceptableResidual)
                    }
                }
                return outcome
            } catch {
                try abandonCurrent(after: error)
            }
        }
    }

    /// The stage in use failed with `error` (in a solve, or in a run made for it — the policy's
    /// first solve, which is the probe's own run): the next stage is prepared, or `error` is
    /// rethrown when none is left.
    func abandonCurrent(after error: Error) throws {
        guard let current, index + 1 < stages.count else { throw error }
        if !stages[index].mayFail { stageFellBack = true }
        notes.append("\(current.method) failed: \(error)")
        self.current = nil
        try advance(from: index + 1)
    }

    func update(_ a: any LinearOperator) throws {
        self.a = a
        do { try current?.update(a) } catch SparseError.notPositiveDefinite(let column) where index + 1 < stages.count {
            stageFellBack = true
            notes.append("cholesky failed (pivot \(column) not positive)")
            current = nil
            try advance(from: index + 1)
        }
    }
}
