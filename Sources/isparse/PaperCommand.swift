import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import Sparse

/// `isparse paper …`: the experiments of Blondel et al., "Efficient and Modular Implicit
/// Differentiation" (NeurIPS 2022), reproduced with the toolkit.
struct PaperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper",
        abstract: "The experiments of Blondel et al. (NeurIPS 2022), reproduced and scaled (docs/PAPER.md).",
        subcommands: [SoftSphereCommand.self, MulticlassSVMCommand.self, TheoremOneCommand.self])
}

struct TheoremOneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "theorem1",
        abstract: "Theorem 1: the implicit Jacobian's error against the solution's error as the inner tolerance tightens.",
        discussion: """
        For each problem (θ = log λ), the inner solver stops at tolerances 10⁻¹ … 10⁻¹²; at each \
        approximate solution x̂ the implicit layer differentiates as if x̂ were exact, and the \
        Jacobian's relative error (estimated from --directions random projections) is set \
        against the solution's relative error. Theorem 1 bounds the first by a constant times \
        the second: on a log-log plot the points lie on a line of slope about 1 (ridge, elastic \
        net). The lasso's Jacobian depends on x̂ only through its support and signs, so its error \
        drops to rounding once the support is found (no slope is fitted then). Example: \
        isparse paper theorem1 --plot theorem1.svg
        """)

    enum Which: String, ExpressibleByArgument, CaseIterable { case all, ridge, enet, lasso }

    @Option(help: "ridge, enet, lasso or all.")
    var problem: Which = .all
    @Option(help: "Rows n of the generated text-like design.")
    var rows: Int = 2_000
    @Option(help: "Columns p.")
    var columns: Int = 1_000
    @Option(name: .customLong("lambda-ratio"), help: "λ = λ_max / R.")
    var lambdaRatio: Double = 10
    @Option(help: "Random directions of the Jacobian-error estimate.")
    var directions: Int = 16
    @Option(help: "Seed.")
    var seed: UInt64 = 0
    @Option(help: "Write the log-log plot (SVG).")
    var plot: String?
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard rows >= 10, columns >= 2 else { throw ValidationError("--rows must be at least 10 and --columns at least 2") }
        guard lambdaRatio >= 1, lambdaRatio.isFinite else { throw ValidationError("--lambda-ratio must be ≥ 1") }
        guard (1...1000).contains(directions) else { throw ValidationError("--directions must be between 1 and 1000") }
    }

    func run() throws {
        try Files.checkWritableDirectory(plot, option: "--plot")
        let problems: [TheoremOne.Problem] = problem == .all ? TheoremOne.Problem.allCases
            : [TheoremOne.Problem(rawValue: problem.rawValue)!]
        var results: [TheoremOne.Result] = []
        for p in problems {
            let start = DispatchTime.now()
            let r = try TheoremOne.run(problem: p, rows: rows, columns: columns, lambdaRatio: lambdaRatio, directions: directions, seed: seed)
            results.append(r)
            guard !json else { continue }
            print("\(p.rawValue): n = \(r.rows), p = \(r.columns), λ = \(String(format: "%.4g", r.lambda)); reference residual \(String(format: "%.1e", r.referenceResidual))")
            print("  tolerance   iterations   ‖x̂ − x*‖/‖x*‖   ‖∂x̂ − ∂x*‖/‖∂x*‖   ratio")
            for point in r.points {
                print(String(format: "  %8.0e   %10d   %14.3e   %17.3e   %6.3g", point.tolerance, point.iterations, point.solutionError,
                             point.jacobianError, point.solutionError > 0 ? point.jacobianError / point.solutionError : .nan))
            }
            if let slope = r.slope {
                print(String(format: "  fitted slope %.3f (Theorem 1: the error is O(‖x̂ − x*‖), slope 1); C ≈ %.3g; %.2f s", slope, r.constant, seconds(since: start)))
            } else {
                let exactFrom = r.points.firstIndex { $0.jacobianError <= 1e-12 }
                print(String(format: "  no slope: the Jacobian depends on x̂ only through its support and signs; from tolerance %@ on it is exact to rounding (%d of %d points); %.2f s",
                             exactFrom.map { String(format: "%.0e", r.points[$0].tolerance) } ?? "—",
                             r.points.filter { $0.jacobianError <= 1e-12 }.count, r.points.count, seconds(since: start)))
            }
        }
        if json {
            var object = JSONObject()
            object.set("results", results.map { r -> JSONObject in
                var o = JSONObject()
                o.set("problem", r.problem.rawValue); o.set("rows", r.rows); o.set("columns", r.columns); o.set("lambda", r.lambda)
                if let slope = r.slope { o.set("slope", slope) } else { o.setNull("slope") }
                o.set("constant", r.constant); o.set("referenceResidual", r.referenceResidual)
                o.set("points", r.points.map { p -> JSONObject in
                    var q = JSONObject()
                    q.set("tolerance", p.tolerance); q.set("iterations", p.iterations)
                    q.set("solutionError", p.solutionError); q.set("jacobianError", p.jacobianError)
                    return q
                })
                return o
            })
            print(object.render())
        }
        if let plot { try TextFile.write(Self.svg(results), to: plot) }
    }

    /// Log-log scatter of Jacobian error against solution error, one series per problem, with
    /// a dashed line of slope 1 through the ridge's median ratio.
    static func svg(_ results: [TheoremOne.Result]) -> String {
        let width = 640.0, height = 460.0, left = 80.0, right = 160.0, top = 50.0, bottom = 60.0
        let all = results.flatMap(\.points).filter { $0.solutionError > 0 }
        let floor = 1e-16
        let xs = all.map { log10($0.solutionError) }, ys = all.map { log10(max($0.jacobianError, floor)) }
        let x0 = Foundation.floor(xs.min() ?? -12), x1 = Foundation.ceil(xs.max() ?? 0)
        let y0 = Foundation.floor(ys.min() ?? -16), y1 = Foundation.ceil(ys.max() ?? 0)
        func px(_ v: Double) -> Double { left + (v - x0) / max(x1 - x0, 1) * (width - left - right) }
        func py(_ v: Double) -> Double { height - bottom - (v - y0) / max(y1 - y0, 1) * (height - top - bottom) }
        let colors = ["ridge": "#1f77b4", "enet": "#d62728", "lasso": "#2ca02c"]
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2 - 40)" y="24" text-anchor="middle" font-size="14" font-weight="bold">Theorem 1: Jacobian error against solution error</text>

        """
        var d = x0
        while d <= x1 {
            s += "<line x1=\"\(px(d))\" y1=\"\(top)\" x2=\"\(px(d))\" y2=\"\(height - bottom)\" stroke=\"#eee\"/>"
            s += "<text x=\"\(px(d))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">1e\(Int(d))</text>\n"
            d += d >= x1 ? 1 : max(1, Foundation.floor((x1 - x0) / 8))
        }
        d = y0
        while d <= y1 {
            s += "<line x1=\"\(left)\" y1=\"\(py(d))\" x2=\"\(width - right)\" y2=\"\(py(d))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(py(d) + 4)\" text-anchor=\"end\">1e\(Int(d))</text>\n"
            d += d >= y1 ? 1 : max(1, Foundation.floor((y1 - y0) / 8))
        }
        s += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(width - left - right)\" height=\"\(height - top - bottom)\" fill=\"none\" stroke=\"black\"/>\n"
        s += "<text x=\"\((left + width - right) / 2)\" y=\"\(height - 18)\" text-anchor=\"middle\">‖x̂ − x*‖ / ‖x*‖</text>\n"
        s += "<text x=\"18\" y=\"\((top + height - bottom) / 2)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \((top + height - bottom) / 2))\">‖∂x̂ − ∂x*‖ / ‖∂x*‖</text>\n"
        // Slope-1 reference through the ridge points' median ratio.
        if let ridge = results.first(where: { $0.problem == .ridge }) {
            let ratios = ridge.points.filter { $0.solutionError > 0 && $0.jacobianError > 0 }.map { log10($0.jacobianError / $0.solutionError) }.sorted()
            if !ratios.isEmpty {
                let c = ratios[ratios.count / 2]
                let a = max(x0, y0 - c), b = min(x1, y1 - c)
                if a < b {
                    s += "<line x1=\"\(px(a))\" y1=\"\(py(a + c))\" x2=\"\(px(b))\" y2=\"\(py(b + c))\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>\n"
                }
            }
        }
        var legend = top + 10
        for r in results {
            let color = colors[r.problem.rawValue] ?? "black"
            let points = r.points.filter { $0.solutionError > 0 }
            let path = points.map { "\(px(log10($0.solutionError))),\(py(log10(max($0.jacobianError, floor))))" }.joined(separator: " ")
            s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
            for p in points {
                s += "<circle cx=\"\(px(log10(p.solutionError)))\" cy=\"\(py(log10(max(p.jacobianError, floor))))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            }
            let label = r.problem.rawValue + (r.slope.map { String(format: ", slope %.2f", $0) } ?? ", exact once S found")
            s += "<circle cx=\"\(width - right + 14)\" cy=\"\(legend)\" r=\"4\" fill=\"\(color)\"/><text x=\"\(width - right + 24)\" y=\"\(legend + 4)\">\(label)</text>\n"
            legend += 20
        }
        s += "<line x1=\"\(width - right + 6)\" y1=\"\(legend)\" x2=\"\(width - right + 22)\" y2=\"\(legend)\" stroke=\"#888\" stroke-dasharray=\"6 4\"/><text x=\"\(width - right + 24)\" y=\"\(legend + 4)\">slope 1</text>\n"
        if all.contains(where: { $0.jacobianError < floor }) {
            s += "<text x=\"\(width - right + 8)\" y=\"\(legend + 26)\" fill=\"#555\">errors of exactly 0</text>"
            s += "<text x=\"\(width - right + 8)\" y=\"\(legend + 42)\" fill=\"#555\">are drawn at 1e-16</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}

struct SoftSphereCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "md",
        abstract: "Sensitivity of an energy-minimized soft-sphere packing to the small particles' diameter.",
        discussion: """
        N particles in a periodic 2-D box, half of diameter θ and half of diameter 1.4, harmonic \
        repulsion, packing fraction φ above jamming; FIRE then Newton minimize the energy; dx*/dθ \
        follows from ∇ₓE(x*, θ) = 0 by the implicit function theorem, one sparse solve with the \
        Hessian (rattlers — fewer than 3 contacts — left out, one particle pinned, the result made \
        mean-free over the others). The Hessian is assembled automatically by default (the condition \
        is written with the pair-interaction primitive; its pattern is detected, star-coloured and \
        filled by one pullback per color); --hessian hand uses the hand-written 2 × 2 blocks, and \
        --hessian both runs the two and reports their differences and assembly seconds. --check \
        compares with a central finite difference (two more minimizations from x*; a change of the \
        contact network between θ − h and θ + h makes the minimizer non-smooth there, which is \
        reported). Example: isparse paper md --particles 128 --check --plot md.svg
        """)

    @Option(help: "Particles N.")
    var particles: Int = 128
    @Option(name: .customLong("packing-fraction"), help: "φ at θ = 1 (jamming is near 0.84).")
    var packingFraction: Double = 0.9
    @Option(help: "The small species' diameter θ.")
    var theta: Double = 1
    @Option(help: "Seed of the initial positions.")
    var seed: UInt64 = 0
    @Option(name: .customLong("linear-solver"), help: "The Hessian solve: auto, cholesky, cg or minres.")
    var linearSolver: String = "auto"
    @Option(help: "The Hessian: automatic (detected pattern, star coloring, colored pullbacks), hand (hand-written blocks) or both (compared).")
    var hessian: String = "automatic"
    @Flag(help: "Compare with a central finite difference in θ.")
    var check = false
    @Option(name: .customLong("check-step"), help: "The finite difference's step h in θ.")
    var checkStep: Double = 1e-6
    @Option(help: "Draw the particles coloured by |dx/dθ| with arrows (SVG).")
    var plot: String?
    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        guard particles >= 4, particles <= 20_000_000 else { throw ValidationError("--particles must be between 4 and 2·10⁷") }
        guard packingFraction > 0.5, packingFraction < 1.2 else { throw ValidationError("--packing-fraction must be in (0.5, 1.2)") }
        guard theta > 0.5, theta < 1.4 else { throw ValidationError("--theta must be in (0.5, 1.4)") }
        guard checkStep > 0, checkStep < 0.01 else { throw ValidationError("--check-step must be in (0, 0.01)") }
        guard ["auto", "cholesky", "cg", "minres"].contains(linearSolver) else { throw ValidationError("--linear-solver must be auto, cholesky, cg or minres") }
        guard ["automatic", "hand", "both"].contains(hessian) else { throw ValidationError("--hessian must be automatic, hand or both") }
    }

    func run() throws {
        try Files.checkWritableDirectory(plot, option: "--plot")
        let packing = try SoftSpherePacking(count: particles, packingFraction: packingFraction)
        let interactive = !json && isatty(2) != 0
        let begin = DispatchTime.now()
        let minimum = try packing.minimize(from: packing.randomPositions(seed: seed), theta: theta) { fire, newton, gradient in
            let line = String(format: "minimizing: %d FIRE steps%@, max|∇E| %.1e, %.0f s", fire,
                              newton > 0 ? ", Newton step \(newton)" : "", gradient, seconds(since: begin))
            if interactive { FileHandle.standardError.write(("\r\u{1B}[K" + line).data(using: .utf8)!) }
        }
        if interactive { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
        let method = LinearSolveMethod(rawValue: linearSolver == "auto" ? "automatic" : linearSolver)!
        let strategy = LinearSolveStrategy(method, options: KrylovOptions(relativeTolerance: 1e-12, maxIterations: 100_000), name: "Hessian")
        let sensitivity = try packing.sensitivity(at: minimum.positions, theta: theta, strategy: strategy,
                                                  hessian: hessian == "hand" ? .hand : .automatic)
        // --hessian both: the hand-written route too, and how far apart the two are.
        var comparison: (hand: SoftSpherePacking.Sensitivity, hessianDifference: Double, sensitivityDifference: Double)?
        if hessian == "both" {
            let byHand = try packing.sensitivity(at: minimum.positions, theta: theta, strategy: strategy, hessian: .hand)
            let difference = try packing.hessianDifference(at: minimum.positions, theta: theta)
            let sensitivityDifference = Vector.norm(zip(byHand.derivative, sensitivity.derivative).map { $0 - $1 })
                / max(Vector.norm(byHand.derivative), 1e-300)
            comparison = (byHand, difference, sensitivityDifference)
        }
        let d = sensitivity.derivative
        let magnitudes: [Double] = (0..<particles).map { (i: Int) -> Double in
            let u = d[2 * i], v = d[2 * i + 1]
            return (u * u + v * v).squareRoot()
        }
        var check: (relative: Double, changed: Bool, disagreeing: Int)?
        if self.check {
            let fd = try packing.finiteDifference(at: minimum.positions, theta: theta, step: checkStep)
            let errors = zip(fd.derivative, sensitivity.derivative).map { $0 - $1 }
            let difference = Vector.norm(errors) / max(Vector.norm(fd.derivative), 1e-300)
            let scale = fd.derivative.map(abs).max() ?? 1
            let disagreeing = (0..<particles).filter { max(abs(errors[2 * $0]), abs(errors[2 * $0 + 1])) > 1e-4 * scale }.count
            check = (difference, fd.contactsChanged, disagreeing)
        }
        if let plot { try TextFile.write(Self.svg(packing, minimum.positions, sensitivity.derivative, magnitudes, theta: theta), to: plot) }
        // A dense ∂F/∂x = ∇²E, 2N × 2N doubles: what a dense implicit solve (the paper's JAX-MD
        // experiment) forms.
        let memory = 2 * particles * 2 * particles * 8
        if json {
            var o = JSONObject()
            o.set("particles", particles); o.set("packingFraction", packingFraction); o.set("theta", theta); o.set("side", packing.side)
            o.set("energy", minimum.energy); o.set("gradientNorm", minimum.gradientNorm)
            o.set("fireSteps", minimum.fireSteps); o.set("newtonSteps", minimum.newtonSteps)
            o.set("contacts", sensitivity.contacts); o.set("rattlers", sensitivity.rattlers)
            o.set("linearSolver", sensitivity.report?.method ?? "?"); o.set("linearSolverReason", sensitivity.report?.reason ?? "")
            o.set("solveResidual", sensitivity.residual)
            o.set("hessian", sensitivity.hessian.rawValue); o.set("hessianAssemblySeconds", sensitivity.assemblySeconds)
            if let summary = sensitivity.jacobian {
                var j = JSONObject()
                j.set("source", summary.source.rawValue); j.set("pattern", summary.patternSource?.rawValue ?? "")
                j.set("colors", summary.colors ?? 0); j.set("starColoring", summary.symmetric ?? false); j.set("nonzeros", summary.nonzeros ?? 0)
                j.set("detectionSeconds", summary.detectionSeconds ?? 0); j.set("coloringSeconds", summary.coloringSeconds ?? 0)
                j.set("evaluationSeconds", summary.evaluationSeconds ?? 0)
                o.set("jacobian", j)
            }
            if let comparison {
                var c = JSONObject()
                c.set("handAssemblySeconds", comparison.hand.assemblySeconds)
                c.set("hessianRelativeDifference", comparison.hessianDifference)
                c.set("sensitivityRelativeDifference", comparison.sensitivityDifference)
                o.set("handComparison", c)
            }
            o.set("meanSensitivity", magnitudes.reduce(0, +) / Double(particles)); o.set("maxSensitivity", magnitudes.max() ?? 0)
            var seconds = JSONObject(); seconds.set("minimize", minimum.seconds); seconds.set("sensitivity", sensitivity.seconds)
            o.set("seconds", seconds)
            o.set("denseHessianBytes", memory)
            if let check {
                o.set("finiteDifferenceRelativeDifference", check.relative); o.set("contactsChanged", check.changed)
                o.set("particlesDisagreeing", check.disagreeing)
            }
            print(o.render())
            return
        }
        print(String(format: "%d particles, φ = %.3f, box side %.4g, θ = %.4g", particles, packingFraction, packing.side, theta))
        print(String(format: "minimized: energy %.6e, max|∇E| %.1e (%d FIRE steps, %d Newton steps, %.2f s)", minimum.energy, minimum.gradientNorm,
                     minimum.fireSteps, minimum.newtonSteps, minimum.seconds))
        print(String(format: "sensitivity dx*/dθ: %d contacts, %d rattlers (sensitivity 0), solved by %@ (residual %.1e), %.2f s",
                     sensitivity.contacts, sensitivity.rattlers, sensitivity.report?.method ?? "?", sensitivity.residual, sensitivity.seconds))
        if let reason = sensitivity.report?.reason, linearSolver == "auto" { print("  the policy's reason: \(reason)") }
        if let summary = sensitivity.jacobian {
            print("Hessian: \(summary)")
        } else {
            print(String(format: "Hessian: hand-written blocks, assembled in %.3g s", sensitivity.assemblySeconds))
        }
        if let comparison {
            print(String(format: "hand-written Hessian: assembled in %.3g s (automatic %.3g s, %.2f×; detection and coloring once %.3g s); "
                         + "Hessians differ by %.1e relative, sensitivities by %.1e", comparison.hand.assemblySeconds, sensitivity.assemblySeconds,
                         sensitivity.assemblySeconds / max(comparison.hand.assemblySeconds, 1e-12),
                         (sensitivity.jacobian?.detectionSeconds ?? 0) + (sensitivity.jacobian?.coloringSeconds ?? 0),
                         comparison.hessianDifference, comparison.sensitivityDifference))
        }
        print(String(format: "|dxᵢ/dθ|: mean %.4g, max %.4g; a dense ∂F/∂x (2N × 2N, the paper's dense approach) would need %@",
                     magnitudes.reduce(0, +) / Double(particles), magnitudes.max() ?? 0, formatBytes(memory)))
        if let check {
            print(String(format: "check: central finite difference (h = %.0e), relative difference %.2e, %d particles off by more than 1e-4 of the largest%@",
                         checkStep, check.relative, check.disagreeing,
                         check.changed ? " — the contact network changed between θ − h and θ + h: the minimizer is not smooth here" : ""))
        }
    }

    /// Particles as circles coloured by |dxᵢ/dθ| (white → red), with arrows along dxᵢ/dθ.
    static func svg(_ packing: SoftSpherePacking, _ x: [Double], _ derivative: [Double], _ magnitudes: [Double], theta: Double) -> String {
        let size = 640.0, margin = 40.0
        let scale = (size - 2 * margin) / packing.side
        let maximum = max(magnitudes.max() ?? 1, 1e-300)
        let arrow = 0.8 / maximum   // the longest arrow is 0.8 diameters
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(size + 120))" height="\(Int(size + 40))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(margin)" y="24" font-size="14" font-weight="bold">Sensitivity of the packing to the small diameter θ (N = \(packing.count))</text>
        <rect x="\(margin)" y="\(margin)" width="\(size - 2 * margin)" height="\(size - 2 * margin)" fill="none" stroke="black"/>
        <defs><marker id="head" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="black"/></marker>
        <clipPath id="box"><rect x="\(margin)" y="\(margin)" width="\(size - 2 * margin)" height="\(size - 2 * margin)"/></clipPath></defs>
        <g clip-path="url(#box)">

        """
        let drawArrows = packing.count <= 5_000
        for i in 0..<packing.count {
            var px = x[2 * i] - packing.side * (x[2 * i] / packing.side).rounded(.down)
            var py = x[2 * i + 1] - packing.side * (x[2 * i + 1] / packing.side).rounded(.down)
            px = margin + px * scale; py = size - margin - py * scale
            let radius = (packing.small[i] ? theta : SoftSpherePacking.largeDiameter) / 2 * scale
            let t = magnitudes[i] / maximum
            let color = String(format: "rgb(255,%d,%d)", Int(255 * (1 - t)), Int(255 * (1 - t)))
            s += "<circle cx=\"\(px)\" cy=\"\(py)\" r=\"\(radius)\" fill=\"\(color)\" stroke=\"#444\" stroke-width=\"0.5\"/>\n"
            if drawArrows && magnitudes[i] > 0.02 * maximum {
                let ex = px + derivative[2 * i] * arrow * scale, ey = py - derivative[2 * i + 1] * arrow * scale
                s += "<line x1=\"\(px)\" y1=\"\(py)\" x2=\"\(ex)\" y2=\"\(ey)\" stroke=\"black\" stroke-width=\"1\" marker-end=\"url(#head)\"/>\n"
            }
        }
        s += "</g>\n"
        // Colour bar.
        for k in 0..<10 {
            let t = Double(9 - k) / 9
            s += "<rect x=\"\(size + 10)\" y=\"\(margin + Double(k) * 20)\" width=\"20\" height=\"20\" fill=\"rgb(255,\(Int(255 * (1 - t))),\(Int(255 * (1 - t))))\" stroke=\"#444\" stroke-width=\"0.3\"/>\n"
        }
        s += "<text x=\"\(size + 36)\" y=\"\(margin + 14)\">\(String(format: "%.3g", maximum))</text>"
        s += "<text x=\"\(size + 36)\" y=\"\(margin + 194)\">0</text>"
        s += "<text x=\"\(size + 10)\" y=\"\(margin + 220)\">|dxᵢ/dθ|</text>\n</svg>\n"
        return s
    }
}
