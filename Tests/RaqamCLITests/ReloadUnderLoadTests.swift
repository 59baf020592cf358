import EventLog
import Foundation
import Glibc
import RaqamModel
import RaqamStore
import Synchronization
import Testing

/// A reload with changed rules refolds the whole log off the cooperative pool: on a log of
/// 2 M events, with a short watchdog interval, raqamd keeps pinging the watchdog and keeps
/// acknowledging appends while it refolds, then switches to the new rules.
@Suite(.serialized) struct ReloadUnderLoadTests {
    static let events = Int(ProcessInfo.processInfo.environment["RAQAM_RELOAD_TEST_EVENTS"] ?? "") ?? 2_000_000

    /// Rules that read the assessment score, with the threshold given.
    static func rules(threshold: Int) -> String {
        "groups:\n  - name: load\n    rules:\n      - alert: LowScore\n        scope: district\n        expr: assessment.score < \(threshold)\n        summary: \"{{ name }}: {{ assessment.score }}\"\n"
    }

    /// Appends `count` assessments straight to the state directory's log, as the store writes
    /// them (the binary form, no id), each district's two forms encoded once; the log (and its
    /// writer lock) is gone on return.
    static func write(count: Int, of districts: [EntityKey], at: Timestamp, to state: String) throws {
        let forms: [[UInt8]] = districts.flatMap { d in
            [20.0, 80.0].map { score in
                EventCodec.encode(Event(id: nil, type: .assessmentRecorded, subject: d, occurredAt: at, source: "load",
                                        data: EventData(values: [.boolean(true), .number(score), nil])))
            }
        }
        let log = try EventLog(directory: FileEventStore.eventsDirectory(state), configuration: .init(durability: .none))
        var written = 0
        while written < count {
            let batch = (written..<min(count, written + 10_000)).map { i in
                EventLog.Entry(time: at.micros, payload: forms[(i % districts.count) * 2 + (i / districts.count) % 2])
            }
            try log.append(batch)
            written += batch.count
        }
        try log.close()
    }

    @Test(.timeLimit(.minutes(15))) func reloadWithChangedRulesOnALargeLogMissesNoWatchdogPingAndNoAppend() throws {
        let daemon = try DaemonProcess(rules: [], start: false)
        let state = daemon.dir.path
        let rulesFile = state + "/load.yaml"
        try Self.rules(threshold: 50).write(toFile: rulesFile, atomically: true, encoding: .utf8)
        // The log: the reference data (init), then 2 M assessments of the 208 districts.
        let districts = ReferenceData.bundled.districts.map(\.key)
        let at = Timestamp(micros: wallClockMicros() - 3_600_000_000, offsetMinutes: 300)
        try Self.write(count: Self.events, of: districts, at: at, to: state)

        try daemon.start(rules: [rulesFile], watchdogUsec: 2_000_000)
        let started = daemon.notify.receive(for: 600) { $0.contains { $0.contains("READY=1") } || daemon.current?.isRunning == false }
        try #require(started.contains { $0.1.contains("READY=1") }, "raqamd did not start on the \(Self.events)-event log within 10 minutes")

        // Changed rules, reloaded over the socket on a thread of its own; meanwhile events are
        // appended every 50 ms on another connection and the notify socket is read here.
        try Self.rules(threshold: 60).write(toFile: rulesFile, atomically: true, encoding: .utf8)
        let reloadReply = Mutex<String?>(nil)
        let socketPath = daemon.socketPath
        let reloader = Thread {
            let reply = (try? DaemonProcess.exchange(socketPath, ["reload"], replies: 1, timeoutSeconds: 900))?.first ?? "no reply"
            reloadReply.withLock { $0 = reply }
        }
        let reloadStart = Date()
        reloader.start()
        let appends = Mutex<(sent: Int, acked: Int, slowest: Double)>((0, 0, 0))
        let stop = Atomic<Bool>(false)
        let appender = Thread {
            var i = 0
            while !stop.load(ordering: .acquiring) {
                let line = #"{"type":"assessment.recorded","subject":"district:\#(districts[i % districts.count].code)","occurred_at":"\#(Timestamp(micros: wallClockMicros(), offsetMinutes: 300).rfc3339)","data":{"organized":true,"score":\#(i % 100)}}"#
                let t0 = Date()
                let reply = (try? DaemonProcess.exchange(socketPath, [line], replies: 1))?.first ?? ""
                let seconds = Date().timeIntervalSince(t0)
                appends.withLock { a in
                    a.sent += 1
                    if reply.hasPrefix("ok ") { a.acked += 1 }
                    a.slowest = max(a.slowest, seconds)
                }
                i += 1
                usleep(50_000)
            }
        }
        appender.start()
        let messages = daemon.notify.receive(for: 900) { _ in reloadReply.withLock { $0 } != nil }
        let reloadSeconds = Date().timeIntervalSince(reloadStart)
        stop.store(true, ordering: .releasing)
        while appends.withLock({ $0.sent }) == 0 { usleep(10_000) }

        #expect(reloadReply.withLock { $0 } == "ok reloaded")
        // The refold took long enough to need pings, and none was missed: no gap between
        // pings (or from the reload's start) reaches WATCHDOG_USEC.
        let pings = [0] + messages.filter { $0.1.contains("WATCHDOG=1") }.map(\.0) + [reloadSeconds]
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
        #expect(reloadSeconds > 2, "the refold of 2 M events took \(reloadSeconds) s: too short to show the watchdog kept going")
        #expect(gaps.allSatisfy { $0 < 2.0 }, "watchdog gaps during the reload: \(gaps.map { String(format: "%.2f", $0) })")
        let a = appends.withLock { $0 }
        #expect(a.sent > 5 && a.acked == a.sent, "\(a.acked) of \(a.sent) appends acknowledged during the reload")
        #expect(a.slowest < 1.0, "an append waited \(a.slowest) s for its ack during the reload")
        daemon.signal(SIGTERM)
        #expect(daemon.waitExit() == 0)
    }
}
