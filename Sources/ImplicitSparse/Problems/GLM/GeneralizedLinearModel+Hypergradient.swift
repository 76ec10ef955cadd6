import _Differentiation
import Dispatch
import Foundation
import Sparse

/// A held-out criterion for a `GeneralizedLinearModel`: the mean of a per-row loss (any
/// `Datafit` on the held-out targets: `SquaredError` for the mean squared error, `Logistic`,
/// `Huber`, `Poisson`, or one of the user's) of the held-out predictor X_val w + b.
public struct HeldOutLoss<Loss: Datafit>: Sendable {
    public let design: CSCMatrix
    public let loss: Loss
    /// A constant factor on the mean (2 turns `Quadratic`'s ½(y − z)² into the mean squared
    /// error).
    public let scale: Double

    /// - Throws: `.dimensionMismatch` when the loss' targets are not one per row, `.nonFinite`.
    public init(design: CSCMatrix, loss: Loss, scale: Double = 1) throws {
        guard scale > 0, scale.isFinite else { throw SparseError.invalidArgument("the held-out loss' scale must be positive and finite") }
        self.scale = scale
        guard loss.targets.count == design.rows, design.rows > 0 else {
            throw SparseError.dimensionMismatch(operation: "HeldOutLoss", expected: "\(design.rows) held-out targets (at least one)",
                                                actual: "\(loss.targets.count)")
        }
        if let bad = design.values.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "the held-out X's values", index: bad) }
        try loss.validate()
        self.design = design
        self.loss = loss
    }

    /// The loss and its gradient in (w, b).
    public func valueAndGradient(_ w: [Double], intercept b: Double) throws -> (value: Double, weights: [Double], intercept: Double) {
        guard w.count == design.columns else {
            throw SparseError.dimensionMismatch(operation: "HeldOutLoss", expected: "\(design.columns) features", actual: "\(w.count)")
        }
        let rows = design.rows, inverse = scale / Double(rows)
        var z = [Double](repeating: b, count: rows)
        let ptr = design.columnPointers, idx = design.rowIndices, val = design.values
        for j in 0..<design.columns where w[j] != 0 { for k in ptr[j]..<ptr[j + 1] { z[Int(idx[k])] += val[k] * w[j] } }
        var value = 0.0, gb = 0.0
        var u = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            value += loss.loss(z[i], row: i)
            u[i] = loss.derivative(z[i], row: i) * inverse
            gb += u[i]
        }
        let gw = (0..<design.columns).map { j -> Double in
            var s = 0.0
            for k in ptr[j]..<ptr[j + 1] { s += val[k] * u[Int(idx[k])] }
            return s
        }
        return (value * inverse, gw, gb)
    }
}

extension GeneralizedLinearModel {
    /// d C / d log λ of a held-out criterion C(w*(λ), b*(λ)) at a solution, through the
    /// implicit layer: the proximal-gradient fixed point of (w, b) with the penalty's prox
    /// (`ProximalFixedPoint`; the penalty's block pattern, its step `fixedPointStep`), reduced
    /// to the generalized support. The reduced system is X̃_SᵀDX̃_S + Λ_S (X̃ = [X 1] with an
    /// intercept, Dᵢ = sᵢf″ᵢ(zᵢ)/S, Λ the penalty's curvature: λ(1 − α) for the elastic net,
    /// −1/γ between MCP's thresholds): dense and rank-revealing up to `denseLimit` unknowns
    /// (the minimum-norm solution's derivative when duplicated columns make it singular; LU
    /// for a nonconvex penalty, whose singular system is an error), the strategy on the
    /// operator above.
    /// - Returns: the criterion, its derivative in log λ, the reduced solve's report and the
    ///   fixed-point residual ‖T(x) − x‖/max(1, ‖x‖) (the derivative is only as good as it).
    /// - Throws: `ImplicitError` (a singular nonconvex system, a failed solve), shape errors.
    public func hypergradient<Loss: Datafit>(at solution: Solution, heldOut: HeldOutLoss<Loss>,
                                             strategy: LinearSolveStrategy = LinearSolveStrategy(name: "GLM reduced system"),
                                             denseLimit: Int = 2000) throws -> Hypergradient<Double> {
        guard heldOut.design.columns == features else {
            throw SparseError.dimensionMismatch(operation: "GeneralizedLinearModel.hypergradient", expected: "held-out data with \(features) features",
                                                actual: "\(heldOut.design.columns)")
        }
        return try hypergradient(at: solution, loss: heldOut, strategy: strategy, denseLimit: denseLimit)
    }

