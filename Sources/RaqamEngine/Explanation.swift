public import Projections
public import RaqamModel
import RaqamStore
public import Rules

/// An alert explained: the rule's clauses with their values at a time, and for each metric it
/// reads, the events that produced that value (`raqamctl explain`, `GET /v1/explain`, the web
/// view's subject page).
public struct Explanation: Sendable {
    public var explanation: RuleExplanation
    /// The alert at that time: pending or firing (nil: the rule does not flag the entity).
    public var alert: AlertReport?
    public var evidence: [Evidence]

    /// The events behind one metric's value: those about the entity (for a region also its
    /// districts and cities; for the nation every subject) of the types that move the metric,
    /// that occurred by the time and were recorded by `known_at`, newest first.
    public struct Evidence: Sendable {
        public var metric: String
        public var value: MetricValue
        /// The newest `Explanation.evidenceLimit`.
        public var events: [StoredEvent]
        public var total: Int
    }

    public static let evidenceLimit = 10

    /// The event types that move a metric (by its dotted name); nil for any type (activity
    /// and reporting lateness are about every report).
    public static func eventTypes(feeding metric: String) -> Set<EventType>? {
        let parts = metric.split(separator: ".")
        guard let head = parts.first else { return nil }
        switch head {
        case "projects": return [.projectRegistered, .projectImplemented, .projectCancelled, .projectRescheduled]
        case "services": return [.serviceLaunched, .serviceSimplified]
        case "roadmap": return [.roadmapApproved, .roadmapProductIntroduced]
        case "portal": return [.portalLaunched, .portalUpdated]
        case "staff": return [.trainingReported]
        case "assessment": return [.assessmentRecorded]
        case "economy": return [.economyReported]
        case "export": return [.exportReported]
        case "startups": return [.startupFunded]
        case "targets":
            // targets.<metric>.<field>: the target itself and what it measures.
            let measured = parts.dropFirst().dropLast().joined(separator: ".")
            return eventTypes(feeding: measured).map { $0.union([.targetSet]) } ?? [.targetSet]
        default: return nil
        }
    }
}

extension Queries {
    /// The explanations of `subject`'s alerts at `t` (µs), from the projections at `t` (as
    /// known at `knownAt`) and the alerts evaluated then, pending ones included
    /// (`lagging(…, includePending: true)`): of `rule` only when given (whether or not it flags
    /// the subject), else of every rule that has it pending or firing.
    /// - Parameter foldedBy: the time `state` was folded as of (its events occurred by then),
    ///   nil when it folds every event: the evidence is read under the same bound, so that the
    ///   events listed are among those the projections counted.
    /// - Throws: the log reader's errors; nil when the subject is not registered at `t`.
    public static func explain(state: ProjectionState, alerts: [AlertReport], rules: RuleSet, stateDirectory: String, subject: EntityKey,
                               rule: String?, at t: Int64, foldedBy: Int64?, knownAt: Timestamp?) throws -> [Explanation]? {
        guard let metrics = state.metrics(for: subject, now: Timestamp(micros: t)) else { return nil }
        let alerts = alerts.filter { $0.entity == subject }
        let chosen = rules.rules.filter { r in
            r.scope == subject.kind && (rule.map { r.name == $0 } ?? alerts.contains { $0.rule.name == r.name })
        }
        // The newest events behind every metric of every chosen rule, read from the log's
        // end back until each has its share (or the log's start); how many there are in all
        // comes from the projections, which counted them as they folded.
        var wanted: [String: Set<EventType>?] = [:]
        for r in chosen { for m in r.expression.expression.metrics { wanted[m] = .some(Explanation.eventTypes(feeding: m)) } }
        func feeds(_ types: Set<EventType>?, _ type: EventType) -> Bool { types?.contains(type) ?? (type != .entityRegistered) }
        var found: [String: [StoredEvent]] = [:]
        var totals: [String: Int] = [:]
        for (m, types) in wanted { totals[m] = state.eventCount(where: { concerns($0, subject) }, types: { feeds(types, $0) }) }
        // Each metric needs its newest `evidenceLimit` events, or all of them when it has fewer.
        func needs(_ m: String) -> Bool { found[m, default: []].count < min(Explanation.evidenceLimit, totals[m] ?? 0) }
        if wanted.keys.contains(where: needs) {
            let filter: StoredEventReader.SubjectFilter = switch subject.kind {
            case .nation: .all
            case .region: .region(subject)
            case .district, .org: .subject(subject)
            }
            try StoredEventReader(stateDirectory: stateDirectory).scanNewestFirst(filter: filter, through: state.position, occurredBy: foldedBy, recordedBy: knownAt?.micros) { s in
                for (metric, types) in wanted where needs(metric) && feeds(types, s.event.type) { found[metric, default: []].append(s) }
                return wanted.keys.contains(where: needs)
            }
        }
        return chosen.map { r in
            Explanation(explanation: RuleExplanation(rule: r, metrics: metrics, at: t), alert: alerts.first { $0.rule.name == r.name },
                        evidence: r.expression.expression.metrics.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.map { m in
                            Explanation.Evidence(metric: m, value: metrics[m] ?? .none, events: found[m] ?? [], total: totals[m] ?? 0)
                        })
        }
    }

    static func concerns(_ about: EntityKey, _ subject: EntityKey) -> Bool {
        switch subject.kind {
        case .nation: true
        case .region: about == subject || about.regionKey == subject
        case .district, .org: about == subject
        }
    }

    /// One explanation as JSON: rule, subject, at, holds, state, active_since, expression,
    /// clauses [{text, value, holds, depth}], metrics [{metric, value, events_total, events
    /// [{seq, type, occurred_at, recorded_at, source}]}].
    public static func explanationJSON(_ x: Explanation) -> String {
        func time(_ micros: Int64) -> String { Timestamp(micros: micros, offsetMinutes: CalendarDate.tashkentOffsetMinutes).rfc3339 }
        var w = JSONWriter()
        let e = x.explanation
        w.beginObject()
        w.key("rule"); w.string(e.rule.name)
        w.key("subject"); w.string(e.entity.description)
        w.key("at"); w.string(time(e.at))
        w.key("holds"); w.bool(e.holds)
        w.key("state"); w.string(x.alert?.state.rawValue ?? "inactive")
        w.key("active_since"); if let a = x.alert { w.string(time(a.activeSince)) } else { w.null() }
        w.key("expression"); w.string(e.rule.expression.expression.text)
        w.key("clauses"); w.beginArray()
        for c in e.clauses {
            w.beginObject()
            w.key("text"); w.string(c.text)
            w.key("value"); w.string(c.value)
            w.key("holds"); if let h = c.holds { w.bool(h) } else { w.null() }
            w.key("depth"); w.integer(c.depth)
            w.endObject()
        }
        w.endArray()
        w.key("metrics"); w.beginArray()
        for m in x.evidence {
            w.beginObject()
            w.key("metric"); w.string(m.metric)
            w.key("value"); writeMetricValue(m.value, into: &w)
            w.key("events_total"); w.integer(m.total)
            w.key("events"); w.beginArray()
            for s in m.events {
                w.beginObject()
                w.key("seq"); w.integer(s.seq)
                w.key("type"); w.string(s.event.type.rawValue)
                w.key("subject"); w.string(s.event.subject.description)
                w.key("occurred_at"); w.string(s.event.occurredAt.rfc3339)
                w.key("recorded_at"); w.string(s.recordedAt.rfc3339)
                w.key("source"); if let src = s.event.source { w.string(src) } else { w.null() }
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.text
    }
}
