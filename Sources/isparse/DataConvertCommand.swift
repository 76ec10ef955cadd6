import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import Sparse

extension DataCommand {
    /// `isparse data convert IN OUT`: between Matrix Market, LIBSVM, SciPy .npz and edge lists.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert a sparse data file between Matrix Market, LIBSVM, SciPy .npz and edge-list formats (.gz on either side).",
            discussion: """
            Formats come from the extensions: .mtx/.mm (Matrix Market), .svm/.libsvm/.txt \
            (LIBSVM), .npz (scipy.sparse.save_npz layout), .edges (undirected edge list \
            'i j w', 1-based; the matrix must be square and symmetric), each optionally \
            followed by .gz. Values are written in their shortest round-tripping form, so \
            converting there and back gives the same matrix exactly. Labels travel inside \
            LIBSVM files; for the other formats they live in a separate array file given by \
            --labels (.npy, .mtx dense array, or text with one value per line): read from it \
            when converting to LIBSVM, written to it when converting from LIBSVM. Memory: a \
            LIBSVM input converted to Matrix Market or LIBSVM is streamed in two passes (one \
            row in memory, plus the labels when written), so files larger than memory convert; \
            other conversions hold the matrix in CSR form, 12 bytes per nonzero plus 8 per row.
            """)

        @Argument(help: "Input file.")
        var input: String

        @Argument(help: "Output file (written atomically).")
        var output: String

        @Option(help: "Labels file: read for a LIBSVM output from a label-less input, written for a non-LIBSVM output from a LIBSVM input.")
        var labels: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            try Files.checkEncoding(input, option: "input")
            try Files.checkOutput(output, option: "output", inputs: [input])
            try Files.checkOutput(labels, option: "--labels", inputs: [input])
            // --labels is an input for a LIBSVM output: only then may it differ in role.
            try Files.checkDistinct([(output, "output"), (labels, "--labels")])
            let start = DispatchTime.now()
            let from: SparseFileFormat, to: SparseFileFormat
            do {
                from = try SparseFileFormat(path: input)
                to = try SparseFileFormat(path: output)
            } catch let error as SparseError {
                throw CLIFailure(code: .usage, message: error.description)
            }
            var notes: [String] = []
            // --labels is a second output (LIBSVM → another format): both checked before any work.
            if from == .libsvm, to != .libsvm, labels != nil { _ = try Files.Outputs([(output, "output"), (labels, "--labels")]) }
            if from == .libsvm, to == .matrixMarket || to == .libsvm {
                // Streamed in two passes: memory is one row (and the labels when written).
                if labels != nil && to == .libsvm {
                    throw CLIFailure(code: .usage, message: "--labels: LIBSVM input and output carry their labels; there is no separate labels file")
                }
                let written = try SparseDataFile.convertLIBSVMStreaming(from: input, to: output, labelsPath: labels)
                if let labels { notes.append("labels written to \(labels)") }
                else if to == .matrixMarket { notes.append("the labels were not kept (matrix-market holds none; pass --labels FILE to write them)") }
                report(from: from, to: to, rows: written.rows, columns: written.columns, nonzeros: written.nonzeros, notes: notes,
                       streamed: true, start: start)
                return
            }
            var data = try SparseDataFile.read(path: input, format: from)
            if let labels {
                switch (from, to) {
                case (.libsvm, _):   // to .npz or .edges (LIBSVM → LIBSVM / Matrix Market is streamed above)
                    try SparseDataFile.writeTargets(data.targets ?? [], to: labels)
                    notes.append("labels written to \(labels)")
                case (_, .libsvm):
                    let values = try SparseDataFile.readTargets(path: labels)
                    guard values.count == data.features.rows else {
                        throw CLIFailure(code: .input, message: "\(labels): \(values.count) labels for the \(data.features.rows) rows of \(input)")
                    }
                    data.targets = values
                default:
                    throw CLIFailure(code: .usage, message: "--labels: neither side is LIBSVM, so no labels travel (\(from.rawValue) → \(to.rawValue))")
                }
            } else if from == .libsvm, to != .libsvm, let values = data.targets, !values.isEmpty {
                notes.append("the labels were not kept (\(to.rawValue) holds none; pass --labels FILE to write them)")
            }
            if to == .edgeList, data.features.rows != data.features.columns || !data.features.isSymmetric(tolerance: 0) {
                throw CLIFailure(code: .input, message: "\(input): an edge list holds an undirected graph, but the matrix is \(data.features.rows) × \(data.features.columns)\(data.features.rows == data.features.columns ? " and unsymmetric" : ""); convert to .mtx or .npz instead")
            }
            let invented = try SparseDataFile.write(data, to: output, format: to)
            if invented { notes.append("\(input) has no labels: every row was written with label 0 (pass --labels FILE)") }
            report(from: from, to: to, rows: data.features.rows, columns: data.features.columns, nonzeros: data.features.nonzeroCount,
                   notes: notes, streamed: false, start: start)
        }

        func report(from: SparseFileFormat, to: SparseFileFormat, rows: Int, columns: Int, nonzeros: Int, notes: [String],
                    streamed: Bool, start: DispatchTime) {
            for note in notes where !json { FileHandle.standardError.write("isparse: note: \(note)\n".data(using: .utf8)!) }
            let elapsed = seconds(since: start)
            if json {
                var object = JSONObject()
                object.set("input", input); object.set("inputFormat", from.rawValue)
                object.set("output", output); object.set("outputFormat", to.rawValue)
                object.set("rows", rows); object.set("columns", columns)
                object.set("nonzeros", nonzeros)
                object.set("streamed", streamed)
                object.set("notes", notes.map { n -> JSONObject in var o = JSONObject(); o.set("note", n); return o })
                object.set("seconds", elapsed)
                print(object.render())
            } else {
                print("\(input) (\(from.rawValue)) → \(output) (\(to.rawValue)): \(rows) × \(columns), \(nonzeros) nonzeros\(streamed ? ", streamed" : "")" + String(format: ", %.2f s", elapsed))
            }
        }
    }

    /// `isparse data generate`: the built-in generators with their parameters.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate data: text-like regression or classification sets, grid or power-law graphs.",
            subcommands: [Regression.self, Classification.self, Graph.self])

        struct Design: ParsableArguments {
            @Option(help: "Rows (samples).")
            var rows: Int = 10_000
            @Option(help: "Features (columns).")
            var features: Int = 20_000
            @Option(name: .customLong("nnz-per-row"), help: "Mean nonzeros per row (row lengths uniform in 1…2K−1; repeated draws merge).")
            var nnzPerRow: Int = 20
            @Option(help: "Zipf exponent s of the column frequencies: column j is drawn with probability ∝ (j+1)^−s.")
            var zipf: Double = 1
            @Option(help: "Size of the planted true support, drawn among the 5 000 most frequent columns.")
            var support: Int = 200
            @Option(help: "Noise standard deviation relative to std(Xw).")
            var noise: Double = 0.5
            @Flag(help: "Binary values (1) as bag-of-words data; Gaussian values otherwise.")
            var binary = false
            @Option(name: .customLong("duplicate-columns"), help: "Columns written as exact copies of frequent columns.")
            var duplicateColumns: Int = 0
            @Option(name: .customLong("dependent-columns"), help: "Columns written as sums of two frequent columns.")
            var dependentColumns: Int = 0
            @Option(help: "Seed.")
            var seed: UInt64 = 0
            @Option(help: "Output file: .svm/.libsvm/.txt (labels inside), .mtx or .npz (with --labels-out), .gz to compress.")
            var out: String
            @Option(name: .customLong("labels-out"), help: "For .mtx/.npz output: where the targets go (.npy, .mtx or text).")
            var labelsOut: String?
            @Option(name: .customLong("truth-out"), help: "Where the planted coefficients go (.npy, .mtx or text).")
            var truthOut: String?
            @Flag(help: "Print one JSON object.")
            var json = false

            func validate() throws {
                guard rows >= 1, features >= 1, nnzPerRow >= 1 else { throw ValidationError("--rows, --features and --nnz-per-row must be at least 1") }
                guard zipf > 0, zipf.isFinite else { throw ValidationError("--zipf must be positive") }
                guard support >= 0, support <= features else { throw ValidationError("--support must be in 0…--features") }
                guard noise >= 0, noise.isFinite else { throw ValidationError("--noise must be nonnegative") }
                guard duplicateColumns >= 0, dependentColumns >= 0, duplicateColumns + dependentColumns <= features / 2 else {
                    throw ValidationError("--duplicate-columns + --dependent-columns must be between 0 and half the features")
                }
                let (cells, overflow) = rows.multipliedReportingOverflow(by: nnzPerRow)
                guard !overflow, cells < Int(Int32.max), rows < Int(Int32.max), features < Int(Int32.max) else {
                    throw ValidationError("--rows × --nnz-per-row must stay below 2³¹")
                }
            }

            func run(classification: Bool) throws {
                try Files.checkEncoding(out, option: "--out")
                let outputs = try Files.Outputs([(out, "--out"), (labelsOut, "--labels-out"), (truthOut, "--truth-out")])
                let format: SparseFileFormat
                do { format = try SparseFileFormat(path: out) } catch let error as SparseError {
                    throw CLIFailure(code: .usage, message: error.description)
                }
                guard format != .edgeList else { throw CLIFailure(code: .usage, message: "--out: a data set is not a graph; write .svm, .mtx or .npz") }
                if format == .libsvm, labelsOut != nil {
                    throw CLIFailure(code: .usage, message: "--labels-out: a LIBSVM file holds its labels")
                }
                let start = DispatchTime.now()
                // Triplets, the CSR, the targets and the truth: about 40 bytes a nonzero.
                try SparseLimits.checkRun("a \(rows) × \(features) data set with \(nnzPerRow) nonzeros per row",
                                          bytes: 40 * rows * nnzPerRow + 16 * rows + 24 * features)
                let generated = try Datasets.generate(rows: rows, columns: features, nonzerosPerRow: nnzPerRow, zipf: zipf,
                                                      binary: binary, duplicateColumns: duplicateColumns,
                                                      dependentColumns: dependentColumns, informative: support, noise: noise,
                                                      classification: classification, seed: seed)
                try outputs.write(out) { try SparseDataFile.write(SparseData(features: generated.features, targets: generated.targets), to: $0, format: format) }
                try outputs.write(labelsOut) { try SparseDataFile.writeTargets(generated.targets, to: $0) }
                try outputs.write(truthOut) { try SparseDataFile.writeTargets(generated.truth, to: $0) }
                if format != .libsvm && labelsOut == nil && !json {
                    FileHandle.standardError.write("isparse: note: the targets were not written (pass --labels-out FILE)\n".data(using: .utf8)!)
                }
                let x = generated.features
                if json {
                    var object = JSONObject()
                    object.set("file", out); object.set("rows", x.rows); object.set("columns", x.columns)
                    object.set("nonzeros", x.nonzeroCount); object.set("zipf", zipf); object.set("seed", Int(truncatingIfNeeded: seed))
                    object.set("seconds", seconds(since: start))
                    print(object.render())
                } else {
                    print("\(out): \(x.rows) × \(x.columns), \(x.nonzeroCount) nonzeros (\(String(format: "%.2f", Double(x.nonzeroCount) / Double(x.rows))) per row), \(classification ? "labels ±1" : "regression targets")" + String(format: ", %.2f s", seconds(since: start)))
                }
            }
        }

        struct Regression: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "A text-like regression set: Zipf column frequencies, a planted sparse truth, Gaussian noise.",
                discussion: "Example: isparse data generate regression --rows 50000 --features 65000 --nnz-per-row 20 --binary --duplicate-columns 100 --out text.svm")
            @OptionGroup var design: Design
            func run() throws { try design.run(classification: false) }
        }

        struct Classification: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "A text-like classification set: labels sign(Xw − mean + noise) ∈ {−1, 1}.",
                discussion: "Example: isparse data generate classification --rows 20000 --features 50000 --binary --out cls.svm.gz")
            @OptionGroup var design: Design
            func run() throws { try design.run(classification: true) }
        }

        struct Graph: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "A graph's weighted adjacency matrix: a 2-D grid or a power-law (Chung–Lu) graph.",
                discussion: """
                grid: the 4-neighbour grid on R × C nodes (--rows/--columns, or --nodes N for a \
                square of side ⌈√N⌉). power-law: Chung–Lu with node i's weight ∝ (i+1)^(−1/(γ−1)), \
                N·D/2 edges drawn (--average-degree D, --exponent γ), self-loops dropped, repeated \
                edges merged, weights 1: heavy-tailed degrees as in web and social graphs. Output: \
                .mtx (symmetric adjacency), .edges or .npz. Example: isparse data generate graph \
                power-law --nodes 1000000 --average-degree 8 --out web.mtx.gz
                """)

            enum Kind: String, ExpressibleByArgument, CaseIterable { case grid, powerLaw = "power-law", treeLike = "tree-like" }

            @Argument(help: "grid, power-law or tree-like (a preferential-attachment tree plus N·(D − 2)/2 extra edges, random pairs or, with --bipartite, local 4-cycles; D ≥ 2).")
            var kind: Kind
            @Option(help: "Nodes (power-law; grid: a square of side ⌈√N⌉ unless --rows/--columns).")
            var nodes: Int?
            @Option(help: "Grid rows.")
            var rows: Int?
            @Option(help: "Grid columns.")
            var columns: Int?
            @Option(name: .customLong("average-degree"), help: "Power-law: mean degree D (N·D/2 edges drawn before merging).")
            var averageDegree: Double = 8
            @Option(help: "Power-law degree exponent γ > 2 is typical of real graphs.")
            var exponent: Double = 2.5
            @Option(help: "Seed.")
            var seed: UInt64 = 0
            @Option(help: "Output file: .mtx, .edges or .npz, optionally .gz.")
            var out: String
            @Flag(help: "tree-like: the extra edges join a node to a child of its grandparent (local 4-cycles), so the graph is bipartite by depth parity, as dependency graphs are (packages and libraries).")
            var bipartite = false
            @Flag(help: "Print one JSON object.")
            var json = false

            func validate() throws {
                if bipartite && kind != .treeLike { throw ValidationError("--bipartite applies to tree-like graphs only") }
                if let nodes, nodes < 1 { throw ValidationError("--nodes must be at least 1") }
                if let nodes, nodes > Int(Int32.max) { throw ValidationError("--nodes must be at most 2³¹ − 1") }
                if let rows, let columns, rows.multipliedReportingOverflow(by: columns).overflow || rows * columns > Int(Int32.max) {
                    throw ValidationError("--rows × --columns must be at most 2³¹ − 1 nodes")
                }
                if let nodes, !(Double(nodes) * averageDegree / 2 <= Double(Int32.max)) {
                    throw ValidationError("--nodes × --average-degree / 2 must be at most 2³¹ − 1 edges")
                }
                if let rows, rows < 1 { throw ValidationError("--rows must be at least 1") }
                if let columns, columns < 1 { throw ValidationError("--columns must be at least 1") }
                guard averageDegree >= 0, averageDegree.isFinite else { throw ValidationError("--average-degree must be nonnegative") }
                guard exponent > 1, exponent.isFinite else { throw ValidationError("--exponent must be above 1") }
                switch kind {
                case .grid:
                    guard nodes != nil || (rows != nil && columns != nil) else { throw ValidationError("grid needs --nodes or --rows and --columns") }
                case .powerLaw, .treeLike:
                    guard nodes != nil else { throw ValidationError("\(kind.rawValue) needs --nodes") }
                    guard rows == nil, columns == nil else { throw ValidationError("--rows/--columns are for grid graphs") }
                    if kind == .treeLike && averageDegree < 2 { throw ValidationError("tree-like needs --average-degree ≥ 2 (a tree has mean degree about 2)") }
                }
            }

            func run() throws {
                try Files.checkEncoding(out, option: "--out")
                let format: SparseFileFormat
                do { format = try SparseFileFormat(path: out) } catch let error as SparseError {
                    throw CLIFailure(code: .usage, message: error.description)
                }
                guard format != .libsvm else { throw CLIFailure(code: .usage, message: "--out: write a graph as .mtx, .edges or .npz") }
                let start = DispatchTime.now()
                let adjacency: CSRMatrix
                switch kind {
                case .grid:
                    let side = nodes.map { Int(Double($0).squareRoot().rounded(.up)) }
                    let (r, c) = (rows ?? side!, columns ?? side!)
                    try SparseLimits.checkRun("a \(r) × \(c) grid graph", bytes: 8 * 12 * r * c)
                    adjacency = try WeightedGraph.grid(rows: r, columns: c).adjacency
                case .powerLaw:
                    let edges = Int((Double(nodes!) * averageDegree / 2).rounded())
                    // The builder's triplets and the symmetric CSR: about 2·16 + 2·12 bytes an edge.
                    try SparseLimits.checkRun("a power-law graph of \(nodes!) nodes and \(edges) edges", bytes: 56 * edges + 24 * nodes!)
                    adjacency = try CSRMatrix.randomPowerLawGraph(nodes: nodes!, edges: edges, exponent: exponent, seed: seed)
                case .treeLike:
                    let extra = Int((Double(nodes!) * (averageDegree - 2) / 2).rounded())
                    try SparseLimits.checkRun("a tree-like graph of \(nodes!) nodes", bytes: 56 * (nodes! + extra) + 24 * nodes!)
                    adjacency = try CSRMatrix.randomTreeLikeGraph(nodes: nodes!, extraEdges: extra, bipartite: bipartite, seed: seed)
                }
                try SparseDataFile.write(SparseData(features: adjacency, symmetric: true), to: out, format: format)
                var degrees = (0..<adjacency.rows).map { adjacency.rowPointers[$0 + 1] - adjacency.rowPointers[$0] }
                degrees.sort()
                let edgeCount = adjacency.nonzeroCount / 2
                let mean = adjacency.rows > 0 ? Double(adjacency.nonzeroCount) / Double(adjacency.rows) : 0
                if json {
                    var object = JSONObject()
                    object.set("file", out); object.set("nodes", adjacency.rows); object.set("edges", edgeCount)
                    object.set("meanDegree", mean); object.set("maxDegree", degrees.last ?? 0)
                    object.set("isolated", degrees.prefix { $0 == 0 }.count)
                    object.set("seconds", seconds(since: start))
                    print(object.render())
                } else {
                    print("\(out): \(adjacency.rows) nodes, \(edgeCount) edges, degree mean \(String(format: "%.2f", mean)) max \(degrees.last ?? 0), \(degrees.prefix { $0 == 0 }.count) isolated" + String(format: ", %.2f s", seconds(since: start)))
                }
            }
        }
    }
}
