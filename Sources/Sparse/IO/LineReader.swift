import CZlib
import Foundation

/// How long `openForReading` waits for a FIFO's writer before refusing it.
public nonisolated(unsafe) var fifoWriterWaitSeconds = 2.0

/// Opens a plain or gzip-compressed file for `gzread` with a 1 MiB buffer. Regular files and
/// character devices are read in place (a device such as `/dev/zero` is streamed, never copied:
/// the line limit stops it). A FIFO (a pipe, `/dev/stdin` from a pipe) is read once, into a
/// private temporary file that every later open of the same path reads (`SpooledInputs`):
/// readers that sniff a header and reopen, or stream in two passes, see the whole input. A
/// FIFO must have a writer: it is opened without blocking and refused when nothing (not even
/// its end) arrives within `fifoWriterWaitSeconds` — never a hang, never an empty input read
/// as an empty file. Sockets and block devices are refused.
/// - Throws: `SparseIOError.cannotOpen` (naming the reason), `.isDirectory`, `.tooLarge`.
func openForReading(_ path: String) throws -> gzFile {
    let readable = try SpooledInputs.readablePath(for: path)
    guard let file = FileSystemPath.withCString(readable, { gzopen($0, "rb") }) else {
        throw SparseIOError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    gzbuffer(file, 1 << 20)
    return file
}

/// Inputs that cannot be read twice (FIFOs and pipes), copied once to private temporary files
/// removed at exit (and by `TemporaryFiles.removeAll()` on a signal).
enum SpooledInputs {
    nonisolated(unsafe) static var spooled: [String: String] = [:]
    static let lock = NSLock()
    nonisolated(unsafe) static var cleanupRegistered = false

    /// The path to open for `path`: itself for a regular file, its spooled copy otherwise.
    static func readablePath(for path: String) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let copy = spooled[path] { return copy }
        var st = stat()
        guard FileSystemPath.stat(path, &st) == 0 else {
            throw SparseIOError.cannotOpen(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        let fd: Int32
        switch st.st_mode & S_IFMT {
        case S_IFREG, S_IFCHR: return path
        case S_IFDIR: throw SparseIOError.isDirectory(path: path)
        case S_IFIFO:
            fd = FileSystemPath.open(path, O_RDONLY | O_NONBLOCK)
            guard fd >= 0 else { throw SparseIOError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(fifoWriterWaitSeconds * 1000)) > 0 else {
                Glibc.close(fd)
                throw SparseIOError.cannotOpen(path: path, reason: "a FIFO with no writer (nothing arrived within \(fifoWriterWaitSeconds) s)")
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        default:
            throw SparseIOError.cannotOpen(path: path, reason: "not a regular file, FIFO or character device (a socket or a block device)")
        }
        defer { Glibc.close(fd) }
        let directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array((directory + "/.isparse-input-\(getpid())-XXXXXX").utf8CString)
        let out = mkstemp(&template)
        guard out >= 0 else { throw SparseIOError.cannotOpen(path: path, reason: "cannot spool it to a temporary file: \(String(cString: strerror(errno)))") }
        let copy = String(cString: template)
        TemporaryFiles.register(copy)
        if !cleanupRegistered {
            cleanupRegistered = true
            atexit { TemporaryFiles.removeAll() }
        }
        defer { Glibc.close(out) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SparseIOError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            total += got
            if total > SparseLimits.maximumAllocationBytes {
                throw SparseIOError.tooLarge(path: path, line: 0, message: "the input exceeds \(SparseLimits.maximumAllocationBytes) bytes (SparseLimits.maximumAllocationBytes) while being read from a pipe or device")
            }
            var offset = 0
            while offset < got {
                let wrote = buffer.withUnsafeBytes { write(out, $0.baseAddress! + offset, got - offset) }
                guard wrote > 0 else { throw SparseIOError.writeFailed(path: copy, reason: String(cString: strerror(errno))) }
                offset += wrote
            }
        }
        spooled[path] = copy
        return copy
    }
}

/// True when `path` can be read twice (a regular file): streamed two-pass readers need it;
/// a pipe, FIFO or device is read once.
public func isRereadable(_ path: String) -> Bool {
    var st = stat()
    return FileSystemPath.stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
}

/// Streams a text file line by line through zlib's `gzread`, which reads plain and
/// gzip-compressed files alike: the file is never held in memory as a whole, and each line
/// is handed out as a NUL-terminated byte buffer (no String per line).
final class LineReader {
    let path: String
    private var file: gzFile?
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0      // first unread byte
    private var end = 0        // one past the last valid byte
    private var atEOF = false
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    init(path: String) throws {
        self.path = path
        file = try openForReading(path)
        capacity = 1 << 20
        buffer = .allocate(capacity: capacity + 1)
    }

    deinit {
        if let file { gzclose_r(file) }
        buffer.deallocate()
    }

    /// Calls `body` with the next line (without its newline, NUL-terminated, length given);
    /// returns false at the end of the file.
    func nextLine<T>(_ body: (UnsafeMutablePointer<UInt8>, Int) throws -> T) throws -> T? {
        while true {
            if let newline = findNewline() {
                let lineStart = start
                var length = newline - lineStart
                if length > 0 && buffer[lineStart + length - 1] == 13 { length -= 1 }  // CRLF
                buffer[lineStart + length] = 0
                start = newline + 1
                lineNumber += 1
                return try body(buffer + lineStart, length)
            }
            if atEOF {
                if start < end {
                    let lineStart = start
                    var length = end - start
                    if length > 0 && buffer[lineStart + length - 1] == 13 { length -= 1 }
                    buffer[lineStart + length] = 0
                    start = end
                    lineNumber += 1
                    return try body(buffer + lineStart, length)
                }
                return nil
            }
            try refill()
        }
    }

    private var scanFrom = 0
    private func findNewline() -> Int? {
        let i = max(start, scanFrom)
        if i >= end { return nil }
        if let hit = memchr(buffer + i, 10, end - i) {
            let index = UnsafeMutablePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - buffer
            scanFrom = index + 1
            return index
        }
        scanFrom = end
        return nil
    }

    private func refill() throws {
        // Move the partial line to the front; grow when one line fills the buffer.
        let pending = end - start
        if start > 0 {
            if pending > 0 { memmove(buffer, buffer + start, pending) }
            scanFrom -= start
            start = 0
            end = pending
        }
        if end == capacity {
            guard capacity < SparseLimits.maximumLineBytes else {
                throw SparseIOError.tooLarge(path: path, line: lineNumber + 1,
                                             message: "line longer than \(SparseLimits.maximumLineBytes) bytes (SparseLimits.maximumLineBytes): not a text data file?")
            }
            let newCapacity = min(capacity * 2, SparseLimits.maximumLineBytes)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity + 1)
            grown.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = grown
            capacity = newCapacity
        }
        let want = min(capacity - end, Int(Int32.max))
        let got = gzread(file, buffer + end, UInt32(want))
        if got < 0 {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
            throw SparseIOError.compression(path: path, message: message)
        }
        if got == 0 {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
            if code != Z_OK && code != Z_STREAM_END {
                throw SparseIOError.compression(path: path, message: message)
            }
            // gzread reports a truncated stream only through gzerror's Z_BUF_ERROR.
            if code == Z_BUF_ERROR { throw SparseIOError.compression(path: path, message: message) }
            atEOF = true
        }
        end += Int(got)
    }
}

/// Writes text to a plain or (for names ending in .gz) gzip-compressed file, atomically: the
/// text goes to a temporary file in the same directory as the target (a symbolic link is
/// followed, so the link stays and its target is replaced), renamed over it by `close()`. An
/// interrupted or failed write (or one never closed) leaves the target as it was — never a
/// truncated file — and concurrent writers of one path each replace it whole.
///
/// Only a regular file (or a new name) is replaced by rename. A character or block device is
/// written through (opened and written in place, every write and the close checked: a full
/// device is an error, and the device node stays what it is); a FIFO is written through when a
/// reader is waiting and refused otherwise (no blocking); a socket or a directory is refused.
final class TextWriter {
    let path: String
    private let temporaryPath: String?
    private var file: gzFile?
    private var pending: [UInt8] = []
    private var committed = false

    init(path: String) throws {
        self.path = path
        var st = stat()
        var target = path
        if FileSystemPath.lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            // The link's target is what gets replaced (the link itself is kept).
            if let resolved = FileSystemPath.realpath(path) { target = resolved }
        }
        var writeThrough = false
        if FileSystemPath.stat(target, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw SparseIOError.isDirectory(path: path)
            case S_IFCHR, S_IFBLK: writeThrough = true
            case S_IFIFO:
                // A reader must be waiting: a non-blocking open says so (ENXIO otherwise).
                let probe = FileSystemPath.open(target, O_WRONLY | O_NONBLOCK)
                guard probe >= 0 else {
                    throw SparseIOError.cannotOpen(path: path, reason: "a FIFO with no reader (\(String(cString: strerror(errno))))")
                }
                Glibc.close(probe)
                writeThrough = true
            default:
                throw SparseIOError.cannotOpen(path: path, reason: "not a regular file, device or FIFO (a socket?)")
            }
        }
        let mode = path.hasSuffix(".gz") ? "wb6" : "wbT"
        if writeThrough {
            temporaryPath = nil
            guard let f = FileSystemPath.withCString(target, { gzopen($0, mode) }) else {
                throw SparseIOError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            file = f
        } else {
            // The temporary sits next to the target: ".NAME.tmp-PID-RANDOM" (string surgery on
            // the last "/" keeps a non-UTF-8 name's escaped bytes as they are).
            let slash = target.lastIndex(of: "/")
            let directory = slash.map { String(target[..<$0]) } ?? "."
            let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
            let temporary = (directory.isEmpty ? "" : directory) + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            temporaryPath = temporary
            guard let f = FileSystemPath.withCString(temporary, { gzopen($0, mode) }) else {
                throw SparseIOError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            file = f
            TemporaryFiles.register(temporary)
            self.target = target
        }
        pending.reserveCapacity(1 << 20)
    }

    /// Where the temporary file is renamed to (the resolved target).
    private var target = ""

    func write(_ string: String) throws {
        pending.append(contentsOf: string.utf8)
        if pending.count >= 1 << 20 { try flush() }
    }

    /// Writes raw bytes (binary formats: `.npy`, `.npz`), compressed when the name ends in .gz.
    func write(bytes: UnsafeRawBufferPointer) throws {
        try flush()
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, 1 << 30)
            let written = gzwrite(file, bytes.baseAddress! + offset, UInt32(chunk))
            if written != Int32(chunk) {
                throw SparseIOError.writeFailed(path: path, reason: "gzwrite wrote \(written) of \(chunk) bytes")
            }
            offset += chunk
        }
    }

    private func flush() throws {
        guard !pending.isEmpty else { return }
        let written = pending.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        if written != Int32(pending.count) {
            throw SparseIOError.writeFailed(path: path, reason: "gzwrite wrote \(written) of \(pending.count) bytes")
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Flushes, closes and renames the temporary file over the target (a written-through
    /// device or FIFO: flushes and closes, checked).
    func close() throws {
        try flush()
        errno = 0
        let status = gzclose_w(file)
        file = nil
        if status != Z_OK {
            let reason = errno != 0 ? String(cString: strerror(errno)) : "gzclose status \(status)"
            throw SparseIOError.writeFailed(path: path, reason: reason)
        }
        if let temporaryPath {
            guard FileSystemPath.rename(temporaryPath, target) == 0 else {
                throw SparseIOError.writeFailed(path: path, reason: "rename from a temporary file: \(String(cString: strerror(errno)))")
            }
            TemporaryFiles.unregister(temporaryPath)
        }
        committed = true
    }

    deinit {
        if let file { gzclose_w(file) }
        if !committed, let temporaryPath {
            FileSystemPath.unlink(temporaryPath)
            TemporaryFiles.unregister(temporaryPath)
        }
    }
}

/// A cursor over one NUL-terminated line: fast integer and double parsing with the column
/// of each token for error messages.
struct LineScanner {
    let base: UnsafeMutablePointer<UInt8>
    let length: Int
    var position = 0

    init(_ base: UnsafeMutablePointer<UInt8>, _ length: Int) {
        self.base = base
        self.length = length
    }

    @inline(__always) mutating func skipSpaces() {
        while position < length, base[position] == 32 || base[position] == 9 { position += 1 }
    }

    var atEnd: Bool { mutating get { skipSpaces(); return position >= length } }

    /// The next whitespace-delimited token as a String (for headers and messages).
    mutating func token() -> String? {
        skipSpaces()
        guard position < length else { return nil }
        let begin = position
        while position < length, base[position] != 32, base[position] != 9 { position += 1 }
        return String(decoding: UnsafeBufferPointer(start: base + begin, count: position - begin), as: UTF8.self).shortenedForMessage
    }

    /// True when the bytes at the cursor (after spaces) start with `prefix`; O(prefix).
    mutating func hasPrefix(_ prefix: StaticString) -> Bool {
        skipSpaces()
        let count = prefix.utf8CodeUnitCount
        guard position + count <= length else { return false }
        let p = prefix.utf8Start
        for k in 0..<count where base[position + k] != p[k] { return false }
        return true
    }

    /// A decimal integer ending at whitespace, `terminator`, or the end of line.
    mutating func integer(terminator: UInt8 = 32) -> Int? {
        skipSpaces()
        var negative = false
        if position < length, base[position] == 45 || base[position] == 43 {
            negative = base[position] == 45; position += 1
        }
        var value = 0
        var digits = 0
        while position < length {
            let c = base[position]
            guard c >= 48 && c <= 57 else { break }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - 48))
            if o1 || o2 { return nil }
            value = s
            digits += 1
            position += 1
        }
        guard digits > 0 else { return nil }
        if position < length, base[position] != 32, base[position] != 9, base[position] != terminator { return nil }
        return negative ? -value : value
    }

    /// A floating-point number (strtod syntax) ending at whitespace or the end of line.
    mutating func double() -> Double? {
        skipSpaces()
        guard position < length else { return nil }
        var endPointer: UnsafeMutablePointer<CChar>?
        let startPointer = UnsafeMutableRawPointer(base + position).assumingMemoryBound(to: CChar.self)
        let value = strtod(startPointer, &endPointer)
        guard let endPointer, endPointer != startPointer else { return nil }
        let consumed = UnsafeMutableRawPointer(endPointer).assumingMemoryBound(to: UInt8.self) - (base + position)
        position += consumed
        if position < length, base[position] != 32, base[position] != 9 { return nil }
        return value
    }

    /// True when the next byte is `c` (consumed).
    mutating func consume(_ c: UInt8) -> Bool {
        if position < length, base[position] == c { position += 1; return true }
        return false
    }

    /// The rest of the line, shortened for a message.
    var rest: String {
        String(decoding: UnsafeBufferPointer(start: base + position, count: max(0, length - position)), as: UTF8.self)
            .shortenedForMessage
    }
}

extension String {
    /// At most 40 characters, with "…" and the full length when cut: tokens echoed into
    /// one-line error messages (a 10 MB token must not become a 10 MB message).
    var shortenedForMessage: String {
        count <= 40 ? self : String(prefix(40)) + "… (\(utf8.count) bytes)"
    }
}

/// The temporary files of writes in progress, removed by `removeAll()` — which a signal
/// handler may call (async-signal-safe: a fixed table of C strings, `unlink` only) — so that
/// SIGINT or SIGTERM during a write leaves no hidden temporary behind.
public enum TemporaryFiles {
    static let capacity = 64
    nonisolated(unsafe) static let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let t = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        t.initialize(repeating: nil, count: capacity)
        return t
    }()
    static let lock = NSLock()

    static func register(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        for k in 0..<capacity where table[k] == nil {
            table[k] = FileSystemPath.withCString(path) { strdup($0) }
            return
        }
    }

    static func unregister(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        for k in 0..<capacity {
            if let entry = table[k], FileSystemPath.string(bytes: UnsafeBufferPointer(start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))) == path {
                table[k] = nil
                free(entry)
            }
        }
    }

    /// Unlinks every registered temporary file (from a signal handler: no locks, no
    /// allocation).
    public static func removeAll() {
        for k in 0..<capacity { if let entry = table[k] { unlink(entry) } }
    }
}
