import _Differentiation
import Foundation
import Sparse

/// A catalogue of optimality conditions (DESIGN.md, "The mathematics"; Blondel et al., 2022,
/// §2.2), each returned as a `RootSolution` that any solver can fill in:
///
/// | condition | F(x, θ) = 0 | ∂F/∂x |
/// |---|---|---|
/// | `stationary` | ∇ₓf(x, θ) | symmetric (MINRES/CG, Cholesky) |
/// | `proximalGradient` | prox_{ηg}(x − η∇ₓf) − x | unsymmetric; see `ProximalFixedPoint` for the support-reduced form |
/// | `projectedGradient` | proj_C(x − η∇ₓf) − x | unsymmetric |
/// | `mirrorDescentSimplex` | normalize(x ∘ exp(−η∇ₓf)) − x, blocks of x on simplices | unsymmetric |
/// | `QuadraticProgramKKT` | the KKT conditions of a QP with equalities and inequalities | unsymmetric |
/// A root solution over a vector of hyperparameters.
public typealias VectorRootSolution = RootSolution<DifferentiableVector>

public enum OptimalityConditions {
    public typealias Map = @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector

    /// x*(θ) = argmin f(x, θ) for a smooth f: F = ∇ₓf, whose Jacobian (the Hessian) is
    /// symmetric, and positive definite when f is strongly convex (`stronglyConvex`: the
    /// adjoint may then run CG). θ of any differentiable type.
    /// - Parameters:
    ///   - gradient: ∇ₓf(x, θ), written with the differentiable primitives.
    ///   - stronglyConvex: f is strongly convex in x (its Hessian positive definite).
    ///   - strategy: the named linear system of the adjoint solves.
    ///   - dimension: the length of x, checked on the solver's answer.
    ///   - hessian: ∇²ₓf as an explicit sparse matrix (Cholesky within the budgets).
    ///   - preconditioningHessian: a sparse matrix equal or close to ∇²ₓf for preconditioners
    ///     only (AMG when it is Laplacian-like), products staying matrix-free.
    ///   - solver: finds x*(θ), outside of AD.
    public static func stationary<Hyperparameters: Differentiable>(
        gradient: @escaping RootSolution<Hyperparameters>.Condition, stronglyConvex: Bool = false,
        strategy: LinearSolveStrategy = LinearSolveStrategy(), dimension: Int? = nil,
        hessian: RootSolution<Hyperparameters>.JacobianMatrix? = nil,
        preconditioningHessian: RootSolution<Hyperparameters>.JacobianMatrix? = nil,
        solver: @escaping RootSolution<Hyperparameters>.Solver) -> RootSolution<Hyperparameters> {
        RootSolution(condition: gradient, symmetricJacobian: true, positiveDefiniteJacobian: stronglyConvex, strategy: strategy,
                     dimension: dimension, explicitJacobian: hessian, preconditioningJacobian: preconditioningHessian, solver: solver)
    }

    /// The proximal-gradient fixed point x = prox(x − η∇ₓf(x, θ), θ) (`prox` includes the step).
    public static func proximalGradient(gradient: @escaping Map, prox: @escaping Map, step: Double,
                                        strategy: LinearSolveStrategy = LinearSolveStrategy(.gmres),
                                        dimension: Int? = nil, solver: @escaping VectorRootSolution.Solver) -> VectorRootSolution {
        RootSolution.fixedPoint(of: { x, theta in prox(x - scale(step, gradient(x, theta)), theta) },
                                strategy: strategy, dimension: dimension, solver: solver)
    }

    /// The projected-gradient fixed point x = proj_C(x − η∇ₓf(x, θ)) for min_{x ∈ C} f(x, θ)
    /// (`projection` may depend on θ, e.g. box bounds).
    public static func projectedGradient(gradient: @escaping Map, projection: @escaping Map, step: Double,
                                         strategy: LinearSolveStrategy = LinearSolveStrategy(.gmres),
                                         dimension: Int? = nil, solver: @escaping VectorRootSolution.Solver) -> VectorRootSolution {
        proximalGradient(gradient: gradient, prox: projection, step: step, strategy: strategy, dimension: dimension, solver: solver)
    }

    /// The mirror-descent fixed point with the entropy mirror map on a product of simplices:
    /// x = normalize_blocks(x ∘ exp(−η∇ₓf(x, θ))), consecutive blocks of `blockSize` entries
    /// each summing to one (e.g. the multiclass SVM dual, one simplex per sample).
    public static func mirrorDescentSimplex(gradient: @escaping Map, step: Double, blockSize: Int,
                                           strategy: LinearSolveStrategy = LinearSolveStrategy(.gmres),
                                           dimension: Int? = nil, solver: @escaping VectorRootSolution.Solver) -> VectorRootSolution {
        RootSolution.fixedPoint(of: { x, theta in
            normalizeBlocks(x .* exp(scale(-step, gradient(x, theta))), blockSize: blockSize)
        }, strategy: strategy, dimension: dimension, solver: solver)
    }
}

