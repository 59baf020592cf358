import Foundation
import RaqamTestSupport
import Testing

@Suite struct ShowCommandTests {
    /// A state dir with the reference data and the sample of H1-2021 reports.
    func sample() throws -> StateDirectory {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, root.appendingPathComponent("examples/h1-2021-sample.ndjson").path]).status == 0)
        return dir
    }

    func json(_ r: Finished) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
    }

    @Test func showPrintsMetricsUnderTheirDottedNamesAsOfATime() throws {
        let dir = try sample()
        let r = try run("raqamctl", ["show", "district:1703202", "--state-dir", dir.path, "--at", "2021-06-30", "-o", "json"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try json(r)
        let projects = obj["projects"] as! [String: Any]
        #expect(projects["planned"] as? Int == 1)
        #expect(projects["implemented"] as? Int == 1)
        #expect(projects["completion"] as? Int == 1)
        let staff = obj["staff"] as! [String: Any]
        #expect(staff["total"] as? Int == 64)
        #expect((obj["entity"] as! [String: Any])["name"] as? String == "Altinkul District")
        #expect(obj["at"] as? String == "2021-06-30T23:59:59.999999+05:00")

        // Before the project was implemented (2021-05-14), and after its due date (2021-05-31) had not yet passed.
        let earlier = try json(try run("raqamctl", ["show", "district:1703202", "--state-dir", dir.path, "--at", "2021-05-13", "-o", "json"]))
        #expect((earlier["projects"] as! [String: Any])["implemented"] as? Int == 0)
        #expect((earlier["projects"] as! [String: Any])["overdue"] as? Int == 0)
        #expect((earlier["staff"] as! [String: Any])["total"] as? Int == 64)
    }

    @Test func theNationAddsUpEveryEntityAndMeasuresItsTargets() throws {
        let dir = try sample()
        let obj = try json(try run("raqamctl", ["show", "nation", "--state-dir", dir.path, "--at", "2021-07-31", "-o", "json"]))
        let projects = obj["projects"] as! [String: Any]
        #expect(projects["planned"] as? Int == 2)
        #expect(projects["overdue"] as? Int == 1)  // SP-MITC-001, due 2021-06-30
        #expect((obj["economy"] as! [String: Any])["services_volume_uzs"] as? Int == 7_200_000_000_000)
        #expect((obj["export"] as! [String: Any])["software_usd"] as? Int == 17_500_000)
        let target = ((obj["targets"] as! [String: Any])["services"] as! [String: Any])["mobile"] as! [String: Any]
        #expect(target["value"] as? Int == 100)
        #expect(target["current"] as? Int == 1)
        #expect(target["progress"] as? Double == 0.01)
    }

    @Test func subjectsCanBeNamedBySlugOrNameAndAmbiguityListsCandidates() throws {
        let dir = try sample()
        let bySlug = try run("raqamctl", ["show", "andijan", "--state-dir", dir.path])
        #expect(bySlug.stdout.hasPrefix("region:1703  Andijan Region"))
        let byName = try run("raqamctl", ["show", "altinkul district", "--state-dir", dir.path])
        #expect(byName.stdout.hasPrefix("district:1703202  Altinkul District"))
        let ambiguous = try run("raqamctl", ["show", "Andijan", "--state-dir", dir.path])
        #expect(ambiguous.status == 0)  // "andijan" is a region slug: exact slugs win
        let many = try run("raqamctl", ["show", "Tashkent", "--state-dir", dir.path])
        #expect(many.status == 65)
        #expect(many.stderr.contains("\"Tashkent\" matches"))
        #expect(many.stderr.contains("region:1727  Tashkent Region"))
    }

    @Test func appendWritesASnapshotEveryNEventsAndShowStartsFromIt() throws {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        let first = try run("raqamctl", ["append", "--state-dir", dir.path, "--snapshot-every", "100", "-"], stdin: ndjson(0..<10))
        #expect(first.stderr.contains("wrote the snapshot \(dir.path)/snapshots/00000000000000000326.snap"))
        let second = try run("raqamctl", ["append", "--state-dir", dir.path, "--snapshot-every", "100", "-"], stdin: ndjson(10..<20))
        #expect(!second.stderr.contains("wrote the snapshot"))
        let replay = try json(try run("raqamctl", ["replay", "--state-dir", dir.path, "-o", "json"]))
        #expect(replay["from_snapshot"] as? Int == 326)
        #expect(replay["folded"] as? Int == 10)
        #expect(replay["events"] as? Int == 336)
    }

    @Test func summaryListsEveryRegionSortedAndAsCSV() throws {
        let dir = try sample()
        let csv = try run("raqamctl", ["summary", "--scope", "region", "--state-dir", dir.path, "--sort", "projects.planned", "--descending", "-o", "csv"])
        let rows = csv.stdout.split(separator: "\n")
        #expect(rows.count == 15)
        #expect(rows[0].hasPrefix("key,name,kind,parent,projects.planned,"))
        #expect(rows[1].hasPrefix("region:1703,Andijan Region,region,"))
        let table = try run("raqamctl", ["summary", "--scope", "district", "--state-dir", dir.path])
        #expect(table.stdout.split(separator: "\n").count == 209)
        let replay = try run("raqamctl", ["replay", "--state-dir", dir.path, "-o", "json"])
        #expect(try json(replay)["events"] as? Int == 326)
    }
}
