import Foundation
import RaqamTestSupport
import Testing

/// Every command that takes `-o`, with every format its --help lists: each answers in that
/// format, and a format it does not list is a usage error (64), never a silent table.
@Suite struct OutputFormatTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let lists = ["table", "json", "ndjson", "csv"]
    static let reports = ["table", "json"]

    /// (command arguments, formats it takes). STATE is replaced by the state directory, RULES
    /// by the bundled rules, SOCKET by the daemon's socket, FILE by a file of two events.
    static let commands: [([String], [String])] = [
        (["events", "--state-dir", "STATE"], lists),
        (["summary", "--state-dir", "STATE", "--scope", "district"], lists),
        (["lagging", "--state-dir", "STATE", "--rules", "RULES", "--clock", "events", "--at", "2021-06-30"], lists),
        (["alerts", "--state-dir", "STATE", "--socket", "SOCKET"], lists),
        (["alerts", "--state-dir", "STATE", "--socket", "SOCKET", "--firing"], lists),
        (["show", "district:1703202", "--state-dir", "STATE"], reports),
        (["explain", "district:1703202", "--state-dir", "STATE", "--rules", "RULES", "--clock", "events", "--at", "2021-06-30"], reports),
        (["stats", "--state-dir", "STATE"], reports),
        (["verify", "--state-dir", "STATE"], reports),
        (["replay", "--state-dir", "STATE"], reports),
        (["status", "--socket", "SOCKET"], reports),
        (["tokens", "list", "--state-dir", "STATE"], reports),
        (["tokens", "issue", "district:1703202", "--role", "report", "--state-dir", "STATE"], reports),
        (["append", "--state-dir", "STATE", "--socket", "SOCKET", "FILE"], reports),
    ]

    /// Fields of one CSV line (quotes as RFC 4180 has them).
    static func csvFields(_ line: Substring) -> Int {
        var count = 1, quoted = false
        for c in line {
            if c == "\"" { quoted.toggle() } else if c == ",", !quoted { count += 1 }
        }
        return count
    }

    static func check(_ format: String, _ text: String, _ what: String) {
        switch format {
        case "json":
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil, "\(what): not JSON: \(text.prefix(300))")
        case "ndjson":
            for line in text.split(separator: "\n") {
                #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "\(what): not an object a line: \(line.prefix(200))")
            }
        case "csv":
            let lines = text.split(separator: "\n")
            guard let header = lines.first else { Issue.record("\(what): no CSV header"); return }
            #expect(!header.contains(" ") && header.contains(","), "\(what): not a CSV header: \(header)")
            for line in lines.dropFirst() {
                #expect(csvFields(line) == csvFields(header), "\(what): \(line.prefix(200))")
            }
        default:
            #expect(!text.isEmpty, "\(what): no table")
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8))) == nil, "\(what): a table that is JSON")
        }
    }

    @Test func everyCommandAnswersInEveryFormatItListsAndRefusesTheOthers() throws {
        let d = try DaemonProcess(rules: [DaemonProcessTests().districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        defer { d.signal(SIGTERM); _ = d.waitExit() }
        let file = d.dir.path + "/two.ndjson"
        try ([DaemonProcessTests.assessment("1703202", organized: false, score: 12), DaemonProcessTests.assessment("1703203", organized: true, score: 80)]
            .joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try run("raqamctl", ["append", "--state-dir", d.dir.path, "--socket", d.socketPath, file]).status == 0)
        for (template, formats) in Self.commands {
            let arguments = template.map {
                ["STATE": d.dir.path, "RULES": Self.root.path + "/rules", "SOCKET": d.socketPath, "FILE": file][$0] ?? $0
            }
            let name = template.prefix { !$0.hasPrefix("-") && !$0.contains(":") }.joined(separator: " ")
            let help = try run("raqamctl", Array(template.prefix { !$0.hasPrefix("-") && !$0.contains(":") }) + ["--help"]).stdout
            for format in Self.lists {
                let r = try run("raqamctl", arguments + ["-o", format])
                if formats.contains(format) {
                    #expect(r.status == 0, "\(name) -o \(format): \(r.stderr)")
                    #expect(help.contains(format), "\(name) --help does not list \(format)")
                    Self.check(format, r.stdout, "\(name) -o \(format)")
                } else {
                    #expect(r.status == 64, "\(name) -o \(format) was taken: \(r.stdout.prefix(200))")
                    #expect(r.stderr.contains("'\(format)'"), "\(name) -o \(format): \(r.stderr)")
                }
            }
        }
    }
}
