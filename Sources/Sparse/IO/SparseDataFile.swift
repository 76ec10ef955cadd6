import Foundation

/// The file formats `SparseDataFile` reads and writes, chosen from a path's extension
/// (a trailing `.gz` is removed first: any of them may be gzip-compressed).
public enum SparseFileFormat: String, Sendable, CaseIterable {
    /// Matrix Market coordinate (or array, read only): `.mtx`, `.mm`.
    case matrixMarket = "matrix-market"
    /// LIBSVM / svmlight, labels in the file: `.svm`, `.libsvm`, `.txt`.
    case libsvm
    /// SciPy's `save_npz` layout (a zip of `.npy` arrays): `.npz`.
    case npz
    /// An undirected weighted edge list `i j w`, 1-based: `.edges`.
    case edgeList = "edges"

    /// The format of `path` by its extension.
    /// - Throws: `SparseError.invalidArgument` naming the extensions known.
    public init(path: String) throws {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        let ext = (name as NSString).pathExtension
        switch ext {
        case "mtx", "mm": self = .matrixMarket
        case "svm", "libsvm", "txt", "svmlight": self = .libsvm
        case "npz": self = .npz
        case "edges", "edgelist": self = .edgeList
        default:
            throw SparseError.invalidArgument("\(path): unknown data file extension '.\(ext)'; expected .mtx/.mm (Matrix Market), .svm/.libsvm/.txt (LIBSVM), .npz (SciPy sparse), .edges (edge list), each optionally followed by .gz")
        }
    }
}

/// A sparse matrix with optional per-row targets: what `SparseDataFile` reads and writes. The
/// names are those of every loader (`LIBSVM.Dataset`, `Datasets`): `features`, `targets`.
public struct SparseData: Sendable {
    /// The matrix (samples × features for a data set; any sparse matrix otherwise).
    public var features: CSRMatrix
    /// One value per row (a LIBSVM file's labels; other formats take them from a separate file).
    public var targets: [Double]?
    /// Set when the source declared the matrix symmetric (Matrix Market `symmetric`, edge lists).
    public var symmetric: Bool
    /// 0 or 1 for a LIBSVM source (kept when writing LIBSVM again).
    public var indexBase: Int?

    public init(features: CSRMatrix, targets: [Double]? = nil, symmetric: Bool = false, indexBase: Int? = nil) {
        self.features = features
        self.targets = targets
        self.symmetric = symmetric
        self.indexBase = indexBase
    }
    @available(*, deprecated, renamed: "init(features:targets:symmetric:indexBase:)")
    public init(matrix: CSRMatrix, labels: [Double]? = nil, symmetric: Bool = false, indexBase: Int? = nil) {
        self.init(features: matrix, targets: labels, symmetric: symmetric, indexBase: indexBase)
    }
    @available(*, deprecated, renamed: "features")
    public var matrix: CSRMatrix { get { features } set { features = newValue } }
    @available(*, deprecated, renamed: "targets")
    public var labels: [Double]? { get { targets } set { targets = newValue } }
}

/// Reading and writing sparse data in every supported format, with gzip on either side. Values
/// are written in their shortest round-tripping decimal form (or as binary doubles in `.npz`),
/// so a conversion between any two formats and back gives the same matrix exactly.
///
/// Memory: a conversion holds the matrix in CSR form (8·(rows + 1) + 12·nnz bytes) plus, for
/// `.npz`, the archive's bytes; text files are streamed, never held whole.
public enum SparseDataFile {
    /// Reads `path` in `format` (by default from its extension).
    /// - Throws: `SparseIOError` naming the file (and line for text formats) of malformed content.
    public static func read(path: String, format: SparseFileFormat? = nil) throws -> SparseData {
        switch try format ?? SparseFileFormat(path: path) {
        case .matrixMarket:
            let file = try MatrixMarket.read(path: path)
            return SparseData(features: file.matrix, symmetric: file.symmetry == .symmetric)
        case .libsvm:
            let file = try LIBSVM.read(path: path)
            return SparseData(features: file.features, targets: file.targets, indexBase: file.indexBase)
        case .npz:
            return SparseData(features: try SciPySparse.read(path: path))
        case .edgeList:
            return SparseData(features: try readEdgeList(path: path), symmetric: true)
        }
    }

