/// LIBSVM / svmlight text format: one sample per line, `label index:value index:value …`,
/// optional `qid:N` (ignored) and `# comment`. Indices are 1-based or 0-based (detected: a
/// file with an index 0 is 0-based, otherwise 1-based, as scikit-learn's loader does).
/// Files ending in `.gz` are read and written gzip-compressed. Reading streams into CSR
/// arrays: memory is the result (12 bytes per nonzero plus 16 per row), never the text.
public enum LIBSVM {
    /// What every loader returns under the same names: `features` (samples × features) and
    /// `targets` (one value per row: the LIBSVM label, a regression target or a ±1 class).
    public struct Dataset: Sendable {
        /// Samples × features.
        public var features: CSRMatrix
        /// One per row: the file's labels.
        public var targets: [Double]
        /// 0 or 1: the index base detected (or given).
        public var indexBase: Int
        public init(features: CSRMatrix, targets: [Double], indexBase: Int) {
            self.features = features
            self.targets = targets
            self.indexBase = indexBase
        }
        @available(*, deprecated, renamed: "targets")
        public var labels: [Double] { get { targets } set { targets = newValue } }
    }

    /// Reads a LIBSVM file.
    /// - Parameters:
    ///   - path: the file, plain or gzip-compressed.
    ///   - indexBase: 0 or 1 to force the base; nil detects it.
    ///   - columns: the feature count when known (e.g. to match a training file); must cover
    ///     every index in the file.
    /// - Throws: `SparseIOError.malformed` naming the line for a missing or non-numeric label,
    ///   a pair without a colon, a non-integer or negative index, a non-numeric or non-finite
    ///   value, or a repeated index in one line; `.tooLarge` for an index over 2³¹ − 2.
    public static func read(path: String, indexBase: Int? = nil, columns: Int? = nil) throws -> Dataset {
        if let indexBase, indexBase != 0 && indexBase != 1 {
            throw SparseError.invalidArgument("LIBSVM index base must be 0 or 1, got \(indexBase)")
        }
        var pointers = [0]
        var indices = [Int32]()
        var values = [Double]()
        var labels = [Double]()
        let summary = try scan(path: path, indices: &indices, values: &values, keep: true) { label, rowIndices, _, _ in
            labels.append(label)
            pointers.append(pointers[pointers.count - 1] + rowIndices.count)
        }
        let (base, width) = try baseAndWidth(path: path, minIndex: summary.minIndex, maxIndex: summary.maxIndex,
                                             firstZeroLine: summary.firstZeroLine, maxIndexLine: summary.maxIndexLine,
                                             declaredColumns: summary.declaredColumns, indexBase: indexBase, columns: columns)
        if base == 1 { indices.withUnsafeMutableBufferPointer { b in for k in 0..<b.count { b[k] -= 1 } } }
        let storage = CompressedStorage(majorCount: labels.count, minorCount: width, pointers: pointers,
                                        indices: indices, values: values)
        return Dataset(features: CSRMatrix(storage: storage), targets: labels, indexBase: base)
    }

    /// The index base and the width `read` decides from what a pass over the file found:
    /// the base given, else 0 when some index is 0 and 1 otherwise; the width covers the
    /// largest index and a `columns=` declaration, or is `columns` when given.
    /// - Throws: `SparseIOError.malformed` naming the line of an index 0 read as 1-based or
    ///   of an index beyond `columns`.
    public static func baseAndWidth(path: String, minIndex: Int, maxIndex: Int, firstZeroLine: Int, maxIndexLine: Int,
                                    declaredColumns: Int, indexBase: Int?, columns: Int?) throws -> (base: Int, width: Int) {
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        let base = indexBase ?? (minIndex == 0 ? 0 : 1)
        if base == 1 && minIndex == 0 {
            throw fail(firstZeroLine, "feature index 0 in a file read as 1-based\(indexBase == 1 ? " (the base given for this problem: its other files have no feature 0; read all of them as 0-based)" : "")")
        }
        var width = max(maxIndex + 1 - base, 0)
        if columns == nil { width = max(width, declaredColumns) }
        if let columns {
            guard columns >= width else {
                throw fail(maxIndexLine, "feature index \(maxIndex) is beyond the \(columns) features expected (\(base)-based; e.g. those of the training data)")
            }
            width = columns
        }
        return (base, width)
    }

