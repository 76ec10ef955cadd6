import _Differentiation
import Foundation
import Preconditioners
import Sparse

/// The solution x*(θ) of F(x, θ) = 0 as a differentiable function of θ: any solver finds x*
/// (outside of AD: never differentiate through a solver loop), and the derivative comes from
/// the implicit function theorem (DESIGN.md, "The mathematics"):
///
///     ∂F/∂x · J = −∂F/∂θ,   Jᵀg = −(∂F/∂θ)ᵀ u  with  (∂F/∂x)ᵀ u = g.
///
/// θ is any `Differentiable` type: a `DifferentiableVector`, a `Double`, or a struct of named
/// hyperparameters (`struct Hyper: Differentiable { var logLambda: Double; var logEpsilon:
/// Double }`); x is a `DifferentiableVector`. The adjoint system is solved by `strategy` — a
/// named linear system over any `LinearSolver` value, the automatic policy by default — either
/// on the explicit ∂F/∂x the condition supplies, or matrix-free with the pullback of F with
/// respect to x as the operator v ↦ (∂F/∂x)ᵀ v (one pullback per Krylov iteration). What the
/// condition declares of ∂F/∂x (symmetric, positive definite, a matrix for preconditioning)
/// reaches the policy as the operator's properties: a stationarity condition of a strongly
/// convex f with a Laplacian-like preconditioning matrix is solved by CG + AMG.
/// How a `RootSolution` obtains ∂F/∂x when the caller does not assemble it.
public enum JacobianOption: String, Sendable, CaseIterable {
    /// Pullbacks of F inside a Krylov method (no matrix).
    case matrixFree = "matrix-free"
    /// A sparse matrix from the detected pattern and colored products (`SparseJacobian`).
    case automaticSparse = "automatic"
}

public struct RootSolution<Hyperparameters: Differentiable> {
    public typealias Condition = @differentiable(reverse) (DifferentiableVector, Hyperparameters) -> DifferentiableVector
    public typealias Solver = (Hyperparameters) throws -> DifferentiableVector
    /// ∂F/∂x at (x, θ) as an explicit sparse matrix (a Hessian, a KKT matrix), or a matrix
    /// for preconditioning only.
    public typealias JacobianMatrix = (DifferentiableVector, Hyperparameters) throws -> CSRMatrix

    public let condition: Condition
    public let solver: Solver
    /// True when ∂F/∂x is symmetric (F is a gradient).
    public let symmetricJacobian: Bool
    /// True when ∂F/∂x is symmetric positive definite (the stationarity condition of a
    /// strongly convex f): the adjoint may run CG.
    public let positiveDefiniteJacobian: Bool
    public let strategy: LinearSolveStrategy
    /// Failures met inside Swift AD (where nothing can throw); see `checked(_:)`.
    public let diagnostics = SolutionDiagnostics()

    /// The length of x, when known: the solver's answer is checked against it before F is
    /// evaluated (the primitives trap on mismatched lengths, like Swift's arrays).
    public let dimension: Int?
    /// ∂F/∂x at (x, θ) as an explicit sparse matrix, when the condition can supply it: the
    /// strategy may then factorize it (Cholesky when symmetric — declared by
    /// `symmetricJacobian`, whatever the matrix's own flag —, LU otherwise, within the
    /// budgets), and forward mode uses it for exact products. Without it, everything is
    /// matrix-free from F's pullbacks.
    public let explicitJacobian: JacobianMatrix?
    /// A sparse matrix equal or close to ∂F/∂x, for building preconditioners only (AMG,
    /// IC(0), Jacobi) while the products stay matrix-free — e.g. I + λL for a
    /// Laplacian-regularized least-squares condition whose data term is a Gram operator.
    public let preconditioningJacobian: JacobianMatrix?
    /// Set when ∂F/∂x is assembled automatically (`jacobian: .automaticSparse` or a declared
    /// `jacobianPattern:`).
    public let sparseJacobian: SparseJacobian<Hyperparameters>?
    /// ∂F/∂x at (x, θ) as any operator that carries its own storage and vector space — a
    /// matrix distributed over processes (the PETSc backend's `DistributedMatrix`), which the
    /// strategy's solver (PETSc's, or the library's Krylov methods) solves with as it is.
    public let jacobianOperator: ((DifferentiableVector, Hyperparameters) throws -> any LinearOperator)?
    /// How x and F(x, θ) are split over processes (nil: whole in this process). With a
    /// distributed space, x, F and the outer loss's gradient are this process's parts, every
    /// norm is taken over the whole vector, and the hyperparameter cotangent −(∂F/∂θ)ᵀu — a sum
    /// over F's rows — is summed over the processes (θ's tangent must be `ProcessSummable`:
    /// `Double` and `DifferentiableVector` are). A single process is the one-part case of the
    /// same code.
    public let vectorSpace: VectorSpace?

