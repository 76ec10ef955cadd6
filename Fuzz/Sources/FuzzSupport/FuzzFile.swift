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

    public static func exercise(_ a: CSRMatrix) {
        _ = try? a.multiply([Double](repeating: 1, count: a.columns))
        _ = try? a.multiplyTransposed([Double](repeating: 1, count: a.rows))
        _ = a.transposed().toCSC()
        _ = a.isSymmetric(tolerance: 0)
    }
}
