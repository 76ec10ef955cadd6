import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import Preconditioners
import Sparse

/// `isparse bench`: our cases and, with --peers, the Python peers on the same files, in
/// interleaved rounds; a table of medians and spreads, JSON, an SVG of the ratios.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark suites, with the Python peers side by side (--peers).",
        discussion: """
        Suites: \(BenchSuite.allCases.map(\.rawValue).joined(separator: ", ")), all. Each round \
        runs every case of ours once, then (with --peers) one Python process that loads the same \
        files and times each peer once after an untimed warm-up (numba and XLA compile on the \
        first call). The table gives the median over rounds and the spread (min–max) of each \
        side and of the per-round ratio ours/peer (below 1: ours is faster). A peer that does \
        not import is reported as skipped. Data are generated into --work once and reused. \
        Peers run with OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS set to --peer-threads (default: our \
        --threads). Build with -c release for numbers worth quoting: a debug build says so in \
        the header. Example: isparse bench lasso amg --peers --rounds 5 --json bench.json --plot bench.svg
        """)

    @Argument(help: "Suites to run (default: all).")
    var suites: [String] = ["all"]

    @Flag(help: "Also time the Python peers (SciPy, scikit-sparse, PyAMG, skglm, celer, scikit-learn, JAXopt) when importable.")
    var peers = false

    @Option(help: "Rounds (each round times every case once on each side).")
    var rounds: Int = 5

    @Flag(help: "Small sizes for CI: the whole run in under a minute.")
    var quick = false

    @Option(help: "A LIBSVM file for the lasso, logreg, hypergrad and tune suites instead of the generated text-like data (split 80/20 for validation).")
    var data: String?

    @Option(help: "Folder for generated data and the peer script (default: $TMPDIR/isparse-bench).")
    var work: String?

    @Option(name: .customLong("json"), help: "Write the results as JSON to this file.")
    var jsonPath: String?

    @Option(help: "Write an SVG bar chart of the ratios ours/peer to this file.")
    var plot: String?

    @Option(help: "Python interpreter for the peers.")
    var python = "python3"

    @Option(name: .customLong("peer-threads"), help: "Threads the peers may use (default: ours).")
    var peerThreads: Int?

    @Option(help: "Print the table (and with --plot draw the chart) of an earlier run's --json file instead of running.")
    var report: String?

    @Flag(help: "Print the table in Markdown (as docs/BENCHMARKS.md holds it).")
    var markdown = false

    @OptionGroup var threads: ThreadOptions

    func selectedSuites() throws -> [BenchSuite] {
        var chosen: [BenchSuite] = []
        for name in suites {
            if name == "all" { chosen += BenchSuite.allCases; continue }
            guard let suite = BenchSuite(rawValue: name) else {
                throw ValidationError("unknown suite '\(name)'; expected \(BenchSuite.allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            chosen.append(suite)
        }
        var seen = Set<BenchSuite>()
        return chosen.filter { seen.insert($0).inserted }
    }

    func validate() throws {
        _ = try selectedSuites()
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 1000") }
        if let peerThreads, !(1...1024).contains(peerThreads) { throw ValidationError("--peer-threads must be between 1 and 1024") }
    }

    func run() throws {
        if let report {
            try Files.checkEncoding(report, option: "--report")
            try Files.checkOutput(plot, option: "--plot", inputs: [report])
            let saved = try BenchReport(json: report)
            print(markdown ? saved.markdown() : saved.machine.header + "\n" + saved.table())
            if let plot { try TextFile.write(saved.svg(), to: plot) }
            return
        }
        threads.apply()
        setvbuf(stdout, nil, _IOLBF, 0)
        for path in [data, jsonPath, plot] { try Files.checkEncoding(path, option: "path") }
        try Files.checkOutput(jsonPath, option: "--json", inputs: [data])
        try Files.checkOutput(plot, option: "--plot", inputs: [data, jsonPath])
        // Failures that need no work are reported before the header: one line, nothing else.
        _ = try selectedSuites()
        if let data, !FileManager.default.isReadableFile(atPath: data) {
            throw CLIFailure(code: .input, message: "--data \(data): cannot open: \(FileManager.default.fileExists(atPath: data) ? "not readable" : "no such file")")
        }
        _ = try Files.Outputs([(jsonPath, "--json"), (plot, "--plot")])
        let folder = work ?? (NSTemporaryDirectory() + "/isparse-bench")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let machine = BenchMachine(peerThreads: peerThreads ?? SparseThreads.count, rounds: rounds, quick: quick)
        print(machine.header)
        let progress = BenchProgress()
        var cases: [BenchCase] = []
        for suite in try selectedSuites() {
            progress.say("preparing \(suite.rawValue)…")
            cases += try suite.cases(BenchContext(folder: folder, quick: quick, data: data))
        }
        let script = folder + "/isparse_bench_peers.py"
        if peers { try TextFile.write(benchPeerScript, to: script) }
        let peerRunner = BenchPeerRunner(python: python, script: script, folder: folder, threads: machine.peerThreads)
        for round in 1...rounds {
            for c in cases {
                progress.say("[round \(round)/\(rounds)] \(c.suite) \(c.name): ours…")
                let (seconds, detail) = try c.run()
                c.ours.append(seconds)
                c.oursDetail = detail
            }
            if peers {
                progress.say("[round \(round)/\(rounds)] peers…")
                try peerRunner.run(cases, progress: progress, round: round, rounds: rounds)
            }
        }
        progress.finish()
        let report = BenchReport(machine: machine, cases: cases, peers: peers)
        print(markdown ? report.markdown() : report.table())
        if let jsonPath { try TextFile.write(report.json() + "\n", to: jsonPath) }
        if let plot { try TextFile.write(report.svg(), to: plot) }
    }
}

/// One case: our measurement and its peers' results over the rounds.
final class BenchCase {
    let suite: String
    let name: String
    /// (peer, Python case kind, arguments) for each peer of this case.
    let peerSpecs: [(peer: String, kind: String, args: [String: String])]
    let run: () throws -> (seconds: Double, detail: String)
    var ours: [Double] = []
    var oursDetail = ""
    /// Per peer: its name and version, seconds per round, last detail, or why it was skipped.
    var peerResults: [String: (name: String, seconds: [Double], detail: String, skipped: String?)] = [:]

    init(suite: String, name: String, peers: [(peer: String, kind: String, args: [String: String])] = [],
         run: @escaping () throws -> (seconds: Double, detail: String)) {
        self.suite = suite
        self.name = name
        self.peerSpecs = peers
        self.run = run
    }
}

/// The machine and settings a table was measured under.
struct BenchMachine {
    let date: String
    let cores: Int
    let cpu: String
    let memoryGiB: Double
    let ourThreads: Int
    let peerThreads: Int
    let rounds: Int
    let quick: Bool
    let build: String
    let openblas: String

    /// The machine of a saved run (`--report`).
    init(saved m: [String: Any]) {
        date = m["date"] as? String ?? "?"
        cores = m["cores"] as? Int ?? 0
        cpu = m["cpu"] as? String ?? "?"
        memoryGiB = m["memoryGiB"] as? Double ?? 0
        ourThreads = m["ourThreads"] as? Int ?? 0
        peerThreads = m["peerThreads"] as? Int ?? 0
        rounds = m["rounds"] as? Int ?? 0
        quick = m["quick"] as? Bool ?? false
        build = m["build"] as? String ?? "?"
        openblas = m["openblas"] as? String ?? "?"
    }

    init(peerThreads: Int, rounds: Int, quick: Bool) {
        let formatter = ISO8601DateFormatter()
        date = formatter.string(from: Date())
        cores = ProcessInfo.processInfo.activeProcessorCount
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        cpu = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        memoryGiB = Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824
        ourThreads = SparseThreads.count
        self.peerThreads = peerThreads
        self.rounds = rounds
        self.quick = quick
        #if DEBUG
        build = "debug build (not representative: use swift build -c release)"
        #else
        build = "release build"
        #endif
        let env = ProcessInfo.processInfo.environment
        openblas = "OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "<unset>") OPENBLAS_L2_SIZE=\(env["OPENBLAS_L2_SIZE"] ?? "<unset>")"
    }

    var header: String {
        """
        isparse bench — \(date), \(cores) cores, \(cpu), \(String(format: "%.0f", memoryGiB)) GiB, \(openblas)
        ours: \(ourThreads) thread\(ourThreads == 1 ? "" : "s"), \(build); peers: OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=\(peerThreads); \(rounds) round\(rounds == 1 ? "" : "s")\(quick ? ", --quick sizes" : "")
        """
    }
}

/// A one-line status on standard error (rewritten in place on a terminal).
final class BenchProgress {
    let interactive = isatty(2) != 0
    func say(_ line: String) {
        FileHandle.standardError.write((interactive ? "\r\u{1B}[K" + line : line + "\n").data(using: .utf8)!)
    }
    func finish() { if interactive { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) } }
}