    /// - Parameters:
    ///   - condition: F(x, θ), written with the differentiable primitives.
    ///   - symmetricJacobian: whether ∂F/∂x is symmetric.
    ///   - positiveDefiniteJacobian: whether ∂F/∂x is positive definite.
    ///   - strategy: the named linear system of the adjoint (and forward) solves; pass
    ///     `LinearSolveStrategy(solver:)` with any `LinearSolver` value, or share one with the
    ///     inner solver so both use one factorization.
    ///   - dimension: the length of x, checked on the solver's answer.
    ///   - explicitJacobian: ∂F/∂x as a sparse matrix at (x, θ), when available (see the property).
    ///   - preconditioningJacobian: a sparse matrix close to ∂F/∂x for preconditioners only (see the property).
    ///   - jacobian: `.matrixFree` (the default: pullbacks inside a Krylov method) or
    ///     `.automaticSparse`: ∂F/∂x assembled as a sparse matrix from the pattern detected in
    ///     the primitives F is written with (`SparsityDetection`), one vector–Jacobian product
    ///     per color (`SparseJacobian`; a star coloring when the Jacobian is declared
    ///     symmetric), checked against one more, and handed to the strategy as an explicit
    ///     matrix. Ignored when `explicitJacobian` is given.
    ///   - jacobianPattern: a declared superset of ∂F/∂x's nonzeros instead of the detected
    ///     one (implies `.automaticSparse`). Ignored when `explicitJacobian` is given.
    ///   - jacobianOperator: ∂F/∂x as an operator with its own storage (a distributed matrix;
    ///     see the property); takes precedence over the other Jacobian options.
    ///   - vectorSpace: how x and F are split over processes (see the property).
    ///   - solver: finds x*(θ), outside of AD.
    public init(condition: @escaping Condition, symmetricJacobian: Bool = false, positiveDefiniteJacobian: Bool = false,
                strategy: LinearSolveStrategy = LinearSolveStrategy(), dimension: Int? = nil,
                explicitJacobian: JacobianMatrix? = nil, preconditioningJacobian: JacobianMatrix? = nil,
                jacobian: JacobianOption = .matrixFree, jacobianPattern: CSRMatrix? = nil,
                jacobianOperator: ((DifferentiableVector, Hyperparameters) throws -> any LinearOperator)? = nil,
                vectorSpace: VectorSpace? = nil, solver: @escaping Solver) {
        self.condition = condition
        self.dimension = dimension
        self.jacobianOperator = jacobianOperator
        self.vectorSpace = vectorSpace
        if explicitJacobian == nil, jacobianPattern != nil || jacobian == .automaticSparse {
            let sparse = SparseJacobian<Hyperparameters>(condition: condition, pattern: jacobianPattern,
                                                         symmetric: symmetricJacobian || positiveDefiniteJacobian)
            self.sparseJacobian = sparse
            self.explicitJacobian = { x, theta in try sparse.matrix(x, theta) }
        } else {
            self.sparseJacobian = nil
            self.explicitJacobian = explicitJacobian
        }
        self.preconditioningJacobian = preconditioningJacobian
        self.solver = solver
        self.symmetricJacobian = symmetricJacobian || positiveDefiniteJacobian
        self.positiveDefiniteJacobian = positiveDefiniteJacobian
        self.strategy = strategy
    }

    /// x*(θ), differentiable with respect to θ.
    ///
    /// Swift's differentiable functions cannot throw, so a failure here (θ not finite, the
    /// solver throwing, a non-finite or wrongly sized x*, a singular ∂F/∂x in the pullback)
    /// never crashes: the value or the derivative is a vector of NaN and the typed error is
    /// recorded in `diagnostics`. Wrap the AD call in `checked { … }` to get it thrown.
    @differentiable(reverse, wrt: theta)
    public func callAsFunction(_ theta: Hyperparameters) -> DifferentiableVector {
        solveRecordingFailure(theta)
    }

