// A graph-regularized problem: Laplacian-regularized least squares on a power-law graph,
//   x* = argmin ½‖M(x − y)‖² + ½λ xᵀLx + ½ε‖x‖²   (M: the training nodes),
// and the derivative of the validation error with respect to log λ and log ε. The adjoint
// reuses the forward solve's factorization or AMG hierarchy.
import Foundation
import ImplicitSparse

let nodes = 20_000
let graph = try WeightedGraph.powerLaw(nodes: nodes, edges: 4 * nodes, exponent: 2.5, seed: 3)
var random = SplitMix64(seed: 4)
let signal = (0..<nodes).map { _ in random.nextGaussian() }
let training = (0..<nodes).filter { $0 % 3 != 0 }
let validation = (0..<nodes).filter { $0 % 3 == 0 }

// snippet: graph
let data = try GraphData(graph: graph, signal: signal, training: training)
let problem = try GraphLeastSquares(data: data, lambda: 0.5, epsilon: 0.05)
let strategy = GraphLeastSquares.defaultStrategy()            // the automatic policy, told an adjoint follows
let solution = try problem.solve(strategy: strategy)
let derivative = try problem.hypergradient(at: solution.x, validation: validation, strategy: strategy)
// end snippet
print("solved by \(solution.report?.method ?? "?") (residual \(String(format: "%.1e", solution.relativeResidual)))")
print("validation MSE \(derivative.value), d/dlog λ \(derivative.gradient[0]), d/dlog ε \(derivative.gradient[1])")

// The independent check every model has (`HyperparameterProblem`): central differences in log λ
// and log ε, each side re-solved.
let check = try problem.finiteDifference(of: try NodeLoss.meanSquaredError(data, nodes: validation), at: solution, step: 1e-4,
                                         strategy: strategy).map { $0 ?? .nan }
let worst = zip(derivative.gradient, check).map { abs($0 - $1) / abs($1) }.max()!
print("finite differences: d/dlog λ \(check[0]), d/dlog ε \(check[1])")
guard worst < 1e-5 else { print("MISMATCH: relative difference \(worst)"); exit(1) }
print("agree to \(String(format: "%.1e", worst)) (relative)")

// Graph total variation on a smaller power-law graph: the same protocol (solve, hypergradient,
// finite difference), a robust validation loss (Huber per validation node), and the adjoint
// on the fused groups of the solution (certified: the groups are checked by a maximum flow).
let small = try WeightedGraph.powerLaw(nodes: 2_000, edges: 6_000, exponent: 2.5, seed: 5)
let smallSignal = (0..<2_000).map { i in (i % 7 < 3 ? 1.0 : -1.0) + 0.3 * random.nextGaussian() }
let smallTraining = (0..<2_000).filter { $0 % 4 != 0 }, smallValidation = (0..<2_000).filter { $0 % 4 == 0 }
// snippet: total variation
let tvData = try GraphData(graph: small, signal: smallSignal, training: smallTraining)
let tv = try GraphTotalVariation(data: tvData, lambda: 0.05, epsilon: 0.01)
let huber = try NodeLoss(nodes: smallValidation, loss: try Huber(targets: smallValidation.map { smallSignal[$0] }, delta: 0.5))
let tvSolution = try tv.solve(warmStart: nil, tolerance: 1e-10, strategy: tv.defaultStrategy)
let tvGradient = try tv.hypergradient(of: huber, at: tvSolution, strategy: tv.defaultStrategy)   // [d/dlog λ, d/dlog ε]
let tvCheck = try tv.finiteDifference(of: huber, at: tvSolution)                                  // re-solved on each side
// end snippet
let tvWorst = zip(tvGradient.gradient, tvCheck).map { abs($0 - ($1 ?? .nan)) / max(abs($1 ?? .nan), 1e-12) }.max()!
print(String(format: "graph TV: d/dlog λ %.8g (finite difference %.8g), d/dlog ε %.8g (%.8g), relative difference %.1e",
             tvGradient.gradient[0], tvCheck[0] ?? .nan, tvGradient.gradient[1], tvCheck[1] ?? .nan, tvWorst))
guard tvWorst < 1e-4 else { print("graph TV: MISMATCH"); exit(1) }
