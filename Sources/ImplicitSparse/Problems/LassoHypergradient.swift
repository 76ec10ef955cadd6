import Dispatch
import Foundation
import Sparse

/// The hypergradient of a validation loss with respect to log λ for the lasso / elastic net
/// (with or without an intercept), through `ProximalFixedPoint`: the condition is the
/// proximal-gradient fixed point w = prox_{ηλ(α‖·‖₁ + (1−α)/2‖·‖²)}(w − η∇f(w)) written with
/// the differentiable primitives, and the support S and the elastic net's curvature on it come
/// from the prox's Jacobian, not from a lasso-specific formula (Bertrand et al., 2020, derive
/// the same reduced system by hand). On S the adjoint system is
///
///     (X̃_SᵀX̃_S/n + λ(1−α)I) z = −∇_S L / η,
///
/// solved through `LinearSolveStrategy` on the Gram operator of X_S (CHOLMOD factorize_p on
/// X_Sᵀ, X_SᵀX_S never formed; Krylov when over budget). With an intercept X̃_SᵀX̃_S =
/// X_SᵀX_S − nμ_Sμ_Sᵀ, handled by Sherman–Morrison on the same factor. When X_S is rank
/// deficient (duplicated or collinear columns) the solution is not unique: the result says so
/// and carries the minimum-norm derivative.
public struct LassoHypergradient: Sendable {
    public var validationLoss: Double
    public var hypergradient: Double
    public var supportSize: Int
    public var report: LinearSolveReport?
    /// Set when the reduced system was singular: why the derivative is not unique.
    public var nonUniqueness: String?

    /// - Parameters:
    ///   - validation: held-out (X_val, y_val); the loss is the mean squared error of
    ///     X_val w + b.
    ///   - step: η of the fixed point. Any η > 0 gives the same support and derivative (the
    ///     support test |w_j − η∇_j f| > ηλα and the curvature λ(1−α) do not depend on it);
    ///     default 1.
    ///   - designCSC: X in CSC order, if the caller already has it (saves a pass over X).
    public static func compute(problem: LassoProblem, solution w: [Double], validation: CSRMatrix,
                               validationTargets: [Double], strategy: LinearSolveStrategy,
                               step: Double? = nil, designCSC: CSCMatrix? = nil) throws -> LassoHypergradient {
        guard validation.columns == problem.design.columns, validationTargets.count == validation.rows,
              w.count == problem.design.columns else {
            throw SparseError.dimensionMismatch(operation: "LassoHypergradient",
                                                expected: "\(problem.design.columns) columns, \(validation.rows) validation targets, \(problem.design.columns) weights",
                                                actual: "\(validation.columns) columns, \(validationTargets.count) targets, \(w.count) weights")
        }
        let n = Double(problem.design.rows)
        let (loss, lossGradient) = try validationLossAndGradient(problem: problem, solution: w, validation: validation,
                                                                 validationTargets: validationTargets)

        // The condition, written with the primitives.
        // X in both orders: every product in the condition and its pullbacks is a gather.
        let x = try designCSC.map { try DesignMatrix(rowMajor: problem.design, columnMajor: $0) } ?? DesignMatrix(problem.design)
        let alpha = problem.l1Ratio
        let means = DifferentiableVector(problem.columnMeans), rowOnes = DifferentiableVector(repeating: 1, count: problem.design.rows)
        let centered = DifferentiableVector(problem.centeredTargets), fitIntercept = problem.fitIntercept
        let eta = step ?? 1
        let fixedPoint = try ProximalFixedPoint(
            gradient: { w, _ in
                var prediction = matvec(x, w)
                if fitIntercept { prediction = prediction - scale(dot(means, w), rowOnes) }
                return scale(1 / n, matvecTransposed(x, prediction - centered))
            },
            prox: { v, theta in
                proxElasticNet(v, l1: eta * alpha * sum(theta), l2: eta * (1 - alpha) * sum(theta))
            },
            step: eta, strategy: strategy,
            reducedSystem: { support, shift, rhs, strategy in
                try Self.solveReduced(problem: problem, support: support, shift: shift, rhs: rhs, strategy: strategy, designCSC: designCSC)
            },
            smoothDependsOnTheta: false)
        let theta = DifferentiableVector([problem.lambda])
        let (dtheta, reduction) = try fixedPoint.adjoint(x: DifferentiableVector(w), theta: theta,
                                                         cotangent: DifferentiableVector(lossGradient))
        var reason: String?
        if let report = reduction.report, report.fellBack {
            reason = "\(report.reason): the solution is not unique, and the minimum-norm derivative was taken (\(report.method))"
        }
        return LassoHypergradient(validationLoss: loss, hypergradient: problem.lambda * dtheta[0],
                                  supportSize: reduction.support.count, report: reduction.report, nonUniqueness: reason)
    }

