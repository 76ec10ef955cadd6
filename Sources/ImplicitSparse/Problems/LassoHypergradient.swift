import _Differentiation
import Dispatch
import Foundation
import Preconditioners
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
/// The hyperparameters of the lasso family a hypergradient is taken with respect to, all on a
/// log scale.
public enum LassoHyperparameters: Sendable, Equatable {
    /// log λ with the ℓ1 ratio α fixed: one component.
    case logLambda
    /// (log λ₁, log λ₂) with λ₁ = λα and λ₂ = λ(1 − α): the elastic net's two strengths.
    case logStrengths
    /// log(λω_j), one per feature: the weighted lasso (every ω_j > 0).
    case logFeatureWeights
}

/// The lasso family's support-reduced adjoint (see above): `compute` gives the held-out MSE's
/// `Hypergradient<Double>` in log λ, with the support's rank, the one-sided derivatives at a
/// breakpoint of the path and why the derivative is not unique when it is not.
public enum LassoAdjoint {
    /// - Parameters:
    ///   - problem: the lasso / elastic net solved.
    ///   - w: its solution.
    ///   - validation: held-out (X_val, y_val); the loss is the mean squared error of
    ///     X_val w + b.
    ///   - validationTargets: y_val.
    ///   - strategy: the named linear system of the support's adjoint solve.
    ///   - rankRevealLimit: supports up to this many columns get a dense pivoted-Cholesky
    ///     rank test (and, when rank-deficient, the minimum-norm derivative).
    ///   - kinkTolerance: how close to λα an off-support margin counts as a breakpoint.
    ///   - step: η of the fixed point. Any η > 0 gives the same support and derivative (the
    ///     support test |w_j − η∇_j f| > ηλα and the curvature λ(1−α) do not depend on it);
    ///     default 1.
    ///   - designCSC: X in CSC order, if the caller already has it (saves a pass over X).
    public static func compute(problem: LassoProblem, solution w: [Double], validation: CSRMatrix,
                               validationTargets: [Double], strategy: LinearSolveStrategy,
                               step: Double? = nil, designCSC: CSCMatrix? = nil,
                               rankRevealLimit: Int = 2000, kinkTolerance: Double = 1e-7) throws -> Hypergradient<Double> {
        guard validation.columns == problem.design.columns, validationTargets.count == validation.rows,
              w.count == problem.design.columns else {
            throw SparseError.dimensionMismatch(operation: "LassoAdjoint.compute",
                                                expected: "\(problem.design.columns) columns, \(validation.rows) validation targets, \(problem.design.columns) weights",
                                                actual: "\(validation.columns) columns, \(validationTargets.count) targets, \(w.count) weights")
        }
        let (loss, lossGradient) = try validationLossAndGradient(problem: problem, solution: w, validation: validation,
                                                                 validationTargets: validationTargets)

        let adjointResult = try adjoint(problem: problem, solution: w, lossGradient: lossGradient, hyperparameters: .logLambda,
                                        strategy: strategy, step: step, designCSC: designCSC, rankRevealLimit: rankRevealLimit)
        guard let gradient = adjointResult.gradient else {
            // The reverse system cannot give it (a singular support above the dense limit):
            // forward mode, whose system is consistent — a value of the reduction, not an error.
            let (derivative, report) = try forwardMinimumNorm(problem: problem, solution: w, lossGradient: lossGradient,
                                                              strategyOptions: strategy.options, designCSC: designCSC)
            if let report { strategy.adopt(report) }
            let size = w.filter { $0 != 0 }.count
            var result = Hypergradient(value: loss, gradient: derivative, report: report, conditionResidual: fixedPointResidual(problem, w))
            result.supportSize = size
            result.unique = false
            result.nonUniqueness = "the solution is not unique: \(adjointResult.forwardReason ?? "the support is rank-deficient"); the derivative is that of the minimum-norm solution"
            return result
        }
        let reduction = adjointResult.reduction
        let alpha = problem.l1Ratio
        var reason: String?
        let rank = reduction.report?.rank, size = reduction.support.count
        if let rank, rank < size {
            let duplicates = duplicatedColumns(try designCSC.map { try $0.selectingColumns(reduction.support) }
                                               ?? problem.design.selectingColumns(reduction.support).toCSC(), rowSpace: problem.rowSpace)
            reason = "the solution is not unique: the support of \(size) columns has rank \(rank) (\(duplicates) exact duplicates); the derivative is that of the minimum-norm solution"
        }
        var result = Hypergradient(value: loss, gradient: gradient[0], report: reduction.report, conditionResidual: reduction.fixedPointResidual)
        result.supportSize = reduction.support.count
        result.unique = reason == nil
        result.nonUniqueness = reason
        result.rank = rank
        // A breakpoint: coordinates off the support whose margin |∇_j f| reaches λα.
        let threshold = problem.lambda * alpha * (1 - kinkTolerance)
        let boundary = kinkTolerance > 0 ? (0..<w.count).filter { w[$0] == 0 && abs(reduction.smoothGradient[$0]) >= threshold } : []
        if !boundary.isEmpty {
            let current = (0..<w.count).filter { w[$0] != 0 }
            let entering = Array(Set(current + boundary)).sorted()
            if entering.count <= rankRevealLimit {
                // The signs: w's on the support, the correlation's (−∇f) on the boundary.
                let signs = { (set: [Int]) in set.map { j in w[j] != 0 ? (w[j] > 0 ? 1.0 : -1.0) : (reduction.smoothGradient[j] < 0 ? 1.0 : -1.0) } }
                result.leftDerivative = try forwardDense(problem: problem, support: entering, signs: signs(entering), solution: w,
                                                         lossGradient: lossGradient, designCSC: designCSC)
                // Right of the breakpoint the support is w's own (at the threshold itself the
                // prox's Jacobian may count the boundary coordinates in): that derivative is
                // the one reported.
                let right = current.isEmpty ? 0 : try forwardDense(problem: problem, support: current, signs: signs(current),
                                                                   solution: w, lossGradient: lossGradient, designCSC: designCSC)
                result.rightDerivative = right
                result.gradient = right
                result.kink = "λ is at a breakpoint of the path: \(boundary.count) coordinate(s) off the support (first: \(boundary[0])) have |X̃ᵀr|/n = λα within \(kinkTolerance); the derivative reported is the right one (current support)"
            } else {
                result.kink = "λ is at a breakpoint of the path (\(boundary.count) coordinate(s) at the boundary); one-sided derivatives not computed above \(rankRevealLimit) columns"
            }
        }
        return result
    }