    /// The same for any outer loss of (w, b) (`LinearModelLoss`).
    public func hypergradient(at solution: Solution, loss: any LinearModelLoss,
                              strategy: LinearSolveStrategy = LinearSolveStrategy(name: "GLM reduced system"),
                              denseLimit: Int = 2000) throws -> Hypergradient<Double> {
        let criterion = try loss.valueAndGradient(solution.weights, intercept: solution.intercept)
        guard criterion.weights.count == features else {
            throw SparseError.dimensionMismatch(operation: "GeneralizedLinearModel.hypergradient", expected: "a loss gradient over \(features) features",
                                                actual: "\(criterion.weights.count)")
        }
        let lambda = penalty.strength
        var x = solution.weights, cotangent = criterion.weights
        if fitIntercept { x.append(solution.intercept); cotangent.append(criterion.intercept) }
        let smooth = GLMSmoothPart(model: self)
        let proxMap = GLMProxMap(penalty: penalty, step: penalty.fixedPointStep, features: features)
        // D at the solution, for the explicit reduced system.
        let z = linearPredictor(solution.weights, intercept: solution.intercept)
        let curvature = (0..<rows).map { i in (sampleWeights?[i] ?? 1) * datafit.secondDerivative(z[i], row: i) / totalWeight }
        let design = self.design, p = features, rowCount = rows
        let fixedPoint = try ProximalFixedPoint<DifferentiableVector>(
            gradient: { x, _ in smooth.gradient(x) },
            prox: { v, theta in proxMap.apply(v, theta) },
            step: penalty.fixedPointStep, strategy: strategy,
            reducedSystem: { support, shift, rhs, strategy in
                .solution(try Self.reducedSolve(design: design, rows: rowCount, features: p, curvature: curvature, support: support, shift: shift,
                                                rhs: rhs, strategy: strategy, denseLimit: denseLimit))
            },
            smoothDependsOnTheta: false,
            pattern: penalty.blocks.map { .blocks($0) } ?? .diagonal,
            allowsExpansiveProx: !penalty.isConvex)
        let (dtheta, reduction) = try fixedPoint.adjoint(x: DifferentiableVector(x), theta: DifferentiableVector([lambda]),
                                                         cotangent: DifferentiableVector(cotangent))
        var result = Hypergradient(value: criterion.value, gradient: lambda * dtheta.dense(count: 1)[0],
                                   report: reduction.report ?? strategy.lastReport, conditionResidual: reduction.fixedPointResidual)
        result.supportSize = reduction.support.filter { $0 < p }.count
        let rankDeficient = (reduction.report?.rank).map { $0 < reduction.support.count } ?? false
        result.unique = !(reduction.singular || rankDeficient)
        result.rank = reduction.report?.rank
        if !result.unique {
            result.nonUniqueness = "the reduced system of \(reduction.support.count) unknowns is singular (rank \(reduction.report?.rank.map(String.init) ?? "unknown")): duplicated or dependent columns on the support; the derivative is that of the minimum-norm solution"
        }
        return result
    }

