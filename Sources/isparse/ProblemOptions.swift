import ISparseCLICore
import ArgumentParser
import ImplicitSparse

/// Options shared by the commands that build a regularized least-squares problem (`solve`,
/// `hypergrad`): the data, λ, the penalty's mix, the inner solver and its tolerance.
struct ProblemOptions: ParsableArguments {
    @Option(help: "Training data in LIBSVM format (plain or .gz); default: the built-in generated problem.")
    var data: String?

    @Option(help: "Seed of the split (and of the generated data).")
    var seed: UInt64 = 0

    @Option(help: "λ itself.")
    var lambda: Double?

    @Option(name: .customLong("lambda-ratio"),
            help: "λ = λ_max / R (default 10); for `solve --path`, the path ends at λ_max / R (default 100).")
    var lambdaRatio: Double?

    @Option(name: .customLong("l1-ratio"),
            help: "α: for enet in (0, 1) (default 0.5); for logreg in (0, 1] (default 1, ℓ1 only). Other models are pure ℓ1 or ℓ2 and ignore it.")
    var l1Ratio: Double?

    @Option(help: "Inner stopping tolerance: duality gap / (‖y − ȳ‖²/(2n)), in [1e-14, 1).")
    var tol: Double = 1e-8

    @Option(help: "Inner solver for the least-squares ℓ1 models: cd (working-set coordinate descent with screening and extrapolation) or fista.")
    var solver: InnerSolver = .cd

    @Flag(name: .customLong("fit-intercept"), help: "Fit an unpenalized intercept b (predictions X w + b).")
    var fitIntercept = false

    @Flag(name: .customLong("zero-based"),
          help: "Read the LIBSVM files' feature indices as 0-based (default: detected from the training file — 0-based if it has a feature 0 — and applied to a validation file too).")
    var zeroBased = false

    func validate() throws {
        if lambda != nil && lambdaRatio != nil { throw ValidationError("give --lambda or --lambda-ratio, not both") }
        if let lambda, !(lambda > 0 && lambda.isFinite) { throw ValidationError("--lambda must be positive and finite") }
        if let lambdaRatio, !(lambdaRatio > 0 && lambdaRatio.isFinite) { throw ValidationError("--lambda-ratio must be positive and finite") }
        if let l1Ratio, !l1Ratio.isFinite { throw ValidationError("--l1-ratio must be finite") }
        if !(tol >= 1e-14 && tol < 1) {
            throw ValidationError("--tol must be in [1e-14, 1): a relative duality gap below 1e-14 is beyond what double precision can certify")
        }
    }

    /// The least-squares penalty of a model, checking the elastic net's α (nil for logreg).
    func penalty(_ model: SolveModel) throws -> RegularizedLeastSquares.Penalty? {
        switch model {
        case .lasso, .wlasso, .nnlasso: return .lasso
        case .ridge: return .ridge
        case .enet:
            let alpha = l1Ratio ?? 0.5
            guard alpha > 0 && alpha < 1 else { throw ValidationError("--l1-ratio must be in (0, 1) for enet") }
            return .elasticNet(l1Ratio: alpha)
        case .logreg:
            return nil
        }
    }

    /// The least-squares penalty of a `hypergrad` model.
    func penalty(_ model: HypergradModel) throws -> RegularizedLeastSquares.Penalty {
        try penalty(SolveModel(rawValue: model.rawValue)!)!
    }

    /// α of sparse logistic regression, in (0, 1] (default 1).
    func logisticL1Ratio() throws -> Double {
        let alpha = l1Ratio ?? 1
        guard alpha > 0 && alpha <= 1 else { throw ValidationError("--l1-ratio must be in (0, 1] for logreg") }
        return alpha
    }

    var innerSolver: RegularizedLeastSquares.InnerSolver { solver == .cd ? .coordinateDescent : .fista }

