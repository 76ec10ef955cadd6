import Foundation
import _Differentiation

// Proximal operators and projections with their Jacobians registered as reverse derivatives,
// with respect to the point and to the regularization parameters (per coordinate where the
// parameter is a vector: weighted penalties). At kinks (|v| = t, boundaries) the generalized
// Jacobian picks the clamped branch, which is what the support reduction uses.

@inline(__always) private func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }

/// prox of t‖·‖₁ (soft thresholding): sign(v)·max(|v| − t, 0), t per coordinate.
@differentiable(reverse)
public func proxLasso(_ v: DifferentiableVector, threshold t: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(DifferentiableVector.map2(v.scalars, t.scalars) { v, t in sign(v) * max(abs(v) - t, 0) },
                         trace: DependencyTrace.union(v.trace, t.trace))
}

@derivative(of: proxLasso)
@usableFromInline
func vjpProxLasso(_ v: DifferentiableVector, threshold t: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    (proxLasso(v, threshold: t), { g in
        let gs = g.dense(count: v.count)
        var dv = [Double](repeating: 0, count: v.count), dt = dv
        for i in 0..<v.count where abs(v.scalars[i]) > t.scalars[i] {
            dv[i] = gs[i]
            dt[i] = -sign(v.scalars[i]) * gs[i]
        }
        return (DifferentiableVector(dv), DifferentiableVector(dt))
    })
}

/// prox of t‖·‖₁ + ι(· ≥ 0): max(v − t, 0).
@differentiable(reverse)
public func proxNonNegativeLasso(_ v: DifferentiableVector, threshold t: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(DifferentiableVector.map2(v.scalars, t.scalars) { max($0 - $1, 0) }, trace: DependencyTrace.union(v.trace, t.trace))
}

@derivative(of: proxNonNegativeLasso)
@usableFromInline
func vjpProxNonNegativeLasso(_ v: DifferentiableVector, threshold t: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    (proxNonNegativeLasso(v, threshold: t), { g in
        let gs = g.dense(count: v.count)
        var dv = [Double](repeating: 0, count: v.count), dt = dv
        for i in 0..<v.count where v.scalars[i] > t.scalars[i] { dv[i] = gs[i]; dt[i] = -gs[i] }
        return (DifferentiableVector(dv), DifferentiableVector(dt))
    })
}

/// prox of a‖·‖₁ + (b/2)‖·‖² (elastic net): soft(v, a) / (1 + b), a and b per coordinate.
@differentiable(reverse)
public func proxElasticNet(_ v: DifferentiableVector, l1 a: DifferentiableVector, l2 b: DifferentiableVector) -> DifferentiableVector {
    var out = [Double](repeating: 0, count: v.count)
    for i in 0..<v.count {
        out[i] = sign(v.scalars[i]) * max(abs(v.scalars[i]) - a.scalars[i], 0) / (1 + b.scalars[i])
    }
    return DifferentiableVector(out, trace: DependencyTrace.union(DependencyTrace.union(v.trace, a.trace), b.trace))
}

@derivative(of: proxElasticNet)
@usableFromInline
func vjpProxElasticNet(_ v: DifferentiableVector, l1 a: DifferentiableVector, l2 b: DifferentiableVector)
    -> (value: DifferentiableVector,
        pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector, DifferentiableVector)) {
    let value = proxElasticNet(v, l1: a, l2: b)
    return (value, { g in
        let gs = g.dense(count: v.count)
        var dv = [Double](repeating: 0, count: v.count), da = dv, db = dv
        for i in 0..<v.count where abs(v.scalars[i]) > a.scalars[i] {
            let d = 1 + b.scalars[i]
            dv[i] = gs[i] / d
            da[i] = -sign(v.scalars[i]) * gs[i] / d
            db[i] = -value.scalars[i] / d * gs[i]
        }
        return (DifferentiableVector(dv), DifferentiableVector(da), DifferentiableVector(db))
    })
}

