import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import RaqamTestSupport
import Testing

/// `GET /metrics` as Prometheus scrapes it.
@Suite struct HTTPMetricsTests {
    /// The samples of a scrape: `name{labels}` → value.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }

    @Test func metricsCountWhatHappenedInPrometheusNamingWithBoundedLabels() async throws {
        let secret = "scrape-secret-0123456789"
        let d = try HTTPDaemon(config: "  metrics_token: \(secret)\nverify_interval: 1s\n")
        let district = try d.token("district:1703202")
        #expect(try await d.post((1...3).map { trainingEvent("district:1703202", day: $0) }, token: district).status == 200)
        #expect(try await d.post([trainingEvent("district:1703203")], token: district).status == 403)
        #expect(try await d.post([#"{"type":"nonsense"}"#], token: district).status == 422)
        #expect(try await d.request("GET", "/metrics").status == 401)
        #expect(try await d.request("GET", "/metrics", token: district).status == 403)

        // The chain is verified soon (verify_interval 1s); the scrape then says so.
        var text = ""
        var s: [String: Double] = [:]
        for _ in 0..<300 {
            let a = try await d.request("GET", "/metrics", headers: ["Authorization": "Bearer \(secret)"])
            #expect(a.status == 200 && a.headers["content-type"]?.hasPrefix("text/plain") == true)
            text = a.text
            s = Self.samples(text)
            if (s["raqam_chain_verified_position"] ?? 0) >= 319 { break }
            usleep(50_000)
        }
        #expect(s[#"raqam_events_appended_total{type="training.reported",principal="district"}"#] == 3)
        #expect(s[#"raqam_events_refused_total{reason="forbidden"}"#] == 1)
        #expect(s[#"raqam_events_refused_total{reason="invalid"}"#] == 1)
        #expect(s[#"raqam_http_requests_total{route="/v1/events",code="200"}"#] == 1)
        #expect(s[#"raqam_http_requests_total{route="/v1/events",code="403"}"#] == 1)
        #expect((s["raqam_fsync_duration_seconds_count"] ?? 0) >= 1)
        #expect((s["raqam_append_duration_seconds_count"] ?? 0) >= 2)
        #expect((s["raqam_rule_evaluation_duration_seconds_count"] ?? 0) >= 1)
        #expect(s["raqam_log_position"] == 319)
        #expect((s["raqam_log_size_bytes"] ?? 0) > 0)
        #expect(s["raqam_chain_verified_position"] == 319)
        #expect(abs((s["raqam_chain_verified_timestamp_seconds"] ?? 0) - Date().timeIntervalSince1970) < 120)
        #expect(s[#"raqam_newest_event_timestamp_seconds{scope="district"}"#] == Double(ISO8601DateFormatter().date(from: "2021-05-03T05:00:00Z")!.timeIntervalSince1970))
        #expect(s.keys.contains { $0.hasPrefix("raqam_alerts{rule=\"DistrictSilent\",state=\"firing\"") })
        // Prometheus naming: raqam_ names, counters _total, no label with an entity in it.
        for name in s.keys {
            #expect(name.hasPrefix("raqam_"), "\(name)")
            #expect(!name.contains("district:") && !name.contains("org:") && !name.contains("region:"), "\(name)")
        }
        for line in text.split(separator: "\n") where line.hasPrefix("# TYPE") {
            let parts = line.split(separator: " ")
            if parts.last == "counter" { #expect(parts[2].hasSuffix("_total"), "\(line)") }
        }
        #expect(d.stop() == 0)
    }
}
