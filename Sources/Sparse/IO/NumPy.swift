import Foundation

/// NumPy's `.npy` format (versions 1.0–3.0): a magic string, a header that is a Python dict
/// literal (`descr`, `fortran_order`, `shape`), then the raw array. Read: booleans, signed and
/// unsigned integers of 1–8 bytes, 4- and 8-byte floats, either byte order, and the string
/// scalars (`<U`, `|S`) SciPy stores as a sparse file's `format`. Written: little-endian
/// `<f8`, `<i4`, `<i8` arrays and `<U` scalars, version 1.0 headers padded to 64 bytes as
/// NumPy pads them.
public struct NumPyArray: Sendable, Equatable {
    /// The dtype string, e.g. `<f8`.
    public var descr: String
    public var shape: [Int]
    public var fortranOrder: Bool
    /// The array's bytes as stored.
    public var bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    public init(descr: String, shape: [Int], fortranOrder: Bool = false, bytes: [UInt8]) {
        self.descr = descr
        self.shape = shape
        self.fortranOrder = fortranOrder
        self.bytes = bytes
    }

    public init(doubles: [Double]) {
        var bytes = [UInt8](repeating: 0, count: doubles.count * 8)
        bytes.withUnsafeMutableBytes { raw in
            for (k, v) in doubles.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 8 * k, as: UInt64.self) }
        }
        self.init(descr: "<f8", shape: [doubles.count], bytes: bytes)
    }

    /// Integers as `<i4` when every value fits 32 bits (as SciPy stores index arrays), `<i8` otherwise.
    public init(integers: [Int]) {
        let narrow = integers.allSatisfy { $0 >= Int(Int32.min) && $0 <= Int(Int32.max) }
        let width = narrow ? 4 : 8
        var bytes = [UInt8](repeating: 0, count: integers.count * width)
        bytes.withUnsafeMutableBytes { raw in
            for (k, v) in integers.enumerated() {
                if narrow { raw.storeBytes(of: Int32(v).littleEndian, toByteOffset: 4 * k, as: Int32.self) }
                else { raw.storeBytes(of: Int64(v).littleEndian, toByteOffset: 8 * k, as: Int64.self) }
            }
        }
        self.init(descr: narrow ? "<i4" : "<i8", shape: [integers.count], bytes: bytes)
    }

    /// A 0-d Unicode string scalar (`<U` + length, UTF-32LE), as NumPy saves `np.array('csr')`.
    public init(string: String) {
        let scalars = Array(string.unicodeScalars)
        var bytes: [UInt8] = []
        for s in scalars { let v = s.value; bytes += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        self.init(descr: "<U\(scalars.count)", shape: [], bytes: bytes)
    }

    enum Kind { case float, signed, unsigned, bool }

    /// (kind, width, bigEndian) of a numeric dtype, nil for others.
    var numeric: (kind: Kind, width: Int, bigEndian: Bool)? {
        guard descr.count >= 3 else { return nil }
        let order = descr.first!
        let code = descr.dropFirst().first!
        guard let width = Int(descr.dropFirst(2)), [1, 2, 4, 8].contains(width) else { return nil }
        guard order == "<" || order == ">" || order == "|" || order == "=" else { return nil }
        let kind: Kind
        switch code {
        case "f": guard width == 4 || width == 8 else { return nil }; kind = .float
        case "i": kind = .signed
        case "u": kind = .unsigned
        case "b": guard width == 1 else { return nil }; kind = .bool
        default: return nil
        }
        return (kind, width, order == ">")
    }

    private func element(_ k: Int, _ kind: Kind, _ width: Int, _ bigEndian: Bool) -> (Double, Int64?) {
        var raw: UInt64 = 0
        for b in 0..<width {
            let byte = UInt64(bytes[k * width + (bigEndian ? width - 1 - b : b)])
            raw |= byte << (8 * UInt64(b))
        }
        switch kind {
        case .float:
            let v = width == 8 ? Double(bitPattern: raw) : Double(Float(bitPattern: UInt32(raw)))
            return (v, nil)
        case .signed:
            let shift = UInt64(64 - 8 * width)
            let v = Int64(bitPattern: raw << shift) >> Int64(shift)
            return (Double(v), v)
        case .unsigned, .bool:
            return (Double(raw), raw > UInt64(Int64.max) ? nil : Int64(raw))
        }
    }

    /// The values as doubles (integers converted; 8-byte integers above 2⁵³ lose digits, as in NumPy).
    /// - Throws: `SparseError.invalidArgument` for a non-numeric dtype.
    public func doubles(name: String = "array") throws -> [Double] {
        guard let (kind, width, big) = numeric else {
            throw SparseError.invalidArgument("\(name): dtype \(descr) is not numeric")
        }
        guard bytes.count == count * width else { throw SparseError.invalidArgument("\(name): \(bytes.count) bytes for \(count) elements of \(descr)") }
        return (0..<count).map { element($0, kind, width, big).0 }
    }

    /// The values as integers.
    /// - Throws: `SparseError.invalidArgument` for a float or non-numeric dtype or a value out of range.
    public func integers(name: String = "array") throws -> [Int] {
        guard let (kind, width, big) = numeric, kind != .float else {
            throw SparseError.invalidArgument("\(name): dtype \(descr) is not an integer type")
        }
        guard bytes.count == count * width else { throw SparseError.invalidArgument("\(name): \(bytes.count) bytes for \(count) elements of \(descr)") }
        return try (0..<count).map { k in
            guard let v = element(k, kind, width, big).1 else { throw SparseError.invalidArgument("\(name)[\(k)] does not fit a 64-bit integer") }
            return Int(v)
        }
    }

    /// The string of a `<U`/`>U` (UTF-32) or `|S` (bytes) scalar or one-element array.
    public func string() -> String? {
        guard descr.count >= 3, count == 1 else { return nil }
        let code = descr.dropFirst().first!
        if code == "S" { return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
        guard code == "U", bytes.count % 4 == 0 else { return nil }
        let big = descr.first == ">"
        var result = ""
        for k in stride(from: 0, to: bytes.count, by: 4) {
            let b = bytes[k..<(k + 4)].map(UInt32.init)
            let v = big ? (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) : (b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
            if v == 0 { break }
            guard let s = Unicode.Scalar(v) else { return nil }
            result.unicodeScalars.append(s)
        }
        return result
    }

    /// The `.npy` file's bytes.
    public func encoded() -> [UInt8] {
        let shapeText = shape.isEmpty ? "()" : shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let length = header.utf8.count
        out += [UInt8(length & 0xff), UInt8(length >> 8)]
        out += Array(header.utf8)
        out += bytes
        return out
    }

    /// Parses a `.npy` file's bytes; `name` is used in messages.
    /// - Throws: `SparseIOError.malformed` (line 0) naming what is wrong.
    public static func decode(_ data: [UInt8], path: String, name: String) throws -> NumPyArray {
        let fail = { (message: String) in SparseIOError.malformed(path: path, line: 0, message: "\(name): \(message)") }
        guard data.count >= 10, data[0] == 0x93, Array(data[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("not a NumPy .npy array (no \\x93NUMPY magic)")
        }
        let major = data[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(data[8]) | Int(data[9]) << 8; headerStart = 10
        case 2, 3:
            guard data.count >= 12 else { throw fail("truncated header") }
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24; headerStart = 12
        default: throw fail("unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= data.count else { throw fail("truncated header") }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func value(of key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)'") else { return nil }
            var rest = header[range.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        guard let descrText = value(of: "descr"), let quote = descrText.first, quote == "'" || quote == "\"",
              let close = descrText.dropFirst().firstIndex(of: quote) else {
            throw fail("header has no 'descr' string (structured dtypes are not read): \(header.shortenedForMessage)")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<close])
        let fortran = value(of: "fortran_order")?.hasPrefix("True") ?? false
        guard let shapeText = value(of: "shape"), shapeText.first == "(", let end = shapeText.firstIndex(of: ")") else {
            throw fail("header has no 'shape' tuple")
        }
        let dims = shapeText[shapeText.index(after: shapeText.startIndex)..<end].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for d in dims {
            guard let v = Int(d.hasSuffix("L") ? String(d.dropLast()) : d), v >= 0 else { throw fail("bad shape entry '\(d)'") }
            shape.append(v)
        }
        // The element count, checked for overflow before anything multiplies the shape out.
        var elements = 1
        for d in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) holds more than 2⁶³ elements") }
            elements = product
        }
        let array = NumPyArray(descr: descr, shape: shape, fortranOrder: fortran, bytes: Array(data[(headerStart + headerLength)...]))
        if let width = array.numeric?.width {
            let (needed, overflow) = elements.multipliedReportingOverflow(by: width)
            guard !overflow, array.bytes.count == needed else {
                throw fail("holds \(array.bytes.count) data bytes, the header's shape \(shape) of \(descr) needs \(overflow ? "more than 2⁶³" : String(needed))")
            }
        }
        return array
    }
}
