/// The held-out criterion of any `GeneralizedLinearModel` in θ = [log λ]: `HeldOutCriterion`
/// over the model (a `RegularizationPathProblem`, so `Tuner.tune(_:path:)` applies). Each
/// evaluation is a solve warm-started from the previous one (weights and intercept) and one
/// reduced adjoint; the counters say what they cost.
public typealias HeldOutGLM<Fit: Datafit, Reg: Penalty> = HeldOutCriterion<GeneralizedLinearModel<Fit, Reg>>

extension HeldOutCriterion {
    /// - Parameters:
    ///   - model: the model (its penalty's strength is replaced by exp θ at each evaluation).
    ///   - heldOut: the held-out rows and their loss (any datafit as the per-row loss).
    ///   - tolerance: the inner KKT tolerance.
    ///   - strategy: the reduced systems' linear solver, kept across evaluations.
    /// - Throws: `.invalidArgument` when the penalty has no strength to tune (box
    ///   constraints); `.dimensionMismatch` when the held-out features differ.
    public convenience init<Fit: Datafit, Reg: Penalty, Loss: Datafit>(
        model: GeneralizedLinearModel<Fit, Reg>, heldOut: HeldOutLoss<Loss>, tolerance: Double = 1e-8,
        strategy: LinearSolveStrategy = LinearSolveStrategy(name: "GLM reduced system")) throws
        where Problem == GeneralizedLinearModel<Fit, Reg> {
        guard heldOut.design.columns == model.features else {
            throw SparseError.dimensionMismatch(operation: "HeldOutGLM", expected: "held-out data with \(model.features) features",
                                                actual: "\(heldOut.design.columns)")
        }
        guard model.penalty.hasStrength else {
            throw SparseError.invalidArgument("the \(model.penalty.name) penalty has no strength to tune (no λ_max)")
        }
        try self.init(problem: model, heldOut: heldOut, tolerance: tolerance, strategy: strategy)
    }
}
