/// A sparse Jacobian from a few products: the columns (or rows) of its sparsity pattern
/// coloured so that columns sharing a color never have a nonzero in the same row
/// (structurally orthogonal — a distance-1 coloring of the column intersection graph), so one
/// product J·s_c with the seed s_c = Σ_{color(j) = c} e_j recovers every entry of those
/// columns: J[i, j] = (J·s_c)[i]. Rows work the same with products Jᵀ·s_c (what reverse-mode
/// AD gives: one vector–Jacobian product per color). The number of colors is at least the
/// largest number of nonzeros in a row (for columns) and is usually close to it.
///
/// The pattern and its coloring are computed once and reused while the pattern holds; only the
/// products are evaluated again for new values.
///
/// Cost: greedy coloring in largest-first order, without forming the intersection graph:
/// O(Σᵢ nnz(row i)²) for columns (O(Σⱼ nnz(column j)²) for rows) — near-linear in nnz when rows
/// are short, quadratic in a dense row (a row with m nonzeros forces m colors anyway).
/// Memory: the pattern in both orientations (12·nnz bytes) plus 8 bytes per column or row.
public struct JacobianColoring: Sendable {
    public enum Kind: Sendable, Equatable {
        /// Columns coloured; products J·s (forward mode, or J symmetric).
        case columns
        /// Rows coloured; products Jᵀ·s (reverse mode).
        case rows
        /// A symmetric J (a Hessian): a star coloring of the pattern's adjacency graph
        /// (distance-1, and every path on four vertices uses at least three colors), so every
        /// entry is recovered directly from J·s_c = Jᵀ·s_c for its row's or its column's color
        /// (Gebremedhin, Manne & Pothen, SIAM Review 2005): about the largest row count of
        /// colors, where `.columns` needs the number of vertices within distance two. The
        /// pattern must be structurally symmetric.
        case symmetric
    }

    public let kind: Kind
    /// The pattern (its values are ignored).
    public let pattern: CSRMatrix
    /// The color of each column (`.columns`) or row (`.rows`), 0-based.
    public let colors: [Int32]
    public let colorCount: Int

    /// Colours the columns (`.columns`) or rows (`.rows`) of `pattern`.
    public init(_ pattern: CSRMatrix, kind: Kind = .columns) {
        self.kind = kind
        self.pattern = pattern
        if kind == .symmetric {
            (self.colors, self.colorCount) = Self.starColoring(pattern)
            return
        }
        // Colouring the rows of J is colouring the columns of Jᵀ: work on (major, minor) =
        // (the coloured side's lines as seen from the other side).
        let csc = pattern.toCSC()
        // `lines[k]`: the positions of line k (a column for .columns) on the other side;
        // `cross[i]`: the lines that have position i.
        let (count, linePointers, lineIndices, crossPointers, crossIndices): (Int, [Int], [Int32], [Int], [Int32]) = kind == .columns
            ? (pattern.columns, csc.columnPointers, csc.rowIndices, pattern.rowPointers, pattern.columnIndices)
            : (pattern.rows, pattern.rowPointers, pattern.columnIndices, csc.columnPointers, csc.rowIndices)
        // Largest first: lines with the most nonzeros are coloured first (stable by index).
        let order = (0..<count).sorted { a, b in
            let da = linePointers[a + 1] - linePointers[a], db = linePointers[b + 1] - linePointers[b]
            return da != db ? da > db : a < b
        }
        var colors = [Int32](repeating: -1, count: count)
        var forbiddenBy = [Int](repeating: -1, count: max(count, 1))   // forbiddenBy[c] == line: c is taken
        var used = 0
        for line in order {
            for k in linePointers[line]..<linePointers[line + 1] {
                let position = Int(lineIndices[k])
                for m in crossPointers[position]..<crossPointers[position + 1] {
                    let c = colors[Int(crossIndices[m])]
                    if c >= 0 { forbiddenBy[Int(c)] = line }
                }
            }
            var c = 0
            while c < used && forbiddenBy[c] == line { c += 1 }
            colors[line] = Int32(c)
            used = max(used, c + 1)
        }
        self.colors = colors
        self.colorCount = used
    }