/// Runs the peer script once per round with every case's peers.
struct BenchPeerRunner {
    let python: String
    let script: String
    let folder: String
    let threads: Int

    func run(_ cases: [BenchCase], progress: BenchProgress, round: Int, rounds: Int) throws {
        var specs: [[String: Any]] = []
        for (index, c) in cases.enumerated() {
            for spec in c.peerSpecs where c.peerResults[spec.peer]?.skipped == nil {
                specs.append(["id": index, "peer": spec.peer, "kind": spec.kind, "args": spec.args])
            }
        }
        guard !specs.isEmpty else { return }
        let specPath = folder + "/peer-cases.json"
        try JSONSerialization.data(withJSONObject: specs, options: [.sortedKeys]).write(to: URL(fileURLWithPath: specPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, specPath]
        var environment = ProcessInfo.processInfo.environment
        for key in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"] { environment[key] = String(threads) }
        if threads == 1 { environment["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" }
        environment["JAX_PLATFORMS"] = "cpu"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            for c in cases { for spec in c.peerSpecs { c.peerResults[spec.peer] = (spec.peer, [], "", "\(python) could not start") } }
            return
        }
        var lines: [String] = []
        var pending = Data()
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                lines.append(line)
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                   let id = object["id"] as? Int, let peer = object["peer"] as? String, id < cases.count {
                    record(object, case: cases[id], peer: peer)
                    progress.say("[round \(round)/\(rounds)] \(cases[id].suite) \(cases[id].name): \(peer) done")
                }
            }
        }
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            // A crash of the interpreter (not of one case): the cases it did not report are marked.
            for c in cases { for spec in c.peerSpecs where c.peerResults[spec.peer] == nil {
                c.peerResults[spec.peer] = (spec.peer, [], "", "the peer process exited with status \(process.terminationStatus)")
            } }
        }
    }

    private func record(_ object: [String: Any], case c: BenchCase, peer: String) {
        var entry = c.peerResults[peer] ?? (peer, [], "", nil)
        if let skipped = object["skipped"] as? String { entry.skipped = skipped }
        else if let failed = object["failed"] as? String { entry.skipped = "failed: \(failed)" }
        else if let seconds = object["seconds"] as? Double {
            entry.seconds.append(seconds)
            entry.name = object["name"] as? String ?? peer
            entry.detail = object["detail"] as? String ?? ""
        }
        c.peerResults[peer] = entry
    }
}

