import Foundation
import Sparse

/// A linear solver named by one string — the vocabulary every `isparse` command that takes a
/// linear solver accepts (`--solver`), and the form reports print:
///
/// - `auto`: the automatic policy (`AutomaticLinearSolver`);
/// - `cholesky` (CHOLMOD), `lu` (UMFPACK), `dense` (LAPACK, small systems);
/// - `METHOD` or `METHOD+PRECONDITIONER`, METHOD one of `cg`, `minres`, `gmres`, `bicgstab`,
///   `lsqr`, `normal-cg` and PRECONDITIONER one of `none`, `jacobi`, `ssor`, `ic0`, `ict`,
///   `ilu0`, `amg` (smoothed aggregation), e.g. `cg+amg`, `minres+jacobi`, `gmres+ilu0`.
///   A method without a preconditioner is unpreconditioned (`cg` = `cg+none`).
///
/// `description` is the canonical spelling (lower case, `+none` dropped), so a parsed spec
/// prints as it reads. The PETSc backend's `isparse-mpi` takes the same `METHOD+PC` form with
/// PETSc's preconditioners (`cg+gamg`, `cg+boomeramg`, …).
public struct LinearSolverSpec: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case automatic, cholesky, lu, dense
        case krylov(KrylovSolver.Method, preconditioner: Preconditioner)
    }

    /// The preconditioners a spec can name (`PreconditionerChoice` without its parameters,
    /// which `solver(…)` takes).
    public enum Preconditioner: String, CaseIterable, Sendable {
        case none, jacobi, ssor, ic0, ict, ilu0, amg
    }

    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    /// Parses a spec; case and surrounding spaces are ignored.
    /// - Throws: `SparseError.invalidArgument` naming the vocabulary.
    public init(parsing text: String) throws {
        let spec = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch spec {
        case "auto", "automatic": kind = .automatic; return
        case "cholesky": kind = .cholesky; return
        case "lu": kind = .lu; return
        case "dense": kind = .dense; return
        default: break
        }
        let parts = spec.split(separator: "+", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let method = KrylovSolver.Method(rawValue: String(parts[0])) else {
            throw SparseError.invalidArgument("unknown linear solver '\(text)'; \(Self.vocabulary)")
        }
        let preconditioner: Preconditioner
        if parts.count == 2 {
            guard let p = Preconditioner(rawValue: String(parts[1])) else {
                throw SparseError.invalidArgument("unknown preconditioner '\(parts[1])' in '\(text)'; \(Self.vocabulary)")
            }
            preconditioner = p
        } else {
            preconditioner = .none
        }
        if (method == .normalCG || method == .lsqr) && preconditioner != .none && !(method == .lsqr && preconditioner == .jacobi) {
            throw SparseError.invalidArgument("'\(text)': \(method.rawValue) takes no preconditioner\(method == .lsqr ? " but jacobi (column scaling)" : "")")
        }
        if (method == .cg || method == .minres) && preconditioner == .ilu0 {
            throw SparseError.invalidArgument("'\(text)': \(method.rawValue) needs a symmetric preconditioner; ilu0 is not (use gmres+ilu0 or bicgstab+ilu0)")
        }
        kind = .krylov(method, preconditioner: preconditioner)
    }

    /// What the parser accepts, for messages and help.
    public static let vocabulary = "expected auto, cholesky, lu, dense, or METHOD[+PRECONDITIONER] with METHOD in "
        + KrylovSolver.Method.allCases.map(\.rawValue).joined(separator: ", ")
        + " and PRECONDITIONER in " + Preconditioner.allCases.map(\.rawValue).joined(separator: ", ")
        + " (e.g. cg+amg, minres+jacobi, gmres+ilu0)"

    public var description: String {
        switch kind {
        case .automatic: return "auto"
        case .cholesky: return "cholesky"
        case .lu: return "lu"
        case .dense: return "dense"
        case let .krylov(method, preconditioner):
            return preconditioner == .none ? method.rawValue : method.rawValue + "+" + preconditioner.rawValue
        }
    }

    /// True for the methods whose tolerance the caller sets (the iterative ones).
    public var isIterative: Bool {
        if case .krylov = kind { return true }
        return false
    }

    /// The solver value. `options` are the iterative methods' (and the policy's); the direct
    /// methods stop at their factorization's accuracy.
    public func solver(options: KrylovOptions = KrylovOptions(relativeTolerance: 1e-10), memoryBudget: Int? = nil,
                       ordering: CholeskyFactorization.Ordering = .automatic, restart: Int = 30,
                       amgOptions: SmoothedAggregationAMG.Options = SmoothedAggregationAMG.Options(),
                       ssorOmega: Double = 1, ictDropTolerance: Double = 1e-3, ictFill: Int = 20,
                       expectedSolves: Int = 1) -> any LinearSolver {
        switch kind {
        case .automatic:
            var policy = AutomaticLinearSolver(options: options, memoryBudget: memoryBudget, expectedSolves: expectedSolves, ordering: ordering)
            policy.amgOptions = amgOptions
            return policy
        case .cholesky: return CholeskySolver(ordering: ordering, memoryBudget: memoryBudget)
        case .lu: return LUSolver(memoryBudget: memoryBudget)
        case .dense: return DenseSolver()
        case let .krylov(method, preconditioner):
            let choice: PreconditionerChoice
            switch preconditioner {
            case .none: choice = .none
            case .jacobi: choice = .jacobi
            case .ssor: choice = .ssor(omega: ssorOmega)
            case .ic0: choice = .ic0
            case .ict: choice = .ict(dropTolerance: ictDropTolerance, fillPerColumn: ictFill)
            case .ilu0: choice = .ilu0
            case .amg: choice = .amg(amgOptions)
            }
            return KrylovSolver(method, preconditioner: choice, options: options, restart: restart)
        }
    }
}
