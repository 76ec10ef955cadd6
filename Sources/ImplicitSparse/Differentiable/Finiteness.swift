import _Differentiation
import Sparse

/// The one finiteness validator of the implicit layer: θ of any type — a `Double`, a
/// `DifferentiableVector`, an array of doubles, or a struct or tuple of those (walked by
/// reflection, which only small structs of named hyperparameters need) — is checked for NaN
/// and ±Inf, naming the first offending component.
public enum Finiteness {
    /// - Throws: `SparseError.nonFinite(what:index:)`, `what` naming the component
    ///   ("θ.logLambda") and `index` its position within an array component (0 for a scalar).
    public static func check(_ value: Any, _ what: String) throws {
        if let bad = firstNonFinite(value, path: what) { throw SparseError.nonFinite(what: bad.path, index: bad.index) }
    }

    /// The first non-finite component, or nil.
    public static func firstNonFinite(_ value: Any, path: String) -> (path: String, index: Int)? {
        switch value {
        case let x as Double: return x.isFinite ? nil : (path, 0)
        case let x as Float: return x.isFinite ? nil : (path, 0)
        case let v as DifferentiableVector: return v.scalars.firstIndex { !$0.isFinite }.map { (path, $0) }
        case let a as [Double]: return a.firstIndex { !$0.isFinite }.map { (path, $0) }
        case is Int, is String, is Bool, is CSRMatrix, is SparsePattern: return nil
        default:
            for (k, child) in Mirror(reflecting: value).children.enumerated() {
                if let bad = firstNonFinite(child.value, path: path + "." + (child.label ?? String(k))) { return bad }
            }
            return nil
        }
    }

    /// Whether any stored double of a value (a struct of named hyperparameters, a vector) is
    /// nonzero.
    public static func anyNonzero(_ value: Any) -> Bool {
        switch value {
        case let x as Double: return x != 0
        case let x as Float: return x != 0
        case let v as DifferentiableVector: return v.scalars.contains { $0 != 0 }
        case let a as [Double]: return a.contains { $0 != 0 }
        default: return Mirror(reflecting: value).children.contains { anyNonzero($0.value) }
        }
    }

    /// The tangent returned by a pullback that failed inside Swift AD (which cannot throw): NaN
    /// for `Double` and `DifferentiableVector` θ (of θ's length), `.zero` for other types — the
    /// typed error is recorded either way for `checked { … }`.
    public static func failureTangent<T: Differentiable>(like theta: T) -> T.TangentVector {
        if let v = theta as? DifferentiableVector, let t = DifferentiableVector(repeating: .nan, count: v.count) as? T.TangentVector {
            return t
        }
        if let t = Double.nan as? T.TangentVector { return t }
        return .zero
    }
}
