import Foundation
import ImplicitSparse

let data = try LIBSVM.read(path: try sampleLIBSVMFile())                  // .features (n × p, sparse), .targets
let split = try Datasets.split(rows: data.features.rows, validationFraction: 0.2, seed: 0)
let train = try data.features.selectingRows(split.train).toCSC(), yTrain = split.train.map { data.targets[$0] }
let heldOut = try HeldOutLoss(design: try data.features.selectingRows(split.validation).toCSC(),
                              loss: SquaredError(targets: split.validation.map { data.targets[$0] }))  // validation MSE
// Any datafit × penalty: Huber + ℓ1, a lasso robust to outliers.
let model = try GeneralizedLinearModel(design: train, datafit: try Huber(targets: yTrain, delta: 1.35),
                                       penalty: try L1(lambda: 1), fitIntercept: true)
let problem = model.withStrength(try model.lambdaMax()! / 20)
let solution = try problem.solve(tolerance: 1e-10)                        // certified: KKT residual ≤ 1e-10
let derivative = try problem.hypergradient(at: solution, heldOut: heldOut) // d(validation MSE)/d log λ
// Follow the hypergradient: λ tuned by bounded L-BFGS in log λ.
let tuned = try Tuner().tune(try HeldOutGLM(model: model, heldOut: heldOut, tolerance: 1e-10),
                             path: Tuner.Path(startRatio: 20, minRatio: 1e4))
print("d MSE / d log λ = \(derivative.gradient); tuned λ = \(exp(tuned.best[0])), validation MSE \(tuned.bestValue)")

// The checks CI runs (`bash scripts/examples.sh`): the derivative against central finite
// differences (each side re-solved), the tuned λ against a 30-point grid.
let check = try problem.finiteDifference(at: solution, heldOut: heldOut)
let relative = abs(derivative.gradient - check.derivative) / max(abs(check.derivative), 1e-12)
let criterion = try HeldOutGLM(model: model, heldOut: heldOut, tolerance: 1e-10)
let lambdaMax = try model.lambdaMax()!
let grid = try (0..<30).map { k in try criterion.value(at: [log(lambdaMax * pow(10, -4 * Double(k) / 29))]) }
print("finite difference \(check.derivative) (relative difference \(relative)); best of a 30-point grid \(grid.min()!)")
guard relative < 1e-4, tuned.bestValue <= grid.min()! * 1.01 else { print("MISMATCH"); exit(1) }
