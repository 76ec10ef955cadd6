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
        var rng = SplitMix64(seed: seed &+ 2)
        var truth = [Double](repeating: 0, count: columns)
        let pool = min(columns, 5_000)
        var placed = 0
        while placed < min(informative, pool) {
            let j = Int(rng.next() % UInt64(pool))
            if truth[j] == 0 { truth[j] = rng.nextGaussian(); placed += 1 }
        }
        let signal = try x.multiply(truth)
        let mean = signal.reduce(0, +) / Double(max(rows, 1))
        let sd = (signal.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(rows, 1))).squareRoot()
        let targets = signal.map { $0 + noise * sd * rng.nextGaussian() }
        return (x, targets, truth)
    }

    /// A seeded random split of the rows into (train, validation) index lists.
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
}
