/// Anderson extrapolation of coordinate-descent iterates (Bertrand & Massias, "Anderson
/// acceleration of coordinate descent", AISTATS 2021), shared by the lasso-family coordinate
/// descent and the proximal Newton model solves.

import Sparse

/// With a fixed support coordinate descent is an affine map, and its extrapolated limit may
/// lie past a kink of |wⱼ| (a coordinate creeping to 0 geometrically extrapolates to the
/// other side, where the quadratic piece no longer holds). The step from w to w_acc is cut
/// at the first coordinate that would change sign (or go negative for the non-negative
/// lasso), which lands exactly on 0 — where the lasso's optimum has it.
@usableFromInline
func stopAtFirstKink(_ accelerated: inout [Double], nonNegative: Bool = false, current: (Int) -> Double) {
    var step = 1.0
    var crossing: [Int] = []
    for k in 0..<accelerated.count {
        let now = current(k), next = accelerated[k]
        let crosses = now * next < 0 || (nonNegative && next < 0)
        guard crosses, now != 0 else { continue }
        let t = now / (now - next)
        if t < step { step = t; crossing = [k] } else if t == step { crossing.append(k) }
    }
    guard step < 1 else {
        if nonNegative { for k in 0..<accelerated.count where accelerated[k] < 0 { accelerated[k] = 0 } }
        return
    }
    for k in 0..<accelerated.count {
        let now = current(k)
        accelerated[k] = now + step * (accelerated[k] - now)
        if nonNegative && accelerated[k] < 0 { accelerated[k] = 0 }
    }
    for k in crossing { accelerated[k] = 0 }
}

/// Anderson extrapolation: with Uₖ = w⁽ᵏ⁺¹⁾ − w⁽ᵏ⁾, solve (UᵀU)z = 1, c = z/Σz, and
/// w_acc = Σₖ cₖ w⁽ᵏ⁺¹⁾. False when UᵀU is singular.
@usableFromInline
func andersonExtrapolate(_ history: [Double], memory K: Int, m: Int, into out: inout [Double]) -> Bool {
    var gram = [Double](repeating: 0, count: K * K)
    for a in 0..<K {
        for b in a..<K {
            var s = 0.0
            for k in 0..<m {
                s += (history[(a + 1) * m + k] - history[a * m + k]) * (history[(b + 1) * m + k] - history[b * m + k])
            }
            gram[a * K + b] = s; gram[b * K + a] = s
        }
    }
    // UᵀU is symmetric: Cholesky, LU when it is not positive definite, nothing when singular.
    guard let factor = try? DenseFactorization(columnMajor: gram, dimension: K, symmetricPositiveDefinite: true) else { return false }
    var z = factor.solve([Double](repeating: 1, count: K))
    let total = z.reduce(0, +)
    guard total != 0, total.isFinite else { return false }
    for a in 0..<K { z[a] /= total }
    for k in 0..<m {
        var s = 0.0
        for a in 0..<K { s += z[a] * history[(a + 1) * m + k] }
        out[k] = s
    }
    return out.allSatisfy(\.isFinite)
}
