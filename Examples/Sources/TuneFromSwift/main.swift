// Tuning λ of the lasso from Swift with the library's tuner: an outer optimizer follows the
// hypergradient of the held-out loss (projected L-BFGS in log λ, bounds and start from
// λ_max), and a grid checks where the minimum is.
import Foundation
import ImplicitSparse

let data = try Datasets.textLike(rows: 3_000, columns: 4_000, nonzerosPerRow: 15, informative: 60, seed: 7)
let split = try Datasets.split(rows: 3_000, validationFraction: 0.25, seed: 0)
let train = try data.features.selectingRows(split.train), yTrain = split.train.map { data.targets[$0] }
let validation = try data.features.selectingRows(split.validation), yValidation = split.validation.map { data.targets[$0] }

// snippet: tune
let criterion = try HeldOutRegression(model: try LassoFamily(design: train, targets: yTrain),
                                      validation: validation, validationTargets: yValidation)
let lambdaMax = criterion.lambdaMax
var options = Tuner.defaultOptions                           // bounded L-BFGS, 30 steps, as `isparse tune`
options.relativeDecrease = 1e-6
let report = try Tuner(options: options).tune(criterion, path: Tuner.Path(startRatio: 10, minRatio: 1e4)) { step in
    print(String(format: "step %2d: λ = λ_max/%-8.4g validation MSE %.6f", step.iteration, lambdaMax / exp(step.point[0]), step.value))
    return true                                              // false stops the run
}
let tuned = exp(report.best[0])
// end snippet
print(String(format: "tuned λ = λ_max/%.4g, validation MSE %.6f, %d evaluations (%@)", lambdaMax / tuned, report.bestValue,
             report.evaluations, report.stopReason))

// Oracle: a 40-point grid from λ_max to λ_max/10⁴; the tuned value must be no worse than the
// best grid point by more than the grid's resolution allows (1 %).
let grid = (0..<40).map { lambdaMax * pow(10, -4 * Double($0) / 39) }
let values = try grid.map { try criterion.validationLoss(lambda: $0) }
let best = values.min()!
print(String(format: "grid: best validation MSE %.6f at λ_max/%.4g", best, lambdaMax / grid[values.firstIndex(of: best)!]))
guard report.bestValue <= best * 1.01 else { print("MISMATCH: tuning ended above the grid's best"); exit(1) }
