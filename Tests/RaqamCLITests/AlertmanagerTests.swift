import Foundation
import Glibc
import RaqamTestSupport
import Testing

/// Alerts handed to a real Alertmanager (Debian's prometheus-alertmanager, on loopback) that
/// routes to a webhook receiver in the test, as an operator's setup would.
@Suite(.serialized) struct AlertmanagerTests {
    static let rules = """
        groups:
          - name: assessments
            rules:
              - alert: DistrictAssessmentPoor
                scope: district
                expr: assessment.score < 50
                labels:
                  team: digital
                  severity: critical
                annotations:
                  summary: "{{ name }}: assessment score {{ assessment.score }}"
                  description: "The latest assessment scored it below 50."
                  runbook_url: "https://wiki.example.uz/runbooks/assessment#{{ key }}"
                resolved_summary: "{{ name }}: assessment score {{ assessment.score }} now"
        """

    /// raqamd (control socket only) sending to `alertmanager` every `resend` seconds.
    static func daemon(_ am: AlertmanagerProcess, resend: Int = 2, extra: String = "") throws -> DaemonProcess {
        try daemon(url: am.url, resend: resend, extra: extra)
    }

    /// raqamd sending to `url` (an Alertmanager, or what stands in front of one).
    static func daemon(url: String, resend: Int = 2, extra: String = "") throws -> DaemonProcess {
        let d = try DaemonProcess(rules: [], start: false)
        let rules = d.dir.path + "/am-rules.yaml"
        try Self.rules.write(toFile: rules, atomically: true, encoding: .utf8)
        let config = d.dir.path + "/raqamd.yaml"
        try "alertmanager:\n  urls: [\(url)]\n  resend_delay: \(resend)s\n\(extra)".write(toFile: config, atomically: true, encoding: .utf8)
        d.extraArguments = ["--config", config]
        try d.start(rules: [rules])
        guard d.notify.receive(for: 60, until: { $0.contains { $0.contains("READY=1") } }).contains(where: { $0.1.contains("READY=1") }) else {
            throw CLITestError("raqamd did not become ready")
        }
        return d
    }

    static func subjects(_ alerts: [[String: Any]]) -> Set<String> {
        Set(alerts.compactMap { ($0["labels"] as? [String: String])?["subject"] })
    }

    /// The alerts of a webhook notification, by subject, with their status.
    static func notified(_ n: [String: Any]) -> [String: String] {
        var out: [String: String] = [:]
        for a in n["alerts"] as? [[String: Any]] ?? [] {
            if let s = (a["labels"] as? [String: String])?["subject"] { out[s] = a["status"] as? String }
        }
        return out
    }

