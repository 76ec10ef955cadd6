import FuzzSupport
import Sparse

/// The bytes as an edge list `i j w` to `SparseDataFile.read`.
/// Whatever the reader accepts must survive the basic operations; anything else must be a
/// typed error.
func fuzzEdgeList(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzFile.write(data, size, suffix: ".edges")
    if let file = try? SparseDataFile.read(path: path, format: .edgeList) {
        FuzzFile.exercise(file.features)
    }
    return 0
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzEdgeList) }
}
