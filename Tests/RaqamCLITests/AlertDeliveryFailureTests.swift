import Foundation
import Glibc
import RaqamTestSupport
import Testing

/// The alert log on a full disk: events are still acknowledged (they go to the event log),
/// the transitions they cause are kept and retried, raqamd says it is degraded, and once space
/// returns every transition is delivered, in order, none lost and none twice.
@Suite(.serialized) struct AlertDeliveryFailureTests {
    @Test func transitionsOwedOnAFullDiskAreDeliveredOnceSpaceReturns() throws {
        #expect(journaldRunning)
        let d = try DaemonProcess(rules: [DaemonProcessTests().districtRules], start: false)
        let alerts = d.dir.path + "/alerts"
        try FileManager.default.createDirectory(atPath: alerts, withIntermediateDirectories: true)
        let mounted = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=300k", "raqam-test-alerts", alerts])
        try #require(mounted.status == 0, "the test mounts a 300 KiB tmpfs for the alert log and needs root (CI runs as root): \(mounted.stderr)")
        defer { _ = try? runProcess("/bin/umount", ["-l", alerts]) }
        try d.start(rules: [DaemonProcessTests().districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        // At start the 208 silent districts fire (one segment of the alert log holds them);
        // 208 poor assessments then need a second segment, for which there is no room.
        let districts = try runProcess(buildDirectory.appendingPathComponent("raqamctl").path,
                                       ["events", "--state-dir", d.dir.path, "--type", "entity.registered", "-o", "ndjson"]).stdout
            .split(separator: "\n").compactMap { line -> String? in
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let s = o["subject"] as? String, s.hasPrefix("district:") else { return nil }
                return String(s.dropFirst(9))
            }
        #expect(districts.count == 208)
        let replies = try d.send(districts.map { DaemonProcessTests.assessment($0, organized: false, score: 10) }, replies: districts.count)
        #expect(replies.count == 208 && replies.allSatisfy { $0.hasPrefix("ok ") }, "acknowledged despite the full alert log: \(replies.prefix(3))")
        var degraded = ""
        for _ in 0..<300 {
            degraded = try d.send(["status"], replies: 1).first ?? ""
            if degraded.contains(#""degraded":"alert delivery retrying"#) { break }
            usleep(20_000)
        }
        #expect(degraded.contains(#""degraded":"alert delivery retrying"#), "\(degraded)")
        #expect(!degraded.contains(#""owed":0,"#), "\(degraded)")
        // Space returns: everything owed is delivered.
        #expect(try runProcess("/bin/mount", ["-o", "remount,size=8m", alerts]).status == 0)
        let synced = try d.send(["sync"], replies: 1).first ?? ""
        #expect(synced.hasPrefix("ok "), "\(synced)")
        let healthy = try d.send(["status"], replies: 1).first ?? ""
        #expect(healthy.contains(#""owed":0,"degraded":null"#), "\(healthy)")
        let pid = d.current!.processIdentifier
        let entries = try journalEntries(["_PID=\(pid)", "RAQAM_RULE=DistrictDigitalizationNotOrganized", "RAQAM_STATE=firing"], count: 208)
        let ids = entries.compactMap { $0["RAQAM_ALERT_ID"] as? String }
        #expect(ids.count == 208, "each transition once: \(ids.count) entries")
        #expect(Set(ids).count == 208)
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        let firing = try run("raqamctl", ["alerts", "--state-dir", d.dir.path, "--firing", "-o", "ndjson"]).stdout
        #expect(firing.split(separator: "\n").filter { $0.contains(#""rule":"DistrictDigitalizationNotOrganized""#) }.count == 208)
    }
}
