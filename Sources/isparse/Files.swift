import Foundation
import ISparseCLICore
import Sparse

/// Rules every command keeps for the files it names (docs/CLI.md, "Files"): paths are byte
/// strings (any name the OS accepts; `FileSystemPath`), an output never overwrites an input, and outputs are written only on success (atomically:
/// the writers go through a temporary file renamed into place).
enum Files {
    /// Paths reach the commands with their exact bytes (`FileSystemPath.commandLineArguments`:
    /// bytes that are not UTF-8 are escaped, never replaced), so every name the OS accepts
    /// works; only a path that names nothing (empty) is refused here.
    static func checkEncoding(_ path: String?, option: String) throws {
        guard let path, path.isEmpty else { return }
        throw CLIFailure(code: .usage, message: "\(option): the path is empty")
    }

    /// The directory and the last component of a path (string surgery on the last "/", which
    /// keeps escaped bytes as they are).
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    /// Refuses an output path that names one of the inputs (the same file, also through a
    /// link or another spelling of the path).
    static func checkOutput(_ output: String?, option: String, inputs: [String?]) throws {
        guard let output else { return }
        try checkEncoding(output, option: option)
        for case let input? in inputs where sameFile(output, input) {
            throw CLIFailure(code: .usage, message: "\(option) \(output) is an input of this command; refusing to overwrite it")
        }
    }

    /// Fails before any work when an output's directory does not exist or cannot be written
    /// (the paper experiments run for minutes before they write their plots).
    static func checkWritableDirectory(_ output: String?, option: String) throws {
        guard let output else { return }
        try checkEncoding(output, option: option)
        let directory = split(output).directory
        var isDirectory = false
        guard FileSystemPath.exists(directory, isDirectory: &isDirectory), isDirectory else {
            throw CLIFailure(code: .usage, message: "\(option) \(FileSystemPath.display(output)): the directory \(FileSystemPath.display(directory)) does not exist")
        }
        guard FileSystemPath.access(directory, W_OK) == 0 else {
            throw CLIFailure(code: .usage, message: "\(option) \(FileSystemPath.display(output)): the directory \(FileSystemPath.display(directory)) is not writable")
        }
    }

    /// Refuses two outputs that name one file (the same file through a link, `./`, `..` or
    /// another spelling; for names that do not exist yet, the same canonical directory and
    /// name), before any work.
    static func checkDistinct(_ outputs: [(path: String?, option: String)]) throws {
        let named = outputs.compactMap { o in o.path.map { (path: $0, option: o.option) } }
        for i in named.indices {
            for j in named.indices where j > i && sameOutput(named[i].path, named[j].path) {
                throw CLIFailure(code: .usage, message: "\(named[i].option) and \(named[j].option) name the same file (\(named[j].path)); give each output its own file")
            }
        }
    }

    /// The canonical identity of an output path: (device, inode) when it exists, else the
    /// real path of its directory and its name.
    static func sameOutput(_ a: String, _ b: String) -> Bool {
        if sameFile(a, b) { return true }
        func canonical(_ p: String) -> String {
            let (directory, name) = split(p)
            guard let resolved = FileSystemPath.realpath(directory) else { return p }
            return resolved + "/" + name
        }
        return canonical(a) == canonical(b)
    }

    /// A command's outputs as one transaction: checked distinct and writable before any work;
    /// written one by one, and when one fails, the outputs this run created before it are
    /// removed (files it replaced cannot be restored: their directories were checked first, so
    /// only a failure during the write itself — a full disk — leaves them replaced).
    final class Outputs {
        private var created: [String] = []

        init(_ outputs: [(path: String?, option: String)]) throws {
            try Files.checkDistinct(outputs)
            for output in outputs { try Files.checkWritableDirectory(output.path, option: output.option) }
        }

        /// Runs `body` for `path` (nothing for nil); on failure, rolls back and rethrows.
        func write(_ path: String?, _ body: (String) throws -> Void) throws {
            guard let path else { return }
            var isDirectory = false
            let existed = FileSystemPath.exists(path, isDirectory: &isDirectory)
            do { try body(path) } catch {
                rollback()
                throw error
            }
            if !existed { created.append(path) }
        }

        func rollback() {
            for path in created { FileSystemPath.withCString(path) { _ = unlink($0) } }
            created.removeAll()
        }
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        if let ia = FileSystemPath.identity(a), let ib = FileSystemPath.identity(b) { return ia == ib }
        return URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
    }

    /// Flushes standard output; a full disk or a closed stdout is a failure, not a silent exit 0.
    static func finishStandardOutput() {
        if fflush(stdout) != 0 || ferror(stdout) != 0 {
            printError("cannot write standard output: \(String(cString: strerror(errno)))")
            Foundation.exit(ExitCode32.input.rawValue)
        }
    }
}
