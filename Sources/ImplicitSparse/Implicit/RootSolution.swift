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

// MARK: - Forward mode

/// A forward-mode sensitivity J·t with how it was computed.
public struct Sensitivity: Sendable {
    /// dx*/dθ · t.
    public var tangent: [Double]
    /// True when ∂F/∂θ·t came from a central finite difference (no forward product given).
    public var usedFiniteDifferenceInTheta: Bool
    /// True when products with ∂F/∂x came from central finite differences (unsymmetric ∂F/∂x:
    /// reverse-mode pullbacks only give (∂F/∂x)ᵀ).
    public var usedFiniteDifferenceInX: Bool
    /// Estimated error of the finite differences: ‖D(h) − D(2h)‖/3 of the right-hand side
    /// (Richardson), propagated through nothing; 0 when every product was exact.
    public var finiteDifferenceErrorEstimate: Double
    public var report: LinearSolveReport?
}

extension RootSolution {
    /// Forward mode: solve (∂F/∂x) w = −(∂F/∂θ) t at x*(θ).
    /// - Parameters:
    ///   - thetaProduct: the exact product (∂F/∂θ)·t at (x, θ) when the condition can supply it;
    ///     otherwise a central difference of F in the θ direction, with step `step`·max(1, ‖θ‖)/‖t‖,
    ///     is used and its error estimated.
    /// - Products with ∂F/∂x are exact (pullbacks) when `symmetricJacobian`; otherwise they are
    ///   central differences of F in x, and the Krylov method is GMRES.
    public func sensitivity(at theta: DifferentiableVector, direction t: DifferentiableVector,
                            thetaProduct: ((DifferentiableVector, DifferentiableVector, DifferentiableVector) -> [Double])? = nil,
                            step: Double = 1e-6) throws -> Sensitivity {
        guard t.count == theta.count else {
            throw SparseError.dimensionMismatch(operation: "RootSolution.sensitivity", expected: "direction of length \(theta.count)",
                                                actual: "length \(t.count)")
        }
        let x = try solver(theta)
        let n = x.count
        var errorEstimate = 0.0
        var b: [Double]
        if let thetaProduct {
            b = thetaProduct(x, theta, t).map { -$0 }
        } else {
            let tNorm = max(norm(t), 1e-300)
            let h = step * max(1, norm(theta)) / tNorm
            func difference(_ h: Double) -> [Double] {
                let plus = condition(x, theta + scale(h, t)).dense(count: n)
                let minus = condition(x, theta - scale(h, t)).dense(count: n)
                return (0..<n).map { (plus[$0] - minus[$0]) / (2 * h) }
            }
            let d1 = difference(h), d2 = difference(2 * h)
            errorEstimate = Vector.norm(zip(d1, d2).map { ($0 - $1) / 3 })
            b = d1.map { -$0 }
        }
        let jacobian: ClosureOperator
        if symmetricJacobian {
            let (_, pullback) = valueWithPullback(at: x, theta, of: condition)
            jacobian = try ClosureOperator(rows: n, columns: n, symmetric: true) { v, out in
                let dense = pullback(DifferentiableVector(Array(v))).0.dense(count: n)
                for i in 0..<n { out[i] = dense[i] }
            }
        } else {
            let xNorm = max(norm(x), 1)
            let condition = self.condition
            jacobian = try ClosureOperator(rows: n, columns: n) { v, out in
                let direction = DifferentiableVector(Array(v))
                let vNorm = norm(direction)
                guard vNorm > 0 else { for i in 0..<n { out[i] = 0 }; return }
                let h = step * xNorm / vNorm
                let plus = condition(x + scale(h, direction), theta).dense(count: n)
                let minus = condition(x - scale(h, direction), theta).dense(count: n)
                for i in 0..<n { out[i] = (plus[i] - minus[i]) / (2 * h) }
            }
        }
        let w = try strategy.solve(jacobian, b)
        return Sensitivity(tangent: w, usedFiniteDifferenceInTheta: thetaProduct == nil,
                           usedFiniteDifferenceInX: !symmetricJacobian,
                           finiteDifferenceErrorEstimate: errorEstimate, report: strategy.lastReport)
    }

    /// The full Jacobian dx*/dθ (n × dim θ, column-major: column k is J·e_k), by one forward
    /// solve per coordinate of θ — for small θ.
    public func jacobian(at theta: DifferentiableVector,
                         thetaProduct: ((DifferentiableVector, DifferentiableVector, DifferentiableVector) -> [Double])? = nil)
        throws -> [[Double]] {
        try (0..<theta.count).map { k in
            var e = [Double](repeating: 0, count: theta.count)
            e[k] = 1
            return try sensitivity(at: theta, direction: DifferentiableVector(e), thetaProduct: thetaProduct).tangent
        }
    }
}
