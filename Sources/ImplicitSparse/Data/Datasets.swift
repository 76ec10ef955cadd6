import Foundation
import Sparse

/// Built-in generated data sets, reproducible from their seed.
public enum Datasets {
    /// A text-like regression problem: power-law column frequencies (a few columns in most
    /// rows, most columns rare), Gaussian values, a planted sparse truth on `informative`
    /// columns drawn among the 5 000 most frequent, and Gaussian noise with standard deviation
    /// `noise`·std(Xw). Defaults: n = 50 000, p = 65 000, about 10⁶ nonzeros.
    public static func textLike(rows: Int = 50_000, columns: Int = 65_000, nonzerosPerRow: Int = 20,
                                informative: Int = 200, noise: Double = 0.5, seed: UInt64 = 0)
        throws -> (features: CSRMatrix, targets: [Double], truth: [Double]) {
        let x = try CSRMatrix.randomPowerLaw(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow,
                                             exponent: 2.0, seed: seed &+ 1)
        let (targets, truth, _) = try plantedTargets(x, informative: informative, noise: noise, seed: seed &+ 2)
        return (x, targets, truth)
    }

    /// y = Xw_true + noise·std(Xw_true)·N(0, 1) with w_true Gaussian on `informative` columns
    /// drawn among the 5 000 most frequent; also returns the mean of Xw_true.
    static func plantedTargets(_ x: CSRMatrix, informative: Int, noise: Double, seed: UInt64) throws
        -> (targets: [Double], truth: [Double], signalMean: Double) {
        var rng = SplitMix64(seed: seed)
        var truth = [Double](repeating: 0, count: x.columns)
        let pool = min(x.columns, 5_000)
        var placed = 0
        while placed < min(informative, pool) {
            let j = Int(rng.next() % UInt64(pool))
            if truth[j] == 0 { truth[j] = rng.nextGaussian(); placed += 1 }
        }
        let signal = try x.multiply(truth)
        let rows = Double(max(x.rows, 1))
        let mean = signal.reduce(0, +) / rows
        let sd = (signal.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / rows).squareRoot()
        return (signal.map { $0 + noise * sd * rng.nextGaussian() }, truth, mean)
    }

    /// Binary text-like data as real bag-of-words features are: power-law column frequencies,
    /// values 1, and the two defects of real binary data — `duplicateColumns` columns that are
    /// exact copies of frequent columns, and `dependentColumns` columns that are the sum of two
    /// frequent columns (linearly dependent) — written over the rarest columns. Targets: a
    /// planted sparse truth on `informative` of the 5 000 most frequent columns plus Gaussian
    /// noise with standard deviation `noise`·std(Xw). With labels (`classification`), yᵢ =
    /// sign(xᵢᵀw_true + noise) ∈ {−1, 1}.
    public static func binaryTextLike(rows: Int, columns: Int, nonzerosPerRow: Int, duplicateColumns: Int = 0,
                                      dependentColumns: Int = 0, informative: Int = 200, noise: Double = 0.5,
                                      classification: Bool = false, seed: UInt64 = 0)
        throws -> (features: CSRMatrix, targets: [Double], truth: [Double]) {
        try generate(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow, zipf: 1, binary: true,
                     duplicateColumns: duplicateColumns, dependentColumns: dependentColumns, informative: informative,
                     noise: noise, classification: classification, seed: seed)
    }