    @Test func firingAlertsReachAlertmanagerGroupedByRegionSilencedOnesStayInTheJournalAndResolvedOnesAreNotified() throws {
        #expect(journaldRunning)
        let dir = StateDirectory()
        let hook = try WebhookReceiver()
        let am = try AlertmanagerProcess(directory: dir.path, webhook: hook.url)
        // A week's silence for one district, made with amtool as an operator would.
        let silence = try am.amtool(["silence", "add", "subject=district:1706204", "--duration=168h", "--comment=reorganisation", "--author=test"])
        #expect(silence.status == 0, "\(silence.stderr)")
        let d = try Self.daemon(am)
        // Three districts of Andijan region and one (silenced) of Bukhara region score poorly.
        let poor = ["1703202", "1703203", "1703206", "1706204"]
        #expect(try d.send(poor.map { DaemonProcessTests.assessment($0, organized: true, score: 20) }, replies: 4).allSatisfy { $0.hasPrefix("ok ") })
        let firing = try am.waitFor(20) { Self.subjects($0).count == 3 }
        #expect(Self.subjects(firing) == ["district:1703202", "district:1703203", "district:1703206"], "amtool lists the unsilenced alerts: \(firing)")
        let altinkul = try #require(firing.first { ($0["labels"] as? [String: String])?["subject"] == "district:1703202" })
        let labels = altinkul["labels"] as? [String: String] ?? [:]
        #expect(labels == ["alertname": "DistrictAssessmentPoor", "severity": "critical", "scope": "district", "subject": "district:1703202",
                           "region": "region:1703", "subject_name": "Altinkul District", "team": "digital"], "\(labels)")
        let annotations = altinkul["annotations"] as? [String: String] ?? [:]
        #expect(annotations["summary"] == "Altinkul District: assessment score 20")
        #expect(annotations["description"] == "The latest assessment scored it below 50.")
        #expect(annotations["runbook_url"] == "https://wiki.example.uz/runbooks/assessment#district:1703202")
        // One notification for the three districts of one region; none for the silenced one.
        let first = hook.waitFor(20) { !$0.isEmpty }
        #expect(first.count == 1, "one notification for the group: \(first.count)")
        #expect(first.first.map(Self.notified) == ["district:1703202": "firing", "district:1703203": "firing", "district:1703206": "firing"])
        #expect((first.first?["groupLabels"] as? [String: String]) == ["alertname": "DistrictAssessmentPoor", "region": "region:1703"])
        // The silenced district's alert is in the journal all the same.
        let pid = d.current!.processIdentifier
        #expect(try journalEntries(["_PID=\(pid)", "RAQAM_ENTITY=district:1706204", "RAQAM_STATE=firing"]).count == 1)
        // Altinkul improves: its alert resolves, leaves amtool's list, and the webhook hears it.
        #expect(try d.send([DaemonProcessTests.assessment("1703202", organized: true, score: 80)], replies: 1).first?.hasPrefix("ok ") == true)
        let after = try am.waitFor(20) { !Self.subjects($0).contains("district:1703202") }
        #expect(Self.subjects(after) == ["district:1703203", "district:1703206"])
        let resolved = hook.waitFor(20) { $0.contains { Self.notified($0)["district:1703202"] == "resolved" } }
        #expect(resolved.contains { Self.notified($0)["district:1703202"] == "resolved" }, "the webhook receives the resolution: \(resolved.map(Self.notified))")
        // The resolution reads as things are at resolution, in the rule's resolved wording.
        let ended = resolved.flatMap { $0["alerts"] as? [[String: Any]] ?? [] }
            .first { ($0["labels"] as? [String: String])?["subject"] == "district:1703202" && $0["status"] as? String == "resolved" }
        #expect((ended?["annotations"] as? [String: String])?["summary"] == "Resolved: Altinkul District: assessment score 80 now")
        #expect((ended?["annotations"] as? [String: String])?["value"] == "80")
        #expect(!hook.notifications.contains { Self.notified($0)["district:1706204"] != nil }, "silenced: never notified")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
    }

    @Test func restartsOfEitherSideNeitherLoseNorRepeatNotificationsAndADownAlertmanagerNeverSlowsIntake() throws {
        let dir = StateDirectory()
        let hook = try WebhookReceiver()
        let am = try AlertmanagerProcess(directory: dir.path, webhook: hook.url)
        let resend = 2.0
        let d = try Self.daemon(am, resend: Int(resend))
        #expect(try d.send([DaemonProcessTests.assessment("1703202", organized: true, score: 20)], replies: 1).first?.hasPrefix("ok ") == true)
        #expect(Self.subjects(try am.waitFor(20) { !$0.isEmpty }) == ["district:1703202"])
        #expect(hook.waitFor(20) { !$0.isEmpty }.count == 1)

        // Alertmanager restarted (it keeps no alerts): the firing set is back within two resend delays.
        am.kill()
        try am.start()
        let restarted = Date()
        let back = try am.waitFor(4 * resend) { !$0.isEmpty }
        let took = Date().timeIntervalSince(restarted)
        #expect(Self.subjects(back) == ["district:1703202"])
        #expect(took < 2 * resend, "the firing alert was back after \(took) s")

        // raqamd killed and restarted: the same alert is sent again, and Alertmanager (which
        // dedups by labels) sends no second notification for it.
        let before = hook.waitFor(5) { $0.count >= 2 }.count
        d.signal(SIGKILL)
        _ = d.waitExit()
        try d.start(rules: [d.dir.path + "/am-rules.yaml"])
        _ = d.notify.receive(for: 60) { $0.contains { $0.contains("READY=1") } }
        // Three resend delays: raqamd re-sent the set at least twice.
        usleep(useconds_t(3 * resend * 1_000_000))
        #expect(Self.subjects(try am.query()) == ["district:1703202"])
        #expect(hook.notifications.count == before, "no notification beyond Alertmanager's own: \(hook.notifications.map(Self.notified))")

        // Alertmanager hangs (SIGSTOP: connections are accepted, nothing is answered) while events stream.
        func ackMillis(_ n: Int, offset: Int) throws -> [Double] {
            var out: [Double] = []
            let districts = ["1703203", "1703206", "1703209", "1703210", "1703211", "1703214"]
            for i in 0..<n {
                let t0 = Date()
                let reply = try d.send([DaemonProcessTests.assessment(districts[(i + offset) % districts.count], organized: true, score: 20 + (i % 2) * 60)], replies: 1)
                out.append(Date().timeIntervalSince(t0) * 1000)
                #expect(reply.first?.hasPrefix("ok ") == true)
            }
            return out.sorted()
        }
        let usual = try ackMillis(100, offset: 0)
        am.kill(SIGSTOP)
        let stalled = Date()
        var during: [Double] = []
        while Date().timeIntervalSince(stalled) < 15 { during += try ackMillis(50, offset: during.count) }
        during.sort()
        am.kill(SIGCONT)
        let median = { (x: [Double]) in x[x.count / 2] }
        #expect(median(during) < 3 * median(usual) + 5, "ack p50 \(median(usual)) ms before, \(median(during)) ms while Alertmanager hung")
        // (Not the slowest ack: on a disk shared with the other suites one fdatasync can take seconds by itself.)
        #expect(during.count > 100, "\(during.count) events acknowledged in 15 s while Alertmanager hung")
        // And once it answers again, what fired meanwhile reaches it.
        let caught = try am.waitFor(6 * resend + 10) { Self.subjects($0).count >= 2 }
        #expect(Self.subjects(caught).count >= 2, "\(caught)")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
    }

    @Test func anAlertmanagerBehindTLSAndBasicAuthGetsAlertsAndABadPasswordIsRefusedLoudly() throws {
        let dir = StateDirectory()
        let hook = try WebhookReceiver()
        let am = try AlertmanagerProcess(directory: dir.path, webhook: hook.url, web: .init(username: "raqam", password: "s3cret-\(UUID().uuidString.prefix(8))"))
        #expect(am.url.hasPrefix("https://"))
        // Without the credentials Alertmanager answers 401: the test talks to the real thing.
        #expect(try runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", dir.path + "/am-cert.pem", am.url + "/api/v2/alerts"]).stdout == "401")
        let password = dir.path + "/am-password"
        try (am.web!.password + "\n").write(toFile: password, atomically: true, encoding: .utf8)
        let access = "  ca_file: \(dir.path)/am-cert.pem\n  basic_auth:\n    username: raqam\n    password_file: \(password)\n"
        let d = try Self.daemon(am, extra: access)
        #expect(try d.send([DaemonProcessTests.assessment("1703202", organized: true, score: 20)], replies: 1).first?.hasPrefix("ok ") == true)
        let deadline = Date(timeIntervalSinceNow: 20)
        var seen: [[String: Any]] = []
        while Date() < deadline {
            seen = try am.apiAlerts()
            if !seen.isEmpty { break }
            usleep(100_000)
        }
        #expect(Self.subjects(seen) == ["district:1703202"], "\(seen)")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)

        // A wrong password: Alertmanager refuses, raqamd says so (naming the answer) and counts it.
        try "not-the-password\n".write(toFile: password, atomically: true, encoding: .utf8)
        let wrong = try Self.daemon(am, extra: access)
        #expect(try wrong.send([DaemonProcessTests.assessment("1703203", organized: true, score: 20)], replies: 1).first?.hasPrefix("ok ") == true)
        let refused = try journalEntries(["_PID=\(wrong.current!.processIdentifier)", "PRIORITY=3"], count: 2)
        let message = refused.compactMap { $0["MESSAGE"] as? String }.first { $0.contains("HTTP 401") } ?? ""
        #expect(message.contains("Alertmanager \(am.url) refused") && message.contains("HTTP 401"), "\(refused.compactMap { $0["MESSAGE"] })")
        #expect(!Self.subjects(try am.apiAlerts()).contains("district:1703203"))
        wrong.signal(SIGTERM)
        #expect(wrong.waitExit() == 0)
    }

    @Test func aFullQueueForAnUnreachableAlertmanagerDropsCountsAndSaysSoWhileIntakeGoesOn() async throws {
        let dir = StateDirectory()
        let rules = dir.path + "/am-rules.yaml"
        try Self.rules.write(toFile: rules, atomically: true, encoding: .utf8)
        let dead = "http://127.0.0.1:\(freePort())"  // nothing listens there
        let secret = "metrics-\(UUID().uuidString.prefix(8))"
        let d = try HTTPDaemon(config: "  metrics_token: \(secret)\nalertmanager:\n  urls: [\(dead)]\n  queue_capacity: 2\n  resend_delay: 1m\n", rules: [rules])
        // Five districts score poorly: five alerts for a queue of two.
        let poor = ["1703202", "1703203", "1703206", "1706204", "1706207"]
        let acks = try d.daemon.send(poor.map { DaemonProcessTests.assessment($0, organized: true, score: 20) }, replies: 5)
        #expect(acks.allSatisfy { $0.hasPrefix("ok ") }, "intake goes on: \(acks)")
        func metric(_ name: String) async throws -> Double? {
            let text = try await d.request("GET", "/metrics", headers: ["Authorization": "Bearer \(secret)"]).text
            return text.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        let deadline = Date(timeIntervalSinceNow: 20)
        var dropped: Double?
        while Date() < deadline {
            dropped = try await metric("raqam_alertmanager_alerts_dropped_total{alertmanager=\"\(dead)\",reason=\"queue_full\"}")
            if dropped == 3 { break }
            usleep(100_000)
        }
        let got = dropped.map { "\($0)" } ?? "none"
        #expect(dropped == 3, "five alerts, a queue of two: three dropped (got \(got))")
        #expect(try await metric("raqam_alertmanager_queue_length{alertmanager=\"\(dead)\"}") == 2)
        // A refused connection is a failure at once (then retried with backoff), not after the timeout.
        #expect((try await metric("raqam_alertmanager_send_failures_total{alertmanager=\"\(dead)\"}") ?? 0) >= 1)
        // Said in the journal, with where and why; the five transitions are there all the same.
        let pid = d.daemon.current!.processIdentifier
        let said = try journalEntries(["_PID=\(pid)", "PRIORITY=3"]).compactMap { $0["MESSAGE"] as? String }
        #expect(said.contains { $0.contains("Alertmanager \(dead):") && $0.contains("dropped (its queue of 2 is full while it cannot be reached)") }, "\(said)")
        #expect(try journalEntries(["_PID=\(pid)", "RAQAM_RULE=DistrictAssessmentPoor", "RAQAM_STATE=firing"], count: 5).count == 5)
        #expect(d.stop() == 0)
    }

    @Test func theAlertmanagerConfigurationInTheDocsIsOneAlertmanagerAccepts() throws {
        let docs = try String(contentsOfFile: DaemonProcessTests().root.path + "/docs/alerting.md", encoding: .utf8)
        let start = try #require(docs.range(of: "```yaml\n# /etc/prometheus/alertmanager.yml\n"))
        let end = try #require(docs.range(of: "```", range: start.upperBound..<docs.endIndex))
        let dir = StateDirectory()
        try String(docs[start.upperBound..<end.lowerBound]).write(toFile: dir.path + "/alertmanager.yml", atomically: true, encoding: .utf8)
        let check = try runProcess("/usr/bin/amtool", ["check-config", dir.path + "/alertmanager.yml"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS"))
    }

    /// Alertmanager itself checks no bearer token: a reverse proxy in front of it does. The
    /// stand-in here is that proxy, a real HTTP server that keeps what reaches it.
    @Test func aBearerTokenFromItsFileGoesWithEveryPost() throws {
        let proxy = try WebhookReceiver()
        let dir = StateDirectory()
        let token = "rq-am-\(UUID().uuidString)"
        try (token + "\n").write(toFile: dir.path + "/am-token", atomically: true, encoding: .utf8)
        let d = try Self.daemon(url: "http://127.0.0.1:\(proxy.port)", extra: "  bearer_token_file: \(dir.path)/am-token\n")
        #expect(try d.send([DaemonProcessTests.assessment("1703202", organized: true, score: 20)], replies: 1).first?.hasPrefix("ok ") == true)
        _ = proxy.waitFor(20) { !$0.isEmpty || !proxy.heads.isEmpty }
        let head = try #require(proxy.heads.first)
        #expect(head.hasPrefix("post /api/v2/alerts http/1.1"))
        #expect(head.contains("authorization: bearer \(token.lowercased())"), "\(head)")
        let sent = try JSONSerialization.jsonObject(with: try #require(proxy.inbox.bodies.withLock { $0.first })) as? [[String: Any]]
        #expect((sent?.first?["labels"] as? [String: String])?["subject"] == "district:1703202")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
    }
}