/// prox of t‖·‖₁ with one threshold t for every coordinate (uniform λ): its pullback returns
/// the threshold's cotangent as a scalar, without materializing a vector of t.
@differentiable(reverse)
public func proxLasso(_ v: DifferentiableVector, threshold t: Double) -> DifferentiableVector {
    DifferentiableVector(v.scalars.map { sign($0) * max(abs($0) - t, 0) }, trace: v.trace)
}

@derivative(of: proxLasso)
@usableFromInline
func vjpProxLassoUniform(_ v: DifferentiableVector, threshold t: Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, Double)) {
    (proxLasso(v, threshold: t), { g in
        let gs = g.dense(count: v.count)
        var dv = [Double](repeating: 0, count: v.count), dt = 0.0
        for i in 0..<v.count where abs(v.scalars[i]) > t {
            dv[i] = gs[i]
            dt -= sign(v.scalars[i]) * gs[i]
        }
        return (DifferentiableVector(dv), dt)
    })
}

/// prox of a‖·‖₁ + (b/2)‖·‖² with the same a and b for every coordinate.
@differentiable(reverse)
public func proxElasticNet(_ v: DifferentiableVector, l1 a: Double, l2 b: Double) -> DifferentiableVector {
    DifferentiableVector(v.scalars.map { sign($0) * max(abs($0) - a, 0) / (1 + b) }, trace: v.trace)
}

@derivative(of: proxElasticNet)
@usableFromInline
func vjpProxElasticNetUniform(_ v: DifferentiableVector, l1 a: Double, l2 b: Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, Double, Double)) {
    let value = proxElasticNet(v, l1: a, l2: b)
    return (value, { g in
        let gs = g.dense(count: v.count)
        var dv = [Double](repeating: 0, count: v.count), da = 0.0, db = 0.0
        let d = 1 + b
        for i in 0..<v.count where abs(v.scalars[i]) > a {
            dv[i] = gs[i] / d
            da -= sign(v.scalars[i]) * gs[i] / d
            db -= value.scalars[i] / d * gs[i]
        }
        return (DifferentiableVector(dv), da, db)
    })
}

/// prox of (t/2)‖·‖² (ridge): v / (1 + t).
@differentiable(reverse)
public func proxRidge(_ v: DifferentiableVector, _ t: DifferentiableVector) -> DifferentiableVector {
    DifferentiableVector(DifferentiableVector.map2(v.scalars, t.scalars) { $0 / (1 + $1) }, trace: DependencyTrace.union(v.trace, t.trace))
}

@derivative(of: proxRidge)
@usableFromInline
func vjpProxRidge(_ v: DifferentiableVector, _ t: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    (proxRidge(v, t), { g in
        let gs = g.dense(count: v.count)
        var dv = [Double](repeating: 0, count: v.count), dt = dv
        for i in 0..<v.count {
            let d: Double = 1 + t.scalars[i]
            dv[i] = gs[i] / d
            dt[i] = -gs[i] * v.scalars[i] / (d * d)
        }
        return (DifferentiableVector(dv), DifferentiableVector(dt))
    })
}

/// prox of t Σ_g ‖v_g‖₂ (group lasso) over disjoint groups given as index ranges; one
/// threshold per group.
@differentiable(reverse, wrt: (v, t))
public func proxGroupLasso(_ v: DifferentiableVector, groups: [Range<Int>], threshold t: DifferentiableVector) -> DifferentiableVector {
    var out = v.scalars
    for (k, group) in groups.enumerated() {
        let norm = group.reduce(0.0) { $0 + v.scalars[$1] * v.scalars[$1] }.squareRoot()
        let factor = norm > t.scalars[k] ? 1 - t.scalars[k] / norm : 0
        for i in group { out[i] = factor * v.scalars[i] }
    }
    var trace: DependencyTrace? = nil
    if v.trace != nil || t.trace != nil {
        // An entry of group k depends on the group's entries of v and on t[k]; an entry outside
        // every group on itself.
        var id = [Int](repeating: -1, count: v.count), threshold = [Int](repeating: -1, count: v.count)
        for (k, range) in groups.enumerated() { for i in range { id[i] = k; threshold[i] = k } }
        var next = groups.count
        for i in 0..<v.count where id[i] < 0 { id[i] = next; next += 1 }
        trace = v.trace?.grouped(id, groupCount: next)
        if let tt = t.trace {
            var pointers = [0], structure: [Int32] = []
            for i in 0..<v.count { if threshold[i] >= 0 { structure.append(Int32(threshold[i])) }; pointers.append(structure.count) }
            trace = DependencyTrace.union(trace, tt.composed(rows: v.count, structurePointers: pointers, structureIndices: structure))
        }
    }
    return DifferentiableVector(out, trace: trace)
}

