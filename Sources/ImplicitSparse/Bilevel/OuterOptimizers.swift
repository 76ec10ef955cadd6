import Foundation

/// The outer loop of bilevel tuning: minimize a criterion C(θ) of hyperparameters on a log
/// scale, inside bounds, from its value and hypergradient. Three optimizers share one
/// interface: `GradientDescent` (Armijo backtracking along the projected path), `Adam`, and
/// `BoundedLBFGS` (limited-memory BFGS on the free variables with a projected backtracking
/// search). Each stops on the iteration count, on the projected-gradient norm, or on a
/// relative decrease below `OuterOptions.relativeDecrease`; the progress callback sees every
/// accepted step and can stop the run (returning false). The best point seen is returned —
/// a criterion on a regularization path is only piecewise smooth, so a step may be worse.
public typealias TuningObjective = ([Double]) throws -> (value: Double, gradient: [Double])

/// Box bounds on the (log-scale) hyperparameters.
public struct TuningBounds: Sendable {
    public var lower: [Double]
    public var upper: [Double]
    public init(lower: [Double], upper: [Double]) {
        self.lower = lower
        self.upper = upper
    }
    /// No bounds on `count` hyperparameters.
    public static func unbounded(_ count: Int) -> TuningBounds {
        TuningBounds(lower: [Double](repeating: -.infinity, count: count), upper: [Double](repeating: .infinity, count: count))
    }
    func project(_ x: [Double]) -> [Double] { x.indices.map { min(max(x[$0], lower[$0]), upper[$0]) } }
    /// ‖P(x − g) − x‖∞: zero exactly at a stationary point of the bounded problem.
    func projectedGradientNorm(_ x: [Double], _ g: [Double]) -> Double {
        x.indices.reduce(0) { max($0, abs(min(max(x[$1] - g[$1], lower[$1]), upper[$1]) - x[$1])) }
    }
}

public struct OuterOptions: Sendable {
    public var maxIterations = 30
    /// Stop when an accepted step lowers the criterion by less than this fraction of it.
    public var relativeDecrease = 1e-6
    /// Stop when ‖P(θ − ∇C) − θ‖∞ is below this.
    public var projectedGradientTolerance = 1e-8
    /// The largest first trial step of a line search, in log units per coordinate (e² ≈ 7.4×
    /// in λ): a criterion on a regularization path is flat far out and kinked near the data's
    /// scale, and a quasi-Newton step from two distant points can overshoot by decades.
    public var maxMove = 2.0
    public init(maxIterations: Int = 30) { self.maxIterations = maxIterations }
}

/// One accepted outer iteration.
public struct OuterStep: Sendable {
    public var iteration: Int
    /// θ (log scale).
    public var point: [Double]
    public var value: Double
    public var gradient: [Double]
    public var projectedGradientNorm: Double
    /// Criterion evaluations so far (line-search trials included).
    public var evaluations: Int
}

public struct OuterResult: Sendable {
    public var best: [Double]
    public var bestValue: Double
    /// Iteration 0 is the start.
    public var trajectory: [OuterStep]
    public var evaluations: Int
    public var stopReason: String
}

public protocol OuterOptimizer {
    var name: String { get }
    func minimize(_ criterion: @escaping TuningObjective, from start: [Double], bounds: TuningBounds, options: OuterOptions,
                  progress: ((OuterStep) -> Bool)?) throws -> OuterResult
}

/// Shared bookkeeping of the optimizers: evaluations, the trajectory, the best point, stops.
struct OuterRun {
    let criterion: TuningObjective
    let bounds: TuningBounds
    let options: OuterOptions
    let progress: ((OuterStep) -> Bool)?
    var evaluations = 0
    var trajectory: [OuterStep] = []
    var best: (point: [Double], value: Double) = ([], .infinity)
    /// Why line-search trials could not be evaluated (their errors), in order.
    var rejectedTrials: [String] = []

