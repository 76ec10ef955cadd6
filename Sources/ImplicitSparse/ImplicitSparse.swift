@_exported import Sparse
@_exported import Preconditioners

/// The implicit-differentiation layer (DESIGN.md, "The mathematics"): its own issue.
/// For now the module re-exports the sparse core and the preconditioners.
public enum ImplicitSparseVersion {
    public static let string = "0.1.0"
}
