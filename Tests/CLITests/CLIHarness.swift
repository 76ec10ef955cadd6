import XCTest
import Foundation

/// Runs the built `isparse` binary for the CLI test cases.
extension XCTestCase {
    var binary: URL {
        var dir = Bundle(for: CLITests.self).bundleURL
        while dir.pathExtension == "xctest" || dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("isparse")
    }

    func run(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Both pipes drained at once (a child filling one pipe while the test waits on the
        // other would deadlock), with a watchdog: a hung child is killed after 15 minutes and
        // the test fails on its exit status.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 900, execute: watchdog)
        let reader = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        reader.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            reader.leave()
        }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        reader.wait()
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    func write(_ text: String, _ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("isparse-cli-\(getpid())-\(name)").path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }
}
