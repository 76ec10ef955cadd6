import Foundation
import FuzzSupport
import Sparse

/// The input is the compressed file itself: damaged and truncated gzip streams included.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLIBSVMGzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let path = FuzzFile.write(data, size, suffix: ".svm.gz")
    if let dataset = try? LIBSVM.read(path: path) {
        FuzzFile.exercise(dataset.features)
    }
    return 0
}
