import Foundation
import Sparse

/// Shared by the file targets: writes the input to a per-process file and exercises what
/// the reader accepted.
public enum FuzzFile {
    public static func write(_ data: UnsafePointer<UInt8>, _ size: Int, suffix: String) -> String {
        let path = "/tmp/isparse-fuzz-\(getpid())\(suffix)"
        let handle = fopen(path, "wb")!
        fwrite(data, 1, size, handle)
        fclose(handle)
        return path
    }

    /// The LIBSVM targets (plain and gzip): the reader must accept or refuse with a typed error.
    public static func readLIBSVM(_ data: UnsafePointer<UInt8>, _ size: Int, suffix: String) -> Int32 {
        let path = write(data, size, suffix: suffix)
        if let dataset = try? LIBSVM.read(path: path) {
            exercise(dataset.features)
        }
        return 0
    }

    public static func exercise(_ a: CSRMatrix) {
        _ = try? a.multiply([Double](repeating: 1, count: a.columns))
        _ = try? a.multiplyTransposed([Double](repeating: 1, count: a.rows))
        _ = a.transposed().toCSC()
        _ = a.isSymmetric(tolerance: 0)
    }
}

public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: FuzzCallback) -> Int32

/// Hands control to libFuzzer's driver (the executable's own `main`, which SwiftPM requires,
/// stands in for libFuzzer's).
public func runFuzzer(_ callback: FuzzCallback) -> Never {
    // Dimensions whose dense vectors would exceed 128 MiB are refused by the readers, as a
    // deployment with that much memory per object would set it: the exercise below
    // allocates vectors of the accepted dimensions, under libFuzzer's 2 GiB malloc limit.
    SparseLimits.maximumAllocationBytes = 128 << 20
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}
