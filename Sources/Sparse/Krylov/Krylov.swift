import Dispatch

/// How a Krylov run ended.
public enum KrylovStatus: String, Sendable, Equatable {
    /// The residual met the tolerance (confirmed with a true residual b − Ax).
    case converged
    /// `maxIterations` ran out first.
    case maximumIterations
    /// A division by zero loomed (a zero or negative curvature, a lost Krylov basis): the
    /// iterate returned is the last finite one, never NaN.
    case breakdown
    /// Iterations stopped improving the iterate: the step no longer moves x, or the true
    /// residual stopped decreasing at the system's rounding floor above the tolerance (the
    /// best iterate is returned with its true residual, `KrylovResult.relativeResidual`).
    case stagnation
}

/// Options shared by every Krylov method (a value type, as in Apple's Sparse Solvers API).
public struct KrylovOptions: Sendable {
    /// Stop when ‖b − Ax‖ ≤ max(rtol·‖b‖, atol).
    public var relativeTolerance: Double
    public var absoluteTolerance: Double
    /// Defaults to max(1000, 10·n) when nil.
    public var maxIterations: Int?
    /// Keep the residual norm of every iteration in the result.
    public var recordHistory: Bool
    /// True-residual checks without a tenfold gain, once the recursive residual has reached
    /// the tolerance, after which a method stops with `.stagnation` at its attainable
    /// accuracy (CG; default 3).
    public var floorChecks = 3

    public init(relativeTolerance: Double = 1e-8, absoluteTolerance: Double = 0, maxIterations: Int? = nil,
                recordHistory: Bool = false) {
        self.relativeTolerance = relativeTolerance
        self.absoluteTolerance = absoluteTolerance
        self.maxIterations = maxIterations
        self.recordHistory = recordHistory
    }

    /// The largest true relative residual ‖b − Ax‖/‖b‖ an answer may have and still be
    /// reported as solved, whatever method produced it: max(10⁴·rtol, 10⁻⁶). Direct methods on
    /// a singular matrix, normal-equations CG on an inconsistent system, or an overflow give
    /// answers far above it (or non-finite), which every solve in the toolkit then refuses.
    public var acceptableTrueResidual: Double { max(1e4 * relativeTolerance, 1e-6) }

    func validate(n: Int) throws -> (tolerance: (Double) -> Double, maxIterations: Int) {
        guard relativeTolerance.isFinite, relativeTolerance >= 0, absoluteTolerance.isFinite, absoluteTolerance >= 0 else {
            throw SparseError.invalidArgument("tolerances must be finite and nonnegative")
        }
        if let maxIterations, maxIterations < 0 {
            throw SparseError.invalidArgument("maxIterations must be nonnegative, got \(maxIterations)")
        }
        let rtol = relativeTolerance, atol = absoluteTolerance
        return ({ bnorm in max(rtol * bnorm, atol) }, maxIterations ?? max(1000, 10 * n))
    }
}

/// The outcome of a Krylov run: the iterate and how good it is.
public struct KrylovResult: Sendable {
    public var solution: [Double]
    public var status: KrylovStatus
    public var iterations: Int
    /// ‖b − Ax‖ / ‖b‖ computed from a true product at the end (‖b − Ax‖ when b = 0).
    public var relativeResidual: Double
    /// For least-squares methods: ‖Aᵀ(b − Ax)‖ / (‖A‖·‖b − Ax‖), the optimality measure.
    public var normalEquationResidual: Double?
    /// Residual norms per iteration (the method's own estimate), when requested.
    public var residualHistory: [Double]?
    public var seconds: Double

    public init(solution: [Double], status: KrylovStatus, iterations: Int, relativeResidual: Double,
                normalEquationResidual: Double? = nil, residualHistory: [Double]? = nil, seconds: Double) {
        self.solution = solution
        self.status = status
        self.iterations = iterations
        self.relativeResidual = relativeResidual
        self.normalEquationResidual = normalEquationResidual
        self.residualHistory = residualHistory
        self.seconds = seconds
    }
}

