import Foundation
import FuzzSupport
import Sparse

/// Feeds the input to the Matrix Market reader as a file; whatever it accepts must then
/// survive the basic operations.
func fuzzMatrixMarket(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    let path = FuzzFile.write(data, size, suffix: ".mtx")
    if let file = try? MatrixMarket.read(path: path) {
        FuzzFile.exercise(file.matrix)
    }
    _ = try? MatrixMarket.readDense(path: path)
    return 0
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzMatrixMarket) }
}
