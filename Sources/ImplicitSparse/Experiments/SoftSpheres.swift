import Foundation
import Sparse
import Preconditioners
import _Differentiation

/// The paper's molecular-dynamics sensitivity experiment, sparse and scaled: a 2-D bidisperse
/// packing of N soft spheres in a periodic square box, half of diameter θ (the small
/// species) and half of diameter 1.4, harmonic repulsion E = Σ_{i<j} ½(1 − r_ij/d_ij)² over
/// overlapping pairs (d_ij = (d_i + d_j)/2), at a packing fraction above jamming. The energy is
/// minimized by FIRE and then Newton with the sparse Hessian; the derivative of the minimizer
/// with respect to θ follows from the stationarity condition F(x, θ) = ∇ₓE(x, θ) = 0 by the
/// implicit function theorem: H dx/dθ = −∂F/∂θ, solved through a `LinearSolveStrategy` (the
/// automatic policy: CHOLMOD or preconditioned CG by its cost model).
///
/// Null space: E is invariant under the two translations of the periodic box, and particles
/// with fewer than 3 contacts (rattlers, removed iteratively as they make others lose
/// contacts) have no stiffness. Both are handled by reduction: rattlers' coordinates are
/// left out of the system (their sensitivity is reported as 0 and they are counted), and the
/// first remaining particle is pinned; the solution is then shifted so that the mean
/// sensitivity over the non-rattlers is zero, which removes the pin's arbitrary translation
/// (the result does not depend on which particle was pinned).
///
/// Two routes to the Hessian (`HessianSource`): `.automatic` (the default) writes the
/// stationarity condition with the differentiable pair primitive — F(x, θ) =
/// `pairForces`(x, σ(θ)) on the reduced coordinates — and lets `RootSolution(jacobian:
/// .automaticSparse)` detect the pattern, star-colour it and assemble the Hessian from one
/// pullback per color, with ∂F/∂θ = (∂F/∂σ)·dσ/dθ and ∂F/∂σ (one length scale per contact)
/// assembled the same way; `.hand` keeps the
/// hand-written 2 × 2 blocks and ∂F/∂θ (the route of the first version of this experiment, kept
/// as the oracle: the two agree to 1e-12 on the Hessian, `SoftSphereTests`). The minimizer's
/// Newton steps use the hand-written Hessian. Memory: positions, velocities and gradients (6N doubles), the Verlet list (8 bytes
/// per pair within the cutoff plus skin), the Hessian (about 12 nonzeros of 12 bytes per
/// coordinate) and its factor or AMG hierarchy. The Newton steps analyse and factorize the
/// Hessian anew each time: its pattern follows the contact network, which can change.
public struct SoftSpherePacking: Sendable {
    public let count: Int
    /// Side of the periodic box.
    public let side: Double
    /// true for the small species (diameter θ), false for the large (diameter 1.4).
    public let small: [Bool]
    public static let largeDiameter = 1.4

    /// N particles, the first half small, at packing fraction φ for small diameter θ₀ = 1.
    public init(count: Int, packingFraction: Double = 0.9) throws {
        guard count >= 4 else { throw SparseError.invalidArgument("a packing needs at least 4 particles, got \(count)") }
        guard packingFraction > 0.5, packingFraction < 1.2 else {
            throw SparseError.invalidArgument("the packing fraction must be in (0.5, 1.2), got \(packingFraction)")
        }
        self.count = count
        let smallCount = count / 2
        small = (0..<count).map { $0 < smallCount }
        let area = Double(smallCount) * Double.pi / 4 + Double(count - smallCount) * Double.pi / 4 * Self.largeDiameter * Self.largeDiameter
        side = (area / packingFraction).squareRoot()
    }

    /// Uniformly random positions in the box (x₀, y₀, x₁, y₁, …). Within each species the
    /// particles are numbered in strips of the box (by x strip, then y), so that neighbours
    /// have nearby indices: the pair loops then read positions from cache at 10⁶ particles
    /// (the configuration is the same random set of points whatever the numbering).
    public func randomPositions(seed: UInt64) -> [Double] {
        var random = SplitMix64(seed: seed)
        let points = (0..<count).map { _ in (random.nextUniform() * side, random.nextUniform() * side) }
        let strip = 2 * Self.largeDiameter
        func ordered(_ range: Range<Int>) -> [(Double, Double)] {
            points[range].sorted { a, b in
                let sa = Int(a.0 / strip), sb = Int(b.0 / strip)
                return sa != sb ? sa < sb : a.1 < b.1
            }
        }
        let smallCount = small.prefix { $0 }.count
        return (ordered(0..<smallCount) + ordered(smallCount..<count)).flatMap { [$0.0, $0.1] }
    }