func benchMedian(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return .nan }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The table, JSON and SVG of a run.
struct BenchReport {
    let machine: BenchMachine
    let cases: [BenchCase]
    let peers: Bool

    init(machine: BenchMachine, cases: [BenchCase], peers: Bool) {
        self.machine = machine
        self.cases = cases
        self.peers = peers
    }

    /// A saved run (the `--json` file of an earlier `isparse bench`).
    /// - Throws: `CLIFailure` (input) naming the file when it is not such a file.
    init(json path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIFailure(code: .input, message: "\(path): cannot open")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let machine = object["machine"] as? [String: Any], let saved = object["cases"] as? [[String: Any]] else {
            throw CLIFailure(code: .input, message: "\(path): not the --json file of isparse bench (expected 'machine' and 'cases')")
        }
        var cases: [BenchCase] = []
        var anyPeer = false
        for c in saved {
            let peers = c["peers"] as? [[String: Any]] ?? []
            let names = peers.map { $0["peer"] as? String ?? "?" }
            let benchCase = BenchCase(suite: c["suite"] as? String ?? "?", name: c["case"] as? String ?? "?",
                                      peers: names.map { (peer: $0, kind: "", args: [:]) }) { (0, "") }
            benchCase.ours = c["oursSeconds"] as? [Double] ?? []
            benchCase.oursDetail = c["oursDetail"] as? String ?? ""
            for (name, p) in zip(names, peers) {
                benchCase.peerResults[name] = (name, p["seconds"] as? [Double] ?? [], p["detail"] as? String ?? "", p["skipped"] as? String)
                anyPeer = true
            }
            cases.append(benchCase)
        }
        self.init(machine: BenchMachine(saved: machine), cases: cases, peers: anyPeer)
    }

    struct Row {
        var suite, name, ours, peer, peerTime, ratio: String
        var ratioMedian: Double?
    }

    static func time(_ xs: [Double]) -> String {
        guard !xs.isEmpty else { return "—" }
        func f(_ v: Double) -> String { v >= 100 ? String(format: "%.0f", v) : v >= 1 ? String(format: "%.2f", v) : String(format: "%.3g", v) }
        return xs.count == 1 ? f(xs[0]) : "\(f(benchMedian(xs))) [\(f(xs.min()!))–\(f(xs.max()!))]"
    }

