import ArgumentParser
import Foundation
import Sparse

@main
struct ISparse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "isparse",
        abstract: "Large sparse linear algebra and optimization with implicit differentiation.",
        discussion: "Exit codes: 0 success, 1 usage error, 2 input error, 3 numerical failure.",
        subcommands: [DataCommand.self, LinsolveCommand.self, HypergradCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CLIFailure {
            printError(failure.message)
            Foundation.exit(failure.code.rawValue)
        } catch let error as SparseIOError {
            printError(error.description)
            Foundation.exit(ExitCode32.input.rawValue)
        } catch let error as SparseError {
            let (code, line) = ErrorReport.classify(error)
            printError(line)
            Foundation.exit(code.rawValue)
        } catch {
            // Argument parsing: help and version requests exit 0 with their text; anything
            // else is a usage error on one line.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            printError(message(for: error))
            Foundation.exit(ExitCode32.usage.rawValue)
        }
    }
}

/// Options shared by commands that run kernels.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for the parallel kernels and the factorizations' BLAS (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func apply() { if let threads { SparseThreads.count = threads } }
}