@derivative(of: proxGroupLasso, wrt: (v, t))
@usableFromInline
func vjpProxGroupLasso(_ v: DifferentiableVector, groups: [Range<Int>], threshold t: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    (proxGroupLasso(v, groups: groups, threshold: t), { g in
        let gs = g.dense(count: v.count)
        // Entries outside every group pass through (the primal copies them).
        var dv = gs
        var dt = [Double](repeating: 0, count: t.count)
        for (k, group) in groups.enumerated() {
            let norm = group.reduce(0.0) { $0 + v.scalars[$1] * v.scalars[$1] }.squareRoot()
            guard norm > t.scalars[k] else {
                for i in group { dv[i] = 0 }
                continue
            }
            // J = (1 − t/‖v‖) I + t vvᵀ/‖v‖³ (symmetric), ∂/∂t = −v/‖v‖.
            let vg = group.reduce(0.0) { $0 + v.scalars[$1] * gs[$1] }
            for i in group {
                dv[i] = (1 - t.scalars[k] / norm) * gs[i] + t.scalars[k] * v.scalars[i] * vg / (norm * norm * norm)
            }
            dt[k] = -vg / norm
        }
        return (DifferentiableVector(dv), DifferentiableVector(dt))
    })
}

/// Projection onto the box [lower, upper] (per coordinate; derivative 1 strictly inside).
@differentiable(reverse, wrt: v)
public func projectBox(_ v: DifferentiableVector, lower: [Double], upper: [Double]) -> DifferentiableVector {
    DifferentiableVector((0..<v.count).map { min(max(v.scalars[$0], lower[$0]), upper[$0]) }, trace: v.trace)
}

@derivative(of: projectBox, wrt: v)
@usableFromInline
func vjpProjectBox(_ v: DifferentiableVector, lower: [Double], upper: [Double])
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    (projectBox(v, lower: lower, upper: upper), { g in
        let gs = g.dense(count: v.count)
        return DifferentiableVector((0..<v.count).map { v.scalars[$0] > lower[$0] && v.scalars[$0] < upper[$0] ? gs[$0] : 0 })
    })
}

/// Projection onto the non-negative orthant.
@differentiable(reverse)
public func projectNonNegative(_ v: DifferentiableVector) -> DifferentiableVector { maximum(v, 0) }

/// The threshold τ with Σ max(wᵢ − τ, 0) = r for w ≥ 0 (sort-based, O(n log n)).
func simplexThreshold(_ w: [Double], radius r: Double) -> Double {
    let sorted = w.sorted(by: >)
    var cumulative = 0.0, tau = 0.0
    for (k, value) in sorted.enumerated() {
        cumulative += value
        let candidate = (cumulative - r) / Double(k + 1)
        if value > candidate { tau = candidate } else { break }
    }
    return tau
}

/// Projection onto the simplex {x ≥ 0, Σx = r}.
@differentiable(reverse, wrt: v)
public func projectSimplex(_ v: DifferentiableVector, radius r: Double = 1) -> DifferentiableVector {
    v.trace?.denseCoupling("projectSimplex(_:radius:)")
    let tau = simplexThreshold(v.scalars, radius: r)
    return DifferentiableVector(v.scalars.map { max($0 - tau, 0) })
}

