import Foundation
import FuzzSupport
import Sparse

/// Feeds the input to the Matrix Market reader as a file; whatever it accepts must then
/// survive the basic operations.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMatrixMarket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzFile.write(data, size, suffix: ".mtx")
    if let file = try? MatrixMarket.read(path: path) {
        FuzzFile.exercise(file.matrix)
    }
    _ = try? MatrixMarket.readDense(path: path)
    return 0
}
