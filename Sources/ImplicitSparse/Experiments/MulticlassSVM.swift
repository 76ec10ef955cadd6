import _Differentiation
import Foundation
import Sparse

/// The paper's multiclass SVM experiment (Blondel et al. 2022, §4): the dual of the
/// Crammer–Singer multiclass SVM on a product of simplices,
///
///     β*(θ) = argmin_{β ∈ Δₖ × … × Δₖ} f(β, θ) = (1/2θ)‖Xᵀ(Y − β)‖² + ⟨β, Y⟩,
///
/// with X the m × p training design, Y the m × k one-hot labels, β one simplex per sample
/// (stored row-major: sample i's k entries are consecutive) and θ > 0 the regularization; the
/// primal weights are W(β, θ) = Xᵀ(Y − β)/θ (p × k). θ enters as log θ.
///
/// Three solvers, each with its own fixed point, from which the implicit layer differentiates
/// β*(θ) — the same derivative from three different conditions:
///
/// | solver | fixed point (θ∇f = −XXᵀ(Y − β) + θY, the gradient scaled by θ) | library condition |
/// |---|---|---|
/// | mirror descent (KL), backtracking | β = normalize(β ∘ exp(−D θ∇f)) | `OptimalityConditions.mirrorDescentSimplex` with the gradient scaled block by block |
/// | projected gradient (FISTA) | β = proj(β − θ∇f/L), L = ‖X‖₂² | `OptimalityConditions.projectedGradient` |
/// | block coordinate descent | β = proj(β − D θ∇f) | `OptimalityConditions.projectedGradient` with the gradient scaled block by block |
///
/// D = diag(1/‖xᵢ‖²) block by block (sample i's k entries): BCD's exact block steps, and mirror
/// descent's per-block steps (times a global factor found by backtracking on the Bregman
/// bound; with one global step it stalled near 10⁻⁶ relative gap on power-law rows).
///
/// Scaling the gradient by θ changes only the step, not the fixed points, and makes the steps
/// independent of θ. Each solver stops on the relative duality gap (P(W) − D(β))/P(W), the
/// certificate. Unrolled differentiation replays the same iterations (same count, same
/// steps) written with the differentiable primitives and differentiates through the loop
/// with Swift's reverse-mode AD — what JAXopt's `implicit_diff=False` does.
///
/// Cost per solver iteration (or BCD epoch): two passes over X, O(nnz(X)·k); memory: X
/// twice (CSR and its transpose), β, Y (m·k) and W (p·k). Unrolled BCD rewrites β (m·k) and
/// W (p·k) once per sample, O(m·(m + p)·k) per epoch — the cost the paper's figure shows.
public struct MulticlassSVM {
    public enum Solver: String, CaseIterable, Sendable, CustomStringConvertible {
        case mirrorDescent = "md", projectedGradient = "pg", blockCoordinateDescent = "bcd"
        public var description: String {
            switch self {
            case .mirrorDescent: return "mirror descent"
            case .projectedGradient: return "projected gradient"
            case .blockCoordinateDescent: return "block coordinate descent"
            }
        }
    }

    /// X (m × p) with its transpose, for the differentiable products.
    public let design: DesignMatrix
    public let labels: [Int]
    public let classes: Int
    public var samples: Int { design.rowMajor.rows }
    public var features: Int { design.rowMajor.columns }
    /// Y, m × k row-major one-hot.
    let oneHot: [Double]
    /// For class c, the indices i·k + c of its entries in β.
    let classIndices: [[Int]]
    /// For sample i, the indices i·k ..< (i+1)·k.
    let blockIndices: [[Int]]
    /// ‖xᵢ‖² per sample (the block Lipschitz constants of θ∇f).
    let rowNormsSquared: [Double]
    /// ‖X‖₂² (power iteration, 2 % margin): the Lipschitz constant of θ∇f.
    public let lipschitz: Double

