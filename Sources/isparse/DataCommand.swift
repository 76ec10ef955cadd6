import ArgumentParser
import Foundation
import ISparseCLICore
import Sparse

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect, convert, split and generate data files.",
        subcommands: [Info.self, Convert.self, Split.self, Generate.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Format, shape, nonzeros, symmetry, value range and nonzero statistics of a Matrix Market, LIBSVM, SciPy .npz or edge-list file (plain or .gz).")

        @Argument(help: "A Matrix Market (.mtx) or LIBSVM/svmlight file, optionally gzip-compressed (.gz).")
        var file: String

        @Option(help: "File format: auto (by name and banner), matrix-market, libsvm, npz or edges.")
        var format: DataFormat = .auto

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            try Files.checkEncoding(file, option: "file")
            let start = DispatchTime.now()
            let detected = try format.resolve(for: file)
            var object = JSONObject()
            var lines: [String] = []
            let matrix: CSRMatrix
            object.set("file", file)
            switch detected {
            case .matrixMarket:
                let read = try MatrixMarket.read(path: file)
                matrix = read.matrix
                object.set("format", "matrix-market")
                object.set("rows", matrix.rows)
                object.set("columns", matrix.columns)
                object.set("nonzeros", matrix.nonzeroCount)
                object.set("layout", read.layout.rawValue)
                object.set("field", read.field.rawValue)
                object.set("symmetry", read.symmetry.rawValue)
                object.set("storedEntries", read.storedEntries)
                lines.append("format: Matrix Market (\(read.layout.rawValue), \(read.field.rawValue), \(read.symmetry.rawValue))")
                lines.append("rows: \(matrix.rows)  columns: \(matrix.columns)  nonzeros: \(matrix.nonzeroCount) (\(read.storedEntries) stored)")
                if read.symmetry == .general && matrix.rows == matrix.columns {
                    let numeric = matrix.isSymmetric(tolerance: 0)
                    object.set("numericallySymmetric", numeric)
                    lines.append("symmetry: general in the header; numerically \(numeric ? "symmetric" : "unsymmetric")")
                }
            case .npz, .edges:
                let read = try SparseDataFile.read(path: file, format: detected == .npz ? .npz : .edgeList)
                matrix = read.features
                object.set("format", detected.rawValue)
                object.set("rows", matrix.rows)
                object.set("columns", matrix.columns)
                object.set("nonzeros", matrix.nonzeroCount)
                lines.append(detected == .npz ? "format: SciPy sparse .npz" : "format: edge list (undirected; each edge stored both ways)")
                lines.append("rows: \(matrix.rows)  columns: \(matrix.columns)  nonzeros: \(matrix.nonzeroCount)")
            case .libsvm, .auto:
                let read = try LIBSVM.read(path: file)
                matrix = read.features
                object.set("format", "libsvm")
                object.set("rows", matrix.rows)
                object.set("columns", matrix.columns)
                object.set("nonzeros", matrix.nonzeroCount)
                object.set("indexBase", read.indexBase)
                let labels = Set(read.targets)
                var labelObject = JSONObject()
                labelObject.set("min", read.targets.min() ?? .nan)
                labelObject.set("max", read.targets.max() ?? .nan)
                labelObject.set("distinct", labels.count)
                object.set("labels", labelObject)
                lines.append("format: LIBSVM (\(read.indexBase)-based indices)")
                lines.append("rows: \(matrix.rows)  columns: \(matrix.columns)  nonzeros: \(matrix.nonzeroCount)")
                lines.append(read.targets.isEmpty ? "labels: none (no samples)"
                             : "labels: \(labels.count) distinct, range [\(read.targets.min()!), \(read.targets.max()!)]")
            }
            let density = matrix.rows > 0 && matrix.columns > 0
                ? Double(matrix.nonzeroCount) / (Double(matrix.rows) * Double(matrix.columns)) : 0
            object.set("density", density)
            let values = matrix.values
            var valueObject = JSONObject()
            valueObject.set("min", values.min() ?? .nan)
            valueObject.set("max", values.max() ?? .nan)
            object.set("values", valueObject)
            let rowStats = Self.statistics(counts: (0..<matrix.rows).map { matrix.rowPointers[$0 + 1] - matrix.rowPointers[$0] })
            var columnCounts = [Int](repeating: 0, count: matrix.columns)
            for j in matrix.columnIndices { columnCounts[Int(j)] += 1 }
            let columnStats = Self.statistics(counts: columnCounts)
            object.set("rowNonzeros", rowStats.json)
            object.set("columnNonzeros", columnStats.json)
            object.set("seconds", seconds(since: start))
            lines.append(String(format: "density: %.3g", density))
            lines.append(values.isEmpty ? "values: none (no stored entries)" : "values: [\(values.min()!), \(values.max()!)]")
            lines.append("nonzeros per row: \(rowStats.text)")
            lines.append("nonzeros per column: \(columnStats.text)")
            lines.append(String(format: "read in %.2f s", seconds(since: start)))
            print(json ? object.render() : lines.joined(separator: "\n"))
        }

        static func statistics(counts: [Int]) -> (text: String, json: JSONObject) {
            var json = JSONObject()
            guard !counts.isEmpty else {
                json.set("min", 0); json.set("max", 0); json.set("mean", 0.0); json.set("empty", 0)
                return ("none", json)
            }
            let total = counts.reduce(0, +)
            let mean = Double(total) / Double(counts.count)
            let empty = counts.filter { $0 == 0 }.count
            let minimum = counts.min()!, maximum = counts.max()!
            json.set("min", minimum); json.set("max", maximum); json.set("mean", mean); json.set("empty", empty)
            return (String(format: "min %d, mean %.2f, max %d, empty %d", minimum, mean, maximum, empty), json)
        }
    }
}

