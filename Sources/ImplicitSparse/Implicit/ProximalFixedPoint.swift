import _Differentiation
import Dispatch
import Foundation
import Sparse

/// The proximal-gradient fixed point of min_x f(x, θ) + g(x, θ),
///
///     x* = T(x*, θ),   T(x, θ) = prox_{ηg(·, θ)}(x − η ∇ₓf(x, θ)),
///
/// differentiated with the system reduced to the generalized support, which is derived from
/// the prox's Jacobian pattern rather than written per model. For a separable prox the
/// Jacobian D = ∂prox/∂v is diagonal with entries d_j ∈ [0, 1]; the pullback of the prox on
/// the vector of ones gives them all at the cost of one prox evaluation. With S = {j : d_j ≠ 0}
/// and z = D_S u_S, the adjoint system (∂F/∂x)ᵀu = g of F = T − x splits into
///
///     (H_SS + Λ_S) z = −g_S / η,   Λ = diag((1/d − 1)/η)  (the curvature of g on S),
///     u_S = z / d_S,   u_N = −g_N − η (H_{N,S} z),
///
/// with H = ∇²ₓf: a symmetric system of size |S| (positive definite when H_SS is, as for the
/// lasso with a full-rank X_S; Λ ≥ 0 adds the elastic net's ridge part). The derivative is then
/// −(∂T/∂θ)ᵀu, one pullback of T. H_SS products come from the pullback of ∇ₓf (matrix-free,
/// Krylov), or from `reducedSystem` when the problem can give an explicit operator (the Gram
/// matrix X_SᵀX_S for least squares, factorized by CHOLMOD without being formed).
///
/// A prox acting on blocks (group lasso) declares `.blocks(groups)`: its Jacobian's active
/// blocks B_g are read off with as many pullbacks as the largest block has coordinates, S is
/// the union of the active blocks, and Λ_S = (B_S⁻¹ − I)/η block by block (LAPACK on each
/// block). Either pattern is checked with a random probe: a prox whose Jacobian does not have
/// the declared pattern is refused, never silently mistreated.
///
/// A prox whose Jacobian averages over groups found at the solution (fused lasso, graph total
/// variation, isotonic regression) declares `.fusedGroups(edges:)`: the groups are the
/// connected components of the edges whose two ends are equal in prox(v), the Jacobian on a
/// group is 11ᵀ/|C| (a projection), and the reduced system has one unknown per group,
/// EᵀHE z = Eᵀg with E the group indicators (Tibshirani & Taylor, 2012: the fit is a
/// projection on the fused groups). Groups where the prox's Jacobian vanishes (fused to zero
/// by an ℓ1 part) drop out.
///
/// θ is any `Differentiable` type, as for `RootSolution`. The same condition is available at
/// full size as `fullSolution` (a `RootSolution` of F = T − x, GMRES on p unknowns); the tests
/// check that both give the same derivatives.
public struct ProximalFixedPoint<Hyperparameters: Differentiable> {
    public typealias Gradient = @differentiable(reverse) (DifferentiableVector, Hyperparameters) -> DifferentiableVector
    public typealias Prox = @differentiable(reverse) (DifferentiableVector, Hyperparameters) -> DifferentiableVector
    public typealias JacobianPattern = ProxJacobianPattern
    public typealias Reduction = SupportReduction
    /// Solves (H_SS + diag(shift)) z = rhs on the support (`.solution`), asks for the
    /// matrix-free operator from the pullback of ∇ₓf (`.useOperator`), or says that the reverse
    /// system cannot give the derivative (`.needsForwardMode`: a singular system whose
    /// right-hand side is outside its range and too large to reveal densely). Called only when
    /// every active block of the prox's Jacobian is a single coordinate (the curvature is then
    /// diagonal).
    public typealias ReducedSystem = (_ support: [Int], _ shift: [Double], _ rhs: [Double], _ strategy: LinearSolveStrategy) throws -> ReducedSolve

    /// What a `ReducedSystem` did.
    public enum ReducedSolve {
        case solution([Double])
        case useOperator
        case needsForwardMode(reason: String)
    }