    /// - Throws: `.dimensionMismatch` when there is not one label per row, `.invalidArgument`
    ///   for fewer than 2 classes, a label outside 0..<classes (naming the row) or an empty
    ///   row (its dual block is not unique), `.nonFinite` for a NaN/Inf in X.
    public init(x: CSRMatrix, labels: [Int], classes: Int) throws {
        guard labels.count == x.rows else {
            throw SparseError.dimensionMismatch(operation: "MulticlassSVM", expected: "\(x.rows) labels (one per row of X)", actual: "\(labels.count)")
        }
        guard classes >= 2 else { throw SparseError.invalidArgument("a multiclass SVM needs at least 2 classes, got \(classes)") }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw SparseError.invalidArgument("row \(bad): label \(labels[bad]) is not in 0..<\(classes)")
        }
        if let bad = x.values.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "X", index: bad) }
        let pointers = x.rowPointers, values = x.values
        var norms = [Double](repeating: 0, count: x.rows)
        for i in 0..<x.rows {
            for a in pointers[i]..<pointers[i + 1] { norms[i] += values[a] * values[a] }
            guard norms[i] > 0 else { throw SparseError.invalidArgument("row \(i) of X is empty: its dual block is not unique") }
        }
        design = DesignMatrix(x)
        self.labels = labels
        self.classes = classes
        rowNormsSquared = norms
        var y = [Double](repeating: 0, count: x.rows * classes)
        for (i, label) in labels.enumerated() { y[i * classes + label] = 1 }
        oneHot = y
        classIndices = (0..<classes).map { c in (0..<x.rows).map { $0 * classes + c } }
        blockIndices = (0..<x.rows).map { i in Array(i * classes..<(i + 1) * classes) }
        // Power iteration on XᵀX.
        var v = (0..<x.columns).map { 1 + 0.01 * Double($0 % 7) }
        var estimate = 0.0
        for _ in 0..<60 {
            let length = Vector.norm(v)
            v = v.map { $0 / length }
            let w = try design.transposed.multiply(try x.multiply(v))
            estimate = Vector.norm(w)
            v = w
        }
        lipschitz = 1.02 * estimate
    }

    // MARK: Fast kernels (outside AD)

    /// W̃ = Xᵀ(Y − β) (p × k row-major); W = W̃/θ.
    func unscaledWeights(_ beta: [Double]) -> [Double] {
        let k = classes, x = design.rowMajor
        var w = [Double](repeating: 0, count: features * k)
        x.rowPointers.withUnsafeBufferPointer { rp in
        x.columnIndices.withUnsafeBufferPointer { ci in
        x.values.withUnsafeBufferPointer { xv in
        w.withUnsafeMutableBufferPointer { wb in
            for i in 0..<samples {
                for a in rp[i]..<rp[i + 1] {
                    let j = Int(ci[a]), value = xv[a]
                    for c in 0..<k { wb[j * k + c] += value * (oneHot[i * k + c] - beta[i * k + c]) }
                }
            }
        }}}}
        return w
    }

    /// S = X W̃ (m × k row-major).
    func scores(_ w: [Double], design x: CSRMatrix) -> [Double] {
        let k = classes
        var s = [Double](repeating: 0, count: x.rows * k)
        x.rowPointers.withUnsafeBufferPointer { rp in
        x.columnIndices.withUnsafeBufferPointer { ci in
        x.values.withUnsafeBufferPointer { xv in
        s.withUnsafeMutableBufferPointer { sb in
            for i in 0..<x.rows {
                for a in rp[i]..<rp[i + 1] {
                    let j = Int(ci[a]), value = xv[a]
                    for c in 0..<k { sb[i * k + c] += value * w[j * k + c] }
                }
            }
        }}}}
        return s
    }

    /// The relative duality gap (P(W) − D(β))/P(W) at β, from W̃ = Xᵀ(Y − β) and S = XW̃:
    /// P(W) = (θ/2)‖W‖² + Σᵢ maxⱼ(1 − Yᵢⱼ + (XW)ᵢⱼ − (XW)ᵢ,yᵢ), D(β) = −(θ/2)‖W‖² + m − ⟨β, Y⟩.
    func relativeGap(beta: [Double], w: [Double], s: [Double], theta: Double) -> Double {
        let k = classes
        var squared = 0.0
        for v in w { squared += v * v }
        var hinge = 0.0, inner = 0.0
        for i in 0..<samples {
            let own = s[i * k + labels[i]] / theta
            var worst = -Double.infinity
            for c in 0..<k { worst = max(worst, (c == labels[i] ? 0 : 1) + s[i * k + c] / theta - own) }
            hinge += worst
            inner += beta[i * k + labels[i]]
        }
        let primal = 0.5 * squared / theta + hinge
        let dual = -0.5 * squared / theta + Double(samples) - inner
        return (primal - dual) / max(abs(primal), 1e-300)
    }

    public struct Solution: Sendable {
        public var beta: [Double]
        /// Iterations (BCD: epochs) run.
        public var iterations: Int
        /// The relative duality gap at `beta`.
        public var gap: Double
        public var converged: Bool
        public var seconds: Double
        /// What the unrolled replay needs besides the count: mirror descent's accepted steps
        /// (backtracking), FISTA's momentum coefficients (restarts included); empty for BCD.
        public var steps: [Double]
    }

    /// The uniform start 1/k (interior, as mirror descent needs), shared by every solver and
    /// its unrolled replay.
    public var start: [Double] { [Double](repeating: 1 / Double(classes), count: samples * classes) }

    /// β*(θ) by `solver` until the relative duality gap is ≤ `tolerance` (checked every
    /// iteration for mirror descent and BCD, every 10 for FISTA).
    /// - Throws: `.invalidArgument` for a non-finite log θ.
    public func solve(logTheta: Double, solver: Solver, tolerance: Double = 1e-10,
                      maxIterations: Int = 200_000) throws -> Solution {
        guard logTheta.isFinite, abs(logTheta) < 50 else { throw SparseError.invalidArgument("log θ must be finite and within ±50, got \(logTheta)") }
        let theta = Foundation.exp(logTheta)
        let begin = DispatchTime.now().uptimeNanoseconds
        let k = classes, n = samples * classes, x = design.rowMajor
        var beta = start
        var iterations = 0, gap = Double.infinity
        var steps: [Double] = []
        func gradient(_ b: [Double]) -> (w: [Double], s: [Double], g: [Double]) {
            let w = unscaledWeights(b), s = scores(w, design: x)
            var g = [Double](repeating: 0, count: n)
            for e in 0..<n { g[e] = -s[e] + theta * oneHot[e] }
            return (w, s, g)
        }
        switch solver {
        case .projectedGradient:
            // FISTA with O'Donoghue–Candès adaptive restart (momentum reset when the step turns
            // against the last move): linear convergence where the dual is strongly convex.
            let eta = 1 / lipschitz
            var z = beta, t = 1.0
            while iterations < maxIterations {
                iterations += 1
                let g = gradient(z).g
                var next = z
                for e in 0..<n { next[e] = z[e] - eta * g[e] }
                next = projectSimplexBlocks(DifferentiableVector(next), blockSize: k).scalars
                var against = 0.0
                for e in 0..<n { against += (z[e] - next[e]) * (next[e] - beta[e]) }
                if against > 0 { t = 1 }
                let tNext = (1 + (1 + 4 * t * t).squareRoot()) / 2
                let coefficient = (t - 1) / tNext
                steps.append(coefficient)
                for e in 0..<n { z[e] = next[e] + coefficient * (next[e] - beta[e]) }
                beta = next
                t = tNext
                if iterations % 10 == 0 || iterations == maxIterations {
                    let w = unscaledWeights(beta)
                    gap = relativeGap(beta: beta, w: w, s: scores(w, design: x), theta: theta)
                    if gap <= tolerance { break }
                }
            }
        case .mirrorDescent:
            var (w, s, g) = gradient(beta)
            var value = objective(beta, w, theta)
            var eta = 1.0
            gap = relativeGap(beta: beta, w: w, s: s, theta: theta)
            while iterations < maxIterations && gap > tolerance {
                iterations += 1
                var accepted = false
                while !accepted {
                    let (trial, divergence) = mirrorStep(beta, g, eta)
                    let trialW = unscaledWeights(trial)
                    let trialValue = objective(trial, trialW, theta)
                    var linear = 0.0
                    for e in 0..<n { linear += g[e] * (trial[e] - beta[e]) }
                    if trialValue <= value + linear + divergence / eta + 1e-13 * max(1, abs(value)) || eta < 1e-12 {
                        accepted = true
                        steps.append(eta)
                        beta = trial
                        w = trialW
                        value = trialValue
                        s = scores(w, design: x)
                        for e in 0..<n { g[e] = -s[e] + theta * oneHot[e] }
                        eta *= 1.25
                    } else {
                        eta /= 2
                    }
                }
                gap = relativeGap(beta: beta, w: w, s: s, theta: theta)
            }
        case .blockCoordinateDescent:
            var w = unscaledWeights(beta)
            let xp = x.rowPointers, xi = x.columnIndices, xv = x.values
            var block = [Double](repeating: 0, count: k), g = [Double](repeating: 0, count: k)
            gap = relativeGap(beta: beta, w: w, s: scores(w, design: x), theta: theta)
            while iterations < maxIterations && gap > tolerance {
                iterations += 1
                for i in 0..<samples {
                    for c in 0..<k { g[c] = theta * oneHot[i * k + c] }
                    for a in xp[i]..<xp[i + 1] {
                        let j = Int(xi[a]), value = xv[a]
                        for c in 0..<k { g[c] -= value * w[j * k + c] }
                    }
                    let step = 1 / rowNormsSquared[i]
                    for c in 0..<k { block[c] = beta[i * k + c] - step * g[c] }
                    let tau = simplexThreshold(block, radius: 1)
                    for c in 0..<k {
                        let new = max(block[c] - tau, 0)
                        block[c] = new - beta[i * k + c]
                        beta[i * k + c] = new
                    }
                    for a in xp[i]..<xp[i + 1] {
                        let j = Int(xi[a]), value = xv[a]
                        for c in 0..<k { w[j * k + c] -= value * block[c] }
                    }
                }
                gap = relativeGap(beta: beta, w: w, s: scores(w, design: x), theta: theta)
            }
        }
        return Solution(beta: beta, iterations: iterations, gap: gap, converged: gap <= tolerance,
                        seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) * 1e-9, steps: steps)
    }

    /// θ f(β) = ½‖W̃‖² + θ⟨β, Y⟩.
    func objective(_ beta: [Double], _ w: [Double], _ theta: Double) -> Double {
        var squared = 0.0, inner = 0.0
        for v in w { squared += v * v }
        for i in 0..<samples { inner += beta[i * classes + labels[i]] }
        return 0.5 * squared + theta * inner
    }

    /// One entropic step normalize(β ∘ exp(−η dᵢ g)) block by block, dᵢ = 1/‖xᵢ‖² (shifted for
    /// stability), with Σᵢ KL(β⁺ᵢ ‖ βᵢ)/dᵢ, the Bregman term of the backtracking test.
    func mirrorStep(_ beta: [Double], _ g: [Double], _ globalStep: Double) -> ([Double], Double) {
        let k = classes
        var out = beta, divergence = 0.0
        for i in 0..<samples {
            let eta = globalStep / rowNormsSquared[i]
            var blockDivergence = 0.0
            var shift = -Double.infinity
            for c in 0..<k where beta[i * k + c] > 0 { shift = max(shift, -eta * g[i * k + c]) }
            var total = 0.0
            for c in 0..<k {
                let e = i * k + c
                out[e] = beta[e] > 0 ? beta[e] * Foundation.exp(-eta * g[e] - shift) : 0
                total += out[e]
            }
            let logTotal = Foundation.log(total) + shift
            for c in 0..<k {
                let e = i * k + c
                out[e] /= total
                if out[e] > 0 { blockDivergence += out[e] * (-eta * g[e] - logTotal) }
            }
            divergence += blockDivergence * rowNormsSquared[i]
        }
        return (out, max(divergence, 0))
    }

    // MARK: Differentiable pieces

    /// θ∇ₓf(β, θ) = −XXᵀ(Y − β) + θY with θ = exp(logθ[0]), written with the primitives.
    @differentiable(reverse)
    public func scaledGradient(_ beta: DifferentiableVector, _ logTheta: DifferentiableVector) -> DifferentiableVector {
        let y = DifferentiableVector(oneHot)
        let residual = y - beta
        var out = scale(exp(logTheta[0]), y)
        for c in 0..<withoutDerivative(at: classes) {
            let indices = classIndices[c]
            out = out - scatter(matvec(design, matvecTransposed(design, gather(residual, indices))), indices, count: samples * classes)
        }
        return out
    }

    /// The fixed-point condition of `solver` at θ (log θ as a one-entry vector), through the
    /// library's catalogue; the adjoint runs GMRES (∂F/∂β is unsymmetric).
    public func condition(for solver: Solver, tolerance: Double = 1e-10, solve: @escaping VectorRootSolution.Solver) -> VectorRootSolution {
        let k = classes, n = samples * classes
        let strategy = LinearSolveStrategy(.gmres, options: KrylovOptions(relativeTolerance: tolerance, maxIterations: 20_000))
        let gradient: OptimalityConditions.Map = { beta, logTheta in self.scaledGradient(beta, logTheta) }
        switch solver {
        case .mirrorDescent:
            let steps = blockSteps
            return OptimalityConditions.mirrorDescentSimplex(gradient: { beta, logTheta in steps .* self.scaledGradient(beta, logTheta) },
                                                             step: 1, blockSize: k, strategy: strategy, dimension: n, solver: solve)
        case .projectedGradient:
            return OptimalityConditions.projectedGradient(gradient: gradient, projection: { v, _ in projectSimplexBlocks(v, blockSize: k) },
                                                          step: 1 / lipschitz, strategy: strategy, dimension: n, solver: solve)
        case .blockCoordinateDescent:
            let steps = blockSteps
            return OptimalityConditions.projectedGradient(gradient: { beta, logTheta in steps .* self.scaledGradient(beta, logTheta) },
                                                          projection: { v, _ in projectSimplexBlocks(v, blockSize: k) },
                                                          step: 1, strategy: strategy, dimension: n, solver: solve)
        }
    }

    /// 1/‖xᵢ‖² repeated over sample i's k entries: the per-block steps of BCD and mirror descent.
    var blockSteps: DifferentiableVector { DifferentiableVector((0..<(samples * classes)).map { 1 / rowNormsSquared[$0 / classes] }) }

    /// The validation loss ½‖X_v W − Y_v‖²/m_v with W = Xᵀ(Y − β)/θ, differentiable in β and log θ.
    public struct ValidationLoss {
        public let design: DesignMatrix
        public let labels: [Int]
        let oneHotColumns: [DifferentiableVector]

        /// - Throws: `.dimensionMismatch` for a label count or column count that does not fit.
        public init(x: CSRMatrix, labels: [Int], svm: MulticlassSVM) throws {
            guard x.columns == svm.features, labels.count == x.rows else {
                throw SparseError.dimensionMismatch(operation: "MulticlassSVM validation", expected: "\(svm.features) columns and one label per row",
                                                    actual: "\(x.columns) columns, \(labels.count) labels for \(x.rows) rows")
            }
            if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= svm.classes }) {
                throw SparseError.invalidArgument("validation row \(bad): label \(labels[bad]) is not in 0..<\(svm.classes)")
            }
            design = DesignMatrix(x)
            self.labels = labels
            oneHotColumns = (0..<svm.classes).map { c in DifferentiableVector(labels.map { $0 == c ? 1 : 0 }) }
        }
    }

    /// L(β, log θ) on a validation set.
    @differentiable(reverse, wrt: (beta, logTheta))
    public func validationLoss(_ beta: DifferentiableVector, _ logTheta: DifferentiableVector, on validation: ValidationLoss) -> Double {
        let residual = DifferentiableVector(oneHot) - beta
        let inverse = exp(0 - logTheta[0])
        var total = 0.0
        for c in 0..<withoutDerivative(at: classes) {
            let weights = scale(inverse, matvecTransposed(design, gather(residual, classIndices[c])))
            let error = matvec(validation.design, weights) - validation.oneHotColumns[c]
            total = total + 0.5 * dot(error, error)
        }
        return total / Double(validation.design.rowMajor.rows)
    }

    /// The fraction of validation rows whose largest score X_v W is their label's.
    public func validationAccuracy(_ beta: [Double], logTheta: Double, on validation: ValidationLoss) -> Double {
        let s = scores(unscaledWeights(beta), design: validation.design.rowMajor)
        var right = 0
        for (i, label) in validation.labels.enumerated() {
            var best = 0
            for c in 1..<classes where s[i * classes + c] > s[i * classes + best] { best = c }
            if best == label { right += 1 }
        }
        return Double(right) / Double(max(validation.labels.count, 1))
    }

    public struct Derivative: Sendable {
        public var value: Double
        /// dL/d log θ.
        public var gradient: Double
        public var seconds: Double
        /// ‖F(β, θ)‖ of the fixed point used (implicit only).
        public var conditionResidual: Double
        /// The adjoint's Krylov iterations (implicit only).
        public var linearIterations: Int
    }

    /// dL/d log θ by implicit differentiation of `solution` through `solver`'s fixed point:
    /// ∂L/∂log θ + the adjoint term.
    public func implicitHypergradient(logTheta: Double, solution: Solution, solver: Solver, validation: ValidationLoss,
                                      tolerance: Double = 1e-10) throws -> Derivative {
        let begin = DispatchTime.now().uptimeNanoseconds
        let theta = DifferentiableVector([logTheta])
        let beta = DifferentiableVector(solution.beta)
        let root = condition(for: solver, tolerance: tolerance, solve: { _ in beta })
        let (value, direct) = valueWithGradient(at: beta, theta) { b, t in self.validationLoss(b, t, on: validation) }
        let (_, residual) = try root.solveWithResidual(theta)
        let adjoint = try root.adjoint(x: beta, theta: theta, cotangent: direct.0)
        let gradient = direct.1.dense(count: 1)[0] + adjoint.dense(count: 1)[0]
        return Derivative(value: value, gradient: gradient, seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) * 1e-9,
                          conditionResidual: residual, linearIterations: root.strategy.lastReport?.iterations ?? 0)
    }

    /// dL/d log θ by unrolling: the solver's `solution.iterations` iterations (mirror descent:
    /// with its recorded steps) replayed from the same start with the differentiable
    /// primitives, differentiated by reverse-mode AD through the loop.
    public func unrolledHypergradient(logTheta: Double, solution: Solution, solver: Solver, validation: ValidationLoss) -> Derivative {
        let begin = DispatchTime.now().uptimeNanoseconds
        let k = classes, n = samples * classes
        let iterations = solution.iterations
        let initial = DifferentiableVector(start)
        let (value, gradient): (Double, DifferentiableVector)
        switch solver {
        case .projectedGradient:
            let eta = 1 / lipschitz
            let coefficients = solution.steps
            (value, gradient) = valueWithGradient(at: DifferentiableVector([logTheta])) { t in
                var beta = initial, z = initial
                for coefficient in withoutDerivative(at: coefficients) {
                    let next = projectSimplexBlocks(z - scale(eta, self.scaledGradient(z, t)), blockSize: k)
                    z = next + scale(coefficient, next - beta)
                    beta = next
                }
                return self.validationLoss(beta, t, on: validation)
            }
        case .mirrorDescent:
            let steps = solution.steps, scales = blockSteps
            (value, gradient) = valueWithGradient(at: DifferentiableVector([logTheta])) { t in
                var beta = initial
                for step in withoutDerivative(at: steps) {
                    beta = normalizeBlocks(beta .* exp(scale(-step, scales .* self.scaledGradient(beta, t))), blockSize: k)
                }
                return self.validationLoss(beta, t, on: validation)
            }
        case .blockCoordinateDescent:
            let rows = blockRowMatrices
            let y = oneHot
            (value, gradient) = valueWithGradient(at: DifferentiableVector([logTheta])) { t in
                var beta = initial
                // W̃ = Xᵀ(Y − β) class-interleaved (feature j, class c at j·k + c), kept up to date per block.
                var w = DifferentiableVector(self.unscaledWeights(withoutDerivative(at: initial.scalars)))
                let theta = exp(t[0])
                for _ in 0..<withoutDerivative(at: iterations) {
                    for i in 0..<withoutDerivative(at: self.samples) {
                        let indices = self.blockIndices[i]
                        let g = scale(theta, DifferentiableVector(Array(y[i * k..<(i + 1) * k]))) - matvec(rows[i], w)
                        let old = gather(beta, indices)
                        let new = projectSimplex(old - scale(1 / self.rowNormsSquared[i], g))
                        let change = new - old
                        beta = beta + scatter(change, indices, count: n)
                        w = w - matvecTransposed(rows[i], change)
                    }
                }
                return self.validationLoss(beta, t, on: validation)
            }
        }
        return Derivative(value: value, gradient: gradient.dense(count: 1)[0],
                          seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) * 1e-9, conditionResidual: .nan, linearIterations: 0)
    }

    /// For each sample i, the k × pk matrix I_k ⊗ xᵢᵀ in the class-interleaved layout: its
    /// product with W̃ is xᵢᵀW̃ (k scores), its transpose scatters a block change into W̃.
    var blockRowMatrices: [CSRMatrix] {
        let x = design.rowMajor, k = classes
        return (0..<samples).map { i in
            let range = x.rowPointers[i]..<x.rowPointers[i + 1]
            var pointers = [0], indices: [Int32] = [], values: [Double] = []
            for c in 0..<k {
                for a in range {
                    indices.append(Int32(Int(x.columnIndices[a]) * k + c))
                    values.append(x.values[a])
                }
                pointers.append(indices.count)
            }
            return try! CSRMatrix(rows: k, columns: features * k, rowPointers: pointers, columnIndices: indices, values: values)
        }
    }

    /// A generated k-class problem shaped like text data: power-law column frequencies (Zipf
    /// exponent `zipf`), `nonzerosPerRow` entries per row, labels from a planted linear model
    /// argmax(XW₀ + noise·σ·Gumbel) with W₀ Gaussian on the `informative` most frequent
    /// columns (σ: the scores' RMS); training and validation rows from the same model.
    public static func generated(samples: Int, validationSamples: Int, features: Int, classes: Int, nonzerosPerRow: Int,
                                 zipf: Double = 1, informative: Int = 50, noise: Double = 0.3, seed: UInt64 = 0) throws
        -> (svm: MulticlassSVM, validation: ValidationLoss) {
        guard samples >= 2, validationSamples >= 1, features >= 1, classes >= 2, nonzerosPerRow >= 1 else {
            throw SparseError.invalidArgument("samples ≥ 2, validation samples ≥ 1, features ≥ 1, classes ≥ 2 and row nonzeros ≥ 1 are required")
        }
        let total = samples + validationSamples
        let (x, _, _) = try Datasets.generate(rows: total, columns: features, nonzerosPerRow: min(nonzerosPerRow, features),
                                              zipf: zipf, informative: 0, noise: 0, seed: seed)
        var random = SplitMix64(seed: seed &+ 17)
        // The labels depend on the `informative` most frequent columns (the power law's first).
        let planted = (0..<(features * classes)).map { e in e / classes < informative ? random.nextGaussian() : 0 }
        let s = MulticlassSVM.plantedScores(x, planted, classes: classes)
        var spread = 0.0
        for v in s { spread += v * v }
        spread = (spread / Double(max(s.count, 1))).squareRoot()
        let labels: [Int] = (0..<total).map { i in
            var best = 0, bestScore = -Double.infinity
            for c in 0..<classes {
                let gumbel = -Foundation.log(-Foundation.log(max(random.nextUniform(), 1e-300)))
                let score = s[i * classes + c] + noise * spread * gumbel
                if score > bestScore { bestScore = score; best = c }
            }
            return best
        }
        let train = try x.selectingRows(Array(0..<samples)), held = try x.selectingRows(Array(samples..<total))
        let svm = try MulticlassSVM(x: train, labels: Array(labels[0..<samples]), classes: classes)
        return (svm, try ValidationLoss(x: held, labels: Array(labels[samples...]), svm: svm))
    }

    static func plantedScores(_ x: CSRMatrix, _ w: [Double], classes k: Int) -> [Double] {
        var s = [Double](repeating: 0, count: x.rows * k)
        for i in 0..<x.rows {
            for a in x.rowPointers[i]..<x.rowPointers[i + 1] {
                let j = Int(x.columnIndices[a])
                for c in 0..<k { s[i * k + c] += x.values[a] * w[j * k + c] }
            }
        }
        return s
    }
}
