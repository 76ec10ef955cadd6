import _Differentiation
import Sparse

/// The solution x*(θ) of F(x, θ) = 0 as a differentiable function of θ: any solver finds x*
/// (outside of AD: never differentiate through a solver loop), and the derivative comes from
/// the implicit function theorem (DESIGN.md, "The mathematics"):
///
///     ∂F/∂x · J = −∂F/∂θ,   Jᵀg = −(∂F/∂θ)ᵀ u  with  (∂F/∂x)ᵀ u = g.
///
/// The adjoint system is solved matrix-free with the pullback of F with respect to x as the
/// operator v ↦ (∂F/∂x)ᵀ v (one pullback per Krylov iteration), by `strategy` (CG/MINRES when
/// `symmetricJacobian`, as for a stationarity condition ∇ₓf = 0, GMRES otherwise).
public struct RootSolution {
    public typealias Condition = @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector
    public typealias Solver = (DifferentiableVector) throws -> DifferentiableVector

    public let condition: Condition
    public let solver: Solver
    /// True when ∂F/∂x is symmetric (F is a gradient): the adjoint solve uses MINRES.
    public let symmetricJacobian: Bool
    public let strategy: LinearSolveStrategy

    public init(condition: @escaping Condition, symmetricJacobian: Bool = false,
                strategy: LinearSolveStrategy = LinearSolveStrategy(), solver: @escaping Solver) {
        self.condition = condition
        self.solver = solver
        self.symmetricJacobian = symmetricJacobian
        self.strategy = strategy
    }

    /// x*(θ), differentiable with respect to θ.
    @differentiable(reverse, wrt: theta)
    public func callAsFunction(_ theta: DifferentiableVector) -> DifferentiableVector {
        solveWithoutDerivative(theta)
    }

    func solveWithoutDerivative(_ theta: DifferentiableVector) -> DifferentiableVector {
        do { return try solver(theta) } catch {
            preconditionFailure("RootSolution: the inner solver failed: \(error)")
        }
    }

    @derivative(of: callAsFunction, wrt: theta)
    public func vjpSolution(_ theta: DifferentiableVector)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
        let x = solveWithoutDerivative(theta)
        return (x, { g in (try? adjoint(x: x, theta: theta, cotangent: g)) ?? DifferentiableVector(repeating: .nan, count: theta.count) })
    }

    /// Jᵀg at (x*, θ): solve (∂F/∂x)ᵀ u = g, return −(∂F/∂θ)ᵀ u. Throws the linear solver's
    /// typed errors (a singular Jacobian, a Krylov method that did not converge).
    public func adjoint(x: DifferentiableVector, theta: DifferentiableVector,
                        cotangent g: DifferentiableVector) throws -> DifferentiableVector {
        let n = x.count
        let (_, pullback) = valueWithPullback(at: x, theta, of: condition)
        let jacobianTranspose = try ClosureOperator(rows: n, columns: n, symmetric: symmetricJacobian) { v, out in
            let (dx, _) = pullback(DifferentiableVector(Array(v)))
            let dense = dx.dense(count: n)
            for i in 0..<n { out[i] = dense[i] }
        }
        let u = try strategy.solve(jacobianTranspose, g.dense(count: n))
        let (_, dtheta) = pullback(DifferentiableVector(u))
        return DifferentiableVector(dtheta.dense(count: theta.count).map { -$0 })
    }

    /// The hypergradient ∇θ L(x*(θ)) of an outer loss, with the linear solve's report.
    public func hypergradient(at theta: DifferentiableVector,
                              loss: @differentiable(reverse) (DifferentiableVector) -> Double) throws
        -> (value: Double, gradient: DifferentiableVector, report: LinearSolveReport?) {
        let x = try solver(theta)
        let (value, lossGradient) = valueWithGradient(at: x, of: loss)
        let g = try adjoint(x: x, theta: theta, cotangent: lossGradient)
        return (value, g, strategy.lastReport)
    }
}

extension RootSolution {
    /// The fixed point x* = T(x*, θ) as a root of F = T − x (e.g. the proximal-gradient
    /// fixed point T = prox_{ηg}(x − η∇f(x))), differentiable with respect to θ.
    public static func fixedPoint(
        of map: @escaping @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector,
        strategy: LinearSolveStrategy = LinearSolveStrategy(),
        solver: @escaping Solver
    ) -> RootSolution {
        RootSolution(condition: { x, theta in map(x, theta) - x }, symmetricJacobian: false,
                     strategy: strategy, solver: solver)
    }
}
