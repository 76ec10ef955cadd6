/// Matrix Market exchange format (NIST): coordinate and array layouts; real, integer and
/// pattern fields; general, symmetric and skew-symmetric symmetry. Files ending in `.gz` are
/// read and written gzip-compressed. Reading streams: memory is the matrix plus 16 bytes per
/// stored entry while compressing, never the file text.
public enum MatrixMarket {
    public enum Layout: String, Sendable { case coordinate, array }
    public enum Field: String, Sendable { case real, integer, pattern }
    public enum Symmetry: String, Sendable {
        case general, symmetric
        case skewSymmetric = "skew-symmetric"
    }

    /// What a file held: the matrix (both triangles expanded for symmetric files) and its header.
    public struct File: Sendable {
        public var matrix: CSRMatrix
        public var layout: Layout
        public var field: Field
        public var symmetry: Symmetry
        /// Entries stored in the file (before symmetric expansion and duplicate summing).
        public var storedEntries: Int
    }

    /// Reads a sparse matrix. Duplicate coordinate entries are summed.
    /// - Throws: `SparseIOError` naming the file and line: a bad banner, an unsupported field
    ///   (complex, hermitian), a size line that is not three (two) nonnegative integers,
    ///   dimensions over 2³¹ − 1, an index out of range, a non-numeric or non-finite value,
    ///   an entry in the upper triangle of a symmetric file, or an entry count that does not
    ///   match the header (too few or too many).
    /// True when the file (plain or gzip-compressed, whatever its name) starts with the
    /// `%%MatrixMarket` banner. Reads one line at most.
    public static func hasBanner(path: String) throws -> Bool {
        let reader = try LineReader(path: path)
        return try reader.nextLine { base, length -> Bool in
            let banner = Array("%%matrixmarket".utf8)
            guard length >= banner.count else { return false }
            for k in 0..<banner.count where base[k] | 0x20 != banner[k] | 0x20 { return false }
            return true
        } ?? false
    }

    public static func read(path: String) throws -> File {
        let reader = try LineReader(path: path)
        let header = try readHeader(reader)
        let (rows, columns) = (header.rows, header.columns)
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        let expected = header.entries
        var builder = try COOBuilder(rows: rows, columns: columns,
                                     reservingCapacity: min(expected, 1 << 24) * (header.symmetry == .general ? 1 : 2))
        var stored = 0
        if header.layout == .coordinate {
            stored = try coordinateEntries(reader, header) { i, j, value, line in
                switch header.symmetry {
                case .general:
                    try builder.append(row: i - 1, column: j - 1, value: value)
                case .symmetric:
                    guard i >= j else { throw fail(line, "entry (\(i), \(j)) above the diagonal in a symmetric file (store the lower triangle)") }
                    try builder.append(row: i - 1, column: j - 1, value: value)
                    if i != j { try builder.append(row: j - 1, column: i - 1, value: value) }
                case .skewSymmetric:
                    guard i > j else { throw fail(line, "entry (\(i), \(j)) on or above the diagonal in a skew-symmetric file") }
                    try builder.append(row: i - 1, column: j - 1, value: value)
                    try builder.append(row: j - 1, column: i - 1, value: -value)
                }
            }
        } else {
            // Array layout: column-major values; symmetric files list the lower triangle,
            // skew-symmetric ones the strict lower triangle.
            var column = 0, row = header.symmetry == .skewSymmetric ? 1 : 0
            while let value = try reader.nextLine({ base, length -> Double? in
                var scanner = LineScanner(base, length)
                if scanner.atEnd || base[scanner.position] == 37 { return nil }
                guard let v = scanner.double(), scanner.atEnd else {
                    throw fail(reader.lineNumber, "expected one numeric value, found '\(scanner.rest)'")
                }
                guard v.isFinite else { throw fail(reader.lineNumber, "value is NaN or infinite") }
                return v
            }) {
                guard let value else { continue }
                stored += 1
                guard stored <= expected else {
                    throw fail(reader.lineNumber, "more values than the \(expected) declared in the size line")
                }
                if value != 0 {
                    try builder.append(row: row, column: column, value: value)
                    if header.symmetry == .symmetric && row != column {
                        try builder.append(row: column, column: row, value: value)
                    } else if header.symmetry == .skewSymmetric {
                        try builder.append(row: column, column: row, value: -value)
                    }
                }
                row += 1
                if row == rows {
                    column += 1
                    row = header.symmetry == .general ? 0 : column + (header.symmetry == .skewSymmetric ? 1 : 0)
                }
            }
        }
        guard stored == expected else {
            throw fail(reader.lineNumber + 1, "file ends after \(stored) of the \(expected) entries declared in the size line")
        }
        var matrix = builder.makeCSR()
        matrix.isKnownSymmetric = header.symmetry == .symmetric
        return File(matrix: matrix, layout: header.layout, field: header.field, symmetry: header.symmetry,
                    storedEntries: stored)
    }

