/// Errors of the file readers and writers: each names the file and, for malformed content,
/// the 1-based line and what was expected there.
public enum SparseIOError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case isDirectory(path: String)
    /// Malformed content at `line` (1-based; 0 for binary files such as .npz, which the message then omits).
    case malformed(path: String, line: Int, message: String)
    /// The compressed stream is damaged or ends early.
    case compression(path: String, message: String)
    case writeFailed(path: String, reason: String)
    /// The file's dimensions exceed what the toolkit can store (indices are 32-bit).
    case tooLarge(path: String, line: Int, message: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(FileSystemPath.display(path)): cannot open: \(reason)"
        case let .isDirectory(path): return "\(FileSystemPath.display(path)): is a directory, expected a data file"
        // Line 0: a binary file (.npz, .npy), which has no lines.
        case let .malformed(path, line, message): return line > 0 ? "\(FileSystemPath.display(path)):\(line): \(message)" : "\(FileSystemPath.display(path)): \(message)"
        case let .compression(path, message): return "\(FileSystemPath.display(path)): corrupt or truncated gzip data: \(message)"
        case let .writeFailed(path, reason): return "\(FileSystemPath.display(path)): write failed: \(reason)"
        case let .tooLarge(path, line, message): return line > 0 ? "\(FileSystemPath.display(path)):\(line): \(message)" : "\(FileSystemPath.display(path)): \(message)"
        }
    }
}