    @inline(__always) func diameter(_ i: Int, _ j: Int, theta: Double) -> Double {
        ((small[i] ? theta : Self.largeDiameter) + (small[j] ? theta : Self.largeDiameter)) / 2
    }

    /// ∂d_ij/∂θ: 1 for two small particles, ½ for a mixed pair, 0 for two large ones.
    @inline(__always) func diameterSlope(_ i: Int, _ j: Int) -> Double {
        (small[i] ? 0.5 : 0) + (small[j] ? 0.5 : 0)
    }

    /// The periodic image of a difference nearest to zero. Rounds without a libm call
    /// (`rounded()` is a call to round() on baseline x86-64, twice per pair in the hot loops):
    /// adding and subtracting 1.5·2⁵² rounds any |v| < 2⁵¹ to the nearest integer (ties to
    /// even, where either image is as near).
    @inline(__always) func minimumImage(_ d: Double) -> Double {
        let shift = 6_755_399_441_055_744.0
        return d - side * ((d / side + shift) - shift)
    }

    // MARK: Neighbour lists

    /// Pairs (i < j) closer than d_ij + skin, found with a cell list (O(N)).
    func pairs(_ x: [Double], theta: Double, skin: Double) -> [(Int32, Int32)] {
        let cutoff = max(theta, Self.largeDiameter) + skin
        let cellsPerSide = max(1, Int(side / cutoff))
        var result: [(Int32, Int32)] = []
        result.reserveCapacity(4 * count)
        func close(_ i: Int, _ j: Int) -> Bool {
            let dx = minimumImage(x[2 * i] - x[2 * j]), dy = minimumImage(x[2 * i + 1] - x[2 * j + 1])
            let reach = diameter(i, j, theta: theta) + skin
            return dx * dx + dy * dy < reach * reach
        }
        if cellsPerSide < 3 {
            for i in 0..<count { for j in (i + 1)..<count where close(i, j) { result.append((Int32(i), Int32(j))) } }
            return result
        }
        let cellSize = side / Double(cellsPerSide)
        var head = [Int](repeating: -1, count: cellsPerSide * cellsPerSide), next = [Int](repeating: -1, count: count)
        func cell(_ v: Double) -> Int {
            let c = Int((v - side * (v / side).rounded(.down)) / cellSize)
            return min(max(c, 0), cellsPerSide - 1)
        }
        for i in 0..<count {
            let c = cell(x[2 * i]) * cellsPerSide + cell(x[2 * i + 1])
            next[i] = head[c]
            head[c] = i
        }
        for cx in 0..<cellsPerSide {
            for cy in 0..<cellsPerSide {
                var i = head[cx * cellsPerSide + cy]
                while i >= 0 {
                    for ox in -1...1 {
                        for oy in -1...1 {
                            let nx = (cx + ox + cellsPerSide) % cellsPerSide, ny = (cy + oy + cellsPerSide) % cellsPerSide
                            var j = head[nx * cellsPerSide + ny]
                            while j >= 0 {
                                if j > i && close(i, j) { result.append((Int32(i), Int32(j))) }
                                j = next[j]
                            }
                        }
                    }
                    i = next[i]
                }
            }
        }
        return result
    }

    // MARK: Energy and gradient