    /// Writes `data` to `path` in `format` (by default from its extension), atomically.
    /// LIBSVM needs labels: rows without them are written with label 0 (`labelsInvented` tells
    /// the caller to say so). An edge list needs a square symmetric matrix and writes each
    /// undirected edge once (the lower triangle, diagonal entries as self-loops).
    /// - Returns: true when LIBSVM labels were invented (all 0).
    @discardableResult
    public static func write(_ data: SparseData, to path: String, format: SparseFileFormat? = nil) throws -> Bool {
        let matrix = data.features
        switch try format ?? SparseFileFormat(path: path) {
        case .matrixMarket:
            let symmetric = data.symmetric && matrix.rows == matrix.columns && matrix.isSymmetric(tolerance: 0)
            try MatrixMarket.write(matrix, to: path, symmetry: symmetric ? .symmetric : .general)
        case .libsvm:
            try LIBSVM.write(features: matrix, targets: data.targets ?? [Double](repeating: 0, count: matrix.rows), to: path,
                             zeroBased: data.indexBase == 0)
            return data.targets == nil
        case .npz:
            try SciPySparse.write(matrix, to: path)
        case .edgeList:
            try writeEdgeList(matrix, to: path)
        }
        return false
    }

    /// Converts a LIBSVM file to Matrix Market or LIBSVM without holding the matrix: two
    /// streamed passes (the first checks every line and counts rows, nonzeros and columns for
    /// the header, the second writes), so files larger than memory convert. Memory: one row,
    /// plus the labels (8 bytes per row) when `labelsPath` is given. The output equals what
    /// `write(read(input))` writes, byte for byte.
    /// - Parameters:
    ///   - input: the LIBSVM file (plain or .gz).
    ///   - output: a Matrix Market or LIBSVM file (.gz compresses), written atomically.
    ///   - labelsPath: where the labels go (for a Matrix Market output).
    /// - Returns: rows, columns and nonzeros written.
    /// - Throws: as `LIBSVM.read`, naming the input's line; `.invalidArgument` for an output
    ///   that is not Matrix Market or LIBSVM.
    @discardableResult
    public static func convertLIBSVMStreaming(from input: String, to output: String, labelsPath: String? = nil) throws
        -> (rows: Int, columns: Int, nonzeros: Int) {
        let format = try SparseFileFormat(path: output)
        guard format == .matrixMarket || format == .libsvm else {
            throw SparseError.invalidArgument("streaming conversion writes Matrix Market or LIBSVM, not \(format.rawValue)")
        }
        var indices: [Int32] = [], values: [Double] = []
        let summary = try LIBSVM.scan(path: input, indices: &indices, values: &values, keep: false) { _, _, _, _ in }
        let base = summary.minIndex == 0 ? 0 : 1
        let columns = max(summary.maxIndex + 1 - base, 0, summary.declaredColumns)
        let writer = try TextWriter(path: output)
        var labels: [Double] = []
        if format == .matrixMarket {
            try writer.write("%%MatrixMarket matrix coordinate real general\n\(summary.rows) \(columns) \(summary.nonzeros)\n")
        } else {
            try writer.write("# isparse: columns=\(columns)\n")
        }
        var row = 0
        _ = try LIBSVM.scan(path: input, indices: &indices, values: &values, keep: false) { label, rowIndices, rowValues, _ in
            row += 1
            if labelsPath != nil { labels.append(label) }
            if format == .matrixMarket {
                for (j, v) in zip(rowIndices, rowValues) {
                    try writer.write("\(row) \(Int(j) - base + 1) \(formatValue(v))\n")
                }
            } else {
                // The input's index base is kept, as `write` keeps a read file's.
                var line = formatValue(label)
                for (j, v) in zip(rowIndices, rowValues) { line += " \(Int(j)):\(formatValue(v))" }
                try writer.write(line + "\n")
            }
        }
        try writer.close()
        if let labelsPath { try writeTargets(labels, to: labelsPath) }
        return (summary.rows, columns, summary.nonzeros)
    }

    @available(*, deprecated, renamed: "readTargets(path:)")
    public static func readLabels(path: String) throws -> [Double] { try readTargets(path: path) }