    /// Streams the entries of a coordinate-layout file after its header: `body` gets the
    /// 1-based row and column (checked against the size line), the value (1 for a pattern
    /// file; finite) and the line number. Returns the number of entries, checked against the
    /// size line (too many is an error at the first extra line).
    static func coordinateEntries(_ reader: LineReader, _ header: Header,
                                  _ body: (_ row: Int, _ column: Int, _ value: Double, _ line: Int) throws -> Void) throws -> Int {
        let path = reader.path
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        let hasValue = header.field != .pattern
        let (rows, columns, expected) = (header.rows, header.columns, header.entries)
        var stored = 0
        while let entry = try reader.nextLine({ base, length -> (Int, Int, Double)? in
            var scanner = LineScanner(base, length)
            if scanner.atEnd || base[scanner.position] == 37 { return nil }  // blank or comment
            guard let i = scanner.integer(), let j = scanner.integer() else {
                throw fail(reader.lineNumber, "expected 'row column\(hasValue ? " value" : "")' with integer indices, found '\(scanner.rest)'")
            }
            var value = 1.0
            if hasValue {
                guard let v = scanner.double() else {
                    throw fail(reader.lineNumber, "expected a numeric value after the indices")
                }
                guard v.isFinite else { throw fail(reader.lineNumber, "value is NaN or infinite") }
                value = v
            }
            guard scanner.atEnd else { throw fail(reader.lineNumber, "unexpected text '\(scanner.rest)' after the entry") }
            return (i, j, value)
        }) {
            guard let (i, j, value) = entry else { continue }
            let line = reader.lineNumber
            stored += 1
            guard stored <= expected else {
                throw fail(line, "more entries than the \(expected) declared in the size line")
            }
            guard i >= 1, i <= rows, j >= 1, j <= columns else {
                throw fail(line, "index (\(i), \(j)) out of range for a \(rows) × \(columns) matrix (indices are 1-based)")
            }
            try body(i, j, value, line)
        }
        return stored
    }

    /// Reads a dense vector or matrix (array layout, or coordinate for small matrices) as
    /// column-major values. - Returns: (rows, columns, values).
    public static func readDense(path: String) throws -> (rows: Int, columns: Int, values: [Double]) {
        let file = try read(path: path)
        let m = file.matrix
        let (count, overflow) = m.rows.multipliedReportingOverflow(by: m.columns)
        guard !overflow, count <= 1 << 31 else {
            throw SparseIOError.tooLarge(path: path, line: 2, message: "\(m.rows) × \(m.columns) is too large for a dense array")
        }
        // The dense values and the vectors a run holds of that length, before allocating.
        try SparseLimits.checkDimension(count, path: path, line: 2, what: "a dense \(m.rows) × \(m.columns) array of")
        var dense = [Double](repeating: 0, count: count)
        for i in 0..<m.rows {
            for k in m.rowPointers[i]..<m.rowPointers[i + 1] {
                dense[Int(m.columnIndices[k]) * m.rows + i] = m.values[k]
            }
        }
        return (m.rows, m.columns, dense)
    }

    struct Header {
        var layout: Layout, field: Field, symmetry: Symmetry
        var rows: Int, columns: Int, entries: Int
    }

