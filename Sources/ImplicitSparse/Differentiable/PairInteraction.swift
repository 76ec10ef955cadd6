import _Differentiation
import Foundation
import Sparse

/// A pair interaction over a neighbour list: E(x, σ) = Σ_k φ(r_k; σ_k) for the pairs
/// k = (i, j) of the list, r_k = |x_i − x_j| (by minimum image in a periodic box), σ_k the
/// pair's length scale (a contact diameter), with φ a finite-range repulsion that vanishes for
/// r ≥ σ. Positions are stored particle by particle (x₀, y₀, x₁, y₁, … in 2-D).
///
/// `pairEnergy` and `pairForces` (= ∇ₓE) are differentiable in the positions and in σ, so a
/// stationarity condition F(x, θ) = ∇ₓE(x, σ(θ)) written with them has exact pullbacks — the
/// Hessian-vector product and ∂F/∂σ — and, for `SparsityDetection`, a pattern: a coordinate's
/// force depends on its particle's and its partners' coordinates. With `RootSolution(jacobian:
/// .automaticSparse)` the Hessian is then assembled by star-coloured products, nobody writes it.
///
/// Memory: the list (8 bytes per pair) and, for the pullback of `pairForces`, one symmetric
/// d × d block, the unit vector and two scalars per pair (10 doubles per pair in 2-D).
public struct PairInteraction: Sendable {
    /// φ as a function of r and σ, zero for r ≥ σ.
    public enum Potential: String, Sendable, CaseIterable {
        /// φ = ½(1 − r/σ)² (harmonic soft spheres).
        case harmonic
        /// φ = ⅖(1 − r/σ)^{5/2} (Hertzian contact).
        case hertzian
    }

    public let particles: Int
    /// Coordinates per particle: 2 or 3.
    public let dimension: Int
    /// The neighbour list: unordered pairs of distinct particles, each once.
    public let pairs: [(Int32, Int32)]
    /// The side of a periodic cubic box, or nil for open space.
    public let periodicSide: Double?
    public let potential: Potential

    /// - Throws: `.invalidArgument` naming the first pair with an index out of range or
    ///   i == j, a dimension other than 2 or 3, or a box side that is not positive and finite.
    public init(particles: Int, dimension: Int = 2, pairs: [(Int32, Int32)], periodicSide: Double? = nil,
                potential: Potential = .harmonic) throws {
        guard dimension == 2 || dimension == 3 else { throw SparseError.invalidArgument("PairInteraction: dimension \(dimension), expected 2 or 3") }
        guard particles > 0 else { throw SparseError.invalidArgument("PairInteraction: \(particles) particles") }
        if let side = periodicSide, !(side > 0 && side.isFinite) {
            throw SparseError.invalidArgument("PairInteraction: the periodic box side \(side) is not positive and finite")
        }
        if let bad = pairs.firstIndex(where: { $0.0 < 0 || $0.1 < 0 || Int($0.0) >= particles || Int($0.1) >= particles || $0.0 == $0.1 }) {
            throw SparseError.invalidArgument("PairInteraction: pair \(bad) = (\(pairs[bad].0), \(pairs[bad].1)) is not two distinct particles of 0..<\(particles)")
        }
        self.particles = particles
        self.dimension = dimension
        self.pairs = pairs
        self.periodicSide = periodicSide
        self.potential = potential
    }

    /// The nearest periodic image of a coordinate difference.
    @inline(__always) func image(_ d: Double) -> Double {
        guard let side = periodicSide else { return d }
        return d - side * (d / side).rounded()
    }

    /// φ, φ′ = ∂φ/∂r, φ″, ∂φ/∂σ and ∂φ′/∂σ at (r, σ), r < σ.
    @inline(__always) func terms(_ r: Double, _ s: Double) -> (phi: Double, d1: Double, d2: Double, dSigma: Double, d1Sigma: Double) {
        let u = 1 - r / s
        switch potential {
        case .harmonic:
            return (0.5 * u * u, -u / s, 1 / (s * s), u * r / (s * s), (u - r / s) / (s * s))
        case .hertzian:
            let root = u.squareRoot()
            return (0.4 * u * u * root, -u * root / s, 1.5 * root / (s * s), u * root * r / (s * s), root * (u - 1.5 * r / s) / (s * s))
        }
    }

