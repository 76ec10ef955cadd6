import Foundation

/// File names are byte strings on Linux: any bytes but `/` and NUL. A Swift `String` holds
/// Unicode, so a name that is not valid UTF-8 is carried losslessly with each byte of an
/// invalid sequence escaped as the private-use scalar U+10FF00 + byte (the same idea as
/// Python's "surrogateescape"); every file operation of the toolkit converts back to the exact
/// bytes with `withCString(_:_:)`, and messages show such bytes as `\xNN`. (A name that
/// really contains scalars U+10FF80…U+10FFFF, private use, would be read as those bytes.)
public enum FileSystemPath {
    static let escapeBase: UInt32 = 0x10FF00

    /// The string for raw path bytes (a command-line argument, a `realpath` result).
    public static func string(bytes: some Collection<UInt8>) -> String {
        let b = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            let lead = b[i]
            var length = 0, value: UInt32 = 0, minimum: UInt32 = 0
            switch lead {
            case 0x00...0x7F: length = 1; value = UInt32(lead)
            case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F); minimum = 0x80
            case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F); minimum = 0x800
            case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07); minimum = 0x10000
            default: length = 0
            }
            var valid = length > 0 && i + length <= b.count
            if valid {
                for k in 1..<max(length, 1) {
                    let c = b[i + k]
                    guard c & 0xC0 == 0x80 else { valid = false; break }
                    value = value << 6 | UInt32(c & 0x3F)
                }
            }
            if valid, value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value),
               value < escapeBase + 0x80 || value > escapeBase + 0xFF, let scalar = Unicode.Scalar(value) {
                scalars.append(scalar)
                i += length
            } else {
                scalars.append(Unicode.Scalar(escapeBase + UInt32(lead))!)
                i += 1
            }
        }
        return String(scalars)
    }

    /// The exact bytes of `path` (escaped bytes restored), without a terminating NUL.
    public static func bytes(_ path: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF {
                out.append(UInt8(scalar.value - escapeBase))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    /// Calls `body` with the path's exact bytes as a NUL-terminated C string.
    public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var raw = bytes(path).map { CChar(bitPattern: $0) }
        raw.append(0)
        return try raw.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// The path for messages: escaped bytes shown as `\xNN`.
    public static func display(_ path: String) -> String {
        guard path.unicodeScalars.contains(where: { $0.value >= escapeBase + 0x80 && $0.value <= escapeBase + 0xFF }) else { return path }
        var out = ""
        for scalar in path.unicodeScalars {
            if scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF {
                out += String(format: "\\x%02X", scalar.value - escapeBase)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The process's arguments with their exact bytes (`CommandLine.arguments` replaces
    /// invalid UTF-8 with U+FFFD, which names no file).
    public static var commandLineArguments: [String] {
        (0..<Int(CommandLine.argc)).map { k in
            guard let pointer = CommandLine.unsafeArgv[k] else { return "" }
            return string(bytes: UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
        }
    }

    // MARK: - The file operations the readers and writers use

    static func stat(_ path: String, _ st: inout Glibc.stat) -> Int32 { withCString(path) { cStat($0, &st) } }
    static func lstat(_ path: String, _ st: inout Glibc.stat) -> Int32 { withCString(path) { cLstat($0, &st) } }
    static func open(_ path: String, _ flags: Int32) -> Int32 { withCString(path) { cOpen($0, flags) } }
    static func unlink(_ path: String) { _ = withCString(path) { cUnlink($0) } }
    static func rename(_ from: String, _ to: String) -> Int32 { withCString(from) { f in withCString(to) { cRename(f, $0) } } }
    public static func access(_ path: String, _ mode: Int32) -> Int32 { withCString(path) { cAccess($0, mode) } }
    /// The canonical path (links resolved), or nil.
    public static func realpath(_ path: String) -> String? {
        withCString(path) { c in
            guard let resolved = cRealpath(c) else { return nil }
            defer { free(resolved) }
            return string(bytes: UnsafeBufferPointer(start: UnsafeRawPointer(resolved).assumingMemoryBound(to: UInt8.self), count: strlen(resolved)))
        }
    }
    /// True when something exists at `path` (links followed); `isDirectory` says whether it is one.
    public static func exists(_ path: String, isDirectory: inout Bool) -> Bool {
        var st = Glibc.stat()
        guard stat(path, &st) == 0 else { return false }
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        return true
    }
    /// (device, inode) of the file at `path` (links followed), or nil.
    public static func identity(_ path: String) -> (device: UInt64, inode: UInt64)? {
        var st = Glibc.stat()
        guard stat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }
}

// The C calls, outside the enum whose methods share their names.
private func cStat(_ p: UnsafePointer<CChar>, _ st: inout stat) -> Int32 { stat(p, &st) }
private func cLstat(_ p: UnsafePointer<CChar>, _ st: inout stat) -> Int32 { lstat(p, &st) }
private func cOpen(_ p: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { open(p, flags) }
private func cUnlink(_ p: UnsafePointer<CChar>) -> Int32 { unlink(p) }
private func cRename(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>) -> Int32 { rename(a, b) }
private func cAccess(_ p: UnsafePointer<CChar>, _ mode: Int32) -> Int32 { access(p, mode) }
private func cRealpath(_ p: UnsafePointer<CChar>) -> UnsafeMutablePointer<CChar>? { realpath(p, nil) }
