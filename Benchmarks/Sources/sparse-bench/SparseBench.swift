import ArgumentParser
import Dispatch
import Foundation
import Preconditioners
import Sparse

/// The sparse core's benchmarks: writes the benchmark matrices for the Python peers, and
/// times our kernels on the same files. Every number is the median of `--repeat` runs.
@main
struct SparseBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparse-bench", subcommands: [Generate.self, Run.self])
}

/// The benchmark matrices (names are file stems in the data folder).
enum Cases {
    /// 2-D grid Laplacian + I, 10⁶ rows (SpMV, CHOLMOD, CG).
    static func grid() throws -> CSRMatrix { try .gridLaplacian2D(1000, shift: 1) }
    /// Power-law random sparse matrix, 10⁶ × 10⁶, ~10 nonzeros per row (SpMV).
    static func powerLaw() throws -> CSRMatrix {
        try .randomPowerLaw(rows: 1_000_000, columns: 1_000_000, nonzerosPerRow: 10, exponent: 2.0, seed: 42)
    }
    /// Power-law random graph Laplacian + I, 10⁵ nodes (CHOLMOD: high fill).
    static func graph() throws -> CSRMatrix {
        try CSRMatrix.randomPowerLawGraph(nodes: 100_000, edges: 300_000, exponent: 2.5, seed: 7).graphLaplacian(shift: 1)
    }
}

struct Generate: ParsableCommand {
    @Option var out: String = "data"
    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for (name, make) in [("grid", Cases.grid), ("powerlaw", Cases.powerLaw), ("graph", Cases.graph)] {
            let path = "\(out)/\(name).mtx"
            if FileManager.default.fileExists(atPath: path) { continue }
            let m = try make()
            try MatrixMarket.write(m, to: path)
            print("wrote \(path): \(m.rows) × \(m.columns), \(m.nonzeroCount) nonzeros")
        }
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func time(_ repeats: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<repeats {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
    }
    return median(samples)
}

struct Run: ParsableCommand {
    @Option var data: String = "data"
    @Option(name: .customLong("repeat")) var repeats: Int = 5
    @Option(help: "Threads for our kernels (default: all cores).") var threads: Int?
    @Option(help: "Comma-separated subset of copy,spmv,dot,cholmod,cg (default: all).") var only: String?

    func enabled(_ name: String) -> Bool { only.map { $0.split(separator: ",").contains(Substring(name)) } ?? true }

    func run() throws {
        if let threads { SparseThreads.count = threads }
        var results: [String: Double] = [:]
        results["threads"] = Double(SparseThreads.count)

        // STREAM-like copy over both cores: bytes read + written.
        let n = 20_000_000
        if enabled("copy") {
        let source = [Double](repeating: 1.5, count: n)
        var destination = [Double](repeating: 0, count: n)
        let blocks = SparseThreads.count
        let copySeconds = time(max(repeats, 5) * 2) {
            source.withUnsafeBufferPointer { s in
                destination.withUnsafeMutableBufferPointer { d in
                    let sb = s.baseAddress!, db = d.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: blocks) { block in
                        let lower = n * block / blocks, upper = n * (block + 1) / blocks
                        (db + lower).update(from: sb + lower, count: upper - lower)
                    }
                }
            }
        }
        results["copy_GBps"] = Double(16 * n) / copySeconds / 1e9
        print(String(format: "copy: %.2f GB/s", results["copy_GBps"]!))
        }

        // SpMV on the files the peers read.
        for name in ["grid", "powerlaw"] where enabled("spmv") {
            let a = try MatrixMarket.read(path: "\(data)/\(name).mtx").matrix
            let x = [Double](repeating: 1, count: a.columns)
            var y = [Double](repeating: 0, count: a.rows)
            let bytes = Double(12 * a.nonzeroCount + 8 * (a.rows + 1) + 8 * a.columns + 8 * a.rows)
            for (label, t) in [("", SparseThreads.count), ("_1thread", 1)] {
                let saved = SparseThreads.count
                SparseThreads.count = t
                let seconds = time(repeats * 4) {
                    x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { a.multiply(xb, into: $0) } }
                }
                SparseThreads.count = saved
                results["spmv_\(name)\(label)_s"] = seconds
                results["spmv_\(name)\(label)_GBps"] = bytes / seconds / 1e9
                print(String(format: "spmv %@%@: %.5f s, %.2f GB/s", name, label, seconds, bytes / seconds / 1e9))
            }
        }

