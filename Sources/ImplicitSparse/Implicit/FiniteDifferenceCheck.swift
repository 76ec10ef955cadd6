import _Differentiation
import Foundation

/// The check every user-written condition deserves: the implicit derivative of an outer loss
/// along a direction t of θ against the central difference (L(x*(θ + ht)) − L(x*(θ − ht)))/2h,
/// each side solved by the condition's own solver. Its truncation error is O(h²) and its
/// rounding error about ε_solve/h, so h is the caller's to choose against the solver's
/// accuracy (10⁻⁵ for a solve to 10⁻¹²).
public struct FiniteDifferenceCheck: Sendable {
    /// ⟨∇θ L, t⟩ from the implicit function theorem.
    public var implicit: Double
    /// The central difference along t.
    public var finiteDifference: Double
    public var step: Double
    /// |implicit − finite difference| / max(|finite difference|, 10⁻³⁰⁰).
    public var relativeDifference: Double { abs(implicit - finiteDifference) / max(abs(finiteDifference), 1e-300) }

    static func central(_ value: (DifferentiableVector) throws -> Double, at theta: DifferentiableVector, direction t: DifferentiableVector,
                        step h: Double) throws -> Double {
        guard h > 0, h.isFinite else { throw SparseError.invalidArgument("the finite-difference step must be positive and finite, got \(h)") }
        let n = theta.count
        let td = t.dense(count: n)
        guard td.count == n, t.count == n else {
            throw SparseError.dimensionMismatch(operation: "FiniteDifferenceCheck", expected: "a direction of \(n) components", actual: "\(t.count)")
        }
        let plus = DifferentiableVector((0..<n).map { theta[$0] + h * td[$0] })
        let minus = DifferentiableVector((0..<n).map { theta[$0] - h * td[$0] })
        return (try value(plus) - value(minus)) / (2 * h)
    }
}

extension RootSolution where Hyperparameters == DifferentiableVector {
    /// The implicit derivative of `loss` along `direction` against a central difference with
    /// two solves (see `FiniteDifferenceCheck`).
    public func finiteDifferenceCheck(at theta: DifferentiableVector, direction: DifferentiableVector, step: Double = 1e-5,
                                      loss: @escaping @differentiable(reverse) (DifferentiableVector) -> Double) throws -> FiniteDifferenceCheck {
        let h = try hypergradient(at: theta, loss: loss)
        let implicit = zip(h.gradient.dense(count: theta.count), direction.dense(count: theta.count)).reduce(0) { $0 + $1.0 * $1.1 }
        let fd = try FiniteDifferenceCheck.central({ loss(try solve($0)) }, at: theta, direction: direction, step: step)
        return FiniteDifferenceCheck(implicit: implicit, finiteDifference: fd, step: step)
    }
}

extension ReducedFixedPointSolution where Hyperparameters == DifferentiableVector {
    /// The support-reduced derivative of `loss` along `direction` against a central difference
    /// with two solves (see `FiniteDifferenceCheck`).
    public func finiteDifferenceCheck(at theta: DifferentiableVector, direction: DifferentiableVector, step: Double = 1e-5,
                                      loss: @escaping @differentiable(reverse) (DifferentiableVector) -> Double) throws -> FiniteDifferenceCheck {
        let x = try solve(theta)
        let h = try fixedPoint.hypergradient(at: x, theta: theta, loss: loss)
        let implicit = zip(h.gradient.dense(count: theta.count), direction.dense(count: theta.count)).reduce(0) { $0 + $1.0 * $1.1 }
        let fd = try FiniteDifferenceCheck.central({ loss(try solve($0)) }, at: theta, direction: direction, step: step)
        return FiniteDifferenceCheck(implicit: implicit, finiteDifference: fd, step: step)
    }
}
