import Foundation
import ImplicitSparse

/// A LIBSVM file shaped like real text data (binary features with power-law column
/// frequencies, duplicated and dependent columns, a sparse planted truth), written to a
/// temporary directory: the stand-in for the reader's own file.
func sampleLIBSVMFile() throws -> String {
    let data = try Datasets.binaryTextLike(rows: 4_000, columns: 6_000, nonzerosPerRow: 12, informative: 40, seed: 11)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("quick-start-\(getpid()).svm").path
    try LIBSVM.write(features: data.features, targets: data.targets, to: path)
    return path
}
