import ArgumentParser
import Foundation
import ISparseCLICore
import Preconditioners
import Sparse

enum SolveMethod: String, ExpressibleByArgument, CaseIterable {
    case auto, cholesky, lu, cg, minres, gmres, bicgstab, lsqr, amg
}

enum PreconditionerKind: String, ExpressibleByArgument, CaseIterable {
    case none, jacobi, ssor, ic0, ilu0, ict, amg
}

extension SmoothedAggregationAMG.Smoother: ExpressibleByArgument {}
extension SmoothedAggregationAMG.Cycle: ExpressibleByArgument {}

extension CholeskyFactorization.Ordering: ExpressibleByArgument {
    // `given` needs a permutation from the caller: not an option value.
    public init?(argument: String) {
        guard let value = Self(rawValue: argument), value != .given else { return nil }
        self = value
    }
    public static var allValueStrings: [String] { allCases.filter { $0 != .given }.map(\.rawValue) }
}

/// A byte count with an optional K, M, G or T suffix (powers of 1024).
struct ByteCount: ExpressibleByArgument {
    var bytes: Int
    init?(argument: String) {
        let text = argument.uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let units: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        var number = text
        var scale = 1.0
        if let last = text.last, let unit = units[last] { scale = unit; number.removeLast() }
        guard let value = Double(number), value.isFinite, value > 0, value * scale < 9e18 else { return nil }
        bytes = Int(value * scale)
    }
}

