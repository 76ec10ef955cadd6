import CZlib
import Foundation

/// Whole binary files in and out, plain or gzip-compressed (a name ending in `.gz` is
/// compressed on writing; reading detects compression, as `gzread` does).
enum BinaryFile {
    /// The file's bytes, decompressed when it is gzip data.
    /// - Throws: `SparseIOError.cannotOpen`, `.isDirectory`, `.compression` for damaged gzip data,
    ///   `.tooLarge` when the bytes exceed `SparseLimits.maximumAllocationBytes`.
    static func read(path: String) throws -> [UInt8] {
        let file = try openForReading(path)
        defer { gzclose_r(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let got = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if got < 0 {
                var code: Int32 = 0
                throw SparseIOError.compression(path: path, message: gzerror(file, &code).map { String(cString: $0) } ?? "read error")
            }
            if got == 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? ""
                if code != Z_OK && code != Z_STREAM_END { throw SparseIOError.compression(path: path, message: message) }
                break
            }
            bytes.append(contentsOf: chunk[0..<Int(got)])
            if bytes.count > SparseLimits.maximumAllocationBytes {
                throw SparseIOError.tooLarge(path: path, line: 0, message: "the file's contents exceed \(SparseLimits.maximumAllocationBytes) bytes (SparseLimits.maximumAllocationBytes)")
            }
        }
        return bytes
    }

    /// Writes `bytes` atomically (a temporary file renamed over `path`), gzip-compressed when
    /// the name ends in `.gz`.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let writer = try TextWriter(path: path)
        try bytes.withUnsafeBytes { try writer.write(bytes: $0) }
        try writer.close()
    }
}

/// The zip container of NumPy's `.npz` files: stored (method 0) and deflated (method 8)
/// entries, zip64 sizes and offsets (NumPy writes every entry with zip64 extras). Entries are
/// located through the central directory, so local headers and data descriptors written by
/// any tool are read alike. Every entry's CRC-32 is checked.
enum ZipArchive {
    struct Entry {
        var name: String
        var method: UInt16
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    private static func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ at: Int) -> Int { u16(b, at) | u16(b, at + 2) << 16 }
    private static func u64(_ b: [UInt8], _ at: Int) -> Int {
        let low = UInt64(u32(b, at)), high = UInt64(u32(b, at + 4))
        return Int(truncatingIfNeeded: low | high << 32)
    }

