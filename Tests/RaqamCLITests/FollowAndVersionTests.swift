import Foundation
import Glibc
import Synchronization
import Testing

@Suite struct FollowAndVersionTests {
    /// What a process wrote on standard output so far, gathered on a thread as it comes.
    final class Collected: Sendable {
        private let text = Mutex<String>("")
        var current: String { text.withLock { $0 } }
        func append(_ chunk: Data) { text.withLock { $0 += String(decoding: chunk, as: UTF8.self) } }
    }

    /// Starts `p` and gathers its standard output.
    static func collectOutput(of p: Process) throws -> Collected {
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let seen = Collected()
        Thread {
            while true {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                seen.append(chunk)
            }
        }.start()
        return seen
    }

    @Test func eventsFollowPrintsEventsAppendedAfterItStarted() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let p = Process()
        p.executableURL = buildDirectory.appendingPathComponent("raqamctl")
        p.arguments = ["events", "--state-dir", dir.path, "--follow", "--after-seq", "316", "-o", "ndjson"]
        defer { if p.isRunning { p.terminate() } }
        let seen = try Self.collectOutput(of: p)
        usleep(300_000)
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<3)).status == 0)
        var lines: [Substring] = []
        for _ in 0..<50 {
            lines = seen.current.split(separator: "\n")
            if lines.count >= 3 { break }
            usleep(100_000)
        }
        #expect(lines.count == 3)
        #expect(lines.first?.contains(#""seq":317"#) == true)
        #expect(lines.last?.contains(#""seq":319"#) == true)
        #expect(p.isRunning, "--follow stopped by itself")
    }

    @Test func eventsLinesPrintsTheLastMatchingEventsInLogOrderThenFollows() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<20)).status == 0)
        func seqs(_ text: String) -> [Int] {
            text.split(separator: "\n").compactMap { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["seq"] as? Int
            }
        }
        let last3 = try run("raqamctl", ["events", "--state-dir", dir.path, "-n", "3", "-o", "ndjson"])
        #expect(last3.status == 0, "\(last3.stderr)")
        #expect(seqs(last3.stdout) == [334, 335, 336])
        // With filters: the last two about one district (events 0, 7 and 14 are about 1703202).
        let subject = try run("raqamctl", ["events", "--state-dir", dir.path, "--lines", "2", "--subject", "district:1703202", "--type", "project.registered", "-o", "ndjson"])
        #expect(seqs(subject.stdout) == [324, 331])
        // --since bounds them too (events occur in months 1 to 6 by i % 6: 2021-06 holds i = 5, 11, 17).
        let since = try run("raqamctl", ["events", "--state-dir", dir.path, "-n", "5", "--since", "2021-06", "-o", "ndjson"])
        #expect(seqs(since.stdout) == [322, 328, 334])
        #expect(try run("raqamctl", ["events", "--state-dir", dir.path, "-n", "2", "--limit", "2"]).status == 64)

        // -n 2 --follow: the last two, then what is appended.
        let p = Process()
        p.executableURL = buildDirectory.appendingPathComponent("raqamctl")
        p.arguments = ["events", "--state-dir", dir.path, "-n", "2", "--follow", "-o", "ndjson"]
        defer { if p.isRunning { p.terminate() } }
        let seen = try Self.collectOutput(of: p)
        for _ in 0..<100 where seqs(seen.current).count < 2 { usleep(50_000) }
        #expect(seqs(seen.current) == [335, 336])
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(20..<21)).status == 0)
        for _ in 0..<100 where seqs(seen.current).count < 3 { usleep(50_000) }
        #expect(seqs(seen.current) == [335, 336, 337])
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