    /// A LIBSVM file read straight into column-major storage, for solvers that work on columns
    /// (coordinate descent, the working-set solver): two passes over the file — the first
    /// counts each column's nonzeros (and checks every line), the second scatters the entries
    /// into their columns — so memory is the CSC result (12 bytes per nonzero, 8 per column)
    /// plus one counter per column and the labels, never a CSR copy beside it (the CSR → CSC
    /// conversion holds both: 2× X). A pipe or FIFO is read once into a private temporary file
    /// first (`SpooledInputs`), so both passes see the same bytes. Same arguments, checks and
    /// errors as `read`.
    public static func readColumnMajor(path: String, indexBase: Int? = nil, columns: Int? = nil) throws
        -> (features: CSCMatrix, targets: [Double], indexBase: Int) {
        if let indexBase, indexBase != 0 && indexBase != 1 {
            throw SparseError.invalidArgument("LIBSVM index base must be 0 or 1, got \(indexBase)")
        }
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        var indices = [Int32](), values = [Double]()
        var labels = [Double]()
        var counts = [Int]()       // per raw index
        let summary = try scan(path: path, indices: &indices, values: &values, keep: false) { label, rowIndices, _, _ in
            labels.append(label)
            for index in rowIndices {
                let j = Int(index)
                if j >= counts.count { counts.append(contentsOf: repeatElement(0, count: j + 1 - counts.count)) }
                counts[j] += 1
            }
        }
        let base = indexBase ?? (summary.minIndex == 0 ? 0 : 1)
        if base == 1 && summary.minIndex == 0 {
            throw fail(summary.firstZeroLine, "feature index 0 in a file read as 1-based\(indexBase == 1 ? " (the base given for this problem: its other files have no feature 0; read all of them as 0-based)" : "")")
        }
        var width = max(summary.maxIndex + 1 - base, 0)
        if columns == nil { width = max(width, summary.declaredColumns) }
        if let columns {
            guard columns >= width else {
                throw fail(summary.maxIndexLine, "feature index \(summary.maxIndex) is beyond the \(columns) features expected (\(base)-based; e.g. those of the training data)")
            }
            width = columns
        }
        var pointers = [Int](repeating: 0, count: width + 1)
        for (raw, count) in counts.enumerated() where count > 0 { pointers[raw - base + 1] = count }
        for j in 0..<width { pointers[j + 1] += pointers[j] }
        counts = []
        var next = Array(pointers.dropLast())
        var rowIndices = [Int32](repeating: 0, count: summary.nonzeros)
        var columnValues = [Double](repeating: 0, count: summary.nonzeros)
        var row: Int32 = 0
        // The second pass reads the same bytes (a regular file, or the spooled copy of a pipe);
        // rows come in order, so every column's row indices are increasing.
        _ = try scan(path: path, indices: &indices, values: &values, keep: false) { _, rowIdx, rowValues, line in
            guard Int(row) < labels.count else { throw fail(line, "the file changed between the two passes (more rows)") }
            for (index, value) in zip(rowIdx, rowValues) {
                let j = Int(index) - base
                guard j >= 0, j < width, next[j] < pointers[j + 1] else {
                    throw fail(line, "the file changed between the two passes")
                }
                rowIndices[next[j]] = row
                columnValues[next[j]] = value
                next[j] += 1
            }
            row += 1
        }
        guard Int(row) == labels.count else { throw fail(0, "the file changed between the two passes (fewer rows)") }
        let storage = CompressedStorage(majorCount: width, minorCount: labels.count, pointers: pointers,
                                        indices: rowIndices, values: columnValues)
        return (CSCMatrix(storage: storage), labels, base)
    }

    /// What a pass over a LIBSVM file found.
    struct ScanSummary {
        var rows = 0
        var nonzeros = 0
        var minIndex = Int.max
        var maxIndex = -1
        var firstZeroLine = 0
        var maxIndexLine = 0
        var declaredColumns = 0
    }

    /// One pass over a LIBSVM file: every row parsed and checked (indices as written, sorted
    /// within the row), then `onRow(label, indices, values, line)` with the row's entries
    /// (indices as in the file, before the base is known). With `keep` the rows accumulate in the
    /// arrays (`read`); without, each row is dropped after its call, so memory is one row
    /// (streaming conversions).
    static func scan(path: String, indices: inout [Int32], values: inout [Double], keep: Bool,
                     onRow: (Double, ArraySlice<Int32>, ArraySlice<Double>, Int) throws -> Void) throws -> ScanSummary {
        try parse(path: path, indices: &indices, values: &values, keep: keep, onRow: onRow).summary
    }

