import Foundation

extension MulticlassSVM {
    /// The SVM at a regularization θ with a chosen inner solver, as a `HyperparameterProblem`:
    /// solve, validation loss, implicit hypergradient in log θ, the generic central-difference
    /// check, and tuning by `HeldOutCriterion` + `Tuner` — the paper's experiment through the
    /// same abstractions as every other model.
    public struct Model: HyperparameterProblem {
        public typealias HeldOut = ValidationLoss
        public let svm: MulticlassSVM
        public var logTheta: Double
        public var solver: Solver
        /// The inner solver's iteration limit.
        public var maxIterations: Int

        public init(svm: MulticlassSVM, logTheta: Double, solver: Solver = .blockCoordinateDescent, maxIterations: Int = 1_000_000) {
            self.svm = svm
            self.logTheta = logTheta
            self.solver = solver
            self.maxIterations = maxIterations
        }

        public var hyperparameterNames: [String] { ["θ"] }
        public var hyperparameters: [Double] { [Foundation.exp(logTheta)] }

        public func with(hyperparameters values: [Double]) throws -> Model {
            guard values.count == 1, values[0] > 0, values[0].isFinite else {
                throw SparseError.invalidArgument("the multiclass SVM has one hyperparameter θ > 0; got \(values)")
            }
            var model = self
            model.logTheta = Foundation.log(values[0])
            return model
        }

        /// The adjoint's strategy is the fixed point's own (`condition(for:)`): this one is not used.
        public func defaultStrategy(expectedSolves: Int) -> LinearSolveStrategy { LinearSolveStrategy(name: "svm adjoint") }

        /// The chosen solver to a relative duality gap ≤ `tolerance` (default 10⁻¹⁰), from the
        /// uniform start. - Throws: `.invalidArgument` when it stops above the tolerance.
        public func solve(warmStart: Solution?, tolerance: Double?, strategy: LinearSolveStrategy) throws -> Solution {
            let target = tolerance ?? 1e-10
            let solution = try svm.solve(logTheta: logTheta, solver: solver, tolerance: target, maxIterations: maxIterations)
            guard solution.converged else {
                throw SparseError.invalidArgument("multiclass SVM (\(solver.rawValue)): relative duality gap \(solution.gap) above \(target) after \(solution.iterations) iterations")
            }
            return solution
        }

        public func summary(of solution: Solution) -> SolveSummary {
            SolveSummary(iterations: solution.iterations, seconds: solution.seconds, certificate: solution.gap, certificateName: "relative duality gap")
        }

        public func value(of heldOut: ValidationLoss, at solution: Solution) throws -> Double {
            svm.validationLoss(DifferentiableVector(solution.beta), DifferentiableVector([logTheta]), on: heldOut)
        }

        public func hypergradient(of heldOut: ValidationLoss, at solution: Solution, strategy: LinearSolveStrategy) throws -> Hypergradient<[Double]> {
            let d = try svm.implicitHypergradient(logTheta: logTheta, solution: solution, solver: solver, validation: heldOut)
            return Hypergradient(value: d.value, gradient: [d.gradient], report: nil, conditionResidual: d.conditionResidual)
        }
    }

    /// The predicted seconds of unrolled block coordinate descent under reverse-mode AD,
    /// from its memory traffic: each of `iterations` epochs rewrites β and W (m·k + p·k
    /// doubles) per sample, forward and back, about 20 bytes per entry, at `bandwidth` bytes
    /// per second. The default, 5 GB/s, is within 20 % of the measured times of
    /// `isparse paper svm`'s default run (p = 500 and 4 000) on the 2-core machine of
    /// docs/BENCHMARKS.md; it prices a run before any probe, since one epoch alone can take minutes
    /// at p = 10⁶.
    public func unrolledSecondsEstimate(iterations: Int, bandwidth: Double = 5e9) -> Double {
        Double(iterations) * Double(samples) * Double(classes * (samples + design.rowMajor.columns)) * 20 / bandwidth
    }
}