    /// The reverse-mode result of the reduced system: the gradient, or the reduction with the
    /// reason the derivative needs forward mode — a value, not an error.
    public enum AdjointOutcome {
        case gradient(Hyperparameters.TangentVector, Reduction)
        case needsForwardMode(Reduction, reason: String)
    }

    /// ∇ₓf(x, θ).
    public let gradient: Gradient
    /// prox_{ηg(·, θ)}(v) for the fixed step η (the step is part of the prox).
    public let prox: Prox
    /// η > 0.
    public let step: Double
    public let reducedSystem: ReducedSystem?
    public let strategy: LinearSolveStrategy
    /// False when f does not depend on θ (θ only in the prox, as for the lasso's λ): with a
    /// prox whose θ-derivative vanishes off the support, the adjoint then skips one pullback
    /// of ∇ₓf (a product with H over all of x). Declaring false when f does depend on θ gives
    /// a wrong derivative; the default is true.
    public let smoothDependsOnTheta: Bool

    public let pattern: JacobianPattern
    /// True for the prox of a nonconvex penalty (MCP, SCAD): its Jacobian may exceed 1
    /// between the thresholds, the curvature (1/d − 1)/η is then negative and the reduced
    /// system may be indefinite. False (the default) refuses such a prox as not nonexpansive.
    public let allowsExpansiveProx: Bool

    /// - Throws: `.invalidArgument` for a step that is not positive and finite, or blocks that
    ///   overlap or are empty.
    public init(gradient: @escaping Gradient, prox: @escaping Prox, step: Double,
                strategy: LinearSolveStrategy = LinearSolveStrategy(), reducedSystem: ReducedSystem? = nil,
                smoothDependsOnTheta: Bool = true, pattern: JacobianPattern = .diagonal, allowsExpansiveProx: Bool = false) throws {
        guard step > 0, step.isFinite else { throw SparseError.invalidArgument("the step η must be positive and finite, got \(step)") }
        self.gradient = gradient
        self.prox = prox
        self.step = step
        self.strategy = strategy
        self.reducedSystem = reducedSystem
        self.smoothDependsOnTheta = smoothDependsOnTheta
        self.allowsExpansiveProx = allowsExpansiveProx
        if case .fusedGroups(let edges) = pattern, let bad = edges.firstIndex(where: { $0.0 < 0 || $0.1 < 0 }) {
            throw SparseError.invalidArgument("edge \(bad) has a negative end")
        }
        if case .blocks(let ranges) = pattern {
            var covered = Set<Int>()
            for r in ranges {
                guard !r.isEmpty, r.lowerBound >= 0 else { throw SparseError.invalidArgument("empty or negative block \(r)") }
                for j in r where !covered.insert(j).inserted {
                    throw SparseError.invalidArgument("blocks overlap at coordinate \(j)")
                }
            }
        }
        self.pattern = pattern
    }

    /// T(x, θ).
    public var map: @differentiable(reverse) (DifferentiableVector, Hyperparameters) -> DifferentiableVector {
        let (gradient, prox, step) = (self.gradient, self.prox, self.step)
        return { x, theta in prox(x - scale(step, gradient(x, theta)), theta) }
    }

    /// The full-size implicit solution of F = T − x (for comparison, or when the prox is not
    /// separable).
    public func fullSolution(strategy: LinearSolveStrategy = LinearSolveStrategy(.gmres),
                             solver: @escaping RootSolution<Hyperparameters>.Solver) -> RootSolution<Hyperparameters> {
        RootSolution.fixedPoint(of: map, strategy: strategy, solver: solver)
    }

    /// The generalized support and the diagonal of the prox's Jacobian at v = x − η∇ₓf(x, θ).
    public func reduction(at x: DifferentiableVector, theta: Hyperparameters) throws -> Reduction {
        try checkPoint(x, theta)
        return try linearization(x, theta).reduction
    }