    /// Per-row targets (labels) from a separate file: `.npy` (a 1-D numeric array), Matrix
    /// Market dense array (`.mtx`), or text with one value per line (`#`/`%` comments and
    /// blank lines skipped).
    public static func readTargets(path: String) throws -> [Double] {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".npy") {
            let array = try NumPyArray.decode(try BinaryFile.read(path: path), path: path, name: "labels")
            guard array.shape.count == 1 || (array.shape.count == 2 && array.shape.contains(1)) else {
                throw SparseIOError.malformed(path: path, line: 0, message: "labels must be a 1-D array, found shape \(array.shape)")
            }
            let values = try array.doubles(name: "labels")
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw SparseIOError.malformed(path: path, line: 0, message: "label \(bad) is NaN or infinite")
            }
            return values
        }
        if try MatrixMarket.hasBanner(path: path) {
            let (rows, columns, values) = try MatrixMarket.readDense(path: path)
            guard min(rows, columns) == 1 || values.isEmpty else {
                throw SparseIOError.malformed(path: path, line: 2, message: "labels must be a vector, the array is \(rows) × \(columns)")
            }
            return values
        }
        var values: [Double] = []
        let reader = try LineReader(path: path)
        while let value = try reader.nextLine({ base, length -> Double? in
            var scanner = LineScanner(base, length)
            if scanner.atEnd || base[scanner.position] == 35 || base[scanner.position] == 37 { return nil }
            guard let v = scanner.double(), scanner.atEnd else {
                throw SparseIOError.malformed(path: path, line: reader.lineNumber, message: "expected one numeric label per line, found '\(scanner.rest)'")
            }
            guard v.isFinite else { throw SparseIOError.malformed(path: path, line: reader.lineNumber, message: "label is NaN or infinite") }
            return v
        }) {
            if let value { values.append(value) }
        }
        return values
    }

    @available(*, deprecated, renamed: "writeTargets(_:to:)")
    public static func writeLabels(_ labels: [Double], to path: String) throws { try writeTargets(labels, to: path) }

    /// Writes per-row targets as `.npy` (`<f8`), a Matrix Market dense array (`.mtx`), or text, one per line.
    public static func writeTargets(_ labels: [Double], to path: String) throws {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".npy") {
            try BinaryFile.write(NumPyArray(doubles: labels).encoded(), to: path)
        } else if name.hasSuffix(".mtx") || name.hasSuffix(".mm") {
            try MatrixMarket.writeDense(labels, rows: labels.count, to: path)
        } else {
            let writer = try TextWriter(path: path)
            for v in labels { try writer.write(formatValue(v) + "\n") }
            try writer.close()
        }
    }

    /// An edge list as a symmetric matrix: `i j [w]` per line, 1-based, weight 1 when omitted,
    /// repeated edges add; `i i w` is a diagonal entry. A comment `# nodes: N` (as written by
    /// `writeEdgeList`) sets the size, so trailing isolated nodes survive a round trip;
    /// otherwise the size is the largest index.
    static func readEdgeList(path: String) throws -> CSRMatrix {
        var tails: [Int32] = [], heads: [Int32] = [], weights: [Double] = []
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        let (largest, declared, lastLine) = try forEachEdgeLine(path: path) { i, j, w, line in
            guard w.isFinite else { throw fail(line, "edge weight is NaN or infinite") }
            tails.append(Int32(i - 1)); heads.append(Int32(j - 1)); weights.append(w)
        }
        let nodes = max(largest, declared ?? 0)
        try SparseLimits.checkDimension(nodes, path: path, line: lastLine, what: "largest node index", extra: 32 * tails.count)
        var builder = try COOBuilder(rows: nodes, columns: nodes, reservingCapacity: 2 * tails.count)
        for e in 0..<tails.count {
            try builder.append(row: Int(tails[e]), column: Int(heads[e]), value: weights[e])
            if tails[e] != heads[e] { try builder.append(row: Int(heads[e]), column: Int(tails[e]), value: weights[e]) }
        }
        var matrix = builder.makeCSR()
        matrix.isKnownSymmetric = true
        return matrix
    }

    /// The lines of an edge list: `body(i, j, w, line)` for each edge `i j [w]` (1-based,
    /// checked ≥ 1 and < 2³¹, w = 1 when omitted); blank lines and `#`/`%` comments skipped,
    /// except `# nodes: N`, returned as `declared` (an edge beyond it is an error).
    /// - Returns: the largest index, the declared node count, the last line number.
    static func forEachEdgeLine(path: String, _ body: (Int, Int, Double, Int) throws -> Void) throws
        -> (largest: Int, declared: Int?, lastLine: Int) {
        let reader = try LineReader(path: path)
        let fail = { (line: Int, message: String) in SparseIOError.malformed(path: path, line: line, message: message) }
        var largest = 0
        var declared: Int?
        while let entry = try reader.nextLine({ base, length -> (Int, Int, Double)? in
            var scanner = LineScanner(base, length)
            if scanner.atEnd { return nil }
            if base[scanner.position] == 35 || base[scanner.position] == 37 {
                scanner.position += 1
                if scanner.hasPrefix("nodes:") {
                    scanner.position += 6
                    if let n = scanner.integer(), n >= 0 { declared = n }
                }
                return nil
            }
            guard let i = scanner.integer(), let j = scanner.integer() else {
                throw fail(reader.lineNumber, "expected an edge 'i j [weight]' with integer node indices, found '\(scanner.rest)'")
            }
            var w = 1.0
            if !scanner.atEnd {
                guard let value = scanner.double() else { throw fail(reader.lineNumber, "expected a numeric weight after the nodes, found '\(scanner.rest)'") }
                w = value
            }
            guard scanner.atEnd else { throw fail(reader.lineNumber, "unexpected text '\(scanner.rest)' after the edge") }
            return (i, j, w)
        }) {
            guard let (i, j, w) = entry else { continue }
            let line = reader.lineNumber
            guard i >= 1, j >= 1 else { throw fail(line, "node index \(min(i, j)) out of range (indices are 1-based)") }
            guard i <= Int(Int32.max), j <= Int(Int32.max) else {
                throw SparseIOError.tooLarge(path: path, line: line, message: "node index \(max(i, j)) exceeds 2³¹ − 1")
            }
            if let declared, max(i, j) > declared {
                throw fail(line, "node \(max(i, j)) is beyond the \(declared) nodes declared by '# nodes:'")
            }
            largest = max(largest, i, j)
            try body(i, j, w, line)
        }
        return (largest, declared, reader.lineNumber)
    }

    /// Writes a square symmetric matrix as an edge list: `# nodes: N`, then `i j w` (1-based,
    /// i ≥ j) for each stored entry of the lower triangle.
    static func writeEdgeList(_ matrix: CSRMatrix, to path: String) throws {
        guard matrix.rows == matrix.columns, matrix.isSymmetric(tolerance: 0) else {
            throw SparseError.invalidArgument("an edge list stores an undirected graph: the matrix must be square and symmetric (it is \(matrix.rows) × \(matrix.columns)\(matrix.rows == matrix.columns ? ", unsymmetric" : "")); write .mtx instead")
        }
        let writer = try TextWriter(path: path)
        try writer.write("# nodes: \(matrix.rows)\n")
        for i in 0..<matrix.rows {
            for k in matrix.rowPointers[i]..<matrix.rowPointers[i + 1] {
                let j = Int(matrix.columnIndices[k])
                guard j <= i else { break }
                try writer.write("\(i + 1) \(j + 1) \(formatValue(matrix.values[k]))\n")
            }
        }
        try writer.close()
    }
}

