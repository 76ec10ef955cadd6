// The API tour of the documentation (APITour.md), compiled and run: the sparse core, the
// preconditioners, the implicit layer and the problem protocol on small generated data
// written to a temporary directory. Each part checks what it computes against an independent
// answer (a residual, a second method, a finite difference) and exits 1 on a mismatch.
import _Differentiation
import Foundation
import ImplicitSparse

func require(_ ok: Bool, _ what: String) {
    if !ok { print("MISMATCH: \(what)"); exit(1) }
}
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("api-tour-\(getpid())").path
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let matrixPath = directory + "/A.mtx.gz", dataPath = directory + "/train.svm"
try MatrixMarket.write(try CSRMatrix.gridLaplacian2D(60, shift: 0.01), to: matrixPath, symmetry: .symmetric)
let generated = try Datasets.binaryTextLike(rows: 3_000, columns: 800, nonzerosPerRow: 10, informative: 20, seed: 7)
try LIBSVM.write(features: generated.features, targets: generated.targets, to: dataPath)

// snippet: core
let a = try MatrixMarket.read(path: matrixPath).matrix                 // CSRMatrix (gzip by extension)
let b = try a.multiply([Double](repeating: 1, count: a.columns))

// Direct: symbolic analysis once, numeric factorizations many times.
let chol = try CholeskyFactorization(symmetric: a, ordering: .automatic, memoryBudget: 4 << 30)
print(chol.predictedFactorNonzeros, chol.predictedFactorBytes)        // known before numeric work
try chol.factorize(shift: 0.1)                                        // A + 0.1·I
let x = try chol.solve(b)
let logDet = try chol.logDeterminant()
try chol.refactor(values: a.values.map { 2 * $0 }, shift: 0.1)        // same pattern, new values

// Gram systems (XᵀX + βI) without forming XᵀX: CHOLMOD's factorize_p on Xᵀ.
let data = try LIBSVM.read(path: dataPath)                            // .features (n × p CSR), .targets
let gram = try CholeskyFactorization(gramOf: data.features)
try gram.factorize(shift: 1e-3)

// LU with transpose solves and the determinant.
let lu = try LUFactorization(a.toCSC())
try lu.factorize()
let y = try lu.solve(b, transposed: true)
let (logAbsDet, sign) = try lu.logAbsDeterminant()

// Krylov methods are option-carrying values; any LinearOperator, any preconditioner.
let op = try GramOperator(data.features.toCSC(), shift: 1e-3)         // XᵀX + βI as an operator
let rhs = try data.features.multiplyTransposed(data.targets)
let result = try ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-10))
    .solve(op, rhs, preconditioner: try JacobiPreconditioner(op))
print(result.status, result.iterations, result.relativeResidual)
// end snippet

// Checks: the factor solves A + 0.1 I, LU solves Aᵀ (A is symmetric: the same x), the two
// log-determinants agree, CG agrees with the Gram factor.
let shifted = try a.multiply(x).enumerated().map { $0.element + 0.1 * x[$0.offset] }
require(zip(shifted, b).map { abs($0 - $1) }.max()! < 1e-8 * b.map(abs).max()!, "Cholesky residual")
let exact = try lu.solve(b)
require(zip(y, exact).map { abs($0 - $1) }.max()! < 1e-8, "LU transpose solve (symmetric A)")
_ = logDet
require(sign == 1 && logAbsDet.isFinite, "LU determinant")
let direct = try gram.solve(rhs)
require(result.status == .converged && zip(result.solution, direct).map { abs($0 - $1) }.max()! < 1e-6 * direct.map(abs).max()!,
        "CG against the Gram factor")

// snippet: amg
let amg = try SmoothedAggregationAMG(a)                                 // options: θ, smoother, cycle, near-null space, …
print(amg.levels.count, amg.operatorComplexity)
let pcg = try ConjugateGradient().solve(a, b, preconditioner: amg)
let standalone = try amg.solve(b, relativeTolerance: 1e-8)
// end snippet
require(pcg.status == .converged, "CG + AMG")
_ = standalone