    /// x*(θ) without derivatives; throws `ImplicitError` naming what went wrong.
    public func solve(_ theta: Hyperparameters) throws -> DifferentiableVector {
        try solveWithResidual(theta).x
    }

    /// x*(θ) and the condition's residual ‖F(x̂, θ)‖ at the solver's answer (Theorem 1 of
    /// Blondel et al.: the derivative is only as good as the solve).
    public func solveWithResidual(_ theta: Hyperparameters) throws -> (x: DifferentiableVector, conditionResidual: Double) {
        let x = try ImplicitError.runningSolver(solver, at: theta)
        let checked = try checkedSolution(x, theta, source: "the solver's x*")
        diagnostics.rememberDimension(x.count)
        return checked
    }

    func solveRecordingFailure(_ theta: Hyperparameters) -> DifferentiableVector {
        diagnostics.recordingFailure { try solve(theta) }
    }

    @derivative(of: callAsFunction, wrt: theta)
    @usableFromInline
    func vjpSolution(_ theta: Hyperparameters)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> Hyperparameters.TangentVector) {
        let x = solveRecordingFailure(theta)
        let diagnostics = self.diagnostics
        return (x, { g in
            do { return try adjoint(x: x, theta: theta, cotangent: g) } catch {
                diagnostics.record(error)
                return Finiteness.failureTangent(like: theta)
            }
        })
    }

    /// Runs `body` (typically Swift's `gradient(at:of:)` through this solution) and throws the
    /// first failure the solution recorded meanwhile, instead of letting NaN through.
    public func checked<T>(_ body: () throws -> T) throws -> T { try diagnostics.checked(body) }

    /// Jᵀg at (x*, θ): solve (∂F/∂x)ᵀ u = g, return −(∂F/∂θ)ᵀ u. Throws the linear solver's
    /// typed errors (a singular Jacobian, a Krylov method that did not converge).
    public func adjoint(x: DifferentiableVector, theta: Hyperparameters,
                        cotangent g: DifferentiableVector) throws -> Hyperparameters.TangentVector {
        let n = x.count
        let space = vectorSpace ?? VectorSpace(whole: n)
        // Checked on every process and agreed, so that a bad part on one process stops all.
        try space.agree("checking the adjoint's inputs") {
            guard g.count == n || g.count == 0 else {
                throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                    operation: "RootSolution.adjoint", expected: "a cotangent of length \(n)", actual: "length \(g.count)"))
            }
            if let bad = g.scalars.firstIndex(where: { !$0.isFinite }) {
                throw ImplicitError.invalidTheta(SparseError.nonFinite(what: "the outer loss gradient", index: space.localRange.lowerBound + bad))
            }
            if let bad = x.scalars.firstIndex(where: { !$0.isFinite }) {
                throw ImplicitError.solverFailed(SparseError.nonFinite(what: "the solver's x*", index: space.localRange.lowerBound + bad))
            }
        }
        // One pullback with respect to (x, θ) together. Pulling back with respect to x or θ
        // alone through a closure that captures the other (`valueWithPullback(at: theta) {
        // condition(x, $0) }`) returned wrong cotangents with Swift 6.3.1's AD for this
        // differentiable function value (the catalogue's tests caught it), so it is not used.
        let (_, pullback) = valueWithPullback(at: x, theta, of: condition)
        let u = try ImplicitError.mappingLinearSolveFailures {
            if let jacobianOperator {
                let operatorJacobian: any LinearOperator
                do { operatorJacobian = try space.agree("building ∂F/∂x") { try jacobianOperator(x, theta) } } catch {
                    throw ImplicitError.invalidCondition(error)
                }
                return try strategy.solve(operatorJacobian, g.dense(count: n), transposed: true)
            }
            if let explicit = try explicitMatrix(x, theta) {
                return try strategy.solve(explicit, g.dense(count: n), transposed: true)
            }
            return try strategy.solve(try adjointOperator(x: x, theta: theta, pullback: pullback), g.dense(count: n))
        }
        try space.agree("checking the adjoint solution") {
            if let bad = u.firstIndex(where: { !$0.isFinite }) {
                throw ImplicitError.singularJacobian(SparseError.nonFinite(what: "the adjoint solution", index: space.localRange.lowerBound + bad))
            }
        }
        let local: Hyperparameters.TangentVector = .zero - pullback(DifferentiableVector(u)).1
        guard space.isDistributed else { return local }
        // −(∂F/∂θ)ᵀu is a sum over F's rows: each process holds its rows' part.
        guard let summable = local as? any ProcessSummable, let summed = summable.summed(over: space) as? Hyperparameters.TangentVector else {
            throw ImplicitError.invalidCondition(SparseError.invalidArgument(
                "θ's tangent type \(Hyperparameters.TangentVector.self) cannot be summed over processes: make it ProcessSummable (Double and DifferentiableVector are)"))
        }
        return summed
    }

    /// (∂F/∂x)ᵀ as a matrix-free operator carrying what the condition declares: symmetric,
    /// positive definite, a preconditioning matrix (and its diagonal for Jacobi).
    func adjointOperator(x: DifferentiableVector, theta: Hyperparameters,
                         pullback: @escaping (DifferentiableVector) -> (DifferentiableVector, Hyperparameters.TangentVector)) throws
        -> ClosureOperator {
        let n = x.count
        // Normal-equations CG and transposed products need ∂F/∂x itself, which reverse mode
        // does not give: central differences of F in x (documented on `LinearSolveMethod.normalCG`).
        let forwardByDifferences: ClosureOperator.Product? = symmetricJacobian ? nil
            : jacobianProductByDifferences(x: x, theta: theta, step: 1e-6)
        var preconditioning: CSRMatrix?
        if let preconditioningJacobian {
            do { preconditioning = try preconditioningJacobian(x, theta) } catch { throw ImplicitError.invalidCondition(error) }
            if let m = preconditioning, m.rows != n || m.columns != n {
                throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                    operation: "RootSolution preconditioning Jacobian", expected: "\(n) × \(n)", actual: "\(m.rows) × \(m.columns)"))
            }
            if symmetricJacobian { preconditioning = preconditioning?.declaringSymmetric() }
            else { preconditioning = preconditioning?.transposed() }
        }
        return try ClosureOperator(rows: n, columns: n, symmetric: symmetricJacobian, positiveDefinite: positiveDefiniteJacobian,
                                   preconditioningMatrix: preconditioning, forward: { v, out in
            let (dx, _) = pullback(DifferentiableVector(Array(v)))
            let dense = dx.dense(count: n)
            for i in 0..<n { out[i] = dense[i] }
        }, adjoint: forwardByDifferences)
    }

    /// The hypergradient ∇θ L(x*(θ)) of an outer loss, with the linear solve's report and
    /// the condition's residual at x*.
    /// - Parameters:
    ///   - theta: θ.
    ///   - known: x*(θ) when the caller already has it (the inner solver is then not run
    ///     again; its residual ‖F(x*, θ)‖ is still measured and reported).
    ///   - loss: the outer loss L(x), written with the differentiable primitives.
    public func hypergradient(at theta: Hyperparameters, solution known: DifferentiableVector? = nil,
                              loss: @differentiable(reverse) (DifferentiableVector) -> Double) throws
        -> Hypergradient<Hyperparameters.TangentVector> {
        let (x, residual) = try known.map { try checkedSolution($0, theta) } ?? solveWithResidual(theta)
        var (value, lossGradient) = valueWithGradient(at: x, of: loss)
        // A distributed x: the loss is a sum over x's entries, each process's value its part's.
        if let vectorSpace { value = vectorSpace.sum(value) }
        let g = try adjoint(x: x, theta: theta, cotangent: lossGradient)
        var result = Hypergradient(value: value, gradient: g, report: strategy.lastReport, conditionResidual: residual)
        result.jacobian = jacobianSummary
        return result
    }

    /// How ∂F/∂x is obtained (and, when assembled automatically, its colors and seconds).
    public var jacobianSummary: JacobianSummary {
        if let sparseJacobian { return sparseJacobian.summary }
        return JacobianSummary(source: explicitJacobian == nil && jacobianOperator == nil ? .matrixFree : .assembled)
    }

    /// An x* (the solver's or a caller's): checked for finiteness and length before F is
    /// evaluated (the primitives trap on mismatched lengths), and its residual ‖F(x, θ)‖.
    func checkedSolution(_ x: DifferentiableVector, _ theta: Hyperparameters, source: String = "the given x*") throws
        -> (x: DifferentiableVector, conditionResidual: Double) {
        let space = vectorSpace ?? VectorSpace(whole: x.count)
        try space.agree("checking x*") {
            do { try Finiteness.check(theta, "θ") } catch { throw ImplicitError.invalidTheta(error) }
            if let bad = x.scalars.firstIndex(where: { !$0.isFinite }) {
                throw ImplicitError.solverFailed(SparseError.nonFinite(what: source, index: space.localRange.lowerBound + bad))
            }
            if let dimension, x.count != dimension {
                throw ImplicitError.solverFailed(SparseError.dimensionMismatch(
                    operation: "RootSolution", expected: "x* of length \(dimension)", actual: "length \(x.count)"))
            }
        }
        let residual = condition(x, theta)
        try space.agree("evaluating F(x*, θ)") {
            guard residual.count == x.count else {
                throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                    operation: "RootSolution", expected: "F(x, θ) of length \(x.count) (the length of x*)",
                    actual: "length \(residual.count)"))
            }
        }
        return (x, vectorSpace == nil ? norm(residual) : space.norm(residual.scalars))
    }
}

