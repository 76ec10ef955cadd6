/// The identity of a sparsity pattern: a token made with the pattern and carried by every
/// copy, value replacement (`replacingValues`, `scaled`) and transpose of it, compared by
/// reference (O(1)), never element by element. An equal pattern built anew (another
/// `selectingColumns` of the same columns) has another identity: its analysis is redone.
public struct PatternIdentity: Equatable, Sendable {
    /// What the operator makes of the arrays: a CSR matrix A and the CSC matrix Aᵀ share
    /// their storage, and a Gram operator XᵀX shares X's, yet they are different operators.
    public enum Role: UInt8, Sendable { case csr, csc, gram }
    let token: PatternToken
    let role: Role
    let majorCount: Int
    let minorCount: Int

    init(_ storage: CompressedStorage, role: Role) {
        token = storage.patternToken
        self.role = role
        majorCount = storage.majorCount
        minorCount = storage.minorCount
    }

    /// A new identity for the pattern of an operator stored outside this module (a matrix
    /// distributed over processes): the operator and every copy of it with new values on the
    /// same pattern carry this value, so that a `LinearSolveStrategy` keeps its prepared state.
    public init(rows: Int, columns: Int) {
        token = PatternToken()
        role = .csr
        majorCount = rows
        minorCount = columns
    }

    public static func == (lhs: PatternIdentity, rhs: PatternIdentity) -> Bool {
        lhs.token === rhs.token && lhs.role == rhs.role && lhs.majorCount == rhs.majorCount && lhs.minorCount == rhs.minorCount
    }
}

/// The identity of a matrix's values (compared by buffer) and of a few scalars such as a
/// shift (compared by value).
public struct ValuesIdentity: Equatable, Sendable {
    let values: [Double]
    let scalars: [Double]

    public init(_ values: [Double], scalars: [Double] = []) {
        self.values = values
        self.scalars = scalars
    }

    public static func == (lhs: ValuesIdentity, rhs: ValuesIdentity) -> Bool {
        sameBuffer(lhs.values, rhs.values) && lhs.scalars == rhs.scalars
    }
}

func sameBuffer<T>(_ a: [T], _ b: [T]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in pa.baseAddress == pb.baseAddress } }
}
