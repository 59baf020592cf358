import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import RaqamStore
import RaqamTestSupport
import Synchronization
import Testing

/// The HTTP intake as reporting bodies meet it: a real raqamd, real HTTP on loopback (URLSession,
/// curl for TLS), tokens issued with raqamctl, and what was stored read back from the log.
@Suite struct HTTPIntakeTests {
    /// Who reports about whom: every pair of token kind and subject kind, allowed or refused.
    static let scopeTable: [(token: String, role: String, subject: String, allowed: Bool)] = [
        ("org:ministry-justice", "report", "org:ministry-justice", true),
        ("org:ministry-justice", "report", "org:ministry-health", false),
        ("org:ministry-justice", "report", "region:1703", false),
        ("org:ministry-justice", "report", "district:1703202", false),
        ("org:ministry-justice", "report", "nation", false),
        ("region:1703", "report", "region:1703", true),
        ("region:1703", "report", "district:1703202", true),
        ("region:1703", "report", "district:1706204", false),
        ("region:1703", "report", "region:1706", false),
        ("region:1703", "report", "org:ministry-justice", false),
        ("region:1703", "report", "nation", false),
        ("district:1703202", "report", "district:1703202", true),
        ("district:1703202", "report", "district:1703203", false),
        ("district:1703202", "report", "region:1703", false),
        ("district:1703202", "report", "org:ministry-justice", false),
        ("district:1703202", "report", "nation", false),
        ("nation", "admin", "nation", true),
        ("nation", "admin", "district:1703202", true),
        ("nation", "read", "district:1703202", false),
    ]

    static func event(about subject: String, day: Int) -> String {
        subject == "nation"
            ? #"{"type":"economy.reported","subject":"nation","occurred_at":"2021-05-\#(String(format: "%02d", day))T10:00:00+05:00","source":"forged","data":{"period":"2021-05","services_volume_uzs":1000}}"#
            : trainingEvent(subject, day: day, source: "forged")
    }

    @Test func eachTokenReportsOnlyAboutItsScopeAndTheServerSetsTheSource() async throws {
        let d = try HTTPDaemon()
        var tokens: [String: String] = [:]
        for (day, row) in Self.scopeTable.enumerated() {
            let key = row.token + "/" + row.role
            if tokens[key] == nil { tokens[key] = try d.token(row.token, role: row.role) }
            let before = try d.events().count
            let a = try await d.post([Self.event(about: row.subject, day: day + 1)], token: tokens[key])
            let after = try d.events()
            if row.allowed {
                #expect(a.status == 200, "\(row): \(a.text)")
                #expect(after.count == before + 1, "\(row)")
                let source = after.last?["source"] as? String ?? ""
                #expect(source.hasPrefix(row.token + " via tk_"), "\(row): the source is the principal's, not the body's: \(source)")
            } else {
                #expect(a.status == 403, "\(row): \(a.text)")
                #expect(after.count == before, "\(row): nothing stored on refusal")
                let results = a.json["results"] as? [[String: Any]] ?? []
                #expect(results.first?["code"] as? String == "forbidden" && results.first?["line"] as? Int == 1, "\(row): \(a.text)")
            }
        }
        // A refused line refuses the whole request, the lines in scope too.
        let justice = try #require(tokens["org:ministry-justice/report"])
        let before = try d.events().count
        let mixed = try await d.post([trainingEvent("org:ministry-justice", day: 20), trainingEvent("org:ministry-health", day: 20)], token: justice)
        #expect(mixed.status == 403)
        #expect((mixed.json["results"] as? [[String: Any]])?.map { $0["line"] as? Int } == [2])
        #expect(try d.events().count == before)
        // target.set needs admin whatever the subject.
        let target = #"{"type":"target.set","subject":"org:ministry-justice","occurred_at":"2021-05-01T10:00:00+05:00","data":{"metric":"services.portal","value":10,"deadline":"2021-12-31"}}"#
        #expect(try await d.post([target], token: justice).status == 403)
        #expect(try await d.post([target], token: tokens["nation/admin"]).status == 200)
        #expect(d.stop() == 0)
    }