    /// Training and validation data: `--data` (LIBSVM) or the built-in generated problem,
    /// split by `--val FILE` (read with the training file's index base) or by a seeded
    /// fraction of the rows — or, with `holdOut` false and no `val`, all rows for training and
    /// no validation rows (cross-validation's own folds).
    func loadSplit(val: String?, valFraction: Double, classification: Bool = false, holdOut: Bool = true,
                   generate: (() throws -> (features: CSRMatrix, targets: [Double], source: String))? = nil) throws
        -> (train: CSRMatrix, yTrain: [Double], validation: CSRMatrix, yValidation: [Double], source: String) {
        if let data {
            let read = try LIBSVM.read(path: data, indexBase: zeroBased ? 0 : nil)
            guard read.features.rows > 0 else { throw CLIFailure(code: .input, message: "\(data): no samples") }
            if classification { try Self.checkClassLabels(read.targets, file: data) }
            if let val {
                // One index-base decision for the problem: the validation file is read with the
                // training file's base (an index 0 there, in a file read 1-based, is an error
                // naming its line, never a silent shift of every feature).
                let held = try LIBSVM.read(path: val, indexBase: read.indexBase, columns: read.features.columns)
                guard held.features.columns == read.features.columns else {
                    throw CLIFailure(code: .input, message: "\(val): \(held.features.columns) features, training data has \(read.features.columns)")
                }
                guard held.features.rows > 0 else { throw CLIFailure(code: .input, message: "\(val): no samples (the validation file is empty)") }
                if classification { try Self.checkClassLabels(held.targets, file: val) }
                return (read.features, read.targets, held.features, held.targets, data)
            }
            if !holdOut { return (read.features, read.targets, try read.features.selectingRows([]), [], data) }
            let split = try Datasets.split(rows: read.features.rows, validationFraction: valFraction, seed: seed)
            return (try read.features.selectingRows(split.train), split.train.map { read.targets[$0] },
                    try read.features.selectingRows(split.validation), split.validation.map { read.targets[$0] }, data)
        }
        if let generate {
            let g = try generate()
            if !holdOut { return (g.features, g.targets, try g.features.selectingRows([]), [], g.source) }
            let split = try Datasets.split(rows: g.features.rows, validationFraction: valFraction, seed: seed)
            return (try g.features.selectingRows(split.train), split.train.map { g.targets[$0] },
                    try g.features.selectingRows(split.validation), split.validation.map { g.targets[$0] }, g.source)
        }
        // Classification: the binary text-like problem of `solve logreg` (duplicated and
        // dependent columns included).
        let generated = classification
            ? try Datasets.binaryTextLike(rows: 20_000, columns: 30_000, nonzerosPerRow: 20, duplicateColumns: 100,
                                          dependentColumns: 100, classification: true, seed: seed)
            : try Datasets.textLike(seed: seed)
        let source = classification ? "generated binary text-like classification problem (seed \(seed))" : "generated text-like problem (seed \(seed))"
        if !holdOut { return (generated.features, generated.targets, try generated.features.selectingRows([]), [], source) }
        let split = try Datasets.split(rows: generated.features.rows, validationFraction: valFraction, seed: seed)
        return (try generated.features.selectingRows(split.train), split.train.map { generated.targets[$0] },
                try generated.features.selectingRows(split.validation), split.validation.map { generated.targets[$0] }, source)
    }
}

extension ProblemOptions {
    /// Class labels ±1 or 0/1, the bad one named with its file and line (rows are lines of a
    /// LIBSVM file).
    static func checkClassLabels(_ labels: [Double], file: String) throws {
        let plusMinus = labels.allSatisfy { $0 == 1 || $0 == -1 }, zeroOne = labels.allSatisfy { $0 == 0 || $0 == 1 }
        guard !plusMinus && !zeroOne else { return }
        let bad = labels.firstIndex { !($0 == 1 || $0 == -1 || $0 == 0) } ?? labels.firstIndex { $0 == -1 } ?? 0
        throw CLIFailure(code: .input, message: "\(file): sample \(bad + 1) has label \(labels[bad]); a classifier needs labels ±1 or 0/1 (not both)")
    }
}

/// The validation set of the regression commands (`hypergrad`, `tune`): a file, or a seeded
/// fraction of the training rows.
struct SplitOptions: ParsableArguments {
    @Option(help: "Validation data in LIBSVM format (instead of --val-fraction).")
    var val: String?

    @Option(name: .customLong("val-fraction"), help: "Fraction of the rows held out for validation.")
    var valFraction: Double = 0.2

    func validate() throws {
        if !(valFraction > 0 && valFraction < 1) { throw ValidationError("--val-fraction must be in (0, 1)") }
    }
}