    static func readHeader(_ reader: LineReader) throws -> Header {
        let path = reader.path
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        guard let banner = try reader.nextLine({ base, length in
            String(decoding: UnsafeBufferPointer(start: base, count: length), as: UTF8.self)
        }) else { throw fail(1, "empty file, expected a '%%MatrixMarket' banner") }
        let words = banner.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
        guard words.count == 5, words[0] == "%%matrixmarket" else {
            throw fail(1, "expected '%%MatrixMarket matrix <coordinate|array> <field> <symmetry>', found '\(banner.prefix(80))'")
        }
        guard words[1] == "matrix" else { throw fail(1, "object '\(words[1])' is not supported (only 'matrix')") }
        guard let layout = Layout(rawValue: words[2]) else {
            throw fail(1, "format '\(words[2])' is not 'coordinate' or 'array'")
        }
        guard let field = Field(rawValue: words[3]) else {
            throw fail(1, "field '\(words[3])' is not supported (real, integer or pattern)")
        }
        guard let symmetry = Symmetry(rawValue: words[4]) else {
            throw fail(1, "symmetry '\(words[4])' is not supported (general, symmetric or skew-symmetric)")
        }
        if layout == .array && field == .pattern { throw fail(1, "the array format cannot have a pattern field") }
        // Skip comments and blank lines up to the size line.
        while true {
            guard let size = try reader.nextLine({ base, length -> [Int]?? in
                var scanner = LineScanner(base, length)
                if scanner.atEnd || base[scanner.position] == 37 { return .some(nil) }
                var numbers = [Int]()
                while !scanner.atEnd {
                    guard let value = scanner.integer(), value >= 0 else { return .none }
                    numbers.append(value)
                }
                return .some(numbers)
            }) else { throw fail(reader.lineNumber + 1, "file ends before the size line") }
            guard let maybeNumbers = size else {
                throw fail(reader.lineNumber, "size line must hold nonnegative integers")
            }
            guard let numbers = maybeNumbers else { continue }
            let line = reader.lineNumber
            let wanted = layout == .coordinate ? 3 : 2
            guard numbers.count == wanted else {
                throw fail(line, "size line must hold \(wanted) nonnegative integers (\(layout == .coordinate ? "rows columns entries" : "rows columns")), found \(numbers.count)")
            }
            let rows = numbers[0], columns = numbers[1]
            guard rows <= Int(Int32.max), columns <= Int(Int32.max) else {
                throw SparseIOError.tooLarge(path: path, line: line, message: "dimensions \(rows) × \(columns) exceed 2³¹ − 1")
            }
            if symmetry != .general && rows != columns {
                throw fail(line, "a \(symmetry.rawValue) matrix must be square, size line says \(rows) × \(columns)")
            }
            var entries: Int
            if layout == .coordinate {
                entries = numbers[2]
                let (full, overflow) = rows.multipliedReportingOverflow(by: columns)
                if !overflow && entries > full {
                    throw fail(line, "\(entries) entries declared for a \(rows) × \(columns) matrix")
                }
            } else {
                switch symmetry {
                case .general:
                    let (full, overflow) = rows.multipliedReportingOverflow(by: columns)
                    guard !overflow else { throw SparseIOError.tooLarge(path: path, line: line, message: "array too large") }
                    entries = full
                case .symmetric: entries = rows * (rows + 1) / 2
                case .skewSymmetric: entries = rows * (rows - 1) / 2
                }
            }
            // The whole run: the matrix (a COO triplet of 16 bytes and a CSR entry of 12 bytes per
            // stored entry, twice for a symmetric file's mirrored half) and the run's vectors.
            let stored = layout == .coordinate ? (symmetry == .general ? entries : 2 * entries) : entries
            let (matrixBytes, overflow) = stored.multipliedReportingOverflow(by: layout == .coordinate ? 28 : 8)
            try SparseLimits.checkDimension(max(rows, columns), path: path, line: line, what: "declared dimension",
                                            extra: overflow ? Int.max / 2 : matrixBytes)
            return Header(layout: layout, field: field, symmetry: symmetry, rows: rows, columns: columns, entries: entries)
        }
    }

    /// Writes a sparse matrix in coordinate layout. With `symmetry: .symmetric` only the lower
    /// triangle is written (the matrix must be symmetric; it is checked).
    public static func write(_ matrix: CSRMatrix, to path: String, symmetry: Symmetry = .general,
                             comment: String? = nil) throws {
        if symmetry != .general && !matrix.isSymmetric(tolerance: 0) && symmetry == .symmetric {
            throw SparseError.invalidArgument("MatrixMarket.write: the matrix is not symmetric")
        }
        guard symmetry != .skewSymmetric else {
            throw SparseError.invalidArgument("MatrixMarket.write: skew-symmetric output is not supported")
        }
        let writer = try TextWriter(path: path)
        try writer.write("%%MatrixMarket matrix coordinate real \(symmetry.rawValue)\n")
        if let comment { for line in comment.split(separator: "\n") { try writer.write("% \(line)\n") } }
        var count = 0
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1]
            where symmetry == .general || Int(matrix.columnIndices[k]) <= i { count += 1 }
        }
        try writer.write("\(matrix.rows) \(matrix.columns) \(count)\n")
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] {
                let j = Int(matrix.columnIndices[k])
                if symmetry == .symmetric && j > i { continue }
                try writer.write("\(i + 1) \(j + 1) \(formatValue(matrix.values[k]))\n")
            }
        }
        try writer.close()
    }

    /// Writes dense column-major values in array layout (a vector when `columns` is 1).
    public static func writeDense(_ values: [Double], rows: Int, columns: Int = 1, to path: String) throws {
        try checkLength("MatrixMarket.writeDense", "values", expected: rows * columns, actual: values.count)
        let writer = try TextWriter(path: path)
        try writer.write("%%MatrixMarket matrix array real general\n\(rows) \(columns)\n")
        for v in values { try writer.write("\(formatValue(v))\n") }
        try writer.close()
    }
}

/// Shortest round-tripping decimal form of a double.
@inline(__always)
func formatValue(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
    return "\(v)"
}
