import Foundation
import RaqamTestSupport
import RaqamModel
import Scenario
import Testing

/// The H1-2021 scenario as a user meets it: `raqamctl demo` appended to a state directory on
/// the events clock, then `show nation` and `lagging` as of 30 June 2021 with the bundled rules.
@Suite struct ScenarioCommandTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A state directory holding the scenario of `seed`, as the README's tour makes it.
    func replayed(seed: UInt64) throws -> StateDirectory {
        let dir = StateDirectory("scenario\(seed)")
        let file = dir.path + "/h1-2021.ndjson"
        let written = try run("raqamctl", ["demo", "--seed", String(seed), "--output", file])
        #expect(written.status == 0, "\(written.stderr)")
        let initialized = try run("raqamctl", ["init", "--state-dir", dir.path, "--clock", "events", "--effective", "2020-10-05"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let appended = try run("raqamctl", ["append", "--state-dir", dir.path, file])
        #expect(appended.status == 0, "\(appended.stderr)")
        return dir
    }

    func json(_ r: Finished) throws -> Any {
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    func lagging(_ dir: StateDirectory) throws -> [[String: Any]] {
        try json(run("raqamctl", ["lagging", "--state-dir", dir.path, "--rules", root.path + "/rules", "--at", "2021-06-30", "-o", "json"]))
            as! [[String: Any]]
    }

    /// Every figure of the report of 13 July 2021, and exactly the entities the generator made
    /// lag, each flagged by the rule of every cause it was given.
    func expectTheReportsFigures(seed: UInt64) throws {
        let dir = try replayed(seed: seed)
        let nation = try json(run("raqamctl", ["show", "nation", "--state-dir", dir.path, "--at", "2021-06-30", "-o", "json"])) as! [String: Any]
        let projects = nation["projects"] as! [String: Any]
        #expect(projects["sector"] as? [String: Int] == ["planned": 443, "implemented": 194])
        #expect(projects["regional"] as? [String: Int] == ["planned": 1_643, "implemented": 1_172])
        #expect((nation["services"] as! [String: Any])["portal"] as? Int == 253)
        #expect((nation["economy"] as! [String: Any])["services_volume_uzs"] as? Double == 7.2e12)
        #expect((nation["export"] as! [String: Any])["software_usd"] as? Double == 17.5e6)
        let targets = nation["targets"] as! [String: [String: [String: Any]]]
        #expect(targets["economy"]?["services_volume_uzs"]?["value"] as? Double == 16e12)
        #expect(targets["export"]?["software_usd"]?["value"] as? Double == 40e6)
        #expect(targets["services"]?["mobile"]?["value"] as? Double == 100)

        let alerts = try lagging(dir)
        let subjects = Set(alerts.map { $0["subject"] as! String })
        #expect(subjects.filter { $0.hasPrefix("org:") }.count == 65)
        #expect(subjects.filter { $0.hasPrefix("district:") }.count == 116)
        #expect(subjects.filter { $0.hasPrefix("region:") }.isEmpty)
        let plan = H1Scenario(seed: seed).lagging
        #expect(subjects.subtracting(["nation"]) == Set(plan.keys.map(\.description)))
        let rules = Dictionary(grouping: alerts) { $0["subject"] as! String }.mapValues { Set($0.map { $0["rule"] as! String }) }
        for (key, causes) in plan {
            for cause in causes {
                let expected = Self.rule(for: cause, org: key.kind == .org)
                #expect(rules[key.description]?.contains(expected) == true, "\(key) was made to lag by \(cause) but \(expected) does not fire")
            }
        }
    }

    static func rule(for cause: LagCause, org: Bool) -> String {
        switch cause {
        case .completion: org ? "SectorProjectsLagging" : "RegionalProjectsLagging"
        case .overdue: org ? "OrgProjectsOverdue" : "DistrictProjectsOverdue"
        case .roadmap: "NoRoadmap"
        case .portalMissing: org ? "OrgPortalMissing" : "HokimPortalMissing"
        case .portalStale: org ? "OrgPortalStale" : "HokimPortalStale"
        case .untrained: org ? "OrgStaffUntrained" : "DistrictStaffUntrained"
        case .assessment: org ? "OrgDigitalizationNotOrganized" : "DistrictDigitalizationNotOrganized"
        case .silent: org ? "OrgSilent" : "DistrictSilent"
        }
    }

    @Test func theDefaultScenarioHasTheReportsTotalsAndFlags65OrganizationsAnd116Districts() throws {
        try expectTheReportsFigures(seed: H1Scenario.defaultSeed)
    }

    @Test(arguments: [1, 2, 3, 789] as [UInt64])
    func otherSeedsMeetEveryFigureToo(seed: UInt64) throws {
        try expectTheReportsFigures(seed: seed)
    }

    @Test func theSameSeedWritesByteIdenticalEvents() throws {
        let a = try run("raqamctl", ["demo"]), b = try run("raqamctl", ["demo", "--seed", "2021"])
        #expect(a.status == 0 && b.status == 0)
        #expect(a.stdout.count > 1_000_000 && a.stdout == b.stdout)
        #expect(try run("raqamctl", ["demo", "--seed", "3"]).stdout != a.stdout)
    }

    // MARK: Why three of them lag, from their own events

    /// The subject's events as `raqamctl events --subject -o ndjson` prints them.
    func events(of subject: String, in dir: StateDirectory) throws -> [[String: Any]] {
        let r = try run("raqamctl", ["events", "--state-dir", dir.path, "--subject", subject, "-o", "ndjson"])
        #expect(r.status == 0, "\(r.stderr)")
        return try r.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func data(_ e: [String: Any]) -> [String: Any] { e["data"] as! [String: Any] }

    @Test func threeFlaggedEntitiesLagBecauseOfWhatTheirEventsSay() throws {
        let dir = try replayed(seed: H1Scenario.defaultSeed)
        let alerts = try lagging(dir).sorted { ($0["subject"] as! String) < ($1["subject"] as! String) }
        func first(_ rule: String) throws -> String { try #require(alerts.first { $0["rule"] as? String == rule }?["subject"] as? String) }

        // A district assessed "not organized at the proper level": its latest assessment says so.
        let assessed = try first("DistrictDigitalizationNotOrganized")
        let assessment = try #require(try events(of: assessed, in: dir).last { $0["type"] as? String == "assessment.recorded" })
        #expect(data(assessment)["organized"] as? Bool == false || (data(assessment)["score"] as! Double) < 50)

        // A body behind on its sector projects: at least 3 registered, under 30% implemented.
        let behind = try first("SectorProjectsLagging")
        let own = try events(of: behind, in: dir)
        let registered = own.filter { $0["type"] as? String == "project.registered" }.count
        let implemented = own.filter { $0["type"] as? String == "project.implemented" }.count
        #expect(registered >= 3 && Double(implemented) / Double(registered) < 0.30, "\(behind): \(implemented) of \(registered)")

        // A district with projects overdue: two or more due before 30 June (after any
        // rescheduling) and never implemented.
        let late = try first("DistrictProjectsOverdue")
        var due: [String: String] = [:], done: Set<String> = []
        for e in try events(of: late, in: dir) {
            let d = data(e)
            switch e["type"] as? String {
            case "project.registered", "project.rescheduled": due[d["project"] as! String] = d["due"] as? String
            case "project.implemented": done.insert(d["project"] as! String)
            default: break
            }
        }
        let overdue = due.filter { !done.contains($0.key) && $0.value < "2021-06-30" }
        #expect(overdue.count >= 2, "\(late): \(overdue)")
    }
}
