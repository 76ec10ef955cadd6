import Dispatch
import Foundation
import Sparse

/// A generalized linear model as a composition: a `Datafit` and a `Penalty`,
///
///     min_{w, b}  P(w, b) = (1/S) Σᵢ sᵢ fᵢ(xᵢᵀw + b) + g(w),
///
/// with an optional unpenalized intercept b and sample weights sᵢ (S = Σ sᵢ). Huber + ℓ1,
/// Poisson + ℓ1, least squares + MCP, logistic + group lasso… are all
/// `GeneralizedLinearModel(design:datafit:penalty:)`; the lasso is `Quadratic` × `L1`.
///
/// The model holds X in CSC order only (the layout coordinate descent reads) and answers
/// everything the solver, the certificate and the implicit layer need: the objective, the
/// gradient, the KKT residual, λ_max; `solve` runs the working-set solver
/// (`WorkingSetSolver`) or FISTA (`ProximalGradient`, the reference), and
/// `hypergradient(…)` differentiates a held-out loss with respect to log λ through
/// `ProximalFixedPoint` and the penalty's prox pattern.
///
/// Memory: X in CSC (12 bytes per nonzero + 8(p + 1)) and O(n + p) vectors per solve.
public struct GeneralizedLinearModel<Fit: Datafit, Reg: Penalty>: Sendable {
    public let design: CSCMatrix
    public let datafit: Fit
    public let penalty: Reg
    public let fitIntercept: Bool
    /// sᵢ ≥ 0 (nil: all 1).
    public let sampleWeights: [Double]?
    /// S = Σ sᵢ.
    public let totalWeight: Double

    /// - Throws: `.dimensionMismatch` (targets, weights or the penalty against X's shape),
    ///   `.nonFinite` (X's values, targets), `.invalidArgument` (a negative sample weight, a
    ///   zero total weight, targets outside the datafit's domain, bad groups), each naming the
    ///   entry.
    public init(design: CSCMatrix, datafit: Fit, penalty: Reg, fitIntercept: Bool = false, sampleWeights: [Double]? = nil) throws {
        guard datafit.targets.count == design.rows else {
            throw SparseError.dimensionMismatch(operation: "GeneralizedLinearModel", expected: "\(design.rows) targets (one per row of X)",
                                                actual: "\(datafit.targets.count)")
        }
        if let bad = design.values.firstIndex(where: { !$0.isFinite }) {
            throw SparseError.nonFinite(what: "X's values", index: bad)
        }
        try datafit.validate()
        try penalty.validate(features: design.columns)
        if let sampleWeights {
            guard sampleWeights.count == design.rows else {
                throw SparseError.dimensionMismatch(operation: "GeneralizedLinearModel", expected: "\(design.rows) sample weights",
                                                    actual: "\(sampleWeights.count)")
            }
            if let bad = sampleWeights.firstIndex(where: { !($0 >= 0 && $0.isFinite) }) {
                throw SparseError.invalidArgument("sample weight \(bad) is \(sampleWeights[bad]); sample weights must be finite and ≥ 0")
            }
        }
        let total = sampleWeights?.reduce(0, +) ?? Double(design.rows)
        guard total > 0 else { throw SparseError.invalidArgument("the sample weights sum to 0 (or X has no rows): the datafit is empty") }
        self.design = design
        self.datafit = datafit
        self.penalty = penalty
        self.fitIntercept = fitIntercept
        self.sampleWeights = sampleWeights
        self.totalWeight = total
    }

    /// The same model with CSR input (converted once to CSC; the CSR copy is not kept).
    public init(design: CSRMatrix, datafit: Fit, penalty: Reg, fitIntercept: Bool = false, sampleWeights: [Double]? = nil) throws {
        try self.init(design: design.toCSC(), datafit: datafit, penalty: penalty, fitIntercept: fitIntercept, sampleWeights: sampleWeights)
    }

    public var rows: Int { design.rows }
    public var features: Int { design.columns }

    /// The same model at penalty strength λ.
    public func withStrength(_ lambda: Double) -> GeneralizedLinearModel {
        GeneralizedLinearModel(checked: self, penalty: penalty.withStrength(lambda))
    }

