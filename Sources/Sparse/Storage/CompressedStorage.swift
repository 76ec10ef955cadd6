import Foundation
/// The pattern-and-values arrays shared by `CSRMatrix` (major = rows) and `CSCMatrix`
/// (major = columns). A CSR matrix of A and a CSC matrix of Aᵀ hold the very same storage,
/// which is how transposes and the Cholesky of AAᵀ avoid copies.
///
/// Invariants (checked by `validate()`, and by `checkInvariants()` in debug builds):
/// `pointers.count == majorCount + 1`, `pointers[0] == 0`, pointers non-decreasing,
/// `pointers[majorCount] == indices.count == values.count`, indices within a major slice
/// strictly increasing and in `0..<minorCount`.
@usableFromInline
struct CompressedStorage: Sendable {
    @usableFromInline var majorCount: Int
    @usableFromInline var minorCount: Int
    // The pattern arrays are never changed after construction (only `values` is): the
    // pattern token below stays true for the storage's whole life.
    @usableFromInline let pointers: [Int]
    @usableFromInline let indices: [Int32]
    @usableFromInline var values: [Double]
    /// The identity of this pattern, shared by copies and by value replacements; the
    /// transposed pattern's token is derived from it, so `toCSC()` of the same CSR pattern
    /// gives the same token every time.
    let patternToken: PatternToken

    @inlinable var nonzeroCount: Int { pointers[majorCount] }

    init(majorCount: Int, minorCount: Int, pointers: [Int], indices: [Int32], values: [Double],
         patternToken: PatternToken? = nil) {
        self.majorCount = majorCount
        self.minorCount = minorCount
        self.pointers = pointers
        self.indices = indices
        self.values = values
        self.patternToken = patternToken ?? PatternToken()
    }

    static func checkDimensions(_ major: Int, _ minor: Int) throws {
        if major < 0 || minor < 0 {
            throw SparseError.invalidDimension("negative dimension \(major) × \(minor)")
        }
        if major > Int(Int32.max) || minor > Int(Int32.max) {
            throw SparseError.invalidDimension("dimension \(max(major, minor)) exceeds 2³¹ − 1")
        }
    }

    /// Full O(nnz) check of every invariant, naming the first violation.
    /// `majorName`/`minorName` are "row"/"column" or the reverse.
    func validate(majorName: String, minorName: String) throws {
        try Self.checkDimensions(majorCount, minorCount)
        guard pointers.count == majorCount + 1 else {
            throw SparseError.invalidStructure(
                "\(majorName) pointer array has \(pointers.count) entries, expected \(majorCount + 1)")
        }
        guard pointers[0] == 0 else {
            throw SparseError.invalidStructure("\(majorName) pointer 0 is \(pointers[0]), expected 0")
        }
        let nnz = pointers[majorCount]
        guard nnz == indices.count else {
            throw SparseError.invalidStructure(
                "last \(majorName) pointer is \(nnz) but there are \(indices.count) \(minorName) indices")
        }
        guard values.count == indices.count else {
            throw SparseError.invalidStructure(
                "\(values.count) values for \(indices.count) \(minorName) indices")
        }
        try pointers.withUnsafeBufferPointer { p in
            try indices.withUnsafeBufferPointer { idx in
                for major in 0..<majorCount {
                    let start = p[major], end = p[major + 1]
                    guard start <= end, end <= nnz else {
                        throw SparseError.invalidStructure(
                            "\(majorName) pointers decrease or overrun at \(majorName) \(major) (\(start) → \(end))")
                    }
                    var previous: Int32 = -1
                    for k in start..<end {
                        let index = idx[k]
                        guard index >= 0, Int(index) < minorCount else {
                            throw SparseError.invalidStructure(
                                "\(minorName) index \(index) out of range 0..<\(minorCount) at \(majorName) \(major) (entry \(k))")
                        }
                        guard index > previous else {
                            throw SparseError.invalidStructure(index == previous
                                ? "duplicate \(minorName) index \(index) in \(majorName) \(major) (entry \(k))"
                                : "\(minorName) indices not sorted in \(majorName) \(major) (entry \(k))")
                        }
                        previous = index
                    }
                }
            }
        }
        try checkFinite(values, "values")
    }

    /// Internal invariant check, compiled in only under the `SPARSE_INTERNAL_CHECKS` flag (as
    /// swift-collections' `COLLECTIONS_INTERNAL_CHECKS`): users' debug builds do not pay
    /// O(nnz) per construction. `scripts/test.sh` sets it for the debug test pass.
    @inline(__always)
    func checkInvariants() {
        #if SPARSE_INTERNAL_CHECKS
        do { try validate(majorName: "major", minorName: "minor") } catch {
            preconditionFailure("CompressedStorage invariant violated: \(error)")
        }
        #endif
    }

