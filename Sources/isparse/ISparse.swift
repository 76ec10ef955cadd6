import ArgumentParser
import Foundation
import ISparseCLICore
import Sparse

@main
struct ISparse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "isparse",
        abstract: "Large sparse linear algebra and optimization with implicit differentiation.",
        discussion: "Exit codes: 0 success, 1 usage error, 2 input error, 3 numerical failure.",
        subcommands: [DataCommand.self, LinsolveCommand.self, SolveGroup.self, HypergradGroup.self, TuneGroup.self, BenchCommand.self, PaperCommand.self,
                      ReferenceDocsCommand.self]
    )

    static func main() {
        // SIGINT / SIGTERM: the temporaries of writes in progress are removed (the targets stay
        // as they were: outputs are renamed into place only when complete), exit 130 / 143.
        // `tune` replaces the SIGINT handler with its own graceful stop.
        signal(SIGTERM) { _ in TemporaryFiles.removeAll(); _exit(143) }
        signal(SIGINT) { _ in TemporaryFiles.removeAll(); _exit(130) }
        do {
            // The arguments with their exact bytes: a file name need not be UTF-8.
            var command = try parseAsRoot(Array(FileSystemPath.commandLineArguments.dropFirst()))
            try command.run()
            Files.finishStandardOutput()
        } catch {
            // Every error of the toolkit has its exit code (docs/CLI.md's table); what is left comes
            // from argument parsing.
            if let (code, line) = ErrorReport.classifyLibraryError(error) {
                Files.finishStandardOutput()
                printError(line)
                Foundation.exit(code.rawValue)
            }
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
    @Option(help: "Threads for the parallel kernels and the factorizations' BLAS, 1 to 1024 (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be between 1 and 1024") }
    }

    func apply() {
        guard let threads else { return }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if threads > cores {
            FileHandle.standardError.write("isparse: note: --threads \(threads) is above the \(cores) cores of this machine\n".data(using: .utf8)!)
        }
        SparseThreads.count = threads
    }
}