// The implicit layer: ridge regression as a root of its stationarity condition.
let xTrain = try data.features.selectingRows(Array(0..<2_000)), yTrain = DifferentiableVector(Array(data.targets[0..<2_000]))
let xValidation = try data.features.selectingRows(Array(2_000..<3_000))
let yValidation = DifferentiableVector(Array(data.targets[2_000..<3_000]))
func ridgeSolver(_ theta: DifferentiableVector) throws -> DifferentiableVector {
    let factor = try CholeskyFactorization(gramOf: xTrain)                // XᵀX + θ I, solved directly
    try factor.factorize(shift: theta[0])
    return DifferentiableVector(try factor.solve(try xTrain.multiplyTransposed(yTrain.dense(count: xTrain.rows))))
}
// snippet: root
let ridge = RootSolution<DifferentiableVector>(
    condition: { w, theta in matvecTransposed(xTrain, matvec(xTrain, w) - yTrain) + scale(theta[0], w) },
    symmetricJacobian: true, dimension: xTrain.columns,
    solver: { theta in try ridgeSolver(theta) })                         // any solver, outside AD
let theta = DifferentiableVector([0.7])
let g = try ridge.checked {                                              // failures inside AD become typed errors
    gradient(at: theta) { theta in 0.5 * squaredNorm(matvec(xValidation, ridge(theta)) - yValidation) }
}
let forward = try ridge.sensitivity(at: theta, direction: DifferentiableVector([1])).tangent   // dx*/dθ (forward mode)
// end snippet
// Check: the closed form of ridge, d x*/dθ = −(XᵀX + θI)⁻¹ x*.
let w = try ridgeSolver(theta)
let closed = try CholeskyFactorization(gramOf: xTrain)
try closed.factorize(shift: 0.7)
let dw = try closed.solve(w.dense(count: xTrain.columns)).map { -$0 }
let residual = try xValidation.multiply(w.dense(count: xTrain.columns)).enumerated().map { $0.element - yValidation[$0.offset] }
let closedGradient = zip(try xValidation.multiplyTransposed(residual), dw).reduce(0) { $0 + $1.0 * $1.1 }
require(abs(g[0] - closedGradient) <= 1e-8 * abs(closedGradient), "ridge gradient against its closed form")
require(zip(forward, dw).map { abs($0 - $1) }.max()! <= 1e-6 * dw.map(abs).max()!,
        "forward sensitivity against the closed form")

// snippet: solvers as values
let system = LinearSolveStrategy(solver: KrylovSolver(.cg, preconditioner: .amg), name: "adjoint")
let automatic = LinearSolveStrategy(.automatic)                          // the policy: CHOLMOD, Jacobi-CG, CG + AMG, …
let solved = try automatic.solve(a, b)                                    // x, its true residual checked
print(automatic.lastReport!.method, automatic.lastReport!.reason)
// end snippet
_ = system
require(zip(try a.multiply(solved), b).map { abs($0 - $1) }.max()! < 1e-7 * b.map(abs).max()!, "the policy's answer")

// snippet: problem
let graph = try WeightedGraph.grid(rows: 40, columns: 40)
var random = SplitMix64(seed: 9)
let signal = (0..<1_600).map { i in Double(i % 40) / 40 + 0.2 * random.nextGaussian() }
let training = (0..<1_600).filter { $0 % 5 != 0 }, validation = (0..<1_600).filter { $0 % 5 == 0 }
let graphData = try GraphData(graph: graph, signal: signal, training: training)
let problem = try GraphTotalVariation(data: graphData, lambda: 0.05, epsilon: 0.01)
let loss = try NodeLoss(nodes: validation, loss: try Huber(targets: validation.map { signal[$0] }, delta: 0.3))
let solution = try problem.solve(warmStart: nil, tolerance: 1e-10, strategy: problem.defaultStrategy)
let h = try problem.hypergradient(of: loss, at: solution, strategy: problem.defaultStrategy)
let check = try problem.finiteDifference(of: loss, at: solution)        // [d/dlog λ, d/dlog ε]
let report = try Tuner().tune(try HeldOutCriterion(problem: problem, heldOut: loss),
                              from: [log(0.05), log(0.01)], bounds: TuningBounds(lower: [-8, -8], upper: [3, 2]))
// end snippet
for k in 0..<2 {
    require(abs(h.gradient[k] - check[k]!) <= 1e-4 * max(abs(check[k]!), 1e-8), "graph TV hypergradient \(k) against finite differences")
}
let start = try problem.value(of: loss, at: solution)
require(report.bestValue <= start + 1e-12, "the tuner ends no worse than its start")
print("API tour: every check passed")