    /// Everything the adjoint needs from one evaluation of ∇ₓf and of the prox, with their
    /// pullbacks: ∇ₓf's pullback gives H·w and (∂∇ₓf/∂θ)ᵀw together.
    private func linearization(_ x: DifferentiableVector, _ theta: Hyperparameters) throws
        -> (reduction: Reduction,
            gradientPullback: (DifferentiableVector) -> (DifferentiableVector, Hyperparameters.TangentVector),
            proxPullback: (DifferentiableVector) -> (DifferentiableVector, Hyperparameters.TangentVector),
            blockMatrices: [[Double]]) {
        var activeBlockMatrices: [[Double]] = []
        let (g, gradientPullback) = valueWithPullback(at: x, theta, of: gradient)
        guard g.count == x.count else {
            throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                operation: "ProximalFixedPoint", expected: "∇ₓf of length \(x.count)", actual: "length \(g.count)"))
        }
        let v = x - scale(step, g)
        let (value, proxPullback) = valueWithPullback(at: v, theta, of: prox)
        guard value.count == x.count else {
            throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                operation: "ProximalFixedPoint", expected: "prox output of length \(x.count)", actual: "length \(value.count)"))
        }
        let n = x.count
        var random = SplitMix64(seed: 0xb10c)
        let r = (0..<n).map { _ in random.nextUniform() + 0.5 }
        var support: [Int] = [], diagonal: [Double] = [], active: [Range<Int>] = []
        func accept(_ j: Int, _ dj: Double) throws {
            guard dj.isFinite, dj > 0, allowsExpansiveProx || dj <= 1 + 1e-12 else {
                throw ImplicitError.invalidCondition(SparseError.invalidArgument(
                    "the prox's Jacobian diagonal at coordinate \(j) is \(dj), outside (0, 1]: the prox is not nonexpansive with the declared pattern"))
            }
            support.append(j)
            diagonal.append(dj)
        }
        func mismatch(_ worst: Double) -> ImplicitError {
            ImplicitError.invalidCondition(SparseError.invalidArgument(
                "the prox's Jacobian does not have the declared \(pattern) pattern (probe mismatch \(worst)): the prox is not separable as declared; give its blocks or use fullSolution"))
        }
        switch pattern {
        case .diagonal:
            // A separable prox: Jᵀ1 is the diagonal; a random probe r checks Jᵀr = d ∘ r.
            let d = proxPullback(DifferentiableVector(repeating: 1, count: n)).0.dense(count: n)
            let jr = proxPullback(DifferentiableVector(r)).0.dense(count: n)
            var worst = 0.0, scaleOfJ = 0.0
            for j in 0..<n {
                worst = max(worst, abs(d[j] * r[j] - jr[j]))
                scaleOfJ = max(scaleOfJ, abs(jr[j]))
            }
            guard worst <= 1e-10 * max(scaleOfJ, 1) else { throw mismatch(worst) }
            for j in 0..<n where d[j] != 0 {
                active.append(support.count..<support.count + 1)
                try accept(j, d[j])
            }
        case .fusedGroups(let edges):
            // Groups: components of the edges with equal ends in prox(v); J = 11ᵀ/|C| on each
            // active group, 0 on groups the prox clamps (J1 = 0 there). A random probe checks it.
            let groups = try Self.fusedGroups(value.scalars, edges: edges)
            let ones = proxPullback(DifferentiableVector(repeating: 1, count: n)).0.dense(count: n)
            let jr = proxPullback(DifferentiableVector(r)).0.dense(count: n)
            var worst = 0.0
            for group in groups {
                let isActive = ones[group[0]] > 0.5
                let mean = group.reduce(0.0) { $0 + r[$1] } / Double(group.count)
                for j in group {
                    worst = max(worst, abs(ones[j] - (isActive ? 1 : 0)), abs(jr[j] - (isActive ? mean : 0)))
                }
                guard isActive else { continue }
                let first = support.count
                for j in group {
                    support.append(j)
                    diagonal.append(1 / Double(group.count))
                }
                active.append(first..<support.count)
            }
            guard worst <= 1e-10 * max(r.max() ?? 1, 1) else { throw mismatch(worst) }
        case .blocks(let ranges):
            // Probe i puts a 1 at the i-th coordinate of every block, so K probes (K = the
            // largest block) give every row of every block (J is symmetric for a prox, the
            // gradient of a convex function); a random probe checks the pattern.
            guard ranges.allSatisfy({ $0.upperBound <= n }) else {
                throw ImplicitError.invalidCondition(SparseError.invalidArgument("a block reaches beyond the \(n) coordinates"))
            }
            var covered = [Bool](repeating: false, count: n)
            for range in ranges { for j in range { covered[j] = true } }
            let blockRanges = (ranges + (0..<n).filter { !covered[$0] }.map { $0..<$0 + 1 }).sorted { $0.lowerBound < $1.lowerBound }
            let largest = blockRanges.map(\.count).max() ?? 0
            var rows: [[Double]] = []  // rows[i][j]: row i (within its block) of the block holding j
            for i in 0..<largest {
                var probe = [Double](repeating: 0, count: n)
                for block in blockRanges where block.count > i { probe[block.lowerBound + i] = 1 }
                rows.append(proxPullback(DifferentiableVector(probe)).0.dense(count: n))
            }
            let jr = proxPullback(DifferentiableVector(r)).0.dense(count: n)
            var worst = 0.0, scaleOfJ = 0.0
            for block in blockRanges {
                var nonzero = false
                for j in block {
                    var predicted = 0.0
                    for i in 0..<block.count {
                        predicted += rows[i][j] * r[block.lowerBound + i]
                        if rows[i][j] != 0 { nonzero = true }
                    }
                    worst = max(worst, abs(predicted - jr[j]))
                    scaleOfJ = max(scaleOfJ, abs(jr[j]))
                }
                guard nonzero else { continue }
                let first = support.count
                for (i, j) in block.enumerated() { try accept(j, rows[i][j]) }
                active.append(first..<support.count)
                if block.count > 1 {
                    // Row-major k × k block of J (symmetric, so also column-major).
                    var m = [Double](repeating: 0, count: block.count * block.count)
                    for (a, j) in block.enumerated() {
                        for i in 0..<block.count { m[i * block.count + a] = rows[i][j] }
                    }
                    activeBlockMatrices.append(m)
                } else {
                    activeBlockMatrices.append([])
                }
            }
            guard worst <= 1e-10 * max(scaleOfJ, 1) else { throw mismatch(worst) }
        }
        let residual = Vector.norm(zip(value.scalars, x.scalars).map { $0 - $1 }) / max(1, norm(x))
        var reduction = Reduction(support: support, jacobianDiagonal: diagonal, blocks: active, fixedPointResidual: residual,
                                  report: nil, seconds: 0)
        reduction.smoothGradient = g.scalars
        if case .fusedGroups = pattern { reduction.fusedGroups = true }
        return (reduction,
                gradientPullback, proxPullback, activeBlockMatrices)
    }

    /// Jᵀg = (dx*/dθ)ᵀ g at the fixed point x, through the reduced system. Cost: one
    /// evaluation of ∇ₓf and of the prox, two pullbacks of each, and the reduced solve.
    /// - Throws: `ImplicitError.singularJacobian` when the reduced system says the derivative
    ///   needs forward mode (`reducedAdjoint` returns that as a value).
    public func adjoint(x: DifferentiableVector, theta: Hyperparameters,
                        cotangent g: DifferentiableVector) throws -> (gradient: Hyperparameters.TangentVector, reduction: Reduction) {
        switch try reducedAdjoint(x: x, theta: theta, cotangent: g) {
        case let .gradient(gradient, reduction): return (gradient, reduction)
        case let .needsForwardMode(_, reason): throw ImplicitError.singularJacobian(SparseError.invalidArgument(reason))
        }
    }

    /// `adjoint`, with a reduced system that needs forward mode returned as a value.
    public func reducedAdjoint(x: DifferentiableVector, theta: Hyperparameters,
                               cotangent g: DifferentiableVector) throws -> AdjointOutcome {
        let start = DispatchTime.now().uptimeNanoseconds
        try checkPoint(x, theta)
        let n = x.count
        let gs = g.dense(count: n)
        guard gs.count == n else {
            throw ImplicitError.invalidCondition(SparseError.dimensionMismatch(
                operation: "ProximalFixedPoint.adjoint", expected: "a cotangent of length \(n)", actual: "length \(gs.count)"))
        }
        if let bad = gs.firstIndex(where: { !$0.isFinite }) {
            throw ImplicitError.invalidTheta(SparseError.nonFinite(what: "the outer loss gradient", index: bad))
        }
        var (reduction, gradientPullback, proxPullback, blockMatrices) = try linearization(x, theta)
        if reduction.fusedGroups {
            let dtheta = try fusedAdjoint(&reduction, gs, gradientPullback: gradientPullback, proxPullback: proxPullback)
            reduction.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            return .gradient(dtheta, reduction)
        }
        let support = reduction.support, d = reduction.jacobianDiagonal
        let blocks = reduction.blocks
        let diagonalOnly = blocks.allSatisfy { $0.count == 1 }
        // B⁻¹ of each active block of size > 1 (LU, LAPACK); diagonal blocks divide.
        let inverses: [DenseFactorization?] = diagonalOnly ? [] : try zip(blocks, blockMatrices).map { block, m in
            block.count == 1 ? nil : try DenseFactorization(columnMajor: m, dimension: block.count, symmetricPositiveDefinite: false)
        }
        var scratch = [Double](repeating: 0, count: blocks.map(\.count).max() ?? 0)
        /// v_S ← B_S⁻¹ v_S, block by block.
        func applyInverse(_ v: inout [Double]) {
            if diagonalOnly {
                for k in 0..<v.count { v[k] /= d[k] }
                return
            }
            for (b, block) in blocks.enumerated() {
                if let inverse = inverses[b] {
                    v.withUnsafeMutableBufferPointer { vp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            inverse.solve(inPlace: vp.baseAddress! + block.lowerBound, scratch: sp.baseAddress!)
                        }
                    }
                } else {
                    v[block.lowerBound] /= d[block.lowerBound]
                }
            }
        }
        let shift = d.map { (1 / $0 - 1) / step }
        let rhs = support.map { -gs[$0] / step }
        var z: [Double] = []
        var forwardReason: String?
        if !support.isEmpty {
            z = try ImplicitError.mappingLinearSolveFailures {
                if diagonalOnly, let reducedSystem {
                    switch try reducedSystem(support, shift, rhs, strategy) {
                    case let .solution(explicit): return explicit
                    case let .needsForwardMode(reason): forwardReason = reason; return []
                    case .useOperator: break
                    }
                }
                // (H_SS + (B⁻¹ − I)/η) z: H_SS products from the pullback of ∇ₓf (H is
                // symmetric), the prox's curvature block by block.
                var full = [Double](repeating: 0, count: n)
                let op = try ClosureOperator(rows: support.count, columns: support.count, symmetric: true) { v, out in
                    for (k, j) in support.enumerated() { full[j] = v[k] }
                    let hv = gradientPullback(DifferentiableVector(full)).0.dense(count: n)
                    var curvature = Array(v)
                    applyInverse(&curvature)
                    for (k, j) in support.enumerated() {
                        out[k] = hv[j] + (curvature[k] - v[k]) / step
                        full[j] = 0
                    }
                }
                return try Self.solveOrMinimumNorm(op, rhs, strategy: strategy, reduction: &reduction)
            }
            if !reduction.singular { reduction.report = strategy.lastReport }
            if let forwardReason {
                reduction.singular = true
                reduction.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                return .needsForwardMode(reduction, reason: forwardReason)
            }
        }
        // D u = [z; 0]; one pullback of ∇ₓf on ηDu gives η H_{·,S} z (for u_N) and
        // η (∂∇ₓf/∂θ)ᵀ z. u_N only reaches the result through (∂prox/∂θ)ᵀ on N: when f does
        // not depend on θ and a probe with positive weights on N shows that block is zero, skip
        // the pullback.
        var zScaled = [Double](repeating: 0, count: n)
        for (k, j) in support.enumerated() { zScaled[j] = step * z[k] }
        var needed = !support.isEmpty
        if needed && !smoothDependsOnTheta {
            var probe = [Double](repeating: 0, count: n)
            var random = SplitMix64(seed: 0x5eed)
            for j in 0..<n { probe[j] = 1 + random.nextUniform() }
            for j in support { probe[j] = 0 }
            needed = Finiteness.anyNonzero(proxPullback(DifferentiableVector(probe)).1)
        }
        let (hzScaled, gradientThetaScaled) = needed ? gradientPullback(DifferentiableVector(zScaled))
                                                     : (DifferentiableVector.zero, Hyperparameters.TangentVector.zero)
        let hzDense = hzScaled.dense(count: n)
        // u_S = z / d_S; u_N = −g_N − η (H z)_N.
        var u = [Double](repeating: 0, count: n)
        for j in 0..<n { u[j] = -gs[j] - hzDense[j] }
        var uS = z
        applyInverse(&uS)
        for (k, j) in support.enumerated() { u[j] = uS[k] }
        if let bad = u.firstIndex(where: { !$0.isFinite }) {
            throw ImplicitError.singularJacobian(SparseError.nonFinite(what: "the adjoint solution", index: bad))
        }
        // (∂T/∂θ)ᵀu = (∂prox/∂θ)ᵀu − η (∂∇ₓf/∂θ)ᵀ(D u); the derivative is its negative.
        let proxTheta = proxPullback(DifferentiableVector(u)).1
        reduction.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        return .gradient(gradientThetaScaled - proxTheta, reduction)
    }

    /// The fused-group adjoint: (EᵀHE) z = Eᵀg on the active groups (E their indicators, H
    /// products from the pullback of ∇ₓf), then Jᵀg = −(∂∇ₓf/∂θ)ᵀ(Ez) + (∂prox/∂θ)ᵀ(Ez)/η
    /// (the θ-derivative of the prox is constant on the groups for the proxes this pattern
    /// is for).
    private func fusedAdjoint(_ reduction: inout Reduction, _ gs: [Double],
                              gradientPullback: @escaping (DifferentiableVector) -> (DifferentiableVector, Hyperparameters.TangentVector),
                              proxPullback: (DifferentiableVector) -> (DifferentiableVector, Hyperparameters.TangentVector)) throws
        -> Hyperparameters.TangentVector {
        let n = gs.count
        let support = reduction.support, groups = reduction.blocks
        guard !groups.isEmpty else { return .zero }
        var rhs = [Double](repeating: 0, count: groups.count)
        for (c, block) in groups.enumerated() { for k in block { rhs[c] += gs[support[k]] } }
        var full = [Double](repeating: 0, count: n)
        let z = try ImplicitError.mappingLinearSolveFailures {
            let op = try ClosureOperator(rows: groups.count, columns: groups.count, symmetric: true) { v, out in
                for (c, block) in groups.enumerated() { for k in block { full[support[k]] = v[c] } }
                let hv = gradientPullback(DifferentiableVector(full)).0.dense(count: n)
                for (c, block) in groups.enumerated() {
                    var sum = 0.0
                    for k in block { sum += hv[support[k]]; full[support[k]] = 0 }
                    out[c] = sum
                }
            }
            return try Self.solveOrMinimumNorm(op, rhs, strategy: strategy, reduction: &reduction)
        }
        if !reduction.singular { reduction.report = strategy.lastReport }
        var expanded = [Double](repeating: 0, count: n), scaled = [Double](repeating: 0, count: n)
        for (c, block) in groups.enumerated() {
            for k in block { expanded[support[k]] = z[c]; scaled[support[k]] = z[c] / step }
        }
        if let bad = expanded.firstIndex(where: { !$0.isFinite }) {
            throw ImplicitError.singularJacobian(SparseError.nonFinite(what: "the adjoint solution", index: bad))
        }
        return proxPullback(DifferentiableVector(scaled)).1 - gradientPullback(DifferentiableVector(expanded)).1
    }

    /// The reduced solve, and when it fails on a singular system — duplicated or dependent
    /// columns in the support, a fused group with no data — the minimum-norm least-squares
    /// solution by LSQR from zero (it stops on the normal-equation residual, so an
    /// inconsistent right-hand side ends it; Paige & Saunders). The reverse system's
    /// minimum-norm solution gives the derivative of the minimum-norm solution: the reduced
    /// matrix A is symmetric, so Bᵀ A⁺ g = (A⁺B)ᵀ g, and the forward system A J = B is
    /// consistent. The reduction records it (`singular`) and the report says why.
    static func solveOrMinimumNorm(_ op: ClosureOperator, _ rhs: [Double], strategy: LinearSolveStrategy,
                                   reduction: inout SupportReduction) throws -> [Double] {
        let firstFailure: Error
        do { return try strategy.solve(op, rhs) } catch { firstFailure = error }
        switch firstFailure {
        case LinearSolveError.notConverged, LinearSolveError.inaccurate, SparseError.notPositiveDefinite, SparseError.singularMatrix:
            break
        default:
            throw firstFailure
        }
        // The normal-equation measure bounds the error through κ², so it is taken tight.
        var options = strategy.options
        options.relativeTolerance = min(options.relativeTolerance, 1e-14)
        options.maxIterations = max(options.maxIterations ?? 0, 20 * op.rows)
        let result = try LSQR(options: options).solve(op, rhs)
        guard result.status == .converged, result.solution.allSatisfy(\.isFinite) else {
            throw LinearSolveError.notConverged(method: "lsqr", status: result.status, iterations: result.iterations,
                                                relativeResidual: result.relativeResidual)
        }
        reduction.singular = true
        reduction.report = LinearSolveReport(
            method: "lsqr",
            reason: "the reduced system of \(op.rows) unknowns is singular (\(firstFailure)): minimum-norm least-squares solution, the derivative of the minimum-norm x*",
            relativeResidual: result.normalEquationResidual ?? result.relativeResidual, iterations: result.iterations,
            fellBack: true, seconds: result.seconds)
        return result.solution
    }

    /// Groups of `values`: connected components of the edges whose ends are equal (to
    /// 10⁻¹²·max(1, ‖values‖∞)); isolated coordinates are groups of one. Union–find, O(edges·α).
    static func fusedGroups(_ values: [Double], edges: [(Int, Int)]) throws -> [[Int]] {
        let n = values.count
        var parent = Array(0..<n)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        let tolerance = 1e-12 * max(1, values.map(abs).max() ?? 0)
        for (e, (a, b)) in edges.enumerated() {
            guard a < n, b < n else {
                throw ImplicitError.invalidCondition(SparseError.invalidArgument("edge \(e) (\(a), \(b)) reaches beyond the \(n) coordinates"))
            }
            if abs(values[a] - values[b]) <= tolerance {
                let ra = root(a), rb = root(b)
                if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
            }
        }
        var index = [Int: Int](), groups: [[Int]] = []
        for i in 0..<n {
            let r = root(i)
            if let g = index[r] { groups[g].append(i) } else { index[r] = groups.count; groups.append([i]) }
        }
        return groups
    }

    /// The hypergradient ∇θ L(x*(θ)) at a fixed point x found by any solver.
    public func hypergradient(at x: DifferentiableVector, theta: Hyperparameters,
                              loss: @differentiable(reverse) (DifferentiableVector) -> Double) throws
        -> (value: Double, gradient: Hyperparameters.TangentVector, reduction: Reduction) {
        try checkPoint(x, theta)
        let (value, g) = valueWithGradient(at: x, of: loss)
        let (dtheta, reduction) = try adjoint(x: x, theta: theta, cotangent: g)
        return (value, dtheta, reduction)
    }

    private func checkPoint(_ x: DifferentiableVector, _ theta: Hyperparameters) throws {
        do { try Finiteness.check(theta, "θ") } catch { throw ImplicitError.invalidTheta(error) }
        if let bad = x.scalars.firstIndex(where: { !$0.isFinite }) {
            throw ImplicitError.solverFailed(SparseError.nonFinite(what: "x*", index: bad))
        }
    }
}

