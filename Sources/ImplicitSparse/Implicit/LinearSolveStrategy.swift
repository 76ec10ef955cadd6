import Dispatch
import Foundation
import Preconditioners
import Sparse

/// How the implicit layer solves with ∂F/∂x (or its transpose): a sparse direct factorization
/// when an explicit matrix exists and its predicted factor fits the memory budget, else a
/// preconditioned Krylov method (DESIGN.md, "Linear-solve strategy").
public enum LinearSolver: String, CaseIterable, Sendable {
    case automatic, cholesky, lu, cg, minres, gmres, bicgstab
    /// CG on the normal equations AᵀA u = Aᵀb (JAXopt's default; any square A). It needs
    /// products with A and Aᵀ: a matrix-free operator without the second throws
    /// `LinearSolveError.needsAdjointProduct`; `RootSolution` supplies ∂F/∂x by central
    /// differences of F in x when ∂F/∂x is not symmetric (reverse mode gives only (∂F/∂x)ᵀ).
    case normalCG = "normal-cg"
}

/// What a solve did: the method, why, and how good the answer is.
public struct LinearSolveReport: Sendable, CustomStringConvertible {
    public var method: LinearSolver
    public var reason: String
    /// ‖b − Au‖ / ‖b‖ from a true product (Aᵀ for transposed solves).
    public var relativeResidual: Double
    /// Krylov iterations (0 for direct solves).
    public var iterations: Int
    /// True when the first choice failed and a fallback produced the answer.
    public var fellBack: Bool
    /// True when a symbolic analysis or factor from an earlier call was reused.
    public var reused: Bool
    public var seconds: Double

    public var description: String {
        String(format: "%@ (%@), relative residual %.2e, %d iterations, %.3f s",
               method.rawValue, reason, relativeResidual, iterations, seconds)
    }
}

/// A linear-solve strategy that keeps what it can across calls: CHOLMOD and UMFPACK
/// analyses and factors for a pattern (refactorized when only the values change, reused as
/// they are when the values are the same), and the last solution as the Krylov warm start.
/// Outer loops change values far more often than patterns, so most calls skip the symbolic
/// analysis. Not safe for concurrent use.
public final class LinearSolveStrategy {
    public var solver: LinearSolver
    public var options: KrylovOptions
    /// Largest predicted factor a direct method may build (bytes); default a quarter of
    /// physical memory.
    public var memoryBudget: Int
    /// Use Jacobi preconditioning in Krylov methods when the operator has a diagonal.
    public var jacobi: Bool
    /// Gram operators XᵀX + βI with at most this many columns are formed densely
    /// (Σᵢ kᵢ² flops for kᵢ nonzeros in row i, 8·p² bytes) and factorized by LAPACK: below a
    /// thousand columns that beats CHOLMOD's symbolic analysis of AAᵀ, whose cost grows with
    /// the n rows of X. Default 1000.
    public var denseGramLimit = 1000
    /// In automatic mode, the largest predicted Cholesky factorization work (floating-point
    /// operations, from CHOLMOD's symbolic analysis) taken before a Krylov method is preferred:
    /// a factor that fits in memory can still take minutes (a support of 5·10⁴ power-law
    /// columns fills in almost densely). Default 5·10¹⁰ (seconds on a few cores). An explicit
    /// `.cholesky` ignores it.
    public var directFlopBudget = 5e10
    /// In automatic mode, a Gram operator with more than `denseGramLimit` columns is first
    /// given to Jacobi-preconditioned CG for at most this many iterations (warm-started); only
    /// if that does not converge is CHOLMOD's analysis run. CHOLMOD's symbolic analysis of a
    /// Gram matrix whose rows are long (text data) can itself take seconds, while a
    /// well-conditioned system (a ridge part) converges in a few iterations. Default 200;
    /// 0 goes straight to CHOLMOD.
    public var krylovFirstIterations = 200
    public private(set) var lastReport: LinearSolveReport?

    private var cholesky: (pointers: [Int], indices: [Int32], values: [Double], factor: CholeskyFactorization)?
    private var lu: (pointers: [Int], indices: [Int32], values: [Double], factor: LUFactorization)?
    private var warmStart: [Double]?
    private var gramCholesky: (pointers: [Int], indices: [Int32], values: [Double], shift: Double, factor: CholeskyFactorization)?
    private var denseGram: (pointers: [Int], indices: [Int32], values: [Double], shift: Double, factor: DenseFactorization)?