    init(_ criterion: @escaping TuningObjective, bounds: TuningBounds, options: OuterOptions, progress: ((OuterStep) -> Bool)?,
         dimension: Int) throws {
        guard bounds.lower.count == dimension, bounds.upper.count == dimension,
              zip(bounds.lower, bounds.upper).allSatisfy({ $0 <= $1 && !$0.isNaN && !$1.isNaN }) else {
            throw SparseError.invalidArgument("tuning bounds: \(dimension) lower ≤ upper pairs expected")
        }
        guard options.maxIterations >= 0 else { throw SparseError.invalidArgument("maxIterations must be ≥ 0") }
        self.criterion = criterion
        self.bounds = bounds
        self.options = options
        self.progress = progress
    }

    mutating func evaluate(_ x: [Double]) throws -> (value: Double, gradient: [Double]) {
        evaluations += 1
        let (value, gradient) = try criterion(x)
        guard gradient.count == x.count else {
            throw SparseError.dimensionMismatch(operation: "tuning criterion", expected: "a gradient of length \(x.count)", actual: "length \(gradient.count)")
        }
        guard value.isFinite, gradient.allSatisfy(\.isFinite) else {
            throw SparseError.nonFinite(what: "the tuning criterion or its hypergradient", index: gradient.firstIndex { !$0.isFinite } ?? 0)
        }
        if value < best.value { best = (x, value) }
        return (value, gradient)
    }

    /// Records an accepted point; false when the callback asks to stop.
    mutating func accept(_ x: [Double], _ value: Double, _ gradient: [Double]) -> Bool {
        let step = OuterStep(iteration: trajectory.count, point: x, value: value, gradient: gradient,
                             projectedGradientNorm: bounds.projectedGradientNorm(x, gradient), evaluations: evaluations)
        trajectory.append(step)
        return progress?(step) ?? true
    }

    /// The stop reason after an accepted step from `previous`, or nil to go on.
    func stop(previous: Double, current: Double, gradient: [Double], at x: [Double]) -> String? {
        if bounds.projectedGradientNorm(x, gradient) <= options.projectedGradientTolerance { return "projected gradient below tolerance" }
        if previous - current <= options.relativeDecrease * max(abs(current), 1e-300) && current <= previous {
            return "relative decrease below \(options.relativeDecrease)"
        }
        if trajectory.count > options.maxIterations { return "\(options.maxIterations) iterations" }
        return nil
    }

    /// Evaluates and records the projected start; nil when the callback stops the run.
    mutating func begin(_ start: [Double]) throws -> (x: [Double], f: Double, g: [Double])? {
        let x = bounds.project(start)
        let (f, g) = try evaluate(x)
        return accept(x, f, g) ? (x, f, g) : nil
    }

    enum SearchOutcome {
        case accepted(t: Double, x: [Double], f: Double, g: [Double])
        /// The projected path gives no first-order decrease (at a bound).
        case noDescent
        /// No Armijo decrease within the halvings.
        case failed
    }

    /// Backtracking along the projected path P(x + t d) from t = t₀, halving t until
    /// C(trial) ≤ C(x) + c∇Cᵀ(trial − x).
    mutating func backtrack(_ x: [Double], _ f: Double, _ g: [Double], direction d: [Double], from t0: Double,
                            armijo: Double, maxHalvings: Int) throws -> SearchOutcome {
        let largest = d.map(abs).max() ?? 0
        var t = largest * t0 > options.maxMove ? options.maxMove / largest : t0
        for _ in 0...maxHalvings {
            let trial = bounds.project(x.indices.map { x[$0] + t * d[$0] })
            let decrease = x.indices.reduce(0.0) { $0 + g[$1] * (trial[$1] - x[$1]) }
            if decrease >= 0 { return .noDescent }
            // A trial the criterion cannot evaluate (an inner solve or adjoint that fails far
            // out on the path, e.g. a near-separable logistic fit) is rejected like a rise: the
            // step shrinks toward the accepted point, which was evaluated.
            let ft: Double, gt: [Double]
            do {
                (ft, gt) = try evaluate(trial)
            } catch {
                rejectedTrials.append("\(error)")
                t /= 2
                continue
            }
            if ft <= f + armijo * decrease { return .accepted(t: t, x: trial, f: ft, g: gt) }
            t /= 2
        }
        return .failed
    }