    /// (X̃_SᵀDX̃_S + diag(shift)) z = rhs: dense up to `denseLimit` (rank-revealing Cholesky
    /// when every shift is ≥ 0, LU otherwise), the strategy on a closure operator above.
    static func reducedSolve(design: CSCMatrix, rows: Int, features p: Int, curvature: [Double], support: [Int], shift: [Double],
                             rhs: [Double], strategy: LinearSolveStrategy, denseLimit: Int) throws -> [Double] {
        let k = support.count
        let ptr = design.columnPointers, idx = design.rowIndices, val = design.values
        let convex = shift.allSatisfy { $0 >= 0 }
        // Column a of X̃_S as (row, value) pairs; the intercept is the column of ones.
        func forEachEntry(_ a: Int, _ body: (Int, Double) -> Void) {
            let j = support[a]
            if j == p { for i in 0..<rows { body(i, 1) } } else { for q in ptr[j]..<ptr[j + 1] { body(Int(idx[q]), val[q]) } }
        }
        if k <= denseLimit {
            // G = X̃_SᵀDX̃_S column by column through a dense row buffer of D∘X̃_a.
            var g = [Double](repeating: 0, count: k * k)
            var column = [Double](repeating: 0, count: rows)
            for a in 0..<k {
                forEachEntry(a) { i, v in column[i] = curvature[i] * v }
                for c in a..<k {
                    var s = 0.0
                    forEachEntry(c) { i, v in s += column[i] * v }
                    g[a * k + c] = s; g[c * k + a] = s
                }
                forEachEntry(a) { i, _ in column[i] = 0 }
                g[a * k + a] += shift[a]
            }

            // Handed to the strategy declared positive semidefinite when convex (the automatic
            // policy's rank-revealing Cholesky: the minimum-norm solution and the rank when
            // duplicated columns make it singular), symmetric indefinite otherwise (LAPACK LU).
            let op = try DenseMatrixOperator(columnMajor: g, dimension: k, symmetric: true, positiveSemidefinite: convex)
            return try strategy.solve(op, rhs)
        }
        var diagonal = shift
        for a in 0..<k { forEachEntry(a) { i, v in diagonal[a] += curvature[i] * v * v } }
        var buffer = [Double](repeating: 0, count: rows)
        let op = try ClosureOperator(rows: k, columns: k, symmetric: true, positiveDefinite: convex && shift.allSatisfy { $0 > 0 },
                                     diagonal: diagonal) { v, out in
            for i in 0..<rows { buffer[i] = 0 }
            for a in 0..<k where v[a] != 0 { let va = v[a]; forEachEntry(a) { i, x in buffer[i] += x * va } }
            for i in 0..<rows { buffer[i] *= curvature[i] }
            for a in 0..<k {
                var s = shift[a] * v[a]
                forEachEntry(a) { i, x in s += x * buffer[i] }
                out[a] = s
            }
        }
        return try strategy.solve(op, rhs)
    }

    /// The central finite difference of the held-out criterion in log λ, re-solving at a
    /// tight tolerance warm-started from the solution; h shrinks tenfold (10⁻³ to 10⁻⁶) while
    /// a side's support differs from the solution's (a secant across a kink otherwise).
    public func finiteDifference<Loss: Datafit>(at solution: Solution, heldOut: HeldOutLoss<Loss>, tolerance: Double = 1e-12)
        throws -> (derivative: Double, step: Double) {
        let support = solution.weights.map { $0 != 0 }
        var result = (derivative: Double.nan, step: 1e-3)
        for h in [1e-3, 1e-4, 1e-5, 1e-6] {
            var values: [Double] = []
            var sameSupport = true
            for sign in [1.0, -1.0] {
                let side = try withStrength(penalty.strength * Foundation.exp(sign * h))
                    .solve(tolerance: tolerance, warmStart: solution.weights, warmIntercept: solution.intercept)
                if side.weights.map({ $0 != 0 }) != support { sameSupport = false }
                values.append(try heldOut.valueAndGradient(side.weights, intercept: side.intercept).value)
            }
            result = ((values[0] - values[1]) / (2 * h), h)
            if sameSupport { break }
        }
        return result
    }
}

/// ∇F of a GLM's datafit in x = (w[, b]) as a differentiable function whose pullback is the
/// Hessian product X̃ᵀDX̃v (symmetric), D from the point of evaluation. Not generic: the
/// model enters through two closures (a generic class with a custom derivative crashes the
/// Swift 6.3 compiler's closure-lifetime pass).
final class GLMSmoothPart {
    /// x ↦ ∇F(x).
    let gradientOf: ([Double]) -> [Double]
    /// x ↦ (v ↦ ∇²F(x) v).
    let hessianAt: ([Double]) -> ([Double]) -> [Double]
    let count: Int

    init<Fit: Datafit, Reg: Penalty>(model: GeneralizedLinearModel<Fit, Reg>) {
        let p = model.features, intercept = model.fitIntercept
        count = p + (intercept ? 1 : 0)
        func split(_ x: [Double]) -> (w: [Double], b: Double) { (Array(x[0..<p]), intercept ? x[p] : 0) }
        gradientOf = { x in
            let (w, b) = split(x)
            let g = model.gradient(w, intercept: b)
            return intercept ? g.weights + [g.intercept] : g.weights
        }
        hessianAt = { x in
            let (w, b) = split(x)
            let z = model.linearPredictor(w, intercept: b)
            let curvature = (0..<model.rows).map { i in
                (model.sampleWeights?[i] ?? 1) * model.datafit.secondDerivative(z[i], row: i) / model.totalWeight
            }
            return { v in
                let (vw, vb) = split(v)
                var product = model.linearPredictor(vw, intercept: vb)
                for i in 0..<product.count { product[i] *= curvature[i] }
                let hw = model.transposedProduct(product)
                return intercept ? hw + [product.reduce(0, +)] : hw
            }
        }
    }

