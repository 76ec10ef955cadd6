import _Differentiation
import Foundation
import Sparse
import Preconditioners

/// Theorem 1 of Blondel et al., "Efficient and Modular Implicit Differentiation" (NeurIPS
/// 2022): evaluated at an approximate solution x̂ instead of x*, the implicit Jacobian
/// ∂x̂ = −A(x̂, θ)⁻¹B(x̂, θ) errs by at most C·‖x̂ − x*‖. The experiment tightens the inner
/// solver's tolerance, differentiates through the implicit layer at each x̂ (the library's
/// `RootSolution` for ridge, `ProximalFixedPoint` for the elastic net and the lasso, θ = log λ),
/// and fits the slope of log ‖∂x̂ − ∂x*‖ against log ‖x̂ − x*‖.
///
/// - x*: ridge, a CHOLMOD solve of (XᵀX/n + λI)w = Xᵀy/n; elastic net and lasso, coordinate
///   descent to a gap of 10⁻¹⁴ and then the reduced system on its support and signs solved by
///   CHOLMOD (the solution to rounding), checked by its KKT conditions.
/// - x̂: ridge, conjugate gradients stopped at relative residual `tolerance`; elastic net and
///   lasso, FISTA (with restart) stopped at relative duality gap `tolerance` (coordinate
///   descent with extrapolation reaches x* to rounding as soon as it has the support).
/// - ‖∂x̂ − ∂x*‖ is estimated without forming the Jacobian: for k Gaussian directions c, the
///   reverse-mode hypergradient of L(x) = ⟨c, x⟩ at x̂ and at x*; E[(cᵀe)²] = ‖e‖², so the
///   root mean square of the k differences estimates the norm (k = 16: within a few tens of
///   percent, which a log-log fit over many decades does not feel).
///
/// The lasso's Jacobian in λ depends on x̂ only through its support and signs,
/// dw_S/dλ = −n(X_SᵀX_S)⁻¹s: once CD has found the support the error is rounding — the bound
/// holds with room to spare, and there is no slope to fit. The elastic net's,
/// −(X_SᵀX_S/n + λ(1−α)I)⁻¹(αs + (1−α)w_S), depends on w_S linearly: slope 1.
public enum TheoremOne {
    public enum Problem: String, Sendable, CaseIterable {
        case ridge
        case elasticNet = "enet"
        case lasso
    }

    public struct Point: Sendable {
        /// The inner solver's stopping tolerance.
        public var tolerance: Double
        /// ‖x̂ − x*‖ / ‖x*‖.
        public var solutionError: Double
        /// ‖∂x̂ − ∂x*‖ / ‖∂x*‖ (estimated, see the type's documentation).
        public var jacobianError: Double
        /// Inner iterations (CG iterations or CD epochs).
        public var iterations: Int
    }

    public struct Result: Sendable {
        public var problem: Problem
        public var rows: Int
        public var columns: Int
        public var lambda: Double
        public var points: [Point]
        /// Least-squares slope of log Jacobian error on log solution error over the points
        /// whose Jacobian error is above the rounding floor (10⁻¹²); nil with fewer than 3.
        public var slope: Double?
        /// maxᵢ jacobianErrorᵢ / solutionErrorᵢ: the constant C of the bound, as measured.
        public var constant: Double
        /// ‖F(x*, θ)‖ of the reference solution (ridge) or its KKT violation (ℓ1 problems).
        public var referenceResidual: Double
    }