    /// The gradient of a loss L(w) of the solution with respect to the log-scale
    /// hyperparameters `hyperparameters`, given ∇L at w*: the condition is the proximal-gradient
    /// fixed point written with the primitives, θ enters only the prox, and the support-reduced
    /// adjoint (`solveReduced`) gives every component from one solve on the support — p
    /// feature weights cost what one λ costs. A rank-deficient support within the dense limit
    /// is solved by its pseudo-inverse (the minimum-norm solution's derivative, `facts` says
    /// so); above it the reduced solve throws `ImplicitError.singularJacobian` wrapping
    /// `RankDeficientSupport`, which `compute` answers in forward mode for log λ.
    public static func gradient(problem: LassoProblem, solution w: [Double], lossGradient: [Double],
                                hyperparameters: LassoHyperparameters, strategy: LinearSolveStrategy,
                                designCSC: CSCMatrix? = nil, rankRevealLimit: Int = 2000)
        throws -> (gradient: [Double], supportSize: Int, nonUnique: Bool, supportRank: Int?) {
        let result = try adjoint(problem: problem, solution: w, lossGradient: lossGradient, hyperparameters: hyperparameters,
                                 strategy: strategy, step: nil, designCSC: designCSC, rankRevealLimit: rankRevealLimit)
        if let g = result.gradient {
            let rank = result.reduction.report?.rank
            return (g, result.reduction.support.count, rank.map { $0 < result.reduction.support.count } ?? false, rank)
        }
        guard case .logLambda = hyperparameters else {
            throw SparseError.invalidArgument("\(result.forwardReason ?? "the support is rank-deficient"): the minimum-norm derivative is computed in forward mode, for log λ only")
        }
        let (derivative, report) = try forwardMinimumNorm(problem: problem, solution: w, lossGradient: lossGradient,
                                                          strategyOptions: strategy.options, designCSC: designCSC)
        if let report { strategy.adopt(report) }
        return ([derivative], w.filter { $0 != 0 }.count, true, nil)
    }