extension DataCommand {
    /// `isparse data split`: the rows of a LIBSVM file into parts by fractions, seeded, optionally
    /// stratified by label; each part keeps the rows' order and the file's index base.
    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Split the rows of a LIBSVM file into parts (seeded; --stratify keeps each label's share in every part).",
            discussion: """
            Rows are shuffled with the seed (SplitMix64, Fisher–Yates) and cut at the rounded \
            cumulative fractions; with --stratify the cut is made within each label's rows, so \
            every part holds each label's share to within one row. Parts keep the rows' original \
            order and the input's index base. Example: isparse data split all.svm --fractions \
            0.6,0.2,0.2 --out train.svm,val.svm,test.svm
            """)

        @Argument(help: "A LIBSVM file (plain or .gz).")
        var file: String

        @Option(help: "Comma-separated fractions of the rows, each in (0, 1), summing to 1, e.g. 0.8,0.2.")
        var fractions: String

        @Option(help: "Comma-separated output files, one per fraction (.gz compresses).")
        var out: String

        @Option(help: "Seed of the shuffle.")
        var seed: UInt64 = 0

        @Flag(help: "Cut within each label's rows (classification).")
        var stratify = false

        @Flag(help: "Print one JSON object.")
        var json = false

        func parsed() throws -> (fractions: [Double], outputs: [String]) {
            let values = fractions.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard values.count >= 2, values.allSatisfy({ $0 != nil && $0! > 0 && $0! < 1 }) else {
                throw ValidationError("--fractions must list at least two numbers in (0, 1), e.g. 0.8,0.2")
            }
            let f = values.map { $0! }
            guard abs(f.reduce(0, +) - 1) <= 1e-9 else { throw ValidationError("--fractions must sum to 1 (they sum to \(f.reduce(0, +)))") }
            let outputs = out.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard outputs.count == f.count, outputs.allSatisfy({ !$0.isEmpty }) else {
                throw ValidationError("--out must name one file per fraction (\(f.count))")
            }
            guard Set(outputs).count == outputs.count else { throw ValidationError("--out names a file twice") }
            return (f, outputs)
        }

        func validate() throws { _ = try parsed() }

        /// Row indices of each part: `rows` shuffled and cut at the rounded cumulative fractions.
        static func cut(_ rows: [Int], fractions: [Double], random: inout SplitMix64) -> [[Int]] {
            var order = rows
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
            var parts: [[Int]] = [], start = 0, cumulative = 0.0
            for (k, f) in fractions.enumerated() {
                cumulative += f
                let end = k == fractions.count - 1 ? order.count : min(order.count, Int((cumulative * Double(order.count)).rounded()))
                parts.append(Array(order[start..<max(start, end)]))
                start = max(start, end)
            }
            return parts
        }

        func run() throws {
            let (fractions, outputs) = try parsed()
            try Files.checkEncoding(file, option: "file")
            for path in outputs { try Files.checkOutput(path, option: "--out", inputs: [file]) }
            let transaction = try Files.Outputs(outputs.enumerated().map { (path: $0.element, option: "--out part \($0.offset + 1)") })
            let read = try LIBSVM.read(path: file)
            let n = read.features.rows
            var random = SplitMix64(seed: seed)
            var parts = [[Int]](repeating: [], count: fractions.count)
            let groups: [[Int]]
            if stratify {
                var byLabel: [Double: [Int]] = [:]
                for i in 0..<n { byLabel[read.targets[i], default: []].append(i) }
                groups = byLabel.keys.sorted().map { byLabel[$0]! }
            } else {
                groups = [Array(0..<n)]
            }
            for group in groups {
                for (k, part) in Self.cut(group, fractions: fractions, random: &random).enumerated() { parts[k] += part }
            }
            var object = JSONObject()
            object.set("file", file)
            object.set("rows", n)
            var written: [JSONObject] = []
            for (path, rows) in zip(outputs, parts) {
                let sorted = rows.sorted()
                try transaction.write(path) {
                    try LIBSVM.write(features: try read.features.selectingRows(sorted), targets: sorted.map { read.targets[$0] }, to: $0,
                                     zeroBased: read.indexBase == 0)
                }
                var o = JSONObject()
                o.set("file", path)
                o.set("rows", sorted.count)
                written.append(o)
                if !json { print("\(path): \(sorted.count) rows") }
            }
            if json {
                object.set("parts", written)
                print(object.render())
            }
        }
    }
}

enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case auto
    case matrixMarket = "matrix-market"
    case libsvm
    case npz
    case edges

    /// Matrix Market by extension (.mtx, .mm, with or without .gz) or by its banner; .npz and
    /// .edges by extension; LIBSVM otherwise.
    func resolve(for path: String) throws -> DataFormat {
        if self != .auto { return self }
        let name = path.lowercased().replacingOccurrences(of: ".gz", with: "", options: .anchored.union(.backwards))
        if name.hasSuffix(".mtx") || name.hasSuffix(".mm") { return .matrixMarket }
        if name.hasSuffix(".npz") { return .npz }
        if name.hasSuffix(".edges") || name.hasSuffix(".edgelist") { return .edges }
        // The banner decides, compressed or not (a LIBSVM file cannot start with it).
        return try MatrixMarket.hasBanner(path: path) ? .matrixMarket : .libsvm
    }
}