    static let noDecrease = "the line search found no decrease (a kink or the accuracy of the hypergradient)"

    func result(_ reason: String) -> OuterResult {
        let failures = rejectedTrials.isEmpty ? "" : " (\(rejectedTrials.count) line-search trial(s) could not be evaluated, last: \(rejectedTrials.last!))"
        return OuterResult(best: best.point, bestValue: best.value, trajectory: trajectory, evaluations: evaluations, stopReason: reason + failures)
    }
}

/// Projected gradient descent with Armijo backtracking: θ⁺ = P(θ − t∇C), accepted when
/// C(θ⁺) ≤ C(θ) + c∇Cᵀ(θ⁺ − θ), t halved otherwise (at most `maxHalvings` times) and doubled
/// after an acceptance. The first t moves the largest coordinate by `initialMove` (log units).
public struct GradientDescent: OuterOptimizer {
    public var initialMove = 1.0
    public var armijo = 1e-4
    public var maxHalvings = 30
    public var name: String { "gd" }
    public init() {}

    public func minimize(_ criterion: @escaping TuningObjective, from start: [Double], bounds: TuningBounds, options: OuterOptions,
                         progress: ((OuterStep) -> Bool)?) throws -> OuterResult {
        var run = try OuterRun(criterion, bounds: bounds, options: options, progress: progress, dimension: start.count)
        guard var (x, f, g) = try run.begin(start) else { return run.result("stopped by the callback") }
        var t = initialMove / max(g.map(abs).max() ?? 0, 1e-300)
        while true {
            switch try run.backtrack(x, f, g, direction: g.map { -$0 }, from: t, armijo: armijo, maxHalvings: maxHalvings) {
            case .noDescent: return run.result("the projected step vanishes (at a bound)")
            case .failed: return run.result(OuterRun.noDecrease)
            case let .accepted(accepted, trial, ft, gt):
                let previous = f
                (x, f, g) = (trial, ft, gt)
                guard run.accept(x, f, g) else { return run.result("stopped by the callback") }
                if let reason = run.stop(previous: previous, current: f, gradient: g, at: x) { return run.result(reason) }
                t = 2 * accepted
            }
        }
    }
}

/// Adam (Kingma & Ba, 2015) on the log-scale hyperparameters, projected on the bounds: one
/// criterion evaluation per iteration, no line search; the best point seen is the answer.
public struct Adam: OuterOptimizer {
    public var learningRate = 0.3
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    public var name: String { "adam" }
    public init(learningRate: Double = 0.3) { self.learningRate = learningRate }

    public func minimize(_ criterion: @escaping TuningObjective, from start: [Double], bounds: TuningBounds, options: OuterOptions,
                         progress: ((OuterStep) -> Bool)?) throws -> OuterResult {
        var run = try OuterRun(criterion, bounds: bounds, options: options, progress: progress, dimension: start.count)
        guard var (x, f, g) = try run.begin(start) else { return run.result("stopped by the callback") }
        var m = [Double](repeating: 0, count: x.count), v = m
        var k = 0
        while true {
            k += 1
            for i in x.indices {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                let mHat = m[i] / (1 - Foundation.pow(beta1, Double(k))), vHat = v[i] / (1 - Foundation.pow(beta2, Double(k)))
                x[i] -= max(-options.maxMove, min(learningRate * mHat / (vHat.squareRoot() + epsilon), options.maxMove))
            }
            x = bounds.project(x)
            let previous = f
            (f, g) = try run.evaluate(x)
            guard run.accept(x, f, g) else { return run.result("stopped by the callback") }
            if bounds.projectedGradientNorm(x, g) <= options.projectedGradientTolerance { return run.result("projected gradient below tolerance") }
            if run.trajectory.count > options.maxIterations { return run.result("\(options.maxIterations) iterations") }
            // Adam's steps are not monotone: stop on a small change only once it settles.
            if abs(previous - f) <= options.relativeDecrease * max(abs(f), 1e-300) && k > 5 {
                return run.result("relative change below \(options.relativeDecrease)")
            }
        }
    }
}

