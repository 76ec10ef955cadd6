import CSuiteSparse

/// Dense vector kernels used by the Krylov methods. Reductions (dot, norm) and axpy go to
/// OpenBLAS (single-threaded, SIMD); Benchmarks/ measures them against plain Swift loops.
public enum Vector {
    @inline(__always)
    public static func dot(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeBufferPointer<Double>) -> Double {
        cblas_ddot(Int32(x.count), x.baseAddress, 1, y.baseAddress, 1)
    }

    @inline(__always)
    public static func norm(_ x: UnsafeBufferPointer<Double>) -> Double {
        cblas_dnrm2(Int32(x.count), x.baseAddress, 1)
    }

    /// y += αx
    @inline(__always)
    public static func axpy(_ alpha: Double, _ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>) {
        cblas_daxpy(Int32(x.count), alpha, x.baseAddress, 1, y.baseAddress, 1)
    }

    /// x *= α
    @inline(__always)
    public static func scale(_ alpha: Double, _ x: UnsafeMutableBufferPointer<Double>) {
        cblas_dscal(Int32(x.count), alpha, x.baseAddress, 1)
    }

    /// y = x
    @inline(__always)
    public static func copy(_ x: UnsafeBufferPointer<Double>, _ y: UnsafeMutableBufferPointer<Double>) {
        y.baseAddress!.update(from: x.baseAddress!, count: x.count)
    }

    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "Vector.dot: length mismatch")
        return x.withUnsafeBufferPointer { xb in y.withUnsafeBufferPointer { dot(xb, $0) } }
    }

    public static func norm(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { norm($0) }
    }
}

extension Vector {
    /// Runs `body(range)` over `count` entries split into contiguous blocks, in parallel
    /// when the vector is large, and returns the sum of the blocks' results (for fused
    /// update-and-reduce passes).
    @inline(__always)
    static func parallelSum(count: Int, _ body: (Range<Int>) -> SIMD4<Double>) -> SIMD4<Double> {
        let blocks = blockCount(work: count)
        if blocks == 1 { return body(0..<count) }
        var partials = [SIMD4<Double>](repeating: .zero, count: blocks)
        partials.withUnsafeMutableBufferPointer { partial in
            parallelBlocks(blocks) { block in partial[block] = body(evenRange(block, of: blocks, count: count)) }
        }
        return partials.reduce(.zero, +)
    }
}