        // Dot products: OpenBLAS against a plain Swift loop (the kernel choice of VectorOps).
        if enabled("dot") {
        let v = (0..<n).map { Double($0 % 17) }
        var sink = 0.0
        // Opaque to the optimizer: the loop must run every time.
        let scale = Double(ProcessInfo.processInfo.processIdentifier % 3 + 1)
        let w = v.map { $0 * scale }
        results["dot_openblas_s"] = time(repeats * 2) { sink += Vector.dot(v, w) }
        results["dot_swift_s"] = time(repeats * 2) {
            v.withUnsafeBufferPointer { a in
                w.withUnsafeBufferPointer { b in
                    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                    var i = 0
                    while i + 3 < a.count {
                        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
                        i += 4
                    }
                    while i < a.count { s0 += a[i] * b[i]; i += 1 }
                    sink += s0 + s1 + s2 + s3
                }
            }
        }
        print(String(format: "dot (n = 2e7): OpenBLAS %.4f s, Swift loop %.4f s", results["dot_openblas_s"]!, results["dot_swift_s"]!))
        if sink == 42 { print("") }  // keeps the dot products observable
        }

        // CHOLMOD through our binding: analyze, factorize, solve (b = A·1).
        for name in ["grid", "graph"] where enabled("cholmod") {
            let a = try MatrixMarket.read(path: "\(data)/\(name).mtx").matrix
            var sym = a
            sym.isKnownSymmetric = true
            let b = try a.multiply([Double](repeating: 1, count: a.columns))
            var analyze: [Double] = [], factorize: [Double] = [], solve: [Double] = []
            var residual = 0.0
            var factorNonzeros = 0
            for _ in 0..<repeats {
                var start = DispatchTime.now().uptimeNanoseconds
                let f = try CholeskyFactorization(symmetric: sym)
                analyze.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                start = DispatchTime.now().uptimeNanoseconds
                try f.factorize()
                factorize.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                start = DispatchTime.now().uptimeNanoseconds
                let x = try f.solve(b)
                solve.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                let r = try a.multiply(x)
                residual = zip(r, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / Vector.norm(b)
                factorNonzeros = f.predictedFactorNonzeros
            }
            results["cholmod_\(name)_analyze_s"] = median(analyze)
            results["cholmod_\(name)_factorize_s"] = median(factorize)
            results["cholmod_\(name)_solve_s"] = median(solve)
            results["cholmod_\(name)_total_s"] = median(zip(zip(analyze, factorize), solve).map { $0.0 + $0.1 + $1 })
            results["cholmod_\(name)_residual"] = residual
            results["cholmod_\(name)_lnz"] = Double(factorNonzeros)
            print(String(format: "cholmod %@: analyze %.3f, factorize %.3f, solve %.3f s, residual %.1e, nnz(L) %d",
                         name, median(analyze), median(factorize), median(solve), residual, factorNonzeros))
        }

        // CG, fixed iteration count (tolerance unreachable), b = A·1.
        if enabled("cg") {
        let a = try MatrixMarket.read(path: "\(data)/grid.mtx").matrix
        var sym = a
        sym.isKnownSymmetric = true
        let b = try a.multiply([Double](repeating: 1, count: a.columns))
        // 40 iterations: the grid + I system reaches rounding level near 50, where our CG
        // reports stagnation while scipy's keeps going; 40 keeps both on identical work.
        let iterations = 40
        let cg = ConjugateGradient(options: KrylovOptions(relativeTolerance: 1e-300, maxIterations: iterations))
        var done = 0
        let cgSeconds = try time(repeats) {
            let result = try cg.solve(sym, b)
            done = result.iterations
        }
        results["cg_iterations"] = Double(done)
        results["cg_per_iteration_s"] = cgSeconds / Double(done)
        print(String(format: "cg: %d iterations, %.5f s per iteration", done, cgSeconds / Double(done)))
        }

        let json = try JSONSerialization.data(withJSONObject: results, options: [.sortedKeys, .prettyPrinted])
        try json.write(to: URL(fileURLWithPath: "\(data)/\(only == nil ? "ours" : "ours-partial").json"))
    }
}
