public import Journal
public import RaqamEngine
import RaqamModel

extension AlertRecord {
    /// The journal entry, per the journal contract (docs/journal.md).
    public var journalEntry: JournalEntry {
        let priority: JournalEntry.Priority = severity == "critical" ? .critical : severity == "info" ? .info : .warning
        // A resolved record's summary already reads "Resolved: …" (`Evaluator.resolvedText`).
        var e = JournalEntry(message: summary, priority: priority,
                             messageID: state == .firing ? .alertFiring : .alertResolved)
        e.add("RAQAM_RULE", rule)
        e.add("RAQAM_STATE", state.rawValue)
        e.add("RAQAM_SCOPE", scope)
        e.add("RAQAM_ENTITY", entity.description)
        e.add("RAQAM_ENTITY_NAME", entityName)
        e.add("RAQAM_REGION", region)
        // Where, in words the catalog can use whatever the scope: "district:1703202 in region:1703", "org:ministry-justice".
        e.add("RAQAM_ENTITY_PLACE", region.isEmpty || region == entity.description ? entity.description : "\(entity) in \(region)")
        e.add("RAQAM_VALUE", value)
        e.add("RAQAM_SEVERITY", severity)
        e.add("RAQAM_ALERT_ID", alertID)
        e.add("RAQAM_ACTIVE_SINCE", Timestamp(micros: activeSince, offsetMinutes: 300).rfc3339)
        e.add("RAQAM_EVENT_SEQ", String(eventSeq))
        // The rule's labels, checked when the rules load to make valid journal field names.
        for (name, value) in labels.sorted(by: { $0.key < $1.key }) { e.add("RAQAM_LABEL_" + name.uppercased(), value) }
        return e
    }
}
