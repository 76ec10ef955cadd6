import Foundation
import ImplicitSparse
import Sparse

/// Training and validation rows of a regression problem spread over the ranks, with the row
/// space the lasso family reduces its sums through: give `design`, `targets` and `rowSpace`
/// to `RegularizedLeastSquares(…, rowSpace:)` and the solve (working sets), the
/// validation loss and the hypergradient (`LassoAdjoint`) are the single-process code with
/// every sum over rows reduced over the ranks. Vectors of length p (w, Xᵀr) are whole on
/// every rank: p doubles of memory per vector per rank, the rows of X divided.
public struct DistributedRegressionData {
    /// This rank's training rows (all p columns) and their targets.
    public var design: CSRMatrix
    public var targets: [Double]
    /// This rank's validation rows and targets.
    public var validation: CSRMatrix
    public var validationTargets: [Double]
    /// The training rows over the ranks (global length n, this rank's range).
    public var rowSpace: VectorSpace
    /// Rows over all ranks.
    public var trainRows: Int
    public var validationRows: Int
    public var features: Int { design.columns }
    /// Stored nonzeros of the training rows over all ranks, and the most on one rank.
    public var trainNonzeros: Int
    public var trainNonzerosMax: Int
    /// The file, or the generated problem's description.
    public var source: String

    /// A row space over the ranks for `local` rows (collective).
    public static func rowSpace(localRows local: Int) throws -> VectorSpace {
        let first = try Collective.exclusivePrefixSum(local)
        let total = try Collective.sum(local)
        return VectorSpace(globalLength: total, localRange: first..<(first + local), parts: PETSc.size) { values in
            try? Collective.sum(values)
        }
    }

    /// Reads or generates the data (collective).
    /// - Parameters:
    ///   - data: a LIBSVM file (read by byte ranges, `DistributedLIBSVM`); nil: the built-in
    ///     generated text-like problem of `isparse hypergrad` (`Datasets.textLike(seed:)`,
    ///     generated whole on every rank, which keeps its rows).
    ///   - val: a LIBSVM validation file, read with the training file's index base and width;
    ///     nil: `valFraction` of the rows held out by `Datasets.split(rows:validationFraction:seed:)`
    ///     — the same rows as `isparse` holds out (every rank draws the same O(n) permutation).
    ///   - zeroBased: read the indices as 0-based (default: detected from the training file).
    /// - Throws: `DistributedFailure` for a malformed file (its line), no training or no
    ///   validation row.
    public static func load(data: String?, val: String?, valFraction: Double, seed: UInt64,
                            zeroBased: Bool) throws -> DistributedRegressionData {
        var x: CSRMatrix, y: [Double], range: Range<Int>, total: Int, base = 1, source: String
        if let data {
            let block = try DistributedLIBSVM.read(path: data, indexBase: zeroBased ? 0 : nil)
            guard block.rows > 0 else { throw DistributedFailure(rank: 0, message: "\(data): no samples", isInput: true) }
            (x, y, range, total, base, source) = (block.features, block.targets, block.partition.localRange, block.rows,
                                                  block.indexBase, data)
        } else {
            let generated = try Collective.agree("generating the data") { try Datasets.textLike(seed: seed) }
            let partition = RowPartition(globalRows: generated.features.rows)
            range = partition.localRange
            total = generated.features.rows
            x = try generated.features.selectingRows(Array(range))
            y = Array(generated.targets[range])
            source = "generated text-like problem (seed \(seed))"
        }
        var validation: CSRMatrix, yValidation: [Double]
        if let val {
            let held = try DistributedLIBSVM.read(path: val, indexBase: base, columns: x.columns)
            guard held.rows > 0 else {
                throw DistributedFailure(rank: 0, message: "\(val): no samples (the validation file is empty)", isInput: true)
            }
            (validation, yValidation) = (held.features, held.targets)
        } else {
            let split = try Collective.agree("splitting the rows") {
                try Datasets.split(rows: total, validationFraction: valFraction, seed: seed)
            }
            let local = { (rows: [Int]) in rows.filter { range.contains($0) }.map { $0 - range.lowerBound } }
            let trainRows = local(split.train), heldRows = local(split.validation)
            validation = try x.selectingRows(heldRows)
            yValidation = heldRows.map { y[$0] }
            x = try x.selectingRows(trainRows)
            y = trainRows.map { y[$0] }
        }
        let space = try rowSpace(localRows: x.rows)
        let validationRows = try Collective.sum(validation.rows)
        guard space.globalLength > 0, validationRows > 0 else {
            throw DistributedFailure(rank: 0, message: "need at least one training and one validation row", isInput: true)
        }
        return DistributedRegressionData(design: x, targets: y, validation: validation, validationTargets: yValidation,
                                         rowSpace: space, trainRows: space.globalLength, validationRows: validationRows,
                                         trainNonzeros: try Collective.sum(x.nonzeroCount),
                                         trainNonzerosMax: try Collective.maximum(x.nonzeroCount), source: source)
    }
}