    /// The per-pair quantities of a configuration: the unit vector n (d entries), r, and
    /// whether the pair is in contact (0 < r < σ).
    func geometry(_ x: [Double], _ sigma: [Double]) -> (unit: [Double], distance: [Double]) {
        precondition(x.count == particles * dimension, "PairInteraction: \(x.count) coordinates for \(particles) particles in \(dimension)-D")
        precondition(sigma.count == pairs.count, "PairInteraction: \(sigma.count) length scales for \(pairs.count) pairs")
        let d = dimension
        var unit = [Double](repeating: 0, count: d * pairs.count), distance = [Double](repeating: 0, count: pairs.count)
        for (k, (a, b)) in pairs.enumerated() {
            let i = Int(a), j = Int(b)
            var r2 = 0.0
            for c in 0..<d {
                let delta = image(x[d * i + c] - x[d * j + c])
                unit[d * k + c] = delta
                r2 += delta * delta
            }
            let r = r2.squareRoot()
            distance[k] = r
            if r > 0 { for c in 0..<d { unit[d * k + c] /= r } }
        }
        return (unit, distance)
    }

    /// Row r of the coordinate structure: the coordinates of particle r / d and of its partners.
    func coordinateStructure() -> (pointers: [Int], indices: [Int32]) {
        let d = dimension
        var partners = [[Int32]](repeating: [], count: particles)
        for (a, b) in pairs { partners[Int(a)].append(b); partners[Int(b)].append(a) }
        var pointers = [0], indices: [Int32] = []
        for i in 0..<particles {
            // A particle without pairs feels no force: its rows are empty.
            let touched = partners[i].isEmpty ? [] : ([Int32(i)] + partners[i]).sorted()
            var unique: [Int32] = []
            for p in touched where unique.last != p { unique.append(p) }
            for _ in 0..<d {
                for p in unique { for c in 0..<d { indices.append(Int32(d * Int(p) + c)) } }
                pointers.append(indices.count)
            }
        }
        return (pointers, indices)
    }

    /// Row r of the pair structure: the pairs of particle r / d.
    func pairStructure() -> (pointers: [Int], indices: [Int32]) {
        var mine = [[Int32]](repeating: [], count: particles)
        for (k, (a, b)) in pairs.enumerated() { mine[Int(a)].append(Int32(k)); mine[Int(b)].append(Int32(k)) }
        var pointers = [0], indices: [Int32] = []
        for i in 0..<particles { for _ in 0..<dimension { indices += mine[i]; pointers.append(indices.count) } }
        return (pointers, indices)
    }

    /// The trace of ∇ₓE: x's through the coordinate structure, σ's through the pair structure.
    func forceTrace(_ x: DifferentiableVector, _ sigma: DifferentiableVector) -> DependencyTrace? {
        var trace: DependencyTrace? = nil
        if let tx = x.trace {
            let s = coordinateStructure()
            trace = tx.composed(rows: particles * dimension, structurePointers: s.pointers, structureIndices: s.indices)
        }
        if let ts = sigma.trace {
            let s = pairStructure()
            trace = DependencyTrace.union(trace, ts.composed(rows: particles * dimension, structurePointers: s.pointers, structureIndices: s.indices))
        }
        return trace
    }
}

/// E(x, σ) = Σ_k φ(r_k; σ_k) over the interaction's pairs (see `PairInteraction`).
@differentiable(reverse, wrt: (x, sigma))
public func pairEnergy(_ x: DifferentiableVector, _ sigma: DifferentiableVector, _ interaction: PairInteraction) -> Double {
    x.trace?.denseCoupling("pairEnergy(_:_:_:) (a scalar; write the condition with pairForces)")
    sigma.trace?.denseCoupling("pairEnergy(_:_:_:) (a scalar; write the condition with pairForces)")
    let (_, distance) = interaction.geometry(x.scalars, sigma.scalars)
    var e = 0.0
    for k in 0..<interaction.pairs.count where distance[k] > 0 && distance[k] < sigma.scalars[k] {
        e += interaction.terms(distance[k], sigma.scalars[k]).phi
    }
    return e
}

@derivative(of: pairEnergy, wrt: (x, sigma))
@usableFromInline
func vjpPairEnergy(_ x: DifferentiableVector, _ sigma: DifferentiableVector, _ interaction: PairInteraction)
    -> (value: Double, pullback: (Double) -> (DifferentiableVector, DifferentiableVector)) {
    // Energy, forces and ∂E/∂σ in one pass over the pairs.
    let d = interaction.dimension
    let (unit, distance) = interaction.geometry(x.scalars, sigma.scalars)
    var e = 0.0
    var forces = [Double](repeating: 0, count: x.count), dSigma = [Double](repeating: 0, count: interaction.pairs.count)
    for (k, (a, b)) in interaction.pairs.enumerated() where distance[k] > 0 && distance[k] < sigma.scalars[k] {
        let t = interaction.terms(distance[k], sigma.scalars[k])
        e += t.phi
        dSigma[k] = t.dSigma
        for c in 0..<d {
            forces[d * Int(a) + c] += t.d1 * unit[d * k + c]
            forces[d * Int(b) + c] -= t.d1 * unit[d * k + c]
        }
    }
    return (e, { g in (DifferentiableVector(forces.map { g * $0 }), DifferentiableVector(dSigma.map { g * $0 })) })
}

