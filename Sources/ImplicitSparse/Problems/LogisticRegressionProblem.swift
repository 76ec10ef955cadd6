import Dispatch
import Foundation
import Sparse

/// ℓ₂-regularized logistic regression, labels yᵢ ∈ {0, 1}:
/// f(w) = (1/n) Σ [log(1 + exp(xᵢᵀw)) − yᵢ xᵢᵀw] + (λ/2)‖w‖², solved by Newton with the
/// Hessian XᵀDX/n + λI (D = σ(1 − σ)) in Gram form — CHOLMOD factorizes it from the scaled
/// rows of X without forming XᵀDX (`solve`) — or matrix-free by Newton-CG (Hessian-vector
/// products, Jacobi-preconditioned) or L-BFGS (`solveSmooth`).
public struct LogisticRegressionProblem: Sendable {
    public let design: CSRMatrix
    public let labels: [Double]
    public let lambda: Double

    /// - Throws: `.dimensionMismatch`, `.invalidArgument` (labels not 0/1, λ ≤ 0 or not finite).
    public init(design: CSRMatrix, labels: [Double], lambda: Double) throws {
        guard labels.count == design.rows else {
            throw SparseError.dimensionMismatch(operation: "LogisticRegressionProblem", expected: "\(design.rows) labels", actual: "\(labels.count)")
        }
        if let bad = labels.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw SparseError.invalidArgument("label \(bad) is \(labels[bad]); labels must be 0 or 1")
        }
        guard lambda > 0, lambda.isFinite else { throw SparseError.invalidArgument("λ must be positive and finite, got \(lambda)") }
        self.design = design
        self.labels = labels
        self.lambda = lambda
    }

    var n: Double { Double(design.rows) }

    public func objective(_ w: [Double]) -> Double {
        let z = try! design.multiply(w)
        var total = 0.0
        for i in 0..<z.count { total += SparseLogisticRegression.softplus(z[i]) - labels[i] * z[i] }
        return total / n + lambda / 2 * w.reduce(0) { $0 + $1 * $1 }
    }

    public func gradient(_ w: [Double]) -> [Double] { objectiveAndGradient(w).gradient }

    /// XᵀDX/n + λI in Gram form: the rows of X scaled by √(Dᵢ/n).
    public func hessian(_ w: [Double]) throws -> NewtonSolver.Hessian {
        let z = try design.multiply(w)
        let scales = z.map { value -> Double in
            let s = SparseLogisticRegression.sigmoid(value)
            return (s * (1 - s) / n).squareRoot()
        }
        return .gram(try design.scalingRows(by: scales), shift: lambda)
    }

    public func solve(tolerance: Double = 1e-10, warmStart: [Double]? = nil) throws -> NewtonSolver.Result {
        var options = NewtonSolver.Options()
        options.tolerance = tolerance
        return try NewtonSolver(options: options).minimize(from: warmStart ?? [Double](repeating: 0, count: design.columns),
                                                           objective: objective, gradient: gradient, hessian: hessian)
    }

    /// f(w) and ∇f(w) from one product with X and one with Xᵀ.
    public func objectiveAndGradient(_ w: [Double]) -> (value: Double, gradient: [Double]) {
        let z = try! design.multiply(w)
        var total = 0.0
        var r = [Double](repeating: 0, count: z.count)
        for i in 0..<z.count {
            total += SparseLogisticRegression.softplus(z[i]) - labels[i] * z[i]
            r[i] = SparseLogisticRegression.sigmoid(z[i]) - labels[i]
        }
        var gradient = try! design.multiplyTransposed(r)
        var norm2 = 0.0
        for j in 0..<gradient.count { gradient[j] = gradient[j] / n + lambda * w[j]; norm2 += w[j] * w[j] }
        return (total / n + lambda / 2 * norm2, gradient)
    }

    /// The Hessian at w as products v ↦ XᵀD(Xv)/n + λv, with its diagonal Σᵢ Dᵢxᵢⱼ²/n + λ.
    public func hessianProducts(_ w: [Double]) -> (product: ([Double]) -> [Double], diagonal: [Double]?) {
        let z = try! design.multiply(w)
        let weights = z.map { value -> Double in
            let s = SparseLogisticRegression.sigmoid(value)
            return s * (1 - s) / n
        }
        var diagonal = [Double](repeating: lambda, count: design.columns)
        for i in 0..<design.rows {
            for k in design.rowPointers[i]..<design.rowPointers[i + 1] {
                diagonal[Int(design.columnIndices[k])] += weights[i] * design.values[k] * design.values[k]
            }
        }
        let x = design, shift = lambda
        return ({ v in
            var xv = try! x.multiply(v)
            for i in 0..<xv.count { xv[i] *= weights[i] }
            let product = try! x.multiplyTransposed(xv)
            return (0..<product.count).map { product[$0] + shift * v[$0] }
        }, diagonal)
    }

    /// The matrix-free smooth solvers.
    public enum SmoothMethod: String, CaseIterable, Sendable {
        case newtonCG = "newton-cg"
        case lbfgs
    }

    /// Minimizes by Newton-CG or L-BFGS to ‖∇f‖∞ ≤ tolerance.
    public func solveSmooth(_ method: SmoothMethod, tolerance: Double = 1e-8, warmStart: [Double]? = nil) -> SmoothMinimizerResult {
        let start = warmStart ?? [Double](repeating: 0, count: design.columns)
        switch method {
        case .newtonCG:
            return NewtonCG().minimize(from: start, tolerance: tolerance, objective: objectiveAndGradient, hessian: hessianProducts)
        case .lbfgs:
            return LBFGS().minimize(from: start, tolerance: tolerance, objective: objectiveAndGradient)
        }
    }
}