    /// Per-round ratios ours/peer over the rounds both sides measured.
    static func ratios(_ c: BenchCase, _ peer: [Double]) -> [Double] {
        zip(c.ours, peer).map { $0 / $1 }
    }

    var rows: [Row] {
        var rows: [Row] = []
        for c in cases {
            let ours = Self.time(c.ours)
            if !peers || c.peerSpecs.isEmpty {
                rows.append(Row(suite: c.suite, name: c.name, ours: ours, peer: peers ? "(no peer)" : "", peerTime: "", ratio: "", ratioMedian: nil))
                continue
            }
            for spec in c.peerSpecs {
                guard let result = c.peerResults[spec.peer] else {
                    rows.append(Row(suite: c.suite, name: c.name, ours: ours, peer: spec.peer, peerTime: "skipped: no result", ratio: "", ratioMedian: nil))
                    continue
                }
                if let skipped = result.skipped, result.seconds.isEmpty {
                    rows.append(Row(suite: c.suite, name: c.name, ours: ours, peer: spec.peer, peerTime: "skipped: \(skipped)", ratio: "", ratioMedian: nil))
                    continue
                }
                let r = Self.ratios(c, result.seconds)
                let ratioText = r.isEmpty ? "—" : r.count == 1 ? String(format: "%.3g", r[0])
                    : String(format: "%.3g [%.3g–%.3g]", benchMedian(r), r.min()!, r.max()!)
                rows.append(Row(suite: c.suite, name: c.name, ours: ours, peer: result.name, peerTime: Self.time(result.seconds),
                                ratio: ratioText, ratioMedian: r.isEmpty ? nil : benchMedian(r)))
            }
        }
        return rows
    }

    func table() -> String {
        let header = Row(suite: "suite", name: "case", ours: "ours s, median [min–max]", peer: peers ? "peer" : "",
                         peerTime: peers ? "peer s" : "", ratio: peers ? "ours/peer" : "", ratioMedian: nil)
        let all = [header] + rows
        func width(_ key: KeyPath<Row, String>) -> Int { all.map { $0[keyPath: key].count }.max() ?? 0 }
        let w = [width(\.suite), width(\.name), width(\.ours), width(\.peer), width(\.peerTime)]
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        var lines: [String] = []
        for (k, row) in all.enumerated() {
            var line = pad(row.suite, w[0]) + "  " + pad(row.name, w[1]) + "  " + pad(row.ours, w[2])
            if peers { line += "  " + pad(row.peer, w[3]) + "  " + pad(row.peerTime, w[4]) + "  " + row.ratio }
            lines.append(line.trimmingCharacters(in: .whitespaces))
            if k == 0 { lines.append(String(repeating: "-", count: min(160, lines[0].count))) }
        }
        var details: [String] = []
        for c in cases {
            var parts = ["ours: \(c.oursDetail)"]
            for spec in c.peerSpecs { if let r = c.peerResults[spec.peer], !r.detail.isEmpty { parts.append("\(r.name): \(r.detail)") } }
            details.append("  \(c.suite) \(c.name) — " + parts.joined(separator: "; "))
        }
        return lines.joined(separator: "\n") + "\n\ndetails (last round):\n" + details.joined(separator: "\n")
    }

