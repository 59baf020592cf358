import Foundation
import Glibc
import RaqamModel
import RaqamTestSupport
import Scenario
import Testing

/// The one-fold promise, end to end with the real programs: a real raqamd fed a history
/// through its control socket in batches of random size, stopped with SIGTERM at a random cut
/// (it writes its engine snapshot) and started again (it restarts from it), reports the same
/// firing alerts, with the same `active_since`, as `raqamctl lagging --at T` at the time of
/// the last event, from the snapshot and with --no-snapshot.
@Suite(.serialized) struct LiveAgreementTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Alert: Hashable, CustomStringConvertible {
        var rule: String, subject: String, activeSince: String
        var description: String { "\(rule) \(subject) since \(activeSince)" }
    }

    func alerts(_ json: String, firingOnly: Bool) throws -> Set<Alert> {
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        return Set(objects.filter { !firingOnly || $0["state"] as? String == "firing" }.map {
            Alert(rule: $0["rule"] as? String ?? "?", subject: $0["subject"] as? String ?? "?", activeSince: $0["active_since"] as? String ?? "?")
        })
    }

    @Test(arguments: [UInt64(21), 22])
    func raqamdAndLaggingReportTheSameAlertsAcrossARestart(seed: UInt64) throws {
        let daemon = try DaemonProcess(rules: [root + "/rules"], initialize: false, start: false)
        let state = daemon.dir.path
        #expect(try run("raqamctl", ["init", "--state-dir", state, "--clock", "events", "--effective", "2020-10-05"]).status == 0)
        var rng = SeededGenerator(seed: seed)
        let end = Timestamp(rfc3339: "2021-03-31T23:59:59+05:00")!.micros
        let events = H1Scenario(seed: 7).events.filter { $0.occurredAt.micros <= end }
        let cut = Int.random(in: events.count / 4..<events.count * 3 / 4, using: &rng)
        func startAndWait() throws {
            try daemon.start(rules: [root + "/rules"])
            let messages = daemon.notify.receive(for: 60) { $0.contains { $0.contains("READY=1") } }
            try #require(messages.contains { $0.1.contains("READY=1") }, "raqamd did not become ready")
        }
        try startAndWait()
        var position = 0
        var restarted = false
        while position < events.count {
            let next = min(events.count, position + Int.random(in: 1...400, using: &rng))
            let lines = events[position..<next].map { EventJSON.line($0) }
            let replies = try daemon.send(lines, replies: lines.count)
            // The scenario registers the entities again: those lines are duplicates of init's.
            let acked = replies.filter { $0.hasPrefix("ok ") || $0.hasPrefix("duplicate ") }
            #expect(replies.count == lines.count && acked.count == lines.count, "\(replies.first { !acked.contains($0) } ?? "missing replies")")
            position = next
            if !restarted && position >= cut {
                restarted = true
                daemon.signal(SIGTERM)
                #expect(daemon.waitExit() == 0)
                #expect(FileManager.default.fileExists(atPath: state + "/snapshots"), "SIGTERM wrote no snapshot")
                try startAndWait()
            }
        }
        let synced = try run("raqamctl", ["status", "--wait", "--socket", daemon.socketPath, "-o", "json"])
        #expect(synced.status == 0, "\(synced.stderr)")

        let last = try #require(events.map(\.occurredAt.micros).max())
        let at = Timestamp(micros: last, offsetMinutes: 300).rfc3339
        let live = try run("raqamctl", ["alerts", "--firing", "--state-dir", state, "--socket", daemon.socketPath, "-o", "json"])
        #expect(live.status == 0, "\(live.stderr)")
        let fromSnapshot = try run("raqamctl", ["lagging", "--state-dir", state, "--rules", root + "/rules", "--at", at, "-o", "json"])
        let fromScratch = try run("raqamctl", ["lagging", "--state-dir", state, "--rules", root + "/rules", "--at", at, "-o", "json", "--no-snapshot"])
        #expect(fromSnapshot.status == 0 && fromScratch.status == 0, "\(fromSnapshot.stderr) \(fromScratch.stderr)")
        let raqamd = try alerts(live.stdout, firingOnly: true)
        let lagging = try alerts(fromSnapshot.stdout, firingOnly: true)
        let scratch = try alerts(fromScratch.stdout, firingOnly: true)
        #expect(!scratch.isEmpty)
        #expect(raqamd == scratch, "only raqamd: \(raqamd.subtracting(scratch).sorted { $0.description < $1.description }.prefix(5)); only lagging: \(scratch.subtracting(raqamd).sorted { $0.description < $1.description }.prefix(5))")
        #expect(lagging == scratch)
        daemon.signal(SIGTERM)
        #expect(daemon.waitExit() == 0)
    }
}
