import Foundation
import RaqamTestSupport
import Testing

/// The web view in a real browser: headless Chromium (Debian's, driven by chromium-driver and
/// selenium from PyPI through scripts/browser-check.py) against a real raqamd on the H1-2021
/// scenario. The page's numbers are compared with what raqamctl prints for the same time.
@Suite(.serialized) struct WebViewTests {
    let root = DaemonProcessTests().root

    var python: String { root.path + "/.build/venv-browser/bin/python" }

    func cli(_ arguments: [String]) throws -> String {
        let r = try run("raqamctl", arguments)
        #expect(r.status == 0, "\(arguments): \(r.stderr)")
        return r.stdout
    }

    /// `show SUBJECT --at` as it prints it: metric → value.
    func shown(_ state: String, at: String?, subject: String = "nation") throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try cli(["show", subject, "--state-dir", state] + (at.map { ["--at", $0] } ?? [])).split(separator: "\n").dropFirst() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2 { out[String(parts[0])] = String(parts[1]) }
        }
        return out
    }

    static func grouped(_ text: String?) -> String {
        guard let text, let n = Double(text) else { return "—" }
        let f = NumberFormatter()
        f.numberStyle = .decimal
        f.groupingSeparator = ","
        f.usesGroupingSeparator = true
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: NSNumber(value: n)) ?? text
    }

    @Test func thePagesShowWhatTheCLIPrintsInARealBrowserBehindASignIn() throws {
        #expect(FileManager.default.isExecutableFile(atPath: python), "no selenium venv at \(python): run make test (it installs chromium, chromium-driver and selenium)")
        let d = try HTTPReadTests().scenarioDaemon()
        let token = try d.token("nation", role: "read")
        let shots = StateDirectory("shots")
        let lagging = try JSONSerialization.jsonObject(with: Data(try cli(["lagging", "--state-dir", d.state, "--rules", root.path + "/rules", "--at", "2021-06-30", "-o", "json"]).utf8)) as? [[String: Any]] ?? []
        let flaggedDistrict = try #require(lagging.first { $0["scope"] as? String == "district" }?["subject"] as? String)
        let browser = try runProcess(python, [root.path + "/scripts/browser-check.py", d.base, token, shots.path, flaggedDistrict])
        #expect(browser.status == 0, "browser-check failed: \(browser.stderr.suffix(3000))")
        if let keep = ProcessInfo.processInfo.environment["RAQAM_KEEP_SCREENSHOTS"] {
            // To look at the pages after changing one: RAQAM_KEEP_SCREENSHOTS=/tmp/shots swift test --filter WebViewTests
            try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: shots.path)) ?? [] {
                try? FileManager.default.removeItem(atPath: keep + "/" + name)
                try? FileManager.default.copyItem(atPath: shots.path + "/" + name, toPath: keep + "/" + name)
            }
        }
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(browser.stdout.utf8)) as? [String: Any], "\(browser.stdout.prefix(500))")
        let pages = seen["pages"] as? [String: [String: Any]] ?? [:]

        // Sign-in required; a session cookie as it should be; back where one was going.
        #expect((seen["unsigned"] as? String)?.contains("/login?") == true, "\(seen["unsigned"] ?? "")")
        #expect((seen["unsigned_lagging"] as? String)?.contains("/login?") == true)
        #expect((seen["after_login"] as? String)?.hasSuffix("/?at=2021-06-30") == true, "\(seen["after_login"] ?? "")")
        let cookie = seen["session_cookie"] as? [String: Any] ?? [:]
        #expect(cookie["httpOnly"] as? Bool == true && cookie["sameSite"] as? String == "Strict", "\(cookie)")

        // The nation page: the programme's figures as show nation prints them, on each day.
        for (page, day) in [("nation", "2021-06-30"), ("nation-march", "2021-03-31")] {
            let show = try shown(d.state, at: day)
            let figures = pages[page]?["figures"] as? [String: [String: String]] ?? [:]
            func figure(_ id: String) -> [String: String] { figures["figure-" + id] ?? [:] }
            #expect(figure("sector-projects")["value"] == Self.grouped(show["projects.sector.implemented"]), "\(day)")
            #expect(figure("sector-projects")["target"] == Self.grouped(show["projects.sector.planned"]), "\(day)")
            #expect(figure("regional-projects")["value"] == Self.grouped(show["projects.regional.implemented"]), "\(day)")
            #expect(figure("regional-projects")["target"] == Self.grouped(show["projects.regional.planned"]), "\(day)")
            #expect(figure("portal-services")["value"] == Self.grouped(show["services.portal"]), "\(day)")
            #expect(figure("mobile-services")["pace"] == show["targets.services.mobile.pace"], "\(day)")
            if day == "2021-06-30" {
                #expect(figure("sector-projects")["value"] == "194" && figure("sector-projects")["target"] == "443")
                #expect(figure("regional-projects")["value"] == "1,172" && figure("regional-projects")["target"] == "1,643")
                #expect(figure("portal-services")["value"] == "253")
                #expect(figure("economy-volume")["value"] == "7.2 trillion sums")
                #expect(figure("software-export")["value"] == "17.5 million USD")
                #expect(figure("economy-volume")["pace"] == show["targets.economy.services_volume_uzs.pace"])
                #expect(figure("software-export")["pace"] == show["targets.export.software_usd.pace"])
            }
        }
        #expect((pages["nation"]?["as_of"] as? String) == "2021-06-30 23:59")
        #expect((pages["nation"]?["freshness"] as? String)?.contains("Newest event: 2021-06-") == true, "\(pages["nation"]?["freshness"] ?? "")")

        // Who lags: the counts of raqamctl lagging for the same day.
        func flagged(_ scope: String) -> Set<String> { Set(lagging.filter { $0["scope"] as? String == scope }.compactMap { $0["subject"] as? String }) }
        let count = pages["lagging"]?["count"] as? [String: String] ?? [:]
        #expect(count["orgs"] == "65" && count["districts"] == "116", "\(count)")
        #expect(count["orgs"] == String(flagged("org").count) && count["districts"] == String(flagged("district").count))
        #expect(pages["lagging"]?["rows"] as? Int == min(lagging.count, 250), "a page of at most 250 rows")
        #expect((pages["lagging"]?["row_range"] as? String)?.hasSuffix("/ \(lagging.count)") == true, "\(pages["lagging"]?["row_range"] ?? "")")
        #expect((pages["lagging-andijan"]?["scopes"] as? [String]) == ["district"])
        #expect(pages["lagging-andijan"]?["rows"] as? Int == lagging.filter { $0["scope"] as? String == "district" && $0["region"] as? String == "region:1703" }.count)

        // The map: each region's shade is its share of districts flagged, by lagging's count.
        let tiles = pages["nation"]?["tiles"] as? [[String: Any]] ?? []
        #expect(tiles.count == 14)
        for t in tiles {
            let region = t["region"] as? String ?? ""
            let districts = t["districts"] as? Int ?? 0, shownFlagged = t["flagged"] as? Int ?? -1
            let expected = Set(lagging.filter { $0["scope"] as? String == "district" && $0["region"] as? String == region }.compactMap { $0["subject"] as? String }).count
            #expect(shownFlagged == expected, "\(region)")
            let share = districts == 0 ? 0 : Double(shownFlagged) / Double(districts)
            let fill = "rgb(\(255 - Int(91 * share)),\(255 - Int(233 * share)),\(255 - Int(229 * share)))"
            #expect(t["fill"] as? String == fill, "\(region): \(t["fill"] ?? "") for \(shownFlagged)/\(districts)")
        }
        #expect((pages["region-from-map"]?["url"] as? String)?.contains("/regions/region:") == true)

        // The region's table: flagged first by default; each header sorts, the worst first.
        let byDefault = pages["region-default"]?["alerts"] as? [Int] ?? []
        #expect(!byDefault.isEmpty && byDefault.drop(while: { $0 > 0 }).allSatisfy { $0 == 0 }, "\(byDefault)")
        let byAlerts = pages["region-sorted-alerts"]?["alerts"] as? [Int] ?? []
        #expect(!byAlerts.isEmpty && byAlerts == byAlerts.sorted(by: >), "\(byAlerts)")
        let byCompletion = (pages["region-sorted-completion"]?["completion"] as? [String] ?? []).compactMap { Int($0.dropLast()) }
        #expect(!byCompletion.isEmpty && byCompletion == byCompletion.sorted(), "\(byCompletion)")
        let byLast = (pages["region-sorted-last_report"]?["last_report"] as? [String] ?? []).filter { !$0.isEmpty }
        #expect(!byLast.isEmpty && byLast == byLast.sorted(), "\(byLast)")
        #expect(pages["region-sorted-alerts"]?["sorted_by"] as? String == "alerts")

        // Monthly trends: each month-end point is what show --at that day prints; the last is the page's.
        func points(_ text: String?) -> [String: String] {
            Dictionary((text ?? "").split(separator: ";").map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init) }
                .map { ($0[0], $0.count > 1 ? $0[1] : "") }, uniquingKeysWith: { a, _ in a })
        }
        let subjectTrends = pages["subject-remembered"]?["trends"] as? [String: String] ?? [:]
        #expect(subjectTrends.count > 10, "\(subjectTrends.keys.sorted())")
        for day in ["2021-01-31", "2021-03-31", "2021-05-31"] {
            let show = try shown(d.state, at: day, subject: "district:1703202")
            for metric in ["projects.planned", "projects.implemented", "projects.completion", "activity.events"] {
                #expect(points(subjectTrends[metric])[day] == show[metric], "\(metric) on \(day): \(subjectTrends[metric] ?? "no trend")")
            }
        }
        let june = try shown(d.state, at: "2021-06-30", subject: "district:1703202")
        #expect(points(subjectTrends["projects.completion"])["2021-06-30"] == june["projects.completion"])
        let regionTrends = pages["region-default"]?["trends"] as? [String: String] ?? [:]
        let march = try shown(d.state, at: "2021-03-31", subject: "region:1703")
        #expect(points(regionTrends["completion"])["2021-03-31"] == march["projects.completion"], "\(regionTrends)")
        let marchLagging = try JSONSerialization.jsonObject(with: Data(try cli(["lagging", "--state-dir", d.state, "--rules", root.path + "/rules", "--at", "2021-03-31", "-o", "json"]).utf8)) as? [[String: Any]] ?? []
        let inAndijan = { (a: [String: Any]) in (a["subject"] as? String == "region:1703") || (a["region"] as? String == "region:1703") }
        #expect(points(regionTrends["alerts"])["2021-03-31"] == String(marchLagging.filter(inAndijan).count), "\(regionTrends["alerts"] ?? "")")
        #expect(points(regionTrends["alerts"])["2021-06-30"] == String(lagging.filter(inAndijan).count))
        #expect(pages["region-default"]?["row_trends"] as? Int == pages["region-default"]?["rows"] as? Int)

        // The present (no ?at=) is raqamd's own evaluation (on the events clock, at the newest
        // event): the alerts raqamctl alerts --firing lists, the figures of show.
        let now = try shown(d.state, at: nil)
        let nowFigures = pages["nation-now"]?["figures"] as? [String: [String: String]] ?? [:]
        #expect(nowFigures["figure-sector-projects"]?["value"] == Self.grouped(now["projects.sector.implemented"]))
        #expect(nowFigures["figure-portal-services"]?["value"] == Self.grouped(now["services.portal"]))
        #expect((pages["nation-now"]?["as_of"] as? String)?.hasPrefix("2021-06-") == true, "\(pages["nation-now"]?["as_of"] ?? "")")
        let laggingNow = try JSONSerialization.jsonObject(with: Data(try cli(["alerts", "--firing", "--state-dir", d.state, "--rules", root.path + "/rules", "-o", "json"]).utf8)) as? [[String: Any]] ?? []
        #expect((pages["lagging-now"]?["count"] as? [String: String])?["alerts"] == String(laggingNow.count))

        // Languages: the reference data's names, and the choice remembered.
        #expect((pages["region-uz"]?["h1"] as? String)?.hasPrefix("Andijon viloyati") == true)
        #expect((pages["region-uz"]?["names"] as? [String])?.contains("Oltinkoʻl tumani") == true)
        #expect((pages["region-ru"]?["h1"] as? String)?.hasPrefix("Андижанская область") == true)
        #expect((pages["region-ru"]?["names"] as? [String])?.contains("Алтынкульский район") == true)
        #expect(pages["subject-remembered"]?["html_lang"] as? String == "ru")
        #expect((pages["subject-remembered"]?["metrics"] as? Int ?? 0) > 10)
        // Its events: those of the log about it that occurred by that day, newest first, paged.
        let end = "2021-06-30T23:59:59.999999+05:00"
        let logged = try cli(["events", "--state-dir", d.state, "--subject", "district:1703202", "-o", "ndjson"]).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { ($0["occurred_at"] as? String).flatMap { ISO8601DateFormatter().date(from: String($0.prefix(19)) + String($0.suffix(6))) }.map { $0 <= ISO8601DateFormatter().date(from: "2021-06-30T23:59:59+05:00")! } ?? false }
            .compactMap { $0["seq"] as? Int }
        _ = end
        let shownEvents = pages["subject-remembered"]?["events"] as? [Int] ?? []
        #expect(pages["subject-remembered"]?["event_total"] as? Int == logged.count)
        #expect(shownEvents == Array(logged.reversed().prefix(50)), "\(shownEvents.prefix(5)) vs \(logged.reversed().prefix(5))")
        if logged.count > 50 {
            #expect((pages["subject-older"]?["events"] as? [Int]) == Array(logged.reversed().dropFirst(50).prefix(50)))
        }

        // The flagged district's page explains each alert, with events the log holds under those seqs.
        let log = Dictionary(uniqueKeysWithValues: try cli(["events", "--state-dir", d.state, "-o", "ndjson"]).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.compactMap { e in (e["seq"] as? Int).map { ($0, e) } })
        let explained = pages["explained"]?["explanations"] as? [[String: Any]] ?? []
        let flaggedRules = Set(lagging.filter { $0["subject"] as? String == flaggedDistrict }.compactMap { $0["rule"] as? String })
        #expect(Set(explained.compactMap { $0["rule"] as? String }) == flaggedRules, "\(explained.map { $0["rule"] ?? "" })")
        for x in explained {
            let clauses = x["clauses"] as? [[String]] ?? []
            #expect(clauses.first?.last == "true", "the rule's whole condition holds: \(clauses)")
            let events = x["events"] as? [[String: Any]] ?? []
            #expect(!events.isEmpty, "\(x["rule"] ?? "") names no event")
            for e in events {
                let logged = log[e["seq"] as? Int ?? -1]
                #expect(logged?["type"] as? String == e["type"] as? String, "seq \(e["seq"] ?? "") is \(logged?["type"] ?? "missing") in the log")
                #expect(logged?["subject"] as? String == flaggedDistrict)
            }
        }

        // No console errors or warnings on any page; every page under 200 KB; a screenshot each.
        let problems = (seen["console"] as? [[String: Any]] ?? []).filter { ["SEVERE", "WARNING"].contains($0["level"] as? String ?? "") }
        #expect(problems.isEmpty, "\(problems)")
        for (name, p) in pages where p["bytes"] != nil {
            #expect((p["bytes"] as? Int ?? 0) < 200_000, "\(name) weighs \(p["bytes"] ?? 0) bytes")
        }
        for name in ["nation", "nation-march", "lagging", "region-uz", "region-ru", "subject-remembered", "login"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: shots.path + "/\(name).png")[.size] as? Int) ?? 0
            #expect(size > 10_000, "no screenshot of \(name)")
        }
        // Signed out: pages send to the sign-in again.
        #expect((seen["after_logout_page"] as? String)?.contains("/login?") == true)
        #expect(d.stop() == 0)
    }

    @Test func aRevokedTokensSessionEndsAndTheCSVIsTheCLIs() throws {
        let d = try HTTPReadTests().scenarioDaemon()
        let token = try d.token("nation", role: "read")
        let jarDirectory = StateDirectory("jar")
        let jar = jarDirectory.path + "/cookies"
        func curl(_ arguments: [String]) throws -> String {
            try runProcess("/usr/bin/curl", ["-s", "-b", jar, "-c", jar] + arguments).stdout
        }
        // Without a session every page and the download send to the sign-in form.
        for path in ["/", "/lagging", "/lagging.csv", "/regions/region:1703", "/subjects/district:1703202"] {
            let r = try curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", d.base + path])
            #expect(r.hasPrefix("303 \(d.base)/login?"), "\(path): \(r)")
        }
        let signIn = try curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--data-urlencode", "token=\(token)", "-d", "next=/lagging", d.base + "/login"])
        #expect(signIn == "303 \(d.base)/lagging", "\(signIn)")
        #expect(try curl(["-o", "/dev/null", "-w", "%{http_code}", d.base + "/?at=2021-06-30"]) == "200")
        // A wrong token signs nobody in, and says why.
        let wrong = try runProcess("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-d", "token=rq_not-a-token", d.base + "/login"]).stdout
        #expect(wrong.hasSuffix("\n401") && wrong.contains("That token was refused"), "\(wrong.suffix(300))")
        // The CSV download is raqamctl lagging -o csv, byte for byte.
        let csv = try curl([d.base + "/lagging.csv?at=2021-06-30"])
        #expect(csv == (try cli(["lagging", "--state-dir", d.state, "--rules", root.path + "/rules", "--at", "2021-06-30", "-o", "csv"])))
        // Revoked: the session ends at the next page.
        let id = try #require(try cli(["tokens", "list", "--state-dir", d.state]).split(separator: "\n").dropFirst().first?.split(separator: " ").first)
        _ = try cli(["tokens", "revoke", String(id), "--state-dir", d.state])
        let after = try curl(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", d.base + "/?at=2021-06-30"])
        #expect(after.hasPrefix("303 \(d.base)/login?"), "\(after)")
        #expect(d.stop() == 0)
    }

    @Test func behindATLSProxyTheSessionCookieIsSecure() throws {
        let d = try HTTPDaemon(config: "  external_url: https://raqam.example.uz\n")
        let token = try d.token("nation", role: "read")
        let head = try runProcess("/usr/bin/curl", ["-s", "-D", "-", "-o", "/dev/null", "--data-urlencode", "token=\(token)", d.base + "/login"]).stdout.lowercased()
        let cookie = head.split(separator: "\r\n").first { $0.hasPrefix("set-cookie: raqam_session=") } ?? ""
        #expect(cookie.contains("; secure") && cookie.contains("; httponly") && cookie.contains("samesite=strict"), "\(head)")
        #expect(d.stop() == 0)
    }

    @Test func aRegionsTokenSeesItsRegionAndNobodyElses() throws {
        let d = try HTTPReadTests().scenarioDaemon()
        let andijan = try d.token("region:1703", role: "report")
        func get(_ path: String) throws -> (String, String) {
            let r = try runProcess("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(andijan)", d.base + path]).stdout
            let code = String(r.split(separator: "\n").last ?? "")
            return (code, r)
        }
        #expect(try get("/regions/region:1703?at=2021-06-30").0 == "200")
        #expect(try get("/subjects/district:1703202?at=2021-06-30").0 == "200")
        // Another region's pages and the nation's: 403, with the reason on the page.
        let bukhara = try get("/regions/region:1706?at=2021-06-30")
        #expect(bukhara.0 == "403" && bukhara.1.contains("may not read region:1706"), "\(bukhara.1.suffix(300))")
        #expect(try get("/subjects/district:1706204?at=2021-06-30").0 == "403")
        #expect(try get("/?at=2021-06-30").0 == "403")
        // Who lags lists only its own region's alerts; so does the CSV.
        let csv = try get("/lagging.csv?at=2021-06-30").1.split(separator: "\n").dropFirst().dropLast()
        #expect(!csv.isEmpty && csv.allSatisfy { $0.contains("region:1703") }, "\(csv.prefix(3))")
        #expect(d.stop() == 0)
    }
}
