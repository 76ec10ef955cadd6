import Dispatch
import Foundation
import Preconditioners
import Sparse

/// Regularized least squares in scikit-learn's parametrization,
///
///     min (1/2n)‖y − Xw − b‖² + λ(α‖w‖₁ + (1 − α)/2‖w‖²),
///
/// as one problem type for the lasso (α = 1), the elastic net (0 < α < 1) and ridge (α = 0),
/// with or without an unpenalized intercept b (eliminated exactly by implicit centering, X
/// stays sparse). It bundles the inner solve (coordinate descent or FISTA for an ℓ1 part, CG
/// for ridge), the validation loss, its hypergradient with respect to log λ through the
/// implicit layer, and the finite-difference check of that hypergradient — everything
/// `isparse hypergrad` prints, so the CLI only parses, calls and prints.
public struct RegularizedLeastSquares: Sendable {
    public enum Penalty: Equatable, Sendable {
        case lasso
        case elasticNet(l1Ratio: Double)
        case ridge

        /// α.
        public var l1Ratio: Double {
            switch self {
            case .lasso: return 1
            case let .elasticNet(alpha): return alpha
            case .ridge: return 0
            }
        }
    }

    /// The inner solver for a penalty with an ℓ1 part (ridge is always solved by CG).
    public enum InnerSolver: String, CaseIterable, Sendable {
        /// Working-set coordinate descent (`CoordinateDescent`).
        case coordinateDescent = "cd"
        /// FISTA with restart (`ProximalGradient`).
        case fista
        /// Working sets, each solved on its reduced Gram matrix
        /// (`LassoProblem.solveWithWorkingSets`): the method for rows over processes (one
        /// reduction of p + 3 and one of |W|² + |W| numbers per working set).
        case workingSets = "ws"
    }

    public let design: CSRMatrix
    public let targets: [Double]
    public let penalty: Penalty
    public let lambda: Double
    public let fitIntercept: Bool
    /// How the rows are split over processes (nil: all here); see `LassoProblem`.
    public var rowSpace: VectorSpace? { centered.rowSpace }
    /// ωⱼ of the weighted lasso (penalty λα Σⱼ ωⱼ|wⱼ|; nil: all 1; 0 = unpenalized).
    public let penaltyWeights: [Double]?
    /// w ≥ 0 (the non-negative lasso).
    public let nonNegative: Bool
    /// The centering and the lasso-family formulas (an l1 ratio of 1 stands in for ridge,
    /// whose objective does not use it).
    public let centered: LassoProblem

    /// - Parameters:
    ///   - design: X, n × p.
    ///   - targets: y, length n.
    ///   - penalty: lasso, elastic net (with its ℓ1 ratio α) or ridge.
    ///   - lambda: λ > 0.
    ///   - fitIntercept: an unpenalized intercept, eliminated by implicit centering.
    ///   - penaltyWeights: ωⱼ ≥ 0 per feature for the weighted lasso / elastic net (0 = unpenalized).
    ///   - nonNegative: constrain w ≥ 0.
    ///   - rowSpace: the rows' split over processes (`design` and `targets` are this
    ///     process's rows): the lasso and the elastic net with working sets or FISTA;
    ///   ridge and coordinate descent need every row.
    /// - Throws: `.dimensionMismatch`, `.nonFinite`, `.invalidArgument` (λ ≤ 0, α ∉ (0, 1)
    ///   for the elastic net, a bad weight, weights or non-negativity with ridge, ridge over
    ///   processes).
    public init(design: CSRMatrix, targets: [Double], penalty: Penalty, lambda: Double, fitIntercept: Bool = false,
                penaltyWeights: [Double]? = nil, nonNegative: Bool = false, rowSpace: VectorSpace? = nil) throws {
        if penalty == .ridge && rowSpace?.isDistributed == true {
            throw SparseError.invalidArgument("ridge over processes is not supported: the lasso and the elastic net are")
        }
        if case let .elasticNet(alpha) = penalty, !(alpha > 0 && alpha < 1) {
            throw SparseError.invalidArgument("the elastic net's l1 ratio must be in (0, 1), got \(alpha)")
        }
        if penalty == .ridge && (penaltyWeights != nil || nonNegative) {
            throw SparseError.invalidArgument("penalty weights and non-negativity apply to an ℓ1 part; ridge has none")
        }
        self.penaltyWeights = penaltyWeights
        self.nonNegative = nonNegative
        self.design = design
        self.targets = targets
        self.penalty = penalty
        self.lambda = lambda
        self.fitIntercept = fitIntercept
        self.centered = try LassoProblem(design: design, targets: targets, lambda: lambda,
                                         l1Ratio: penalty == .ridge ? 1 : penalty.l1Ratio, fitIntercept: fitIntercept,
                                         penaltyWeights: penaltyWeights, nonNegative: nonNegative, rowSpace: rowSpace)
    }

