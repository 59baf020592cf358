import Foundation
import Journal
import Logging
import RaqamTestSupport
import Testing

/// journald itself: the running one, or one this test process starts (standalone, as root)
/// when none listens; entries are read back with `journalctl -o json`.
enum RealJournald {
    static let started: Bool = {
        if Journal().isListening { return true }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/lib/systemd/systemd-journald")
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        for _ in 0..<100 where !Journal().isListening { usleep(50_000) }
        return Journal().isListening
    }()

    /// The entries matching `match` (`FIELD=value`), waiting up to 10 s for `count` of them.
    static func entries(_ match: String, count: Int = 1) throws -> [[String: Any]] {
        for _ in 0..<100 {
            let lines = try runProcess("/bin/journalctl", ["-o", "json", "--no-pager", match]).stdout.split(separator: "\n")
            let parsed = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            if parsed.count >= count { return parsed }
            usleep(100_000)
        }
        return []
    }
}

@Suite(.serialized) struct JournalTests {
    @Test func anAlertEntryReachesJournaldWithEveryField() throws {
        #expect(RealJournald.started, "no journald listens and none could be started (run as root)")
        let id = UUID().uuidString.lowercased()
        var entry = JournalEntry(message: "Altinkul District: 1 of 5 projects implemented (20%)", priority: .warning, messageID: .alertFiring)
        let fields: [(String, String)] = [
            ("RAQAM_RULE", "RegionalProjectsLagging"), ("RAQAM_STATE", "firing"), ("RAQAM_SCOPE", "district"),
            ("RAQAM_ENTITY", "district:1703202"), ("RAQAM_ENTITY_NAME", "Altinkul District"), ("RAQAM_REGION", "region:1703"),
            ("RAQAM_VALUE", "0.2"), ("RAQAM_SEVERITY", "warning"), ("RAQAM_ALERT_ID", id),
            ("RAQAM_ACTIVE_SINCE", "2021-02-01T10:00:00+05:00"), ("RAQAM_EVENT_SEQ", "322"),
        ]
        for (k, v) in fields { entry.add(k, v) }
        #expect(Journal().send(entry) == .journald)
        let found = try RealJournald.entries("RAQAM_ALERT_ID=\(id)")
        #expect(found.count == 1)
        let e = try #require(found.first)
        #expect(e["MESSAGE"] as? String == "Altinkul District: 1 of 5 projects implemented (20%)")
        #expect(e["PRIORITY"] as? String == "4")
        #expect(e["MESSAGE_ID"] as? String == MessageID.alertFiring.rawValue)
        #expect(e["SYSLOG_IDENTIFIER"] as? String == "raqamd")
        for (k, v) in fields { #expect(e[k] as? String == v, "\(k)") }
    }

    @Test func diagnosticsCarryTheirPlaceInTheCode() throws {
        #expect(RealJournald.started)
        let marker = UUID().uuidString
        let logger = Logger(label: "raqamd.test") { JournalLogHandler(label: $0, journal: Journal()) }
        logger.warning("rules rejected \(marker)", metadata: ["rules.file": "rules/x.yaml", "message.id": "\(MessageID.rulesRejected)"])
        let line = #line - 1
        let e = try #require(try RealJournald.entries("RAQAM_RULES_FILE=rules/x.yaml").first { ($0["MESSAGE"] as? String)?.hasSuffix(marker) == true })
        #expect(e["PRIORITY"] as? String == "4")
        #expect(e["MESSAGE_ID"] as? String == MessageID.rulesRejected.rawValue)
        #expect((e["CODE_FILE"] as? String)?.hasSuffix("JournalTests.swift") == true)
        #expect(e["CODE_LINE"] as? String == String(line))
        #expect(e["CODE_FUNC"] as? String == "diagnosticsCarryTheirPlaceInTheCode()")
        #expect(e["RAQAM_LOGGER"] as? String == "raqamd.test")
    }

    @Test func withoutJournaldAnEntryGoesToStandardErrorReadably() {
        let journal = Journal(socketPath: "/nonexistent/journal/socket")
        #expect(!journal.isListening)
        var entry = JournalEntry(message: "Nukus City has no hokim's portal", priority: .warning, messageID: .alertFiring)
        entry.add("RAQAM_RULE", "HokimPortalMissing")
        entry.add("RAQAM_ENTITY_NAME", "Nukus City")
        #expect(journal.send(entry) == .stderr)
        entry.add("SYSLOG_IDENTIFIER", "raqamd")
        #expect(Journal.stderrLine(entry) == "raqamd[warning]: Nukus City has no hokim's portal (MESSAGE_ID=1dce8befec544ea59fd2724f1e0048ba RAQAM_RULE=HokimPortalMissing RAQAM_ENTITY_NAME=\"Nukus City\")")
    }

    @Test(arguments: [("RAQAM_RULE", true), ("CODE_LINE", true), ("raqam_rule", false), ("RAQAM-RULE", false), ("_PID", false), ("", false),
                      (String(repeating: "A", count: 65), false), ("RAQAM_ÄRGER", false)])
    func fieldNamesJournaldWouldDropAreRefused(name: String, valid: Bool) {
        #expect(JournalEntry.isValidName(name) == valid)
    }

    @Test func metadataKeysBecomeFieldNames() {
        #expect(JournalEntry.fieldName(forMetadataKey: "event.seq") == "RAQAM_EVENT_SEQ")
        #expect(JournalEntry.fieldName(forMetadataKey: "rule.name") == "RAQAM_RULE_NAME")
        #expect(JournalEntry.isValidName(JournalEntry.fieldName(forMetadataKey: "odd key-with.dots")))
    }

    @Test func theCatalogExplainsEveryMessageIDAndJournalctlAcceptsIt() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalog = try String(contentsOf: root.appendingPathComponent("systemd/raqamd.catalog"), encoding: .utf8)
        for id in MessageID.all { #expect(catalog.contains("-- \(id.rawValue)\n"), "\(id) is not in the catalog") }
        let dir = NSTemporaryDirectory() + "raqam-catalog-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/usr/lib/systemd/catalog", withIntermediateDirectories: true)
        try catalog.write(toFile: dir + "/usr/lib/systemd/catalog/raqamd.catalog", atomically: true, encoding: .utf8)
        func journalctl(_ args: [String]) throws -> (Int32, String) {
            let r = try runProcess("/bin/journalctl", ["--root", dir] + args)
            return (r.status, r.stderr + r.stdout)
        }
        let (status, output) = try journalctl(["--update-catalog"])
        #expect(status == 0, "\(output)")
        #expect(output.isEmpty, "journalctl complained: \(output)")
        let (_, list) = try journalctl(["--list-catalog"])
        for id in MessageID.all { #expect(list.contains(id.rawValue), "\(id) missing from --list-catalog") }
    }
}