    @Test func missingUnknownRevokedAndExpiredTokensAre401AndStoreNothing() async throws {
        let d = try HTTPDaemon()
        let good = try d.token("district:1703202")
        let expiring = try d.token("district:1703202", extra: ["--expires", "2s"])
        let line = [trainingEvent("district:1703202")]
        #expect(try await d.post(line, token: nil).status == 401)
        let unknown = try await d.post(line, token: "rq_" + String(repeating: "A", count: 43))
        #expect(unknown.status == 401 && unknown.errorCode == "unauthorized")
        #expect(unknown.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        #expect(try await d.request("GET", "/v1/status", token: "Basic abc").status == 401)
        #expect(try await d.post(line, token: good).status == 200)
        let id = try #require(JSONSerialization.jsonObject(with: Data(run("raqamctl", ["tokens", "list", "-o", "json", "--state-dir", d.state]).stdout.utf8)) as? [[String: Any]])
            .first?["id"] as? String
        #expect(try run("raqamctl", ["tokens", "revoke", try #require(id), "--reason", "test", "--state-dir", d.state]).status == 0)
        let revoked = try await d.post([trainingEvent("district:1703202", day: 2)], token: good)
        #expect(revoked.status == 401 && revoked.text.contains("revoked"), "\(revoked.text)")
        // The expiring token works until its time, then not.
        var expired = try await d.post([trainingEvent("district:1703202", day: 3)], token: expiring)
        while expired.status == 200 { expired = try await d.post([trainingEvent("district:1703202", day: 4)], token: expiring) }
        #expect(expired.status == 401 && expired.text.contains("expired"), "\(expired.text)")
        let stored = try d.events().filter { ($0["type"] as? String) == "training.reported" }
        #expect(stored.count >= 1 && stored.allSatisfy { ($0["occurred_at"] as? String)?.hasPrefix("2021-05-02") == false })
        // No token reached raqamd's output or the token log's files.
        for file in try FileManager.default.subpathsOfDirectory(atPath: d.state + "/tokens") {
            let bytes = FileManager.default.contents(atPath: d.state + "/tokens/" + file) ?? Data()
            #expect(!String(decoding: bytes, as: UTF8.self).contains(good.dropFirst(3)), "\(file) holds a token")
        }
        #expect(d.stop() == 0)
    }

    @Test func badBodiesGetTheirStatusAndAJSONErrorAndStoreNothing() async throws {
        // A rate so low that no token comes back while the test runs, however slow the machine.
        let d = try HTTPDaemon(config: "  max_body: 4096\n  rate_limit: 0.001\n  rate_burst: 20\n")
        let token = try d.token("district:1703202")
        let before = try d.events().count
        let plain = try await d.request("POST", "/v1/events", token: token, body: Data(trainingEvent("district:1703202").utf8), contentType: "text/plain")
        #expect(plain.status == 415 && plain.errorCode == "unsupported_media_type")
        let brotli = try await d.post([trainingEvent("district:1703202")], token: token, headers: ["Content-Encoding": "br"])
        #expect(brotli.status == 415)
        let big = (1...40).map { trainingEvent("district:1703202", day: 1 + $0 % 28, trained: $0 % 10) }
        #expect(try await d.post(big, token: token).status == 413)
        let notJSON = try await d.request("POST", "/v1/events", token: token, body: Data("[{\"type\":".utf8), contentType: "application/json")
        #expect(notJSON.status == 400 && notJSON.errorCode == "bad_request")
        let unknownPath = try await d.request("GET", "/v1/nothing", token: token)
        #expect(unknownPath.status == 404 && unknownPath.errorCode == "not_found")
        #expect(try d.events().count == before)
        // The rate limit: a burst of 20, then (almost) nothing.
        let burst = (1...15).map { trainingEvent("district:1703202", day: $0) }
        #expect(try await d.post(Array(burst[0..<10]), token: token).status == 200)
        #expect(try await d.post(Array(burst[10..<15]), token: token).status == 200)
        let limited = try await d.post((16...25).map { trainingEvent("district:1703202", day: $0) }, token: token)
        #expect(limited.status == 429 && limited.errorCode == "rate_limited")
        #expect(Int(limited.headers["retry-after"] ?? "") ?? 0 >= 1, "\(limited.headers)")
        let overBurst = try await d.post((1...21).map { trainingEvent("district:1703202", day: $0, trained: 9) }, token: token)
        #expect(overBurst.status == 413 || overBurst.status == 429)
        #expect(try d.events().count == before + 15)
        #expect(d.stop() == 0)
    }