    /// λ_max = maxⱼ |X̃ⱼᵀỹ|/(nαωⱼ), the smallest λ with w* = 0 (see `LassoProblem.lambdaMax`
    /// for weights and non-negativity); infinite for ridge.
    public static func lambdaMax(design: CSRMatrix, targets: [Double], penalty: Penalty, fitIntercept: Bool = false,
                                 penaltyWeights: [Double]? = nil, nonNegative: Bool = false, rowSpace: VectorSpace? = nil) throws -> Double {
        guard penalty != .ridge else { return .infinity }
        return try LassoProblem.lambdaMax(design: design, targets: targets, l1Ratio: penalty.l1Ratio, fitIntercept: fitIntercept,
                                          penaltyWeights: penaltyWeights, nonNegative: nonNegative, rowSpace: rowSpace)
    }

    /// An inner solve's answer with its optimality certificate.
    public struct Solution: Sendable {
        public var weights: [Double]
        /// b (0 without an intercept).
        public var intercept: Double
        /// The duality gap (lasso, elastic net) or CG's relative residual (ridge).
        public var certificate: Double
        public var iterations: Int
        /// "coordinate descent", "FISTA" or "CG".
        public var solver: String
        /// "epochs" or "iterations".
        public var iterationUnit: String
        public var seconds: Double
        /// The working-set solver's sets and its last set's size (nil for the other solvers).
        public var workingSets: Int? = nil
        public var workingSetSize: Int? = nil
    }

    /// Solves to a duality gap ≤ tolerance·‖ỹ‖²/(2n) (ridge: CG to a relative residual
    /// ≤ min(tolerance, 10⁻¹⁰)).
    /// - Parameters:
    ///   - tolerance: the relative duality-gap target.
    ///   - solver: coordinate descent (default) or FISTA.
    ///   - warmStart: a starting w (length p), e.g. the previous λ's solution.
    ///   - designCSC: X in CSC order if the caller has it (coordinate descent needs it).
    ///   - maxIterations: the solver's limit (epochs for coordinate descent, over all its working
    ///     sets); default 100 000 epochs, 100 000 FISTA iterations, 20 000 CG iterations.
    /// - Throws: `RegularizedLeastSquaresError.notConverged` naming the solver, its iterations
    ///   and the certificate against the target.
    public func solve(tolerance: Double = 1e-8, solver: InnerSolver = .coordinateDescent, warmStart: [Double]? = nil,
                      designCSC: CSCMatrix? = nil, maxIterations: Int? = nil) throws -> Solution {
        let start = DispatchTime.now().uptimeNanoseconds
        if penalty == .ridge { return try solveRidge(tolerance: tolerance, warmStart: warmStart, start: start, maxIterations: maxIterations) }
        let problem = centered
        switch solver {
        case .fista:
            let r = problem.solve(tolerance: tolerance, warmStart: warmStart, maxIterations: maxIterations ?? 100_000)
            guard r.converged else {
                throw RegularizedLeastSquaresError.notConverged(solver: "FISTA", iterations: r.iterations, unit: "iterations",
                                                                certificate: r.certificate, target: tolerance * problem.gapScale)
            }
            return Solution(weights: r.solution, intercept: problem.intercept(r.solution), certificate: r.certificate,
                            iterations: r.iterations, solver: "FISTA", iterationUnit: "iterations", seconds: elapsed(start))
        case .workingSets:
            let r = try problem.solveWithWorkingSets(tolerance: tolerance, warmStart: warmStart, maxIterations: maxIterations ?? 100_000)
            guard r.converged else {
                throw RegularizedLeastSquaresError.notConverged(solver: "working sets", iterations: r.iterations, unit: "inner iterations",
                                                                certificate: r.certificate, target: tolerance * problem.gapScale)
            }
            return Solution(weights: r.solution, intercept: problem.intercept(r.solution), certificate: r.certificate,
                            iterations: r.iterations, solver: "working sets (\(r.workingSets), coordinate descent on each set's Gram matrix)",
                            iterationUnit: "inner iterations", seconds: elapsed(start), workingSets: r.workingSets,
                            workingSetSize: r.workingSetSize)
        case .coordinateDescent:
            let r = try (maxIterations.map { CoordinateDescent(maxEpochs: $0) } ?? CoordinateDescent())
                .solve(problem, tolerance: tolerance, warmStart: warmStart, design: designCSC)
            guard r.converged else {
                throw RegularizedLeastSquaresError.notConverged(solver: "coordinate descent", iterations: r.epochs, unit: "epochs",
                                                                certificate: r.dualityGap, target: r.targetGap)
            }
            return Solution(weights: r.solution, intercept: problem.intercept(r.solution), certificate: r.dualityGap,
                            iterations: r.epochs, solver: "coordinate descent", iterationUnit: "epochs", seconds: elapsed(start))
        }
    }

