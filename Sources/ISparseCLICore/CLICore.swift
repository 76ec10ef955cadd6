import Foundation
import ImplicitSparse
import Preconditioners
import Sparse

// The command-line core shared by `isparse` and the PETSc backend's `isparse-mpi`: exit codes,
// the one-line failure, the mapping of every library error to its exit code and line, the
// JSON writer.

/// Exit codes of `isparse` and `isparse-mpi` (documented in docs/CLI.md): 0 success, 1 usage, 2 input error,
/// 3 numerical failure.
public enum ExitCode32: Int32, Sendable {
    case success = 0, usage = 1, input = 2, numerical = 3
}

/// A failure with its exit code and one-line message.
public struct CLIFailure: Error {
    public var code: ExitCode32
    public var message: String
    public init(code: ExitCode32, message: String) {
        self.code = code
        self.message = message
    }
}

public enum ErrorReport {
    /// The exit code and single line for any error the commands can throw.
    public static func classify(_ error: Error) -> (ExitCode32, String) {
        classifyLibraryError(error) ?? (.input, String(describing: error))
    }

    /// The library's messages name Swift parameters in backticks; the CLI says its own flags.
    public static let flagsForParameters = [
        "`epsilon`": "--epsilon", "`tolerance`": "--tol", "`validationFraction`": "--val-fraction",
        "`CrossValidated`": "--cv", "`lambda`": "--lambda", "`delta`": "--delta", "`gamma`": "--gamma",
    ]

    public static func translated(_ message: String) -> String {
        var text = message
        for (parameter, flag) in flagsForParameters { text = text.replacingOccurrences(of: parameter, with: flag) }
        return text
    }

    /// The exit code and line for an error of the toolkit or of a command; nil for errors it
    /// does not know (argument parsing's).
    public static func classifyLibraryError(_ error: Error) -> (ExitCode32, String)? {
        guard let (code, message) = classifyUntranslated(error) else { return nil }
        return (code, error is CLIFailure ? message : translated(message))
    }

    private static func classifyUntranslated(_ error: Error) -> (ExitCode32, String)? {
        switch error {
        case let failure as CLIFailure:
            return (failure.code, failure.message)
        case let io as SparseIOError:
            return (.input, io.description)
        case let sparse as SparseError:
            switch sparse {
            case .notPositiveDefinite, .singularMatrix, .outOfMemory, .factorTooLarge, .libraryFailure, .memoryBudgetExceeded:
                return (.numerical, sparse.description)
            default:
                return (.input, sparse.description)
            }
        case let linear as LinearSolveError:
            switch linear {
            case .needsExplicitMatrix, .needsAdjointProduct, .unsuitableOperator:
                return (.input, linear.description)
            case .inaccurate, .notConverged, .tooExpensive:
                return (.numerical, linear.description)
            }
        case let problem as RegularizedLeastSquaresError:
            return (.numerical, problem.description)
        case let problem as SparseLogisticRegressionError:
            return (.numerical, problem.description)
        case let problem as GeneralizedLinearModelError:
            return (.numerical, problem.description)
        case let problem as GraphProblemError:
            if case .invalid = problem { return (.input, problem.description) }
            return (.numerical, problem.description)
        case let implicit as ImplicitError:
            switch implicit {
            case .singularJacobian, .solverFailed: return (.numerical, implicit.description)
            case .invalidTheta, .invalidCondition: return (.input, implicit.description)
            }
        case let preconditioner as PreconditionerError:
            switch preconditioner {
            // A zero diagonal is a property of the input, as for Jacobi (SparseError, exit 2);
            // a breakdown on valid input is a numerical failure.
            case .zeroDiagonal: return (.input, preconditioner.description)
            case .breakdown: return (.numerical, preconditioner.description)
            }
        default:
            return nil
        }
    }
}

/// One line on standard error: "PROGRAM: error: LINE" (newlines folded).
public func printError(_ line: String, program: String = "isparse") {
    let text = program + ": error: " + line.replacingOccurrences(of: "\n", with: " ") + "\n"
    FileHandle.standardError.write(text.data(using: .utf8)!)
}

/// Minimal ordered JSON writer (keys in insertion order; non-finite numbers become null).
public struct JSONObject {
    private var entries: [(String, String)] = []

    public init() {}

    public mutating func set(_ key: String, _ value: String) { entries.append((key, quote(value))) }
    public mutating func set(_ key: String, _ value: Int) { entries.append((key, String(value))) }
    public mutating func set(_ key: String, _ value: Double) {
        // −0 prints as 0: a derivative that vanishes has no sign.
        entries.append((key, value.isFinite ? "\(value == 0 ? 0 : value)" : "null"))
    }
    public mutating func set(_ key: String, _ value: Bool) { entries.append((key, value ? "true" : "false")) }
    public mutating func set(_ key: String, _ objects: [JSONObject]) { entries.append((key, "[" + objects.map { $0.render() }.joined(separator: ", ") + "]")) }
    public mutating func set(_ key: String, _ values: [Double]) {
        entries.append((key, "[" + values.map { v -> String in var o = JSONObject(); o.set("v", v); return o.entries[0].1 }.joined(separator: ", ") + "]"))
    }
    public mutating func set(_ key: String, _ values: [Int]) { entries.append((key, "[" + values.map(String.init).joined(separator: ", ") + "]")) }
    public mutating func set(_ key: String, _ value: JSONObject) { entries.append((key, value.render())) }
    public mutating func setNull(_ key: String) { entries.append((key, "null")) }
    /// Appends every entry of another object.
    public mutating func set(extraEntries other: JSONObject) { entries.append(contentsOf: other.entries) }

    public func render() -> String {
        "{" + entries.map { "\(quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    private func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

public func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
}