    @Test func refusedLinesAre422AllOrNothingByDefaultAndPerLineWhenAsked() async throws {
        let d = try HTTPDaemon()
        let token = try d.token("region:1703")
        let lines = [trainingEvent("district:1703202", day: 1), #"{"type":"training.reported","subject":"district:1703202","occurred_at":"2021-05-02","data":{"staff":10}}"#,
                     trainingEvent("district:1703203", day: 3), #"{"type":"nonsense"}"#]
        let atomic = try await d.post(lines, token: token)
        #expect(atomic.status == 422, "\(atomic.text)")
        #expect(atomic.json["status"] as? String == "refused")
        #expect(atomic.counts["stored"] == 0 && atomic.counts["refused"] == 2 && atomic.counts["not_stored"] == 2)
        let results = atomic.json["results"] as? [[String: Any]] ?? []
        #expect(Set(results.filter { $0["code"] as? String == "invalid" }.compactMap { $0["line"] as? Int }) == [2, 4])
        #expect(results.contains { $0["line"] as? Int == 2 && $0["field"] as? String == "occurred_at" }, "\(atomic.text)")
        #expect(try d.events().filter { ($0["type"] as? String) == "training.reported" }.isEmpty)

        let partial = try await d.post(lines, token: token, query: "?atomic=false")
        #expect(partial.status == 422 && partial.json["status"] as? String == "partial")
        #expect(partial.counts["stored"] == 2 && partial.counts["refused"] == 2)
        let seqs = partial.json["seqs"] as? [Any] ?? []
        #expect(seqs.count == 4 && seqs[0] is Int && seqs[1] is NSNull && seqs[2] is Int)
        #expect(try d.events().filter { ($0["type"] as? String) == "training.reported" }.count == 2)

        let dry = try await d.post([trainingEvent("district:1703202", day: 9)], token: token, query: "?dry_run=true")
        #expect(dry.status == 200 && dry.json["dry_run"] as? Bool == true && dry.counts["valid"] == 1 && dry.json["receipt"] is NSNull)
        #expect(try d.events().filter { ($0["occurred_at"] as? String)?.hasPrefix("2021-05-09") == true }.isEmpty)
        #expect(d.stop() == 0)
    }

    @Test func aRetryOfTheSameBodyStoresNothingAndAnswersTheSameSeqs() async throws {
        let d = try HTTPDaemon()
        let token = try d.token("district:1703202")
        let withIDs = (1...3).map { trainingEvent("district:1703202", day: $0, id: "00000000-0000-4000-8000-00000000000\($0)") }
        let withoutIDs = (4...6).map { trainingEvent("district:1703202", day: $0) }
        for body in [withIDs, withoutIDs] {
            let first = try await d.post(body, token: token)
            #expect(first.status == 200 && first.counts["stored"] == 3, "\(first.text)")
            let count = try d.events().count
            let again = try await d.post(body, token: token)
            #expect(again.status == 200 && again.counts["stored"] == 0 && again.counts["duplicates"] == 3, "\(again.text)")
            #expect(again.json["seqs"] as? [Int] == first.json["seqs"] as? [Int])
            #expect(try d.events().count == count)
        }
        // The same ids as a JSON array, gzip-compressed: still duplicates.
        let array = Data(("[" + withIDs.joined(separator: ",") + "]").utf8)
        let zipped = try await d.request("POST", "/v1/events", token: token, body: try gzipped(array), contentType: "application/json",
                                         headers: ["Content-Encoding": "gzip"])
        #expect(zipped.status == 200 && zipped.counts["duplicates"] == 3, "\(zipped.text)")
        let fresh = try await d.request("POST", "/v1/events", token: token, body: try gzipped(Data(("[" + trainingEvent("district:1703202", day: 20) + "]").utf8)),
                                        contentType: "application/json", headers: ["Content-Encoding": "gzip"])
        #expect(fresh.status == 200 && fresh.counts["stored"] == 1)
        // An id reused with other content is a conflict: 422, nothing stored.
        let conflicting = try await d.post([trainingEvent("district:1703202", day: 1, id: "00000000-0000-4000-8000-000000000001", trained: 9)], token: token)
        #expect(conflicting.status == 422 && conflicting.counts["conflicts"] == 1, "\(conflicting.text)")
        #expect((conflicting.json["results"] as? [[String: Any]])?.first?["code"] as? String == "conflict")
        #expect(d.stop() == 0)
    }

    @Test func aReceiptVerifiesAgainstTheLogAndFailsWhenTheLogNoLongerHoldsIt() async throws {
        let d = try HTTPDaemon()
        let token = try d.token("district:1703202")
        let answer = try await d.post((1...5).map { trainingEvent("district:1703202", day: $0) }, token: token)
        #expect(answer.status == 200)
        let receipt = try #require(answer.json["receipt"] as? [String: Any])
        let seqs = answer.json["seqs"] as? [Int] ?? []
        #expect(receipt["first_seq"] as? Int == seqs.first && receipt["last_seq"] as? Int == seqs.last)
        let file = d.state + "/summary.json"
        try answer.body.write(to: URL(fileURLWithPath: file))
        let ok = try run("raqamctl", ["verify", "--state-dir", d.state, "--receipt", file])
        #expect(ok.status == 0 && ok.stdout.contains("receipt  holds"), "\(ok.stdout)\(ok.stderr)")
        // Only the receipt object, with another chain: the log does not hold it.
        var forged = receipt
        let chain = receipt["chain"] as! String
        forged["chain"] = (chain.first == "0" ? "1" : "0") + chain.dropFirst()
        try JSONSerialization.data(withJSONObject: forged).write(to: URL(fileURLWithPath: file))
        #expect(try run("raqamctl", ["verify", "--state-dir", d.state, "--receipt", file]).status == 1)
        forged["chain"] = chain
        forged["last_seq"] = (receipt["last_seq"] as! Int) + 1000
        forged["first_seq"] = receipt["first_seq"]
        try JSONSerialization.data(withJSONObject: forged).write(to: URL(fileURLWithPath: file))
        #expect(try run("raqamctl", ["verify", "--state-dir", d.state, "--receipt", file]).status == 1)
        try "not json".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try run("raqamctl", ["verify", "--state-dir", d.state, "--receipt", file]).status == 65)
        #expect(d.stop() == 0)
    }