    static func adjoint(problem: LassoProblem, solution w: [Double], lossGradient: [Double], hyperparameters: LassoHyperparameters,
                        strategy: LinearSolveStrategy, step: Double?, designCSC: CSCMatrix?, rankRevealLimit: Int)
        throws -> (gradient: [Double]?, reduction: SupportReduction, forwardReason: String?) {
        let n = problem.n, p = problem.design.columns
        guard lossGradient.count == p, w.count == p else {
            throw SparseError.dimensionMismatch(operation: "LassoAdjoint.gradient", expected: "\(p) weights and loss gradient entries",
                                                actual: "\(w.count) and \(lossGradient.count)")
        }
        // X in both orders: every product in the condition and its pullbacks is a gather.
        // With rows over processes the products with Xᵀ (and the pullback of X w and of the
        // intercept's row constant) are summed over them: the same condition on one or many.
        let x = try designCSC.map { try DesignMatrix(rowMajor: problem.design, columnMajor: $0, rowSpace: problem.rowSpace) }
            ?? DesignMatrix(problem.design, rowSpace: problem.rowSpace)
        let alpha = problem.l1Ratio
        let means = DifferentiableVector(problem.columnMeans)
        let centered = DifferentiableVector(problem.centeredTargets), fitIntercept = problem.fitIntercept
        let eta = step ?? 1
        let smooth: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector = { w, _ in
            var prediction = matvec(x, w)
            if fitIntercept { prediction = prediction - rowConstant(x, dot(means, w)) }
            return scale(1 / n, matvecTransposed(x, prediction - centered))
        }
        let prox: @differentiable(reverse) (DifferentiableVector, DifferentiableVector) -> DifferentiableVector
        let theta: [Double]
        switch hyperparameters {
        case .logLambda:
            guard problem.penaltyWeights == nil, !problem.nonNegative else {
                throw SparseError.invalidArgument("log λ hypergradients cover the unweighted lasso and elastic net; use .logFeatureWeights for a weighted lasso")
            }
            theta = [problem.lambda]
            prox = { v, theta in proxElasticNet(v, l1: eta * alpha * sum(theta), l2: eta * (1 - alpha) * sum(theta)) }
        case .logStrengths:
            guard problem.penaltyWeights == nil, !problem.nonNegative, alpha < 1 else {
                throw SparseError.invalidArgument("(log λ₁, log λ₂) hypergradients need an unweighted elastic net (l1Ratio < 1)")
            }
            theta = [problem.lambda * alpha, problem.lambda * (1 - alpha)]
            prox = { v, theta in proxElasticNet(v, l1: eta * sum(gather(theta, [0])), l2: eta * sum(gather(theta, [1]))) }
        case .logFeatureWeights:
            guard let weights = problem.penaltyWeights, weights.allSatisfy({ $0 > 0 }), alpha == 1, !problem.nonNegative else {
                throw SparseError.invalidArgument("feature-weight hypergradients need a weighted lasso with every weight positive")
            }
            theta = weights.map { $0 * problem.lambda }
            prox = { v, theta in proxLasso(v, threshold: scale(eta, theta)) }
        }
        let fixedPoint = try ProximalFixedPoint(
            gradient: smooth, prox: prox, step: eta, strategy: strategy,
            reducedSystem: { support, shift, rhs, strategy in
                try Self.solveReduced(problem: problem, support: support, shift: shift, rhs: rhs, strategy: strategy,
                                      designCSC: designCSC, rankRevealLimit: rankRevealLimit)
            },
            smoothDependsOnTheta: false)
        switch try fixedPoint.reducedAdjoint(x: DifferentiableVector(w), theta: DifferentiableVector(theta),
                                             cotangent: DifferentiableVector(lossGradient)) {
        case let .gradient(dtheta, reduction):
            // d/d log θ_j = θ_j ∂/∂θ_j.
            let dense = dtheta.dense(count: theta.count)
            return (zip(theta, dense).map { $0 * $1 }, reduction, nil)
        case let .needsForwardMode(reduction, reason):
            return (nil, reduction, reason)
        }
    }