    /// The validation MSE of X_val w + b and its gradient with respect to w, where the
    /// intercept's dependence b = ȳ − μᵀw adds −μ times the residual sum.
    public static func validationLossAndGradient(problem: LassoProblem, solution w: [Double], validation: CSRMatrix,
                                                 validationTargets: [Double]) throws -> (loss: Double, gradient: [Double]) {
        let p = problem.design.columns
        let nValidation = Double(validation.rows)
        let b = problem.intercept(w)
        let residual = zip(validationTargets, try validation.multiply(w)).map { $0 - $1 - b }
        let loss = residual.reduce(0) { $0 + $1 * $1 } / nValidation
        // ∇L = −(2/n_val) X̃_valᵀ r_val.
        var lossGradient = try validation.multiplyTransposed(residual)
        let residualSum = residual.reduce(0, +)
        for j in 0..<p {
            lossGradient[j] = -2 / nValidation * (lossGradient[j] - (problem.fitIntercept ? problem.columnMeans[j] * residualSum : 0))
        }
        return (loss, lossGradient)
    }

    /// (X̃_SᵀX̃_S/n + c I) z = rhs when the shift c is uniform on S (it is λ(1−α) for the elastic
    /// net), else nil (the caller goes matrix-free).
    static func solveReduced(problem: LassoProblem, support: [Int], shift: [Double], rhs: [Double],
                             strategy: LinearSolveStrategy, designCSC: CSCMatrix?) throws -> [Double]? {
        guard let c = shift.first, shift.allSatisfy({ abs($0 - c) <= 1e-12 * max(abs(c), 1e-300) || abs($0 - c) < 1e-300 })
        else { return nil }
        let n = Double(problem.design.rows)
        // X_S: copied out of a CSC of X when the caller has one (the coordinate-descent
        // solver does), else selected from the CSR and converted.
        let xs = try designCSC.map { try $0.selectingColumns(support) } ?? problem.design.selectingColumns(support).toCSC()
        let gram = try GramOperator(xs, shift: n * max(c, 0))
        // Duplicated columns make X_SᵀX_S exactly singular (when there is no ridge part), yet
        // rounding can let Cholesky through with a huge, meaningless answer: detect them
        // structurally and take the minimum-norm solution (MINRES from zero, unpreconditioned).
        let duplicates = c <= 0 ? duplicatedColumns(xs) : 0
        let singular = duplicates > 0
        let solver = singular ? LinearSolveStrategy(.minres, options: strategy.options, jacobi: false) : strategy
        let scaled = rhs.map { n * $0 }
        guard problem.fitIntercept else {
            let z = try solver.solve(gram, scaled)
            if singular, var report = solver.lastReport {
                report.fellBack = true
                report.reason = "the support holds \(duplicates) duplicated column(s) among \(support.count), so X_SᵀX_S is singular"
                strategy.adopt(report)
            }
            return z
        }
        // (K − n μμᵀ) z = r with K = X_SᵀX_S + ncI: Sherman–Morrison on K's factor, or, when
        // the centered matrix is singular or MINRES is needed, MINRES on the centered operator.
        let mu = support.map { problem.columnMeans[$0] }
        if !singular {
            let kr = try solver.solve(gram, scaled)
            let km = try solver.solve(gram, mu)
            let denominator = 1 - n * Vector.dot(mu, km)
            if denominator > 1e-10 {
                let factor = n * Vector.dot(mu, kr) / denominator
                return zip(kr, km).map { $0 + factor * $1 }
            }
        }
        let centered = try ClosureOperator(rows: support.count, columns: support.count, symmetric: true) { v, out in
            let gv = try! gram.apply(Array(v))
            let m = Vector.dot(mu, Array(v))
            for k in 0..<support.count { out[k] = gv[k] - n * mu[k] * m }
        }
        let minres = LinearSolveStrategy(.minres, options: strategy.options, jacobi: false)
        let z = try minres.solve(centered, scaled)
        if let report = minres.lastReport {
            var adopted = report
            adopted.fellBack = true
            adopted.reason = "the centered Gram matrix of the support is singular"
            strategy.adopt(adopted)
        }
        return z
    }

    /// Columns identical (pattern and values) to an earlier column: a 64-bit fingerprint per
    /// column, then an exact comparison within equal fingerprints. O(nnz), no allocation per
    /// column.
    static func duplicatedColumns(_ x: CSCMatrix) -> Int {
        let pointers = x.columnPointers, rows = x.rowIndices, values = x.values
        var byFingerprint: [UInt64: [Int]] = [:]
        var duplicates = 0
        for j in 0..<x.columns {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 &+ UInt64(pointers[j + 1] - pointers[j])
            for k in pointers[j]..<pointers[j + 1] {
                hash = (hash ^ UInt64(UInt32(bitPattern: rows[k]))) &* 0x100_0000_01b3
                hash = (hash ^ values[k].bitPattern) &* 0x100_0000_01b3
            }
            let candidates = byFingerprint[hash, default: []]
            let same = candidates.contains { i in
                pointers[i + 1] - pointers[i] == pointers[j + 1] - pointers[j]
                    && (0..<(pointers[j + 1] - pointers[j])).allSatisfy { o in
                        rows[pointers[i] + o] == rows[pointers[j] + o] && values[pointers[i] + o] == values[pointers[j] + o]
                    }
            }
            if same { duplicates += 1 } else { byFingerprint[hash, default: []].append(j) }
        }
        return duplicates
    }
}