    @Test func tlsWithACertificateMadeByOpensslServesHTTPS() throws {
        let dir = StateDirectory()
        let cert = dir.path + "/cert.pem", key = dir.path + "/key.pem"
        let made = try runProcess("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                                                       "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                                       "-keyout", key, "-out", cert])
        #expect(made.status == 0, "\(made.stderr)")
        let d = try HTTPDaemon(config: "  tls_certificate: \(cert)\n  tls_key: \(key)\n")
        let token = try d.token("district:1703202")
        let body = dir.path + "/body.ndjson"
        try (trainingEvent("district:1703202") + "\n").write(toFile: body, atomically: true, encoding: .utf8)
        let posted = try runProcess("/usr/bin/curl", ["-sS", "--cacert", cert, "-o", "-", "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(token)",
                                                      "-H", "Content-Type: application/x-ndjson", "--data-binary", "@" + body, d.base + "/v1/events"])
        #expect(posted.stdout.hasSuffix("\n200"), "\(posted.stdout) \(posted.stderr)")
        #expect(try d.events().contains { ($0["subject"] as? String) == "district:1703202" && ($0["type"] as? String) == "training.reported" })
        // Without the CA the client refuses the server; plain HTTP to the TLS port gets no answer.
        #expect(try runProcess("/usr/bin/curl", ["-sS", d.base + "/healthz"]).status != 0)
        #expect(try runProcess("/usr/bin/curl", ["-sS", "-m", "5", "http://127.0.0.1:\(d.port)/healthz"]).stdout.contains("alive") == false)
        #expect(d.stop() == 0)
    }

    @Test func aTokenRevokedWhileItsOwnerSendsIsRefusedFromTheNextRequestOn() async throws {
        let d = try HTTPDaemon()
        let token = try d.token("district:1703202")
        let id = try #require((JSONSerialization.jsonObject(with: Data(run("raqamctl", ["tokens", "list", "-o", "json", "--state-dir", d.state]).stdout.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        var statuses: [Int] = []
        var revokedAt: Int?
        for i in 0..<40 {
            if i == 20 {
                #expect(try run("raqamctl", ["tokens", "revoke", id, "--state-dir", d.state]).status == 0)
                revokedAt = i
            }
            statuses.append(try await d.post([trainingEvent("district:1703202", day: 1 + i % 28, trained: i / 28)], token: token).status)
        }
        #expect(statuses[..<revokedAt!].allSatisfy { $0 == 200 } && statuses[revokedAt!...].allSatisfy { $0 == 401 }, "\(statuses)")
        #expect(try d.events().filter { ($0["type"] as? String) == "training.reported" }.count == 20)
        #expect(d.stop() == 0)
    }

    @Test func healthAndReadinessNeedNoTokenAndUntilReadyTheAPIAnswers503() async throws {
        let d = try HTTPDaemon(waitReady: false)
        let token = try d.token("district:1703202")
        // From the moment raqamd binds until the log is replayed, every answer that needs the
        // log is 503 with Retry-After; then 200. (A replay faster than the first request shows
        // only the 200.)
        var ready = false
        for _ in 0..<3000 where !ready {
            guard let a = try? await d.post([trainingEvent("district:1703202", day: 7)], token: token) else { usleep(10_000); continue }
            if a.status != 200 {
                #expect(a.status == 503 && a.headers["retry-after"] != nil && a.errorCode == "unavailable", "\(a.status) \(a.text)")
            }
            ready = a.status == 200
        }
        #expect(ready)
        let readyz = try await d.request("GET", "/readyz")
        #expect(readyz.status == 200 && readyz.json["status"] as? String == "ready")
        let health = try await d.request("GET", "/healthz")
        #expect(health.status == 200 && health.json["status"] as? String == "alive")
        let reader = try d.token("nation", role: "read")
        let status = try await d.request("GET", "/v1/status", token: reader)
        #expect(status.status == 200 && (status.json["position"] as? Int ?? 0) > 316, "\(status.text)")
        #expect(try await d.request("GET", "/v1/status").status == 401)
        #expect(d.stop() == 0)
    }

    /// raqamd held in its start: its newest engine snapshot is a FIFO nobody has written
    /// yet, so reading it (and so the replay) waits. The listener is up meanwhile: a report is
    /// 503 with Retry-After and a JSON error, /readyz says starting, /healthz is alive, and
    /// nothing is stored. Once the FIFO is closed empty (not a snapshot: ignored) raqamd folds
    /// the log, becomes ready, and the same report is stored.
    @Test func aReportWhileRaqamdStartsIs503WithRetryAfterAndStoresNothing() async throws {
        let name = "/snapshots/engine/00000000000000000001.snap"
        let d = try HTTPDaemon(waitReady: false) { (state: String) throws in
            guard try run("raqamctl", ["init", "--state-dir", state]).status == 0 else { throw CLITestError("raqamctl init failed") }
            try FileManager.default.createDirectory(atPath: state + "/snapshots/engine", withIntermediateDirectories: true)
            guard mkfifo(state + name, 0o600) == 0 else { throw CLITestError("mkfifo failed") }
        }
        let fifo = d.state + name
        // Whatever happens below, raqamd is not left waiting on the FIFO: it is released
        // (opened for writing without blocking, and closed) and raqamd ended.
        var released = false
        func release() -> Bool {
            // ENXIO until raqamd has the FIFO open for reading; give up if raqamd is gone.
            for _ in 0..<6000 {
                let fd = open(fifo, O_WRONLY | O_NONBLOCK)
                if fd >= 0 { close(fd); released = true; return true }
                guard errno == ENXIO, d.daemon.current?.isRunning == true else { return false }
                usleep(10_000)
            }
            return false
        }
        defer {
            if !released {
                _ = release()
                d.daemon.signal(SIGKILL)
                _ = d.daemon.waitExit()
            }
        }
        let token = try d.token("district:1703202")
        var health: HTTPAnswer?
        for _ in 0..<3000 where health == nil {
            health = try? await d.request("GET", "/healthz")
            if health == nil { usleep(10_000) }  // the listener is not bound yet
        }
        #expect(health?.status == 200)
        let report = trainingEvent("district:1703202", day: 9, id: "0b5e7a3c-1c9d-4c1e-9f00-000000000503")
        let early = try await d.post([report], token: token)
        #expect(early.status == 503 && Int(early.headers["retry-after"] ?? "") ?? 0 > 0 && early.errorCode == "unavailable", "\(early.status) \(early.text)")
        #expect((early.json["error"] as? [String: Any])?["message"] as? String ?? "" != "", "\(early.text)")
        let readyz = try await d.request("GET", "/readyz")
        #expect(readyz.status == 503 && readyz.errorCode == "unavailable" && readyz.text.contains("starting"), "\(readyz.text)")

        // The "snapshot" ends empty: raqamd sets it aside, folds the log and becomes ready.
        #expect(release(), "raqamd never opened its snapshot")
        let ready = d.daemon.notify.receive(for: 60) { $0.contains { $0.contains("READY=1") } }
        #expect(ready.contains { $0.1.contains("READY=1") })
        #expect(try d.events().filter { ($0["type"] as? String) == "training.reported" }.isEmpty, "the refused report was stored")
        let later = try await d.post([report], token: token)
        #expect(later.status == 200 && later.counts["stored"] == 1, "\(later.text)")
        #expect(try d.events().filter { ($0["type"] as? String) == "training.reported" }.count == 1)
        #expect(d.stop() == 0)
    }

    @Test func theContractIsServedAsDocumentedAndUnlistedMethodsAre405() async throws {
        let d = try HTTPDaemon()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let served = try await d.request("GET", "/v1/openapi.yaml")
        #expect(served.status == 200 && served.headers["content-type"] == "application/yaml")
        #expect(served.body == (try Data(contentsOf: root.appendingPathComponent("docs/api.yaml"))), "docs/api.yaml changed: run scripts/embed-openapi.sh")
        let delete = try await d.request("DELETE", "/v1/status", token: try d.token("nation", role: "read"))
        #expect(delete.status == 405 && delete.headers["allow"] == "GET" && delete.errorCode == "method_not_allowed")
        #expect(d.stop() == 0)
    }
}