    /// K = X̃ᵀX̃ + nλI as an operator: the Gram operator of X without an intercept, a
    /// matrix-free centered one with it (X̃ never formed), both with their diagonal.
    func ridgeOperator() throws -> any LinearOperator {
        let n = Double(design.rows), nl = n * lambda
        guard fitIntercept else { return try GramOperator(design.toCSC(), shift: nl) }
        let problem = centered
        var diagonal = [Double](repeating: nl, count: design.columns)
        for k in 0..<design.nonzeroCount { diagonal[Int(design.columnIndices[k])] += design.values[k] * design.values[k] }
        for j in 0..<design.columns { diagonal[j] -= n * problem.columnMeans[j] * problem.columnMeans[j] }
        return try ClosureOperator(rows: design.columns, columns: design.columns, symmetric: true, positiveDefinite: true,
                                   diagonal: diagonal) { v, out in
            let product = problem.designTransposedProduct(problem.designProduct(Array(v)))
            for j in 0..<product.count { out[j] = product[j] + nl * v[j] }
        }
    }

    private func solveRidge(tolerance: Double, warmStart: [Double]?, start: UInt64, maxIterations: Int?) throws -> Solution {
        let rtol = min(tolerance, 1e-10)
        let system = LinearSolveStrategy(solver: KrylovSolver(.cg, preconditioner: .jacobi,
                                                              options: KrylovOptions(relativeTolerance: rtol, maxIterations: maxIterations ?? 20_000)),
                                         name: "ridge solve")
        let operatorK = try ridgeOperator()
        let rhs = centered.designTransposedProduct(centered.centeredTargets)
        let w: [Double]
        do { w = try system.solve(operatorK, rhs, initialGuess: warmStart) } catch let LinearSolveError.notConverged(_, _, iterations, residual) {
            throw RegularizedLeastSquaresError.notConverged(solver: "CG", iterations: iterations, unit: "iterations",
                                                            certificate: residual, target: rtol)
        }
        let report = system.lastReport
        return Solution(weights: w, intercept: centered.intercept(w), certificate: report?.relativeResidual ?? .nan,
                        iterations: report?.iterations ?? 0, solver: "CG", iterationUnit: "iterations", seconds: elapsed(start))
    }

    /// The validation loss, the mean squared error of X_val w + b. With rows over processes,
    /// `validation` holds this process's validation rows and the mean is over all (collective).
    public func validationLoss(_ w: [Double], validation: CSRMatrix, targets yValidation: [Double]) throws -> Double {
        let b = centered.intercept(w)
        let prediction = try validation.multiply(w)
        var sum = 0.0
        for i in 0..<yValidation.count { sum += (yValidation[i] - prediction[i] - b) * (yValidation[i] - prediction[i] - b) }
        let totals = centered.reduced([sum, Double(validation.rows)])
        return totals[0] / max(totals[1], 1)
    }