/// A proximal-gradient fixed point over a vector of hyperparameters.
public typealias VectorProximalFixedPoint = ProximalFixedPoint<DifferentiableVector>

/// The structure of a prox's Jacobian ∂prox/∂v (`ProximalFixedPoint`).
public enum ProxJacobianPattern: Sendable {
    /// A separable prox (lasso, elastic net, non-negative lasso, box, weighted penalties).
    case diagonal
    /// A prox acting on disjoint blocks of coordinates (group lasso): dense blocks, zero
    /// elsewhere. Coordinates in no block are treated as blocks of one.
    case blocks([Range<Int>])
    /// A prox that fuses coordinates joined by these edges when they are equal at the solution
    /// (fused lasso on a chain, graph total variation, isotonic regression): its Jacobian
    /// averages over each fused group.
    case fusedGroups(edges: [(Int, Int)])
}

/// What a support reduction found (`ProximalFixedPoint`).
public struct SupportReduction: Sendable {
    /// The generalized support S = {j : ∂prox_j/∂v_j ≠ 0}.
    public var support: [Int]
    /// d_j = ∂prox_j/∂v_j on S.
    public var jacobianDiagonal: [Double]
    /// The active blocks of the prox's Jacobian, as ranges into `support` (one entry per
    /// coordinate for a diagonal pattern; one per fused group, its coordinates contiguous in
    /// `support`, for `.fusedGroups`).
    public var blocks: [Range<Int>]
    /// The fixed-point residual ‖T(x, θ) − x‖ / max(1, ‖x‖) at the point given.
    public var fixedPointResidual: Double
    public var report: LinearSolveReport?
    public var seconds: Double
    /// True when the reduced unknowns are fused groups (one per block), not coordinates.
    public var fusedGroups = false
    /// True when the reduced system was singular (the solution x* is not unique) and the
    /// derivative is that of the minimum-norm solution.
    public var singular = false
    /// ∇ₓf at the point (computed for the reduction anyway): the optimality margins of the
    /// coordinates off the support, for detecting a breakpoint of the solution path.
    public var smoothGradient: [Double] = []
}

