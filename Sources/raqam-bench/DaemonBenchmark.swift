import ArgumentParser
import Foundation
import Glibc
import RaqamModel
import Synchronization

/// raqamd alone: event → journal entry latency at a steady rate, and the daemon's memory.
/// Starts the raqamd built beside this program on a fresh state directory (wall clock, the
/// reference data registered) with one rule that changes state on every event, sends events
/// over the control socket at `--rate`, and reads the entries back from journald.
struct DaemonBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "raqamd: event → journal latency (p50, p99) at a steady rate, RSS idle and under load. Needs a journald."
    )

    @Option(help: "Events per second.") var rate = 1_000
    @Option(help: "Seconds of load per run.") var seconds = 10
    @Option(help: "Timed runs after a 2-second warm-up; medians are reported.") var runs = 5
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "A short smoke run.") var quick = false

    func run() throws {
        let runs = quick ? 1 : self.runs
        let seconds = quick ? 2 : self.seconds
        var p50s: [Double] = [], p99s: [Double] = [], idle: [Double] = [], loaded: [Double] = [], delivered: [Double] = []
        // A warm-up first (the binaries and the journal files into the page cache).
        if !quick { _ = try once(seconds: 2) }
        for _ in 0..<runs {
            let r = try once(seconds: seconds)
            p50s.append(r.p50); p99s.append(r.p99); idle.append(r.idleMiB); loaded.append(r.loadMiB); delivered.append(r.fraction)
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        if json {
            print(#"{"benchmark":"daemon","rate":\#(rate),"p50_ms":\#(median(p50s)),"p99_ms":\#(median(p99s)),"rss_idle_mib":\#(median(idle)),"rss_load_mib":\#(median(loaded)),"entries_found":\#(median(delivered))}"#)
        } else {
            print("raqamd at \(rate) events/s for \(seconds) s, median of \(runs) runs")
            print(renderRows([
                ["event → journal entry, p50", String(format: "%.2f ms", median(p50s)), p50s.map { String(format: "%.2f", $0) }.joined(separator: " / ")],
                ["event → journal entry, p99", String(format: "%.2f ms", median(p99s)), p99s.map { String(format: "%.2f", $0) }.joined(separator: " / ")],
                ["RSS idle (after start)", String(format: "%.1f MiB", median(idle)), ""],
                ["RSS peak under load", String(format: "%.1f MiB", median(loaded)), ""],
                ["entries found in the journal", String(format: "%.1f %%", median(delivered) * 100), ""],
            ]))
        }
    }

    struct Result { var p50, p99, idleMiB, loadMiB, fraction: Double }

    func once(seconds: Int) throws -> Result {
        let dir = NSTemporaryDirectory() + "raqam-bench-daemon-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bin = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).deletingLastPathComponent()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let rules = dir + "/bench.yaml"
        try "groups:\n  - name: bench\n    rules:\n      - alert: BenchLowScore\n        scope: district\n        expr: assessment.score < 50\n        summary: \"{{ name }}: {{ assessment.score }}\"\n"
            .write(toFile: rules, atomically: true, encoding: .utf8)
        let initialize = Process()
        initialize.executableURL = bin.appendingPathComponent("raqamctl")
        initialize.arguments = ["init", "--state-dir", dir]
        initialize.standardOutput = FileHandle.nullDevice
        try initialize.run()
        initialize.waitUntilExit()
        let daemon = Process()
        daemon.executableURL = bin.appendingPathComponent("raqamd")
        let socketPath = dir + "/raqamd.sock"
        daemon.arguments = ["--state-dir", dir, "--rules", rules, "--socket", socketPath]
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGTERM); daemon.waitUntilExit() } }
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socketPath) { usleep(50_000) }
        usleep(300_000)
        let pid = daemon.processIdentifier
        let idle = Double(Self.status(pid, "VmRSS:")) / 1024

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let b = Array(socketPath.utf8); raw.copyBytes(from: b); raw[b.count] = 0
        }
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }) == 0 else {
            throw ValidationError("cannot connect to raqamd at \(socketPath)")
        }
        defer { close(fd) }
        // The reader collects acks: seq of each line in order.
        let total = rate * seconds
        let acks = Mutex<[UInt64]>([])
        let reader = Thread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            var got = 0
            while got < total {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return }
                pending += buffer[0..<n]
                while let nl = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[..<nl], as: UTF8.self)
                    pending.removeSubrange(...nl)
                    got += 1
                    acks.withLock { $0.append(UInt64(line.split(separator: " ").last ?? "0") ?? 0) }
                }
            }
        }
        reader.start()
        // All 208 districts in turn: a batch (at most a few hundred ms of events) names each
        // district at most once, so every event makes its own transition.
        let districts = ReferenceData.bundled.districts.map(\.code)
        var sentAt: [Int64] = []  // µs, realtime, by line
        sentAt.reserveCapacity(total)
        let start = Self.realtime()
        let interval = 1_000_000 / Int64(rate)
        for i in 0..<total {
            let due = start + Int64(i) * interval
            while Self.realtime() < due { usleep(50) }
            // Every event flips its district between a low and a high score: one transition each.
            let district = districts[i % districts.count]
            let score = (i / districts.count) % 2 == 0 ? 20 : 80
            let line = #"{"type":"assessment.recorded","subject":"district:\#(district)","occurred_at":"2021-05-01T10:00:00+05:00","data":{"organized":true,"score":\#(score)}}"# + "\n"
            sentAt.append(Self.realtime())
            _ = line.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        while acks.withLock({ $0.count }) < total && Self.realtime() - start < Int64(seconds + 30) * 1_000_000 { usleep(10_000) }
        let loaded = Double(Self.status(pid, "VmHWM:")) / 1024
        kill(pid, SIGTERM)
        daemon.waitUntilExit()
        // Entries by RAQAM_EVENT_SEQ: the seq of the event whose evaluation sent them.
        let seqs = acks.withLock { $0 }
        var sentBySeq: [UInt64: Int64] = [:]
        for (i, s) in seqs.enumerated() where i < sentAt.count { sentBySeq[s] = sentAt[i] }
        let journalctl = Process()
        journalctl.executableURL = URL(fileURLWithPath: "/bin/journalctl")
        journalctl.arguments = ["-o", "json", "--no-pager", "_PID=\(pid)", "RAQAM_RULE=BenchLowScore", "--output-fields=RAQAM_EVENT_SEQ,_SOURCE_REALTIME_TIMESTAMP"]
        let out = Pipe()
        journalctl.standardOutput = out
        try journalctl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        journalctl.waitUntilExit()
        var latencies: [Double] = []
        for line in data.split(separator: 0x0A) {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let seq = (o["RAQAM_EVENT_SEQ"] as? String).flatMap(UInt64.init),
                  let at = (o["_SOURCE_REALTIME_TIMESTAMP"] as? String).flatMap(Int64.init),
                  let sent = sentBySeq[seq] else { continue }
            latencies.append(Double(at - sent) / 1000)
        }
        latencies.sort()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Result(p50: pct(0.5), p99: pct(0.99), idleMiB: idle, loadMiB: loaded, fraction: Double(latencies.count) / Double(total))
    }

    static func realtime() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// A field of /proc/PID/status in KiB.
    static func status(_ pid: Int32, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}
