import XCTest
@testable import Sparse

/// Inputs found by the fuzzers (scripts/fuzz.sh), kept as regressions: each must give a
/// typed error or a valid matrix, never a crash or an unbounded allocation.
final class FuzzRegressionTests: XCTestCase {
    /// libsvm-oom-72b7fdd1: a feature index of 999 999 993. Reading allocates O(nnz); the
    /// declared width is refused only when a run's vectors of that length (10 of them, 80 GB
    /// here) would exceed the allocation limit.
    func testHugeFeatureIndex() throws {
        let path = writeText("0 0999999993:-999999899\n", to: "fuzz-huge-index.svm")
        let saved = SparseLimits.maximumAllocationBytes
        defer { SparseLimits.maximumAllocationBytes = saved }
        SparseLimits.maximumAllocationBytes = 128 << 20
        XCTAssertThrowsError(try LIBSVM.read(path: path)) { error in
            guard case SparseIOError.tooLarge(_, 1, _) = error else { return XCTFail("\(error)") }
        }
        SparseLimits.maximumAllocationBytes = 100 << 30
        let dataset = try LIBSVM.read(path: path)
        XCTAssertEqual(dataset.features.columns, 999_999_993)
        XCTAssertEqual(dataset.features.nonzeroCount, 1)
    }
}
