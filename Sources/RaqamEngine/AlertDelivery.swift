public import Rules
import RaqamStore

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
    /// evaluator's firing alerts at `at`). `resolution` describes an alert that resolved
    /// unseen as it is at `at` (`Evaluator.resolution`), so its resolved record carries the
    /// present value, not the one it fired with.
    public mutating func reconcile(firing: [AlertReport], at: Int64, eventSeq: UInt64,
                                   resolution: (AlertRecord) -> AlertReport? = { _ in nil }) -> [AlertRecord] {
        var out: [AlertRecord] = []
        var now: Set<AlertIdentity> = []
        for r in firing where r.state == .firing {
            let id = AlertIdentity(rule: r.rule.name, entity: r.entity)
            now.insert(id)
            let record = AlertRecord(report: r, state: .firing, at: at, eventSeq: eventSeq)
            if let last = reported[id], last.state == .firing {
                if last.alertID == record.alertID { continue }
                // Resolved and fired again while raqamd was down: end the old episode first.
                out.append(Self.ended(last, at: at, eventSeq: eventSeq, resolution: resolution))
            }
            reported[id] = record
            out.append(record)
        }
        for (id, last) in reported.sorted(by: { ($0.key.rule, $0.key.entity) < ($1.key.rule, $1.key.entity) })
        where last.state == .firing && !now.contains(id) {
            let end = Self.ended(last, at: at, eventSeq: eventSeq, resolution: resolution)
            reported[id] = end
            out.append(end)
        }
        return out
    }

    /// The resolved record that ends `last`'s episode at `at`: described as things are then
    /// when `resolution` can, else (its rule is gone) with no value and a wording that says so.
    static func ended(_ last: AlertRecord, at: Int64, eventSeq: UInt64, resolution: (AlertRecord) -> AlertReport?) -> AlertRecord {
        if let r = resolution(last) {
            var end = AlertRecord(report: r, state: .resolved, at: at, eventSeq: eventSeq)
            end.alertID = last.alertID
            return end
        }
        var end = last
        end.state = .resolved
        end.at = at
        end.eventSeq = eventSeq
        end.value = ""
        end.summary = "Resolved: \(last.rule) for \(last.entityName.isEmpty ? last.entity.description : last.entityName) (no rule of that name is loaded now)"
        end.notedAt = wallClockMicros()
        return end
    }
}
