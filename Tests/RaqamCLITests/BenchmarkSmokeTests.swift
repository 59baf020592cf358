import Foundation
import Testing

/// `raqam-bench --quick --json` as a smoke run: every benchmark completes and reports positive
/// figures. (Timings on a shared machine, in a debug build, are not pass/fail: the figures that
/// count come from the release build, in docs/performance.md.)
@Suite struct BenchmarkSmokeTests {
    @Test(.timeLimit(.minutes(10))) func everyBenchmarkCompletesWithPositiveFigures() throws {
        #expect(journaldRunning, "the raqamd benchmark reads its entries from journald")
        let dir = StateDirectory()
        let r = try run("raqam-bench", ["--quick", "--json", "--dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let objects = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        try #require(objects.map { $0["benchmark"] as? String } == ["log", "projections", "rules", "daemon", "engine"])
        func positive(_ o: [String: Any], _ keys: [String]) {
            for k in keys { #expect(((o[k] as? Double) ?? 0) > 0, "\(o["benchmark"] ?? "?"): \(k) = \(o[k] ?? "missing")") }
        }
        let log = try #require(objects.first)
        let rows = try #require(log["rows"] as? [[String: Any]])
        #expect(rows.count == 4)
        for row in rows { positive(row, ["raqam_events_per_s", "sqlite_events_per_s", "ratio"]) }
        // The ceilings measured beside them: fdatasync latency, per-record hashing and copying.
        positive(try #require(log["bounds"] as? [String: Any]), ["fdatasync_us", "group_fdatasync_us", "one_producer_ceiling_per_s", "many_producers_ceiling_per_s",
                                                                 "many_producers_ceiling_ratio", "record_hash_us", "record_copy_us",
                                                                 "bulk_ceiling_per_s", "bulk_ceiling_ratio"])
        positive(objects[1], ["replay_events_per_s", "sqlite_replay_events_per_s", "replay_ceiling_events_per_s", "replay_ceiling_ratio",
                              "restart_seconds", "sqlite_restart_seconds", "peak_rss_mib"])
        positive(objects[2], ["full_pass_ms", "metrics_ms", "incremental_us"])
        positive(objects[3], ["p50_ms", "p99_ms", "ack_p50_ms", "ack_p99_ms", "fdatasync_p50_ms", "fdatasync_p99_ms", "ack_p99_over_fdatasync_p99",
                              "rss_idle_mib", "rss_load_mib", "clients_events_per_s"])
        #expect(objects[3]["entries_found"] as? Double == 1.0)
        // Beside the journal, the same transitions as a real Alertmanager shows them.
        positive(objects[3], ["alertmanager_p50_ms", "alertmanager_p99_ms", "alertmanager_found"])
        let engine = try #require(objects[4]["results"] as? [[String: Any]])
        #expect(engine.count == 2)
        positive(engine[0], ["events", "replay_s", "full", "full_rss", "snapshot", "snapshot_rss", "reload", "lagging", "lagging_full", "tail_s"])
        positive(engine[1], ["append_events", "append_per_s", "ceiling_per_s", "append_peak_mib"])
    }

    /// `raqam-bench web --quick`: every page, the API and /healthz answer 200 and are timed.
    @Test(.timeLimit(.minutes(10))) func theWebBenchmarkTimesEveryPage() throws {
        let dir = StateDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let r = try run("raqam-bench", ["web", "--quick", "--json", "--rules", root + "/rules", "--dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for page in ["nation", "region", "subject", "who_lags", "API", "healthz"] {
            for k in ["_p50_ms", "_p99_ms", "_bytes"] {
                #expect(((o[page + k] as? Double) ?? 0) > 0, "\(page + k) = \(o[page + k] ?? "missing")")
            }
        }
        #expect(((o["nation_bytes"] as? Double) ?? .infinity) < 200_000)
    }

    /// `raqam-bench web --events N`, small: the large-log mode loads every page of the present
    /// and of a past day from one raqamd.
    @Test(.timeLimit(.minutes(10))) func theWebBenchmarkOnALargeLogTimesThePresentAndAPastDay() throws {
        let dir = StateDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let r = try run("raqam-bench", ["web", "--events", "20000", "--quick", "--json", "--rules", root + "/rules", "--dir", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(o["events"] as? Int == 20000)
        for page in ["nation", "region", "subject", "who_lags", "nation__at_2021_03_31", "region__at_", "subject__at_", "who_lags__at_"] {
            for k in ["_first_ms", "_p50_ms", "_p99_ms", "_bytes"] {
                #expect(((o[page + k] as? Double) ?? 0) > 0, "\(page + k) = \(o[page + k] ?? "missing")")
            }
        }
    }

    /// `make torture`, short: each part runs against the debug build and finds nothing broken.
    @Test(.timeLimit(.minutes(10))) func aShortTortureHoldsEverywhere() throws {
        let dir = StateDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let r = try run("raqam-bench", ["torture", "--bin-dir", buildDirectory.path, "--rules", root + "/rules", "--dir", dir.path,
                                        "--kills", "10", "--reporters", "4", "--append-kills", "3", "--stalled", "50",
                                        "--part", "kills", "append-kills", "disk", "input", "sockets"])
        #expect(r.status == 0, "\(r.stdout.suffix(2000))")
        #expect(r.stdout.contains("raqamd kill -9s                                            10"), "\(r.stdout.suffix(2000))")
        #expect(r.stdout.contains(", 0 failed,"))
    }
}
