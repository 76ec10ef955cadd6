import FuzzSupport
import Sparse

/// Interprets the bytes as raw CSR/CSC arrays (small dimensions, arbitrary pointers,
/// indices and values) and builds both kinds of matrix; whatever is accepted must survive
/// the basic operations.
func fuzzConstructors(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    guard size >= 3 else { return 0 }
    var cursor = 0
    func byte() -> UInt8 {
        defer { cursor += 1 }
        return cursor < size ? data[cursor] : 0
    }
    let rows = Int(byte() % 12)
    let columns = Int(byte() % 12)
    let count = Int(byte() % 40)
    var pointers = [Int]()
    for _ in 0...rows { pointers.append(Int(Int8(bitPattern: byte()))) }
    var indices = [Int32]()
    var values = [Double]()
    for _ in 0..<count {
        indices.append(Int32(Int8(bitPattern: byte())))
        let raw = byte()
        values.append(raw == 255 ? .nan : raw == 254 ? .infinity : Double(Int8(bitPattern: raw)) / 4)
    }
    if let a = try? CSRMatrix(rows: rows, columns: columns, rowPointers: pointers, columnIndices: indices, values: values) {
        FuzzFile.exercise(a)
    }
    if let c = try? CSCMatrix(rows: columns, columns: rows, columnPointers: pointers, rowIndices: indices, values: values) {
        FuzzFile.exercise(c.toCSR())
        _ = try? c.multiply([Double](repeating: 1, count: c.columns))
    }
    if rows > 0, columns > 0, var builder = try? COOBuilder(rows: rows, columns: columns) {
        for k in 0..<count { try? builder.append(row: Int(indices[k]), column: Int(pointers[k % pointers.count]), value: values[k]) }
        FuzzFile.exercise(builder.makeCSR())
    }
    return 0
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzConstructors) }
}
