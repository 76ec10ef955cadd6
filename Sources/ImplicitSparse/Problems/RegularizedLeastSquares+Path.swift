import Dispatch
import Foundation
import Sparse

extension RegularizedLeastSquares {
    /// The objective (1/2n)‖ỹ − X̃w‖² + λ(α Σⱼ ωⱼ|wⱼ| + (1 − α)/2‖w‖²) (b eliminated).
    public func objective(_ w: [Double]) throws -> Double {
        guard w.count == design.columns else {
            throw SparseError.dimensionMismatch(operation: "RegularizedLeastSquares.objective", expected: "\(design.columns) weights",
                                                actual: "\(w.count)")
        }
        guard penalty == .ridge else { return centered.objective(w) }
        let residual = zip(centered.centeredTargets, centered.designProduct(w)).map { $0 - $1 }
        return residual.reduce(0) { $0 + $1 * $1 } / (2 * Double(design.rows)) + lambda / 2 * w.reduce(0) { $0 + $1 * $1 }
    }

    /// One point of a regularization path.
    public struct PathPoint: Sendable {
        public var lambda: Double
        public var solution: Solution
        public var objective: Double
        public var supportSize: Int
    }

    /// Solves at this problem's λ (see `solve`) and returns the path point: the solution, its
    /// objective and support size.
    public func solvePoint(tolerance: Double = 1e-8, solver: InnerSolver = .coordinateDescent, warmStart: [Double]? = nil,
                           designCSC: CSCMatrix? = nil) throws -> PathPoint {
        let solution = try solve(tolerance: tolerance, solver: solver, warmStart: warmStart, designCSC: designCSC)
        return PathPoint(lambda: lambda, solution: solution, objective: try objective(solution.weights),
                         supportSize: solution.weights.filter { $0 != 0 }.count)
    }

    /// The regularization path over `count` values of λ spaced geometrically from λ_max down
    /// to λ_max/`ratio` (the first point, λ_max, has w = 0), each solve warm-started from the
    /// previous solution and certified by its own duality gap. Not for ridge (no λ_max).
    /// - Throws: `.invalidArgument` for ridge, count < 1 or ratio ≤ 1; the solves' errors.
    public static func path(design: CSRMatrix, targets: [Double], penalty: Penalty, fitIntercept: Bool = false,
                            penaltyWeights: [Double]? = nil, nonNegative: Bool = false,
                            count: Int, ratio: Double, tolerance: Double = 1e-8, solver: InnerSolver = .coordinateDescent,
                            designCSC: CSCMatrix? = nil) throws -> [PathPoint] {
        guard penalty != .ridge else { throw SparseError.invalidArgument("a regularization path needs an ℓ1 part (λ_max); ridge has none") }
        guard count >= 1, ratio > 1, ratio.isFinite else {
            throw SparseError.invalidArgument("a path needs at least 1 point and a ratio above 1, got \(count) and \(ratio)")
        }
        let lambdaMax = try lambdaMax(design: design, targets: targets, penalty: penalty, fitIntercept: fitIntercept,
                                      penaltyWeights: penaltyWeights, nonNegative: nonNegative)
        guard lambdaMax > 0 else { throw SparseError.invalidArgument("λ_max is 0: the targets are constant (or X̃ᵀỹ = 0)") }
        let csc = designCSC ?? (solver == .coordinateDescent ? design.toCSC() : nil)
        var points: [PathPoint] = []
        var warm: [Double]?
        for k in 0..<count {
            let lambda = count == 1 ? lambdaMax / ratio : lambdaMax * Foundation.pow(ratio, -Double(k) / Double(count - 1))
            let problem = try RegularizedLeastSquares(design: design, targets: targets, penalty: penalty, lambda: lambda,
                                                      fitIntercept: fitIntercept, penaltyWeights: penaltyWeights, nonNegative: nonNegative)
            let point = try problem.solvePoint(tolerance: tolerance, solver: solver, warmStart: warm, designCSC: csc)
            warm = point.solution.weights
            points.append(point)
        }
        return points
    }
}