    /// The transpose as a counting sort: O(nnz + majorCount + minorCount). Indices of the
    /// result come out sorted because majors are visited in order.
    func transposed() -> CompressedStorage {
        let nnz = nonzeroCount
        var newPointers = [Int](repeating: 0, count: minorCount + 1)
        var newIndices = [Int32](repeating: 0, count: nnz)
        var newValues = [Double](repeating: 0, count: nnz)
        indices.withUnsafeBufferPointer { idx in
            newPointers.withUnsafeMutableBufferPointer { np in
                for k in 0..<nnz { np[Int(idx[k]) + 1] += 1 }
                for j in 0..<minorCount { np[j + 1] += np[j] }
            }
            var next = Array(newPointers[0..<minorCount])
            pointers.withUnsafeBufferPointer { p in
                values.withUnsafeBufferPointer { v in
                    newIndices.withUnsafeMutableBufferPointer { ni in
                        newValues.withUnsafeMutableBufferPointer { nv in
                            next.withUnsafeMutableBufferPointer { nx in
                                for major in 0..<majorCount {
                                    for k in p[major]..<p[major + 1] {
                                        let minor = Int(idx[k])
                                        let dest = nx[minor]
                                        nx[minor] = dest + 1
                                        ni[dest] = Int32(truncatingIfNeeded: major)
                                        nv[dest] = v[k]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return CompressedStorage(majorCount: minorCount, minorCount: majorCount,
                                 pointers: newPointers, indices: newIndices, values: newValues,
                                 patternToken: patternToken.transposed)
    }

    /// Keeps the majors listed in `selection` (in that order). O(selected nnz).
    func selectingMajors(_ selection: [Int]) throws -> CompressedStorage {
        var newPointers = [Int](repeating: 0, count: selection.count + 1)
        var total = 0
        for (position, major) in selection.enumerated() {
            guard major >= 0, major < majorCount else {
                throw SparseError.invalidArgument("selection index \(major) at position \(position) out of range 0..<\(majorCount)")
            }
            total += pointers[major + 1] - pointers[major]
            newPointers[position + 1] = total
        }
        var newIndices = [Int32](); newIndices.reserveCapacity(total)
        var newValues = [Double](); newValues.reserveCapacity(total)
        for major in selection {
            let range = pointers[major]..<pointers[major + 1]
            newIndices.append(contentsOf: indices[range])
            newValues.append(contentsOf: values[range])
        }
        return CompressedStorage(majorCount: selection.count, minorCount: minorCount,
                                 pointers: newPointers, indices: newIndices, values: newValues)
    }

    /// Keeps the minors listed in `selection` (strictly increasing), renumbered 0..<count.
    /// O(nnz + minorCount).
    func selectingMinors(_ selection: [Int]) throws -> CompressedStorage {
        var map = [Int32](repeating: -1, count: minorCount)
        var previous = -1
        for (position, minor) in selection.enumerated() {
            guard minor >= 0, minor < minorCount else {
                throw SparseError.invalidArgument("selection index \(minor) at position \(position) out of range 0..<\(minorCount)")
            }
            guard minor > previous else {
                throw SparseError.invalidArgument("selection must be strictly increasing (position \(position))")
            }
            previous = minor
            map[minor] = Int32(position)
        }
        var newPointers = [Int](repeating: 0, count: majorCount + 1)
        var newIndices = [Int32]()
        var newValues = [Double]()
        for major in 0..<majorCount {
            for k in pointers[major]..<pointers[major + 1] {
                let mapped = map[Int(indices[k])]
                if mapped >= 0 {
                    newIndices.append(mapped)
                    newValues.append(values[k])
                }
            }
            newPointers[major + 1] = newIndices.count
        }
        return CompressedStorage(majorCount: majorCount, minorCount: selection.count,
                                 pointers: newPointers, indices: newIndices, values: newValues)
    }

    /// Entry-wise αA + βB on the union of the patterns (same shape). O(nnz(A) + nnz(B)).
    func adding(_ other: CompressedStorage, alpha: Double, beta: Double) -> CompressedStorage {
        var newPointers = [Int](repeating: 0, count: majorCount + 1)
        var newIndices = [Int32](); newIndices.reserveCapacity(nonzeroCount + other.nonzeroCount)
        var newValues = [Double](); newValues.reserveCapacity(nonzeroCount + other.nonzeroCount)
        for major in 0..<majorCount {
            var a = pointers[major], b = other.pointers[major]
            let aEnd = pointers[major + 1], bEnd = other.pointers[major + 1]
            while a < aEnd || b < bEnd {
                let ia = a < aEnd ? indices[a] : Int32.max
                let ib = b < bEnd ? other.indices[b] : Int32.max
                if ia == ib {
                    newIndices.append(ia); newValues.append(alpha * values[a] + beta * other.values[b])
                    a += 1; b += 1
                } else if ia < ib {
                    newIndices.append(ia); newValues.append(alpha * values[a]); a += 1
                } else {
                    newIndices.append(ib); newValues.append(beta * other.values[b]); b += 1
                }
            }
            newPointers[major + 1] = newIndices.count
        }
        return CompressedStorage(majorCount: majorCount, minorCount: minorCount,
                                 pointers: newPointers, indices: newIndices, values: newValues)
    }

    /// True when the pattern arrays equal `other`'s (values ignored). O(nnz).
    func hasSamePattern(as other: CompressedStorage) -> Bool {
        majorCount == other.majorCount && minorCount == other.minorCount
            && pointers == other.pointers && indices == other.indices
    }
}

/// A pattern's identity: one object per pattern, compared by reference. The transposed
/// pattern's token is made once and kept, so every transpose of a pattern has the same token.
final class PatternToken: @unchecked Sendable {
    private let lock = NSLock()
    private weak var transposedOf: PatternToken?
    private var transposedToken: PatternToken?

    init() {}

    var transposed: PatternToken {
        if let source = transposedOf { return source }
        lock.lock()
        defer { lock.unlock() }
        if let t = transposedToken { return t }
        let t = PatternToken()
        t.transposedOf = self
        transposedToken = t
        return t
    }
}