extension ProximalFixedPoint {
    /// x*(θ) from `solver` as a differentiable function whose pullback is the support-reduced
    /// adjoint: usable inside Swift's `gradient(at:of:)` like a `RootSolution`.
    public func solution(solver: @escaping (Hyperparameters) throws -> DifferentiableVector)
        -> ReducedFixedPointSolution<Hyperparameters> {
        ReducedFixedPointSolution(fixedPoint: self, solver: solver)
    }
}

/// A proximal-gradient fixed point x*(θ) differentiable under Swift AD through the reduced
/// system of `ProximalFixedPoint` (size |S|, not p). Failures inside AD give NaN and are
/// recorded for `checked { … }`, as for `RootSolution`.
public struct ReducedFixedPointSolution<Hyperparameters: Differentiable> {
    public let fixedPoint: ProximalFixedPoint<Hyperparameters>
    public let solver: (Hyperparameters) throws -> DifferentiableVector
    public let diagnostics = SolutionDiagnostics()
    /// The last reduction the pullback made (support, report), for inspection.
    public let lastReduction = ReductionRecord()

    /// x*(θ), differentiable with respect to θ.
    @differentiable(reverse, wrt: theta)
    public func callAsFunction(_ theta: Hyperparameters) -> DifferentiableVector {
        solveRecordingFailure(theta)
    }