/// A hyperparameter cotangent that can be summed over processes: with x and F distributed by
/// rows, −(∂F/∂θ)ᵀu is the sum of every process's part (`RootSolution.vectorSpace`). Conform
/// a struct of hyperparameters by summing its fields (`space.sum([a, b])`).
public protocol ProcessSummable {
    /// Self summed over the processes of `space` (collective).
    func summed(over space: VectorSpace) -> Self
}

extension Double: ProcessSummable {
    public func summed(over space: VectorSpace) -> Double { space.sum(self) }
}

extension DifferentiableVector: ProcessSummable {
    public func summed(over space: VectorSpace) -> DifferentiableVector { DifferentiableVector(space.sum(scalars)) }
}

/// A hypergradient with how it was obtained.
public struct Hypergradient<Gradient> {
    /// The outer loss L(x*(θ)).
    public var value: Double
    /// ∇θ L(x*(θ)).
    public var gradient: Gradient
    /// The adjoint solve's report (method, reason, residual of the linear system).
    public var report: LinearSolveReport?
    /// How ∂F/∂x was obtained, for `RootSolution` hypergradients (nil elsewhere).
    public var jacobian: JacobianSummary? = nil
    /// ‖F(x̂, θ)‖ at the solver's answer: the derivative's error is proportional to it.
    public var conditionResidual: Double
    /// The size of the reduced system's support, for a support-reduced derivative (nil otherwise).
    public var supportSize: Int? = nil
    /// False when the reduced system was singular (x* not unique): the derivative is then
    /// that of the minimum-norm solution.
    public var unique = true
    /// Why the derivative is not unique, when it is not (`unique` false).
    public var nonUniqueness: String? = nil
    /// The rank of the reduced system when a dense factorization revealed it, else nil.
    public var rank: Int? = nil
    /// At a kink of the solution path (a support change, a group split): the one-sided
    /// derivatives, left (θ decreasing) and right (θ increasing), and what the kink is; nil
    /// away from kinks or where the model does not detect them.
    public var leftDerivative: Gradient? = nil
    public var rightDerivative: Gradient? = nil
    public var kink: String? = nil
    /// Set when the derivative is not certified to the accuracy its inputs suggest, and how
    /// far it may be off (graph TV's fused groups not certified exact, for one).
    public var warning: String? = nil
}

