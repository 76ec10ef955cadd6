import Dispatch
import Foundation

/// Sparse LU through UMFPACK as a `LinearSolver`, with transposed solves from the same
/// factor. Memory: A as 64-bit CSC plus the LU factors (`predictedFactorBytes`).
public struct LUSolver: LinearSolver {
    /// Largest predicted factor (bytes); `SparseError.factorTooLarge` above it.
    public var memoryBudget: Int?
    public var reason: String
    public var name: String { "lu" }

    public init(memoryBudget: Int? = nil, reason: String = "requested") {
        self.memoryBudget = memoryBudget
        self.reason = reason
    }

    public func prepare(_ a: any LinearOperator) throws -> any LinearSolverState {
        guard a.rows == a.columns else {
            throw LinearSolveError.unsuitableOperator(method: "lu", reason: "\(a.rows) × \(a.columns) is not square")
        }
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("lu") }
        let factor = try LUFactorization(m)
        if let memoryBudget, factor.predictedFactorBytes > memoryBudget {
            throw SparseError.factorTooLarge(predictedBytes: factor.predictedFactorBytes, budgetBytes: memoryBudget)
        }
        try factor.factorize()
        return LUSolverState(factor: factor, reason: reason, values: a.valuesIdentity)
    }
}

final class LUSolverState: LinearSolverState {
    let factor: LUFactorization
    let reason: String
    private var values: ValuesIdentity?
    var method: String { "lu" }
    var details: LinearSolverDetails { LinearSolverDetails(lu: factor) }
    var memoryBytes: Int { factor.predictedFactorBytes }
    var timings: LinearSolverTimings { LinearSolverTimings(analyze: factor.analyzeSeconds, factorize: factor.factorizeSeconds) }

    init(factor: LUFactorization, reason: String, values: ValuesIdentity?) {
        self.factor = factor
        self.reason = reason
        self.values = values
    }

    func solve(_ b: [Double], transposed: Bool, initialGuess: [Double]?) throws -> LinearSolveOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let x = try factor.solve(b, transposed: transposed)
        return LinearSolveOutcome(solution: x, seconds: elapsedSeconds(since: start))
    }

    func update(_ a: any LinearOperator) throws {
        if let values, let incoming = a.valuesIdentity, values == incoming { return }
        guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix("lu") }
        try factor.refactor(m)
        values = a.valuesIdentity
    }
}
