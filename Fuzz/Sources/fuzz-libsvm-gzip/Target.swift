import FuzzSupport

/// The input is the compressed file itself: damaged and truncated gzip streams included.
func fuzzLIBSVMGzip(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    return FuzzFile.readLIBSVM(data, size, suffix: ".svm.gz")
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzLIBSVMGzip) }
}
