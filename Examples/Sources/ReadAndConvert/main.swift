// Reading and converting data: LIBSVM with labels, SciPy .npz with a labels array, gzip
// Matrix Market; every conversion gives the same matrix back, bit for bit.
import Foundation
import ImplicitSparse

let folder = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-example-\(getpid())").path
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }

// Binary text-like data with duplicated columns, as a LIBSVM file would hold it.
let generated = try Datasets.binaryTextLike(rows: 2_000, columns: 5_000, nonzerosPerRow: 15, duplicateColumns: 20, seed: 1)

// snippet: convert
try SparseDataFile.write(SparseData(features: generated.features, targets: generated.targets), to: folder + "/train.svm.gz")
let train = try SparseDataFile.read(path: folder + "/train.svm.gz")       // format from the extension
try SparseDataFile.write(SparseData(features: train.features), to: folder + "/X.npz")   // scipy.sparse.load_npz reads it
try SparseDataFile.writeTargets(train.targets ?? [], to: folder + "/y.npy")           // numpy.load reads it
try SparseDataFile.write(try SparseDataFile.read(path: folder + "/X.npz"), to: folder + "/X.mtx.gz")
let back = try SparseDataFile.read(path: folder + "/X.mtx.gz").features
let labels = try SparseDataFile.readTargets(path: folder + "/y.npy")
// end snippet

let same = back.rows == generated.features.rows && back.columns == generated.features.columns
    && back.rowPointers == generated.features.rowPointers && back.columnIndices == generated.features.columnIndices
    && back.values.map(\.bitPattern) == generated.features.values.map(\.bitPattern)
    && labels.map(\.bitPattern) == generated.targets.map(\.bitPattern)
print("\(back.rows) × \(back.columns), \(back.nonzeroCount) nonzeros: svm.gz → npz → mtx.gz \(same ? "identical" : "DIFFERENT")")
guard same else { exit(1) }
