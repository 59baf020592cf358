public import Projections
public import RaqamModel
import RaqamStore
public import Rules

/// The answers `raqamctl show`, `lagging` and `alerts` print as JSON and the HTTP API serves:
/// one function each, so that the CLI and the API give the same answer for the same log
/// position and time.
public enum Queries {
    /// `show SUBJECT -o json`: the entity, the time answered for, and its metrics nested by
    /// their dotted names; nil when `key` is not registered in `state`.
    public static func subjectJSON(state: ProjectionState, key: EntityKey, now: Timestamp, knownAt: Timestamp?) -> String? {
        guard let m = state.metrics(for: key, now: now) else { return nil }
        var w = JSONWriter()
        w.beginObject()
        w.key("entity"); w.beginObject()
        w.key("key"); w.string(key.description)
        w.key("name"); w.string(m.name)
        w.key("kind"); w.string(m.kind)
        w.key("parent"); if let p = m.parent { w.string(p.description) } else { w.null() }
        w.endObject()
        w.key("at"); w.string(now.rfc3339)
        w.key("known_at"); if let k = knownAt { w.string(k.rfc3339) } else { w.null() }
        w.key("position"); w.integer(state.position)
        writeNestedMetrics(m.values, into: &w)
        w.endObject()
        return w.text
    }

    /// Writes metrics under their dotted names as nested JSON objects, in order of first appearance.
    public static func writeNestedMetrics(_ values: [(name: String, value: MetricValue)], into w: inout JSONWriter) {
        var order: [String] = []
        var groups: [String: [(name: String, value: MetricValue)]] = [:]
        var leaves: [String: MetricValue] = [:]
        for (name, value) in values {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            if !order.contains(parts[0]) { order.append(parts[0]) }
            if parts.count == 1 { leaves[parts[0]] = value } else { groups[parts[0], default: []].append((parts[1], value)) }
        }
        for head in order {
            w.key(head)
            if let leaf = leaves[head] {
                writeMetricValue(leaf, into: &w)
            } else {
                w.beginObject()
                writeNestedMetrics(groups[head] ?? [], into: &w)
                w.endObject()
            }
        }
    }

    public static func writeMetricValue(_ v: MetricValue, into w: inout JSONWriter) {
        switch v {
        case .number(let n): w.number(n)
        case .flag(let b): w.bool(b)
        case .time(let t): w.string(t.rfc3339)
        case .none: w.null()
        }
    }

    /// Who is flagged at `t` (µs): the log folded as raqamd folds it (from raqamd's newest
    /// engine snapshot taken under the same rules, clock and step and evaluated by `t`, unless
    /// `useSnapshot` is false), evaluated at `t`.
    /// - Returns: the alerts active at `t` (pending ones too when asked), the projections,
    ///   and notices about snapshots that were not used.
    public static func lagging(stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64, at t: Int64,
                               includePending: Bool, useSnapshot: Bool = true) throws -> (alerts: [AlertReport], state: ProjectionState, notices: [String]) {
        var engine = EngineState(rules: rules, clock: clock, interval: interval)
        let reader = StoredEventReader(stateDirectory: stateDirectory)
        var notices: [String] = []
        if useSnapshot, let s = EngineSnapshotStore(stateDirectory: stateDirectory).newest(
            rules: rules, clock: clock, interval: interval, recordedAt: reader.recordedAt(seq:), notices: &notices,
            usable: { ($0.timeline.now ?? .min) <= t }) {
            engine = s
        }
        try AlertFold.fold(&engine, from: reader, until: t)
        AlertFold.evaluate(&engine, at: t)
        let alerts = engine.timeline.evaluator.active(in: engine.timeline.projections, at: t, includePending: includePending)
        return (alerts, engine.timeline.projections, notices)
    }

    /// One `lagging -o json` object: rule, subject, name, scope, region, severity, state,
    /// value, active_since, fired_at, summary.
    public static func laggingJSON(_ a: AlertReport) -> String {
        func time(_ micros: Int64?) -> String? { micros.map { Timestamp(micros: $0, offsetMinutes: 300).rfc3339 } }
        var w = JSONWriter()
        w.beginObject()
        w.key("rule"); w.string(a.rule.name)
        w.key("subject"); w.string(a.entity.description)
        w.key("name"); w.string(a.entityName)
        w.key("scope"); w.string(a.entity.kind.description)
        w.key("region"); if let r = a.region { w.string(r.description) } else { w.null() }
        w.key("severity"); w.string(a.rule.severity.rawValue)
        w.key("state"); w.string(a.state.rawValue)
        w.key("value"); writeMetricValue(a.value, into: &w)
        w.key("active_since"); w.string(time(a.activeSince)!)
        w.key("fired_at"); if let f = time(a.firedAt) { w.string(f) } else { w.null() }
        w.key("summary"); w.string(a.summary)
        w.endObject()
        return w.text
    }

    /// One `alerts -o json` object: alert_id, rule, subject, name, scope, region, severity,
    /// state, active_since, at, value, summary, event_seq.
    public static func alertJSON(_ r: AlertRecord) -> String {
        func time(_ t: Int64) -> String { Timestamp(micros: t, offsetMinutes: 300).rfc3339 }
        var w = JSONWriter()
        w.beginObject()
        for (k, v) in [("alert_id", r.alertID), ("rule", r.rule), ("subject", r.entity.description), ("name", r.entityName), ("scope", r.scope),
                       ("region", r.region), ("severity", r.severity), ("state", r.state.rawValue), ("active_since", time(r.activeSince)),
                       ("at", time(r.at)), ("value", r.value), ("summary", r.summary)] {
            w.key(k); w.string(v)
        }
        w.key("event_seq"); w.integer(r.eventSeq)
        w.endObject()
        return w.text
    }

    /// The alert log's records as `alerts` shows them: the latest transition of every alert
    /// (or every transition, oldest first, with `history`), only firing ones with `firingOnly`.
    public static func alertRecords(stateDirectory: String, history: Bool, firingOnly: Bool) throws -> [AlertRecord] {
        let h = try AlertLog.read(stateDirectory: stateDirectory)
        var rows = history ? h.records : h.latest.values.sorted { ($0.rule, $0.entity) < ($1.rule, $1.entity) }
        if firingOnly { rows = rows.filter { $0.state == .firing } }
        return rows
    }
}