/// Each consecutive block of `blockSize` entries divided by its sum (entries must be positive
/// with positive block sums): the entropic (KL) projection onto a product of simplices.
@differentiable(reverse, wrt: v)
public func normalizeBlocks(_ v: DifferentiableVector, blockSize k: Int) -> DifferentiableVector {
    precondition(k > 0 && v.count % k == 0, "normalizeBlocks: length \(v.count) is not a multiple of \(k)")
    var out = v.scalars
    for start in stride(from: 0, to: out.count, by: k) {
        var total = 0.0
        for i in start..<start + k { total += out[i] }
        for i in start..<start + k { out[i] /= total }
    }
    return DifferentiableVector(out)
}

@derivative(of: normalizeBlocks, wrt: v)
@usableFromInline
func vjpNormalizeBlocks(_ v: DifferentiableVector, blockSize k: Int)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let y = normalizeBlocks(v, blockSize: k)
    return (y, { g in
        // y = v/s: ∂y_j/∂v_i = (δ_ij − y_j)/s, so the pullback is (g − ⟨g, y⟩_block)/s.
        let gs = g.dense(count: v.count)
        var out = [Double](repeating: 0, count: v.count)
        for start in stride(from: 0, to: v.count, by: k) {
            var total = 0.0, inner = 0.0
            for i in start..<start + k {
                total += v.scalars[i]
                inner += gs[i] * y.scalars[i]
            }
            for i in start..<start + k { out[i] = (gs[i] - inner) / total }
        }
        return DifferentiableVector(out)
    })
}

/// The KKT conditions of the quadratic program
///
///     min ½xᵀQx + cᵀx   subject to   Ax = b,  Gx ≤ h,
///
/// as a root of F(z, θ) with z = (x, ν, μ) (n + m_eq + m_ineq entries) and θ = (c, b, h):
///
///     Qx + c + Aᵀν + Gᵀμ = 0,   Ax − b = 0,   μ ∘ (Gx − h) = 0.
///
/// Differentiable at a solution with strict complementarity (μᵢ > 0 on every active
/// constraint). Q, A and G are fixed sparse matrices (Q symmetric); any QP solver may supply z.
public struct QuadraticProgramKKT {
    public let q: CSRMatrix
    public let a: CSRMatrix?
    public let g: CSRMatrix?
    public var variables: Int { q.rows }
    public var equalities: Int { a?.rows ?? 0 }
    public var inequalities: Int { g?.rows ?? 0 }

    /// - Throws: `.dimensionMismatch` when Q is not square or A, G do not have n columns.
    public init(q: CSRMatrix, a: CSRMatrix? = nil, g: CSRMatrix? = nil) throws {
        guard q.rows == q.columns else {
            throw SparseError.dimensionMismatch(operation: "QuadraticProgramKKT", expected: "a square Q", actual: "\(q.rows) × \(q.columns)")
        }
        for (name, m) in [("A", a), ("G", g)] {
            if let m, m.columns != q.rows {
                throw SparseError.dimensionMismatch(operation: "QuadraticProgramKKT", expected: "\(name) with \(q.rows) columns",
                                                    actual: "\(m.columns)")
            }
        }
        self.q = q
        self.a = a
        self.g = g
    }

    /// F(z, θ), θ = (c, b, h).
    public var condition: VectorRootSolution.Condition {
        let (q, a, g) = (self.q, self.a, self.g)
        let n = variables, me = equalities, mi = inequalities
        let xIndices = Array(0..<n), nuIndices = Array(n..<n + me), muIndices = Array(n + me..<n + me + mi)
        let total = n + me + mi
        return { z, theta in
            let x = gather(z, xIndices)
            let c = gather(theta, xIndices)
            var stationarity = matvec(q, x) + c
            var out = DifferentiableVector.zero
            if let a {
                let nu = gather(z, nuIndices)
                stationarity = stationarity + matvecTransposed(a, nu)
                let b = gather(theta, nuIndices)
                out = out + scatter(matvec(a, x) - b, nuIndices, count: total)
            }
            if let g {
                let mu = gather(z, muIndices)
                stationarity = stationarity + matvecTransposed(g, mu)
                let h = gather(theta, muIndices)
                out = out + scatter(mu .* (matvec(g, x) - h), muIndices, count: total)
            }
            return out + scatter(stationarity, xIndices, count: total)
        }
    }

    /// The solution z*(θ) from any solver, differentiable in θ = (c, b, h).
    public func solution(strategy: LinearSolveStrategy = LinearSolveStrategy(.gmres),
                         solver: @escaping VectorRootSolution.Solver) -> VectorRootSolution {
        RootSolution(condition: condition, symmetricJacobian: false, strategy: strategy,
                     dimension: variables + equalities + inequalities, solver: solver)
    }
}