    /// The entries of an archive held in `bytes`, each entry's contents decompressed and
    /// checked.
    /// - Throws: `SparseIOError.malformed` (line 0) naming what is wrong: not a zip archive,
    ///   a truncated directory, an unsupported method, encryption, a CRC mismatch.
    static func read(_ bytes: [UInt8], path: String) throws -> [(name: String, contents: [UInt8])] {
        let fail = { (message: String) in SparseIOError.malformed(path: path, line: 0, message: message) }
        guard bytes.count >= 22 else { throw fail("not a zip archive (\(bytes.count) bytes; an .npz file is a zip of .npy arrays)") }
        // The end-of-central-directory record: its signature within the last 64 KiB + 22 bytes.
        var eocd = -1
        var k = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65_535)
        while k >= lowest {
            if bytes[k] == 0x50, bytes[k + 1] == 0x4b, bytes[k + 2] == 0x05, bytes[k + 3] == 0x06 { eocd = k; break }
            k -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (no end-of-central-directory record; an .npz file is a zip of .npy arrays)") }
        var entryCount = u16(bytes, eocd + 10)
        var directorySize = u32(bytes, eocd + 12)
        var directoryOffset = u32(bytes, eocd + 16)
        // Zip64: the locator sits just before the record.
        if eocd >= 20, u32(bytes, eocd - 20) == 0x07064b50 {
            let record = u64(bytes, eocd - 20 + 8)
            guard record >= 0, record <= bytes.count - 56, u32(bytes, record) == 0x06064b50 else {
                throw fail("damaged zip64 end-of-central-directory record")
            }
            entryCount = u64(bytes, record + 32)
            directorySize = u64(bytes, record + 40)
            directoryOffset = u64(bytes, record + 48)
        }
        // Sizes and offsets come from the file: compared without overflow (a damaged record can
        // hold any 64-bit value).
        guard entryCount >= 0, directoryOffset >= 0, directorySize >= 0, directoryOffset <= bytes.count,
              directorySize <= bytes.count - directoryOffset else {
            throw fail("truncated zip archive (the central directory lies beyond the end of the file)")
        }
        var entries: [Entry] = []
        var at = directoryOffset
        for index in 0..<entryCount {
            guard at + 46 <= bytes.count, u32(bytes, at) == 0x02014b50 else {
                throw fail("damaged central directory at entry \(index + 1)")
            }
            let flags = u16(bytes, at + 8)
            let method = UInt16(u16(bytes, at + 10))
            let crc = UInt32(u32(bytes, at + 16))
            var compressed = u32(bytes, at + 20), size = u32(bytes, at + 24)
            let nameLength = u16(bytes, at + 28), extraLength = u16(bytes, at + 30), commentLength = u16(bytes, at + 32)
            var offset = u32(bytes, at + 42)
            guard at + 46 + nameLength + extraLength <= bytes.count else { throw fail("damaged central directory at entry \(index + 1)") }
            let name = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            // Zip64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(bytes, extra), length = u16(bytes, extra + 2)
                if id == 1 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF, field + 8 <= extra + 4 + length { size = u64(bytes, field); field += 8 }
                    if compressed == 0xFFFF_FFFF, field + 8 <= extra + 4 + length { compressed = u64(bytes, field); field += 8 }
                    if offset == 0xFFFF_FFFF, field + 8 <= extra + 4 + length { offset = u64(bytes, field); field += 8 }
                }
                extra += 4 + length
            }
            guard flags & 1 == 0 else { throw fail("entry \(name) is encrypted") }
            entries.append(Entry(name: name, method: method, crc: crc, compressedSize: compressed, size: size,
                                 localHeaderOffset: offset))
            at = extraEnd + commentLength
        }
        return try entries.map { entry in
            let header = entry.localHeaderOffset
            guard header >= 0, header <= bytes.count - 30, u32(bytes, header) == 0x04034b50 else {
                throw fail("entry \(entry.name): damaged local header")
            }
            let start = header + 30 + u16(bytes, header + 26) + u16(bytes, header + 28)
            guard entry.compressedSize >= 0, entry.size >= 0, start <= bytes.count, entry.compressedSize <= bytes.count - start else {
                throw fail("entry \(entry.name) is truncated")
            }
            guard entry.size <= SparseLimits.maximumAllocationBytes else {
                throw SparseIOError.tooLarge(path: path, line: 0, message: "entry \(entry.name) holds \(entry.size) bytes, over SparseLimits.maximumAllocationBytes")
            }
            var contents: [UInt8]
            switch entry.method {
            case 0:
                guard entry.compressedSize == entry.size else { throw fail("stored entry \(entry.name) has two different sizes") }
                contents = Array(bytes[start..<(start + entry.size)])
            case 8:
                contents = try inflate(bytes, from: start, count: entry.compressedSize, size: entry.size) {
                    fail("entry \(entry.name): \($0)")
                }
            default:
                throw fail("entry \(entry.name) uses compression method \(entry.method); only stored (0) and deflate (8) are read")
            }
            let crc = contents.withUnsafeBytes { UInt32(crc32_z(0, $0.bindMemory(to: Bytef.self).baseAddress, $0.count)) }
            guard crc == entry.crc else { throw fail("entry \(entry.name): CRC-32 mismatch (damaged data)") }
            return (entry.name, contents)
        }
    }

    private static func inflate(_ bytes: [UInt8], from start: Int, count: Int, size: Int,
                                fail: (String) -> SparseIOError) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: size)
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = bytes.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                var status = Z_OK
                var consumed = 0, produced = 0
                repeat {
                    let inChunk = min(count - consumed, Int(UInt32.max / 2))
                    let outChunk = min(size - produced, Int(UInt32.max / 2))
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + start + consumed)
                    stream.avail_in = UInt32(inChunk)
                    stream.next_out = out.baseAddress.map { $0 + produced }
                    stream.avail_out = UInt32(outChunk)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    consumed += inChunk - Int(stream.avail_in)
                    produced += outChunk - Int(stream.avail_out)
                    if status == Z_BUF_ERROR && (consumed == count || produced == size) { break }
                } while status == Z_OK
                return produced == size && status == Z_STREAM_END ? Z_STREAM_END : (status == Z_STREAM_END ? Z_DATA_ERROR : status)
            }
        }
        guard status == Z_STREAM_END else { throw fail("corrupt deflate data (zlib status \(status))") }
        return output
    }

    private static func deflate(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SparseError.invalidArgument("zlib could not start deflating")
        }
        defer { deflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 2 + 64)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        try input.withUnsafeBufferPointer { inBuffer in
            var consumed = 0
            var status = Z_OK
            repeat {
                let inChunk = min(input.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: inBuffer.baseAddress.map { $0 + consumed })
                stream.avail_in = UInt32(inChunk)
                let flush = consumed + inChunk == input.count ? Z_FINISH : Z_NO_FLUSH
                repeat {
                    let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                        stream.next_out = out.baseAddress
                        stream.avail_out = UInt32(out.count)
                        status = CZlib.deflate(&stream, flush)
                        return out.count - Int(stream.avail_out)
                    }
                    output.append(contentsOf: chunk[0..<produced])
                } while stream.avail_out == 0
                consumed += inChunk - Int(stream.avail_in)
                guard status != Z_STREAM_ERROR else { throw SparseError.invalidArgument("zlib deflate failed") }
            } while status != Z_STREAM_END
        }
        return output
    }

    /// A zip archive of deflated entries (zip64 extras where a size or offset needs them).
    static func archive(_ entries: [(name: String, contents: [UInt8])]) throws -> [UInt8] {
        var out: [UInt8] = []
        var directory: [UInt8] = []
        func put16(_ v: Int, _ b: inout [UInt8]) { b.append(UInt8(v & 0xff)); b.append(UInt8(v >> 8 & 0xff)) }
        func put32(_ v: Int, _ b: inout [UInt8]) { put16(v & 0xffff, &b); put16(v >> 16 & 0xffff, &b) }
        func put64(_ v: Int, _ b: inout [UInt8]) { put32(v & 0xffff_ffff, &b); put32(v >> 32 & 0xffff_ffff, &b) }
        let limit = 0xFFFF_FFFF
        for entry in entries {
            let compressed = try deflate(entry.contents)
            let crc = entry.contents.withUnsafeBytes { Int(crc32_z(0, $0.bindMemory(to: Bytef.self).baseAddress, $0.count)) }
            let name = Array(entry.name.utf8)
            let offset = out.count
            let big = entry.contents.count >= limit || compressed.count >= limit
            // Local header.
            put32(0x04034b50, &out); put16(big ? 45 : 20, &out); put16(0, &out); put16(8, &out)
            put16(0, &out); put16(0x21, &out)                              // time 00:00:00, date 1980-01-01
            put32(crc, &out)
            put32(big ? limit : compressed.count, &out); put32(big ? limit : entry.contents.count, &out)
            put16(name.count, &out); put16(big ? 20 : 0, &out)
            out += name
            if big { put16(1, &out); put16(16, &out); put64(entry.contents.count, &out); put64(compressed.count, &out) }
            out += compressed
            // Central directory entry.
            let farOffset = offset >= limit
            var extra: [UInt8] = []
            if big || farOffset {
                var fields: [UInt8] = []
                if big { put64(entry.contents.count, &fields); put64(compressed.count, &fields) }
                if farOffset { put64(offset, &fields) }
                put16(1, &extra); put16(fields.count, &extra); extra += fields
            }
            put32(0x02014b50, &directory); put16(big || farOffset ? 45 : 20, &directory); put16(big || farOffset ? 45 : 20, &directory)
            put16(0, &directory); put16(8, &directory); put16(0, &directory); put16(0x21, &directory)
            put32(crc, &directory)
            put32(big ? limit : compressed.count, &directory); put32(big ? limit : entry.contents.count, &directory)
            put16(name.count, &directory); put16(extra.count, &directory); put16(0, &directory)
            put16(0, &directory); put16(0, &directory); put32(0, &directory)
            put32(farOffset ? limit : offset, &directory)
            directory += name
            directory += extra
        }
        let directoryOffset = out.count
        out += directory
        let zip64 = directoryOffset >= limit || entries.count >= 0xFFFF
        if zip64 {
            let record = out.count
            put32(0x06064b50, &out); put64(44, &out); put16(45, &out); put16(45, &out); put32(0, &out); put32(0, &out)
            put64(entries.count, &out); put64(entries.count, &out); put64(directory.count, &out); put64(directoryOffset, &out)
            put32(0x07064b50, &out); put32(0, &out); put64(record, &out); put32(1, &out)
        }
        put32(0x06054b50, &out); put16(0, &out); put16(0, &out)
        put16(min(entries.count, 0xFFFF), &out); put16(min(entries.count, 0xFFFF), &out)
        put32(min(directory.count, limit), &out); put32(zip64 ? limit : directoryOffset, &out); put16(0, &out)
        return out
    }
}
