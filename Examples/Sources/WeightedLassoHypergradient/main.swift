// The hypergradient of a held-out loss with respect to one penalty weight per feature
// (the weighted lasso: λ Σⱼ e^{θⱼ}|wⱼ|), from one support-reduced adjoint.
import Foundation
import ImplicitSparse

// Binary text-like data with duplicated and dependent columns, as real bag-of-words data are.
let data = try Datasets.binaryTextLike(rows: 1_500, columns: 800, nonzerosPerRow: 12, duplicateColumns: 10,
                                       dependentColumns: 10, informative: 40, seed: 2)
let split = try Datasets.split(rows: 1_500, validationFraction: 0.3, seed: 0)
let train = try data.features.selectingRows(split.train), yTrain = split.train.map { data.targets[$0] }
let validation = try data.features.selectingRows(split.validation), yValidation = split.validation.map { data.targets[$0] }

// snippet: weighted
let model = try LassoFamily(design: train, targets: yTrain, hyperparameters: .logFeatureWeights, tolerance: 1e-12)
let criterion = try HeldOutRegression(model: model, validation: validation, validationTargets: yValidation)
let lambdaMax = try LassoProblem.lambdaMax(design: train, targets: yTrain)
let theta = criterion.theta(lambda: lambdaMax / 20)          // every log λⱼ = log(λ_max/20)
let (value, gradient) = try criterion.evaluate(theta)        // validation MSE and ∂/∂θⱼ for all j
// end snippet
let support = gradient.indices.filter { gradient[$0] != 0 }
print("validation MSE \(value); \(support.count) of \(gradient.count) weights have a nonzero derivative (support \(criterion.lastSupportSize))")

// Oracle: central differences in a few weights of the support.
var worst = 0.0
for j in support.prefix(4) {
    let h = 1e-5
    var up = theta, down = theta
    up[j] += h
    down[j] -= h
    let difference = (try criterion.value(at: up) - criterion.value(at: down)) / (2 * h)
    worst = max(worst, abs(gradient[j] - difference) / max(abs(difference), 1e-10))
    print("feature \(j): implicit \(gradient[j]), finite difference \(difference)")
}
guard worst < 1e-4 else { print("MISMATCH: relative difference \(worst)"); exit(1) }
print("agree to \(String(format: "%.1e", worst)) (relative)")
