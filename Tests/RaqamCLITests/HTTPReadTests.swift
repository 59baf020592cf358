import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import RaqamTestSupport
import Testing

/// The reads over HTTP give what raqamctl prints for the same log and time, and a report
/// token sees its own scope only.
@Suite(.serialized) struct HTTPReadTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// raqamd over the H1-2021 scenario on the events clock, with the bundled rules.
    func scenarioDaemon() throws -> HTTPDaemon {
        try HTTPDaemon(rules: [root.path + "/rules"]) { (state: String) throws in
            let file = state + "/h1.ndjson"
            #expect(try run("raqamctl", ["demo", "--output", file]).status == 0)
            #expect(try run("raqamctl", ["init", "--state-dir", state, "--clock", "events", "--effective", "2020-10-05"]).status == 0)
            #expect(try run("raqamctl", ["append", "--state-dir", state, file]).status == 0)
        }
    }

    func cli(_ arguments: [String]) throws -> Any {
        let r = try run("raqamctl", arguments)
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: .fragmentsAllowed)
    }

    func same(_ a: Any, _ b: Any) -> Bool { NSDictionary(dictionary: ["v": a]).isEqual(to: ["v": b]) }

    @Test func explainTellsWhyWithTheEventsTheLogHoldsAndAnswersAsTheCLIDoes() async throws {
        let d = try scenarioDaemon()
        let reader = try d.token("nation", role: "read")
        let lagging = try cli(["lagging", "--state-dir", d.state, "--rules", root.path + "/rules", "--at", "2021-06-30", "-o", "json"]) as! [[String: Any]]
        let flagged = try #require(lagging.first { $0["rule"] as? String == "DistrictDigitalizationNotOrganized" })
        let subject = try #require(flagged["subject"] as? String)
        let http = try await d.request("GET", "/v1/explain?subject=\(subject)&at=2021-06-30", token: reader)
        #expect(http.status == 200, "\(http.text)")
        let viaCLI = try cli(["explain", subject, "--state-dir", d.state, "--rules", root.path + "/rules", "--at", "2021-06-30", "-o", "json"])
        let explanations = try #require(try JSONSerialization.jsonObject(with: http.body) as? [[String: Any]])
        #expect(same(explanations, viaCLI))
        let x = try #require(explanations.first { $0["rule"] as? String == "DistrictDigitalizationNotOrganized" })
        #expect(x["holds"] as? Bool == true && x["state"] as? String == "firing")
        #expect(x["expression"] as? String == "assessment.organized == false or assessment.score < 50")
        let clauses = x["clauses"] as? [[String: Any]] ?? []
        #expect(clauses.map { $0["text"] as? String ?? "" } == ["assessment.organized == false or assessment.score < 50", "assessment.organized == false", "assessment.score < 50"])
        // The score shown is the newest assessment's, and that event is in the log under its seq.
        let metrics = x["metrics"] as? [[String: Any]] ?? []
        let score = try #require(metrics.first { $0["metric"] as? String == "assessment.score" })
        let newest = try #require((score["events"] as? [[String: Any]])?.first)
        let seq = try #require(newest["seq"] as? Int)
        let lines = try run("raqamctl", ["events", "--state-dir", d.state, "--subject", subject, "--type", "assessment.recorded", "-o", "ndjson"]).stdout
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let event = try #require(lines.first { $0["seq"] as? Int == seq })
        #expect((event["data"] as? [String: Any])?["score"] as? Double == score["value"] as? Double, "\(event) vs \(score)")
        #expect(event["occurred_at"] as? String == newest["occurred_at"] as? String)
        // A rule that does not flag it is explained on request, and says so.
        let other = try await d.request("GET", "/v1/explain?subject=\(subject)&rule=HokimPortalMissing&at=2021-06-30", token: reader)
        let one = (try? JSONSerialization.jsonObject(with: other.body)) as? [[String: Any]] ?? []
        #expect(one.count == 1 && one.first?["rule"] as? String == "HokimPortalMissing")
        #expect(try await d.request("GET", "/v1/explain?subject=district:1799999", token: reader).status == 404)
        #expect(try await d.request("GET", "/v1/explain", token: reader).status == 400)
        #expect(d.stop() == 0)
    }

    @Test func readsAnswerAsTheCLIDoesForTheSamePositionAndTime() async throws {
        let d = try scenarioDaemon()
        let reader = try d.token("nation", role: "read")
        // lagging as of 30 June 2021: the 65 organizations and 116 districts, as raqamctl lagging.
        let http = try await d.request("GET", "/v1/lagging?at=2021-06-30", token: reader)
        #expect(http.status == 200)
        let viaHTTP = try JSONSerialization.jsonObject(with: http.body) as! [[String: Any]]
        let viaCLI = try cli(["lagging", "--state-dir", d.state, "--rules", root.path + "/rules", "--at", "2021-06-30", "-o", "json"]) as! [[String: Any]]
        #expect(viaHTTP.count == viaCLI.count && !viaHTTP.isEmpty)
        #expect(same(viaHTTP, viaCLI))
        #expect(Set(viaHTTP.filter { $0["scope"] as? String == "org" }.compactMap { $0["subject"] as? String }).count == 65)
        #expect(Set(viaHTTP.filter { $0["scope"] as? String == "district" }.compactMap { $0["subject"] as? String }).count == 116)
        let districts = try JSONSerialization.jsonObject(with: try await d.request("GET", "/v1/lagging?at=2021-06-30&scope=district&region=region:1703", token: reader).body) as! [[String: Any]]
        #expect(!districts.isEmpty && districts.allSatisfy { $0["scope"] as? String == "district" && $0["region"] as? String == "region:1703" })

        for subject in ["nation", "region:1703", "district:1703202", "org:ministry-justice"] {
            let a = try await d.request("GET", "/v1/subjects/\(subject)?at=2021-06-30&known_at=2030-01-01", token: reader)
            #expect(a.status == 200, "\(subject): \(a.text)")
            let b = try cli(["show", subject, "--state-dir", d.state, "--at", "2021-06-30", "--known-at", "2030-01-01", "-o", "json"])
            #expect(same(a.json, b), "\(subject)")
        }
        let alerts = try JSONSerialization.jsonObject(with: try await d.request("GET", "/v1/alerts?state=firing", token: reader).body)
        #expect(same(alerts, try cli(["alerts", "--state-dir", d.state, "--firing", "-o", "json"])))

        // Events, paged by seq: the pages joined are raqamctl events.
        var lines: [String] = []
        var after = 0
        while true {
            let page = try await d.request("GET", "/v1/events?after_seq=\(after)&limit=1000", token: reader)
            #expect(page.status == 200 && page.headers["content-type"] == "application/x-ndjson")
            lines += page.text.split(separator: "\n").map(String.init)
            guard let next = page.headers["raqam-next-after-seq"].flatMap({ Int($0) }) else { break }
            after = next
        }
        let cliLines = try run("raqamctl", ["events", "--state-dir", d.state, "-o", "ndjson"]).stdout.split(separator: "\n").map(String.init)
        #expect(lines == cliLines)
        let typed = try await d.request("GET", "/v1/events?type=portal.launched&subject=district:1703202", token: reader)
        #expect(typed.text.split(separator: "\n").allSatisfy { $0.contains("\"portal.launched\"") && $0.contains("district:1703202") })
        #expect(d.stop() == 0)
    }

    @Test func aReportTokenReadsItsOwnScopeOnly() async throws {
        let d = try scenarioDaemon()
        let region = try d.token("region:1703")
        #expect(try await d.request("GET", "/v1/subjects/district:1703202", token: region).status == 200)
        #expect(try await d.request("GET", "/v1/subjects/region:1703", token: region).status == 200)
        let other = try await d.request("GET", "/v1/subjects/district:1706204", token: region)
        #expect(other.status == 403 && other.errorCode == "forbidden")
        #expect(try await d.request("GET", "/v1/subjects/nation", token: region).status == 403)
        let lagging = try JSONSerialization.jsonObject(with: try await d.request("GET", "/v1/lagging?at=2021-06-30", token: region).body) as! [[String: Any]]
        #expect(!lagging.isEmpty && lagging.allSatisfy { ($0["subject"] as? String) == "region:1703" || ($0["region"] as? String) == "region:1703" })
        let events = try await d.request("GET", "/v1/events?limit=10000", token: region)
        #expect(events.text.split(separator: "\n").allSatisfy { $0.contains("\"subject\":\"region:1703\"") || $0.contains("\"subject\":\"district:1703") })
        #expect(try await d.request("GET", "/v1/events?subject=org:ministry-justice", token: region).status == 403)
        let bad = try await d.request("GET", "/v1/lagging?at=yesterday", token: region)
        #expect(bad.status == 400 && bad.errorCode == "bad_request")
        #expect(try await d.request("GET", "/v1/subjects/district:1703999", token: region).status == 404)
        #expect(d.stop() == 0)
    }
}