    /// A copy with another penalty of the same kind and size (already validated).
    private init(checked m: GeneralizedLinearModel, penalty: Reg) {
        design = m.design; datafit = m.datafit; self.penalty = penalty; fitIntercept = m.fitIntercept
        sampleWeights = m.sampleWeights; totalWeight = m.totalWeight
    }

    /// z = Xw + b.
    public func linearPredictor(_ w: [Double], intercept b: Double = 0) -> [Double] {
        var z = [Double](repeating: b, count: rows)
        let ptr = design.columnPointers, idx = design.rowIndices, val = design.values
        for j in 0..<features where w[j] != 0 {
            for k in ptr[j]..<ptr[j + 1] { z[Int(idx[k])] += val[k] * w[j] }
        }
        return z
    }

    /// (1/S) Σᵢ sᵢ fᵢ(zᵢ).
    public func datafitValue(predictor z: [Double]) -> Double {
        var total = 0.0
        for i in 0..<rows { total += (sampleWeights?[i] ?? 1) * datafit.loss(z[i], row: i) }
        return total / totalWeight
    }

    /// P(w, b).
    public func objective(_ w: [Double], intercept b: Double = 0) -> Double {
        datafitValue(predictor: linearPredictor(w, intercept: b)) + penalty.value(w)
    }

    /// uᵢ = sᵢ f′ᵢ(zᵢ)/S, so that ∇_w F = Xᵀu and ∂F/∂b = Σ uᵢ.
    public func rowGradient(predictor z: [Double]) -> [Double] {
        (0..<rows).map { i in (sampleWeights?[i] ?? 1) * datafit.derivative(z[i], row: i) / totalWeight }
    }

    /// Xᵀu.
    public func transposedProduct(_ u: [Double]) -> [Double] {
        let ptr = design.columnPointers, idx = design.rowIndices, val = design.values
        return (0..<features).map { j in
            var s = 0.0
            for k in ptr[j]..<ptr[j + 1] { s += val[k] * u[Int(idx[k])] }
            return s
        }
    }

    /// ∇_w F(w, b) and ∂F/∂b.
    public func gradient(_ w: [Double], intercept b: Double = 0) -> (weights: [Double], intercept: Double) {
        let u = rowGradient(predictor: linearPredictor(w, intercept: b))
        return (transposedProduct(u), u.reduce(0, +))
    }

    /// max(max over blocks of dist(−∇F, ∂g), |∂F/∂b|): 0 exactly at a stationary point (the
    /// certificate of every solve; for a convex pair, the optimum).
    public func kktResidual(_ w: [Double], intercept b: Double = 0) -> Double {
        let g = gradient(w, intercept: b)
        return max(penalty.kktResidual(w, gradient: g.weights), fitIntercept ? abs(g.intercept) : 0)
    }

    /// The duality gap P(w, b) − D(u) at the dual point u built from the datafit's gradient
    /// (uᵢ = sᵢf′ᵢ(zᵢ)/S, centred when there is an intercept so that Σuᵢ = 0, then scaled
    /// into the penalty's dual feasible set), D(u) = −Σᵢ (sᵢ/S) f*ᵢ(uᵢS/sᵢ) − g*(−Xᵀu): an
    /// upper bound on P − P* for a convex pair, 0 at the optimum. nil where the pair has no
    /// gap — a datafit without a conjugate, a nonconvex penalty, box constraints, unpenalized
    /// features of a weighted ℓ1 — or the dual point leaves the conjugate's domain.
    public func dualityGap(_ w: [Double], intercept b: Double = 0) -> Double? {
        guard penalty.isConvex else { return nil }
        var u = rowGradient(predictor: linearPredictor(w, intercept: b))
        if fitIntercept {
            let mean = u.reduce(0, +) / Double(max(rows, 1))
            for i in u.indices { u[i] -= mean }
        }
        let v = transposedProduct(u).map { -$0 }
        guard let (scale, conjugate) = penalty.dualFeasibility(v), conjugate.isFinite else { return nil }
        var dual = -conjugate
        for i in 0..<rows {
            let weight = (sampleWeights?[i] ?? 1) / totalWeight
            guard weight > 0 else { continue }
            guard let f = datafit.conjugate(scale * u[i] / weight, row: i) else { return nil }
            dual -= weight * f
        }
        let gap = objective(w, intercept: b) - dual
        return gap.isFinite ? max(gap, 0) : nil
    }