    /// Counts for Poisson regression on binary text-like data: yᵢ ~ Poisson(exp(b + xᵢᵀw)) with
    /// a planted sparse w scaled so the log-rates span about ±`spread` around b (Knuth's
    /// sampler, seeded), duplicated and dependent columns as `binaryTextLike`.
    public static func binaryTextLikeCounts(rows: Int, columns: Int, nonzerosPerRow: Int, duplicateColumns: Int = 0,
                                            dependentColumns: Int = 0, informative: Int = 200, intercept: Double = 0.5,
                                            spread: Double = 1, seed: UInt64 = 0)
        throws -> (features: CSRMatrix, targets: [Double], truth: [Double]) {
        let base = try binaryTextLike(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow, duplicateColumns: duplicateColumns,
                                      dependentColumns: dependentColumns, informative: informative, noise: 0, seed: seed)
        let signal = try base.features.multiply(base.truth)
        let largest = max(signal.map(abs).max() ?? 1, 1e-12)
        let scale = spread / largest
        var rng = SplitMix64(seed: seed &+ 7)
        let counts = signal.map { s -> Double in
            let threshold = Foundation.exp(-Foundation.exp(intercept + scale * s))
            var k = 0.0, product = rng.nextUniform()
            while product > threshold { k += 1; product *= rng.nextUniform() }
            return k
        }
        return (base.features, counts, base.truth.map { $0 * scale })
    }

    /// The generator behind `isparse data generate regression|classification`: column `j`
    /// (0-based) is drawn with probability ∝ (j + 1)^(−zipf) (Zipf's law: `zipf` = 1 is the
    /// classic word-frequency law; larger is more skewed), row lengths uniform in
    /// 1…2·`nonzerosPerRow` − 1, values Gaussian or (`binary`) 1; then the defects of real
    /// data (`duplicateColumns` exact copies and `dependentColumns` sums of two of the 5 000
    /// most frequent columns, written over the rarest), a planted truth on `informative` of the
    /// 5 000 most frequent columns and noise of standard deviation `noise`·std(Xw); with
    /// `classification`, y = sign(Xw − mean + noise) ∈ {−1, 1}.
    /// Memory: the matrix (12 bytes per nonzero) and, with duplicated or dependent columns,
    /// a per-column copy of it while they are written.
    public static func generate(rows: Int, columns: Int, nonzerosPerRow: Int, zipf: Double = 1, binary: Bool = false,
                                duplicateColumns: Int = 0, dependentColumns: Int = 0, informative: Int = 200,
                                noise: Double = 0.5, classification: Bool = false, seed: UInt64 = 0)
        throws -> (features: CSRMatrix, targets: [Double], truth: [Double]) {
        guard duplicateColumns >= 0, dependentColumns >= 0, duplicateColumns + dependentColumns <= columns / 2 else {
            throw SparseError.invalidArgument("duplicated + dependent columns must be between 0 and half the columns")
        }
        guard zipf > 0, zipf.isFinite else { throw SparseError.invalidArgument("the Zipf exponent must be positive, got \(zipf)") }
        guard informative >= 0, noise >= 0, noise.isFinite else {
            throw SparseError.invalidArgument("the support size and the noise must be nonnegative")
        }
        // PowerLawSampler's exponent γ gives probabilities ∝ (j + 1)^(−1/(γ − 1)).
        let generated = try CSRMatrix.randomPowerLaw(rows: rows, columns: columns, nonzerosPerRow: nonzerosPerRow,
                                                     exponent: 1 + 1 / zipf, seed: seed &+ 1)
        // Binary: repeated (row, column) draws were summed by the builder; every entry becomes 1.
        let valued = binary ? try generated.replacingValues([Double](repeating: 1, count: generated.nonzeroCount)) : generated
        if duplicateColumns == 0 && dependentColumns == 0 {
            return try finish(valued, informative: informative, noise: noise, classification: classification, seed: seed)
        }
        let csc = valued.toCSC()
        var rng = SplitMix64(seed: seed &+ 3)
        let pool = min(columns, 5_000)
        var rowLists: [[Int32]] = (0..<columns).map { j in
            Array(csc.rowIndices[csc.columnPointers[j]..<csc.columnPointers[j + 1]])
        }
        var valueLists: [[Double]] = (0..<columns).map { j in
            Array(csc.values[csc.columnPointers[j]..<csc.columnPointers[j + 1]])
        }
        var replaced = columns - 1
        for _ in 0..<duplicateColumns {
            let source = Int(rng.next() % UInt64(pool))
            rowLists[replaced] = rowLists[source]; valueLists[replaced] = valueLists[source]
            replaced -= 1
        }
        for _ in 0..<dependentColumns {
            let a = Int(rng.next() % UInt64(pool)), b = Int(rng.next() % UInt64(pool))
            var merged: [Int32: Double] = [:]
            for (i, v) in zip(rowLists[a], valueLists[a]) { merged[i, default: 0] += v }
            for (i, v) in zip(rowLists[b], valueLists[b]) { merged[i, default: 0] += v }
            let keys = merged.keys.sorted()
            rowLists[replaced] = keys; valueLists[replaced] = keys.map { merged[$0]! }
            replaced -= 1
        }
        var pointers = [0]
        pointers.reserveCapacity(columns + 1)
        for j in 0..<columns { pointers.append(pointers[j] + rowLists[j].count) }
        let x = try CSCMatrix(rows: rows, columns: columns, columnPointers: pointers, rowIndices: rowLists.flatMap { $0 },
                              values: valueLists.flatMap { $0 }).toCSR()
        return try finish(x, informative: informative, noise: noise, classification: classification, seed: seed)
    }