/// SciPy's sparse `.npz` files (`scipy.sparse.save_npz` / `load_npz`): a zip of `data`,
/// `indices`, `indptr`, `format` and `shape` arrays (csr, csc), or `row`, `col`, `data`
/// (coo). Written as CSR with `<f8` data and `<i4` indices (`<i8` beyond 2³¹), deflated as
/// `save_npz(compressed=True)` does.
public enum SciPySparse {
    /// Reads a csr, csc or coo matrix. Indices need not be sorted; duplicates add (SciPy's
    /// semantics).
    /// - Throws: `SparseIOError.malformed` naming the file and the array at fault.
    public static func read(path: String) throws -> CSRMatrix {
        let entries = try ZipArchive.read(try BinaryFile.read(path: path), path: path)
        var arrays: [String: NumPyArray] = [:]
        for (name, contents) in entries {
            let key = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            arrays[key] = try NumPyArray.decode(contents, path: path, name: name)
        }
        let fail = { (message: String) in SparseIOError.malformed(path: path, line: 0, message: message) }
        func array(_ key: String) throws -> NumPyArray {
            guard let a = arrays[key] else {
                throw fail("no '\(key).npy' in the archive (found \(arrays.keys.sorted().joined(separator: ", "))); expected a scipy.sparse.save_npz file")
            }
            return a
        }
        func checked<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let error as SparseError { throw fail("\(error)") }
        }
        guard let format = try array("format").string() else { throw fail("'format' is not a string") }
        let shape = try checked { try array("shape").integers(name: "shape") }
        guard shape.count == 2, shape[0] >= 0, shape[1] >= 0 else { throw fail("'shape' must hold two nonnegative sizes, found \(shape)") }
        guard shape[0] < Int(Int32.max), shape[1] < Int(Int32.max) else {
            throw SparseIOError.tooLarge(path: path, line: 0, message: "shape \(shape) exceeds 2³¹ − 1 in a dimension")
        }
        let (rows, columns) = (shape[0], shape[1])
        let data = try checked { try array("data").doubles(name: "data") }
        if let bad = data.firstIndex(where: { !$0.isFinite }) { throw fail("data[\(bad)] is NaN or infinite") }
        switch format {
        case "csr", "csc":
            let indices = try checked { try array("indices").integers(name: "indices") }
            let pointers = try checked { try array("indptr").integers(name: "indptr") }
            let major = format == "csr" ? rows : columns, minor = format == "csr" ? columns : rows
            guard pointers.count == major + 1 else { throw fail("indptr has \(pointers.count) entries, a \(format) matrix of shape \(shape) needs \(major + 1)") }
            guard indices.count == data.count else { throw fail("indices has \(indices.count) entries and data \(data.count)") }
            guard pointers.first == 0, pointers.last == data.count else { throw fail("indptr must run from 0 to nnz = \(data.count)") }
            var builder = try COOBuilder(rows: rows, columns: columns, reservingCapacity: data.count)
            for m in 0..<major {
                guard pointers[m] <= pointers[m + 1] else { throw fail("indptr decreases at \(m)") }
                for k in pointers[m]..<pointers[m + 1] {
                    let n = indices[k]
                    guard n >= 0, n < minor else { throw fail("indices[\(k)] = \(n) out of range 0..<\(minor)") }
                    if format == "csr" { try builder.append(row: m, column: n, value: data[k]) }
                    else { try builder.append(row: n, column: m, value: data[k]) }
                }
            }
            return builder.makeCSR()
        case "coo":
            let r = try checked { try array("row").integers(name: "row") }
            let c = try checked { try array("col").integers(name: "col") }
            guard r.count == data.count, c.count == data.count else { throw fail("row, col and data differ in length") }
            var builder = try COOBuilder(rows: rows, columns: columns, reservingCapacity: data.count)
            for k in 0..<data.count {
                guard r[k] >= 0, r[k] < rows, c[k] >= 0, c[k] < columns else { throw fail("entry \(k) at (\(r[k]), \(c[k])) is outside shape \(shape)") }
                try builder.append(row: r[k], column: c[k], value: data[k])
            }
            return builder.makeCSR()
        default:
            throw fail("sparse format '\(format)' is not read (csr, csc and coo are); convert it in SciPy with .tocsr()")
        }
    }

    /// Writes `matrix` as SciPy's `save_npz` does for a CSR matrix.
    public static func write(_ matrix: CSRMatrix, to path: String) throws {
        let entries: [(name: String, contents: [UInt8])] = [
            ("indices.npy", NumPyArray(integers: matrix.columnIndices.map(Int.init)).encoded()),
            ("indptr.npy", NumPyArray(integers: matrix.rowPointers).encoded()),
            ("format.npy", NumPyArray(string: "csr").encoded()),
            ("shape.npy", NumPyArray(descr: "<i8", shape: [2], bytes: shapeBytes(matrix)).encoded()),
            ("data.npy", NumPyArray(doubles: matrix.values).encoded()),
        ]
        try BinaryFile.write(try ZipArchive.archive(entries), to: path)
    }

    private static func shapeBytes(_ matrix: CSRMatrix) -> [UInt8] {
        var bytes: [UInt8] = []
        for v in [Int64(matrix.rows), Int64(matrix.columns)] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        return bytes
    }
}
