public import RaqamModel
import Prometheus
import Synchronization

/// What raqamd counts and measures for `GET /metrics` (docs/api.md, "Metrics"), in
/// Prometheus' text format through swift-prometheus. Names start with `raqam_`, are in base
/// units, counters end in `_total`; no label takes values that grow with the entities (rules,
/// event types, scopes, principal kinds, routes and status codes are bounded). Thread-safe.
public final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let appended = Mutex<[String: Counter]>([:])
    private let refused = Mutex<[String: Counter]>([:])
    private let requests = Mutex<[String: Counter]>([:])
    private let alertGauges = Mutex<[String: Gauge]>([:])
    private let newestGauges = Mutex<[String: Gauge]>([:])
    private let alertmanagerCounters = Mutex<[String: Counter]>([:])
    private let alertmanagerGauges = Mutex<[String: Gauge]>([:])
    let appendDuration: DurationHistogram
    let fsyncDuration: DurationHistogram
    let evaluationDuration: DurationHistogram
    let logBytes: Gauge
    let logPosition: Gauge
    let verifiedAt: Gauge
    let verifiedPosition: Gauge

    static let latencyBuckets: [Duration] = [.microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                                             .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                             .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "raqam", metricName: metric, unitName: unit, helpText: help)
    }

    public init() {
        appendDuration = registry.makeDurationHistogram(
            descriptor: Self.name("append_duration", "seconds", "Time from a batch handed to the ingest pipeline to its acknowledgement (durable)."),
            buckets: Self.latencyBuckets)
        fsyncDuration = registry.makeDurationHistogram(
            descriptor: Self.name("fsync_duration", "seconds", "Duration of each fdatasync of the event log that acknowledges appends."),
            buckets: Self.latencyBuckets)
        evaluationDuration = registry.makeDurationHistogram(
            descriptor: Self.name("rule_evaluation_duration", "seconds", "Duration of one fold-and-evaluate step of the rules after the log advanced or a tick."),
            buckets: Self.latencyBuckets)
        logBytes = registry.makeGauge(descriptor: Self.name("log_size", "bytes", "Bytes of the event log's segment files."))
        logPosition = registry.makeGauge(descriptor: Self.name("log_position", "", "The seq of the last durable event."))
        verifiedAt = registry.makeGauge(descriptor: Self.name("chain_verified_timestamp", "seconds",
                                                              "When raqamd last verified the whole log's hash chain and found it intact (Unix time)."))
        verifiedPosition = registry.makeGauge(descriptor: Self.name("chain_verified_position", "", "The head's seq at that verification."))
    }

    private func counter(_ table: borrowing Mutex<[String: Counter]>, _ metric: String, _ help: String, _ labels: [(String, String)]) -> Counter {
        let key = labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        return table.withLock { t in
            if let c = t[key] { return c }
            let c = registry.makeCounter(descriptor: Self.name(metric, "total", help), labels: labels)
            t[key] = c
            return c
        }
    }

    /// Events stored, by type and the kind of principal that sent them (`socket` for the
    /// control socket and `raqamctl append`; `org`, `region`, `district`, `admin` over HTTP).
    public func appended(_ type: EventType, principal: String, count: Int = 1) {
        counter(appended, "events_appended", "Events stored in the log, by type and the kind of principal that sent them.",
                [("type", type.rawValue), ("principal", principal)]).increment(by: Int64(count))
    }

    /// Events refused, by reason (`invalid`, `conflict`, `forbidden`, `not_stored`).
    public func refused(reason: String, count: Int = 1) {
        guard count > 0 else { return }
        counter(refused, "events_refused", "Events not stored, by reason.", [("reason", reason)]).increment(by: Int64(count))
    }

    /// One HTTP request answered, by route (its template: `/v1/subjects/{key}`) and status code.
    public func request(route: String, code: Int) {
        counter(requests, "http_requests", "HTTP requests answered, by route and status code.", [("route", route), ("code", String(code))]).increment()
    }

    /// Alerts an Alertmanager took (`sent`), and those given up on (`dropped`, by reason:
    /// `queue_full` while it was unreachable, `rejected` when it answered 4xx).
    public func alertmanager(url: String, sent: Int) {
        guard sent > 0 else { return }
        counter(alertmanagerCounters, "alertmanager_alerts_sent", "Alerts an Alertmanager accepted, by Alertmanager.", [("alertmanager", url)]).increment(by: Int64(sent))
    }

    public func alertmanager(url: String, dropped: Int, reason: String) {
        guard dropped > 0 else { return }
        counter(alertmanagerCounters, "alertmanager_alerts_dropped", "Alerts raqamd gave up sending to an Alertmanager, by Alertmanager and reason (queue_full, rejected).",
                [("alertmanager", url), ("reason", reason)]).increment(by: Int64(dropped))
    }

    /// A POST to an Alertmanager that failed (unreachable, timed out, 5xx): it is retried.
    public func alertmanagerFailed(url: String) {
        counter(alertmanagerCounters, "alertmanager_send_failures", "POSTs to an Alertmanager that failed and are retried, by Alertmanager.", [("alertmanager", url)]).increment()
    }

    /// Alerts waiting for an Alertmanager.
    public func alertmanager(url: String, queued: Int) {
        let g = alertmanagerGauges.withLock { t in
            if let g = t[url] { return g }
            let g = registry.makeGauge(descriptor: Self.name("alertmanager_queue_length", "", "Alerts waiting to be sent to an Alertmanager."), labels: [("alertmanager", url)])
            t[url] = g
            return g
        }
        g.set(Double(queued))
    }

    public func observeAppend(nanoseconds: UInt64) { appendDuration.record(.nanoseconds(Int64(nanoseconds))) }
    public func observeFsync(nanoseconds: UInt64) { fsyncDuration.record(.nanoseconds(Int64(nanoseconds))) }
    public func observeEvaluation(nanoseconds: UInt64) { evaluationDuration.record(.nanoseconds(Int64(nanoseconds))) }

    /// A successful verification of the whole chain, at `time` (µs), of the log up to `position`.
    public func verified(at time: Int64, position: UInt64) {
        verifiedAt.set(Double(time) / 1e6)
        verifiedPosition.set(Double(position))
    }

    /// The text of `/metrics`, with the gauges read from `snapshot` now.
    func render(_ snapshot: MetricsSnapshot) -> String {
        logBytes.set(Double(snapshot.logBytes))
        logPosition.set(Double(snapshot.position))
        alertGauges.withLock { gauges in
            for g in gauges.values { g.set(0.0) }
            for a in snapshot.alerts {
                let key = "\(a.rule)|\(a.state)|\(a.severity)"
                let g = gauges[key] ?? registry.makeGauge(descriptor: Self.name("alerts", "", "Alerts active now, by rule, state (pending, firing) and severity."),
                                                        labels: [("rule", a.rule), ("state", a.state), ("severity", a.severity)])
                gauges[key] = g
                g.set(Double(a.count))
            }
        }
        newestGauges.withLock { gauges in
            for (scope, seconds) in snapshot.newestEvent {
                let g = gauges[scope] ?? registry.makeGauge(descriptor: Self.name("newest_event_timestamp", "seconds",
                                                                                 "When the newest event about an entity of this scope occurred (Unix time)."),
                                                          labels: [("scope", scope)])
                gauges[scope] = g
                g.set(seconds)
            }
        }
        return registry.emitToString()
    }
}

/// The gauges' values at a scrape, from raqamd's state.
public struct MetricsSnapshot: Sendable {
    public var position: UInt64
    public var logBytes: Int64
    public var alerts: [(rule: String, state: String, severity: String, count: Int)]
    /// Seconds since the epoch of the newest event's occurred_at, by scope (nation, region, district, org).
    public var newestEvent: [(scope: String, seconds: Double)]

    public init(position: UInt64, logBytes: Int64, alerts: [(rule: String, state: String, severity: String, count: Int)], newestEvent: [(scope: String, seconds: Double)]) {
        self.position = position
        self.logBytes = logBytes
        self.alerts = alerts
        self.newestEvent = newestEvent
    }
}
