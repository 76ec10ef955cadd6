import Foundation

/// The SVG picture of a one-hyperparameter tuning run: the criterion against λ on a log axis,
/// the grid curve when one was computed, the trajectory as numbered points joined by arrows,
/// the best point marked. Self-contained SVG 1.1 (no scripts, no external fonts).
public enum TuningPlot {
    static let width = 760.0, height = 480.0, left = 90.0, right = 30.0, top = 50.0, bottom = 70.0

    static func f(_ v: Double) -> String { String(format: "%.2f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Ticks at round values (1, 2 or 5 × 10ᵏ apart) covering [low, high] with 3 to 8 marks,
    /// and their labels printed to the step's precision.
    static func roundTicks(_ low: Double, _ high: Double) -> [(value: Double, label: String)] {
        guard high > low, low.isFinite, high.isFinite else { return [(low, String(format: "%g", low))] }
        // The largest round step at most a third of the range: 3 to 8 ticks.
        let raw = (high - low) / 3
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [5.0, 2, 1].map { $0 * magnitude }.first { $0 <= raw * (1 + 1e-12) } ?? magnitude
        let decimals = max(0, -Int(Foundation.floor(Foundation.log10(step))))
        var ticks: [(Double, String)] = []
        var k = Foundation.ceil(low / step - 1e-9)
        while k * step <= high + 1e-9 * step {
            let v = k * step
            ticks.append((v, String(format: "%.\(min(decimals, 12))f", v == 0 ? 0 : v)))
            k += 1
        }
        return ticks
    }

    /// Ticks of a log axis over [low, high] in log10 units: each decade, and 2 and 5 within it
    /// when the axis spans less than two decades.
    static func logTicks(_low low: Double, _ high: Double) -> [(value: Double, label: String)] {
        var ticks: [(Double, String)] = []
        let multipliers: [Double] = high - low < 2 ? [1, 2, 5] : [1]
        for d in Int(Foundation.floor(low))...Int(Foundation.ceil(high)) {
            for m in multipliers {
                let v = m * Foundation.pow(10, Double(d)), u = Foundation.log10(v)
                if u >= low - 1e-9 && u <= high + 1e-9 { ticks.append((v, String(format: "%g", v))) }
            }
        }
        return ticks
    }

    /// The iterates' numbers placed so that none overlaps another: a label that would fall on
    /// an earlier one (within 16 × 12 px) joins it ("4, 5").
    static func iterateLabels(_ positions: [(x: Double, y: Double)]) -> String {
        var placed: [(x: Double, y: Double, text: String)] = []
        for (k, p) in positions.enumerated() {
            if let i = placed.lastIndex(where: { abs($0.x - (p.x + 6)) < 16 && abs($0.y - (p.y - 6)) < 12 }) {
                placed[i].text += ", \(k)"
            } else {
                placed.append((p.x + 6, p.y - 6, "\(k)"))
            }
        }
        return placed.map { "<text x=\"\(f($0.x))\" y=\"\(f($0.y))\" fill=\"#1f5fa8\" font-size=\"10\">\($0.text)</text>\n" }.joined()
    }

    /// The vertical axis' ticks and labels (round values; decades on a log axis).
    static func verticalAxis(_ y0: Double, _ y1: Double, logY: Bool, py: (Double) -> Double) -> String {
        let ticks = logY ? logTicks(_low: y0, y1) : roundTicks(y0, y1)
        var out = ""
        for (v, label) in ticks {
            let y = py(v)
            out += "<line x1=\"\(f(left - 6))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"black\"/>"
            out += "<text x=\"\(f(left - 10))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(label)</text>\n"
        }
        return out
    }

    /// The document, the arrow marker, the background, the title and the two axes.
    static func header(title: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1f5fa8"/></marker></defs>
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="24" text-anchor="middle" font-size="15">\(escape(title))</text>
        <line x1="\(f(left))" y1="\(f(height - bottom))" x2="\(f(width - right))" y2="\(f(height - bottom))" stroke="black"/>
        <line x1="\(f(left))" y1="\(f(top))" x2="\(f(left))" y2="\(f(height - bottom))" stroke="black"/>

        """
    }

    /// - Parameters:
    ///   - title: the plot's title.
    ///   - criterion: the criterion's name, for the vertical axis.
    ///   - trajectory: the accepted outer steps (θ = [log λ]).
    ///   - grid: (λ, criterion) pairs of a grid search, possibly empty.
    ///   - best: (λ, criterion) of the best point.
    public static func svg(title: String, criterion: String, trajectory: [OuterStep], grid: [(lambda: Double, value: Double)],
                           best: (lambda: Double, value: Double)) -> String {
        let points = trajectory.map { (Foundation.exp($0.point[0]), $0.value) }
        let all = points + grid.map { ($0.lambda, $0.value) } + [(best.lambda, best.value)]
        // The criterion on a log axis when it spans more than a factor 20 (far from the optimum
        // a path's loss is orders of magnitude above it), linear otherwise.
        let positive = all.allSatisfy { $0.1 > 0 }
        let logY = positive && (all.map(\.1).max() ?? 1) > 20 * (all.map(\.1).min() ?? 1)
        func ty(_ v: Double) -> Double { logY ? Foundation.log10(v) : v }
        let xs = all.map { Foundation.log10($0.0) }, ys = all.map { ty($0.1) }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if x1 - x0 < 1e-9 { x0 -= 0.5; x1 += 0.5 }
        if y1 - y0 < 1e-12 * max(1, abs(y1)) { y0 -= 0.5 * max(abs(y0), 1e-3); y1 += 0.5 * max(abs(y1), 1e-3) }
        let pad = 0.05 * (y1 - y0)
        y0 -= pad; y1 += pad
        func px(_ lambda: Double) -> Double { left + (Foundation.log10(lambda) - x0) / (x1 - x0) * (width - left - right) }
        func py(_ value: Double) -> Double { top + (y1 - ty(value)) / (y1 - y0) * (height - top - bottom) }
        var out = header(title: title)
        // Decades on the λ axis (at most 12 labels), five ticks on the criterion axis.
        let firstDecade = Int(Foundation.floor(x0)), lastDecade = Int(Foundation.ceil(x1))
        let stride = max(1, (lastDecade - firstDecade) / 12 + 1)
        for d in Swift.stride(from: firstDecade, through: lastDecade, by: stride) where Double(d) >= x0 - 1e-9 && Double(d) <= x1 + 1e-9 {
            let x = px(Foundation.pow(10, Double(d)))
            out += "<line x1=\"\(f(x))\" y1=\"\(f(height - bottom))\" x2=\"\(f(x))\" y2=\"\(f(height - bottom + 6))\" stroke=\"black\"/>"
            out += "<text x=\"\(f(x))\" y=\"\(f(height - bottom + 20))\" text-anchor=\"middle\">1e\(d)</text>\n"
        }
        out += verticalAxis(y0, y1, logY: logY, py: py)
        out += "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 20))\" text-anchor=\"middle\">λ (log scale)</text>\n"
        out += "<text x=\"20\" y=\"\(f((top + height - bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(f((top + height - bottom) / 2)))\">\(escape(criterion))\(logY ? " (log scale)" : "")</text>\n"
        if !grid.isEmpty {
            let sorted = grid.sorted { $0.lambda < $1.lambda }
            out += "<polyline fill=\"none\" stroke=\"#999999\" stroke-width=\"1.5\" points=\""
                + sorted.map { "\(f(px($0.lambda))),\(f(py($0.value)))" }.joined(separator: " ") + "\"/>\n"
        }
        for k in 1..<max(points.count, 1) {
            let (a, b) = (points[k - 1], points[k])
            out += "<line class=\"step\" x1=\"\(f(px(a.0)))\" y1=\"\(f(py(a.1)))\" x2=\"\(f(px(b.0)))\" y2=\"\(f(py(b.1)))\" stroke=\"#1f5fa8\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>\n"
        }
        for p in points {
            out += "<circle class=\"iterate\" cx=\"\(f(px(p.0)))\" cy=\"\(f(py(p.1)))\" r=\"4\" fill=\"#1f5fa8\"/>\n"
        }
        out += iterateLabels(points.map { (px($0.0), py($0.1)) })
        out += "<circle class=\"best\" cx=\"\(f(px(best.lambda)))\" cy=\"\(f(py(best.value)))\" r=\"8\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2.5\"/>\n"
        let legendY = top + 8
        out += "<text x=\"\(f(width - right - 8))\" y=\"\(f(legendY))\" text-anchor=\"end\" fill=\"#c0392b\">best: λ = \(String(format: "%.4g", best.lambda)), \(escape(criterion)) = \(String(format: "%.6g", best.value))</text>\n"
        out += "<text x=\"\(f(width - right - 8))\" y=\"\(f(legendY + 16))\" text-anchor=\"end\" fill=\"#1f5fa8\">outer iterations 0–\(max(points.count - 1, 0))</text>\n"
        if !grid.isEmpty {
            out += "<text x=\"\(f(width - right - 8))\" y=\"\(f(legendY + 32))\" text-anchor=\"end\" fill=\"#777777\">grid of \(grid.count) values</text>\n"
        }
        return out + "</svg>\n"
    }

    /// The picture of a run over several hyperparameters (the elastic net's two strengths,
    /// feature weights): the criterion against the outer iteration, the accepted iterates
    /// numbered and joined by arrows, the best point marked, and a reference level (the grid's
    /// best, or the plain lasso's) as a dashed line when given.
    public static func svgByIteration(title: String, criterion: String, trajectory: [OuterStep], best: (iteration: Int, value: Double),
                                      reference: (label: String, value: Double)? = nil) -> String {
        let values = trajectory.map(\.value) + [best.value] + (reference.map { [$0.value] } ?? [])
        let positive = values.allSatisfy { $0 > 0 }
        let logY = positive && (values.max() ?? 1) > 20 * (values.min() ?? 1)
        func ty(_ v: Double) -> Double { logY ? Foundation.log10(v) : v }
        var (y0, y1) = (values.map(ty).min() ?? 0, values.map(ty).max() ?? 1)
        if y1 - y0 < 1e-12 * max(1, abs(y1)) { y0 -= 0.5 * max(abs(y0), 1e-3); y1 += 0.5 * max(abs(y1), 1e-3) }
        let pad = 0.05 * (y1 - y0)
        y0 -= pad; y1 += pad
        let last = Double(max(trajectory.count - 1, 1))
        func px(_ k: Double) -> Double { left + k / last * (width - left - right) }
        func py(_ value: Double) -> Double { top + (y1 - ty(value)) / (y1 - y0) * (height - top - bottom) }
        var out = header(title: title)
        let tickStride = max(1, Int(last) / 10 + (Int(last) % 10 == 0 ? 0 : 1))
        for k in Swift.stride(from: 0, through: Int(last), by: tickStride) {
            let x = px(Double(k))
            out += "<line x1=\"\(f(x))\" y1=\"\(f(height - bottom))\" x2=\"\(f(x))\" y2=\"\(f(height - bottom + 6))\" stroke=\"black\"/>"
            out += "<text x=\"\(f(x))\" y=\"\(f(height - bottom + 20))\" text-anchor=\"middle\">\(k)</text>\n"
        }
        out += verticalAxis(y0, y1, logY: logY, py: py)
        out += "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 20))\" text-anchor=\"middle\">outer iteration</text>\n"
        out += "<text x=\"20\" y=\"\(f((top + height - bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 20 \(f((top + height - bottom) / 2)))\">\(escape(criterion))\(logY ? " (log scale)" : "")</text>\n"
        if let reference {
            out += "<line x1=\"\(f(left))\" y1=\"\(f(py(reference.value)))\" x2=\"\(f(width - right))\" y2=\"\(f(py(reference.value)))\" stroke=\"#999999\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n"
            out += "<text x=\"\(f(left + 8))\" y=\"\(f(py(reference.value) + 16))\" text-anchor=\"start\" fill=\"#777777\">\(escape(reference.label)) = \(String(format: "%.6g", reference.value))</text>\n"
        }
        for k in 1..<max(trajectory.count, 1) {
            out += "<line class=\"step\" x1=\"\(f(px(Double(k - 1))))\" y1=\"\(f(py(trajectory[k - 1].value)))\" x2=\"\(f(px(Double(k))))\" y2=\"\(f(py(trajectory[k].value)))\" stroke=\"#1f5fa8\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>\n"
        }
        for (k, step) in trajectory.enumerated() {
            out += "<circle class=\"iterate\" cx=\"\(f(px(Double(k))))\" cy=\"\(f(py(step.value)))\" r=\"4\" fill=\"#1f5fa8\"/>\n"
        }
        out += iterateLabels(trajectory.enumerated().map { (px(Double($0.offset)), py($0.element.value)) })
        out += "<circle class=\"best\" cx=\"\(f(px(Double(best.iteration))))\" cy=\"\(f(py(best.value)))\" r=\"8\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2.5\"/>\n"
        out += "<text x=\"\(f(width - right - 8))\" y=\"\(f(top + 8))\" text-anchor=\"end\" fill=\"#c0392b\">best: iteration \(best.iteration), \(escape(criterion)) = \(String(format: "%.6g", best.value))</text>\n"
        return out + "</svg>\n"
    }
}