    /// The intercept at w = 0 (0 without `fitIntercept`).
    public var interceptAtZero: Double { fitIntercept ? datafit.interceptAtZero(sampleWeights: sampleWeights) : 0 }

    /// The smallest λ at which w = 0 is a solution (unpenalized features and the intercept at
    /// their optimum: with ωⱼ = 0 features they are first fitted with every penalized
    /// coordinate at 0); nil when the penalty has no threshold (box constraints).
    /// - Throws: what the solve of the unpenalized part throws.
    public func lambdaMax(tolerance: Double = 1e-10) throws -> Double? {
        let free = penalty.unpenalizedCoordinates
        var w = [Double](repeating: 0, count: features), b = interceptAtZero
        if !free.isEmpty {
            // λ so large that every penalized coordinate stays at 0: the unpenalized part's fit.
            let large = withStrength(1e300)
            let fitted = try WorkingSetSolver().solve(large, tolerance: tolerance)
            w = fitted.solution
            b = fitted.intercept
        }
        return penalty.lambdaMax(gradientAtZero: gradient(w, intercept: b).weights)
    }

    /// A solve's answer with its certificate.
    public struct Solution: Sendable {
        public var weights: [Double]
        public var intercept: Double
        public var objective: Double
        /// The KKT residual max dist(−∇F, ∂g) (and |∂F/∂b|) at the answer.
        public var kktResidual: Double
        public var tolerance: Double
        public var converged: Bool
        /// False for MCP and SCAD: the answer is a stationary point, not certified global.
        public var globalOptimum: Bool
        /// "working set" or "FISTA".
        public var solver: String
        /// Coordinate-descent epochs (working set) or iterations (FISTA).
        public var iterations: Int
        public var newtonSteps: Int
        public var seconds: Double
        /// Nonzero blocks (coordinates for a separable penalty).
        public var supportSize: Int
        public init(weights: [Double], intercept: Double, objective: Double, kktResidual: Double, tolerance: Double, converged: Bool,
                    globalOptimum: Bool, solver: String, iterations: Int, newtonSteps: Int, seconds: Double, supportSize: Int) {
            self.weights = weights; self.intercept = intercept; self.objective = objective; self.kktResidual = kktResidual
            self.tolerance = tolerance; self.converged = converged; self.globalOptimum = globalOptimum; self.solver = solver
            self.iterations = iterations; self.newtonSteps = newtonSteps; self.seconds = seconds; self.supportSize = supportSize
        }
    }

    /// The solvers of `solve`.
    public typealias Method = GLMSolver

    /// Solves to a KKT residual ≤ `tolerance` (in the units of ∇F).
    /// - Throws: `GeneralizedLinearModelError.notConverged` when the solver stopped above the
    ///   tolerance (with what it reached), shape errors for a bad warm start.
    @inlinable
    public func solve(tolerance: Double = 1e-8, method: Method = .workingSet, warmStart: [Double]? = nil,
                      warmIntercept: Double? = nil, maxIterations: Int? = nil) throws -> Solution {
        let start = DispatchTime.now().uptimeNanoseconds
        var solution: Solution
        switch method {
        case .workingSet:
            var options = WorkingSetSolver.Options()
            if let maxIterations { options.maxEpochs = maxIterations }
            let r = try WorkingSetSolver(options: options).solve(self, tolerance: tolerance, warmStart: warmStart, warmIntercept: warmIntercept)
            solution = Solution(weights: r.solution, intercept: r.intercept, objective: r.objective, kktResidual: r.kktResidual,
                                tolerance: tolerance, converged: r.converged, globalOptimum: penalty.isConvex, solver: "working set",
                                iterations: r.epochs, newtonSteps: r.newtonSteps, seconds: 0, supportSize: 0)
        case .fista:
            let r = try fista(tolerance: tolerance, warmStart: warmStart, warmIntercept: warmIntercept, maxIterations: maxIterations ?? 100_000)
            solution = Solution(weights: r.weights, intercept: r.intercept, objective: objective(r.weights, intercept: r.intercept),
                                kktResidual: r.kkt, tolerance: tolerance, converged: r.kkt <= tolerance, globalOptimum: penalty.isConvex,
                                solver: "FISTA", iterations: r.iterations, newtonSteps: 0, seconds: 0, supportSize: 0)
        }
        solution.supportSize = penalty.supportSize(solution.weights)
        solution.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        guard solution.converged else {
            throw GeneralizedLinearModelError.notConverged(solver: solution.solver, iterations: solution.iterations,
                                                           kktResidual: solution.kktResidual, tolerance: tolerance)
        }
        return solution
    }