    /// E(x, θ) and ∇ₓE over the listed pairs (those not overlapping contribute nothing). Long
    /// lists are split over `SparseThreads.count` threads, each accumulating into its own
    /// gradient buffer (2N doubles per extra thread), summed at the end.
    public func energy(_ x: [Double], theta: Double, pairs: [(Int32, Int32)], gradient g: inout [Double]) -> Double {
        precondition(x.count == 2 * count && g.count == 2 * count, "energy: positions and gradient must have 2N entries")
        let n2 = 2 * count
        let threads = pairs.count >= 50_000 ? max(1, SparseThreads.count) : 1
        var partial = [Double](repeating: 0, count: threads)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: max(1, n2 * (threads - 1)))
        defer { scratch.deallocate() }
        x.withUnsafeBufferPointer { xb in
        pairs.withUnsafeBufferPointer { pb in
        g.withUnsafeMutableBufferPointer { gb in
        partial.withUnsafeMutableBufferPointer { eb in
            let xp = xb.baseAddress!, gp = gb.baseAddress!, ep = eb.baseAddress!
            func work(_ t: Int) {
                let out = t == 0 ? gp : scratch + (t - 1) * n2
                out.initialize(repeating: 0, count: n2)
                ep[t] = self.accumulate(xp, pb, range: pb.count * t / threads..<pb.count * (t + 1) / threads, theta: theta, into: out)
            }
            if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads) { work($0) } }
            if threads > 1 {
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    for k in n2 * t / threads..<n2 * (t + 1) / threads {
                        var sum = gp[k]
                        for u in 1..<threads { sum += scratch[(u - 1) * n2 + k] }
                        gp[k] = sum
                    }
                }
            }
        }}}}
        return partial.reduce(0, +)
    }

    /// The energy of pairs[range] and its gradient added into `out`.
    @inline(__always)
    private func accumulate(_ x: UnsafePointer<Double>, _ pairs: UnsafeBufferPointer<(Int32, Int32)>, range: Range<Int>,
                            theta: Double, into out: UnsafeMutablePointer<Double>) -> Double {
        var e = 0.0
        for k in range {
            let (a, b) = pairs[k]
            let i = Int(a), j = Int(b)
            let dx = minimumImage(x[2 * i] - x[2 * j]), dy = minimumImage(x[2 * i + 1] - x[2 * j + 1])
            let d = diameter(i, j, theta: theta)
            let r2 = dx * dx + dy * dy
            guard r2 < d * d, r2 > 0 else { continue }
            let r = r2.squareRoot()
            let overlap = 1 - r / d
            e += 0.5 * overlap * overlap
            let dEdr = -overlap / d
            let fx = dEdr * dx / r, fy = dEdr * dy / r
            out[2 * i] += fx; out[2 * i + 1] += fy
            out[2 * j] -= fx; out[2 * j + 1] -= fy
        }
        return e
    }

    // MARK: Minimization

    public struct Minimum: Sendable {
        public var positions: [Double]
        public var energy: Double
        /// max |∂E/∂xₖ| at the returned positions.
        public var gradientNorm: Double
        public var fireSteps: Int
        public var newtonSteps: Int
        public var seconds: Double
    }

    /// FIRE (Bitzek et al. 2006: dt 0.1 → at most 0.4, N_min 5, α 0.1·0.99ⁿ) until
    /// max|∇E| ≤ `fireTolerance`, then Newton on the sparse Hessian (rattlers and one particle
    /// pinned, backtracking on E) until max|∇E| ≤ `tolerance` — or until two Newton steps in a
    /// row fail to halve it within 100× the tolerance (the sums' rounding floor; the returned
    /// `gradientNorm` says where it stopped).
    /// - Parameters:
    ///   - start: the initial positions (x₀, y₀, x₁, y₁, …).
    ///   - theta: the small species' diameter θ.
    ///   - tolerance: the Newton phase's target max|∇E|.
    ///   - fireTolerance: FIRE's target max|∇E| before Newton takes over.
    ///   - maxFireSteps: FIRE's step limit (per FIRE phase).
    ///   - progress: called every 500 FIRE steps and after each Newton step with
    ///     (FIRE steps, Newton steps, max|∇E|), for a progress line.
    public func minimize(from start: [Double], theta: Double, tolerance: Double = 1e-12, fireTolerance: Double = 1e-6,
                         maxFireSteps: Int = 200_000, progress: ((Int, Int, Double) -> Void)? = nil) throws -> Minimum {
        guard start.count == 2 * count, start.allSatisfy(\.isFinite) else {
            throw SparseError.invalidArgument("positions: expected \(2 * count) finite coordinates")
        }
        guard theta > 0.3, theta < Self.largeDiameter * 2 else { throw SparseError.invalidArgument("θ must be in (0.3, 2.8), got \(theta)") }
        let begin = DispatchTime.now().uptimeNanoseconds
        let skin = 0.3
        var x = start, v = [Double](repeating: 0, count: 2 * count), g = [Double](repeating: 0, count: 2 * count)
        var list = pairs(x, theta: theta, skin: skin)
        var reference = x
        var steps = 0
        var e = energy(x, theta: theta, pairs: list, gradient: &g)
        /// FIRE from the current x (velocities reset) until max|∇E| ≤ `target`.
        func fire(to target: Double) {
            var dt = 0.1, alpha = 0.1, sincePositive = 0
            for k in 0..<v.count { v[k] = 0 }
            let limit = steps + maxFireSteps
            while steps < limit, largest(g) > target {
                steps += 1
                if steps % 500 == 0 { progress?(steps, 0, largest(g)) }
                // P = F·v with F = −∇E.
                var power = 0.0, vNorm = 0.0, fNorm = 0.0
                for k in 0..<v.count { power -= g[k] * v[k]; vNorm += v[k] * v[k]; fNorm += g[k] * g[k] }
                if power > 0 {
                    let mix = alpha * (vNorm / max(fNorm, 1e-300)).squareRoot()
                    for k in 0..<v.count { v[k] = (1 - alpha) * v[k] - mix * g[k] }
                    sincePositive += 1
                    if sincePositive > 5 { dt = min(dt * 1.1, 0.4); alpha *= 0.99 }
                } else {
                    for k in 0..<v.count { v[k] = 0 }
                    dt *= 0.5; alpha = 0.1; sincePositive = 0
                }
                var moved = 0.0
                for k in 0..<v.count {
                    v[k] -= dt * g[k]
                    x[k] += dt * v[k]
                }
                for i in 0..<count {
                    let dx = x[2 * i] - reference[2 * i], dy = x[2 * i + 1] - reference[2 * i + 1]
                    moved = max(moved, dx * dx + dy * dy)
                }
                if moved > skin * skin / 4 { list = pairs(x, theta: theta, skin: skin); reference = x }
                e = energy(x, theta: theta, pairs: list, gradient: &g)
            }
        }
        fire(to: fireTolerance)
        // Newton on the reduced Hessian.
        var newton = 0, restarts = 0, stalled = 0
        list = pairs(x, theta: theta, skin: skin)
        e = energy(x, theta: theta, pairs: list, gradient: &g)
        var previous = largest(g)
        // Stops at the tolerance, after 30 steps, or at the rounding floor: two steps in a row
        // that do not halve max|∇E| once it is within 100× the tolerance (E and ∇E are sums of
        // ~2.4 contacts per particle; at 10⁵ particles the floor sat near 1.7·10⁻¹² and Newton
        // spent its last steps — a factorization each — without progress).
        func noteProgress() {
            let now = largest(g)
            stalled = now > 0.5 * previous && now < 100 * tolerance ? stalled + 1 : 0
            previous = now
        }
        while largest(g) > tolerance && newton < 30 && stalled < 2 {
            newton += 1
            progress?(steps, newton, largest(g))
            let system = try reducedHessian(x, theta: theta, pairs: list)
            // Rattlers are not in the Newton system: each is moved alone, along its own force
            // with step d² (one step removes the overlap of a single harmonic contact), until
            // their forces are below the tolerance or they lose their contacts.
            let loose = (0..<count).filter { system.rattler[$0] }
            if !loose.isEmpty {
                for _ in 0..<50 {
                    var worst = 0.0
                    for i in loose {
                        let step = 0.5 * (small[i] ? theta * theta : Self.largeDiameter * Self.largeDiameter)
                        x[2 * i] -= step * g[2 * i]; x[2 * i + 1] -= step * g[2 * i + 1]
                    }
                    e = energy(x, theta: theta, pairs: list, gradient: &g)
                    for i in loose { worst = max(worst, abs(g[2 * i]), abs(g[2 * i + 1])) }
                    if worst <= tolerance { break }
                }
                if system.coordinates.allSatisfy({ abs(g[$0]) <= tolerance }) {
                    // Only rattlers are left above the tolerance: the same rounding-floor rule.
                    noteProgress()
                    continue
                }
            }
            let rhs = system.coordinates.map { -g[$0] }
            let factor = try CholeskyFactorization(symmetric: system.matrix)
            do {
                try factor.factorize()
            } catch SparseError.notPositiveDefinite where restarts < 4 {
                // Not yet in a minimum's basin (a saddle or an unstable contact network):
                // back to FIRE, a thousand times tighter, then Newton again.
                restarts += 1
                fire(to: fireTolerance * Foundation.pow(1e-3, Double(restarts)))
                list = pairs(x, theta: theta, skin: skin)
                e = energy(x, theta: theta, pairs: list, gradient: &g)
                continue
            }
            let step = try factor.solve(rhs)
            var t = 1.0, accepted = false
            var trial = x, trialGradient = g
            let gradientMax = system.coordinates.reduce(0.0) { max($0, abs(g[$1])) }
            while t > 1e-8 {
                trial = x
                for (k, c) in system.coordinates.enumerated() { trial[c] += t * step[k] }
                let trialEnergy = energy(trial, theta: theta, pairs: list, gradient: &trialGradient)
                // Near the minimum E changes by less than its rounding (a sum of N terms):
                // a step that halves the largest gradient component is accepted too.
                let trialMax = system.coordinates.reduce(0.0) { max($0, abs(trialGradient[$1])) }
                if trialEnergy <= e + 1e-14 * max(1, abs(e)) || trialMax <= 0.5 * gradientMax { accepted = true; break }
                t *= 0.5
            }
            guard accepted else { break }
            x = trial
            list = pairs(x, theta: theta, skin: skin)
            e = energy(x, theta: theta, pairs: list, gradient: &g)
            noteProgress()
        }
        return Minimum(positions: x, energy: e, gradientNorm: largest(g), fireSteps: steps, newtonSteps: newton,
                       seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) * 1e-9)
    }

    /// max |gₖ| without allocating (the FIRE loop asks every step).
    @inline(__always) func largest(_ g: [Double]) -> Double {
        g.withUnsafeBufferPointer { b in var m = 0.0; for v in b { m = max(m, abs(v)) }; return m }
    }

    // MARK: Hessian, rattlers, sensitivity

    /// Particles with fewer than 3 contacts among the others, removed until none is left.
    public func rattlers(_ x: [Double], theta: Double, pairs list: [(Int32, Int32)]) -> [Bool] {
        var contacts: [(Int, Int)] = []
        for (a, b) in list {
            let i = Int(a), j = Int(b)
            let dx = minimumImage(x[2 * i] - x[2 * j]), dy = minimumImage(x[2 * i + 1] - x[2 * j + 1])
            let d = diameter(i, j, theta: theta)
            if dx * dx + dy * dy < d * d { contacts.append((i, j)) }
        }
        var rattler = [Bool](repeating: false, count: count)
        var changed = true
        while changed {
            changed = false
            var z = [Int](repeating: 0, count: count)
            for (i, j) in contacts where !rattler[i] && !rattler[j] { z[i] += 1; z[j] += 1 }
            for i in 0..<count where !rattler[i] && z[i] < 3 { rattler[i] = true; changed = true }
        }
        return rattler
    }

    /// How `sensitivity` obtains the Hessian ∂F/∂x.
    public enum HessianSource: String, Sendable, CaseIterable {
        /// Detected pattern, star coloring, one pullback of `pairForces` per color.
        case automatic
        /// The hand-written blocks (`reducedHessian`).
        case hand
    }

    struct ReducedSystem {
        var matrix: CSRMatrix
        /// The coordinate index (into x) of each unknown.
        var coordinates: [Int]
        var rattler: [Bool]
        var pinned: Int
    }

    /// The unknowns of the reduced system: the coordinates of the non-rattlers, the first of
    /// them pinned; `index[c]` is coordinate c's unknown or −1.
    func reduction(_ x: [Double], theta: Double, pairs list: [(Int32, Int32)]) throws
        -> (coordinates: [Int], index: [Int], rattler: [Bool], pinned: Int) {
        let rattler = rattlers(x, theta: theta, pairs: list)
        guard let pinned = rattler.firstIndex(of: false) else {
            throw SparseError.invalidArgument("every particle is a rattler: the packing is below jamming (raise the packing fraction)")
        }
        var index = [Int](repeating: -1, count: 2 * count)
        var coordinates: [Int] = []
        for i in 0..<count where !rattler[i] && i != pinned {
            index[2 * i] = coordinates.count; coordinates.append(2 * i)
            index[2 * i + 1] = coordinates.count; coordinates.append(2 * i + 1)
        }
        return (coordinates, index, rattler, pinned)
    }

    /// The Hessian of E on the coordinates of the non-rattlers, the first of them pinned.
    func reducedHessian(_ x: [Double], theta: Double, pairs list: [(Int32, Int32)]) throws -> ReducedSystem {
        let (coordinates, index, rattler, pinned) = try reduction(x, theta: theta, pairs: list)
        var builder = try COOBuilder(rows: coordinates.count, columns: coordinates.count, reservingCapacity: 16 * list.count)
        for (a, b) in list {
            let i = Int(a), j = Int(b)
            guard !rattler[i], !rattler[j] else { continue }
            let dx = minimumImage(x[2 * i] - x[2 * j]), dy = minimumImage(x[2 * i + 1] - x[2 * j + 1])
            let d = diameter(i, j, theta: theta)
            let r2 = dx * dx + dy * dy
            guard r2 < d * d, r2 > 0 else { continue }
            let r = r2.squareRoot()
            let nx = dx / r, ny = dy / r
            let stiffness = 1 / (d * d), tension = -(1 - r / d) / d / r   // E'' and E'/r
            // Block k·nnᵀ + (E'/r)(I − nnᵀ).
            let hxx = stiffness * nx * nx + tension * (1 - nx * nx)
            let hyy = stiffness * ny * ny + tension * (1 - ny * ny)
            let hxy = (stiffness - tension) * nx * ny
            let block = [[hxx, hxy], [hxy, hyy]]
            for (p, q, sign) in [(i, i, 1.0), (j, j, 1.0), (i, j, -1.0), (j, i, -1.0)] {
                for u in 0..<2 {
                    for w in 0..<2 {
                        let row = index[2 * p + u], column = index[2 * q + w]
                        if row >= 0 && column >= 0 { try builder.append(row: row, column: column, value: sign * block[u][w]) }
                    }
                }
            }
        }
        return ReducedSystem(matrix: builder.makeCSR().declaringSymmetric(), coordinates: coordinates, rattler: rattler, pinned: pinned)
    }

    /// ∂F/∂θ = ∂(∇ₓE)/∂θ at x, over the contacts between non-rattlers (the reduced
    /// system's: a rattler moves freely, so its contacts — at vanishing overlap after the
    /// minimization — exert no force that grows with θ; counting them made the derivative
    /// disagree with finite differences on every particle of a 10⁴-particle packing).
    func conditionThetaDerivative(_ x: [Double], theta: Double, pairs list: [(Int32, Int32)], rattler: [Bool]) -> [Double] {
        var b = [Double](repeating: 0, count: 2 * count)
        for (a, c) in list {
            let i = Int(a), j = Int(c)
            let slope = diameterSlope(i, j)
            guard slope > 0, !rattler[i], !rattler[j] else { continue }
            let dx = minimumImage(x[2 * i] - x[2 * j]), dy = minimumImage(x[2 * i + 1] - x[2 * j + 1])
            let d = diameter(i, j, theta: theta)
            let r2 = dx * dx + dy * dy
            guard r2 < d * d, r2 > 0 else { continue }
            let r = r2.squareRoot()
            // E'(r) = −(1 − r/d)/d = −1/d + r/d²; ∂E'/∂d = 1/d² − 2r/d³.
            let dForce = (1 / (d * d) - 2 * r / (d * d * d)) * slope
            b[2 * i] += dForce * dx / r; b[2 * i + 1] += dForce * dy / r
            b[2 * j] -= dForce * dx / r; b[2 * j + 1] -= dForce * dy / r
        }
        return b
    }

    /// The stationarity condition on the reduced coordinates written with the differentiable
    /// pair primitive, with the contact diameters σ as its hyperparameter (one per contact):
    /// F(x_r, σ) = (∇ₓE)(scatter(x_r) + the fixed coordinates, σ) restricted to the unknowns,
    /// over the contacts between non-rattlers; σ_k(θ) = (d_i + d_j)/2, so dσ/dθ = `slopes`
    /// (1 between two small particles, ½ for a mixed pair, 0 else). With θ per contact, ∂F/∂σ
    /// is sparse and assembled exactly by colored pullbacks; dx/dθ = (dx/dσ)·slopes.
    func automaticCondition(_ x: [Double], theta: Double, pairs list: [(Int32, Int32)], coordinates: [Int], rattler: [Bool]) throws
        -> (condition: RootSolution<DifferentiableVector>.Condition, sigma: DifferentiableVector, slopes: DifferentiableVector) {
        let contacts = list.filter { !rattler[Int($0.0)] && !rattler[Int($0.1)] }
        let interaction = try PairInteraction(particles: count, dimension: 2, pairs: contacts, periodicSide: side, potential: .harmonic)
        let sigma = DifferentiableVector(contacts.map { diameter(Int($0.0), Int($0.1), theta: theta) })
        let slopes = DifferentiableVector(contacts.map { diameterSlope(Int($0.0), Int($0.1)) })
        var rest = x
        for c in coordinates { rest[c] = 0 }
        let fixed = DifferentiableVector(rest)
        let total = 2 * count
        let condition: RootSolution<DifferentiableVector>.Condition = { reduced, sigma in
            gather(pairForces(scatter(reduced, coordinates, count: total) + fixed, sigma, interaction), coordinates)
        }
        return (condition, sigma, slopes)
    }

    /// The reduced Hessian by the automatic route (detected pattern, star coloring, colored
    /// pullbacks), with the `SparseJacobian` that assembled it (for its colors and seconds).
    func automaticHessian(_ x: [Double], theta: Double, pairs list: [(Int32, Int32)]) throws
        -> (matrix: CSRMatrix, jacobian: SparseJacobian<DifferentiableVector>, coordinates: [Int]) {
        let (coordinates, _, rattler, _) = try reduction(x, theta: theta, pairs: list)
        let (condition, sigma, _) = try automaticCondition(x, theta: theta, pairs: list, coordinates: coordinates, rattler: rattler)
        let jacobian = SparseJacobian<DifferentiableVector>(condition: condition, symmetric: true)
        let matrix = try jacobian.matrix(DifferentiableVector(coordinates.map { x[$0] }), sigma)
        return (matrix, jacobian, coordinates)
    }

    /// max |H_auto − H_hand| / max |H_hand| over the reduced Hessian at x (the two routes'
    /// patterns must coincide; a different pattern is reported as 1).
    public func hessianDifference(at x: [Double], theta: Double) throws -> Double {
        let list = pairs(x, theta: theta, skin: 0)
        let hand = try reducedHessian(x, theta: theta, pairs: list).matrix
        let automatic = try automaticHessian(x, theta: theta, pairs: list).matrix
        guard hand.rowPointers == automatic.rowPointers, hand.columnIndices == automatic.columnIndices else { return 1 }
        let scale = max(hand.values.reduce(0) { max($0, abs($1)) }, 1e-300)
        return zip(hand.values, automatic.values).reduce(0) { max($0, abs($1.0 - $1.1)) } / scale
    }

    public struct Sensitivity: Sendable {
        /// dx/dθ (2N), zero for rattlers, mean zero over the others.
        public var derivative: [Double]
        public var rattlers: Int
        public var contacts: Int
        public var report: LinearSolveReport?
        /// ‖H u + ∂F/∂θ‖ / ‖∂F/∂θ‖ of the reduced solve.
        public var residual: Double
        public var seconds: Double
        /// The route to the Hessian, and for `.automatic` its colors and seconds.
        public var hessian: HessianSource = .hand
        public var jacobian: JacobianSummary?
        /// Seconds of the Hessian's assembly (hand: the blocks, rattlers found and the CSR
        /// built; automatic: the colored pullbacks, decompression and check — detection and
        /// coloring, once, are in `jacobian`). ∂F/∂θ is not included in either.
        public var assemblySeconds: Double = 0
    }

    /// dx*/dθ at a minimum by the implicit function theorem (see the type's documentation).
    /// - Parameters:
    ///   - x: the minimum's positions (2N).
    ///   - theta: the small species' diameter θ.
    ///   - strategy: the Hessian solve (the automatic policy by default).
    ///   - hessian: the route to ∂F/∂x (see `HessianSource`); with `.automatic`, ∂F/∂θ comes
    ///     from the automatic ∂F/∂σ (`SparseJacobian.hyperparameterMatrix`).
    public func sensitivity(at x: [Double], theta: Double, strategy: LinearSolveStrategy = LinearSolveStrategy(.automatic),
                            hessian: HessianSource = .automatic) throws -> Sensitivity {
        let begin = DispatchTime.now().uptimeNanoseconds
        let list = pairs(x, theta: theta, skin: 0)
        let u: [Double], residual: Double, coordinates: [Int], rattler: [Bool]
        var jacobian: JacobianSummary? = nil
        var assembly = 0.0
        switch hessian {
        case .hand:
            let start = DispatchTime.now().uptimeNanoseconds
            let system = try reducedHessian(x, theta: theta, pairs: list)
            assembly = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            let b = conditionThetaDerivative(x, theta: theta, pairs: list, rattler: system.rattler)
            let rhs = system.coordinates.map { -b[$0] }
            u = try strategy.solve(system.matrix, rhs)
            let hu = try system.matrix.multiply(u)
            residual = Vector.norm(zip(hu, rhs).map { $0 - $1 }) / max(Vector.norm(rhs), 1e-300)
            (coordinates, rattler) = (system.coordinates, system.rattler)
        case .automatic:
            let reduced = try reduction(x, theta: theta, pairs: list)
            (coordinates, rattler) = (reduced.coordinates, reduced.rattler)
            let (condition, sigma, slopes) = try automaticCondition(x, theta: theta, pairs: list, coordinates: coordinates, rattler: rattler)
            let start = DifferentiableVector(coordinates.map { x[$0] })
            let solution = RootSolution<DifferentiableVector>(condition: condition, positiveDefiniteJacobian: true, strategy: strategy,
                                                              dimension: coordinates.count, jacobian: .automaticSparse, solver: { _ in start })
            // dx/dθ = (dx/dσ)·(dσ/dθ): forward mode along `slopes`, with ∂F/∂σ assembled
            // automatically (exact; a difference in θ would cross contacts that open), once: the
            // same product serves the sensitivity and its residual.
            guard let dFdSigma = try solution.sparseJacobian?.hyperparameterMatrix(start, sigma) else {
                throw SparseError.invalidArgument("the automatic ∂F/∂σ needed more than \(SparseJacobian<DifferentiableVector>.hyperparameterColorLimit) colors")
            }
            let thetaProduct = try dFdSigma.multiply(slopes.scalars)
            let result = try solution.sensitivity(at: sigma, direction: slopes, thetaProduct: { _, _, _ in thetaProduct })
            u = result.tangent
            jacobian = solution.jacobianSummary
            assembly = jacobian?.evaluationSeconds ?? 0
            // The solve's residual: H u by one pullback of F (H is symmetric).
            let (_, pullback) = valueWithPullback(at: start, sigma, of: condition)
            let hu = pullback(DifferentiableVector(u)).0.dense(count: coordinates.count)
            let rhs = thetaProduct.map { -$0 }
            residual = Vector.norm(zip(hu, rhs).map { $0 - $1 }) / max(Vector.norm(rhs), 1e-300)
        }
        var derivative = [Double](repeating: 0, count: 2 * count)
        for (k, c) in coordinates.enumerated() { derivative[c] = u[k] }
        let kept = (0..<count).filter { !rattler[$0] }
        let meanX = kept.map { derivative[2 * $0] }.reduce(0, +) / Double(kept.count)
        let meanY = kept.map { derivative[2 * $0 + 1] }.reduce(0, +) / Double(kept.count)
        for i in kept { derivative[2 * i] -= meanX; derivative[2 * i + 1] -= meanY }
        return Sensitivity(derivative: derivative, rattlers: count - kept.count, contacts: list.count, report: strategy.lastReport,
                           residual: residual, seconds: Double(DispatchTime.now().uptimeNanoseconds - begin) * 1e-9,
                           hessian: hessian, jacobian: jacobian, assemblySeconds: assembly)
    }

    /// Central finite difference of the minimizer in θ: minimize at θ ± h from x* (Newton
    /// converges to the neighbouring minimum when the contact network does not change), the
    /// displacement by minimum image, mean-free over the non-rattlers of x*.
    /// - Returns: the difference and whether the contact set changed between the two sides
    ///   (then the minimizer is not smooth in θ there and the comparison is not meaningful).
    public func finiteDifference(at x: [Double], theta: Double, step h: Double = 1e-6) throws
        -> (derivative: [Double], contactsChanged: Bool) {
        let plus = try minimize(from: x, theta: theta + h, tolerance: 1e-13, fireTolerance: 1e-9).positions
        let minus = try minimize(from: x, theta: theta - h, tolerance: 1e-13, fireTolerance: 1e-9).positions
        func contactSet(_ p: [Double], _ t: Double) -> Set<Int> {
            Set(pairs(p, theta: t, skin: 0).map { Int($0.0) * count + Int($0.1) })
        }
        let changed = contactSet(plus, theta + h) != contactSet(minus, theta - h)
        let rattler = rattlers(x, theta: theta, pairs: pairs(x, theta: theta, skin: 0))
        var derivative = (0..<(2 * count)).map { minimumImage(plus[$0] - minus[$0]) / (2 * h) }
        let kept = (0..<count).filter { !rattler[$0] }
        let meanX = kept.map { derivative[2 * $0] }.reduce(0, +) / Double(kept.count)
        let meanY = kept.map { derivative[2 * $0 + 1] }.reduce(0, +) / Double(kept.count)
        for i in 0..<count {
            if rattler[i] { derivative[2 * i] = 0; derivative[2 * i + 1] = 0 }
            else { derivative[2 * i] -= meanX; derivative[2 * i + 1] -= meanY }
        }
        return (derivative, changed)
    }
}