    private static func finish(_ x: CSRMatrix, informative: Int, noise: Double, classification: Bool, seed: UInt64)
        throws -> (features: CSRMatrix, targets: [Double], truth: [Double]) {
        let planted = try plantedTargets(x, informative: informative, noise: noise, seed: seed &+ 2)
        let truth = planted.truth, mean = planted.signalMean
        var targets = planted.targets
        if classification { targets = targets.map { $0 - mean >= 0 ? 1 : -1 } }
        return (x, targets, truth)
    }

    /// A seeded random split of the rows into (train, validation) index lists.
    /// k folds of the rows for cross-validation: a seeded shuffle cut into k consecutive runs;
    /// each fold's held-out rows (sorted) and its training rows (the others, sorted).
    /// - Throws: `.invalidArgument` unless 2 ≤ k ≤ rows.
    public static func folds(rows n: Int, count k: Int, seed: UInt64) throws -> [(train: [Int], held: [Int])] {
        guard k >= 2, k <= n else { throw SparseError.invalidArgument("cross-validation needs 2 ≤ folds ≤ rows (\(n)), got \(k)") }
        var random = SplitMix64(seed: seed)
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(random.next() % UInt64(i + 1))) }
        return (0..<k).map { f in
            let held = order[(n * f / k)..<(n * (f + 1) / k)].sorted()
            var inFold = [Bool](repeating: false, count: n)
            for i in held { inFold[i] = true }
            return ((0..<n).filter { !inFold[$0] }, held)
        }
    }

    public static func split(rows: Int, validationFraction: Double, seed: UInt64) throws -> (train: [Int], validation: [Int]) {
        guard validationFraction > 0, validationFraction < 1 else {
            throw SparseError.invalidArgument("validation fraction must be in (0, 1), got \(validationFraction)")
        }
        guard rows >= 2 else {
            throw SparseError.invalidArgument("a train/validation split needs at least 2 rows, the data has \(rows)")
        }
        var rng = SplitMix64(seed: seed)
        var order = Array(0..<rows)
        for i in stride(from: rows - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        let validationCount = max(1, min(rows - 1, Int((Double(rows) * validationFraction).rounded())))
        return (Array(order[validationCount...]).sorted(), Array(order[..<validationCount]).sorted())
    }

    /// The built-in signal of `--grid R×C` graph problems: at node (r, c), with u = r/R and
    /// v = c/C in [0, 1), y = sin(3πu)·cos(2πv) (a smooth field) + 1 where u + v < 0.8 (a
    /// step, so that total variation has groups to find) + 0.3·N(0, 1) noise (seeded).
    public static func gridSignal(rows: Int, columns: Int, seed: UInt64 = 0) -> [Double] {
        var rng = SplitMix64(seed: seed &+ 7)
        var y = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let u = Double(r) / Double(rows)
            for c in 0..<columns {
                let v = Double(c) / Double(columns)
                y[r * columns + c] = sin(3 * Double.pi * u) * cos(2 * Double.pi * v) + (u + v < 0.8 ? 1 : 0) + 0.3 * rng.nextGaussian()
            }
        }
        return y
    }
}