    /// Greedy star coloring in largest-first order. Colouring v, a color is forbidden when it
    /// would make a path on four coloured vertices two-colored: a neighbour's color
    /// (distance 1); with v inside the path a–v–w–x (two neighbours a, w of one color), the
    /// colors of w's other neighbours x; with v at its end v–w–x–y, x's color when x has
    /// another neighbour y of w's color. Paths whose last vertex is coloured later are checked
    /// then, so the result is a star coloring. Cost O(Σ_v Σ_{w∈N(v)} Σ_{x∈N(w)} deg x)
    /// (degree³ per vertex), memory O(n + colors).
    static func starColoring(_ pattern: CSRMatrix) -> ([Int32], Int) {
        let n = pattern.rows
        let p = pattern.rowPointers, c = pattern.columnIndices
        let order = (0..<n).sorted { a, b in
            let da = p[a + 1] - p[a], db = p[b + 1] - p[b]
            return da != db ? da > db : a < b
        }
        var colors = [Int32](repeating: -1, count: n)
        var forbiddenBy = [Int](repeating: -1, count: max(n, 1))
        var countStamp = [Int](repeating: -1, count: max(n, 1)), colorCount = [Int](repeating: 0, count: max(n, 1))
        var used = 0
        for v in order {
            // Neighbours' colors (distance 1) and how many neighbours have each.
            for k in p[v]..<p[v + 1] {
                let w = Int(c[k])
                guard w != v, colors[w] >= 0 else { continue }
                let cw = Int(colors[w])
                forbiddenBy[cw] = v
                if countStamp[cw] != v { countStamp[cw] = v; colorCount[cw] = 0 }
                colorCount[cw] += 1
            }
            for k in p[v]..<p[v + 1] {
                let w = Int(c[k])
                guard w != v, colors[w] >= 0 else { continue }
                let cw = colors[w]
                let shared = colorCount[Int(cw)] >= 2
                for m in p[w]..<p[w + 1] {
                    let x = Int(c[m])
                    guard x != v, x != w, colors[x] >= 0 else { continue }
                    let cx = Int(colors[x])
                    if forbiddenBy[cx] == v { continue }
                    if shared { forbiddenBy[cx] = v; continue }   // a–v–w–x
                    // v–w–x–y: does x have a neighbour y ≠ w coloured like w?
                    for q in p[x]..<p[x + 1] {
                        let y = Int(c[q])
                        if y != w, y != x, colors[y] == cw { forbiddenBy[cx] = v; break }
                    }
                }
            }
            var color = 0
            while color < used && forbiddenBy[color] == v { color += 1 }
            colors[v] = Int32(color)
            used = max(used, color + 1)
        }
        return (colors, used)
    }

    /// The seed of `color`: 1 on its columns (rows), 0 elsewhere.
    public func seed(_ color: Int) -> [Double] {
        colors.map { Int($0) == color ? 1 : 0 }
    }

    /// True when no two lines of the same color share a position (the coloring's invariant;
    /// O(nnz) with a marker per color).
    public var isValid: Bool {
        if kind == .symmetric { return symmetricRecoveryIsValid }
        let csc = pattern.toCSC()
        let (crossCount, crossPointers, crossIndices) = kind == .columns
            ? (pattern.rows, pattern.rowPointers, pattern.columnIndices)
            : (pattern.columns, csc.columnPointers, csc.rowIndices)
        var seenAt = [Int](repeating: -1, count: max(colorCount, 1))
        for position in 0..<crossCount {
            for m in crossPointers[position]..<crossPointers[position + 1] {
                let c = Int(colors[Int(crossIndices[m])])
                if seenAt[c] == position { return false }
                seenAt[c] = position
            }
        }
        return true
    }

    /// For `.symmetric`: adjacent vertices differ, and every off-diagonal entry (i, j) is
    /// recoverable from row i (j is i's only neighbour of its color) or from row j.
    var symmetricRecoveryIsValid: Bool {
        let uniqueInRow = symmetricRecoveryPlan()
        let p = pattern.rowPointers, c = pattern.columnIndices
        let transposePosition = symmetricTransposePositions()
        for i in 0..<pattern.rows {
            for k in p[i]..<p[i + 1] {
                let j = Int(c[k])
                if j == i { continue }
                if colors[i] == colors[j] { return false }
                guard let t = transposePosition[k] else { return false }
                if !uniqueInRow[k] && !uniqueInRow[t] { return false }
            }
        }
        return true
    }

