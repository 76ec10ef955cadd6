import Dispatch
import Foundation
import Sparse

/// Newton's method for smooth, twice-differentiable problems with a sparse Hessian factorized
/// by CHOLMOD: the symbolic analysis is done once (the Hessian's pattern does not change
/// between iterations) and each iteration refactorizes the new values. A Hessian that is not
/// positive definite at some iterate is shifted (H + τI, τ grown tenfold until CHOLMOD
/// succeeds: a Levenberg–Marquardt safeguard), and a backtracking (Armijo) line search makes
/// every step decrease f. The certificate is ‖∇f(x)‖∞.
///
/// Memory: the Hessian's factor (CHOLMOD's predicted size, checked against `memoryBudget`)
/// plus O(p) vectors.
public struct NewtonSolver {
    public struct Options: Sendable {
        public var maxIterations = 50
        /// Stop when ‖∇f‖∞ ≤ tolerance · max(1, ‖∇f(x₀)‖∞).
        public var tolerance = 1e-10
        public var armijo = 1e-4
        public var maxBacktracks = 40
        /// Largest predicted factor (bytes); default a quarter of physical memory.
        public var memoryBudget: Int? = nil
        public init() {}
    }

    /// The Hessian at x: an explicit symmetric matrix (both triangles, fixed pattern), or a Gram
    /// form XᵀX + βI given by X in CSR order (fixed pattern; CHOLMOD's factorize_p on Xᵀ, XᵀX
    /// never formed) — e.g. XᵀDX/n + λI for a generalized linear model with rows of X scaled
    /// by √(Dᵢ/n).
    public enum Hessian {
        case explicit(CSRMatrix)
        case gram(CSRMatrix, shift: Double)
    }

    public struct Result: Sendable {
        public var solution: [Double]
        public var iterations: Int
        public var converged: Bool
        /// ‖∇f‖∞ at the solution.
        public var gradientNorm: Double
        /// Numeric factorizations done (one analysis in all).
        public var factorizations: Int
        /// The largest shift τ the safeguard needed (0 when every Hessian was positive definite).
        public var largestShift: Double
        public var seconds: Double
    }

    public var options: Options
    public init(options: Options = Options()) { self.options = options }

    /// Minimizes f from x₀.
    /// - Throws: typed errors for shapes and non-finite values, CHOLMOD's (`factorTooLarge`,
    ///   `outOfMemory`), `.patternMismatch` when the Hessian's pattern changes, and
    ///   `.invalidArgument` when no shift makes the Hessian factorizable.
    public func minimize(from x0: [Double],
                         objective: ([Double]) -> Double,
                         gradient: ([Double]) -> [Double],
                         hessian: ([Double]) throws -> Hessian) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let p = x0.count
        if let bad = x0.firstIndex(where: { !$0.isFinite }) { throw SparseError.nonFinite(what: "x₀", index: bad) }
        var x = x0
        var f = objective(x)
        var g = gradient(x)
        guard g.count == p else {
            throw SparseError.dimensionMismatch(operation: "NewtonSolver", expected: "a gradient of length \(p)", actual: "\(g.count)")
        }
        guard f.isFinite else { throw SparseError.nonFinite(what: "f(x₀)", index: 0) }
        let threshold = options.tolerance * max(1, g.map(abs).max() ?? 0)
        var factor: CholeskyFactorization?
        var pattern: (pointers: [Int], indices: [Int32])?
        var factorizations = 0, iterations = 0
        var largestShift = 0.0
        var gradientNorm = g.map(abs).max() ?? 0
        while gradientNorm > threshold && iterations < options.maxIterations {
            iterations += 1
            let h = try hessian(x)
            let (matrix, baseShift): (CSRMatrix, Double)
            let isGram: Bool
            switch h {
            case .explicit(let m): (matrix, baseShift, isGram) = (m, 0, false)
            case .gram(let m, let shift): (matrix, baseShift, isGram) = (m, shift, true)
            }
            guard isGram ? matrix.columns == p : (matrix.rows == p && matrix.columns == p) else {
                throw SparseError.dimensionMismatch(operation: "NewtonSolver", expected: "a Hessian of order \(p)",
                                                    actual: "\(matrix.rows) × \(matrix.columns)")
            }
            if factor == nil {
                var symmetric = matrix
                symmetric = symmetric.declaringSymmetric()
                factor = try isGram ? CholeskyFactorization(gramOf: matrix, memoryBudget: options.memoryBudget)
                                    : CholeskyFactorization(symmetric: symmetric, memoryBudget: options.memoryBudget)
                pattern = (matrix.rowPointers, matrix.columnIndices)
            } else if pattern!.pointers != matrix.rowPointers || pattern!.indices != matrix.columnIndices {
                throw SparseError.patternMismatch("NewtonSolver: the Hessian's pattern changed between iterations")
            }
            // Factorize H + τI, growing τ from 0 until CHOLMOD succeeds.
            var tau = 0.0
            let scaleOfH = max(abs(baseShift), 1e-8 * max(1, gradientNorm))
            while true {
                do {
                    try factor!.refactor(values: matrix.values, shift: baseShift + tau)
                    factorizations += 1
                    break
                } catch SparseError.notPositiveDefinite {
                    factorizations += 1
                    tau = tau == 0 ? scaleOfH : 10 * tau
                    guard tau.isFinite, tau < 1e30 else {
                        throw SparseError.invalidArgument("NewtonSolver: no shift makes the Hessian positive definite at iteration \(iterations)")
                    }
                }
            }
            largestShift = max(largestShift, tau)
            let direction = try factor!.solve(g).map { -$0 }
            let slope = Vector.dot(g, direction)
            // Backtracking line search (Armijo).
            var step = 1.0
            var accepted = false
            for _ in 0..<options.maxBacktracks {
                let trial = zip(x, direction).map { $0 + step * $1 }
                let fTrial = objective(trial)
                if fTrial.isFinite && fTrial <= f + options.armijo * step * slope {
                    x = trial
                    f = fTrial
                    accepted = true
                    break
                }
                step *= 0.5
            }
            g = gradient(x)
            gradientNorm = g.map(abs).max() ?? 0
            if !accepted { break }  // no decrease possible at this precision
        }
        return Result(solution: x, iterations: iterations, converged: gradientNorm <= threshold, gradientNorm: gradientNorm,
                      factorizations: factorizations, largestShift: largestShift,
                      seconds: Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
}