    /// d loss / d log λ for the solution path with support T and signs s on it, in forward mode:
    /// (X̃_TᵀX̃_T + nλ(1−α)I) dw_T = −n(α s + (1−α) w_T), minimum-norm through the dense
    /// pseudo-inverse; the derivative is λ g_Tᵀ dw_T.
    /// ‖prox(w − ∇f(w)) − w‖/max(1, ‖w‖): the fixed-point residual at w (step 1).
    static func fixedPointResidual(_ problem: LassoProblem, _ w: [Double]) -> Double {
        let g = problem.smooth(w).gradient
        let t = problem.prox(zip(w, g).map { $0 - $1 }, 1)
        return Vector.norm(zip(t, w).map { $0 - $1 }) / max(1, Vector.norm(w))
    }

    static func forwardDense(problem: LassoProblem, support: [Int], signs: [Double], solution w: [Double],
                             lossGradient: [Double], designCSC: CSCMatrix?) throws -> Double {
        let n = problem.n, k = support.count, alpha = problem.l1Ratio
        let xs = try designCSC.map { try $0.selectingColumns(support) } ?? problem.design.selectingColumns(support).toCSC()
        let g = centeredGram(problem: problem, support: support, rowMajor: xs.toCSR(), shift: n * problem.lambda * (1 - alpha))
        let pseudoInverse = try DenseFactorization(symmetricEigenOf: g, dimension: k)
        let dw = pseudoInverse.solve((0..<k).map { -n * (alpha * signs[$0] + (1 - alpha) * w[support[$0]]) })
        return problem.lambda * zip(support, dw).reduce(0) { $0 + lossGradient[$1.0] * $1.1 }
    }

    /// The validation MSE of X_val w + b and its gradient with respect to w, where the
    /// intercept's dependence b = ȳ − μᵀw adds −μ times the residual sum. With the problem's
    /// rows over processes, `validation` is this process's validation rows (collective).
    public static func validationLossAndGradient(problem: LassoProblem, solution w: [Double], validation: CSRMatrix,
                                                 validationTargets: [Double]) throws -> (loss: Double, gradient: [Double]) {
        let p = problem.design.columns
        let b = problem.intercept(w)
        let residual = zip(validationTargets, try validation.multiply(w)).map { $0 - $1 - b }
        // ∇L = −(2/n_val) X̃_valᵀ r_val. With rows over processes the validation rows are
        // split too: Xᵀr, ‖r‖², 1ᵀr and n_val in one reduction.
        var lossGradient = try validation.multiplyTransposed(residual)
        var sums = [residual.reduce(0) { $0 + $1 * $1 }, residual.reduce(0, +), Double(validation.rows)]
        if let space = problem.rowSpace {
            lossGradient.append(contentsOf: sums)
            lossGradient = space.sum(lossGradient)
            sums = Array(lossGradient[p...])
            lossGradient.removeLast(3)
        }
        let nValidation = sums[2], residualSum = sums[1]
        let loss = sums[0] / nValidation
        for j in 0..<p {
            lossGradient[j] = -2 / nValidation * (lossGradient[j] - (problem.fitIntercept ? problem.columnMeans[j] * residualSum : 0))
        }
        return (loss, lossGradient)
    }