    /// FISTA (Beck & Teboulle 2009) on (w, b) with backtracking on the step (so it needs no
    /// Lipschitz constant: Poisson has none) and a restart when the objective rises; stops on
    /// the KKT residual, checked every 10 iterations.
    @usableFromInline
    func fista(tolerance: Double, warmStart: [Double]?, warmIntercept: Double?, maxIterations: Int) throws
        -> (weights: [Double], intercept: Double, kkt: Double, iterations: Int) {
        let p = features
        var w = try checkedWarmStart(warmStart)
        var b = fitIntercept ? (warmIntercept ?? interceptAtZero) : 0
        var yW = w, yB = b, t = 1.0
        var step = 1.0
        var fw = objective(w, intercept: b)
        var kkt = kktResidual(w, intercept: b)
        var iteration = 0
        while iteration < maxIterations && kkt > tolerance {
            iteration += 1
            let z = linearPredictor(yW, intercept: yB)
            let smoothY = datafitValue(predictor: z)
            let u = rowGradient(predictor: z)
            let gW = transposedProduct(u), gB = u.reduce(0, +)
            var newW = w, newB = b
            // Backtracking: F(x⁺) ≤ F(y) + ⟨∇F(y), x⁺ − y⟩ + ‖x⁺ − y‖²/(2η).
            for _ in 0..<60 {
                newW = penalty.prox((0..<p).map { yW[$0] - step * gW[$0] }, step: step)
                newB = fitIntercept ? yB - step * gB : 0
                var linear = gB * (newB - yB), quadratic = (newB - yB) * (newB - yB)
                for j in 0..<p { let d = newW[j] - yW[j]; linear += gW[j] * d; quadratic += d * d }
                let smoothNew = datafitValue(predictor: linearPredictor(newW, intercept: newB))
                if smoothNew <= smoothY + linear + quadratic / (2 * step) + 1e-12 * abs(smoothY) { break }
                step /= 2
            }
            let fNew = objective(newW, intercept: newB)
            let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
            if fNew > fw {
                // Restart (O'Donoghue & Candès 2015): momentum off, from the last iterate.
                t = 1; yW = w; yB = b
                step *= 2
                continue
            }
            let beta = (t - 1) / tNext
            yW = (0..<p).map { newW[$0] + beta * (newW[$0] - w[$0]) }
            yB = newB + beta * (newB - b)
            w = newW; b = newB; fw = fNew; t = tNext
            step *= 1.1
            if iteration % 10 == 0 { kkt = kktResidual(w, intercept: b) }
        }
        kkt = kktResidual(w, intercept: b)
        return (w, b, kkt, iteration)
    }

    @usableFromInline
    func checkedWarmStart(_ warmStart: [Double]?) throws -> [Double] {
        guard let warmStart else { return [Double](repeating: 0, count: features) }
        guard warmStart.count == features else {
            throw SparseError.dimensionMismatch(operation: "GeneralizedLinearModel.solve", expected: "a warm start of \(features) weights",
                                                actual: "\(warmStart.count)")
        }
        if let bad = warmStart.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "the warm start", index: bad) }
        return warmStart
    }
}

/// The solvers of `GeneralizedLinearModel.solve`.
public enum GLMSolver: String, CaseIterable, Sendable {
    /// Working-set coordinate descent with Anderson extrapolation and prox-Newton outer
    /// steps for non-quadratic datafits (`WorkingSetSolver`).
    case workingSet = "cd"
    /// FISTA with backtracking and restarts over the whole vector: the reference.
    case fista
}

/// Failures of `GeneralizedLinearModel`.
public enum GeneralizedLinearModelError: Error, CustomStringConvertible, Sendable {
    /// The solver stopped at its limit above the tolerance.
    case notConverged(solver: String, iterations: Int, kktResidual: Double, tolerance: Double)

    public var description: String {
        switch self {
        case let .notConverged(solver, iterations, kkt, tolerance):
            return "\(solver) did not converge: KKT residual \(kkt) after \(iterations) iterations, above the tolerance \(tolerance)"
        }
    }
}
