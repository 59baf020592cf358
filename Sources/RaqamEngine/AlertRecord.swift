public import Projections
import RaqamStore
public import RaqamModel
public import Rules

/// One alert transition as the alert log keeps it and the journal receives it.
public struct AlertRecord: Sendable, Equatable {
    public enum State: String, Sendable { case firing, resolved }

    public var alertID: String
    public var rule: String
    public var entity: EntityKey
    public var entityName: String
    public var scope: String
    public var region: String
    public var severity: String
    public var state: State
    /// µs, evaluation time.
    public var activeSince: Int64
    /// When the transition happened (evaluation time, µs).
    public var at: Int64
    public var value: String
    public var summary: String
    /// The rule's description, rendered when it happened ("" when the rule has none).
    public var description: String
    /// The rule's other annotations, rendered when it happened.
    public var annotations: [String: String]
    /// The rule's `labels:` (fixed text: part of the alert's identity).
    public var labels: [String: String]
    /// The last log position folded when it happened.
    public var eventSeq: UInt64
    /// When raqamd recorded it (wall clock, µs): how long a resolved alert is still sent to
    /// Alertmanager is counted from this, whatever the evaluation clock.
    public var notedAt: Int64

    /// The record of an evaluator's firing or resolved transition (nil for pending and abandoned:
    /// they are not reported).
    public init?(_ r: AlertReport, eventSeq: UInt64) {
        let state: State
        switch r.transition {
        case .firing?: state = .firing
        case .resolved?: state = .resolved
        default: return nil
        }
        self.init(report: r, state: state, at: r.at, eventSeq: eventSeq)
    }

    /// The record of an alert in `state` (for reconciling after a restart).
    public init(report r: AlertReport, state: State, at: Int64, eventSeq: UInt64) {
        alertID = r.alertID
        rule = r.rule.name
        entity = r.entity
        entityName = r.entityName
        scope = r.entity.kind.description
        region = r.region?.description ?? ""
        severity = r.rule.severity.rawValue
        self.state = state
        activeSince = r.activeSince
        self.at = at
        value = Self.text(of: r.value)
        summary = r.summary
        description = r.description
        annotations = r.annotations
        labels = r.rule.labels
        self.eventSeq = eventSeq
        notedAt = wallClockMicros()
    }

    /// A metric value as records carry it: a time in RFC 3339 at Tashkent's offset.
    public static func text(of value: MetricValue) -> String {
        if case .time(let t) = value { return Timestamp(micros: t.micros, offsetMinutes: CalendarDate.tashkentOffsetMinutes).rfc3339 }
        return value.description
    }

    /// The alert-log payload: one JSON object.
    var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.key("alert_id"); w.string(alertID)
        w.key("rule"); w.string(rule)
        w.key("entity"); w.string(entity.description)
        w.key("name"); w.string(entityName)
        w.key("scope"); w.string(scope)
        w.key("region"); w.string(region)
        w.key("severity"); w.string(severity)
        w.key("state"); w.string(state.rawValue)
        w.key("active_since"); w.integer(activeSince)
        w.key("at"); w.integer(at)
        w.key("value"); w.string(value)
        w.key("summary"); w.string(summary)
        w.key("description"); w.string(description)
        w.key("annotations"); w.beginObject()
        for (k, v) in annotations.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        w.key("labels"); w.beginObject()
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        w.key("event_seq"); w.integer(eventSeq)
        w.key("noted_at"); w.integer(notedAt)
        w.endObject()
        return w.text
    }

    init?(json: JSONValue) {
        guard case .object(let members) = json else { return nil }
        var s: [String: String] = [:], n: [String: Double] = [:], labels: [String: String] = [:], annotations: [String: String] = [:]
        for (k, v) in members {
            switch v {
            case .string(let x): s[k] = x
            case .number(let x, _, _): n[k] = x
            case .object(let l) where k == "labels":
                for (lk, lv) in l { if case .string(let x) = lv { labels[lk] = x } }
            case .object(let l) where k == "annotations":
                for (lk, lv) in l { if case .string(let x) = lv { annotations[lk] = x } }
            default: break
            }
        }
        guard let id = s["alert_id"], let rule = s["rule"], let entityText = s["entity"], let entity = try? EntityKey(parsing: entityText),
              let state = s["state"].flatMap(State.init(rawValue:)), let since = n["active_since"], let at = n["at"] else { return nil }
        alertID = id
        self.rule = rule
        self.entity = entity
        entityName = s["name"] ?? ""
        scope = s["scope"] ?? entity.kind.description
        region = s["region"] ?? ""
        severity = s["severity"] ?? "warning"
        self.state = state
        activeSince = Int64(since)
        self.at = Int64(at)
        value = s["value"] ?? ""
        summary = s["summary"] ?? ""
        description = s["description"] ?? ""
        self.annotations = annotations
        self.labels = labels
        eventSeq = UInt64(n["event_seq"] ?? 0)
        // Records written before raqam kept it: their evaluation time stands in.
        notedAt = n["noted_at"].map { Int64($0) } ?? self.at
    }
}
