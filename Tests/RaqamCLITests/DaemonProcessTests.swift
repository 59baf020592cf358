import Foundation
import RaqamTestSupport
import Glibc
import RaqamSystem
import Synchronization
import Testing

/// A notify socket like systemd's: a datagram socket raqamd finds in NOTIFY_SOCKET.
final class NotifySocket: @unchecked Sendable {  // one test thread uses it
    let path: String
    let socket: UnixSocket

    init(directory: String) {
        path = directory + "/notify"
        socket = try! UnixSocket(datagramBoundAt: path)
        socket.setReceiveTimeout(.milliseconds(200))
    }


    /// Messages received until `seconds` pass or `until` says stop, each with its arrival time.
    func receive(for seconds: Double, until: ([String]) -> Bool = { _ in false }) -> [(Double, String)] {
        var out: [(Double, String)] = []
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date().timeIntervalSince(start) < seconds {
            let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out.append((Date().timeIntervalSince(start), String(decoding: buffer[0..<n], as: UTF8.self)))
                if until(out.map(\.1)) { break }
            }
        }
        return out
    }
}

/// A raqamd process on a fresh state directory (wall clock, reference data registered).
final class DaemonProcess: @unchecked Sendable {  // driven by one test
    let dir = StateDirectory("daemon")
    let process = Process()
    let notify: NotifySocket
    var socketPath: String { dir.path + "/raqamd.sock" }
    /// The HTTP API's address: none unless a test asks (tests run side by side, a fixed port would clash).
    var httpListen = ""
    /// More flags for raqamd (`--config FILE`).
    var extraArguments: [String] = []

    init(rules: [String], watchdogUsec: Int? = nil, initialize: Bool = true, start: Bool = true) throws {
        notify = NotifySocket(directory: dir.path)
        if initialize { _ = try run("raqamctl", ["init", "--state-dir", dir.path]) }
        if start { try self.start(rules: rules, watchdogUsec: watchdogUsec) }
    }

    func start(rules: [String], watchdogUsec: Int? = nil) throws {
        let p = process.isRunning || process.processIdentifier != 0 ? Process() : process
        p.executableURL = buildDirectory.appendingPathComponent("raqamd")
        p.arguments = ["--state-dir", dir.path, "--socket", socketPath, "--http-listen", httpListen] + rules.flatMap { ["--rules", $0] } + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["SWIFT_BACKTRACE"] = "enable=no"
        if let w = watchdogUsec { env["WATCHDOG_USEC"] = String(w) }
        p.environment = env
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        current = p
    }

    var current: Process?

    func signal(_ s: Int32) { kill(current!.processIdentifier, s) }

    func waitExit() -> Int32 {
        current!.waitUntilExit()
        return current!.terminationStatus
    }

    /// Sends lines to the control socket and returns the reply lines (one per request line).
    func send(_ lines: [String], replies: Int) throws -> [String] {
        try Self.exchange(socketPath, lines, replies: replies)
    }

    /// Sends lines to the control socket at `socketPath` and returns the reply lines.
    static func exchange(_ socketPath: String, _ lines: [String], replies: Int, timeoutSeconds: Int = 30) throws -> [String] {
        let connection: UnixSocket
        do { connection = try UnixSocket(connectingTo: socketPath) } catch { throw CLITestError("cannot connect: \(error)") }
        try? connection.send(Array((lines.joined(separator: "\n") + "\n").utf8))
        connection.setReceiveTimeout(seconds: timeoutSeconds)
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 65536)
        while text.filter({ $0 == "\n" }).count < replies {
            let n = (try? buffer.withUnsafeMutableBytes { (raw) throws(SystemError) in try connection.receive(into: raw) }) ?? -1
            guard n > 0 else { break }
            text += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return text.split(separator: "\n").map(String.init)
    }
}