@derivative(of: projectSimplex, wrt: v)
@usableFromInline
func vjpProjectSimplex(_ v: DifferentiableVector, radius r: Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let x = projectSimplex(v, radius: r)
    return (x, { g in
        // J = I_S − 11ᵀ/|S| on the support S.
        let gs = g.dense(count: v.count)
        let support = (0..<v.count).filter { x.scalars[$0] > 0 }
        let mean = support.reduce(0.0) { $0 + gs[$1] } / Double(max(support.count, 1))
        var out = [Double](repeating: 0, count: v.count)
        for i in support { out[i] = gs[i] - mean }
        return DifferentiableVector(out)
    })
}

/// Projection onto a product of simplices: each consecutive block of `blockSize` entries onto
/// {x ≥ 0, Σx = 1} (the Euclidean counterpart of `normalizeBlocks`; e.g. the multiclass SVM
/// dual, one simplex per sample). O(n log k).
@differentiable(reverse, wrt: v)
public func projectSimplexBlocks(_ v: DifferentiableVector, blockSize k: Int) -> DifferentiableVector {
    precondition(k > 0 && v.count % k == 0, "projectSimplexBlocks: length \(v.count) is not a multiple of \(k)")
    var out = v.scalars
    var block = [Double](repeating: 0, count: k)
    for start in stride(from: 0, to: out.count, by: k) {
        for i in 0..<k { block[i] = out[start + i] }
        let tau = simplexThreshold(block, radius: 1)
        for i in 0..<k { out[start + i] = max(block[i] - tau, 0) }
    }
    return DifferentiableVector(out, trace: v.trace?.grouped((0..<v.count).map { $0 / k }, groupCount: v.count / k))
}

@derivative(of: projectSimplexBlocks, wrt: v)
@usableFromInline
func vjpProjectSimplexBlocks(_ v: DifferentiableVector, blockSize k: Int)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let x = projectSimplexBlocks(v, blockSize: k)
    return (x, { g in
        // Block by block, J = I_S − 11ᵀ/|S| on the block's support S (symmetric).
        let gs = g.dense(count: v.count)
        var out = [Double](repeating: 0, count: v.count)
        for start in stride(from: 0, to: v.count, by: k) {
            var total = 0.0, size = 0
            for i in start..<start + k where x.scalars[i] > 0 { total += gs[i]; size += 1 }
            let mean = total / Double(max(size, 1))
            for i in start..<start + k where x.scalars[i] > 0 { out[i] = gs[i] - mean }
        }
        return DifferentiableVector(out)
    })
}

/// Projection onto the ℓ₁ ball of radius r.
@differentiable(reverse, wrt: v)
public func projectL1Ball(_ v: DifferentiableVector, radius r: Double) -> DifferentiableVector {
    v.trace?.denseCoupling("projectL1Ball(_:radius:)")
    let magnitudes = v.scalars.map(abs)
    if magnitudes.reduce(0, +) <= r { return v }
    let tau = simplexThreshold(magnitudes, radius: r)
    return DifferentiableVector(v.scalars.map { sign($0) * max(abs($0) - tau, 0) })
}

@derivative(of: projectL1Ball, wrt: v)
@usableFromInline
func vjpProjectL1Ball(_ v: DifferentiableVector, radius r: Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let x = projectL1Ball(v, radius: r)
    let inside = v.scalars.reduce(0) { $0 + abs($1) } <= r
    return (x, { g in
        let gs = g.dense(count: v.count)
        if inside { return DifferentiableVector(gs) }
        // On the support S: ∂xᵢ/∂vⱼ = δᵢⱼ − sᵢsⱼ/|S|.
        let support = (0..<v.count).filter { x.scalars[$0] != 0 }
        let signedMean = support.reduce(0.0) { $0 + sign(v.scalars[$1]) * gs[$1] } / Double(max(support.count, 1))
        var out = [Double](repeating: 0, count: v.count)
        for j in support { out[j] = gs[j] - sign(v.scalars[j]) * signedMean }
        return DifferentiableVector(out)
    })
}

