import ArgumentParser
import Foundation
import Sparse

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Inspect data files.", subcommands: [Info.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Format, shape, nonzeros, symmetry, value range and nonzero statistics of a Matrix Market or LIBSVM file (plain or .gz).")

        @Argument(help: "A Matrix Market (.mtx) or LIBSVM/svmlight file, optionally gzip-compressed (.gz).")
        var file: String

        @Option(help: "File format: auto (by name and banner), matrix-market or libsvm.")
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
            case .libsvm, .auto:
                let read = try LIBSVM.read(path: file)
                matrix = read.features
                object.set("format", "libsvm")
                object.set("rows", matrix.rows)
                object.set("columns", matrix.columns)
                object.set("nonzeros", matrix.nonzeroCount)
                object.set("indexBase", read.indexBase)
                let labels = Set(read.labels)
                var labelObject = JSONObject()
                labelObject.set("min", read.labels.min() ?? .nan)
                labelObject.set("max", read.labels.max() ?? .nan)
                labelObject.set("distinct", labels.count)
                object.set("labels", labelObject)
                lines.append("format: LIBSVM (\(read.indexBase)-based indices)")
                lines.append("rows: \(matrix.rows)  columns: \(matrix.columns)  nonzeros: \(matrix.nonzeroCount)")
                lines.append(read.labels.isEmpty ? "labels: none (no samples)"
                             : "labels: \(labels.count) distinct, range [\(read.labels.min()!), \(read.labels.max()!)]")
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

enum DataFormat: String, ExpressibleByArgument, CaseIterable {
    case auto
    case matrixMarket = "matrix-market"
    case libsvm

    /// Matrix Market by extension (.mtx, .mm, with or without .gz) or by its banner; LIBSVM otherwise.
    func resolve(for path: String) throws -> DataFormat {
        if self != .auto { return self }
        let name = path.lowercased().replacingOccurrences(of: ".gz", with: "", options: .anchored.union(.backwards))
        if name.hasSuffix(".mtx") || name.hasSuffix(".mm") { return .matrixMarket }
        // The banner decides, compressed or not (a LIBSVM file cannot start with it).
        return try MatrixMarket.hasBanner(path: path) ? .matrixMarket : .libsvm
    }
}