    /// (X̃_SᵀX̃_S/n + c I) z = rhs when the shift c is uniform on S (it is λ(1−α) for the elastic
    /// net), else `.useOperator` (the caller goes matrix-free).
    ///
    /// For the lasso (c = 0) the support's Gram matrix may be singular — duplicated columns, a
    /// column equal to the sum of others (common in binary data) — and the reverse right-hand
    /// side, from validation rows, need not lie in its range. Up to `rankRevealLimit` columns
    /// the centered Gram matrix is formed densely and handed to the strategy declared positive
    /// semidefinite: the automatic policy's rank-revealing Cholesky solves it and reports its
    /// rank, and a rank-deficient one gets its pseudo-inverse (z = G⁺ n·rhs), which gives
    /// exactly the derivative of the minimum-norm solution, −nλ gᵀG⁺s (G⁺ is symmetric).
    /// Above the limit, duplicated columns or a failed solve return `.needsForwardMode`, and
    /// `compute` switches to forward mode, where the system G y = s is consistent.
    static func solveReduced(problem: LassoProblem, support: [Int], shift: [Double], rhs: [Double],
                             strategy: LinearSolveStrategy, designCSC: CSCMatrix?, rankRevealLimit: Int) throws
        -> ProximalFixedPoint<DifferentiableVector>.ReducedSolve {
        guard let c = shift.first, shift.allSatisfy({ abs($0 - c) <= 1e-12 * max(abs(c), 1e-300) || abs($0 - c) < 1e-300 })
        else { return .useOperator }
        let n = problem.n
        let k = support.count
        // X_S: copied out of a CSC of X when the caller has one (the coordinate-descent
        // solver does), else selected from the CSR and converted.
        let xs = try designCSC.map { try $0.selectingColumns(support) } ?? problem.design.selectingColumns(support).toCSC()
        let scaled = rhs.map { n * $0 }
        let mu = support.map { problem.columnMeans[$0] }
        // Up to the dense limit: the centered Gram matrix (the intercept's centering in it, no
        // Sherman–Morrison), declared semidefinite for the lasso and definite for the elastic
        // net; a solver chosen by the caller gets the same matrix (with rows over processes
        // it is summed over them, and every process solves the same k × k system).
        if k <= rankRevealLimit {
            let g = centeredGram(problem: problem, support: support, rowMajor: xs.toCSR(), shift: n * max(c, 0))
            let op = try DenseMatrixOperator(columnMajor: g, dimension: k, symmetric: true, positiveDefinite: c > 0,
                                             positiveSemidefinite: c <= 0)
            do {
                return .solution(try strategy.solve(op, scaled))
            } catch {
                guard c <= 0 else { throw error }
                return .needsForwardMode(reason: "the support's Gram matrix of \(k) columns is singular and the solver (\(strategy.solver.name)) does not reveal its rank (\(error))")
            }
        }
        let gram = try supportGram(problem: problem, xs, shift: n * max(c, 0))
        if c <= 0 {
            let duplicates = duplicatedColumns(xs, rowSpace: problem.rowSpace)
            if duplicates > 0 {
                return .needsForwardMode(reason: "the support of \(k) columns is rank-deficient (\(duplicates) exact duplicates; above the dense limit of \(rankRevealLimit) columns)")
            }
        }
        do {
            guard problem.fitIntercept else { return .solution(try strategy.solve(gram, scaled)) }
            // (K − n μμᵀ) z = r with K = X_SᵀX_S + ncI: Sherman–Morrison on K's factor.
            let kr = try strategy.solve(gram, scaled)
            let km = try strategy.solve(gram, mu)
            let denominator = 1 - n * Vector.dot(mu, km)
            guard denominator > 1e-10 else { throw SparseError.notPositiveDefinite(column: 0) }
            let factor = n * Vector.dot(mu, kr) / denominator
            return .solution(zip(kr, km).map { $0 + factor * $1 })
        } catch {
            // A lasso support whose rank was not revealed densely: singular after all.
            guard c <= 0 else { throw error }
            return .needsForwardMode(reason: "the support's Gram system of \(k) columns is singular (\(error); above the dense limit of \(rankRevealLimit) columns)")
        }
    }