/// Entries of the real journald matching `match`, waiting up to 10 s for `count`.
/// The MESSAGE_IDs tests look for (Sources/Journal/JournalEntry.swift, systemd/raqamd.catalog).
enum MessageIDs {
    static let rulesBrokenAtStart = "0c37a3ed2cf3486586ad91977882b02d"
}

func journalEntries(_ match: [String], count: Int = 1) throws -> [[String: Any]] {
    for _ in 0..<100 {
        let r = try runProcess("/bin/journalctl", ["-o", "json", "--no-pager"] + match).stdout
        let parsed = r.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        if parsed.count >= count { return parsed }
        usleep(100_000)
    }
    return try runProcess("/bin/journalctl", ["-o", "json", "--no-pager"] + match).stdout.split(separator: "\n")
        .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

/// True when journald accepts datagrams on its socket (a stale socket file does not count).
func journaldListens() -> Bool {
    (try? UnixSocket(connectingTo: "/run/systemd/journal/socket", kind: .datagram)) != nil
}

/// Starts a standalone journald when none listens (as root), once.
let journaldRunning: Bool = {
    if journaldListens() { return true }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/lib/systemd/systemd-journald")
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try? p.run()
    for _ in 0..<100 where !journaldListens() { usleep(50_000) }
    return journaldListens()
}()

@Suite(.serialized) struct DaemonProcessTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var districtRules: String { root.path + "/rules/districts.yaml" }

    static func assessment(_ district: String, organized: Bool, score: Int) -> String {
        let now = Date()
        let f = ISO8601DateFormatter()
        return #"{"type":"assessment.recorded","subject":"district:\#(district)","occurred_at":"\#(f.string(from: now))","data":{"organized":\#(organized),"score":\#(score)}}"#
    }

    @Test func readyComesAfterReplayAndStatusAndWatchdogFollow() throws {
        let d = try DaemonProcess(rules: [districtRules], watchdogUsec: 2_000_000)
        let messages = d.notify.receive(for: 20) { all in all.filter { $0.contains("WATCHDOG=1") }.count >= 4 }
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        let texts = messages.map(\.1)
        let ready = try #require(texts.firstIndex { $0.contains("READY=1") }, "no READY=1 in \(texts)")
        #expect(texts[ready].contains("STATUS=316 events;"), "\(texts[ready])")
        #expect(texts[ready].contains("rules; wall clock"))
        // Watchdog pings at half of WATCHDOG_USEC (1 s), after READY.
        let pings = messages.filter { $0.1.contains("WATCHDOG=1") }.map(\.0)
        #expect(pings.count >= 4)
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 > 0.7 && $0 < 1.6 }, "gaps \(gaps)")
    }

    @Test func anAppendedEventFiresAnAlertInTheJournalWithEveryField() throws {
        #expect(journaldRunning)
        let d = try DaemonProcess(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let replies = try d.send([Self.assessment("1703202", organized: false, score: 38), "status"], replies: 2)
        #expect(replies.first == "ok 317", "\(replies)")
        #expect(replies.last?.contains(#""position":317"#) == true)
        let entries = try journalEntries(["RAQAM_RULE=DistrictDigitalizationNotOrganized", "RAQAM_EVENT_SEQ=317", "_PID=\(d.current!.processIdentifier)"])
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        let e = try #require(entries.first)
        #expect(e["MESSAGE"] as? String == "Altinkul District: digitalization not organized at the proper level (score 38)")
        #expect(e["PRIORITY"] as? String == "4")
        #expect(e["MESSAGE_ID"] as? String == "1dce8befec544ea59fd2724f1e0048ba")
        #expect(e["SYSLOG_IDENTIFIER"] as? String == "raqamd")
        for (k, v) in [("RAQAM_STATE", "firing"), ("RAQAM_SCOPE", "district"), ("RAQAM_ENTITY", "district:1703202"),
                       ("RAQAM_ENTITY_NAME", "Altinkul District"), ("RAQAM_REGION", "region:1703"), ("RAQAM_VALUE", "no"),
                       ("RAQAM_ENTITY_PLACE", "district:1703202 in region:1703"),
                       ("RAQAM_SEVERITY", "warning")] {
            #expect(e[k] as? String == v, "\(k)")
        }
        #expect((e["RAQAM_ALERT_ID"] as? String)?.count == 36)
        #expect((e["RAQAM_ACTIVE_SINCE"] as? String)?.hasSuffix("+05:00") == true)
    }

    @Test func sigtermWritesASnapshotAndARestartRepeatsNoTransition() throws {
        #expect(journaldRunning)
        let d = try DaemonProcess(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        #expect(try d.send([Self.assessment("1703203", organized: false, score: 20)], replies: 1) == ["ok 317"])
        let firstPid = d.current!.processIdentifier
        #expect(try journalEntries(["RAQAM_ENTITY=district:1703203", "_PID=\(firstPid)", "RAQAM_RULE=DistrictDigitalizationNotOrganized"]).count == 1)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        #expect(FileManager.default.fileExists(atPath: d.dir.path + "/snapshots/00000000000000000317.snap"))
        // Restart: the alert did not change, so nothing is sent again.
        try d.start(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let status = try d.send(["status"], replies: 1)
        #expect(status.first?.contains(#""position":317"#) == true)
        // 207 districts silent since their registration (2020-01-01) and the one assessed.
        #expect(status.first?.contains(#""firing":208,"#) == true, "\(status)")
        usleep(500_000)
        let repeated = try runProcess("/bin/journalctl", ["-o", "json", "--no-pager", "RAQAM_ENTITY=district:1703203", "_PID=\(d.current!.processIdentifier)"]).stdout
        #expect(repeated.isEmpty, "a restart re-sent: \(repeated)")
        // SIGKILL; while raqamd is down a better assessment is appended directly; the restart
        // reports the change exactly once, by itself.
        d.signal(SIGKILL)
        _ = d.waitExit()
        let append = try run("raqamctl", ["append", "--state-dir", d.dir.path, "-"], stdin: Array((Self.assessment("1703203", organized: true, score: 90) + "\n").utf8))
        #expect(append.status == 0, "\(append.stderr)")
        try d.start(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let secondPid = d.current!.processIdentifier
        let resolved = try journalEntries(["RAQAM_ENTITY=district:1703203", "RAQAM_STATE=resolved", "RAQAM_RULE=DistrictDigitalizationNotOrganized", "_PID=\(secondPid)"])
        usleep(500_000)
        #expect(try journalEntries(["RAQAM_ENTITY=district:1703203", "RAQAM_RULE=DistrictDigitalizationNotOrganized", "_PID=\(secondPid)"]).count == 1)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        #expect(resolved.count == 1)
        // The resolved entry carries the contract's fields too, with the firing episode's id.
        let r = try #require(resolved.first)
        #expect(r["MESSAGE_ID"] as? String == "9a7393d29fde4da49bba7da39df0c30c")
        #expect(r["PRIORITY"] as? String == "4")
        #expect(r["SYSLOG_IDENTIFIER"] as? String == "raqamd")
        for field in ["MESSAGE", "RAQAM_RULE", "RAQAM_STATE", "RAQAM_SCOPE", "RAQAM_ENTITY", "RAQAM_ENTITY_NAME", "RAQAM_REGION",
                      "RAQAM_VALUE", "RAQAM_SEVERITY", "RAQAM_ALERT_ID", "RAQAM_ACTIVE_SINCE", "RAQAM_EVENT_SEQ"] {
            #expect(!((r[field] as? String) ?? "").isEmpty, "the resolved entry has no \(field)")
        }
        #expect(r["RAQAM_EVENT_SEQ"] as? String == "318")
        // It describes the state at resolution (organized, score 90), not the firing time's.
        #expect(r["MESSAGE"] as? String == "Resolved: Andijan District: digitalization now organized at the proper level (score 90)")
        #expect(r["RAQAM_VALUE"] as? String == "yes")
        // No process after the first sent a firing entry for it.
        let firing = try runProcess("/bin/journalctl", ["-o", "json", "--no-pager", "RAQAM_ENTITY=district:1703203", "RAQAM_STATE=firing",
                                                        "RAQAM_RULE=DistrictDigitalizationNotOrganized",
                                                        "RAQAM_ALERT_ID=\((resolved.first?["RAQAM_ALERT_ID"] as? String) ?? "")"]).stdout
        #expect(firing.split(separator: "\n").count == 1)
    }

    @Test func brokenRulesAtStartAreSaidAsAFailedStartNotAsRulesKeptRunning() throws {
        #expect(journaldRunning)
        let state = StateDirectory()
        let rulesDir = StateDirectory("rules")
        let file = rulesDir.path + "/broken-\(UUID().uuidString.prefix(8)).yaml"
        try "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: assessment.scor < 50\n        summary: x\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run("raqamd", ["--state-dir", state.path, "--rules", file, "--socket", state.path + "/s.sock", "--http-listen", ""])
        #expect(r.status == 65, "\(r.stderr)")
        let entries = try journalEntries(["MESSAGE_ID=\(MessageIDs.rulesBrokenAtStart)"], count: 1).filter { ($0["MESSAGE"] as? String)?.contains(file) == true }
        #expect((entries.first?["MESSAGE"] as? String)?.contains("raqamd cannot start") == true, "\(entries)")
        // Started by hand on a terminal (here a pty from script(1)), it says why on the terminal too.
        let raqamd = buildDirectory.appendingPathComponent("raqamd").path
        let onTerminal = try runProcess("/usr/bin/script", ["-qec", "\(raqamd) --state-dir \(state.path) --rules \(file) --socket \(state.path)/t.sock --http-listen ''", "/dev/null"])
        #expect(onTerminal.stdout.contains("raqamd cannot start: rules rejected: \(file):6:15: unknown metric"), "\(onTerminal.stdout)")
        // The catalog's text for it says the start failed, not that old rules keep running.
        let catalog = try String(contentsOfFile: root.path + "/systemd/raqamd.catalog", encoding: .utf8)
        let text = catalog.components(separatedBy: "-- \(MessageIDs.rulesBrokenAtStart)").last?.components(separatedBy: "\n-- ").first ?? ""
        #expect(text.contains("did not start") && !text.contains("keep running"), "\(text)")
    }

    @Test func sighupWithABrokenRuleFileKeepsTheOldRulesAndAFixedOneTakesEffect() throws {
        #expect(journaldRunning)
        let rulesDir = StateDirectory("rules")
        let file = rulesDir.path + "/r.yaml"
        let good = "groups:\n  - name: g\n    rules:\n      - alert: Assessed\n        scope: district\n        expr: assessment.score < 50\n        summary: \"{{ name }}\"\n"
            + "        labels:\n          team: digital_districts\n"
        try good.write(toFile: file, atomically: true, encoding: .utf8)
        let d = try DaemonProcess(rules: [file])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        _ = try d.send([Self.assessment("1703202", organized: true, score: 30)], replies: 1)
        try good.replacingOccurrences(of: "assessment.score < 50", with: "assessment.scor < 50").write(toFile: file, atomically: true, encoding: .utf8)
        d.signal(SIGHUP)
        let reload = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }.map(\.1)
        let reloading = try #require(reload.firstIndex { $0.hasPrefix("RELOADING=1") }, "\(reload)")
        #expect(reload[reloading...].contains { $0.contains("READY=1") })
        let rejected = try journalEntries(["MESSAGE_ID=44779b86ae8b4fd8ba47a9581813905f", "_PID=\(d.current!.processIdentifier)"])
        #expect((rejected.first?["MESSAGE"] as? String)?.contains("\(file):6:15: unknown metric 'assessment.scor'; did you mean 'assessment.score'?") == true, "\(rejected)")
        // The old rule still runs: a new low score fires.
        _ = try d.send([Self.assessment("1703203", organized: true, score: 10)], replies: 1)
        let low = try journalEntries(["RAQAM_RULE=Assessed", "RAQAM_ENTITY=district:1703203", "_PID=\(d.current!.processIdentifier)"])
        #expect(low.count == 1)
        // The rule's label is a journal field: admins select by it.
        #expect(low.first?["RAQAM_LABEL_TEAM"] as? String == "digital_districts")
        // Fixed: the new rule takes effect, the old alerts end.
        try good.replacingOccurrences(of: "alert: Assessed", with: "alert: AssessedLow").write(toFile: file, atomically: true, encoding: .utf8)
        d.signal(SIGHUP)
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let reloaded = try journalEntries(["MESSAGE_ID=89fd9e8480014127a39b5c4090082127", "_PID=\(d.current!.processIdentifier)"])
        #expect(reloaded.count == 1)
        #expect(try journalEntries(["RAQAM_RULE=AssessedLow", "_PID=\(d.current!.processIdentifier)"], count: 2).count == 2)
        #expect(try journalEntries(["RAQAM_RULE=Assessed", "RAQAM_STATE=resolved", "_PID=\(d.current!.processIdentifier)"], count: 2).count == 2)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
    }

    @Test func raqamctlAppendsThroughTheRunningDaemonAndReadsItsState() throws {
        let d = try DaemonProcess(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let base = ["--state-dir", d.dir.path, "--socket", d.socketPath]
        let file = d.dir.path + "/in.ndjson"
        try ([Self.assessment("1703202", organized: false, score: 12), Self.assessment("1703203", organized: true, score: 88)].joined(separator: "\n") + "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let first = try run("raqamctl", ["append"] + base + [file])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "appended 2 events (seq 317…318)\n")
        // A bad batch is refused whole before anything reaches the daemon.
        let bad = d.dir.path + "/bad.ndjson"
        try (Self.assessment("1799999", organized: true, score: 1) + "\n" + Self.assessment("1703202", organized: true, score: 90) + "\n")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try run("raqamctl", ["append"] + base + [bad])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("\(bad):1: subject: unknown subject district:1799999"))
        let status = try run("raqamctl", ["status", "-o", "json", "--socket", d.socketPath])
        #expect(status.stdout.contains(#""position":318"#), "\(status.stdout)")
        // --stream acknowledges each line once durable.
        let streamed = try run("raqamctl", ["append", "--stream"] + base, stdin: Array((Self.assessment("1706204", organized: false, score: 5) + "\n").utf8))
        #expect(streamed.stdout == #"{"line":1,"seq":319,"duplicate":false}"# + "\n", "\(streamed.stderr)")
        let alerts = try run("raqamctl", ["alerts", "--firing", "-o", "json"] + base)
        #expect(alerts.stdout.contains(#""rule":"DistrictDigitalizationNotOrganized","subject":"district:1703202""#))
        #expect(!alerts.stdout.contains(#""rule":"DistrictDigitalizationNotOrganized","subject":"district:1703203""#))
        let reload = try run("raqamctl", ["reload", "--socket", d.socketPath])
        #expect(reload.status == 0)
        // reload and status talk to raqamd only: a state directory is no option of theirs (it was taken and ignored).
        let stray = try run("raqamctl", ["reload"] + base)
        #expect(stray.status == 64 && stray.stderr.contains("--state-dir"), "\(stray.stderr)")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
    }

    @Test func alertsFiringShowsTheValuesOfNowNotThoseItFiredWith() throws {
        let d = try DaemonProcess(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        #expect(try d.send([Self.assessment("1703202", organized: false, score: 12)], replies: 1).first?.hasPrefix("ok ") == true)
        #expect(try d.send([Self.assessment("1703202", organized: false, score: 30)], replies: 1).first?.hasPrefix("ok ") == true)
        let base = ["--state-dir", d.dir.path, "--socket", d.socketPath, "--rules", districtRules, "-o", "json"]
        func row(_ arguments: [String]) throws -> [String: Any]? {
            let r = try run("raqamctl", arguments + base)
            #expect(r.status == 0, "\(r.stderr)")
            let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
            return rows.first { $0["rule"] as? String == "DistrictDigitalizationNotOrganized" && $0["subject"] as? String == "district:1703202" }
        }
        // The alert log keeps what it fired with; --firing tells how things are now.
        let recorded = try #require(try row(["alerts"]))
        let now = try #require(try row(["alerts", "--firing"]))
        #expect(recorded["summary"] as? String == "Altinkul District: digitalization not organized at the proper level (score 12)")
        #expect(now["summary"] as? String == "Altinkul District: digitalization not organized at the proper level (score 30)")
        #expect(now["alert_id"] as? String == recorded["alert_id"] as? String)
        #expect(now["at"] as? String == recorded["at"] as? String, "it fired once, when it fired")
        // The value is typed as lagging types it: organized == false holds, so the flag false
        // (it was the text "no" in alerts and false in lagging).
        #expect(recorded["value"] as? Bool == false, "\(recorded)")
        #expect(now["value"] as? Bool == false, "\(now)")
        let lagging = try run("raqamctl", ["lagging"] + base)
        let lagged = (try JSONSerialization.jsonObject(with: Data(lagging.stdout.utf8)) as? [[String: Any]] ?? [])
            .first { $0["rule"] as? String == "DistrictDigitalizationNotOrganized" && $0["subject"] as? String == "district:1703202" }
        #expect(lagged?["value"] as? Bool == false, "\(lagging.stdout.prefix(400))")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
    }

    /// 32 clients appending at once over the socket: every event acknowledged once with its own
    /// seq, none lost or stored twice (retried ids come back as duplicates), memory bounded.
    @Test func thirtyTwoConcurrentClientsLoseNothingAndDuplicateNothing() throws {
        let d = try DaemonProcess(rules: [districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let pid = d.current!.processIdentifier
        func hwm() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        let before = hwm()
        let clients = 32, perClient = 300
        let districts = ["1703202", "1703203", "1706204", "1706207", "1708201", "1710207", "1712211", "1714204"]
        let replies = Mutex<[[String]]>(Array(repeating: [], count: clients))
        DispatchQueue.concurrentPerform(iterations: clients) { c in
            var lines: [String] = []
            for i in 0..<perClient {
                let id = String(format: "7a000000-0000-4000-8000-%06d%06d", c, i)
                lines.append(#"{"id":"\#(id)","type":"portal.updated","subject":"district:\#(districts[(c + i) % districts.count])","occurred_at":"2021-05-01T10:00:00+05:00","data":{"posts":\#(i)}}"#)
            }
            // Each client sends its events, then the first ten again (a retry).
            let got = (try? d.send(lines + Array(lines.prefix(10)), replies: perClient + 10)) ?? []
            replies.withLock { $0[c] = got }
        }
        let all = replies.withLock { $0 }
        var seqs: [UInt64] = []
        for (c, r) in all.enumerated() {
            #expect(r.count == perClient + 10, "client \(c) got \(r.count) replies")
            let fresh = r.prefix(perClient).compactMap { $0.hasPrefix("ok ") ? UInt64($0.dropFirst(3)) : nil }
            #expect(fresh.count == perClient, "client \(c): \(r.prefix(3))")
            seqs += fresh
            let retried = r.suffix(10).compactMap { $0.hasPrefix("duplicate ") ? UInt64($0.dropFirst(10)) : nil }
            #expect(retried == Array(fresh.prefix(10)), "client \(c)'s retries")
        }
        #expect(Set(seqs).count == clients * perClient)
        #expect(seqs.min() == 317 && seqs.max() == UInt64(316 + clients * perClient))
        let grown = hwm() - before
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        #expect(grown < 64 * 1024, "raqamd's peak RSS grew by \(grown) KiB under load")
        let verify = try run("raqamctl", ["verify", "--state-dir", d.dir.path])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("\(316 + clients * perClient) records"))
    }
}