    /// Runs the experiment on generated text-like data (power-law column frequencies).
    /// - Parameters:
    ///   - problem: ridge, elastic net (α = 0.5) or lasso.
    ///   - rows: n.
    ///   - columns: p.
    ///   - lambdaRatio: λ = λ_max/`lambdaRatio` (ridge: λ = ‖Xᵀy‖∞/(n·`lambdaRatio`)).
    ///   - tolerances: the inner tolerances, loosest first.
    ///   - directions: k, the random directions of the norm estimate.
    ///   - seed: of the data and the directions.
    public static func run(problem: Problem, rows: Int = 2_000, columns: Int = 1_000, lambdaRatio: Double = 10,
                           tolerances: [Double] = (1...12).map { Foundation.pow(10, -Double($0)) },
                           directions: Int = 16, seed: UInt64 = 0) throws -> Result {
        guard rows >= 2, columns >= 1, lambdaRatio >= 1, directions >= 1, !tolerances.isEmpty,
              tolerances.allSatisfy({ $0 > 0 && $0 < 1 }) else {
            throw SparseError.invalidArgument("TheoremOne.run: rows ≥ 2, columns ≥ 1, lambdaRatio ≥ 1, directions ≥ 1, tolerances in (0, 1)")
        }
        let data = try Datasets.textLike(rows: rows, columns: columns, nonzerosPerRow: 12, informative: min(50, columns), noise: 0.3,
                                         seed: seed)
        let x = data.features, y = DifferentiableVector(data.targets)
        let n = Double(rows)
        var random = SplitMix64(seed: seed &+ 99)
        let cs = (0..<directions).map { _ in DifferentiableVector((0..<columns).map { _ in random.nextGaussian() }) }
        let correlations = try x.multiplyTransposed(data.targets).map { abs($0) / n }
        let alpha: Double = problem == .elasticNet ? 0.5 : 1
        let lambda = (correlations.max() ?? 1) / (problem == .ridge ? 1 : alpha) / lambdaRatio
        let theta = DifferentiableVector([Foundation.log(lambda)])

        /// The k hypergradients ⟨c, ∂x⟩ at a point.
        let jacobianProbes: (DifferentiableVector) throws -> [Double]
        let reference: DifferentiableVector
        let referenceResidual: Double
        let approximate: (Double) throws -> (DifferentiableVector, Int)
        switch problem {
        case .ridge:
            let gram = try x.toCSC().gram().scaled(by: 1 / n)
            let rhs = try x.multiplyTransposed(data.targets).map { $0 / n }
            let system = try gram.addingIdentity(scaledBy: lambda).declaringSymmetric()
            let factor = try CholeskyFactorization(symmetric: system)
            try factor.factorize()
            reference = DifferentiableVector(try factor.solve(rhs))
            let solution = RootSolution<DifferentiableVector>(
                condition: { w, t in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) + scale(Foundation.exp(t[0]), w) },
                symmetricJacobian: true, positiveDefiniteJacobian: true, strategy: LinearSolveStrategy(.cholesky),
                dimension: columns,
                // Every probe is at the same θ: one matrix, so the strategy keeps one factor
                // for all of them instead of analysing and factorizing per probe.
                explicitJacobian: { _, t in t[0] == theta[0] ? system : try gram.addingIdentity(scaledBy: Foundation.exp(t[0])) },
                solver: { _ in reference })
            referenceResidual = try solution.hypergradient(at: theta, solution: reference) { w in sum(w) }.conditionResidual
            jacobianProbes = { point in
                try cs.map { c in try solution.hypergradient(at: theta, solution: point) { w in dot(c, w) }.gradient[0] }
            }
            approximate = { tolerance in
                let result = try ConjugateGradient(options: KrylovOptions(relativeTolerance: tolerance, maxIterations: 100_000))
                    .solve(system, rhs)
                return (DifferentiableVector(result.solution), result.iterations)
            }
        case .elasticNet, .lasso:
            let problemValue = try LassoProblem(design: x, targets: data.targets, lambda: lambda, l1Ratio: alpha)
            let csc = x.toCSC()
            let tight = try CoordinateDescent().solve(problemValue, tolerance: 1e-14, design: csc)
            (reference, referenceResidual) = try polish(tight.solution, x: x, csc: csc, targets: data.targets, lambda: lambda, alpha: alpha)
            let fixedPoint = try VectorProximalFixedPoint(
                gradient: { w, _ in scale(1 / n, matvecTransposed(x, matvec(x, w) - y)) },
                prox: { v, t in proxElasticNet(v, l1: Foundation.exp(t[0]) * alpha, l2: Foundation.exp(t[0]) * (1 - alpha)) },
                step: 1, smoothDependsOnTheta: false)
            jacobianProbes = { point in
                try cs.map { c in try fixedPoint.hypergradient(at: point, theta: theta) { w in dot(c, w) }.gradient[0] }
            }
            // FISTA, not coordinate descent: CD with extrapolation lands on x* to rounding as
            // soon as it has the support (30 epochs here), leaving no curve to trace.
            let fista = try RegularizedLeastSquares(design: x, targets: data.targets,
                                                    penalty: problem == .lasso ? .lasso : .elasticNet(l1Ratio: alpha), lambda: lambda)
            approximate = { tolerance in
                let r = try fista.solve(tolerance: tolerance, solver: .fista, maxIterations: 1_000_000)
                return (DifferentiableVector(r.weights), r.iterations)
            }
        }
        let exact = try jacobianProbes(reference)
        let exactNorm = (exact.map { $0 * $0 }.reduce(0, +) / Double(directions)).squareRoot()
        let referenceNorm = max(Vector.norm(reference.scalars), 1e-300)
        var points: [Point] = []
        for tolerance in tolerances {
            let (xHat, iterations) = try approximate(tolerance)
            let probes = try jacobianProbes(xHat)
            let jacobianError = (zip(probes, exact).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(directions)).squareRoot()
                / max(exactNorm, 1e-300)
            let solutionError = Vector.norm(zip(xHat.scalars, reference.scalars).map { $0 - $1 }) / referenceNorm
            points.append(Point(tolerance: tolerance, solutionError: solutionError, jacobianError: jacobianError, iterations: iterations))
        }
        let fitted = points.filter { $0.jacobianError > 1e-12 && $0.solutionError > 1e-14 }
        var slope: Double?
        if fitted.count >= 3 {
            let lx = fitted.map { Foundation.log10($0.solutionError) }, ly = fitted.map { Foundation.log10($0.jacobianError) }
            let mx = lx.reduce(0, +) / Double(lx.count), my = ly.reduce(0, +) / Double(ly.count)
            let sxx = lx.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
            if sxx > 0 { slope = zip(lx, ly).map { ($0 - mx) * ($1 - my) }.reduce(0, +) / sxx }
        }
        let constant = points.filter { $0.solutionError > 0 }.map { $0.jacobianError / $0.solutionError }.max() ?? 0
        return Result(problem: problem, rows: rows, columns: columns, lambda: lambda, points: points, slope: slope,
                      constant: constant, referenceResidual: referenceResidual)
    }

    /// The ℓ1 problem's solution to rounding: the reduced system on CD's support and signs,
    /// (X_SᵀX_S/n + λ(1−α)I) w_S = X_Sᵀy/n − λα s, by CHOLMOD; returns it with its KKT violation
    /// (max over j of the subgradient condition's excess), which the caller reports.
    static func polish(_ w: [Double], x: CSRMatrix, csc: CSCMatrix, targets: [Double], lambda: Double, alpha: Double) throws
        -> (DifferentiableVector, Double) {
        let n = Double(x.rows)
        let support = w.indices.filter { w[$0] != 0 }
        guard !support.isEmpty else { return (DifferentiableVector(w), 0) }
        let xs = try csc.selectingColumns(support)
        let gram = try xs.gram().scaled(by: 1 / n).addingIdentity(scaledBy: lambda * (1 - alpha))
        let factor = try CholeskyFactorization(symmetric: gram.declaringSymmetric())
        try factor.factorize()
        let correlation = try xs.multiplyTransposed(targets)
        let rhs = support.indices.map { k in correlation[k] / n - lambda * alpha * (w[support[k]] > 0 ? 1 : -1) }
        let ws = try factor.solve(rhs)
        var polished = [Double](repeating: 0, count: w.count)
        for (k, j) in support.enumerated() { polished[j] = ws[k] }
        // KKT: X_jᵀ(y − Xw)/n − λ(1−α)w_j ∈ λα·∂|w_j|.
        let residual = zip(targets, try x.multiply(polished)).map { $0 - $1 }
        let g = try x.multiplyTransposed(residual).map { $0 / n }
        var violation = 0.0
        for j in 0..<w.count {
            let v = g[j] - lambda * (1 - alpha) * polished[j]
            if polished[j] != 0 {
                violation = max(violation, abs(v - lambda * alpha * (polished[j] > 0 ? 1 : -1)))
                if (polished[j] > 0) != (w[j] > 0) { violation = .infinity }
            } else {
                violation = max(violation, abs(v) - lambda * alpha)
            }
        }
        return (DifferentiableVector(polished), max(violation, 0))
    }
}