    /// X̃_SᵀX̃_S + βI, dense column-major (k × k), from the rows of X_S: the Gram matrix, less
    /// nμ_Sμ_Sᵀ with an intercept (the centering).
    static func centeredGram(problem: LassoProblem, support: [Int], rowMajor: CSRMatrix, shift: Double) -> [Double] {
        var g: [Double]
        if let space = problem.rowSpace {
            // This process's rows' Gram matrix, summed over the processes (k² numbers).
            g = space.sum(rowMajor.denseGram(shift: 0))
            for a in 0..<support.count { g[a * support.count + a] += shift }
        } else {
            g = rowMajor.denseGram(shift: shift)
        }
        guard problem.fitIntercept else { return g }
        let k = support.count, n = problem.n
        let mu = support.map { problem.columnMeans[$0] }
        for a in 0..<k { for b in 0..<k { g[a * k + b] -= n * mu[a] * mu[b] } }
        return g
    }

    /// Forward mode for a rank-deficient lasso support too large to reveal densely: the
    /// derivative of the minimum-norm solution, dw_S/dλ = −n G⁺ s with G = X̃_SᵀX̃_S and s the
    /// signs. G y = s is consistent (λs = X̃_Sᵀr/n lies in the range of G), so MINRES from zero
    /// converges to y = G⁺s (its iterates stay in the range); d loss / d log λ = −nλ g_Sᵀy.
    static func forwardMinimumNorm(problem: LassoProblem, solution w: [Double], lossGradient: [Double],
                                   strategyOptions: KrylovOptions, designCSC: CSCMatrix?) throws -> (derivative: Double, report: LinearSolveReport?) {
        let support = (0..<w.count).filter { w[$0] != 0 }
        guard !support.isEmpty else { return (0, nil) }
        let n = problem.n
        let xs = try designCSC.map { try $0.selectingColumns(support) } ?? problem.design.selectingColumns(support).toCSC()
        let gram = try supportGram(problem: problem, xs, shift: 0)
        let mu = support.map { problem.columnMeans[$0] }
        let fitIntercept = problem.fitIntercept
        let centered = try ClosureOperator(rows: support.count, columns: support.count, symmetric: true) { v, out in
            gram.apply(v, into: out, transposed: false, accumulate: false)
            guard fitIntercept else { return }
            var m = 0.0
            for k in 0..<mu.count { m += mu[k] * v[k] }
            for k in 0..<mu.count { out[k] -= n * mu[k] * m }
        }
        let signs = support.map { w[$0] > 0 ? 1.0 : -1.0 }
        let (y, report) = try minimumNormForward(centered, signs, options: strategyOptions,
                                                 reason: "forward mode on the consistent system X̃_SᵀX̃_S y = s (support of \(support.count) columns, rank-deficient; rank not computed above the dense limit): MINRES from zero, the minimum-norm solution")
        let derivative = -n * problem.lambda * zip(support, y).reduce(0) { $0 + lossGradient[$1.0] * $1.1 }
        return (derivative, report)
    }

