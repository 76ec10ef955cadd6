import ArgumentParser
import Foundation
import ISparseCLICore
import ImplicitSparse
import PETScBackend

// Every rank parses the same arguments and runs the same collective steps; failures are
// agreed across ranks (`Collective.agree`) so that every rank exits with the same code and
// rank 0 alone prints the one error line. No rank calls MPI_Abort.
setvbuf(stdout, nil, _IOLBF, 0)
do {
    try PETSc.initialize()
} catch {
    FileHandle.standardError.write("error: \(error)\n".data(using: .utf8)!)
    exit(3)
}

func finish(_ code: Int32, _ message: String?) -> Never {
    if let message, PETSc.rank == 0 { FileHandle.standardError.write("error: \(message)\n".data(using: .utf8)!) }
    PETSc.finalize()
    exit(code)
}

var command: ParsableCommand
do {
    command = try ISparseMPI.parseAsRoot()
} catch {
    // --help and usage errors: identical on every rank, printed once.
    let code = ISparseMPI.exitCode(for: error).rawValue
    if PETSc.rank == 0 {
        let text = ISparseMPI.fullMessage(for: error)
        if code == 0 { print(text) } else { FileHandle.standardError.write((text + "\n").data(using: .utf8)!) }
    }
    PETSc.finalize()
    exit(code == 0 ? 0 : 1)
}

do {
    try command.run()
    finish(0, nil)
} catch let failure as DistributedFailure {
    finish(failure.isInput ? 2 : 3, failure.message)
} catch let failure as MPIFailure {
    finish(failure.code, failure.message)
} catch let failure as PETScError {
    finish(3, failure.description)
} catch let error where ErrorReport.classifyLibraryError(error) != nil {
    // Every error of the toolkit: isparse's exit code and line (ISparseCLICore).
    let (code, line) = ErrorReport.classifyLibraryError(error)!
    finish(code.rawValue, line)
} catch {
    // --help of a subcommand and argument errors can surface from run(): printed once, as at
    // parsing. ArgumentParser says which by its exit code (0: help, validationFailure: usage).
    let code = ISparseMPI.exitCode(for: error).rawValue
    if code == 0 || error is ValidationError || code == ExitCode.validationFailure.rawValue {
        if PETSc.rank == 0 {
            let text = ISparseMPI.fullMessage(for: error)
            if code == 0 { print(text) } else { FileHandle.standardError.write((text + "\n").data(using: .utf8)!) }
        }
        PETSc.finalize()
        exit(code == 0 ? 0 : 1)
    }
    finish(2, "\(error)")
}
