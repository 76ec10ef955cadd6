import FuzzSupport
import Sparse

/// The bytes as a `.npy` array to `SparseDataFile.readTargets` (shape, dtype and byte-order parsing).
/// Whatever the reader accepts must survive the basic operations; anything else must be a
/// typed error.
func fuzzNPY(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzFile.write(data, size, suffix: ".npy")
    if let labels = try? SparseDataFile.readTargets(path: path) {
        _ = labels.reduce(0, +)
    }
    return 0
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzNPY) }
}