    /// d(validation MSE)/d log λ at the solution w, through the implicit layer: the
    /// support-reduced proximal fixed point for an ℓ1 part (`LassoAdjoint`), the exact
    /// ridge adjoint (X̃ᵀX̃ + nλI) z = ∇L, dL/d log λ = −nλ zᵀw otherwise.
    /// - Parameters:
    ///   - w: the solution at this λ.
    ///   - validation: X_val.
    ///   - validationTargets: y_val.
    ///   - strategy: the named linear system of the adjoint solve.
    ///   - designCSC: X in CSC order if the caller has it.
    ///   - kinkTolerance: how close to λα an off-support margin counts as a breakpoint,
    ///     where both one-sided derivatives are computed (dense, O(|S|³)); 0 skips the test (a
    ///     tuner's line search handles the kinks itself).
    public func hypergradient(at w: [Double], validation: CSRMatrix, validationTargets: [Double],
                              strategy: LinearSolveStrategy, designCSC: CSCMatrix? = nil,
                              kinkTolerance: Double = 1e-7) throws -> Hypergradient<Double> {
        guard penaltyWeights == nil && !nonNegative else {
            throw SparseError.invalidArgument("the hypergradient in log λ covers the lasso, the elastic net and ridge; weighted and non-negative lassos are solved (isparse solve) but not differentiated by this routine")
        }
        guard penalty == .ridge else {
            return try LassoAdjoint.compute(problem: centered, solution: w, validation: validation,
                                                  validationTargets: validationTargets, strategy: strategy, designCSC: designCSC,
                                                  kinkTolerance: kinkTolerance)
        }
        let (loss, gradient) = try LassoAdjoint.validationLossAndGradient(problem: centered, solution: w, validation: validation,
                                                                               validationTargets: validationTargets)
        return try ridgeHypergradient(value: loss, lossGradient: gradient, weights: w, strategy: strategy)
    }

    /// dL/d log λ = −nλ zᵀw with (X̃ᵀX̃ + nλI) z = ∇L; the condition's residual
    /// ‖X̃ᵀ(X̃w − ỹ)/n + λw‖.
    func ridgeHypergradient(value: Double, lossGradient: [Double], weights w: [Double], strategy: LinearSolveStrategy) throws -> Hypergradient<Double> {
        let z = try strategy.solve(try ridgeOperator(), lossGradient)
        let n = Double(design.rows)
        let residual = Vector.norm(zip(centered.smooth(w).gradient, w).map { $0 + lambda * $1 })
        var result = Hypergradient(value: value, gradient: -n * lambda * Vector.dot(z, w), report: strategy.lastReport, conditionResidual: residual)
        result.supportSize = w.count
        return result
    }

    /// The central finite difference of the validation loss in log λ, with two extra solves at
    /// tolerance ≤ 10⁻¹² warm-started from w. The path is piecewise smooth: a step that changes
    /// the support on either side measures a secant across a kink, so h starts at 10⁻³ and
    /// shrinks tenfold (to 10⁻⁶) while a side's support differs from w's.
    public func finiteDifference(at w: [Double], validation: CSRMatrix, validationTargets: [Double], tolerance: Double = 1e-8,
                                 solver: InnerSolver = .coordinateDescent, designCSC: CSCMatrix? = nil)
        throws -> (derivative: Double, step: Double) {
        let support = w.map { $0 != 0 }
        var result = (derivative: Double.nan, step: 1e-3)
        for h in [1e-3, 1e-4, 1e-5, 1e-6] {
            var losses: [Double] = []
            var sameSupport = true
            for sign in [1.0, -1.0] {
                let shifted = try RegularizedLeastSquares(design: design, targets: targets, penalty: penalty,
                                                          lambda: lambda * Foundation.exp(sign * h), fitIntercept: fitIntercept,
                                                          penaltyWeights: penaltyWeights, nonNegative: nonNegative, rowSpace: rowSpace)
                let side = try shifted.solve(tolerance: min(tolerance, 1e-12), solver: solver, warmStart: w, designCSC: designCSC)
                if side.weights.map({ $0 != 0 }) != support { sameSupport = false }
                losses.append(try shifted.validationLoss(side.weights, validation: validation, targets: validationTargets))
            }
            result = ((losses[0] - losses[1]) / (2 * h), h)
            if sameSupport || penalty == .ridge { break }
        }
        return result
    }

    private func elapsed(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
}

extension RegularizedLeastSquares: RegularizationPathProblem {
    public typealias HeldOut = any LinearModelLoss
    public var hyperparameterNames: [String] { ["λ"] }
    public var hyperparameters: [Double] { [lambda] }