    /// x*(θ) without derivatives; throws `ImplicitError` naming what went wrong.
    public func solve(_ theta: Hyperparameters) throws -> DifferentiableVector {
        let x = try ImplicitError.runningSolver(solver, at: theta)
        if let bad = x.scalars.firstIndex(where: { !$0.isFinite }) {
            throw ImplicitError.solverFailed(SparseError.nonFinite(what: "the solver's x*", index: bad))
        }
        diagnostics.rememberDimension(x.count)
        return x
    }

    func solveRecordingFailure(_ theta: Hyperparameters) -> DifferentiableVector {
        diagnostics.recordingFailure { try solve(theta) }
    }

    @derivative(of: callAsFunction, wrt: theta)
    @usableFromInline
    func vjpSolution(_ theta: Hyperparameters)
        -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> Hyperparameters.TangentVector) {
        let x = solveRecordingFailure(theta)
        let (diagnostics, fixedPoint, record) = (self.diagnostics, self.fixedPoint, self.lastReduction)
        return (x, { g in
            do {
                let (dtheta, reduction) = try fixedPoint.adjoint(x: x, theta: theta, cotangent: g)
                record.set(reduction)
                return dtheta
            } catch {
                diagnostics.record(error)
                return Finiteness.failureTangent(like: theta)
            }
        })
    }

    /// Runs `body` and throws the first failure recorded meanwhile.
    public func checked<T>(_ body: () throws -> T) throws -> T { try diagnostics.checked(body) }
}

/// The last reduction made inside a pullback (thread-safe box).
public final class ReductionRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var value: SupportReduction?
    public init() {}
    public var reduction: SupportReduction? { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ r: SupportReduction) { lock.lock(); value = r; lock.unlock() }
}
