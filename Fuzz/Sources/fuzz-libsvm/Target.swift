import Foundation
import FuzzSupport
import Sparse

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLIBSVM(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzFile.write(data, size, suffix: ".svm")
    if let dataset = try? LIBSVM.read(path: path) {
        FuzzFile.exercise(dataset.features)
    }
    return 0
}