/// Projection onto the ℓ₂ ball of radius r.
@differentiable(reverse, wrt: v)
public func projectL2Ball(_ v: DifferentiableVector, radius r: Double) -> DifferentiableVector {
    v.trace?.denseCoupling("projectL2Ball(_:radius:)")
    let n = Vector.norm(v.scalars)
    return n <= r ? v : DifferentiableVector(v.scalars.map { r * $0 / n })
}

@derivative(of: projectL2Ball, wrt: v)
@usableFromInline
func vjpProjectL2Ball(_ v: DifferentiableVector, radius r: Double)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let n = norm(v)
    return (projectL2Ball(v, radius: r), { g in
        let gs = g.dense(count: v.count)
        if n <= r { return DifferentiableVector(gs) }
        // J = (r/‖v‖)(I − vvᵀ/‖v‖²)
        let vg = zip(v.scalars, gs).map(*).reduce(0, +)
        var out = [Double](repeating: 0, count: v.count)
        for i in 0..<v.count { out[i] = r / n * (gs[i] - v.scalars[i] * vg / (n * n)) }
        return DifferentiableVector(out)
    })
}

/// Projection onto the monotone cone {x₁ ≤ x₂ ≤ … ≤ xₙ} (isotonic regression) by pool
/// adjacent violators: O(n). The projection averages v over pooled blocks of consecutive
/// coordinates, so its Jacobian averages over those blocks — in `ProximalFixedPoint`, declare
/// `.fusedGroups(edges: ProxJacobianPattern.chain(count: n))`.
@differentiable(reverse, wrt: v)
public func projectIsotonic(_ v: DifferentiableVector) -> DifferentiableVector {
    v.trace?.denseCoupling("projectIsotonic(_:) (its pooled blocks depend on the values)")
    return DifferentiableVector(isotonicBlocks(v.scalars).values)
}

@derivative(of: projectIsotonic, wrt: v)
@usableFromInline
func vjpProjectIsotonic(_ v: DifferentiableVector)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> DifferentiableVector) {
    let (values, blocks) = isotonicBlocks(v.scalars)
    return (DifferentiableVector(values), { g in
        let gs = g.dense(count: v.count)
        var out = [Double](repeating: 0, count: v.count)
        for block in blocks {
            let mean = block.reduce(0.0) { $0 + gs[$1] } / Double(block.count)
            for i in block { out[i] = mean }
        }
        return DifferentiableVector(out)
    })
}

/// Pool adjacent violators: the projection and its pooled blocks.
func isotonicBlocks(_ v: [Double]) -> (values: [Double], blocks: [Range<Int>]) {
    var sums: [Double] = [], counts: [Int] = [], starts: [Int] = []
    for (i, value) in v.enumerated() {
        sums.append(value); counts.append(1); starts.append(i)
        while sums.count >= 2 {
            let last = sums.count - 1
            // Merge while the previous block's mean exceeds the last one's.
            guard sums[last - 1] * Double(counts[last]) > sums[last] * Double(counts[last - 1]) else { break }
            sums[last - 1] += sums[last]; counts[last - 1] += counts[last]
            sums.removeLast(); counts.removeLast(); starts.removeLast()
        }
    }
    var values = [Double](repeating: 0, count: v.count)
    var blocks: [Range<Int>] = []
    for b in 0..<sums.count {
        let range = starts[b]..<(starts[b] + counts[b])
        let mean = sums[b] / Double(counts[b])
        for i in range { values[i] = mean }
        blocks.append(range)
    }
    return (values, blocks)
}

extension ProxJacobianPattern {
    /// The edges (i, i + 1) of a chain of n coordinates (fused lasso, isotonic regression).
    public static func chain(count n: Int) -> [(Int, Int)] {
        n < 2 ? [] : (0..<(n - 1)).map { ($0, $0 + 1) }
    }
}
