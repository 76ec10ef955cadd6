import FuzzSupport
import Sparse

/// The bytes as a SciPy `.npz` archive (a zip of `.npy` arrays) to `SparseDataFile.read`.
/// Whatever the reader accepts must survive the basic operations; anything else must be a
/// typed error.
func fuzzNPZ(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzFile.write(data, size, suffix: ".npz")
    if let file = try? SparseDataFile.read(path: path, format: .npz) {
        FuzzFile.exercise(file.features)
    }
    return 0
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzNPZ) }
}