    /// Streams the rows of a LIBSVM file (plain or gzip-compressed, read once, nothing kept):
    /// `body(label, indices as written, values, line)` for each row, checked by `read`'s
    /// rules. Returns the parser, which holds what the index base and the width are decided
    /// from (the smallest and largest index, their lines, a `columns=` declaration).
    /// - Throws: what `read` throws for the line, or what `body` throws.
    public static func forEachRow(path: String, _ body: (Double, ArraySlice<Int32>, ArraySlice<Double>, Int) throws -> Void) throws
        -> LineParser {
        var indices: [Int32] = [], values: [Double] = []
        return try parse(path: path, indices: &indices, values: &values, keep: false, onRow: body)
    }

    static func parse(path: String, indices: inout [Int32], values: inout [Double], keep: Bool,
                      onRow: (Double, ArraySlice<Int32>, ArraySlice<Double>, Int) throws -> Void) throws -> LineParser {
        let reader = try LineReader(path: path)
        var parser = LineParser(path: path)
        while let parsed = try reader.nextLine({ base, length -> Bool in
            let rowStart = indices.count
            guard let label = try parser.parse(base, length, line: reader.lineNumber, indices: &indices, values: &values) else {
                return false
            }
            try onRow(label, indices[rowStart...], values[rowStart...], reader.lineNumber)
            if !keep {
                indices.removeAll(keepingCapacity: true)
                values.removeAll(keepingCapacity: true)
            }
            return true
        }) {
            _ = parsed
        }
        return parser
    }

    /// The rules of `read` for one line at a time, so that a reader of byte ranges (the PETSc
    /// backend's, each process parsing its part of the file) checks exactly what `read`
    /// checks: a numeric finite label, `index:value` pairs with nonnegative integer indices
    /// below 2³¹ − 1 and finite values, `qid:` ignored, `# comment` cut (with the
    /// `# isparse: columns=P` declaration read), a repeated index refused; each row's
    /// entries sorted by index. It tracks what the index base and the width are decided from.
    public struct LineParser {
        public let path: String
        /// Rows and nonzeros parsed so far.
        public private(set) var rows = 0, nonzeros = 0
        /// The smallest and largest index seen as written (Int.max and −1 before any).
        public private(set) var minIndex = Int.max, maxIndex = -1
        /// The first line with an index 0 (0: none) and the line of the largest index.
        public private(set) var firstZeroLine = 0, maxIndexLine = 0
        /// The largest `# isparse: columns=P` declaration (0: none).
        public private(set) var declaredColumns = 0
        private var rowScratch = [(Int32, Double)]()

        public init(path: String) { self.path = path }

        var summary: ScanSummary {
            ScanSummary(rows: rows, nonzeros: nonzeros, minIndex: minIndex, maxIndex: maxIndex, firstZeroLine: firstZeroLine,
                        maxIndexLine: maxIndexLine, declaredColumns: declaredColumns)
        }