/// ∇ₓE(x, σ) over the interaction's pairs: for a pair in contact, φ′(r)·n on i and −φ′(r)·n
/// on j. Its pullback is the Hessian-vector product H·g (H symmetric: per pair the block
/// B = φ″ nnᵀ + (φ′/r)(I − nnᵀ) on (i, i), (j, j) and −B on (i, j), (j, i)) and, for σ_k,
/// (∂φ′/∂σ)·n·(g_i − g_j). The blocks are computed once with the value, so each pullback (one
/// per Krylov iteration or per color of an automatic Jacobian) is a pass over the pairs with no
/// square root. O(pairs · d²) per pullback.
@differentiable(reverse, wrt: (x, sigma))
public func pairForces(_ x: DifferentiableVector, _ sigma: DifferentiableVector, _ interaction: PairInteraction) -> DifferentiableVector {
    let d = interaction.dimension
    let (unit, distance) = interaction.geometry(x.scalars, sigma.scalars)
    var out = [Double](repeating: 0, count: x.count)
    for (k, (a, b)) in interaction.pairs.enumerated() where distance[k] > 0 && distance[k] < sigma.scalars[k] {
        let i = Int(a), j = Int(b)
        let slope = interaction.terms(distance[k], sigma.scalars[k]).d1
        for c in 0..<d {
            out[d * i + c] += slope * unit[d * k + c]
            out[d * j + c] -= slope * unit[d * k + c]
        }
    }
    return DifferentiableVector(out, trace: interaction.forceTrace(x, sigma))
}

@derivative(of: pairForces, wrt: (x, sigma))
@usableFromInline
func vjpPairForces(_ x: DifferentiableVector, _ sigma: DifferentiableVector, _ interaction: PairInteraction)
    -> (value: DifferentiableVector, pullback: (DifferentiableVector) -> (DifferentiableVector, DifferentiableVector)) {
    let d = interaction.dimension
    let (unit, distance) = interaction.geometry(x.scalars, sigma.scalars)
    let m = interaction.pairs.count
    // Per pair: the symmetric block (d² entries, row-major) and ∂φ′/∂σ; zero off contact.
    var blocks = [Double](repeating: 0, count: d * d * m), sigmaSlope = [Double](repeating: 0, count: m)
    var contact = [Bool](repeating: false, count: m)
    var out = [Double](repeating: 0, count: x.count)
    for (k, (a, b)) in interaction.pairs.enumerated() where distance[k] > 0 && distance[k] < sigma.scalars[k] {
        let i = Int(a), j = Int(b)
        let t = interaction.terms(distance[k], sigma.scalars[k])
        let tension = t.d1 / distance[k]
        for u in 0..<d {
            out[d * i + u] += t.d1 * unit[d * k + u]
            out[d * j + u] -= t.d1 * unit[d * k + u]
            for w in 0..<d {
                let nn = unit[d * k + u] * unit[d * k + w]
                blocks[d * d * k + d * u + w] = t.d2 * nn + tension * ((u == w ? 1 : 0) - nn)
            }
        }
        sigmaSlope[k] = t.d1Sigma
        contact[k] = true
    }
    let pairs = interaction.pairs, n = x.count
    return (DifferentiableVector(out), { g in
        let gs = g.dense(count: n)
        var dx = [Double](repeating: 0, count: n), dSigma = [Double](repeating: 0, count: m)
        var delta = [Double](repeating: 0, count: d)
        for k in 0..<m where contact[k] {
            let i = Int(pairs[k].0), j = Int(pairs[k].1)
            var along = 0.0, zero = true
            for c in 0..<d {
                delta[c] = gs[d * i + c] - gs[d * j + c]
                along += unit[d * k + c] * delta[c]
                if delta[c] != 0 { zero = false }
            }
            if zero { continue }   // a sparse seed (a color of an automatic Jacobian) skips most pairs
            for u in 0..<d {
                var v = 0.0
                for w in 0..<d { v += blocks[d * d * k + d * u + w] * delta[w] }
                dx[d * i + u] += v
                dx[d * j + u] -= v
            }
            dSigma[k] = sigmaSlope[k] * along
        }
        return (DifferentiableVector(dx), DifferentiableVector(dSigma))
    })
}
