import Dispatch
import Foundation
import Sparse

/// The hypergradient of a validation loss with respect to log λ for the lasso / elastic net,
/// through the implicit function theorem restricted to the support S of w* (Bertrand et al.,
/// 2020): on S the optimality condition X_Sᵀ(X_S w_S − y)/n + λα·sign(w_S) + λ(1−α)w_S = 0 gives
///
///     (X_SᵀX_S/n + λ(1−α)I) dw_S/dλ = −(α·sign(w_S) + (1−α)w_S),
///
/// so one solve of size |S| (not p) with the adjoint u: (X_SᵀX_S + nλ(1−α)I) u = n∇_S L, and
/// dL/d log λ = −λ·uᵀ(α·sign(w_S) + (1−α)w_S). The solve goes through `LinearSolveStrategy` on
/// the Gram operator of X_S (its explicit matrix for a direct method). When X_S is rank
/// deficient (duplicated or collinear columns) the solution is not unique: Cholesky fails,
/// the strategy falls back, and the result says so.
public struct LassoHypergradient: Sendable {
    public var validationLoss: Double
    public var hypergradient: Double
    public var supportSize: Int
    public var report: LinearSolveReport?
    /// Set when the reduced system was singular: why the derivative is not unique.
    public var nonUniqueness: String?

    /// - Parameters:
    ///   - validation: held-out (X_val, y_val); the loss is the mean squared error.
    public static func compute(problem: LassoProblem, solution w: [Double], validation: CSRMatrix,
                               validationTargets: [Double], strategy: LinearSolveStrategy) throws -> LassoHypergradient {
        let n = Double(problem.design.rows)
        let nValidation = Double(validation.rows)
        let residual = zip(validationTargets, try validation.multiply(w)).map { $0 - $1 }
        let loss = residual.reduce(0) { $0 + $1 * $1 } / nValidation
        let support = (0..<w.count).filter { w[$0] != 0 }
        guard !support.isEmpty else {
            return LassoHypergradient(validationLoss: loss, hypergradient: 0, supportSize: 0, report: nil, nonUniqueness: nil)
        }
        // ∇_S L = −(2/n_val) X_val,Sᵀ r_val
        let fullGradient = try validation.multiplyTransposed(residual)
        let gradientS = support.map { -2 / nValidation * fullGradient[$0] }
        let ridge = problem.lambda * (1 - problem.l1Ratio)
        // Select the support's columns first: only X_S is converted to CSC, not all of X.
        let xs = try problem.design.selectingColumns(support).toCSC()
        let gram = try GramOperator(xs, shift: n * ridge)
        // Duplicated columns make X_SᵀX_S exactly singular (when there is no ridge part), yet
        // rounding can let Cholesky through with a huge, meaningless answer: detect them
        // structurally and take the minimum-norm solution of the consistent system (MINRES from
        // zero, unpreconditioned) instead.
        let duplicates = ridge == 0 ? Self.duplicatedColumns(xs) : 0
        let solver = duplicates > 0 ? LinearSolveStrategy(.minres, options: strategy.options, jacobi: false) : strategy
        let u = try solver.solve(gram, gradientS.map { n * $0 })
        let alpha = problem.l1Ratio
        var dot = 0.0
        for (k, j) in support.enumerated() {
            let direction = alpha * (w[j] > 0 ? 1 : -1) + (1 - alpha) * w[j]
            dot += u[k] * direction
        }
        var reason: String?
        if duplicates > 0 {
            reason = "the support holds \(duplicates) duplicated column\(duplicates == 1 ? "" : "s") among \(support.count): X_SᵀX_S is singular, the solution is not unique, and the minimum-norm derivative was taken (MINRES)"
        } else if let report = solver.lastReport, report.fellBack {
            reason = "the support's Gram matrix is singular or indefinite (\(report.reason)); the derivative is not unique and the minimum-norm one was taken (\(report.method.rawValue))"
        }
        return LassoHypergradient(validationLoss: loss, hypergradient: -problem.lambda * dot, supportSize: support.count,
                                  report: solver.lastReport, nonUniqueness: reason)
    }

    /// Columns identical (pattern and values) to an earlier column. O(nnz log p).
    static func duplicatedColumns(_ x: CSCMatrix) -> Int {
        var seen = Set<[Double]>()
        var duplicates = 0
        for j in 0..<x.columns {
            var key: [Double] = []
            for k in x.columnPointers[j]..<x.columnPointers[j + 1] {
                key.append(Double(x.rowIndices[k]))
                key.append(x.values[k])
            }
            if !seen.insert(key).inserted { duplicates += 1 }
        }
        return duplicates
    }
}
