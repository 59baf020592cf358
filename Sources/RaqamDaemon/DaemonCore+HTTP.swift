public import RaqamHTTP
import Foundation
import Projections
public import RaqamModel
public import RaqamStore
import RaqamEngine
public import Rules

/// The HTTP API's intake and reads, over the same pipeline and log as the control socket.
extension DaemonCore: IntakeBackend {
    public func firingAlerts() -> [AlertReport] { engineView().1.filter { $0.state == .firing } }

    public var evaluatedPosition: UInt64 { status.evaluated }

    public func liveView() -> LiveView {
        let (state, alerts, at) = engineView()
        return LiveView(state: state, alerts: alerts, at: at)
    }

    public func submit(_ lines: [InputLine], decoded: [EventDecoder.Decoded], policy: Ingest.Policy) throws(StoreError) -> [LineResult] {
        let started = DispatchTime.now().uptimeNanoseconds
        let results = try ingest.submit(lines, decoded: decoded, policy: policy)
        wakeEvaluator()
        metrics.observeAppend(nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return results
    }

    public func preview(_ lines: [InputLine], decoded: [EventDecoder.Decoded]) throws(StoreError) -> [LineResult] {
        try ingest.preview(lines, decoded: decoded)
    }

    public func receipt(first: UInt64, last: UInt64) throws -> Receipt? {
        try receiptReader.withLock { try $0.receipt(first: first, last: last) }
    }

    public func statusJSON() -> String { status.json }

    public var stateDirectory: String { configuration.stateDirectory }

    /// The gauges of `/metrics`: position, log size, alerts active by rule, state and
    /// severity, and the newest event's time per scope (from the projections folded so far).
    public func metricsSnapshot() -> MetricsSnapshot {
        let (projections, alerts, _) = engineView()
        var counts: [String: (rule: String, state: String, severity: String, count: Int)] = [:]
        for a in alerts {
            let key = "\(a.rule.name)|\(a.state.rawValue)"
            counts[key, default: (a.rule.name, a.state.rawValue, a.rule.severity.rawValue, 0)].count += 1
        }
        let newest = EntityKey.Kind.allCases.compactMap { kind in
            projections.newestEvent(of: kind).map { (scope: kind.description, seconds: Double($0.micros) / 1e6) }
        }
        return MetricsSnapshot(position: store.lastSeq, logBytes: logBytes(), alerts: counts.values.sorted { ($0.rule, $0.state) < ($1.rule, $1.state) },
                               newestEvent: newest)
    }

    func logBytes() -> Int64 {
        let dir = FileEventStore.eventsDirectory(configuration.stateDirectory)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.reduce(0) { sum, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + name))?[.size] as? Int64
            return sum + (size ?? 0)
        }
    }

    public var evaluation: (rules: RuleSet, clock: EvaluationClock, interval: Int64) {
        (currentRules, clock, configuration.evaluationInterval)
    }
}
