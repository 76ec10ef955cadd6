import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import PETScBackend

/// Exit codes, as `isparse`: 1 usage, 2 input, 3 numerical.
struct MPIFailure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { message }
}

/// isparse's JSON writer (keys in insertion order; non-finite numbers become null).
typealias JSON = JSONObject

/// Prints on rank 0 only.
func say(_ text: String) {
    if PETSc.rank == 0 { print(text) }
}

/// Writes a distributed vector as a Matrix Market dense array: the ranks append their parts
/// in rank order (rank 0 writes the header), one at a time between barriers — nothing is
/// gathered on one rank.
func writeDistributedVector(_ local: [Double], globalLength: Int, to path: String) throws {
    try Collective.agree("writing \(path)", isInput: { _ in true }) {
        if PETSc.rank == 0 {
            let header = "%%MatrixMarket matrix array real general\n\(globalLength) 1\n"
            guard FileManager.default.createFile(atPath: path, contents: header.data(using: .utf8)) else {
                throw MPIFailure(code: 2, message: "cannot create \(path)")
            }
        }
    }
    var failure: Error?
    for rank in 0..<PETSc.size {
        try Collective.barrier()
        guard rank == PETSc.rank else { continue }
        do {
            guard let handle = FileHandle(forWritingAtPath: path) else { throw MPIFailure(code: 2, message: "cannot open \(path) to append") }
            defer { try? handle.close() }
            try handle.seekToEnd()
            var text = ""
            text.reserveCapacity(24 * local.count)
            for value in local { text += String(format: "%.17g\n", value) }
            try handle.write(contentsOf: text.data(using: .utf8)!)
        } catch { failure = error }
    }
    try Collective.agree("writing \(path)") { if let failure { throw failure } }
}

/// The per-rank memory line: the largest peak resident memory over the ranks — the larger of
/// PETSc's measured maximum (updated at PETSc's own allocations) and the process's peak
/// resident set (getrusage), which also counts memory PETSc never sees (the lasso's rows).
func peakMemoryOverRanks() throws -> (maximum: Double, total: Double) {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    let peak = max(PETSc.memory().peak, Double(usage.ru_maxrss) * 1024)
    return (try Collective.maximum(peak), try Collective.sum(peak))
}

/// The peak memory keys of every isparse-mpi JSON report: the largest rank's and the sum.
func setPeakMemory(_ object: inout JSON, _ memory: (maximum: Double, total: Double)) {
    object.set("peakMemoryPerRankMax", memory.maximum)
    object.set("peakMemoryAllRanks", memory.total)
}

func formatBytes(_ bytes: Double) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = bytes, unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return String(format: "%.1f %@", value, units[unit])
}

/// Parses "cg+gamg", "gmres+jacobi", "minres" into a method and preconditioner.
func parseSolver(_ text: String) -> (PETScSolver.Method, PETScSolver.Preconditioner)? {
    let parts = text.lowercased().split(separator: "+", maxSplits: 1).map(String.init)
    guard let method = PETScSolver.Method(rawValue: parts[0]) else { return nil }
    let preconditioner = parts.count == 2 ? PETScSolver.Preconditioner(rawValue: parts[1]) : PETScSolver.Preconditioner.none
    guard let preconditioner else { return nil }
    return (method, preconditioner)
}

/// How a distributed matrix is spread: nonzeros per rank (least, most) and the halo of one
/// product (ghost values received: most on one rank, and over all ranks).
struct PartitionStatistics {
    var nonzerosMin: Int, nonzerosMax: Int
    var ghostsMax: Int, ghostsTotal: Int

    init(_ a: DistributedMatrix) throws {
        nonzerosMin = try Collective.minimum(a.localNonzeros)
        nonzerosMax = try Collective.maximum(a.localNonzeros)
        ghostsMax = try Collective.maximum(a.ghostCount)
        ghostsTotal = try Collective.sum(a.ghostCount)
    }

    var json: JSON {
        var p = JSON()
        p.set("nonzerosPerRankMin", nonzerosMin)
        p.set("nonzerosPerRankMax", nonzerosMax)
        p.set("ghostsPerProductMax", ghostsMax)
        p.set("ghostsPerProductTotal", ghostsTotal)
        return p
    }

    func add(to object: inout JSON) { object.set("partition", json) }

    var line: String {
        "partition: \(nonzerosMin)–\(nonzerosMax) nonzeros per rank; halo per product: at most \(ghostsMax) values on a rank, \(ghostsTotal) in all"
    }
}
