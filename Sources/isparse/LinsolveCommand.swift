import ArgumentParser
import Foundation
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

extension CholeskyFactorization.Ordering: ExpressibleByArgument {}

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
        in memory instead of reading a file. --method auto picks Cholesky for symmetric matrices \
        whose predicted factor fits --memory-budget (MINRES if Cholesky finds the matrix \
        indefinite, CG with Jacobi if the factor does not fit), LU for unsymmetric square ones \
        (GMRES with Jacobi if its predicted factor does not fit) and LSQR for rectangular ones.
        """)

    @Argument(help: "The matrix A in Matrix Market format (.mtx or .mtx.gz).")
    var matrix: String?

    @Option(help: "Build the K×K 2-D grid Laplacian plus the identity (K² unknowns) instead of reading a file.")
    var grid: Int?

    @Option(help: "Right-hand side b as a Matrix Market vector (default: b = A·1).")
    var rhs: String?

    @Option(help: "auto, cholesky, lu, cg, minres, gmres, bicgstab or lsqr.")
    var method: SolveMethod = .auto

    @Option(help: "Preconditioner for the Krylov methods: none, jacobi, ssor, ic0, ilu0, ict or amg.")
    var precond: PreconditionerKind = .none

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
        let totalStart = DispatchTime.now()
        let a: CSRMatrix
        let source: String
        if let grid {
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
        let budget = memoryBudget?.bytes ?? Int(ProcessInfo.processInfo.physicalMemory / 4)
        var outcome = try solve(a, b, budget: budget)
        let relative = a.relativeResidual(outcome.solution, b)
        outcome.relativeResidual = relative
        let total = seconds(since: totalStart)
        if let out { try MatrixMarket.writeDense(outcome.solution, rows: outcome.solution.count, to: out) }

        if json {
            var object = JSONObject()
            object.set("matrix", source)
            object.set("rows", a.rows)
            object.set("columns", a.columns)
            object.set("nonzeros", a.nonzeroCount)
            object.set("method", outcome.method)
            object.set("reason", outcome.reason)
            object.set("preconditioner", outcome.preconditioner)
            object.set("status", outcome.status)
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
                amgObject.set("rows", "[" + amg.levels.map { String($0.rows) }.joined(separator: ", ") + "]")
                amgObject.set("nonzeros", "[" + amg.levels.map { String($0.nonzeros) }.joined(separator: ", ") + "]")
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
        if outcome.status != "solved" && outcome.status != KrylovStatus.converged.rawValue {
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
        var analyze = 0.0, factorize = 0.0, setup = 0.0, solve = 0.0
        var factorBytes: Int?
        var preconditionerBytes: Int?
        var preconditionerShift: Double?
        var amg: SmoothedAggregationAMG?
    }

    func solve(_ a: CSRMatrix, _ b: [Double], budget: Int) throws -> Outcome {
        switch method {
        case .cholesky:
            return try cholesky(a, b, budget: budget, reason: "requested")
        case .lu:
            return try lu(a, b, budget: nil, reason: "requested")
        case .cg, .minres, .gmres, .bicgstab, .lsqr:
            return try krylov(method, a, b, reason: "requested")
        case .amg:
            return try standaloneAMG(a, b)
        case .auto:
            guard a.rows == a.columns else {
                return try krylov(.lsqr, a, b, reason: "auto: rectangular \(a.rows) × \(a.columns) matrix, least squares")
            }
            if a.isSymmetric(tolerance: 1e-12) {
                var symmetric = a
                symmetric.isKnownSymmetric = true
                do {
                    return try cholesky(symmetric, b, budget: budget,
                                        reason: "auto: symmetric, predicted factor fits the \(formatBytes(budget)) budget")
                } catch let SparseError.factorTooLarge(predicted, limit) {
                    return try krylov(.cg, symmetric, b, forcedPreconditioner: .jacobi,
                                      reason: "auto: symmetric, but the predicted factor (\(formatBytes(predicted))) exceeds the \(formatBytes(limit)) budget")
                } catch let SparseError.notPositiveDefinite(column) {
                    return try krylov(.minres, symmetric, b,
                                      reason: "auto: symmetric but not positive definite (Cholesky pivot \(column)), MINRES")
                }
            }
            do {
                return try lu(a, b, budget: budget, reason: "auto: unsymmetric, predicted LU factor fits the \(formatBytes(budget)) budget")
            } catch let SparseError.factorTooLarge(predicted, limit) {
                return try krylov(.gmres, a, b, forcedPreconditioner: .jacobi,
                                  reason: "auto: unsymmetric, predicted LU factor (\(formatBytes(predicted))) exceeds the \(formatBytes(limit)) budget")
            }
        }
    }

    func cholesky(_ a: CSRMatrix, _ b: [Double], budget: Int, reason: String) throws -> Outcome {
        let factor = try CholeskyFactorization(symmetric: a, ordering: ordering, memoryBudget: budget)
        try factor.factorize()
        let start = DispatchTime.now()
        let x = try factor.solve(b)
        var outcome = Outcome(method: "cholesky", reason: reason + " (CHOLMOD, \(factor.isSupernodal ? "supernodal" : "simplicial"), ordering \(ordering.rawValue))")
        outcome.solution = x
        outcome.analyze = factor.analyzeSeconds
        outcome.factorize = factor.factorizeSeconds
        outcome.solve = seconds(since: start)
        outcome.factorBytes = factor.predictedFactorBytes
        return outcome
    }

    func lu(_ a: CSRMatrix, _ b: [Double], budget: Int?, reason: String) throws -> Outcome {
        guard a.rows == a.columns else {
            throw CLIFailure(code: .input, message: "LU needs a square matrix, got \(a.rows) × \(a.columns)")
        }
        let factor = try LUFactorization(a)
        if let budget, factor.predictedFactorBytes > budget {
            throw SparseError.factorTooLarge(predictedBytes: factor.predictedFactorBytes, budgetBytes: budget)
        }
        try factor.factorize()
        let start = DispatchTime.now()
        let x = try factor.solve(b)
        var outcome = Outcome(method: "lu", reason: reason + String(format: " (UMFPACK, rcond %.2e)", factor.reciprocalCondition))
        outcome.solution = x
        outcome.analyze = factor.analyzeSeconds
        outcome.factorize = factor.factorizeSeconds
        outcome.solve = seconds(since: start)
        outcome.factorBytes = factor.predictedFactorBytes
        return outcome
    }

    func krylov(_ kind: SolveMethod, _ a: CSRMatrix, _ b: [Double], forcedPreconditioner: PreconditionerKind? = nil,
                reason: String) throws -> Outcome {
        let options = KrylovOptions(relativeTolerance: rtol, maxIterations: maxIterations)
        var operatorA = a
        if kind == .cg || kind == .minres {
            guard a.rows == a.columns, a.isSymmetric(tolerance: 1e-12) else {
                throw CLIFailure(code: .input, message: "\(kind.rawValue) needs a symmetric matrix; use gmres, bicgstab or lu")
            }
            operatorA.isKnownSymmetric = true
        }
        let kindOfPreconditioner = forcedPreconditioner ?? precond
        var preconditioner: (any LinearOperator)?
        var setup = 0.0
        var outcomeExtras = Outcome(method: kind.rawValue, reason: reason)
        if kind == .lsqr && kindOfPreconditioner != .none {
            guard kindOfPreconditioner == .jacobi else {
                throw CLIFailure(code: .usage, message: "lsqr takes --precond none or jacobi (column scaling)")
            }
            // LSQR takes a right (column) preconditioner: the inverse column norms of A.
            var squares = [Double](repeating: 0, count: a.columns)
            for k in 0..<a.nonzeroCount { squares[Int(a.columnIndices[k])] += a.values[k] * a.values[k] }
            let scaling = try JacobiPreconditioner(diagonal: squares.map { $0 > 0 ? $0.squareRoot() : 1 })
            setup = scaling.setupSeconds
            preconditioner = scaling
        } else if kindOfPreconditioner != .none {
            let built = try makePreconditioner(kindOfPreconditioner, operatorA)
            setup = built.setupSeconds
            outcomeExtras.preconditionerBytes = built.memoryBytes
            if let ic = built as? IncompleteCholeskyPreconditioner { outcomeExtras.preconditionerShift = ic.shift }
            if let ilu = built as? IncompleteLUPreconditioner { outcomeExtras.preconditionerShift = ilu.shift }
            outcomeExtras.amg = built as? SmoothedAggregationAMG
            preconditioner = built
        }
        let result: KrylovResult
        switch kind {
        case .cg: result = try ConjugateGradient(options: options).solve(operatorA, b, preconditioner: preconditioner)
        case .minres: result = try MINRES(options: options).solve(operatorA, b, preconditioner: preconditioner)
        case .gmres: result = try GMRES(options: options, restart: restart).solve(operatorA, b, preconditioner: preconditioner)
        case .bicgstab: result = try BiCGSTAB(options: options).solve(operatorA, b, preconditioner: preconditioner)
        default: result = try LSQR(options: options).solve(operatorA, b, preconditioner: preconditioner)
        }
        var outcome = outcomeExtras
        outcome.preconditioner = kindOfPreconditioner.rawValue
        outcome.status = result.status.rawValue
        outcome.iterations = result.iterations
        outcome.solution = result.solution
        outcome.setup = setup
        outcome.solve = result.seconds
        return outcome
    }
}

extension LinsolveCommand {
    func makePreconditioner(_ kind: PreconditionerKind, _ a: CSRMatrix) throws -> any Preconditioner {
        switch kind {
        case .none, .jacobi: return try JacobiPreconditioner(a)
        case .ssor: return try SSORPreconditioner(a, omega: omega)
        case .ic0: return try IncompleteCholeskyPreconditioner(a, kind: .zeroFill)
        case .ict:
            return try IncompleteCholeskyPreconditioner(a, kind: .threshold(dropTolerance: dropTolerance, fillPerColumn: fill))
        case .ilu0: return try IncompleteLUPreconditioner(a)
        case .amg: return try SmoothedAggregationAMG(a, options: amgOptions)
        }
    }

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
        symmetric.isKnownSymmetric = true
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