    /// The table in Markdown, with the machine line above it and the details below.
    func markdown() -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["Machine: " + machine.header.replacingOccurrences(of: "\n", with: "; ") + ".", ""]
        lines.append(peers ? "| suite | case | ours s, median [min–max] | peer | peer s | ours/peer |" : "| suite | case | ours s, median [min–max] |")
        lines.append(peers ? "|---|---|---|---|---|---|" : "|---|---|---|")
        for row in rows {
            var line = "| \(cell(row.suite)) | \(cell(row.name)) | \(row.ours) |"
            if peers { line += " \(cell(row.peer)) | \(cell(row.peerTime)) | \(row.ratio.isEmpty ? "" : "**\(row.ratio.split(separator: " ").first!)**" + row.ratio.dropFirst(row.ratio.split(separator: " ").first!.count)) |" }
            lines.append(line)
        }
        lines.append("")
        for c in cases {
            var parts = ["ours: \(c.oursDetail)"]
            for spec in c.peerSpecs { if let r = c.peerResults[spec.peer], !r.detail.isEmpty { parts.append("\(r.name): \(r.detail)") } }
            lines.append("- \(c.suite) \(c.name) — " + parts.joined(separator: "; "))
        }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        var object = JSONObject()
        var m = JSONObject()
        m.set("date", machine.date); m.set("cores", machine.cores); m.set("cpu", machine.cpu); m.set("memoryGiB", machine.memoryGiB)
        m.set("ourThreads", machine.ourThreads); m.set("peerThreads", machine.peerThreads); m.set("build", machine.build)
        m.set("openblas", machine.openblas); m.set("rounds", machine.rounds); m.set("quick", machine.quick)
        object.set("machine", m)
        object.set("cases", cases.map { c -> JSONObject in
            var o = JSONObject()
            o.set("suite", c.suite); o.set("case", c.name); o.set("oursSeconds", c.ours)
            o.set("oursMedian", benchMedian(c.ours)); o.set("oursDetail", c.oursDetail)
            o.set("peers", c.peerSpecs.compactMap { spec -> JSONObject? in
                guard let r = c.peerResults[spec.peer] else { return nil }
                var p = JSONObject()
                p.set("peer", r.name); p.set("seconds", r.seconds); p.set("median", benchMedian(r.seconds)); p.set("detail", r.detail)
                let ratios = Self.ratios(c, r.seconds)
                p.set("ratios", ratios); p.set("ratioMedian", benchMedian(ratios))
                if let skipped = r.skipped { p.set("skipped", skipped) }
                return p
            })
            return o
        })
        return object.render()
    }

    /// Horizontal bars of ours/peer on a log scale, 1 marked; below 1 (green) ours is faster.
    func svg() -> String {
        let bars = rows.filter { $0.ratioMedian != nil && $0.ratioMedian! > 0 }
        func label(_ row: Row) -> String {
            let peer = row.peer.split(separator: " ").first.map(String.init) ?? row.peer
            let name = row.name.lowercased().hasPrefix(row.suite) ? row.name : row.suite + " " + row.name
            return name + " vs " + peer
        }
        // The labels' width (about 6.6 px per character at 12 px) sets the left margin.
        let left = max(200, 6.6 * Double(bars.map { label($0).count }.max() ?? 20) + 24), plotWidth = 440.0
        let barHeight = 22.0, top = 56.0
        let height = top + Double(max(bars.count, 1)) * barHeight + 50
        let values = bars.map { $0.ratioMedian! }
        let lo = Foundation.pow(10, Foundation.floor(log10(min(values.min() ?? 0.1, 0.5))))
        let hi = Foundation.pow(10, Foundation.ceil(log10(max(values.max() ?? 10, 2))))
        func x(_ v: Double) -> Double { left + plotWidth * (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) }
        func esc(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(left + plotWidth + 90))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="10" y="20" font-size="14" font-weight="bold">isparse bench: time ours / time peer (median over \(machine.rounds) rounds; below 1 = ours faster)</text>
        <text x="10" y="38" fill="#555">\(esc(machine.date)), \(machine.cores) cores, \(esc(machine.cpu)); ours \(machine.ourThreads) threads, peers \(machine.peerThreads)</text>

        """
        var decade = lo
        while decade <= hi * 1.0001 {
            let px = x(decade)
            s += "<line x1=\"\(px)\" y1=\"\(top - 6)\" x2=\"\(px)\" y2=\"\(height - 40)\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(px)\" y=\"\(height - 24)\" text-anchor=\"middle\">\(decade >= 1 ? String(format: "%.0f", decade) : String(format: "%g", decade))</text>\n"
            decade *= 10
        }
        for (k, row) in bars.enumerated() {
            let y = top + Double(k) * barHeight
            let v = row.ratioMedian!
            let (x0, x1) = (min(x(1), x(v)), max(x(1), x(v)))
            s += "<text x=\"\(left - 8)\" y=\"\(y + 15)\" text-anchor=\"end\">\(esc(label(row)))</text>\n"
            s += "<rect x=\"\(x0)\" y=\"\(y + 3)\" width=\"\(max(x1 - x0, 1))\" height=\"\(barHeight - 6)\" fill=\"\(v < 1 ? "#3a8f4b" : "#c0504d")\"/>\n"
            s += "<text x=\"\(x1 + 4)\" y=\"\(y + 15)\">\(String(format: "%.3g", v))</text>\n"
        }
        s += "<line x1=\"\(x(1))\" y1=\"\(top - 6)\" x2=\"\(x(1))\" y2=\"\(height - 40)\" stroke=\"black\" stroke-width=\"1.5\"/>\n"
        s += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">ours / peer (log scale)</text>\n</svg>\n"
        return s
    }
}
