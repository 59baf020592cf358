import Foundation
import RaqamTestSupport
import Testing

/// Names in the three languages of the reference data: taken wherever a subject is, printed
/// with --lang.
@Suite struct LanguageTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func aSubjectMayBeNamedInEnglishUzbekOrRussian() throws {
        let dir = StateDirectory()
        try run("raqamctl", ["init", "--state-dir", dir.path])
        for name in ["Altinkul District", "Oltinkoʻl tumani", "oltinko'l tumani", "Алтынкульский район", "altinkul-district"] {
            let r = try run("raqamctl", ["show", name, "--state-dir", dir.path, "-o", "json"])
            #expect(r.status == 0, "\(name): \(r.stderr)")
            #expect(r.stdout.contains(#""key":"district:1703202""#), "\(name): \(r.stdout.prefix(200))")
        }
        let events = try run("raqamctl", ["events", "--state-dir", dir.path, "--subject", "Андижанская область", "-o", "ndjson"])
        #expect(events.status == 0, "\(events.stderr)")
        #expect(events.stdout.split(separator: "\n").count == 1)
        #expect(events.stdout.contains(#""subject":"region:1703""#))
        let explained = try run("raqamctl", ["explain", "Andijon viloyati", "--state-dir", dir.path, "--rules", root.path + "/rules", "--clock", "events", "--at", "2021-06-30", "-o", "json"])
        #expect(explained.status == 0, "\(explained.stderr)")
        #expect(explained.stdout.contains(#""subject":"region:1703""#) || explained.stdout == "[]\n", "\(explained.stdout.prefix(300))")
        let unknown = try run("raqamctl", ["events", "--state-dir", dir.path, "--subject", "Atlantis"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains(#"no entity is called "Atlantis""#), "\(unknown.stderr)")
    }

    @Test func langPrintsNamesInThatLanguage() throws {
        let dir = StateDirectory()
        try run("raqamctl", ["init", "--state-dir", dir.path])
        let show = try run("raqamctl", ["show", "district:1703202", "--state-dir", dir.path, "--lang", "uz"])
        #expect(show.stdout.hasPrefix("district:1703202  Oltinkoʻl tumani  (district in region:1703)"), "\(show.stdout.prefix(200))")
        let summary = try run("raqamctl", ["--lang", "ru", "summary", "--state-dir", dir.path, "--scope", "region", "-o", "csv"])
        #expect(summary.stdout.contains("region:1703,Андижанская область,"), "\(summary.stdout.prefix(300))")
        let lagging = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--clock", "events",
                                           "--at", "2021-06-30", "--lang", "uz", "-o", "json"])
        let rows = try JSONSerialization.jsonObject(with: Data(lagging.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.contains { $0["subject"] as? String == "district:1703202" && $0["name"] as? String == "Oltinkoʻl tumani" }, "\(lagging.stdout.prefix(300))")
        let table = try run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules/districts.yaml", "--clock", "events",
                                         "--at", "2021-06-30"], environment: ["RAQAM_LANG": "ru"])
        #expect(table.stdout.contains("Андижанская область (region:1703):"), "\(table.stdout.prefix(300))")
        let bad = try run("raqamctl", ["show", "nation", "--state-dir", dir.path, "--lang", "fr"])
        #expect(bad.status == 64)
    }
}