    @differentiable(reverse, wrt: x)
    func gradient(_ x: DifferentiableVector) -> DifferentiableVector {
        DifferentiableVector(gradientOf(x.dense(count: count)))
    }

    @derivative(of: gradient, wrt: x)
    func vjpGradient(_ x: DifferentiableVector) -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
        let dense = x.dense(count: count), n = count
        let product = hessianAt(dense)
        return (DifferentiableVector(gradientOf(dense)), { v in DifferentiableVector(product(v.dense(count: n))) })
    }
}

/// The penalty's prox on x = (w[, b]) (the intercept passes through) as a differentiable
/// function of v and θ = [λ], with the pullback from the penalty's block Jacobians.
struct GLMProxMap<Reg: Penalty> {
    let penalty: Reg
    let step: Double
    let features: Int

    @differentiable(reverse)
    func apply(_ v: DifferentiableVector, _ theta: DifferentiableVector) -> DifferentiableVector {
        value(v, theta)
    }

    func value(_ v: DifferentiableVector, _ theta: DifferentiableVector) -> DifferentiableVector {
        let penalty = self.penalty.withStrength(theta.dense(count: 1)[0])
        var out = v.scalars
        out.withUnsafeMutableBufferPointer { o in
            penalty.forEachBlock(count: features) { b in
                penalty.blockProx(UnsafeMutableBufferPointer(rebasing: o[b]), step: step, block: b)
            }
        }
        return DifferentiableVector(out)
    }

    @derivative(of: apply)
    func vjpApply(_ v: DifferentiableVector, _ theta: DifferentiableVector)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
        let penalty = self.penalty.withStrength(theta.dense(count: 1)[0])
        let scalars = v.scalars, count = scalars.count, step = self.step, features = self.features
        return (value(v, theta), { c in
            let cs = c.dense(count: count)
            var dv = cs  // the intercept's coordinate passes through
            var dlambda = 0.0
            penalty.forEachBlock(count: features) { b in
                let (jacobian, strength) = penalty.blockProxJacobian(Array(scalars[b]), step: step, block: b)
                let k = b.count
                for a in 0..<k {
                    var s = 0.0
                    for q in 0..<k { s += jacobian[q * k + a] * cs[b.lowerBound + q] }
                    dv[b.lowerBound + a] = s
                    dlambda += strength[a] * cs[b.lowerBound + a]
                }
            }
            return (DifferentiableVector(dv), DifferentiableVector([dlambda]))
        })
    }
}

extension GeneralizedLinearModel: RegularizationPathProblem {
    public typealias HeldOut = any LinearModelLoss
    public var hyperparameterNames: [String] { ["λ"] }
    public var hyperparameters: [Double] { [penalty.strength] }

    /// - Throws: `.invalidArgument` unless one positive finite λ is given for a penalty with a strength.
    public func with(hyperparameters values: [Double]) throws -> GeneralizedLinearModel {
        guard values.count == 1, values[0] > 0, values[0].isFinite else {
            throw SparseError.invalidArgument("a generalized linear model has one hyperparameter λ > 0; got \(values)")
        }
        guard penalty.hasStrength else { throw SparseError.invalidArgument("the \(penalty.name) penalty has no strength λ") }
        return withStrength(values[0])
    }

    public func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy { LinearSolveStrategy(name: "GLM reduced system") }

    /// The working-set solver to a KKT residual ≤ `tolerance` (default 10⁻⁸).
    public func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution {
        try solve(tolerance: tolerance ?? 1e-8, warmStart: warmStart?.weights, warmIntercept: warmStart?.intercept)
    }

    public func summary(of solution: Solution) -> SolveSummary {
        SolveSummary(iterations: solution.iterations, seconds: solution.seconds, certificate: solution.kktResidual,
                     certificateName: "KKT residual", supportSize: solution.supportSize, globalOptimum: solution.globalOptimum)
    }

    public func value(of heldOut: any LinearModelLoss, at solution: Solution) throws -> Double {
        try heldOut.valueAndGradient(solution.weights, intercept: solution.intercept).value
    }

    public func hypergradient(of heldOut: any LinearModelLoss, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
        let h = try hypergradient(at: solution, loss: heldOut, strategy: strategy)
        var result = Hypergradient(value: h.value, gradient: [h.gradient], report: h.report, conditionResidual: h.conditionResidual)
        result.supportSize = h.supportSize
        result.unique = h.unique
        return result
    }

    public func hyperparameters(lambda: Double) -> [Double] { [lambda] }
    public func pathLambdaMax() throws -> Double? { try lambdaMax() }
}