    /// A consistent symmetric positive semidefinite system A y = b solved by MINRES from zero,
    /// whose iterates stay in A's range: the minimum-norm solution A⁺b even when A is singular
    /// (at most 10 iterations per unknown). The report says `reason` and that it fell back.
    static func minimumNormForward(_ a: some LinearOperator, _ b: [Double], options: KrylovOptions,
                                   reason: String) throws -> (solution: [Double], report: LinearSolveReport?) {
        var options = options
        options.maxIterations = max(options.maxIterations ?? 0, 10 * b.count)
        let system = LinearSolveStrategy(solver: KrylovSolver(.minres, options: options), name: "forward minimum-norm", options: options)
        let y = try system.solve(a, b)
        var report = system.lastReport
        report?.fellBack = true
        report?.reason = reason
        return (y, report)
    }

    /// X_SᵀX_S + shift·I on the support's columns `xs`: the Gram operator of `xs` on one
    /// process; with rows over processes, this process's rows' product summed over all (one
    /// reduction of |S| numbers per product), the diagonal reduced once.
    static func supportGram(problem: LassoProblem, _ xs: CSCMatrix, shift: Double) throws -> any LinearOperator {
        guard let space = problem.rowSpace else { return try GramOperator(xs, shift: shift) }
        let local = try GramOperator(xs)
        var diagonal = space.sum(local.diagonal ?? [Double](repeating: 0, count: xs.columns))
        for j in 0..<diagonal.count { diagonal[j] += shift }
        return try ClosureOperator(rows: xs.columns, columns: xs.columns, symmetric: true, positiveDefinite: shift > 0,
                                   diagonal: diagonal) { v, out in
            local.apply(v, into: out, transposed: false, accumulate: false)
            let summed = space.sum(Array(out))
            for j in 0..<summed.count { out[j] = summed[j] + shift * v[j] }
        }
    }

    /// Columns identical (pattern and values) to an earlier column over all rows: on one
    /// process `duplicatedColumns(_:)`; with rows over processes, each process's fingerprints
    /// of its rows (global row numbers) are summed, exactly, as 21-bit pieces, and a pair
    /// with equal sums counts when every process finds its part of the two columns identical
    /// (a second reduction).
    static func duplicatedColumns(_ x: CSCMatrix, rowSpace: VectorSpace?) -> Int {
        guard let space = rowSpace else { return duplicatedColumns(x) }
        let offset = space.localRange.lowerBound
        let pointers = x.columnPointers, rows = x.rowIndices, values = x.values
        var pieces = [Double](repeating: 0, count: 3 * x.columns)
        for j in 0..<x.columns {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for k in pointers[j]..<pointers[j + 1] {
                hash = (hash ^ UInt64(Int(rows[k]) + offset)) &* 0x100_0000_01b3
                hash = (hash ^ values[k].bitPattern) &* 0x100_0000_01b3
            }
            // An empty local part contributes nothing (its hash is not the offset basis).
            if pointers[j] == pointers[j + 1] { hash = 0 }
            pieces[3 * j] = Double(hash & 0x1f_ffff)
            pieces[3 * j + 1] = Double((hash >> 21) & 0x1f_ffff)
            pieces[3 * j + 2] = Double(hash >> 42)
        }
        let summed = space.sum(pieces)
        var first: [[Double]: Int] = [:]
        var pairs: [(Int, Int)] = []
        for j in 0..<x.columns {
            let key = Array(summed[(3 * j)..<(3 * j + 3)])
            if let i = first[key] { pairs.append((i, j)) } else { first[key] = j }
        }
        guard !pairs.isEmpty else { return 0 }
        let mismatches = space.sum(pairs.map { i, j in
            let same = pointers[i + 1] - pointers[i] == pointers[j + 1] - pointers[j]
                && (0..<(pointers[j + 1] - pointers[j])).allSatisfy { o in
                    rows[pointers[i] + o] == rows[pointers[j] + o] && values[pointers[i] + o] == values[pointers[j] + o]
                }
            return same ? 0.0 : 1.0
        })
        return mismatches.filter { $0 == 0 }.count
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