    public func with(hyperparameters values: [Double]) throws -> RegularizedLeastSquares {
        guard values.count == 1, values[0] > 0, values[0].isFinite else {
            throw SparseError.invalidArgument("the lasso family has one hyperparameter λ > 0; got \(values)")
        }
        return try RegularizedLeastSquares(design: design, targets: targets, penalty: penalty, lambda: values[0], fitIntercept: fitIntercept,
                                           penaltyWeights: penaltyWeights, nonNegative: nonNegative)
    }

    public func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy {
        LinearSolveStrategy(options: KrylovOptions(relativeTolerance: 1e-10), name: "lasso-family adjoint")
    }

    /// Working-set coordinate descent (CG for ridge) to a relative duality gap ≤ `tolerance`
    /// (default 10⁻⁸), warm-started.
    public func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution {
        try solve(tolerance: tolerance ?? 1e-8, warmStart: warmStart?.weights)
    }

    public func summary(of solution: Solution) -> SolveSummary {
        SolveSummary(iterations: solution.iterations, seconds: solution.seconds, certificate: solution.certificate,
                     certificateName: penalty == .ridge ? "relative residual" : "duality gap",
                     supportSize: solution.weights.filter { $0 != 0 }.count)
    }

    public func value(of heldOut: any LinearModelLoss, at solution: Solution) throws -> Double {
        try heldOut.valueAndGradient(solution.weights, intercept: solution.intercept).value
    }

    /// The support-reduced adjoint (`LassoAdjoint.gradient`) for the lasso and the elastic
    /// net, the ridge adjoint for ridge; b = ȳ − μᵀw enters through the loss' gradient in b.
    /// - Throws: `.invalidArgument` for weighted or non-negative lassos (their derivative goes
    ///   through `GeneralizedLinearModel` with `WeightedL1` / `NonNegativeL1`).
    public func hypergradient(of heldOut: any LinearModelLoss, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        guard penaltyWeights == nil && !nonNegative else {
            throw SparseError.invalidArgument("the lasso family's derivative covers the lasso, the elastic net and ridge; use GeneralizedLinearModel with WeightedL1 or NonNegativeL1")
        }
        let w = solution.weights
        let loss = try heldOut.valueAndGradient(w, intercept: centered.intercept(w))
        guard loss.weights.count == w.count else {
            throw SparseError.dimensionMismatch(operation: "RegularizedLeastSquares.hypergradient", expected: "a loss gradient over \(w.count) features",
                                                actual: "\(loss.weights.count)")
        }
        var g = loss.weights
        if fitIntercept { for j in g.indices { g[j] -= loss.intercept * centered.columnMeans[j] } }
        if penalty == .ridge {
            let h = try ridgeHypergradient(value: loss.value, lossGradient: g, weights: w, strategy: strategy)
            var result = Hypergradient(value: h.value, gradient: [h.gradient], report: h.report, conditionResidual: h.conditionResidual)
            result.supportSize = h.supportSize
            return result
        }
        let r = try LassoAdjoint.gradient(problem: centered, solution: w, lossGradient: g, hyperparameters: .logLambda, strategy: strategy)
        var result = Hypergradient(value: loss.value, gradient: r.gradient, report: strategy.lastReport,
                                   conditionResidual: LassoAdjoint.fixedPointResidual(centered, w))
        result.supportSize = r.supportSize
        result.unique = !r.nonUnique
        result.rank = r.supportRank
        return result
    }

    public func pathLambdaMax() throws -> Double? {
        penalty == .ridge ? nil : try RegularizedLeastSquares.lambdaMax(design: design, targets: targets, penalty: penalty, fitIntercept: fitIntercept)
    }

    public func hyperparameters(lambda: Double) -> [Double] { [lambda] }
}

/// Failures of `RegularizedLeastSquares` beyond the shape and value errors of `SparseError`.
public enum RegularizedLeastSquaresError: Error, CustomStringConvertible, Sendable {
    /// The inner solver stopped at its iteration limit above the target certificate.
    case notConverged(solver: String, iterations: Int, unit: String, certificate: Double, target: Double)

    public var description: String {
        switch self {
        case let .notConverged(solver, iterations, unit, certificate, target):
            let what = solver == "CG" ? "relative residual" : "duality gap"
            return String(format: "inner solver (%@) did not converge: %@ %.3e after %d %@, tolerance %.3e",
                          solver, what, certificate, iterations, unit, target)
        }
    }
}
