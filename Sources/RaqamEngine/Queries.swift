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

    /// A value as the alert log records it (`AlertRecord.text(of:)`), written typed as
    /// `lagging -o json` writes the metric itself: yes/no as true/false, a number as a number,
    /// "-" (no value) as null, a time as its RFC 3339 text.
    static func writeRecordedValue(_ text: String, into w: inout JSONWriter) {
        switch text {
        case "yes": w.bool(true)
        case "no": w.bool(false)
        case "-": w.null()
        default:
            if let n = Double(text), n.isFinite { w.number(n) } else { w.string(text) }
        }
    }

    /// Who is flagged at `t` (µs): the log folded as raqamd folds it (from raqamd's newest
    /// engine snapshot taken under the same rules, clock and step and evaluated by `t`, unless
    /// `useSnapshot` is false), evaluated at `t`.
    /// - Returns: the alerts active at `t` (pending ones too when asked), the projections,
    ///   and notices about snapshots that were not used.
    public static func lagging(stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64, at t: Int64,
                               includePending: Bool, useSnapshot: Bool = true,
                               progress: ((_ position: UInt64, _ end: UInt64) -> Void)? = nil) throws -> (alerts: [AlertReport], state: ProjectionState, notices: [String]) {
        var engine = EngineState(rules: rules, clock: clock, interval: interval)
        let reader = StoredEventReader(stateDirectory: stateDirectory)
        var notices: [String] = []
        if useSnapshot, let s = EngineSnapshotStore(stateDirectory: stateDirectory).newest(
            rules: rules, clock: clock, interval: interval, recordedAt: reader.recordedAt(seq:), notices: &notices,
            usable: { ($0.timeline.now ?? .min) <= t }) {
            engine = s
        }
        try AlertFold.fold(&engine, from: reader, until: t, progress: progress)
        AlertFold.evaluate(&engine, at: t)
        let alerts = engine.timeline.evaluator.active(in: engine.timeline.projections, at: t, includePending: includePending)
        return (alerts, engine.timeline.projections, notices)
    }

    /// The alerts firing now, as `alerts --firing` shows them: the alert log's firing
    /// records, each with the value and texts of the present (`current(_:from:)`), the log
    /// folded to the present as raqamd folds it (`AlertFold.foldToPresent`, from its newest
    /// engine snapshot under the same rules, clock and step).
    public static func firingNow(stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64, now: Int64) throws -> [AlertRecord] {
        let reader = StoredEventReader(stateDirectory: stateDirectory)
        var notices: [String] = []
        var engine = EngineSnapshotStore(stateDirectory: stateDirectory).newest(
            rules: rules, clock: clock, interval: interval, recordedAt: reader.recordedAt(seq:), notices: &notices, usable: { _ in true })
            ?? EngineState(rules: rules, clock: clock, interval: interval)
        let at = try AlertFold.foldToPresent(&engine, from: reader, now: now)
        let active = engine.timeline.evaluator.active(in: engine.timeline.projections, at: at, includePending: false)
        return current(try alertRecords(stateDirectory: stateDirectory, history: false, firingOnly: true), from: active)
    }

    /// Firing records with the present value, summary, description and annotations of the
    /// same episode (same alert id) among `active`; a record whose episode is not among them
    /// (other rules evaluated) stays as recorded.
    public static func current(_ records: [AlertRecord], from active: [AlertReport]) -> [AlertRecord] {
        let now = Dictionary(active.map { ($0.alertID, $0) }, uniquingKeysWith: { a, _ in a })
        return records.map { r in
            guard r.state == .firing, let a = now[r.alertID] else { return r }
            var c = r
            c.value = AlertRecord.text(of: a.value)
            c.summary = a.summary
            c.description = a.description
            c.annotations = a.annotations
            return c
        }
    }

    /// One `lagging -o json` object: rule, subject, name, scope, region, severity, state,
    /// value, active_since, fired_at, summary, description, labels, annotations.
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
        w.key("description"); w.string(a.description)
        writeTexts(("labels", a.rule.labels), ("annotations", a.annotations), into: &w)
        w.endObject()
        return w.text
    }

    /// `lagging -o csv`: a header, then one row per alert (RFC 4180 quoting).
    public static func laggingCSV(_ alerts: [AlertReport]) -> String {
        func time(_ micros: Int64?) -> String { micros.map { Timestamp(micros: $0, offsetMinutes: 300).rfc3339 } ?? "" }
        var out = "rule,subject,name,scope,region,severity,state,value,active_since,fired_at,summary\n"
        for a in alerts {
            out += [a.rule.name, a.entity.description, a.entityName, a.entity.kind.description, a.region?.description ?? "",
                    a.rule.severity.rawValue, a.state.rawValue, csvValue(a.value), time(a.activeSince), time(a.firedAt), a.summary]
                .map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    public static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// A metric value in CSV: flags as true/false, nothing for none, else as `show` prints it.
    public static func csvValue(_ v: MetricValue) -> String {
        switch v {
        case .none: ""
        case .flag(let b): b ? "true" : "false"
        default: v.description
        }
    }

    /// Objects of names to texts, keys sorted.
    static func writeTexts(_ objects: (String, [String: String])..., into w: inout JSONWriter) {
        for (key, texts) in objects {
            w.key(key); w.beginObject()
            for (k, v) in texts.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
            w.endObject()
        }
    }

    /// One `alerts -o json` object: alert_id, rule, subject, name, scope, region, severity,
    /// state, active_since, at, value, summary, description, labels, annotations, event_seq.
    public static func alertJSON(_ r: AlertRecord) -> String {
        func time(_ t: Int64) -> String { Timestamp(micros: t, offsetMinutes: 300).rfc3339 }
        var w = JSONWriter()
        w.beginObject()
        for (k, v) in [("alert_id", r.alertID), ("rule", r.rule), ("subject", r.entity.description), ("name", r.entityName), ("scope", r.scope),
                       ("region", r.region), ("severity", r.severity), ("state", r.state.rawValue), ("active_since", time(r.activeSince)),
                       ("at", time(r.at))] {
            w.key(k); w.string(v)
        }
        w.key("value"); writeRecordedValue(r.value, into: &w)
        for (k, v) in [("summary", r.summary), ("description", r.description)] {
            w.key(k); w.string(v)
        }
        writeTexts(("labels", r.labels), ("annotations", r.annotations), into: &w)
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
