import ArgumentParser
import Dispatch
import Foundation
import Glibc
import RaqamControl
import RaqamModel
import Synchronization

/// raqamd alone, on a fresh state directory (wall clock, the reference data registered) with
/// one rule that changes state on every event:
///
/// - **acks**: events sent over one control-socket connection at `--rate`; each `ok SEQ`'s
///   latency beside the latency of `fdatasync` measured in the same directory just before
///   (what an ack that waits only for the disk waits for at least), as a ratio;
/// - **journal**: each event → the journal entry of the transition it caused, read back
///   from journald;
/// - **memory**: RSS idle and its peak under the load;
/// - **64 clients**: `--clients` connections, each sending an event and waiting for its
///   ack, as fast as raqamd takes them: events/s (with `--baseline DIR`, the same for the
///   raqamd in DIR, an earlier build, in the same run).
struct DaemonBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "raqamd: ack latency beside fdatasync's, event → journal latency (p50, p99) at a steady rate, RSS, 64 socket clients' throughput. Needs a journald."
    )

    @Option(help: "Events per second.") var rate = 1_000
    @Option(help: "Seconds of load per run.") var seconds = 10
    @Option(help: "Timed runs after a 2-second warm-up; medians are reported.") var runs = 5
    @Option(help: "Concurrent clients for the throughput figure (0: skip it).") var clients = 64
    @Option(help: "Seconds of each throughput run.") var clientSeconds = 5
    @Option(help: "A directory with an earlier build's raqamd and raqamctl, whose throughput is measured beside this one's.") var baseline: String?
    @Option(help: "Directory for the state directories (not a tmpfs: fsync would be free).") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "A short smoke run.") var quick = false

    var bin: String { URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent().path }

    func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

    func run() throws {
        let runs = quick ? 1 : self.runs
        let seconds = quick ? 2 : self.seconds
        // Each run twice: raqamd and the journal alone (the acks' figure: what raqamd itself
        // costs them), then with a real Alertmanager told every transition and polled every
        // 2 ms on the same two cores (the alerts' way to Alertmanager, and what that load does
        // to the acks).
        var results: [Result] = [], withAlertmanager: [Result] = []
        // A warm-up first (the binaries and the journal files into the page cache).
        if !quick { _ = try once(seconds: 2, alertmanager: false) }
        for i in 0..<runs {
            progress("\(rate) events/s for \(seconds) s (run \(i + 1) of \(runs))")
            results.append(try once(seconds: seconds, alertmanager: false))
            if AlertmanagerProbe.available {
                progress("the same with Alertmanager (run \(i + 1) of \(runs))")
                withAlertmanager.append(try once(seconds: seconds, alertmanager: true))
            }
        }
        func med(_ k: KeyPath<Result, Double>, _ of: [Result]? = nil) -> Double { medianOf((of ?? results).map { $0[keyPath: k] }) }
        func list(_ k: KeyPath<Result, Double>, _ of: [Result]? = nil) -> String { (of ?? results).map { String(format: "%.2f", $0[keyPath: k]) }.joined(separator: " / ") }
        let am = withAlertmanager

        var throughput: [Double] = [], baselineThroughput: [Double] = []
        if clients > 0 {
            for i in 0..<runs {
                progress("\(clients) clients for \(quick ? 1 : clientSeconds) s (run \(i + 1) of \(runs))")
                throughput.append(try clientsThroughput(binDir: bin))
                if let baseline { baselineThroughput.append(try clientsThroughput(binDir: baseline)) }
            }
        }
        let ackRatio = med(\.ackP99) / med(\.syncP99)
        if json {
            var fields = [#""benchmark":"daemon""#, #""rate":\#(rate)"#]
            for (k, v) in [("p50_ms", med(\.p50)), ("p99_ms", med(\.p99)), ("ack_p50_ms", med(\.ackP50)), ("ack_p99_ms", med(\.ackP99)),
                           ("fdatasync_p50_ms", med(\.syncP50)), ("fdatasync_p99_ms", med(\.syncP99)), ("ack_p99_over_fdatasync_p99", ackRatio),
                           ("rss_idle_mib", med(\.idleMiB)), ("rss_load_mib", med(\.loadMiB)), ("entries_found", med(\.fraction)),
                           ("alertmanager_p50_ms", med(\.amP50, am)), ("alertmanager_p99_ms", med(\.amP99, am)), ("alertmanager_found", med(\.amFraction, am)),
                           ("ack_p99_beside_alertmanager_ms", med(\.ackP99, am))]
            where v.isFinite {
                fields.append(#""\#(k)":\#(v)"#)
            }
            if clients > 0 { fields += [#""clients":\#(clients)"#, #""clients_events_per_s":\#(medianOf(throughput))"#] }
            if baseline != nil { fields.append(#""baseline_clients_events_per_s":\#(medianOf(baselineThroughput))"#) }
            print("{" + fields.joined(separator: ",") + "}")
        } else {
            print("raqamd at \(rate) events/s for \(seconds) s, every event a transition; median of \(runs) runs (each run listed)")
            var rows = [
                ["ack (ok SEQ) latency, p50", String(format: "%.3f ms", med(\.ackP50)), list(\.ackP50)],
                ["ack latency, p99", String(format: "%.3f ms", med(\.ackP99)), list(\.ackP99) + String(format: "  (%.2f × fdatasync's p99)", ackRatio)],
                ["  fdatasync in the same directory, p50 / p99", String(format: "%.3f / %.3f ms", med(\.syncP50), med(\.syncP99)), list(\.syncP99)],
                ["event → journal entry, p50", String(format: "%.2f ms", med(\.p50)), list(\.p50)],
                ["event → journal entry, p99", String(format: "%.2f ms", med(\.p99)), list(\.p99)],
                ["RSS idle (after start)", String(format: "%.1f MiB", med(\.idleMiB)), ""],
                ["RSS peak under load", String(format: "%.1f MiB", med(\.loadMiB)), ""],
                ["entries found in the journal", String(format: "%.1f %%", med(\.fraction) * 100), ""],
            ]
            if am.isEmpty {
                rows.append(["with Alertmanager", "", "(no prometheus-alertmanager installed)"])
            } else {
                rows += [
                    ["with Alertmanager on the same cores: event → visible in its /api/v2/alerts, p50", String(format: "%.2f ms", med(\.amP50, am)), list(\.amP50, am)],
                    ["  event → visible in Alertmanager, p99", String(format: "%.2f ms", med(\.amP99, am)), list(\.amP99, am) + "  (polled every 2 ms)"],
                    ["  firings seen in Alertmanager", String(format: "%.1f %%", med(\.amFraction, am) * 100), ""],
                    ["  ack latency p50 / p99 meanwhile", String(format: "%.3f / %.3f ms", med(\.ackP50, am), med(\.ackP99, am)), list(\.ackP99, am)],
                ]
            }
            if clients > 0 {
                rows.append(["\(clients) clients, one event in flight each", "\(grouped(medianOf(throughput))) events/s", throughput.map { grouped($0) }.joined(separator: " / ")])
            }
            if baseline != nil {
                rows.append(["  baseline build, the same", "\(grouped(medianOf(baselineThroughput))) events/s",
                             baselineThroughput.map { grouped($0) }.joined(separator: " / ") + String(format: "  (this build: %.2f×)", medianOf(throughput) / medianOf(baselineThroughput))])
            }
            print(renderRows(rows))
        }
    }

    struct Result { var p50, p99, ackP50, ackP99, syncP50, syncP99, idleMiB, loadMiB, fraction: Double; var amP50 = 0.0, amP99 = 0.0, amFraction = 0.0 }

    static let rules = "groups:\n  - name: bench\n    rules:\n      - alert: BenchLowScore\n        scope: district\n        expr: assessment.score < 50\n        summary: \"{{ name }}: {{ assessment.score }}\"\n"

    /// A fresh state directory with the reference data and the benchmark's rule file.
    func makeState(binDir: String) throws -> (state: String, rules: String) {
        let state = dir + "/raqam-bench-daemon-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let rules = state + "/bench.yaml"
        try Self.rules.write(toFile: rules, atomically: true, encoding: .utf8)
        let initialize = Process()
        initialize.executableURL = URL(fileURLWithPath: binDir + "/raqamctl")
        initialize.arguments = ["init", "--state-dir", state]
        initialize.standardOutput = FileHandle.nullDevice
        try initialize.run()
        initialize.waitUntilExit()
        return (state, rules)
    }

    /// The i-th event of a run: all 208 districts in turn, each flipping between a low and a
    /// high score, so that every event makes its own transition.
    static func event(_ i: Int, districts: [String]) -> String {
        let district = districts[i % districts.count]
        let score = (i / districts.count) % 2 == 0 ? 20 : 80
        return #"{"type":"assessment.recorded","subject":"district:\#(district)","occurred_at":"2021-05-01T10:00:00+05:00","data":{"organized":true,"score":\#(score)}}"#
    }

    /// One raqamd under the load; with `alertmanager`, a real Alertmanager beside it, told every
    /// transition and polled every 2 ms.
    func once(seconds: Int, alertmanager: Bool) throws -> Result {
        let (state, rules) = try makeState(binDir: bin)
        defer { try? FileManager.default.removeItem(atPath: state) }
        // What an ack that waits only for the disk waits for at least, on the same disk, now.
        let syncs = try Ceilings.fdatasyncLatencies(dir: state, recordBytes: 300, count: 500).sorted()
        // A real Alertmanager when one is installed: event → visible in its /api/v2/alerts.
        let probe = alertmanager ? try AlertmanagerProbe(directory: state) : nil
        var extra: [String] = []
        if let probe {
            try "alertmanager:\n  urls: [\(probe.url)]\n".write(toFile: state + "/raqamd.yaml", atomically: true, encoding: .utf8)
            extra = ["--config", state + "/raqamd.yaml"]
            probe.startPolling()
        }
        let daemon = try RunningDaemon(binDir: bin, state: state, rules: rules, extraArguments: extra)
        let pid = daemon.pid
        let idle = Double(Self.status(pid, "VmRSS:")) / 1024

        let connection = try Control.connect(daemon.socketPath)
        // The reader collects the acks, in line order: each one's seq and when it arrived.
        let total = rate * seconds
        let acks = Mutex<[(seq: UInt64, at: Int64)]>([])
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            var replies = ReplyReader(socket: connection)
            var got = 0
            while got < total, let line = replies.next() {
                got += 1
                let at = Self.realtime()
                acks.withLock { $0.append((UInt64(line.split(separator: " ").last ?? "0") ?? 0, at)) }
            }
            done.signal()
        }
        reader.start()
        let districts = ReferenceData.bundled.districts.map(\.code)
        var sentAt: [Int64] = []  // µs, realtime, by line
        sentAt.reserveCapacity(total)
        let start = Self.realtime()
        let interval = 1_000_000 / Int64(rate)
        for i in 0..<total {
            let due = start + Int64(i) * interval
            while Self.realtime() < due { usleep(50) }
            let line = Self.event(i, districts: districts)
            sentAt.append(Self.realtime())
            try Control.send(connection, line)
        }
        guard done.wait(timeout: .now() + .seconds(30)) == .success else {
            throw ValidationError("raqamd acknowledged \(acks.withLock { $0.count }) of \(total) events within 30 s of the last")
        }
        let loaded = Double(Self.status(pid, "VmHWM:")) / 1024
        // The last transitions' way to Alertmanager (a few ms), then the probe stops.
        if probe != nil { usleep(500_000) }
        let seen = probe?.stop() ?? [:]
        daemon.stop()
        let received = acks.withLock { $0 }
        guard received.count == total else { throw ValidationError("raqamd closed the connection after \(received.count) of \(total) acks") }
        let ackLatencies = zip(received, sentAt).map { Double($0.at - $1) / 1000 }.sorted()
        // Entries by RAQAM_EVENT_SEQ: the seq of the event whose evaluation sent them.
        var sentBySeq: [UInt64: Int64] = [:]
        for (i, a) in received.enumerated() { sentBySeq[a.seq] = sentAt[i] }
        let journalctl = Process()
        journalctl.executableURL = URL(fileURLWithPath: "/bin/journalctl")
        journalctl.arguments = ["-o", "json", "--no-pager", "_PID=\(pid)", "RAQAM_RULE=BenchLowScore", "--output-fields=RAQAM_EVENT_SEQ,_SOURCE_REALTIME_TIMESTAMP,RAQAM_STATE,RAQAM_ENTITY,RAQAM_ACTIVE_SINCE"]
        let out = Pipe()
        journalctl.standardOutput = out
        try journalctl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        journalctl.waitUntilExit()
        var latencies: [Double] = [], amLatencies: [Double] = []
        var firings = 0
        for line in data.split(separator: 0x0A) {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let seq = (o["RAQAM_EVENT_SEQ"] as? String).flatMap(UInt64.init),
                  let at = (o["_SOURCE_REALTIME_TIMESTAMP"] as? String).flatMap(Int64.init),
                  let sent = sentBySeq[seq] else { continue }
            latencies.append(Double(at - sent) / 1000)
            // The same transition's firing, as Alertmanager first showed it.
            if o["RAQAM_STATE"] as? String == "firing", let entity = o["RAQAM_ENTITY"] as? String,
               let since = (o["RAQAM_ACTIVE_SINCE"] as? String).flatMap({ Timestamp(rfc3339: $0) }) {
                firings += 1
                if let visible = seen[AlertmanagerProbe.key(subject: entity, startsAt: since.micros)] { amLatencies.append(Double(visible - sent) / 1000) }
            }
        }
        latencies.sort()
        amLatencies.sort()
        return Result(p50: Self.percentile(latencies, 0.5), p99: Self.percentile(latencies, 0.99),
                      ackP50: Self.percentile(ackLatencies, 0.5), ackP99: Self.percentile(ackLatencies, 0.99),
                      syncP50: Self.percentile(syncs, 0.5) / 1000, syncP99: Self.percentile(syncs, 0.99) / 1000,
                      idleMiB: idle, loadMiB: loaded, fraction: Double(latencies.count) / Double(total),
                      amP50: Self.percentile(amLatencies, 0.5), amP99: Self.percentile(amLatencies, 0.99),
                      amFraction: firings == 0 ? 0 : Double(amLatencies.count) / Double(firings))
    }

    /// `clients` connections to the raqamd in `binDir`, each sending an event and waiting for
    /// its ack, for `clientSeconds`: acknowledged events per second.
    func clientsThroughput(binDir: String) throws -> Double {
        let (state, rules) = try makeState(binDir: binDir)
        defer { try? FileManager.default.removeItem(atPath: state) }
        let daemon = try RunningDaemon(binDir: binDir, state: state, rules: rules)
        defer { daemon.stop() }
        let connections = try (0..<clients).map { _ in try Control.connect(daemon.socketPath) }
        let count = connections.count
        let districts = ReferenceData.bundled.districts.map(\.code)
        let length = Double(quick ? 1 : clientSeconds)
        let counts = Mutex<[Int]>(Array(repeating: 0, count: clients))
        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        let t0 = now()
        for (c, connection) in connections.enumerated() {
            group.enter()
            Thread {
                var replies = ReplyReader(socket: connection)
                var i = c, n = 0
                while now() - t0 < length {
                    do { try Control.send(connection, Self.event(i, districts: districts)) } catch {
                        failures.withLock { $0.append("\(error)") }
                        break
                    }
                    guard let reply = replies.next(), reply.hasPrefix("ok ") else {
                        failures.withLock { $0.append("client \(c): no ok reply") }
                        break
                    }
                    n += 1
                    i += count
                }
                counts.withLock { $0[c] = n }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = now() - t0
        if let first = failures.withLock({ $0.first }) { throw ValidationError("\(clients)-client run against \(binDir): \(first)") }
        return Double(counts.withLock { $0.reduce(0, +) }) / elapsed
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
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
