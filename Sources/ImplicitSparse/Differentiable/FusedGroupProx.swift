import _Differentiation

/// The active manifold of a generalized-lasso penalty t Σ_e w_e |x_i − x_j| at a solution:
/// the fused groups (coordinates joined by edges with equal ends) and each group's signed
/// boundary weight b_G = Σ_{e=(i,j) leaving G} w_e sign(x_G − x_other).
///
/// Near a solution where no edge sits at a kink (every boundary difference is nonzero and
/// every fused edge's dual is strictly inside its box), the penalty's prox agrees with
/// `fusedGroupProx` on this partition: on each group, mean(v_G) − t b_G/|G| (Tibshirani &
/// Taylor, 2012). That function is what `ProximalFixedPoint` differentiates with the
/// `.fusedGroups(edges:)` pattern: its Jacobian in v is the group average (a projection), its
/// derivative in t is −b_G/|G| on G.
public struct FusedPartition: Sendable {
    /// The group of each coordinate, 0..<groupCount.
    public let group: [Int32]
    public let groupCount: Int
    /// |G| per group.
    public let sizes: [Double]
    /// b_G per group.
    public let boundary: [Double]

    public init(group: [Int32], groupCount: Int, boundary: [Double]) {
        precondition(boundary.count == groupCount, "FusedPartition: one boundary weight per group")
        var sizes = [Double](repeating: 0, count: groupCount)
        for g in group { sizes[Int(g)] += 1 }
        self.group = group
        self.groupCount = groupCount
        self.sizes = sizes
        self.boundary = boundary
    }

    /// Σ over each group of v.
    func groupSums(_ v: [Double]) -> [Double] {
        var sums = [Double](repeating: 0, count: groupCount)
        for (i, g) in group.enumerated() { sums[Int(g)] += v[i] }
        return sums
    }
}

/// On each group G of `partition`: mean(v_G) − t·b_G/|G|, broadcast to G's coordinates.
@differentiable(reverse, wrt: (v, t))
public func fusedGroupProx(_ v: DifferentiableVector, _ t: Double, on partition: FusedPartition) -> DifferentiableVector {
    let sums = partition.groupSums(v.dense(count: partition.group.count))
    var values = [Double](repeating: 0, count: partition.group.count)
    for (i, g) in partition.group.enumerated() {
        let k = Int(g)
        values[i] = (sums[k] - t * partition.boundary[k]) / partition.sizes[k]
    }
    return DifferentiableVector(values, trace: v.trace?.grouped(partition.group.map { Int($0) }, groupCount: partition.groupCount))
}

@derivative(of: fusedGroupProx, wrt: (v, t))
@usableFromInline
func vjpFusedGroupProx(_ v: DifferentiableVector, _ t: Double, on partition: FusedPartition)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, Double)) {
    (fusedGroupProx(v, t, on: partition), { g in
        let n = partition.group.count
        let sums = partition.groupSums(g.dense(count: n))
        var dv = [Double](repeating: 0, count: n), dt = 0.0
        for k in 0..<partition.groupCount { dt -= sums[k] * partition.boundary[k] / partition.sizes[k] }
        for (i, group) in partition.group.enumerated() { dv[i] = sums[Int(group)] / partition.sizes[Int(group)] }
        return (DifferentiableVector(dv), dt)
    })
}