        /// Parses one line: `base[0..<length]`, NUL-terminated at `length` (a carriage return
        /// already stripped); the buffer may be modified. Appends the row's entries (indices
        /// as written, sorted) to `indices` and `values` and returns its label; nil for a
        /// blank or comment-only line.
        /// - Throws: `SparseIOError.malformed` or `.tooLarge` naming `line` and the column.
        public mutating func parse(_ base: UnsafeMutablePointer<UInt8>, _ length: Int, line lineNumber: Int,
                                   indices: inout [Int32], values: inout [Double]) throws -> Double? {
            let path = self.path
            let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
            // Cut the comment.
            var lineLength = length
            if let hash = memchr(base, 35, length) {
                lineLength = UnsafeMutableRawPointer(hash).assumingMemoryBound(to: UInt8.self) - base
                // "# isparse: columns=P", written by `write`, keeps trailing empty columns.
                let marker = Array(" isparse: columns=".utf8)
                if lineLength + 1 + marker.count < length,
                   (0..<marker.count).allSatisfy({ base[lineLength + 1 + $0] == marker[$0] }) {
                    var comment = LineScanner(base + lineLength + 1 + marker.count, length - lineLength - 1 - marker.count)
                    if let p = comment.integer(), p >= 0, p < Int(Int32.max) {
                        // A declared width is budgeted like a feature index: a run holds vectors of it.
                        try SparseLimits.checkDimension(p, path: path, line: lineNumber, what: "the declared width (columns=)")
                        declaredColumns = max(declaredColumns, p)
                    }
                }
                base[lineLength] = 0
            }
            var scanner = LineScanner(base, lineLength)
            if scanner.atEnd { return nil }
            let labelStart = scanner.position
            guard let label = scanner.double() else {
                scanner.position = labelStart
                throw fail(lineNumber, "expected a numeric label at column 1, found '\(scanner.token() ?? "")'")
            }
            guard label.isFinite else { throw fail(lineNumber, "label is NaN or infinite") }
            let rowStart = indices.count
            var sorted = true
            var previous = -1
            while !scanner.atEnd {
                let tokenColumn = scanner.position + 1
                let tokenStart = scanner.position
                if scanner.hasPrefix("qid:") {
                    _ = scanner.token()
                    continue
                }
                guard let index = scanner.integer(terminator: 58) else {
                    scanner.position = tokenStart
                    throw fail(lineNumber, "expected 'index:value' with an integer index at column \(tokenColumn), found '\(scanner.token() ?? "")'")
                }
                guard scanner.consume(58) else {
                    scanner.position = tokenStart
                    throw fail(lineNumber, "missing ':' in '\(scanner.token() ?? "")' at column \(tokenColumn)")
                }
                guard index >= 0 else {
                    throw fail(lineNumber, "negative feature index \(index) at column \(tokenColumn)")
                }
                guard index < Int(Int32.max) else {
                    throw SparseIOError.tooLarge(path: path, line: lineNumber, message: "feature index \(index) exceeds 2³¹ − 2")
                }
                if index > maxIndex {
                    try SparseLimits.checkDimension(index, path: path, line: lineNumber, what: "feature index")
                }
                let valueStart = scanner.position
                guard valueStart < scanner.length, scanner.base[valueStart] != 32, scanner.base[valueStart] != 9,
                      let value = scanner.double() else {
                    scanner.position = valueStart
                    throw fail(lineNumber, "expected a numeric value after '\(index):' at column \(tokenColumn), found '\(scanner.token() ?? "")'")
                }
                guard value.isFinite else {
                    throw fail(lineNumber, "value of feature \(index) is NaN or infinite (column \(tokenColumn))")
                }
                if index <= previous { sorted = false }
                previous = index
                if index == 0 && firstZeroLine == 0 { firstZeroLine = lineNumber }
                if index > maxIndex { maxIndexLine = lineNumber }
                minIndex = min(minIndex, index)
                maxIndex = max(maxIndex, index)
                indices.append(Int32(index))
                values.append(value)
            }
            if !sorted {
                rowScratch.removeAll(keepingCapacity: true)
                for k in rowStart..<indices.count { rowScratch.append((indices[k], values[k])) }
                rowScratch.sort { $0.0 < $1.0 }
                for (offset, pair) in rowScratch.enumerated() {
                    if offset > 0 && rowScratch[offset - 1].0 == pair.0 {
                        throw fail(lineNumber, "feature index \(pair.0) appears twice")
                    }
                    indices[rowStart + offset] = pair.0
                    values[rowStart + offset] = pair.1
                }
            }
            rows += 1
            nonzeros += indices.count - rowStart
            return label
        }
    }

    /// Writes samples in LIBSVM format (1-based indices unless `zeroBased`), values in their
    /// shortest round-tripping form, after a comment line `# isparse: columns=P` that `read`
    /// uses for the column count (a file's trailing empty columns are otherwise lost).
    @available(*, deprecated, renamed: "write(features:targets:to:zeroBased:)")
    public static func write(features: CSRMatrix, labels: [Double], to path: String, zeroBased: Bool = false) throws {
        try write(features: features, targets: labels, to: path, zeroBased: zeroBased)
    }

    /// Writes samples in LIBSVM format; `targets` are the labels, one per row (see above).
    public static func write(features: CSRMatrix, targets labels: [Double], to path: String, zeroBased: Bool = false) throws {
        try checkLength("LIBSVM.write", "targets", expected: features.rows, actual: labels.count)
        let writer = try TextWriter(path: path)
        let offset = zeroBased ? 0 : 1
        // The column count, for readers that honour it (this one does; others skip comments):
        // trailing columns without nonzeros survive a round trip.
        try writer.write("# isparse: columns=\(features.columns)\n")
        for i in 0..<features.rows {
            var line = formatValue(labels[i])
            for k in features.rowPointers[i]..<features.rowPointers[i + 1] {
                line += " \(Int(features.columnIndices[k]) + offset):\(formatValue(features.values[k]))"
            }
            line += "\n"
            try writer.write(line)
        }
        try writer.close()
    }
}
import Foundation
