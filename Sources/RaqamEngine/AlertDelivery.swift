public import Rules

/// What the journal has been told, and what to tell it next: a value. Given the evaluator's
/// transitions (live) or its active alerts (after a restart), it returns the records to write
/// to the alert log and send, and nothing twice.
///
/// After a restart raqamd folds the log again, which replays every past transition; those are
/// not re-sent. Instead `reconcile` compares the alerts active now with the last transition
/// the alert log holds for each: an alert that did not change yields nothing, one whose
/// condition changed while raqamd was down yields exactly one transition (two when it resolved
/// and fired again: the old episode's end and the new one's start).
public struct AlertDelivery: Sendable {
    /// The last transition reported for each alert.
    public private(set) var reported: [AlertIdentity: AlertRecord]

    public init(history: AlertHistory = AlertHistory()) {
        reported = history.latest
    }

    /// The records for live transitions (firing and resolved; pending and abandoned are not
    /// reported), skipping any that repeats the last one reported for its alert.
    public mutating func records(for reports: [AlertReport], eventSeq: UInt64) -> [AlertRecord] {
        var out: [AlertRecord] = []
        for r in reports {
            guard let record = AlertRecord(r, eventSeq: eventSeq) else { continue }
            let id = AlertIdentity(rule: record.rule, entity: record.entity)
            if let last = reported[id], last.alertID == record.alertID, last.state == record.state { continue }
            reported[id] = record
            out.append(record)
        }
        return out
    }

    /// The records that bring the journal in line with the alerts firing now (`firing`: the
    /// evaluator's firing alerts at `at`).
    public mutating func reconcile(firing: [AlertReport], at: Int64, eventSeq: UInt64) -> [AlertRecord] {
        var out: [AlertRecord] = []
        var now: Set<AlertIdentity> = []
        for r in firing where r.state == .firing {
            let id = AlertIdentity(rule: r.rule.name, entity: r.entity)
            now.insert(id)
            let record = AlertRecord(report: r, state: .firing, at: at, eventSeq: eventSeq)
            if let last = reported[id], last.state == .firing {
                if last.alertID == record.alertID { continue }
                // Resolved and fired again while raqamd was down: end the old episode first.
                var end = last
                end.state = .resolved
                end.at = at
                end.eventSeq = eventSeq
                out.append(end)
            }
            reported[id] = record
            out.append(record)
        }
        for (id, last) in reported.sorted(by: { ($0.key.rule, $0.key.entity) < ($1.key.rule, $1.key.entity) })
        where last.state == .firing && !now.contains(id) {
            var end = last
            end.state = .resolved
            end.at = at
            end.eventSeq = eventSeq
            reported[id] = end
            out.append(end)
        }
        return out
    }
}
