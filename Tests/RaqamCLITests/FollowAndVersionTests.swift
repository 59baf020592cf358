import Foundation
import Glibc
import Synchronization
import Testing

@Suite struct FollowAndVersionTests {
    @Test func eventsFollowPrintsEventsAppendedAfterItStarted() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let p = Process()
        p.executableURL = buildDirectory.appendingPathComponent("raqamctl")
        p.arguments = ["events", "--state-dir", dir.path, "--follow", "--after-seq", "316", "-o", "ndjson"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        let seen = Mutex<String>("")
        let reader = Thread {
            while true {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                seen.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }
        reader.start()
        usleep(300_000)
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<3)).status == 0)
        var lines: [Substring] = []
        for _ in 0..<50 {
            lines = seen.withLock { $0 }.split(separator: "\n")
            if lines.count >= 3 { break }
            usleep(100_000)
        }
        #expect(lines.count == 3)
        #expect(lines.first?.contains(#""seq":317"#) == true)
        #expect(lines.last?.contains(#""seq":319"#) == true)
        #expect(p.isRunning, "--follow stopped by itself")
    }

    @Test func bothBinariesAnswerVersionAndHelp() throws {
        let ctl = try run("raqamctl", ["--version"])
        #expect(ctl.status == 0)
        #expect(ctl.stdout == "0.1.0\n")
        let d = try run("raqamd", ["--version"])
        #expect(d.status == 0)
        #expect(d.stdout.hasPrefix("0.1.0"))
        for command in ["init", "append", "events", "verify", "stats"] {
            let help = try run("raqamctl", [command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE: raqamctl \(command)"), "\(command) --help")
        }
    }
}