/// Common checks and helpers for the Krylov methods.
enum KrylovSupport {
    static func checkSystem(_ method: String, _ a: some LinearOperator, _ b: [Double], _ x0: [Double]?,
                            square: Bool = true) throws {
        if square && a.rows != a.columns {
            throw SparseError.dimensionMismatch(operation: method, expected: "a square operator",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        try checkLength(method, "right-hand side", expected: a.localRows, actual: b.count)
        try checkFinite(b, "right-hand side")
        if let x0 {
            try checkLength(method, "initial guess", expected: a.localColumns, actual: x0.count)
            try checkFinite(x0, "initial guess")
        }
    }

    static func checkPreconditioner(_ method: String, _ m: (any LinearOperator)?, n: Int, symmetric: Bool) throws {
        guard let m else { return }
        guard m.rows == n, m.columns == n else {
            throw SparseError.dimensionMismatch(operation: method, expected: "a \(n) × \(n) preconditioner",
                                                actual: "\(m.rows) × \(m.columns)")
        }
        if symmetric && !m.isSymmetric {
            throw SparseError.invalidArgument("\(method) needs a symmetric preconditioner")
        }
    }

    /// r = b − Ax; returns ‖r‖ (over every process for a distributed operator).
    static func residual(_ a: some LinearOperator, _ x: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>,
                         into r: UnsafeMutableBufferPointer<Double>) -> Double {
        a.apply(x, into: r, transposed: false, accumulate: false)
        for i in 0..<r.count { r[i] = b[i] - r[i] }
        return a.effectiveVectorSpace.norm(UnsafeBufferPointer(r))
    }

    /// Refuses a distributed operator for a method that does not reduce its sums (LSQR,
    /// normal-equations CG on a rectangular operator).
    static func checkNotDistributed(_ method: String, _ a: some LinearOperator) throws {
        if a.vectorSpace?.isDistributed == true {
            throw SparseError.invalidArgument("\(method) does not run on an operator distributed over processes; use CG, MINRES, GMRES or BiCGSTAB")
        }
    }

    /// ‖b − Ax‖/‖b‖ for the final report.
    static func relativeResidual(_ a: some LinearOperator, _ x: [Double], _ b: [Double]) -> Double {
        a.relativeResidual(x, b)
    }

    /// z = M⁻¹r, or z = r without a preconditioner.
    @inline(__always)
    static func precondition(_ m: (any LinearOperator)?, _ r: UnsafeBufferPointer<Double>,
                             into z: UnsafeMutableBufferPointer<Double>) {
        if let m {
            m.apply(r, into: z, transposed: false, accumulate: false)
        } else {
            Vector.copy(r, z)
        }
    }

    /// A system with no rows or no columns: nothing to solve (x = 0 of the right length).
    static func emptySystem(columns: Int, start: UInt64) -> KrylovResult {
        KrylovResult(solution: [Double](repeating: 0, count: columns), status: .converged, iterations: 0,
                     relativeResidual: 0, seconds: seconds(since: start))
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }
}

/// The best iterate of a run below its attainable accuracy: `record` takes a true residual
/// and the iterate, keeps the best, and says when `checks` checks in a row brought no tenfold
/// gain over the best (the run is at its rounding floor).
struct AttainableAccuracy {
    let checks: Int
    private(set) var best: ([Double], Double)?
    private(set) var lastNorm = Double.infinity
    private var withoutGain = 0

    init(checks: Int) { self.checks = max(checks, 1) }

    mutating func record(_ trueNorm: Double, _ x: UnsafeBufferPointer<Double>) -> Bool {
        lastNorm = trueNorm
        guard trueNorm.isFinite else { withoutGain += 1; return withoutGain >= checks }
        if let (_, bestNorm) = best {
            if trueNorm < 0.1 * bestNorm { withoutGain = 0 } else { withoutGain += 1 }
            if trueNorm < bestNorm { best = (Array(x), trueNorm) }
        } else {
            best = (Array(x), trueNorm)
        }
        return withoutGain >= checks
    }
}

/// Zero-initialized scratch vectors owned by one Krylov run, freed together.
final class KrylovScratch {
    private var buffers: [UnsafeMutableBufferPointer<Double>] = []
    func vector(_ n: Int) -> UnsafeMutableBufferPointer<Double> {
        let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(n, 1))
        b.initialize(repeating: 0)
        let v = UnsafeMutableBufferPointer(rebasing: b[0..<n])
        buffers.append(b)
        return v
    }
    func vector(copying array: [Double]) -> UnsafeMutableBufferPointer<Double> {
        let v = vector(array.count)
        for i in 0..<array.count { v[i] = array[i] }
        return v
    }
    deinit { for b in buffers { b.deallocate() } }
}

extension UnsafeMutableBufferPointer where Element == Double {
    @inline(__always) var readOnly: UnsafeBufferPointer<Double> { UnsafeBufferPointer(self) }
}