/// Limited-memory BFGS with bounds, in the projected form: variables at a bound whose
/// gradient points outward are held fixed, the two-loop recursion (memory `memory`) gives the
/// direction on the others, and a backtracking search along the projected path P(θ + t d)
/// accepts the Armijo decrease. This is not Byrd–Lu–Nocedal's L-BFGS-B (no generalized
/// Cauchy point), which it matches on problems whose bounds are inactive at the optimum and
/// approaches from inside otherwise; pairs with sᵀy ≤ 10⁻¹⁰‖s‖‖y‖ are skipped.
public struct BoundedLBFGS: OuterOptimizer {
    public var memory = 10
    public var armijo = 1e-4
    public var maxHalvings = 30
    public var initialMove = 1.0
    public var name: String { "lbfgs" }
    public init() {}

    public func minimize(_ criterion: @escaping TuningObjective, from start: [Double], bounds: TuningBounds, options: OuterOptions,
                         progress: ((OuterStep) -> Bool)?) throws -> OuterResult {
        var run = try OuterRun(criterion, bounds: bounds, options: options, progress: progress, dimension: start.count)
        guard var (x, f, g) = try run.begin(start) else { return run.result("stopped by the callback") }
        var pairs: [(s: [Double], y: [Double], rho: Double)] = []
        let n = x.count
        while true {
            // Free variables: not at a bound with the gradient pushing out of the box.
            let free = (0..<n).map { i in !((x[i] <= bounds.lower[i] && g[i] > 0) || (x[i] >= bounds.upper[i] && g[i] < 0)) }
            var q = (0..<n).map { free[$0] ? g[$0] : 0 }
            var alphas: [Double] = []
            for pair in pairs.reversed() {
                let a = pair.rho * zip(pair.s, q).reduce(0) { $0 + $1.0 * $1.1 }
                alphas.append(a)
                for i in 0..<n where free[i] { q[i] -= a * pair.y[i] }
            }
            var scale = 1 / max(g.map(abs).max() ?? 0, 1e-300) * initialMove
            if let last = pairs.last {
                scale = zip(last.s, last.y).reduce(0) { $0 + $1.0 * $1.1 } / last.y.reduce(0) { $0 + $1 * $1 }
            }
            for i in 0..<n { q[i] *= scale }
            for (pair, a) in zip(pairs, alphas.reversed()) {
                let b = pair.rho * zip(pair.y, q).reduce(0) { $0 + $1.0 * $1.1 }
                for i in 0..<n where free[i] { q[i] += (a - b) * pair.s[i] }
            }
            var d = (0..<n).map { free[$0] ? -q[$0] : 0 }
            if zip(d, g).reduce(0, { $0 + $1.0 * $1.1 }) >= 0 {
                pairs.removeAll()
                let t0 = initialMove / max(g.map(abs).max() ?? 0, 1e-300)
                d = (0..<n).map { free[$0] ? -t0 * g[$0] : 0 }
            }
            switch try run.backtrack(x, f, g, direction: d, from: 1, armijo: armijo, maxHalvings: maxHalvings) {
            case .noDescent: return run.result("no descent direction within the bounds")
            case .failed: return run.result(OuterRun.noDecrease)
            case let .accepted(_, trial, ft, gt):
                let sv = (0..<n).map { trial[$0] - x[$0] }, yv = (0..<n).map { gt[$0] - g[$0] }
                let sy = zip(sv, yv).reduce(0) { $0 + $1.0 * $1.1 }
                if sy > 1e-10 * Vector.norm(sv) * Vector.norm(yv) {
                    pairs.append((sv, yv, 1 / sy))
                    if pairs.count > memory { pairs.removeFirst() }
                }
                let previous = f
                (x, f, g) = (trial, ft, gt)
                guard run.accept(x, f, g) else { return run.result("stopped by the callback") }
                if let reason = run.stop(previous: previous, current: f, gradient: g, at: x) { return run.result(reason) }
            }
        }
    }
}