    public init(_ solver: LinearSolver = .automatic, options: KrylovOptions = KrylovOptions(relativeTolerance: 1e-10),
                memoryBudget: Int? = nil, jacobi: Bool = true) {
        self.solver = solver
        self.options = options
        self.memoryBudget = memoryBudget ?? Int(ProcessInfo.processInfo.physicalMemory / 4)
        self.jacobi = jacobi
    }

    /// Solves A u = b, or Aᵀ u = b when `transposed`.
    /// - Throws: the factorizations' and Krylov methods' typed errors when every applicable
    ///   method fails; `LinearSolveError.notConverged` when the Krylov method (and its
    ///   fallback) ends without meeting the tolerance.
    public func solve(_ a: some LinearOperator, _ b: [Double], transposed: Bool = false) throws -> [Double] {
        guard a.rows == a.columns else {
            throw SparseError.dimensionMismatch(operation: "LinearSolveStrategy.solve", expected: "a square operator",
                                                actual: "\(a.rows) × \(a.columns)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let (u, firstReport) = try dispatch(a, b, transposed: transposed)
        var report = firstReport
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        report.relativeResidual = a.relativeResidual(u, b, transposed: transposed)
        lastReport = report
        // A method may "converge" on its own terms and still miss the system (normal-equations
        // CG on a singular A, a direct solve swamped by rounding): check the true residual.
        let acceptable = max(1e4 * options.relativeTolerance, 1e-6)
        guard report.relativeResidual.isFinite, report.relativeResidual <= acceptable || b.allSatisfy({ $0 == 0 }) else {
            throw LinearSolveError.inaccurate(method: report.method, relativeResidual: report.relativeResidual, acceptable: acceptable)
        }
        warmStart = u
        return u
    }

    /// Records a report of a solve made on the strategy's behalf (a specialized path).
    func adopt(_ report: LinearSolveReport) { lastReport = report }

    private func dispatch(_ a: some LinearOperator, _ b: [Double], transposed: Bool) throws -> ([Double], LinearSolveReport) {
        // XᵀX + βI: CHOLMOD factorizes it from X itself (factorize_p on Xᵀ), never forming XᵀX.
        if let gram = a as? GramOperator, gram.weights == nil, solver == .cholesky || solver == .automatic {
            var reasonPrefix = ""
            if solver == .automatic && gram.columns > denseGramLimit && krylovFirstIterations > 0 {
                var capped = options
                capped.maxIterations = min(options.maxIterations ?? krylovFirstIterations, krylovFirstIterations)
                let guess = warmStart?.count == b.count ? warmStart : nil
                let result = try ConjugateGradient(options: capped).solve(
                    gram, b, preconditioner: gram.diagonal.flatMap { try? JacobiPreconditioner(diagonal: $0) }, initialGuess: guess)
                if result.status == .converged {
                    return (result.solution, LinearSolveReport(
                        method: .cg, reason: "Gram operator XᵀX + βI with \(gram.columns) columns: Jacobi-CG first, converged within \(krylovFirstIterations) iterations (no factorization needed)",
                        relativeResidual: .nan, iterations: result.iterations, fellBack: false, reused: guess != nil, seconds: 0))
                }
                reasonPrefix = "Jacobi-CG did not converge in \(capped.maxIterations ?? 0) iterations (\(result.status.rawValue)); "
            }
            do {
                return try solveGram(gram, b, reason: solver == .cholesky ? "requested" : reasonPrefix + "Gram operator XᵀX + βI")
            } catch SparseError.notPositiveDefinite(let column) where solver == .automatic {
                let reason = "Cholesky of XᵀX + βI found it singular (column \(column))"
                return try solveKrylov(.minres, a, b, transposed: transposed, reason: reason + ", MINRES", fellBack: true)
            } catch SparseError.factorTooLarge(let predicted, _) where solver == .automatic {
                return try solveKrylov(.cg, a, b, transposed: transposed,
                                       reason: "predicted Cholesky factor of \(predicted) bytes exceeds the budget", fellBack: false)
            } catch let tooExpensive as DirectTooExpensive {
                return try solveKrylov(.cg, a, b, transposed: transposed, reason: tooExpensive.reason, fellBack: false)
            }
        }
        switch solver {
        case .cholesky:
            guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix(.cholesky) }
            return try solveCholesky(m, b, reason: "requested", fellBack: false)
        case .lu:
            guard let m = a.explicitMatrix else { throw LinearSolveError.needsExplicitMatrix(.lu) }
            return try solveLU(m, b, transposed: transposed, reason: "requested", fellBack: false)
        case .cg, .minres, .gmres, .bicgstab, .normalCG:
            return try solveKrylov(solver, a, b, transposed: transposed, reason: "requested", fellBack: false)
        case .automatic:
            return try automatic(a, b, transposed: transposed)
        }
    }

    private func automatic(_ a: some LinearOperator, _ b: [Double], transposed: Bool) throws -> ([Double], LinearSolveReport) {
        let symmetric = a.isSymmetric
        if let m = a.explicitMatrix {
            if symmetric {
                do {
                    return try solveCholesky(m, b, reason: "explicit symmetric matrix, predicted factor within budget", fellBack: false)
                } catch SparseError.notPositiveDefinite(let column) {
                    let reason = "Cholesky found the matrix not positive definite (column \(column))"
                    if let result = try? solveLU(m, b, transposed: transposed, reason: reason + ", LU", fellBack: true) {
                        return result
                    }
                    return try solveKrylov(.minres, a, b, transposed: transposed, reason: reason + ", MINRES", fellBack: true)
                } catch SparseError.factorTooLarge(let predicted, _) {
                    return try solveKrylov(a.isPositiveDefinite ? .cg : .minres, a, b, transposed: transposed,
                                           reason: "predicted Cholesky factor of \(predicted) bytes exceeds the budget", fellBack: false)
                } catch let tooExpensive as DirectTooExpensive {
                    return try solveKrylov(a.isPositiveDefinite ? .cg : .minres, a, b, transposed: transposed,
                                           reason: tooExpensive.reason, fellBack: false)
                }
            }
            do {
                return try solveLU(m, b, transposed: transposed, reason: "explicit unsymmetric matrix, predicted LU factor within budget", fellBack: false)
            } catch SparseError.factorTooLarge(let predicted, _) {
                return try solveKrylov(.gmres, a, b, transposed: transposed,
                                       reason: "predicted LU factor of \(predicted) bytes exceeds the budget", fellBack: false)
            }
        }
        if symmetric {
            if a.isPositiveDefinite {
                return try solveKrylov(.cg, a, b, transposed: transposed, reason: "matrix-free, symmetric positive definite", fellBack: false)
            }
            return try solveKrylov(.minres, a, b, transposed: transposed, reason: "matrix-free, symmetric", fellBack: false)
        }
        return try solveKrylov(.gmres, a, b, transposed: transposed, reason: "matrix-free, unsymmetric", fellBack: false)
    }

    private func solveCholesky(_ m: CSRMatrix, _ b: [Double], reason: String, fellBack: Bool) throws -> ([Double], LinearSolveReport) {
        var reused = false
        if let cached = cholesky, cached.pointers == m.rowPointers, cached.indices == m.columnIndices {
            reused = true
            if cached.values != m.values {
                try cached.factor.refactor(values: m.values)
                cholesky?.values = m.values
            }
        } else {
            var symmetric = m
            symmetric.isKnownSymmetric = true
            let factor = try CholeskyFactorization(symmetric: symmetric, memoryBudget: memoryBudget)
            try checkWork(factor)
            try factor.factorize()
            cholesky = (m.rowPointers, m.columnIndices, m.values, factor)
        }
        let u = try cholesky!.factor.solve(b)
        return (u, LinearSolveReport(method: .cholesky, reason: reused ? reason + "; reused the analysis" : reason,
                                     relativeResidual: .nan, iterations: 0, fellBack: fellBack, reused: reused, seconds: 0))
    }

    /// Automatic mode only: refuse a factorization predicted to cost more than the budget.
    private func checkWork(_ factor: CholeskyFactorization) throws {
        if solver == .automatic && factor.predictedFlops > directFlopBudget {
            throw DirectTooExpensive(flops: factor.predictedFlops)
        }
    }

    private func solveGram(_ gram: GramOperator, _ b: [Double], reason: String) throws -> ([Double], LinearSolveReport) {
        if gram.columns <= denseGramLimit { return try solveDenseGram(gram, b, reason: reason) }
        // CHOLMOD's AAᵀ + βI with A = Xᵀ: the CSC arrays of Xᵀ are the CSR arrays of X.
        let x = gram.matrix
        var reused = false
        if let cached = gramCholesky, cached.pointers == x.columnPointers, cached.indices == x.rowIndices {
            reused = true
            if cached.values != x.values || cached.shift != gram.shift {
                // The outer-product form takes the values of A = Xᵀ in its CSC order: X's CSR values.
                try cached.factor.refactor(values: gram.rowMajor.values, shift: gram.shift)
                gramCholesky?.values = x.values
                gramCholesky?.shift = gram.shift
            }
        } else {
            let factor = try CholeskyFactorization(gramOf: gram.rowMajor, memoryBudget: memoryBudget)
            try checkWork(factor)
            try factor.factorize(shift: gram.shift)
            gramCholesky = (x.columnPointers, x.rowIndices, x.values, gram.shift, factor)
        }
        let u = try gramCholesky!.factor.solve(b)
        let text = reason + "; CHOLMOD factorize_p on Xᵀ (XᵀX not formed)" + (reused ? "; reused the analysis" : "")
        return (u, LinearSolveReport(method: .cholesky, reason: text, relativeResidual: .nan, iterations: 0,
                                     fellBack: false, reused: reused, seconds: 0))
    }

    private func solveDenseGram(_ gram: GramOperator, _ b: [Double], reason: String) throws -> ([Double], LinearSolveReport) {
        let x = gram.matrix
        let p = gram.columns
        var reused = false
        if let cached = denseGram, cached.pointers == x.columnPointers, cached.indices == x.rowIndices,
           cached.values == x.values, cached.shift == gram.shift {
            reused = true
        } else {
            // G = XᵀX + βI, column-major, from the rows of X: G[a, b] += x_ia x_ib.
            var g = [Double](repeating: 0, count: p * p)
            let r = gram.rowMajor
            let pointers = r.rowPointers, columns = r.columnIndices, values = r.values
            g.withUnsafeMutableBufferPointer { g in
                for i in 0..<r.rows {
                    let start = pointers[i], end = pointers[i + 1]
                    for k in start..<end {
                        let a = Int(columns[k]), va = values[k]
                        for l in start..<end { g[a * p + Int(columns[l])] += va * values[l] }
                    }
                }
                for j in 0..<p { g[j * p + j] += gram.shift }
            }
            // LAPACK's potrf failing means XᵀX + βI is singular (β = 0, rank-deficient X): report
            // it as Cholesky's failure, like CHOLMOD's, so the automatic mode falls back. (The
            // dense path does not know the column: 0 stands for "unknown".)
            let factor: DenseFactorization
            do {
                factor = try DenseFactorization(columnMajor: g, dimension: p, symmetricPositiveDefinite: true)
            } catch SparseError.singularMatrix {
                throw SparseError.notPositiveDefinite(column: 0)
            }
            guard factor.kind == .cholesky else { throw SparseError.notPositiveDefinite(column: 0) }
            denseGram = (x.columnPointers, x.rowIndices, x.values, gram.shift, factor)
        }
        var u = b
        var scratch = [Double](repeating: 0, count: p)
        u.withUnsafeMutableBufferPointer { u in
            scratch.withUnsafeMutableBufferPointer { s in denseGram!.factor.solve(inPlace: u.baseAddress!, scratch: s.baseAddress!) }
        }
        let text = reason + "; \(p) columns: formed densely, LAPACK Cholesky" + (reused ? "; reused the factor" : "")
        return (u, LinearSolveReport(method: .cholesky, reason: text, relativeResidual: .nan, iterations: 0,
                                     fellBack: false, reused: reused, seconds: 0))
    }

    private func solveLU(_ m: CSRMatrix, _ b: [Double], transposed: Bool, reason: String, fellBack: Bool) throws -> ([Double], LinearSolveReport) {
        let csc = m.toCSC()
        var reused = false
        if let cached = lu, cached.pointers == csc.columnPointers, cached.indices == csc.rowIndices {
            reused = true
            if cached.values != csc.values {
                try cached.factor.refactor(values: csc.values)
                lu?.values = csc.values
            }
        } else {
            let factor = try LUFactorization(csc)
            if factor.predictedFactorBytes > memoryBudget {
                throw SparseError.factorTooLarge(predictedBytes: factor.predictedFactorBytes, budgetBytes: memoryBudget)
            }
            try factor.factorize()
            lu = (csc.columnPointers, csc.rowIndices, csc.values, factor)
        }
        let u = try lu!.factor.solve(b, transposed: transposed)
        return (u, LinearSolveReport(method: .lu, reason: reused ? reason + "; reused the analysis" : reason,
                                     relativeResidual: .nan, iterations: 0, fellBack: fellBack, reused: reused, seconds: 0))
    }

    private func solveKrylov(_ method: LinearSolver, _ a: some LinearOperator, _ b: [Double], transposed: Bool,
                             reason: String, fellBack: Bool) throws -> ([Double], LinearSolveReport) {
        if let closure = a as? ClosureOperator, !closure.hasAdjoint, !a.isSymmetric, transposed || method == .normalCG {
            throw LinearSolveError.needsAdjointProduct(method)
        }
        let op: any LinearOperator = transposed && !a.isSymmetric ? TransposedOperator(a) : a
        let guess = warmStart?.count == b.count ? warmStart : nil
        let preconditioner: (any LinearOperator)? = jacobi && method != .normalCG ? op.diagonal.flatMap {
            try? JacobiPreconditioner(diagonal: $0)
        } : nil
        let result: KrylovResult
        switch method {
        case .cg: result = try ConjugateGradient(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .minres: result = try MINRES(options: options).solve(op, b, preconditioner: preconditioner?.isPositiveDefinite == true ? preconditioner : nil, initialGuess: guess)
        case .gmres: result = try GMRES(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        case .bicgstab: result = try BiCGSTAB(options: options).solve(op, b, preconditioner: preconditioner, initialGuess: guess)
        default:
            // AᵀA u = Aᵀb, matrix-free.
            let normal = try NormalOperator(op)
            let rhs = try op.apply(b, transposed: true)
            result = try ConjugateGradient(options: options).solve(normal, rhs, initialGuess: guess)
        }
        if result.status != .converged {
            // CG → GMRES when CG breaks down (the operator was not positive definite after all).
            if method == .cg && !fellBack {
                return try solveKrylov(.gmres, a, b, transposed: transposed,
                                       reason: reason + "; CG ended with \(result.status.rawValue), GMRES", fellBack: true)
            }
            throw LinearSolveError.notConverged(method: method, status: result.status, iterations: result.iterations,
                                                relativeResidual: result.relativeResidual)
        }
        return (result.solution, LinearSolveReport(method: method, reason: reason, relativeResidual: .nan,
                                                   iterations: result.iterations, fellBack: fellBack,
                                                   reused: guess != nil, seconds: 0))
    }

}

public enum LinearSolveError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A direct method was requested for an operator without an explicit matrix.
    case needsExplicitMatrix(LinearSolver)
    /// The method ended but the true residual ‖b − Au‖/‖b‖ is far above the tolerance (e.g.
    /// normal-equations CG on a singular A, or a NaN from a broken operator).
    case inaccurate(method: LinearSolver, relativeResidual: Double, acceptable: Double)
    /// The method needs products with Aᵀ and the operator only gives A.
    case needsAdjointProduct(LinearSolver)
    /// The Krylov method (and any fallback) ended without meeting the tolerance.
    case notConverged(method: LinearSolver, status: KrylovStatus, iterations: Int, relativeResidual: Double)

    public var description: String {
        switch self {
        case let .needsExplicitMatrix(method):
            return "\(method.rawValue) needs an explicit matrix; this operator is matrix-free"
        case let .inaccurate(method, residual, acceptable):
            return "\(method.rawValue) returned a solution with relative residual \(residual) (acceptable: \(acceptable)); the system is singular or too ill-conditioned"
        case let .needsAdjointProduct(method):
            return "\(method.rawValue) needs products with the transpose, which this operator does not give"
        case let .notConverged(method, status, iterations, residual):
            return "\(method.rawValue) did not converge: \(status.rawValue) after \(iterations) iterations, relative residual \(residual)"
        }
    }
}

/// A Cholesky factorization predicted to cost more than `directFlopBudget` (automatic mode).
struct DirectTooExpensive: Error {
    let flops: Double
    var reason: String {
        String(format: "predicted Cholesky work of %.2g flops exceeds the budget", flops)
    }
}

/// Aᵀ of an operator, as an operator.
struct TransposedOperator: LinearOperator {
    let base: any LinearOperator
    init(_ base: any LinearOperator) { self.base = base }
    var rows: Int { base.columns }
    var columns: Int { base.rows }
    var isSymmetric: Bool { base.isSymmetric }
    var isPositiveDefinite: Bool { base.isPositiveDefinite }
    var diagonal: [Double]? { base.diagonal }
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
        base.apply(x, into: y, transposed: !transposed, accumulate: accumulate)
    }
}

/// AᵀA, matrix-free (one product with A and one with Aᵀ per apply).
final class NormalOperator: LinearOperator {
    let base: any LinearOperator
    private var scratch: [Double]
    init(_ base: any LinearOperator) throws {
        self.base = base
        scratch = [Double](repeating: 0, count: base.rows)
    }
    var rows: Int { base.columns }
    var columns: Int { base.columns }
    var isSymmetric: Bool { true }
    var isPositiveDefinite: Bool { true }
    func apply(_ x: UnsafeBufferPointer<Double>, into y: UnsafeMutableBufferPointer<Double>, transposed: Bool, accumulate: Bool) {
        scratch.withUnsafeMutableBufferPointer { t in
            base.apply(x, into: t, transposed: false, accumulate: false)
            base.apply(UnsafeBufferPointer(t), into: y, transposed: true, accumulate: accumulate)
        }
    }
}
