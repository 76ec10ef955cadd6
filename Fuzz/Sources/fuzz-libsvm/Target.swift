import FuzzSupport

func fuzzLIBSVM(_ input: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data = input else { return 0 }
    return FuzzFile.readLIBSVM(data, size, suffix: ".svm")
}

@main
struct FuzzMain {
    static func main() { runFuzzer(fuzzLIBSVM) }
}