    /// For each stored entry (i, j), i ≠ j: whether j is the only neighbour of i with j's color.
    func symmetricRecoveryPlan() -> [Bool] {
        let p = pattern.rowPointers, c = pattern.columnIndices
        var stamp = [Int](repeating: -1, count: max(colorCount, 1)), count = [Int](repeating: 0, count: max(colorCount, 1))
        var unique = [Bool](repeating: false, count: pattern.nonzeroCount)
        for i in 0..<pattern.rows {
            for k in p[i]..<p[i + 1] where Int(c[k]) != i {
                let cj = Int(colors[Int(c[k])])
                if stamp[cj] != i { stamp[cj] = i; count[cj] = 0 }
                count[cj] += 1
            }
            for k in p[i]..<p[i + 1] where Int(c[k]) != i { unique[k] = count[Int(colors[Int(c[k])])] == 1 }
        }
        return unique
    }

    /// The position of entry (j, i) for every stored (i, j), nil when the pattern lacks it.
    func symmetricTransposePositions() -> [Int?] {
        let p = pattern.rowPointers, c = pattern.columnIndices
        var positionOf = [Int?](repeating: nil, count: pattern.nonzeroCount)
        // Direct: for each (i, j) search row j for i (rows are sorted: binary search).
        for i in 0..<pattern.rows {
            for k in p[i]..<p[i + 1] {
                let j = Int(c[k])
                var lo = p[j], hi = p[j + 1]
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if Int(c[mid]) < i { lo = mid + 1 } else { hi = mid }
                }
                positionOf[k] = lo < p[j + 1] && Int(c[lo]) == i ? lo : nil
            }
        }
        return positionOf
    }

    /// The Jacobian on the pattern from the products: `products[c]` = J·seed(c) (`.columns`,
    /// length rows) or Jᵀ·seed(c) (`.rows`, length columns).
    /// - Throws: `.dimensionMismatch` for a wrong number or length of products, `.nonFinite`
    ///   naming the first NaN/Inf entry recovered.
    public func decompress(_ products: [[Double]]) throws -> CSRMatrix {
        guard products.count == colorCount else {
            throw SparseError.dimensionMismatch(operation: "JacobianColoring.decompress", expected: "\(colorCount) products (one per color)",
                                                actual: "\(products.count)")
        }
        let length = kind == .columns ? pattern.rows : pattern.columns
        if let bad = products.firstIndex(where: { $0.count != length }) {
            throw SparseError.dimensionMismatch(operation: "JacobianColoring.decompress", expected: "products of length \(length)",
                                                actual: "product \(bad) of length \(products[bad].count)")
        }
        let p = pattern.rowPointers, c = pattern.columnIndices
        var values = [Double](repeating: 0, count: pattern.nonzeroCount)
        if kind == .symmetric {
            // (J s_c)_i = Σ_{color(k) = c} J_ik: J_ij from row i when j is i's only neighbour of
            // its color, else J_ji from row j (the star property guarantees one of the two).
            let unique = symmetricRecoveryPlan()
            for i in 0..<pattern.rows {
                for k in p[i]..<p[i + 1] {
                    let j = Int(c[k])
                    values[k] = j == i || unique[k] ? products[Int(colors[j])][i] : products[Int(colors[i])][j]
                }
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw SparseError.nonFinite(what: "the decompressed Jacobian", index: bad)
            }
            return try pattern.replacingValues(values)
        }
        for i in 0..<pattern.rows {
            for k in p[i]..<p[i + 1] {
                let j = Int(c[k])
                values[k] = kind == .columns ? products[Int(colors[j])][i] : products[Int(colors[i])][j]
            }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw SparseError.nonFinite(what: "the decompressed Jacobian", index: bad)
        }
        return try pattern.replacingValues(values)
    }

    /// Evaluates the Jacobian with one product per color: `product(s)` must return J·s
    /// (`.columns`) or Jᵀ·s (`.rows`).
    public func evaluate(_ product: ([Double]) throws -> [Double]) throws -> CSRMatrix {
        try decompress(try (0..<colorCount).map { try product(seed($0)) })
    }
}