struct LinsolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linsolve",
        abstract: "Solve Ax = b by a sparse direct factorization (CHOLMOD, UMFPACK) or a Krylov method.",
        discussion: """
        Without --rhs, b = A·1. --grid K builds the K×K 2-D grid Laplacian plus the identity \
        in memory instead of reading a file. --solver auto (the default) is the automatic policy \
        of the library, the same the implicit layer uses: LSQR for rectangular matrices; UMFPACK \
        LU for unsymmetric ones within --memory-budget (else GMRES + Jacobi); CHOLMOD for \
        symmetric ones with a positive diagonal up to 2·10⁵ nonzeros; above, a 20-iteration \
        Jacobi-CG probe, for Laplacian-like matrices a 6-iteration CG + AMG probe, and \
        CHOLMOD's symbolic analysis when worth running decide by predicted cost (on tree-like \
        graphs CHOLMOD in a low-fill elimination order found before the probe), with \
        fallbacks (LU, MINRES) when a stage fails. The reason is printed (and in --json).
        """)

    @Argument(help: "The matrix A in Matrix Market format (.mtx or .mtx.gz).")
    var matrix: String?

    @Option(help: "Build the K×K 2-D grid Laplacian plus the identity (K² unknowns) instead of reading a file.")
    var grid: Int?

    @Option(help: "Right-hand side b as a Matrix Market vector (default: b = A·1).")
    var rhs: String?

    @Option(help: "The linear solver: auto, cholesky, lu, or METHOD[+PRECONDITIONER] (cg, minres, gmres, bicgstab, lsqr; none, jacobi, ssor, ic0, ict, ilu0, amg), e.g. cg+amg — the vocabulary of every command. The older --method/--precond pair is kept as an alias.")
    var solver: String?

    @Option(name: .customLong("method"), help: "Alias (older form): auto, cholesky, lu, cg, minres, gmres, bicgstab, lsqr, or amg (standalone AMG cycles).")
    var methodOption: SolveMethod = .auto

    @Option(name: .customLong("precond"), help: "Alias (older form): the Krylov methods' preconditioner: none, jacobi, ssor, ic0, ilu0, ict or amg.")
    var precondOption: PreconditionerKind = .none

    /// --solver parsed (nil without it).
    var spec: LinearSolverSpec? { solver.flatMap { try? LinearSolverSpec(parsing: $0) } }

    /// The method and preconditioner, from --solver or the older pair.
    var method: SolveMethod {
        guard let spec else { return methodOption }
        switch spec.kind {
        case .automatic: return .auto
        case .cholesky: return .cholesky
        case .lu: return .lu
        case .dense: return .lu
        case let .krylov(m, _): return SolveMethod(rawValue: m.rawValue) ?? .auto
        }
    }
    var precond: PreconditionerKind {
        guard let spec else { return precondOption }
        if case let .krylov(_, p) = spec.kind { return PreconditionerKind(rawValue: p.rawValue) ?? .none }
        return .none
    }

    @Option(help: "SSOR relaxation factor ω in (0, 2).")
    var omega: Double = 1

    @Option(name: .customLong("drop-tolerance"), help: "ICT drop tolerance (relative to the row norm).")
    var dropTolerance: Double = 1e-3

    @Option(help: "ICT fill limit: off-diagonal entries kept per column of L.")
    var fill: Int = 20

    @Option(name: .customLong("amg-smoother"), help: "AMG smoother: gauss-seidel or jacobi.")
    var amgSmoother: SmoothedAggregationAMG.Smoother = .gaussSeidel

    @Option(name: .customLong("amg-cycle"), help: "AMG cycle: v or w.")
    var amgCycle: SmoothedAggregationAMG.Cycle = .v

    @Option(name: .customLong("amg-theta"), help: "AMG strength-of-connection threshold θ ≥ 0.")
    var amgTheta: Double = 0

    @Option(help: "Relative residual tolerance of the Krylov methods.")
    var rtol: Double = 1e-8

    @Option(name: .customLong("max-iter"), help: "Maximum Krylov iterations (default max(1000, 10·n)).")
    var maxIterations: Int?

    @Option(help: "GMRES restart length.")
    var restart: Int = 30

    @Option(help: "Cholesky fill-reducing ordering: automatic, amd, metis, nesdis or natural.")
    var ordering: CholeskyFactorization.Ordering = .automatic

    @Option(name: .customLong("memory-budget"),
            help: "Largest predicted factor a direct method may build, e.g. 4G (default: a quarter of physical memory).")
    var memoryBudget: ByteCount?

    @Option(help: "Write the solution x as a Matrix Market vector.")
    var out: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if let solver {
            let parsed: LinearSolverSpec
            do { parsed = try LinearSolverSpec(parsing: solver) } catch { throw ValidationError("--solver: \(error)") }
            if methodOption != .auto || precondOption != .none {
                throw ValidationError("give --solver or the older --method/--precond, not both")
            }
            if parsed.kind == .dense { throw ValidationError("--solver dense is for small dense systems; linsolve's matrices are sparse: use lu or cholesky") }
            if case .krylov(.normalCG, _) = parsed.kind { throw ValidationError("--solver normal-cg is not offered by linsolve; use lsqr") }
        }
        if (matrix == nil) == (grid == nil) { throw ValidationError("give either a matrix file or --grid K") }
        if let grid, grid < 1 || grid > 46_340 { throw ValidationError("--grid must be between 1 and 46340") }
        if !(rtol > 0 && rtol < 1) { throw ValidationError("--rtol must be in (0, 1)") }
        if let maxIterations, maxIterations < 1 { throw ValidationError("--max-iter must be at least 1") }
        if restart < 1 { throw ValidationError("--restart must be at least 1") }
        if !(omega > 0 && omega < 2) { throw ValidationError("--omega must be in (0, 2)") }
        if !(dropTolerance >= 0) || fill < 0 { throw ValidationError("--drop-tolerance and --fill must be nonnegative") }
        if !(amgTheta >= 0) { throw ValidationError("--amg-theta must be nonnegative") }
    }

    func run() throws {
        threadOptions.apply()
        try Files.checkEncoding(matrix, option: "matrix")
        try Files.checkEncoding(rhs, option: "--rhs")
        try Files.checkOutput(out, option: "--out", inputs: [matrix, rhs])
        let totalStart = DispatchTime.now()
        let a: CSRMatrix
        let source: String
        if let grid {
            // The whole run from its size, before allocating: the 5-point matrix (5 entries of
            // 12 bytes per row and the pointers) and the run's vectors.
            let n = grid * grid
            try SparseLimits.checkRun("--grid \(grid) (\(n) unknowns)", bytes: SparseLimits.runBytes(dimension: n, extra: 68 * n))
            a = try CSRMatrix.gridLaplacian2D(grid, shift: 1)
            source = "grid \(grid)×\(grid) Laplacian + I"
        } else {
            a = try MatrixMarket.read(path: matrix!).matrix
            source = matrix!
        }
        let readSeconds = seconds(since: totalStart)
        var b: [Double]
        if let rhs {
            let dense = try MatrixMarket.readDense(path: rhs)
            guard dense.values.count == a.rows, dense.columns == 1 || dense.rows == 1 else {
                throw CLIFailure(code: .input, message: "\(rhs): right-hand side is \(dense.rows) × \(dense.columns), expected a vector of length \(a.rows)")
            }
            b = dense.values
        } else {
            b = try a.multiply([Double](repeating: 1, count: a.columns))
        }
        guard a.rows > 0, a.columns > 0 else {
            throw CLIFailure(code: .input, message: "\(source): the matrix is empty (\(a.rows) × \(a.columns)): nothing to solve")
        }
        if let bad = b.firstIndex(where: { !$0.isFinite }) {
            throw CLIFailure(code: .input, message: "\(rhs ?? "b = A·1"): right-hand side entry \(bad + 1) is not finite")
        }
        let budget = memoryBudget?.bytes ?? Int(ProcessInfo.processInfo.physicalMemory / 4)
        var outcome = try solve(a, b, budget: budget)
        // A failed iterative run reports the true residual it attained (never NaN).
        let relative = outcome.failedResidual ?? a.relativeResidual(outcome.solution, b)
        outcome.relativeResidual = relative
        // Every "solved" is backed by the true residual: a direct method on a singular matrix,
        // or an overflow, must not report success (nor write its answer). An iterative method
        // that stagnated at its attainable accuracy within max(10⁴·rtol, 10⁻⁶) is solved.
        let acceptable = KrylovOptions(relativeTolerance: rtol).acceptableTrueResidual
        let succeeded = outcome.status == "solved" || outcome.status == KrylovStatus.converged.rawValue || outcome.stagnated != nil
        if succeeded && !(relative <= acceptable) {
            outcome.status = "inaccurate"
        }
        let total = seconds(since: totalStart)
        if succeeded && outcome.status != "inaccurate", let out {
            try MatrixMarket.writeDense(outcome.solution, rows: outcome.solution.count, to: out)
        }

        if json {
            var object = JSONObject()
            object.set("matrix", source)
            object.set("rows", a.rows)
            object.set("columns", a.columns)
            object.set("nonzeros", a.nonzeroCount)
            // "linearSolver": the spec form every command prints (cg+amg, cholesky, …).
            object.set("linearSolver", outcome.preconditioner == "none" ? outcome.method : outcome.method + "+" + outcome.preconditioner)
            object.set("method", outcome.method)
            object.set("reason", outcome.reason)
            object.set("preconditioner", outcome.preconditioner)
            object.set("status", outcome.status)
            if let note = outcome.stagnated { object.set("note", note) }
            object.set("iterations", outcome.iterations)
            object.set("relativeResidual", relative)
            if let bytes = outcome.factorBytes { object.set("factorBytes", bytes) }
            if let bytes = outcome.preconditionerBytes { object.set("preconditionerBytes", bytes) }
            if let shift = outcome.preconditionerShift { object.set("preconditionerShift", shift) }
            if let amg = outcome.amg {
                var amgObject = JSONObject()
                amgObject.set("levels", amg.levels.count)
                amgObject.set("operatorComplexity", amg.operatorComplexity)
                amgObject.set("gridComplexity", amg.gridComplexity)
                amgObject.set("rows", amg.levels.map(\.rows))
                amgObject.set("nonzeros", amg.levels.map(\.nonzeros))
                object.set("amg", amgObject)
            }
            var times = JSONObject()
            times.set("read", readSeconds)
            times.set("analyze", outcome.analyze)
            times.set("factorize", outcome.factorize)
            times.set("setup", outcome.setup)
            times.set("solve", outcome.solve)
            times.set("total", total)
            object.set("seconds", times)
            object.set("threads", SparseThreads.count)
            print(object.render())
        } else {
            print("matrix: \(source) (\(a.rows) × \(a.columns), \(a.nonzeroCount) nonzeros)")
            print("method: \(outcome.method) — \(outcome.reason)")
            print("preconditioner: \(outcome.preconditioner)")
            print("status: \(outcome.status)")
            print("iterations: \(outcome.iterations)")
            print(String(format: "relative residual ‖b − Ax‖/‖b‖: %.3e", relative))
            if let bytes = outcome.factorBytes { print("factor memory: \(formatBytes(bytes))") }
            if let bytes = outcome.preconditionerBytes { print("preconditioner memory: \(formatBytes(bytes))") }
            if let shift = outcome.preconditionerShift, shift > 0 {
                print("preconditioner diagonal shift: \(shift)·diag(A) (the unshifted factorization broke down)")
            }
            if let amg = outcome.amg {
                print(String(format: "amg: %d levels, operator complexity %.3f, grid complexity %.3f",
                             amg.levels.count, amg.operatorComplexity, amg.gridComplexity))
                for (l, level) in amg.levels.enumerated() {
                    print("  level \(l): \(level.rows) rows, \(level.nonzeros) nonzeros")
                }
            }
            print(String(format: "seconds: read %.3f, analyze %.3f, factorize %.3f, setup %.3f, solve %.3f, total %.3f",
                         readSeconds, outcome.analyze, outcome.factorize, outcome.setup, outcome.solve, total))
        }
        if outcome.status == "inaccurate" {
            throw CLIFailure(code: .numerical,
                             message: "\(outcome.method) returned an answer with relative residual \(String(format: "%.3e", relative)) above the acceptable \(String(format: "%.1e", acceptable)) (max(10⁴·rtol, 10⁻⁶)): the matrix is singular or too ill-conditioned for it; no output written")
        }
        if let note = outcome.stagnated, !json { FileHandle.standardError.write("note: \(outcome.method) \(note)\n".data(using: .utf8)!) }
        if !succeeded {
            throw CLIFailure(code: .numerical,
                             message: "\(outcome.method) did not converge: status \(outcome.status) after \(outcome.iterations) iterations, relative residual \(String(format: "%.3e", relative))")
        }
    }

    struct Outcome {
        var method: String
        var reason: String
        var preconditioner = "none"
        var status = "solved"
        var iterations = 0
        var solution: [Double] = []
        var relativeResidual = Double.nan
        /// A failed iterative run's attained true residual (its iterate is not kept).
        var failedResidual: Double?
        /// Set when the method stopped at its attainable accuracy within the accepted factor.
        var stagnated: String?
        var analyze = 0.0, factorize = 0.0, setup = 0.0, solve = 0.0
        var factorBytes: Int?
        var preconditionerBytes: Int?
        var preconditionerShift: Double?
        var amg: SmoothedAggregationAMG?
    }

    /// The solver value for the requested method; `auto` is the library's automatic policy
    /// (`AutomaticLinearSolver`), the same one the implicit layer uses.
    func solverValue(for a: CSRMatrix, budget: Int) throws -> (solver: any LinearSolver, reason: String) {
        let options = KrylovOptions(relativeTolerance: rtol, maxIterations: maxIterations)
        switch method {
        case .cholesky:
            return (CholeskySolver(ordering: ordering, memoryBudget: budget), "requested")
        case .lu:
            return (LUSolver(), "requested")
        case .cg, .minres, .gmres, .bicgstab, .lsqr:
            return (KrylovSolver(KrylovSolver.Method(rawValue: method.rawValue)!, preconditioner: preconditionerChoice,
                                 options: options, restart: restart), "requested")
        case .auto:
            var policy = AutomaticLinearSolver(options: options, memoryBudget: budget, ordering: ordering)
            policy.amgOptions = amgOptions
            // The policy itself: a large symmetric matrix is decided in the solve, whose first
            // Jacobi-CG iterations are the probe (the reason printed is the state's).
            return (policy, "auto")
        case .amg:
            throw CLIFailure(code: .usage, message: "standalone AMG cycles are run by standaloneAMG, not as a linear-solver value")
        }
    }

    var preconditionerChoice: PreconditionerChoice {
        switch precond {
        case .none: return .none
        case .jacobi: return .jacobi
        case .ssor: return .ssor(omega: omega)
        case .ic0: return .ic0
        case .ict: return .ict(dropTolerance: dropTolerance, fillPerColumn: fill)
        case .ilu0: return .ilu0
        case .amg: return .amg(amgOptions)
        }
    }

    func solve(_ a: CSRMatrix, _ b: [Double], budget: Int) throws -> Outcome {
        if method == .amg { return try standaloneAMG(a, b) }
        var operatorA = a
        if method == .cg || method == .minres || method == .cholesky {
            guard a.rows == a.columns, a.isSymmetric(tolerance: 1e-12) else {
                let instead = method == .cholesky ? "lu" : "gmres, bicgstab or lu"
                throw CLIFailure(code: .input, message: "\(method.rawValue) needs a symmetric matrix; use \(instead)")
            }
        }
        if a.rows == a.columns && a.isSymmetric(tolerance: 1e-12) { operatorA = a.declaringSymmetric() }
        if method == .lu && a.rows != a.columns {
            throw CLIFailure(code: .input, message: "LU needs a square matrix, got \(a.rows) × \(a.columns)")
        }
        if method == .lsqr, precond != .none, precond != .jacobi {
            throw CLIFailure(code: .usage, message: "lsqr takes --precond none or jacobi (column scaling)")
        }
        let (solver, reason) = try solverValue(for: operatorA, budget: budget)
        let state = try solver.prepare(operatorA)
        var status = "solved"
        var x: [Double] = []
        var iterations = 0
        var solveSeconds = 0.0
        var failedResidual: Double?, stagnated: String?
        do {
            let outcome = try state.solve(b, transposed: false, initialGuess: nil)
            x = outcome.solution
            iterations = outcome.iterations
            solveSeconds = outcome.seconds
            if state.method != "cholesky" && state.method != "lu" { status = KrylovStatus.converged.rawValue }
            if outcome.stagnated != nil { status = KrylovStatus.stagnation.rawValue }
            stagnated = outcome.stagnated
        } catch let LinearSolveError.notConverged(_, krylovStatus, count, residual) where method != .auto {
            status = krylovStatus.rawValue
            iterations = count
            failedResidual = residual
        }
        var outcome = Outcome(method: state.method, reason: method == .auto ? "auto: " + state.reason : reason + detail(state))
        outcome.preconditioner = state.preconditioner
        outcome.status = status
        outcome.iterations = iterations
        outcome.solution = x
        outcome.failedResidual = failedResidual
        outcome.stagnated = stagnated
        let timings = state.timings
        outcome.analyze = timings.analyze
        outcome.factorize = timings.factorize
        outcome.setup = timings.setup
        outcome.solve = solveSeconds
        if state.method == "cholesky" || state.method == "lu" { outcome.factorBytes = state.memoryBytes }
        else if state.preconditioner != "none" { outcome.preconditionerBytes = state.memoryBytes }
        if let report = state.preconditionerReport {
            outcome.preconditionerShift = report.shift
            outcome.amg = report.amg
        }
        return outcome
    }

    /// What the state adds to the reason (CHOLMOD's factor kind and ordering, UMFPACK's rcond).
    func detail(_ state: any LinearSolverState) -> String {
        if method == .auto { return "" }
        if let factor = state.choleskyFactor {
            return " (CHOLMOD, \(factor.isSupernodal ? "supernodal" : "simplicial"), ordering \(ordering.rawValue))"
        }
        if let lu = state.luFactor { return String(format: " (UMFPACK, rcond %.2e)", lu.reciprocalCondition) }
        return ""
    }
}

extension LinsolveCommand {
    var amgOptions: SmoothedAggregationAMG.Options {
        var options = SmoothedAggregationAMG.Options()
        options.smoother = amgSmoother
        options.cycle = amgCycle
        options.strengthThreshold = amgTheta
        return options
    }

    func standaloneAMG(_ a: CSRMatrix, _ b: [Double]) throws -> Outcome {
        guard a.rows == a.columns, a.isSymmetric(tolerance: 1e-12) else {
            throw CLIFailure(code: .input, message: "amg needs a symmetric matrix")
        }
        var symmetric = a
        symmetric = symmetric.declaringSymmetric()
        let amg = try SmoothedAggregationAMG(symmetric, options: amgOptions)
        let result = try amg.solve(b, relativeTolerance: rtol, maxCycles: maxIterations ?? 500)
        var outcome = Outcome(method: "amg", reason: "requested (standalone smoothed-aggregation cycles)")
        outcome.preconditioner = "none"
        outcome.status = result.status.rawValue
        outcome.iterations = result.iterations
        outcome.solution = result.solution
        outcome.setup = amg.setupSeconds
        outcome.solve = result.seconds
        outcome.preconditionerBytes = amg.memoryBytes
        outcome.amg = amg
        return outcome
    }
}