extension RootSolution {
    /// The fixed point x* = T(x*, θ) as a root of F = T − x (e.g. the proximal-gradient
    /// fixed point T = prox_{ηg}(x − η∇f(x))), differentiable with respect to θ.
    public static func fixedPoint(
        of map: @escaping @differentiable(reverse) (DifferentiableVector, Hyperparameters) -> DifferentiableVector,
        strategy: LinearSolveStrategy = LinearSolveStrategy(),
        dimension: Int? = nil,
        solver: @escaping Solver
    ) -> RootSolution {
        RootSolution(condition: { x, theta in map(x, theta) - x }, symmetricJacobian: false,
                     strategy: strategy, dimension: dimension, solver: solver)
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

extension RootSolution where Hyperparameters == DifferentiableVector {
    /// Forward mode: solve (∂F/∂x) w = −(∂F/∂θ) t at x*(θ).
    /// - Parameters:
    ///   - theta: θ.
    ///   - t: the direction in θ.
    ///   - step: the relative step of the finite difference in θ when `thetaProduct` is nil.
    ///   - thetaProduct: the exact product (∂F/∂θ)·t at (x, θ) when the condition can supply it;
    ///     otherwise, with `jacobian: .automaticSparse`, ∂F/∂θ assembled from its detected
    ///     pattern when its row coloring needs at most `SparseJacobian.hyperparameterColorLimit`
    ///     colors (a per-pair or per-node θ; exact); otherwise a central difference of F in the θ
    ///     direction, with step `step`·max(1, ‖θ‖)/‖t‖, with its error estimated (inexact where
    ///     F has kinks within the step: write θ per pair then, as `isparse paper md` does).
    /// - Products with ∂F/∂x are exact (pullbacks) when `symmetricJacobian`; otherwise they are
    ///   central differences of F in x, and the Krylov method is GMRES.
    public func sensitivity(at theta: DifferentiableVector, direction t: DifferentiableVector,
                            thetaProduct: ((DifferentiableVector, DifferentiableVector, DifferentiableVector) -> [Double])? = nil,
                            step: Double = 1e-6) throws -> Sensitivity {
        guard t.count == theta.count else {
            throw SparseError.dimensionMismatch(operation: "RootSolution.sensitivity", expected: "direction of length \(theta.count)",
                                                actual: "length \(t.count)")
        }
        if vectorSpace?.isDistributed == true || jacobianOperator != nil {
            throw ImplicitError.invalidCondition(SparseError.invalidArgument(
                "forward sensitivities take an explicit or matrix-free ∂F/∂x in one process; use the adjoint (hypergradient) with jacobianOperator or a distributed x"))
        }
        let x = try solve(theta)
        let n = x.count
        var errorEstimate = 0.0
        var b: [Double]
        var automaticTheta = false
        if let thetaProduct {
            b = thetaProduct(x, theta, t).map { -$0 }
        } else if let sparseJacobian, let thetaMatrix = try sparseJacobian.hyperparameterMatrix(x, theta) {
            // Automatic sparse ∂F/∂θ (θ with a sparse Jacobian, e.g. per pair): exact.
            b = try thetaMatrix.multiply(t.scalars).map { -$0 }
            automaticTheta = true
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
        if let explicit = try explicitMatrix(x, theta) {
            let w: [Double]
            do { w = try strategy.solve(explicit, b) } catch { throw ImplicitError.singularJacobian(error) }
            return Sensitivity(tangent: w, usedFiniteDifferenceInTheta: thetaProduct == nil && !automaticTheta, usedFiniteDifferenceInX: false,
                               finiteDifferenceErrorEstimate: errorEstimate, report: strategy.lastReport)
        }
        let jacobian: ClosureOperator
        if symmetricJacobian {
            let (_, pullback) = valueWithPullback(at: x, theta, of: condition)
            jacobian = try adjointOperator(x: x, theta: theta, pullback: pullback)
        } else {
            jacobian = try ClosureOperator(rows: n, columns: n, forward: jacobianProductByDifferences(x: x, theta: theta, step: step))
        }
        let w: [Double]
        do { w = try strategy.solve(jacobian, b) } catch { throw ImplicitError.singularJacobian(error) }
        return Sensitivity(tangent: w, usedFiniteDifferenceInTheta: thetaProduct == nil && !automaticTheta,
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

extension RootSolution {
    /// v ↦ (∂F/∂x)·v by a central difference of F in x with step `step`·max(1, ‖x‖)/‖v‖ (reverse
    /// mode gives only (∂F/∂x)ᵀ).
    func jacobianProductByDifferences(x: DifferentiableVector, theta: Hyperparameters, step: Double) -> ClosureOperator.Product {
        let condition = self.condition
        let n = x.count
        let xNorm = max(norm(x), 1)
        return { v, out in
            let direction = DifferentiableVector(Array(v))
            let vNorm = norm(direction)
            guard vNorm > 0 else { for i in 0..<n { out[i] = 0 }; return }
            let h = step * xNorm / vNorm
            let plus = condition(x + scale(h, direction), theta).dense(count: n)
            let minus = condition(x - scale(h, direction), theta).dense(count: n)
            for i in 0..<n { out[i] = (plus[i] - minus[i]) / (2 * h) }
        }
    }

    /// The condition's explicit ∂F/∂x at (x, θ), checked for shape and finiteness.
    func explicitMatrix(_ x: DifferentiableVector, _ theta: Hyperparameters) throws -> CSRMatrix? {
        guard let explicitJacobian else { return nil }
        let m: CSRMatrix
        do { m = try explicitJacobian(x, theta) } catch { throw ImplicitError.invalidCondition(error) }
        guard m.rows == x.count, m.columns == x.count else {
            throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                operation: "RootSolution explicit Jacobian", expected: "\(x.count) × \(x.count)", actual: "\(m.rows) × \(m.columns)"))
        }
        if let bad = m.values.firstIndex(where: { !$0.isFinite }) {
            throw ImplicitError.invalidCondition(SparseError.nonFinite(what: "explicit Jacobian values", index: bad))
        }
        // The condition's declaration decides, not the matrix's flag (`replacingValues`
        // clears it): a declared-symmetric Jacobian goes to Cholesky.
        return symmetricJacobian ? m.declaringSymmetric() : m
    }
}

// MARK: - Failures

/// What went wrong in an implicit solution; each case wraps the typed error underneath.
public enum ImplicitError: Error, CustomStringConvertible {
    /// θ (or the outer loss gradient) holds NaN or ±Inf.
    case invalidTheta(Error)
    /// The inner solver threw, or returned a non-finite x*.
    case solverFailed(Error)
    /// F(x, θ) has the wrong shape.
    case invalidCondition(Error)
    /// The linear solve with ∂F/∂x failed: ∂F/∂x is singular or too ill-conditioned for the
    /// chosen method (the underlying factorization or Krylov error says which).
    case singularJacobian(Error)

    public var description: String {
        switch self {
        case let .invalidTheta(e): return "invalid θ: \(e)"
        case let .solverFailed(e): return "the inner solver failed: \(e)"
        case let .invalidCondition(e): return "invalid optimality condition: \(e)"
        case let .singularJacobian(e): return "the linear solve with ∂F/∂x failed (singular or ill-conditioned Jacobian): \(e)"
        }
    }
}

extension ImplicitError {
    /// Checks θ and runs an inner solver on it: NaN/Inf in θ is `.invalidTheta`, the solver's
    /// own failure `.solverFailed`.
    static func runningSolver<T>(_ solver: (T) throws -> DifferentiableVector, at theta: T) throws -> DifferentiableVector {
        do { try Finiteness.check(theta, "θ") } catch { throw ImplicitError.invalidTheta(error) }
        do { return try solver(theta) } catch { throw ImplicitError.solverFailed(error) }
    }

    /// Runs a linear solve with ∂F/∂x: an `ImplicitError` passes through, any other failure
    /// (a factorization's, a Krylov method's) becomes `.singularJacobian`.
    static func mappingLinearSolveFailures<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ImplicitError { throw error } catch { throw ImplicitError.singularJacobian(error) }
    }
}

/// Failures recorded while Swift AD ran a `RootSolution` (thread-safe).
public final class SolutionDiagnostics: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    private var lastDimension: Int?

    public init() {}

    /// The first failure since the last `clear()`.
    public var firstError: Error? { lock.lock(); defer { lock.unlock() }; return errors.first }
    public var allErrors: [Error] { lock.lock(); defer { lock.unlock() }; return errors }
    var dimension: Int? { lock.lock(); defer { lock.unlock() }; return lastDimension }

    public func clear() { lock.lock(); errors.removeAll(); lock.unlock() }

    /// x* from `body`, or — inside Swift AD, where nothing can throw — a vector of NaN of the
    /// last known length with the failure recorded.
    func recordingFailure(_ body: () throws -> DifferentiableVector) -> DifferentiableVector {
        do { return try body() } catch {
            record(error)
            return DifferentiableVector(repeating: .nan, count: dimension ?? 1)
        }
    }

    /// Clears, runs `body` (an AD call through a solution) and throws the first failure
    /// recorded meanwhile.
    public func checked<T>(_ body: () throws -> T) throws -> T {
        clear()
        let value = try body()
        if let error = firstError { throw error }
        return value
    }
    func record(_ error: Error) { lock.lock(); errors.append(error); lock.unlock() }
    func rememberDimension(_ n: Int) { lock.lock(); lastDimension = n; lock.unlock() }
}
