import Sparse

/// Coarsening for smoothed aggregation (Vaněk, Mandel & Brezina, 1996).
enum Aggregation {
    /// Symmetric strength of connection: j is a strong neighbour of i when
    /// |a_ij| ≥ θ·√|a_ii·a_jj| (θ = 0 keeps every off-diagonal nonzero). Returns the strong
    /// pattern without the diagonal as CSR arrays, and, with `filtered`, the filtered operator A_F as CSR arrays: A's
    /// strong off-diagonal entries plus a diagonal into which the weak entries are lumped
    /// (row sums are kept, so the near-null space is too). Smoothing the prolongator with A_F
    /// keeps P sparse around high-degree nodes, where A's weak links would spread it.
    static func strengthWithValues(_ a: CSRMatrix, theta: Double, filtered: Bool)
        -> (pointers: [Int], indices: [Int32], filteredOperator: CSRMatrix?) {
        let n = a.rows
        let p = a.rowPointers, c = a.columnIndices, v = a.values
        let diagonal = a.diagonalEntries()
        let d = diagonal.map { abs($0) }
        var sp = [Int](repeating: 0, count: n + 1)
        var si = [Int32]()
        si.reserveCapacity(a.nonzeroCount)
        var fp = [Int](repeating: 0, count: filtered ? n + 1 : 0)
        var fi = [Int32](), fv = [Double]()
        for i in 0..<n {
            var lumped = diagonal[i]
            var diagonalPosition = -1
            for k in p[i]..<p[i + 1] {
                let j = Int(c[k])
                if j == i {
                    if filtered { diagonalPosition = fi.count; fi.append(c[k]); fv.append(0) }
                    continue
                }
                if v[k] == 0 { continue }
                if theta == 0 || abs(v[k]) >= theta * (d[i] * d[j]).squareRoot() {
                    si.append(c[k])
                    if filtered { fi.append(c[k]); fv.append(v[k]) }
                } else {
                    lumped += v[k]
                }
            }
            sp[i + 1] = si.count
            if filtered {
                if diagonalPosition < 0 {
                    // Keep the diagonal in sorted position even when A stores none.
                    let rowStart = fp[i]
                    var insert = rowStart
                    while insert < fi.count && Int(fi[insert]) < i { insert += 1 }
                    fi.insert(Int32(i), at: insert); fv.insert(0, at: insert)
                    diagonalPosition = insert
                }
                fv[diagonalPosition] = lumped
                fp[i + 1] = fi.count
            }
        }
        let filteredOperator = filtered
            ? try? CSRMatrix(rows: n, columns: n, rowPointers: fp, columnIndices: fi, values: fv) : nil
        return (sp, si, filteredOperator)
    }

    /// Standard aggregation (as in PyAMG's `standard_aggregation`): (1) every node whose
    /// strong neighbours are all free seeds an aggregate with them; (2) remaining nodes join
    /// a neighbouring aggregate; (3) what is still free forms aggregates with its free
    /// neighbours. Returns the aggregate of each node and the aggregate count. O(nnz(S)).
    static func standard(n: Int, pointers sp: [Int], indices si: [Int32]) -> (aggregateOf: [Int32], count: Int) {
        var aggregate = [Int32](repeating: -1, count: n)
        var count: Int32 = 0
        // Pass 1.
        for i in 0..<n where aggregate[i] < 0 {
            var free = true
            for k in sp[i]..<sp[i + 1] where aggregate[Int(si[k])] >= 0 { free = false; break }
            if !free { continue }
            aggregate[i] = count
            for k in sp[i]..<sp[i + 1] { aggregate[Int(si[k])] = count }
            count += 1
        }
        // Pass 2: join a neighbouring aggregate formed in pass 1.
        var joined = [Int32](repeating: -1, count: n)
        for i in 0..<n where aggregate[i] < 0 {
            for k in sp[i]..<sp[i + 1] {
                let j = Int(si[k])
                if aggregate[j] >= 0 { joined[i] = aggregate[j]; break }
            }
        }
        for i in 0..<n where joined[i] >= 0 { aggregate[i] = joined[i] }
        // Pass 3.
        for i in 0..<n where aggregate[i] < 0 {
            aggregate[i] = count
            for k in sp[i]..<sp[i + 1] where aggregate[Int(si[k])] < 0 { aggregate[Int(si[k])] = count }
            count += 1
        }
        return (aggregate, Int(count))
    }

    /// The tentative prolongator: for each aggregate, a thin QR (modified Gram–Schmidt) of the
    /// near-null-space vectors B restricted to it; Q's rows go into P, R's into the coarse B.
    /// P is n × (count·k) with k = B's column count. Returns (P, coarse B as k vectors).
    static func tentativeProlongator(aggregateOf: [Int32], count: Int, nearNullSpace b: [[Double]]) throws
        -> (CSRMatrix, [[Double]]) {
        let n = aggregateOf.count, k = b.count
        // Members of each aggregate by a counting sort.
        var start = [Int](repeating: 0, count: count + 1)
        for a in aggregateOf { start[Int(a) + 1] += 1 }
        for a in 0..<count { start[a + 1] += start[a] }
        var members = [Int](repeating: 0, count: n)
        var next = start
        for i in 0..<n { let a = Int(aggregateOf[i]); members[next[a]] = i; next[a] += 1 }
        var q = [Double](repeating: 0, count: n * k)       // row i: Q[i, 0..<k]
        var coarse = [[Double]](repeating: [Double](repeating: 0, count: count * k), count: k)
        for a in 0..<count {
            let rows = members[start[a]..<start[a + 1]]
            for i in rows { for c in 0..<k { q[i * k + c] = b[c][i] } }
            for c in 0..<k {
                // Orthogonalize column c against the earlier ones (R[c', c]).
                for previous in 0..<c {
                    var dot = 0.0
                    for i in rows { dot += q[i * k + previous] * q[i * k + c] }
                    for i in rows { q[i * k + c] -= dot * q[i * k + previous] }
                    coarse[c][a * k + previous] = dot
                }
                var norm = 0.0
                for i in rows { norm += q[i * k + c] * q[i * k + c] }
                norm = norm.squareRoot()
                coarse[c][a * k + c] = norm
                // A column dependent on the earlier ones (aggregate smaller than k) stays zero.
                let scale = norm > 1e-14 ? 1 / norm : 0
                for i in rows { q[i * k + c] *= scale }
            }
        }
        let pointers = (0...n).map { $0 * k }
        var indices = [Int32](repeating: 0, count: n * k)
        for i in 0..<n { for c in 0..<k { indices[i * k + c] = Int32(Int(aggregateOf[i]) * k + c) } }
        let p = try CSRMatrix(rows: n, columns: count * k, rowPointers: pointers, columnIndices: indices, values: q)
        return (p, coarse)
    }
}
