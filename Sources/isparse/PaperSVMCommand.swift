import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import Sparse

struct MulticlassSVMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svm",
        abstract: "Multiclass SVM: the hypergradient through three solvers' fixed points, implicit against unrolled, and outer descent.",
        discussion: """
        The dual of the Crammer–Singer multiclass SVM on a product of simplices (one per sample) is \
        solved by mirror descent (KL), projected gradient (FISTA with restarts) and block \
        coordinate descent; each solver's own fixed point gives dL/d log θ of the validation loss \
        ½‖X_v W − Y_v‖²/m_v (W = Xᵀ(Y − β)/θ) by implicit differentiation, and the same \
        iterations replayed under reverse-mode AD give it by unrolling. For each feature count \
        the table shows both times and the hypergradients (which must agree: with --check also \
        with a central finite difference). Then gradient descent on log θ (Armijo) with the \
        implicit hypergradient of the fastest solver, BCD, on the first feature count. Data: \
        generated k-class text-like rows (power-law column frequencies), labels from a planted \
        linear model. Unrolled runs whose time, estimated from a 20-iteration replay (BCD: from \
        its memory traffic first), exceeds --unroll-budget are skipped and say so. Example: isparse paper svm --check --plot svm.svg
        """)

    @Option(help: "Training samples m.")
    var samples: Int = 200
    @Option(name: .customLong("validation-samples"), help: "Validation samples.")
    var validationSamples: Int = 100
    @Option(help: "Classes k.")
    var classes: Int = 5
    @Option(help: "Feature counts p to sweep, comma-separated.")
    var features: String = "250,500,1000,2000,4000"
    @Option(name: .customLong("row-nonzeros"), help: "Nonzeros per row of X.")
    var rowNonzeros: Int = 20
    @Option(help: "Zipf exponent of the column frequencies.")
    var zipf: Double = 0.5
    @Option(name: .customLong("log-theta"), help: "log θ where the hypergradients are compared (and where the descent starts).")
    var logTheta: Double = 0
    @Option(help: "Relative duality gap at which the solvers stop.")
    var tolerance: Double = 1e-10
    @Option(name: .customLong("max-iterations"), help: "Iteration (BCD: epoch) limit of each solver; mirror descent usually reaches it.")
    var maxIterations: Int = 20_000
    @Option(help: "Solvers, comma-separated: md, pg, bcd.")
    var solvers: String = "md,pg,bcd"
    @Option(name: .customLong("unroll-budget"), help: "Seconds an unrolled run may take (estimated first); 0 skips unrolling.")
    var unrollBudget: Double = 60
    @Option(name: .customLong("outer-steps"), help: "Gradient-descent steps on log θ (0: none).")
    var outerSteps: Int = 8
    @Flag(help: "Compare with a central finite difference of the validation loss in log θ.")
    var check = false
    @Option(help: "Seed.")
    var seed: UInt64 = 0
    @Option(help: "Write the time-against-features plot (SVG).")
    var plot: String?
    @Flag(help: "Print one JSON object.")
    var json = false

    func featureCounts() throws -> [Int] {
        let values = features.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 10_000_000 }) else {
            throw ValidationError("--features must be a comma-separated list of counts between 1 and 10⁷, got '\(features)'")
        }
        return values.map { $0! }
    }

    func solverList() throws -> [MulticlassSVM.Solver] {
        let names = solvers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let list = names.compactMap { MulticlassSVM.Solver(rawValue: $0) }
        guard !list.isEmpty, list.count == names.count else { throw ValidationError("--solvers must list md, pg and/or bcd, got '\(solvers)'") }
        return list
    }

    func validate() throws {
        guard samples >= 2, validationSamples >= 1 else { throw ValidationError("--samples must be ≥ 2 and --validation-samples ≥ 1") }
        guard (2...1000).contains(classes) else { throw ValidationError("--classes must be between 2 and 1000") }
        guard rowNonzeros >= 1 else { throw ValidationError("--row-nonzeros must be ≥ 1") }
        guard zipf > 0, zipf.isFinite else { throw ValidationError("--zipf must be positive") }
        guard logTheta.isFinite, abs(logTheta) <= 20 else { throw ValidationError("--log-theta must be within ±20") }
        guard tolerance > 0, tolerance < 1 else { throw ValidationError("--tolerance must be in (0, 1)") }
        guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be ≥ 1") }
        guard unrollBudget >= 0, unrollBudget.isFinite else { throw ValidationError("--unroll-budget must be ≥ 0") }
        guard (0...1000).contains(outerSteps) else { throw ValidationError("--outer-steps must be between 0 and 1000") }
        // W (p·k doubles) is held several times (the solvers, the planted model, the unrolled
        // tape's copies), and unrolled BCD indexes p·k with 32-bit column indices.
        guard try featureCounts().allSatisfy({ $0 * classes <= 200_000_000 }) else {
            throw ValidationError("--features × --classes must be at most 2·10⁸ (W is a p × k array of doubles, held several times)")
        }
        _ = try solverList()
    }

    struct Row {
        var features: Int
        var solver: MulticlassSVM.Solver
        var iterations: Int
        var gap: Double
        var solveSeconds: Double
        var implicit: MulticlassSVM.Derivative
        var unrolled: MulticlassSVM.Derivative?
        var unrolledEstimate: Double
        var finiteDifference: Double?
    }

    func run() throws {
        try Files.checkWritableDirectory(plot, option: "--plot")
        let list = try solverList()
        var rows: [Row] = []
        var smallest: (MulticlassSVM, MulticlassSVM.ValidationLoss)?
        if !json {
            print("multiclass SVM dual (Crammer–Singer): m = \(samples) training, \(validationSamples) validation samples, k = \(classes), \(rowNonzeros) nonzeros per row, Zipf \(zipf); log θ = \(logTheta), gap tolerance \(String(format: "%.0e", tolerance))")
            print("    p  solver  iterations   rel. gap   solve (s)  implicit (s)  unrolled (s)   dL/dlogθ implicit   dL/dlogθ unrolled" + (check ? "   finite difference" : ""))
        }
        for p in try featureCounts() {
            let (svm, validation) = try MulticlassSVM.generated(samples: samples, validationSamples: validationSamples, features: p, classes: classes,
                                                                nonzerosPerRow: rowNonzeros, zipf: zipf, seed: seed)
            if smallest == nil { smallest = (svm, validation) }
            var fd: Double?
            if check {
                // The problem protocol's central difference: BCD to a gap of 10⁻¹³ on each side
                // (10⁻¹⁴ can sit below the rounding floor of the gap itself).
                let model = MulticlassSVM.Model(svm: svm, logTheta: logTheta, maxIterations: 100_000)
                let centre = try model.solve(warmStart: nil, tolerance: 1e-13, strategy: model.defaultStrategy)
                fd = try model.finiteDifference(of: validation, at: centre, step: 1e-5, tolerance: 1e-13)[0]
            }
            for solver in list {
                let solution = try svm.solve(logTheta: logTheta, solver: solver, tolerance: tolerance, maxIterations: maxIterations)
                let implicit = try svm.implicitHypergradient(logTheta: logTheta, solution: solution, solver: solver, validation: validation)
                var unrolled: MulticlassSVM.Derivative?
                var estimate = 0.0
                // Unrolled BCD rewrites β and W (m·k + p·k doubles) per sample under AD, forward
                // and back: priced from that traffic before any probe, since one epoch alone can
                // take minutes at p = 10⁶ (20 bytes per entry at 5 GB/s: within 20 % of the
                // measured times of the default run, p = 500 and 4 000).
                let traffic = svm.unrolledSecondsEstimate(iterations: solution.iterations)
                if unrollBudget > 0 && solver == .blockCoordinateDescent && traffic > unrollBudget {
                    estimate = traffic
                } else if unrollBudget > 0 {
                    var probe = solution
                    probe.iterations = min(20, solution.iterations)
                    probe.steps = Array(solution.steps.prefix(probe.iterations))
                    let trial = svm.unrolledHypergradient(logTheta: logTheta, solution: probe, solver: solver, validation: validation)
                    estimate = trial.seconds * Double(solution.iterations) / Double(max(probe.iterations, 1))
                    if estimate <= unrollBudget {
                        unrolled = probe.iterations == solution.iterations ? trial
                            : svm.unrolledHypergradient(logTheta: logTheta, solution: solution, solver: solver, validation: validation)
                    }
                }
                let row = Row(features: p, solver: solver, iterations: solution.iterations, gap: solution.gap, solveSeconds: solution.seconds,
                              implicit: implicit, unrolled: unrolled, unrolledEstimate: estimate, finiteDifference: fd)
                rows.append(row)
                if !json {
                    let unrolledTime = unrolled.map { String(format: "%12.3f", $0.seconds) }
                        ?? (unrollBudget > 0 ? String(format: "  (~%.0f s)", estimate) : "           —")
                    let unrolledValue = unrolled.map { String(format: "%19.10e", $0.gradient) } ?? "         not run"
                    print(String(format: "%5d  %-6@  %10d  %9.1e  %10.3f  %12.3f  %@  %18.10e  %@%@", p, solver.rawValue, solution.iterations, solution.gap,
                                 solution.seconds, implicit.seconds, unrolledTime, implicit.gradient, unrolledValue,
                                 fd.map { String(format: "  %18.10e", $0) } ?? ""))
                }
            }
        }
        if !json && unrollBudget > 0 && rows.contains(where: { $0.unrolled == nil }) {
            print("(~N s): unrolled run skipped, its estimated time (from a 20-iteration replay; BCD: from its memory traffic) exceeds --unroll-budget \(unrollBudget) s")
        }
        // Agreement of the fixed points per feature count: among the solvers that reached the
        // tolerance, and each other solver's distance from them (Theorem 1: about its gap).
        var agreement: [(features: Int, converged: [String], spread: Double, others: [(String, Double, Double)])] = []
        for p in Set(rows.map(\.features)).sorted() {
            let group = rows.filter { $0.features == p }
            let converged = group.filter { $0.gap <= tolerance }
            guard let reference = (converged.isEmpty ? group : converged).min(by: { $0.gap < $1.gap }) else { continue }
            // Relative to the hypergradient, or to 10⁻⁶ of the loss when the hypergradient is 0
            // to rounding (every sample outside the margin: W does not move with θ).
            let scale = max(abs(reference.implicit.gradient), 1e-6 * abs(reference.implicit.value), 1e-300)
            let spread = converged.map { abs($0.implicit.gradient - reference.implicit.gradient) }.max() ?? 0
            let others = group.filter { $0.gap > tolerance }.map { ($0.solver.rawValue, $0.gap, abs($0.implicit.gradient - reference.implicit.gradient) / scale) }
            agreement.append((p, converged.map(\.solver.rawValue), spread / scale, others))
        }
        // Outer gradient descent on log θ (BCD, implicit): the library's tuner (Armijo
        // backtracking from a first move of 1 in log θ) on the SVM's held-out criterion.
        var path: [(logTheta: Double, loss: Double, accuracy: Double, gradient: Double)] = []
        if outerSteps > 0, let (svm, validation) = smallest {
            let criterion = try HeldOutCriterion(problem: MulticlassSVM.Model(svm: svm, logTheta: logTheta), heldOut: validation,
                                                 tolerance: tolerance)
            var options = OuterOptions(maxIterations: outerSteps)
            options.relativeDecrease = 0
            let report = try Tuner(optimizer: GradientDescent(), options: options)
                .tune(criterion, from: [logTheta], bounds: TuningBounds(lower: [logTheta - 20], upper: [logTheta + 20]))
            for step in report.trajectory {
                let t = step.theta[0]
                let beta = try svm.solve(logTheta: t, solver: .blockCoordinateDescent, tolerance: tolerance, maxIterations: 1_000_000).beta
                path.append((t, step.value, svm.validationAccuracy(beta, logTheta: t, on: validation), step.gradient[0]))
            }
        }
        if json {
            var o = JSONObject()
            o.set("samples", samples); o.set("validationSamples", validationSamples); o.set("classes", classes)
            o.set("rowNonzeros", rowNonzeros); o.set("zipf", zipf); o.set("logTheta", logTheta); o.set("tolerance", tolerance)
            o.set("rows", rows.map { r -> JSONObject in
                var q = JSONObject()
                q.set("features", r.features); q.set("solver", r.solver.rawValue); q.set("iterations", r.iterations); q.set("gap", r.gap)
                q.set("solveSeconds", r.solveSeconds); q.set("implicitSeconds", r.implicit.seconds)
                q.set("implicitGradient", r.implicit.gradient); q.set("conditionResidual", r.implicit.conditionResidual)
                q.set("adjointIterations", r.implicit.linearIterations)
                if let u = r.unrolled { q.set("unrolledSeconds", u.seconds); q.set("unrolledGradient", u.gradient) }
                else { q.setNull("unrolledSeconds"); q.set("unrolledEstimatedSeconds", r.unrolledEstimate) }
                if let fd = r.finiteDifference { q.set("finiteDifference", fd) }
                return q
            })
            o.set("agreement", agreement.map { a -> JSONObject in
                var q = JSONObject(); q.set("features", a.features); q.set("converged", a.converged.joined(separator: ","))
                q.set("relativeSpread", a.spread)
                q.set("notConverged", a.others.map { other -> JSONObject in
                    var r = JSONObject(); r.set("solver", other.0); r.set("gap", other.1); r.set("relativeDifference", other.2); return r
                })
                return q
            })
            o.set("descent", path.map { d -> JSONObject in
                var q = JSONObject(); q.set("logTheta", d.logTheta); q.set("loss", d.loss); q.set("accuracy", d.accuracy); q.set("gradient", d.gradient); return q
            })
            print(o.render())
        } else {
            for a in agreement {
                var line = String(format: "p = %d: ", a.features)
                line += a.converged.isEmpty ? "no solver reached the tolerance"
                    : String(format: "%@ (converged) agree to %.1e relative", a.converged.joined(separator: ", "), a.spread)
                for (name, gap, difference) in a.others {
                    line += String(format: "; %@ stopped at gap %.1e and differs by %.1e", name, gap, difference)
                }
                print(line)
            }
            if !path.isEmpty {
                print("gradient descent on log θ (BCD + implicit, Armijo), p = \(smallest!.0.features):")
                for (i, d) in path.enumerated() {
                    print(String(format: "  step %2d: log θ %8.4f   validation loss %.6f   accuracy %.3f   dL/dlogθ %+.3e", i, d.logTheta, d.loss, d.accuracy, d.gradient))
                }
            }
        }
        if let plot { try TextFile.write(Self.svg(rows, solvers: list), to: plot) }
    }

    /// Seconds against features (log-log): implicit (solve + implicit hypergradient, solid) and
    /// unrolled (dashed) per solver.
    static func svg(_ rows: [Row], solvers: [MulticlassSVM.Solver]) -> String {
        let width = 680.0, height = 460.0, left = 80.0, right = 220.0, top = 50.0, bottom = 60.0
        let times = rows.flatMap { r in [r.solveSeconds + r.implicit.seconds] + (r.unrolled.map { [$0.seconds] } ?? []) }.filter { $0 > 0 }
        let ps = rows.map { log10(Double($0.features)) }
        let x0 = Foundation.floor((ps.min() ?? 2) * 2) / 2, x1 = Foundation.ceil((ps.max() ?? 3) * 2) / 2
        let y0 = Foundation.floor(log10(times.min() ?? 1e-3)), y1 = Foundation.ceil(log10(times.max() ?? 1))
        func px(_ v: Double) -> Double { left + (v - x0) / max(x1 - x0, 0.5) * (width - left - right) }
        func py(_ v: Double) -> Double { height - bottom - (v - y0) / max(y1 - y0, 1) * (height - top - bottom) }
        let colors: [MulticlassSVM.Solver: String] = [.mirrorDescent: "#1f77b4", .projectedGradient: "#d62728", .blockCoordinateDescent: "#2ca02c"]
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\((left + width - right) / 2)" y="24" text-anchor="middle" font-size="14" font-weight="bold">Multiclass SVM hypergradient: implicit vs unrolled</text>

        """
        var d = y0
        while d <= y1 {
            s += "<line x1=\"\(left)\" y1=\"\(py(d))\" x2=\"\(width - right)\" y2=\"\(py(d))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(py(d) + 4)\" text-anchor=\"end\">1e\(Int(d))</text>\n"
            d += 1
        }
        for p in Set(rows.map(\.features)).sorted() {
            let v = log10(Double(p))
            s += "<line x1=\"\(px(v))\" y1=\"\(top)\" x2=\"\(px(v))\" y2=\"\(height - bottom)\" stroke=\"#eee\"/>"
            s += "<text x=\"\(px(v))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(p)</text>\n"
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 18)\" text-anchor=\"middle\">features p</text>\n"
        s += "<text x=\"18\" y=\"\((top + height - bottom) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \((top + height - bottom) / 2))\">seconds (value + hypergradient)</text>\n"
        var legend = top + 10
        for solver in solvers {
            let color = colors[solver] ?? "black"
            let mine = rows.filter { $0.solver == solver }.sorted { $0.features < $1.features }
            let implicit = mine.map { (log10(Double($0.features)), log10(max($0.solveSeconds + $0.implicit.seconds, 1e-9))) }
            let unrolled = mine.compactMap { r in r.unrolled.map { (log10(Double(r.features)), log10(max($0.seconds, 1e-9))) } }
            for (series, dash) in [(implicit, ""), (unrolled, " stroke-dasharray=\"6 4\"")] where !series.isEmpty {
                s += "<polyline points=\"\(series.map { "\(px($0.0)),\(py($0.1))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(dash)/>\n"
                for point in series { s += "<circle cx=\"\(px(point.0))\" cy=\"\(py(point.1))\" r=\"3\" fill=\"\(color)\"/>\n" }
            }
            s += "<line x1=\"\(width - right + 10)\" y1=\"\(legend)\" x2=\"\(width - right + 34)\" y2=\"\(legend)\" stroke=\"\(color)\" stroke-width=\"1.8\"/><text x=\"\(width - right + 40)\" y=\"\(legend + 4)\">\(solver.rawValue) implicit</text>\n"
            legend += 18
            s += "<line x1=\"\(width - right + 10)\" y1=\"\(legend)\" x2=\"\(width - right + 34)\" y2=\"\(legend)\" stroke=\"\(color)\" stroke-width=\"1.8\" stroke-dasharray=\"6 4\"/><text x=\"\(width - right + 40)\" y=\"\(legend + 4)\">\(solver.rawValue) unrolled</text>\n"
            legend += 24
        }
        if rows.contains(where: { $0.unrolled == nil }) {
            s += "<text x=\"\(width - right + 10)\" y=\"\(legend + 4)\" fill=\"#555\">missing dashed points:</text>"
            s += "<text x=\"\(width - right + 10)\" y=\"\(legend + 20)\" fill=\"#555\">unrolling over budget</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}
