import Foundation
import Glibc
import RaqamTestSupport

/// The directory holding the built executables: the test bundle's own.
let buildDirectory: URL = {
    let exe = URL(fileURLWithPath: try! FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    var dir = exe.deletingLastPathComponent()
    if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
    return dir
}()

/// Runs one of the package's executables (`raqamctl`, `raqamd`) with `arguments`.
@discardableResult
func run(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:]) throws -> Finished {
    let path = buildDirectory.appendingPathComponent(tool).path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw CLITestError("\(path) is missing: build the package first (swift build)")
    }
    return try runProcess(path, arguments, stdin: stdin, environment: environment)
}

/// Runs `command` with bash in `directory`, the package's executables first on the PATH.
func shell(_ command: String, in directory: URL, environment: [String: String] = [:]) throws -> Finished {
    var environment = environment
    environment["PATH"] = buildDirectory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    return try runProcess("/bin/bash", ["-c", command], environment: environment, directory: directory)
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A fresh state directory, removed at the end of the test.
final class StateDirectory: Sendable {
    let path: String

    init(_ name: String = #function) {
        path = NSTemporaryDirectory() + "raqam-cli-\(name.filter { $0.isLetter })-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The i-th test event: a regional project registered for a real district, with a fixed id.
func projectEvent(_ i: Int) -> String {
    let districts = ["1703202", "1703203", "1706204", "1708201", "1710207", "1726262", "1735204"]
    let id = String(format: "00000000-0000-4000-8000-%012d", i)
    return #"{"id":"\#(id)","type":"project.registered","subject":"district:\#(districts[i % districts.count])","occurred_at":"2021-0\#(1 + i % 6)-1\#(i % 10)T10:00:00+05:00","source":"test","data":{"project":"RP-\#(i)","program":"regional","title":"Project number \#(i)","due":"2021-12-31"}}"#
}

func ndjson(_ range: Range<Int>) -> [UInt8] {
    Array(range.map(projectEvent).joined(separator: "\n").utf8) + [0x0A]
}

/// The parsed lines of `raqamctl events -o ndjson`.
func storedEvents(_ stateDir: String) throws -> [[String: Any]] {
    let r = try run("raqamctl", ["events", "--state-dir", stateDir, "-o", "ndjson"])
    guard r.status == 0 else { throw CLITestError("events failed: \(r.stderr)") }
    return r.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
}

import Synchronization
