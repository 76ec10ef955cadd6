import _Differentiation
import Dispatch
import Foundation
import Sparse

/// The hypergradient of a held-out logistic loss with respect to log λ for sparse logistic
/// regression (ℓ1 or elastic net, `SparseLogisticRegression`), through `ProximalFixedPoint`:
/// the condition is w = prox_{ηλ(α‖·‖₁ + (1−α)/2‖·‖²)}(w − η∇f(w)) with
/// f(w) = (1/n) Σ log(1 + exp(−yᵢxᵢᵀw)) written with the differentiable primitives. On the
/// support S the adjoint system is
///
///     (X_SᵀDX_S/n + λ(1−α)I) z = rhs,   D = diag(σ(mᵢ)(1 − σ(mᵢ))), mᵢ = yᵢxᵢᵀw,
///
/// formed densely and factorized (rank-revealing Cholesky; the pseudo-inverse — the
/// minimum-norm solution's derivative — when duplicated columns make it singular) up to
/// `rankRevealLimit` columns; above it, with an ℓ2 part, solved by the strategy on the
/// weighted Gram operator (never formed), and for ℓ1 only in forward mode (MINRES on the
/// consistent system X_SᵀDX_S y = n·s: the minimum-norm derivative even when singular).
public enum LogisticHypergradient {
    /// The held-out mean logistic loss (1/n_v) Σ log(1 + exp(−yᵢxᵢᵀw)) and its gradient in w.
    public static func heldOutLossAndGradient(_ w: [Double], validation: CSRMatrix, labels: [Double]) throws -> (loss: Double, gradient: [Double]) {
        let margins = try validation.multiply(w)
        let nv = Double(max(validation.rows, 1))
        var loss = 0.0
        var weights = [Double](repeating: 0, count: labels.count)
        for i in 0..<labels.count {
            let m = labels[i] * margins[i]
            loss += SparseLogisticRegression.softplus(-m)
            weights[i] = -labels[i] * SparseLogisticRegression.sigmoid(-m) / nv
        }
        return (loss / nv, try validation.multiplyTransposed(weights))
    }

    /// d L / d log λ for a loss L with gradient `lossGradient` at the solution w of `problem`.
    public static func gradient(problem: SparseLogisticRegression, solution w: [Double], lossGradient: [Double],
                                strategy: LinearSolveStrategy, designCSC: CSCMatrix? = nil,
                                rankRevealLimit: Int = 2000) throws -> (derivative: Double, supportSize: Int) {
        let p = problem.design.columns, n = Double(problem.design.rows)
        guard w.count == p, lossGradient.count == p else {
            throw SparseError.dimensionMismatch(operation: "LogisticHypergradient.gradient", expected: "\(p) weights and loss gradient entries",
                                                actual: "\(w.count) and \(lossGradient.count)")
        }
        let csc = designCSC ?? problem.design.toCSC()
        let x = try DesignMatrix(rowMajor: problem.design, columnMajor: csc)
        let labels = DifferentiableVector(problem.labels)
        let alpha = problem.l1Ratio
        // The curvature weights at the solution, for the explicit reduced system.
        let margins = try problem.design.multiply(w)
        let curvature = (0..<margins.count).map { i -> Double in
            let s = SparseLogisticRegression.sigmoid(problem.labels[i] * margins[i])
            return s * (1 - s)
        }
        // ℓ1 only, above the dense limit: the reduced Hessian H_SS = X_SᵀDX_S/n is singular when
        // the support holds duplicated or dependent columns, and the adjoint's right-hand side
        // need not lie in its range. The forward system H_SS y = s (s the signs) is consistent
        // — λs = −∇_S f lies in range(X_Sᵀ) = range(H_SS) — so MINRES from zero converges to
        // the minimum-norm y = H_SS⁺ s, and dL/d log λ = −λ gᵀ_S y (the minimum-norm
        // solution's derivative, the lasso's forward mode).
        let nonzero = (0..<p).filter { w[$0] != 0 }
        if alpha == 1 && nonzero.count > rankRevealLimit {
            let gram = try GramOperator(try csc.selectingColumns(nonzero), weights: curvature)
            let (y, report) = try LassoAdjoint.minimumNormForward(
                gram, nonzero.map { n * (w[$0] > 0 ? 1.0 : -1.0) }, options: strategy.options,
                reason: "forward mode on X_SᵀDX_S y = n·s (ℓ1 support of \(nonzero.count) columns, above the dense limit; consistent even when singular): MINRES from zero, the minimum-norm solution")
            if let report { strategy.adopt(report) }
            return (-problem.lambda * zip(nonzero, y).reduce(0) { $0 + lossGradient[$1.0] * $1.1 }, nonzero.count)
        }
        let fixedPoint = try ProximalFixedPoint(
            gradient: { w, _ in
                let m = hadamard(labels, matvec(x, w))
                return scale(-1 / n, matvecTransposed(x, hadamard(labels, sigmoid(scale(-1, m)))))
            },
            prox: { v, theta in proxElasticNet(v, l1: alpha * sum(theta), l2: (1 - alpha) * sum(theta)) },
            step: 1, strategy: strategy,
            reducedSystem: { support, shift, rhs, strategy in
                guard let c = shift.first, shift.allSatisfy({ abs($0 - c) <= 1e-12 * max(abs(c), 1e-300) }) else { return .useOperator }
                let xs = try csc.selectingColumns(support)
                let k = support.count
                let scaled = rhs.map { n * $0 }
                if k <= rankRevealLimit {
                    // X_SᵀDX_S (+ nλ₂I) formed densely, declared semidefinite for ℓ1 only (the
                    // automatic policy's rank-revealing Cholesky: the minimum-norm solution and
                    // the rank when the support holds dependent columns).
                    let g = xs.toCSR().denseGram(weights: curvature, shift: n * max(c, 0))
                    let op = try DenseMatrixOperator(columnMajor: g, dimension: k, symmetric: true, positiveDefinite: c > 0,
                                                     positiveSemidefinite: c <= 0)
                    return .solution(try strategy.solve(op, scaled))
                }
                // Above the dense limit with an ℓ2 part the shifted Gram operator is positive
                // definite (ℓ1 only is answered in forward mode above).
                return .solution(try strategy.solve(try GramOperator(xs, weights: curvature, shift: n * max(c, 0)), scaled))
            },
            smoothDependsOnTheta: false)
        let (dtheta, reduction) = try fixedPoint.adjoint(x: DifferentiableVector(w), theta: DifferentiableVector([problem.lambda]),
                                                         cotangent: DifferentiableVector(lossGradient))
        return (problem.lambda * dtheta.dense(count: 1)[0], reduction.support.count)
    }
}
