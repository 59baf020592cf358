import ArgumentParser
import Foundation
import Synchronization
import Glibc
import RaqamEngine
import RaqamSystem
import RaqamModel
import RaqamStore

/// `raqam-bench engine`: raqamd's start-up to READY and its memory, from the whole log and from
/// an engine snapshot, on logs loaded with the events clock; `raqamctl lagging` with and
/// without the snapshot; a reload with unchanged rules; `raqamctl append` of a large file
/// (rate and peak memory). Beside the machine's ceiling measured in the same run: the replay
/// rate (read + decode + fold into projections, no rules) and the store's own bulk append
/// rate. With `--baseline DIR`, the same figures of the raqamd and raqamctl in DIR (an
/// earlier build) in the same run.
struct EngineBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "raqamd start-up (full fold vs engine snapshot + tail), lagging, reload, append of a large file; beside the replay and bulk-append ceilings.",
        discussion: """
            For each size: writes a log of that many events (the reference data, then events \
            over the 316 entities, occurring in order over 266 days; the state directory's \
            clock is events), starts the raqamd built beside this program with the bundled \
            rules and times launch → READY=1 (a notify socket): from the whole log (no \
            snapshot), then again after SIGTERM (engine snapshot, empty tail), then after 1 % \
            more events were appended while it was down (snapshot + tail). RSS is VmRSS right \
            after READY. Then `raqamctl lagging` at the last event with the snapshot and with \
            --no-snapshot, and `reload` with unchanged rules over the control socket.
            """
    )

    @Option(help: "Log sizes, comma-separated.") var sizes = "100000,1000000"
    @Option(help: "Events in the file `raqamctl append` loads (0: skip).") var appendEvents = 1_000_000
    @Option(help: "Timed runs per figure; medians are reported.") var runs = 3
    @Option(help: "A directory with an earlier build's raqamd and raqamctl, measured beside this one.") var baseline: String?
    @Option(help: "The rules raqamd and lagging evaluate (default: the bundled rules/).") var rules: String?
    @Option(help: "Directory for the state directories.") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Keep the state directories of the start-up runs (their paths are printed to standard error), to profile a command on them.") var keep = false

    var bin: String { URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]).deletingLastPathComponent().path }

    var rulesPath: String {
        if let rules { return rules }
        var d = URL(fileURLWithPath: bin)
        for _ in 0..<4 {
            d = d.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: d.path + "/rules/national.yaml") { return d.path + "/rules" }
        }
        return "/usr/local/share/raqam/rules"
    }

    func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

    func run() throws {
        var rows: [[String]] = []
        var objects: [String] = []
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let r = try measure(size: size)
            objects.append(r.json)
            rows += r.rows
        }
        if appendEvents > 0 {
            let a = try measureAppend(count: appendEvents)
            objects.append(a.json)
            rows += a.rows
        }
        if json {
            print(#"{"benchmark":"engine","results":[\#(objects.joined(separator: ","))]}"#)
        } else {
            print("raqamd start-up, lagging, reload and append; median of \(runs) runs (each run listed)")
            print(renderRows(rows))
        }
    }

    // MARK: start-up, lagging, reload

    struct SizeResult { var json: String; var rows: [[String]] }

    func measure(size: Int) throws -> SizeResult {
        let state = dir + "/raqam-bench-engine-\(getpid())-\(size)"
        try? FileManager.default.removeItem(atPath: state)
        defer { if keep { progress("kept \(state)") } else { try? FileManager.default.removeItem(atPath: state) } }
        progress("writing \(size) events (events clock)")
        try FileEventStore.setClock("events", stateDirectory: state)
        var generator = OrderedWorkload(count: size + size / 100)
        try Self.append(to: state) { store in
            while generator.produced < size { try store.append(generator.next(min(10_000, size - generator.produced))) }
        }

        progress("replay ceiling (decode + fold, no rules)")
        let replay = try (0..<runs).map { _ in try Replay.run(stateDirectory: state, useSnapshots: false).seconds }

        var out: [String: [Double]] = [:]
        func add(_ key: String, _ v: Double) { out[key, default: []].append(v) }
        let builds: [(name: String, dir: String)] = [("", bin)] + (baseline.map { [("baseline ", $0)] } ?? [])
        var withTail = Start(seconds: .nan, rssMiB: .nan, reloadSeconds: .nan)
        for build in builds {
            for _ in 0..<runs {
                try? FileManager.default.removeItem(atPath: state + "/snapshots")
                try? FileManager.default.removeItem(atPath: state + "/alerts")
                progress("\(build.name)raqamd from the whole log")
                let full = try startToReady(build.dir, state: state)
                add(build.name + "full", full.seconds); add(build.name + "full_rss", full.rssMiB)
                progress("\(build.name)raqamd from its snapshot")
                let snap = try startToReady(build.dir, state: state)
                add(build.name + "snapshot", snap.seconds); add(build.name + "snapshot_rss", snap.rssMiB)
                add(build.name + "reload", snap.reloadSeconds)
                progress("\(build.name)lagging")
                add(build.name + "lagging", try timed(build.dir + "/raqamctl", ["lagging", "--state-dir", state, "--rules", rulesPath, "--at", "2021-06-30", "-o", "json"]))
                if build.name.isEmpty {
                    add("lagging_full", try timed(build.dir + "/raqamctl", ["lagging", "--state-dir", state, "--rules", rulesPath, "--at", "2021-06-30", "-o", "json", "--no-snapshot"]))
                }
            }
            if build.name.isEmpty {
                // Snapshot + a tail of 1 %, appended while raqamd is down (before a baseline
                // run, which removes snapshots/; the baseline then folds 1 % more events).
                progress("raqamd from its snapshot + a 1 % tail")
                try Self.append(to: state) { store in try store.append(generator.next(size / 100)) }
                withTail = try startToReady(bin, state: state)
            }
        }

        func med(_ k: String) -> Double { median(out[k] ?? [.nan]) }
        func list(_ k: String) -> String { (out[k] ?? []).map { String(format: "%.2f", $0) }.joined(separator: " / ") }
        let replayRate = Double(size + 316) / median(replay)
        var rows: [[String]] = [
            ["\(grouped(Double(size))) events: replay ceiling (read + decode + fold, no rules)", String(format: "%.2f s", median(replay)), "\(grouped(replayRate)) events/s"],
            ["  raqamd → READY, whole log", String(format: "%.2f s", med("full")), list("full") + String(format: "  (%.1f × the replay)", med("full") / median(replay))],
            ["  raqamd → READY, engine snapshot", String(format: "%.3f s", med("snapshot")), list("snapshot")],
            ["  raqamd → READY, snapshot + 1 % tail", String(format: "%.3f s", withTail.seconds), "\(grouped(Double(size / 100))) events folded"],
            ["  RSS after READY: whole log / snapshot", String(format: "%.0f / %.0f MiB", med("full_rss"), med("snapshot_rss")), ""],
            ["  reload, unchanged rules", String(format: "%.3f s", med("reload")), list("reload")],
            ["  lagging --at: from the snapshot / whole log", String(format: "%.2f / %.2f s", med("lagging"), med("lagging_full")), list("lagging") + " | " + list("lagging_full")],
        ]
        if baseline != nil {
            rows += [
                ["  baseline raqamd → READY, whole log", String(format: "%.2f s", med("baseline full")), list("baseline full") + String(format: "  (this build: %.2f× faster)", med("baseline full") / med("full"))],
                ["  baseline raqamd → READY after SIGTERM", String(format: "%.2f s", med("baseline snapshot")), list("baseline snapshot") + String(format: "  (this build: %.0f× faster)", med("baseline snapshot") / med("snapshot"))],
                ["  baseline RSS after READY", String(format: "%.0f MiB", med("baseline full_rss")), ""],
                ["  baseline reload, unchanged rules", String(format: "%.3f s", med("baseline reload")), list("baseline reload")],
                ["  baseline lagging --at", String(format: "%.2f s", med("baseline lagging")), list("baseline lagging") + String(format: "  (this build: %.1f× faster)", med("baseline lagging") / med("lagging"))],
            ]
        }
        var fields = [#""events":\#(size)"#, #""replay_s":\#(median(replay))"#, #""tail_s":\#(withTail.seconds)"#]
        for (k, v) in out.sorted(by: { $0.key < $1.key }) { fields.append(#""\#(k.replacingOccurrences(of: " ", with: "_"))":\#(median(v))"#) }
        return SizeResult(json: "{" + fields.joined(separator: ",") + "}", rows: rows)
    }

    /// Appends through a store that is closed, and its writer lock released, on return.
    static func append(to state: String, _ body: (FileEventStore) throws -> Void) throws {
        let store = try FileEventStore(stateDirectory: state, durability: .none)
        try body(store)
        try store.close()
    }

    struct Start { var seconds: Double; var rssMiB: Double; var reloadSeconds: Double }

    /// Launches raqamd on `state`, waits for READY=1 on a notify socket, reads its RSS, times a
    /// `reload` over the control socket, stops it with SIGTERM (it writes its snapshots).
    func startToReady(_ binDir: String, state: String) throws -> Start {
        let daemon = try RunningDaemon(binDir: binDir, state: state, rules: rulesPath)
        let rss = Double(DaemonBenchmark.status(daemon.pid, "VmRSS:")) / 1024
        let r0 = now()
        _ = try Control.exchange(daemon.socketPath, "reload")
        let reload = now() - r0
        daemon.stop()
        return Start(seconds: daemon.secondsToReady, rssMiB: rss, reloadSeconds: reload)
    }

    /// Seconds a command takes (its output discarded); throws when it fails.
    func timed(_ path: String, _ arguments: [String]) throws -> Double {
        try timedWithPeak(path, arguments).0
    }

    // MARK: append of a large file

    func measureAppend(count: Int) throws -> SizeResult {
        let base = dir + "/raqam-bench-append-\(getpid())"
        try? FileManager.default.removeItem(atPath: base)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        progress("writing an NDJSON file of \(count) events")
        let file = base + "/input.ndjson"
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        var generator = OrderedWorkload(count: count, registrations: false)
        var events: [Event] = []
        while generator.produced < count {
            let chunk = generator.next(min(10_000, count - generator.produced))
            events += chunk.count <= 10_000 && events.count < 200_000 ? chunk : []
            try handle.write(contentsOf: Data(chunk.map { EventJSON.line($0) + "\n" }.joined().utf8))
        }
        try handle.close()

        var rates: [Double] = [], peaks: [Double] = [], ceilings: [Double] = []
        let builds: [(name: String, dir: String)] = [("", bin)] + (baseline.map { [("baseline ", $0)] } ?? [])
        var baselineRates: [Double] = [], baselinePeaks: [Double] = []
        for _ in 0..<runs {
            // The ceiling: the same events, already decoded, appended by the store in chunks.
            let ceilingDir = base + "/ceiling"
            try? FileManager.default.removeItem(atPath: ceilingDir)
            let sample = Array(events.prefix(200_000))
            var seconds = 0.0
            try Self.append(to: ceilingDir) { store in
                try store.append(ReferenceData.bundled.registrationEvents())
                let c0 = now()
                for start in stride(from: 0, to: sample.count, by: 10_000) { try store.append(Array(sample[start..<min(sample.count, start + 10_000)])) }
                try store.sync()
                seconds = now() - c0
            }
            ceilings.append(Double(sample.count) / seconds)
            for build in builds {
                let state = base + "/state"
                try? FileManager.default.removeItem(atPath: state)
                progress("\(build.name)raqamctl append of \(count) events")
                _ = try timed(build.dir + "/raqamctl", ["init", "--state-dir", state])
                let (seconds, peak) = try timedWithPeak(build.dir + "/raqamctl", ["append", "--state-dir", state, "--durability", "none", "--socket", base + "/none.sock", "--snapshot-every", "0", file])
                if build.name.isEmpty { rates.append(Double(count) / seconds); peaks.append(peak) } else { baselineRates.append(Double(count) / seconds); baselinePeaks.append(peak) }
            }
        }
        var rows = [
            ["append of \(grouped(Double(count))) events (file, --durability none)", "\(grouped(median(rates))) events/s", rates.map { grouped($0) }.joined(separator: " / ") + String(format: "  (%.0f %% of the ceiling)", 100 * median(rates) / median(ceilings))],
            ["  ceiling: the store's bulk append of decoded events", "\(grouped(median(ceilings))) events/s", ceilings.map { grouped($0) }.joined(separator: " / ")],
            ["  peak RSS of raqamctl append", String(format: "%.0f MiB", median(peaks)), peaks.map { String(format: "%.0f", $0) }.joined(separator: " / ")],
        ]
        if baseline != nil {
            rows += [["  baseline: rate, peak RSS", "\(grouped(median(baselineRates))) events/s", String(format: "%.0f MiB", median(baselinePeaks))]]
        }
        let json = #"{"append_events":\#(count),"append_per_s":\#(median(rates)),"ceiling_per_s":\#(median(ceilings)),"append_peak_mib":\#(median(peaks))\#(baseline == nil ? "" : #","baseline_append_per_s":\#(median(baselineRates)),"baseline_append_peak_mib":\#(median(baselinePeaks))"#)}"#
        return SizeResult(json: json, rows: rows)
    }

    /// Seconds and peak RSS (MiB, from wait4's rusage) of a command.
    /// Runs a program to its end; its wall time and its peak RSS (MiB). Spawned with
    /// posix_spawn and reaped here with wait4 (a Foundation `Process` reaps its child on a
    /// thread of its own, which may take the rusage first and leave 0).
    func timedWithPeak(_ path: String, _ arguments: [String]) throws -> (Double, Double) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let t0 = now()
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ValidationError("\(path): cannot start it (\(String(cString: strerror(spawned))))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = now() - t0
        guard status == 0 else { throw ValidationError("\(path) \(arguments.joined(separator: " ")) failed (status \(status))") }
        return (seconds, Double(usage.ru_maxrss) / 1024)
    }
}

func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The projections benchmark's workload, occurring in order (one instant after another over
/// 266 days from the decree), as a log loaded with the events clock is: every event moves
/// the evaluation time, so the fold evaluates after nearly every one.
struct OrderedWorkload {
    var inner = WorkloadGenerator()
    let count: Int
    let registrations: Bool
    private(set) var produced = 0
    static let start = Timestamp(rfc3339: "2020-10-05T09:00:00+05:00")!.micros
    static let span: Int64 = 266 * 86_400_000_000

    init(count: Int, registrations: Bool = true) {
        self.count = count
        self.registrations = registrations
    }

    mutating func next(_ n: Int) -> [Event] {
        var events = inner.next(n + (produced == 0 ? 316 : 0), startingAt: produced)
        if produced == 0 && !registrations { events.removeFirst(316) }
        var out: [Event] = []
        out.reserveCapacity(events.count)
        for var e in events {
            if e.type != .entityRegistered {
                e.occurredAt = Timestamp(micros: Self.start + Self.span / Int64(max(1, count)) * Int64(produced), offsetMinutes: 300)
                produced += 1
            }
            out.append(e)
        }
        return out
    }
}

/// A datagram socket that receives sd_notify messages (what systemd does for Type=notify).
/// `@unchecked Sendable`: one thread reads it at a time (the starter until READY=1, then the
/// drain thread), and the socket itself is Sendable.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let socket: UnixSocket

    init(path: String) throws {
        self.path = path
        do { socket = try UnixSocket(datagramBoundAt: path) } catch { throw ValidationError("cannot make the notify socket: \(error)") }
        socket.setReceiveTimeout(seconds: 1)
    }

    deinit { unlink(path) }

    /// Reads and drops messages until `done` is set (checked at least once a second).
    func drain(until done: borrowing Atomic<Bool>) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !done.load(ordering: .relaxed) {
            _ = try? buffer.withUnsafeMutableBytes { raw throws(SystemError) in try socket.receive(into: raw) }
        }
    }

    /// Waits for a message containing `text` while `alive()` holds.
    func wait(for text: String, seconds: Int, while alive: () -> Bool) -> Bool {
        let deadline = now() + Double(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while now() < deadline && alive() {
            let n = (try? buffer.withUnsafeMutableBytes { raw throws(SystemError) in try socket.receive(into: raw) }) ?? 0
            if n > 0, String(decoding: buffer[0..<n], as: UTF8.self).contains(text) { return true }
        }
        return false
    }
}
