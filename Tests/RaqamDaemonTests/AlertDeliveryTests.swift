import Foundation
import Journal
import Projections
import RaqamEngine
import RaqamDaemon
import RaqamModel
import Rules
import Testing

@Suite struct AlertDeliveryTests {
    static let day: Int64 = 86_400_000_000
    static let start = Timestamp(rfc3339: "2021-01-01T00:00:00+05:00")!.micros
    static let rules = try! RuleSet.load(files: [("rules/t.yaml", """
        groups:
          - name: g
            rules:
              - alert: Silent
                scope: district
                expr: days_since(activity.last_event) > 10
                severity: critical
                summary: "{{ name }}: no report for {{ activity.last_event | days_since }}"
        """)]).get()
    static let altinkul = EntityKey(snapshotKind: .district, code: "1703202")
    static let andijan = EntityKey(snapshotKind: .district, code: "1703203")

    static func event(_ type: EventType, _ subject: EntityKey, day: Int64, _ values: [FieldValue?], seq: UInt64) -> StoredEvent {
        let at = Timestamp(micros: start + day * Self.day)
        return StoredEvent(seq: seq, recordedAt: at, event: Event(id: nil, type: type, subject: subject, occurredAt: at, source: nil, data: EventData(values: values)))
    }

    /// Two districts registered on day 0; a report from Altinkul on `reportDay` if given.
    static func timeline(until day: Int64, reportDay: Int64? = nil) -> (AlertTimeline, [AlertReport]) {
        var t = AlertTimeline(rules: rules, clock: .events)
        var reports: [AlertReport] = []
        reports += t.apply(event(.entityRegistered, altinkul, day: 0, [.string("district"), .string("Altinkul District"), .string("region:1703")], seq: 1))
        reports += t.apply(event(.entityRegistered, andijan, day: 0, [.string("district"), .string("Andijan District"), .string("region:1703")], seq: 2))
        if let r = reportDay, r <= day {
            reports += t.apply(event(.portalUpdated, altinkul, day: r, [.integer(3)], seq: 3))
        }
        reports += t.evaluate(at: start + day * Self.day)
        return (t, reports)
    }

    static func firing(_ t: AlertTimeline, at day: Int64) -> [AlertReport] {
        t.evaluator.active(in: t.projections, at: start + day * Self.day, includePending: false)
    }

    @Test func liveTransitionsBecomeOneRecordEachWithTheEpisodesID() {
        let (_, reports) = Self.timeline(until: 30, reportDay: 20)
        var delivery = AlertDelivery()
        let records = delivery.records(for: reports, eventSeq: 3)
        // Both fire on day 11; Altinkul resolves with its report on day 20 and fires again on day 31? (not yet: day 30).
        #expect(records.map { "\($0.entity) \($0.state)" } == ["district:1703202 firing", "district:1703203 firing", "district:1703202 resolved"])
        #expect(records[0].alertID == records[2].alertID)
        #expect(records[0].summary == "Altinkul District: no report for 11 days")
        // The same transition again (a batch evaluated twice) is not reported twice.
        #expect(delivery.records(for: [reports.last { $0.transition == .resolved }!], eventSeq: 3).isEmpty)
    }

    @Test func aRestartWithNothingChangedSendsNothing() {
        let (t, reports) = Self.timeline(until: 15)
        var before = AlertDelivery()
        var history = AlertHistory()
        history.records = before.records(for: reports, eventSeq: 2)
        #expect(history.records.count == 2)
        // Restart on day 15: the log folded again gives the same alerts.
        var after = AlertDelivery(history: history)
        #expect(after.reconcile(firing: Self.firing(t, at: 15), at: Self.start + 15 * Self.day, eventSeq: 2).isEmpty)
    }

    @Test func anAlertWhoseConditionChangedWhileDownTransitionsExactlyOnce() {
        let (before, reports) = Self.timeline(until: 15)
        var d = AlertDelivery()
        var history = AlertHistory()
        history.records = d.records(for: reports, eventSeq: 2)
        _ = before
        // While raqamd was down Altinkul reported on day 16; raqamd comes back on day 18.
        let (after, _) = Self.timeline(until: 18, reportDay: 16)
        var delivery = AlertDelivery(history: history)
        let sent = delivery.reconcile(firing: Self.firing(after, at: 18), at: Self.start + 18 * Self.day, eventSeq: 3)
        #expect(sent.map { "\($0.entity) \($0.state)" } == ["district:1703202 resolved"])
        #expect(sent.first?.alertID == history.records.first { $0.entity == Self.altinkul }?.alertID)
        // And once only.
        #expect(delivery.reconcile(firing: Self.firing(after, at: 18), at: Self.start + 18 * Self.day, eventSeq: 3).isEmpty)
    }

    @Test func anAlertThatResolvedAndFiredAgainWhileDownEndsTheOldEpisodeAndStartsTheNew() {
        let (_, reports) = Self.timeline(until: 15)
        var d = AlertDelivery()
        var history = AlertHistory()
        history.records = d.records(for: reports, eventSeq: 2)
        let (after, _) = Self.timeline(until: 40, reportDay: 16)  // silent again from day 27
        var delivery = AlertDelivery(history: history)
        let sent = delivery.reconcile(firing: Self.firing(after, at: 40), at: Self.start + 40 * Self.day, eventSeq: 3)
        #expect(sent.map { "\($0.entity) \($0.state)" } == ["district:1703202 resolved", "district:1703202 firing"])
        #expect(sent[0].alertID != sent[1].alertID)
    }

    @Test func aRecordBecomesAJournalEntryWithEveryFieldOfTheContract() throws {
        let (_, reports) = Self.timeline(until: 12)
        var d = AlertDelivery()
        let record = try #require(d.records(for: reports, eventSeq: 2).first)
        let e = record.journalEntry
        #expect(e["MESSAGE"] == "Altinkul District: no report for 11 days")
        #expect(e["PRIORITY"] == "2")
        #expect(e["MESSAGE_ID"] == MessageID.alertFiring.rawValue)
        #expect(e["RAQAM_RULE"] == "Silent")
        #expect(e["RAQAM_STATE"] == "firing")
        #expect(e["RAQAM_SCOPE"] == "district")
        #expect(e["RAQAM_ENTITY"] == "district:1703202")
        #expect(e["RAQAM_ENTITY_NAME"] == "Altinkul District")
        #expect(e["RAQAM_REGION"] == "region:1703")
        #expect(e["RAQAM_ENTITY_PLACE"] == "district:1703202 in region:1703")
        // A subject in no region reads as itself in the catalog's text (it read "(org:…, region )").
        var org = record
        org.entity = EntityKey(snapshotKind: .org, code: "ministry-justice")
        org.region = ""
        #expect(org.journalEntry["RAQAM_ENTITY_PLACE"] == "org:ministry-justice")
        #expect(e["RAQAM_VALUE"] == "2021-01-01T00:00:00+05:00")
        #expect(e["RAQAM_SEVERITY"] == "critical")
        #expect(e["RAQAM_ALERT_ID"] == record.alertID)
        #expect(e["RAQAM_ACTIVE_SINCE"] == "2021-01-12T00:00:00+05:00")
        #expect(e["RAQAM_EVENT_SEQ"] == "2")
    }

    @Test func theAlertLogKeepsTransitionsAcrossReopenAndTellsWhatWasNotDelivered() throws {
        let dir = NSTemporaryDirectory() + "raqam-alerts-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (_, reports) = Self.timeline(until: 30, reportDay: 20)
        var d = AlertDelivery()
        let records = d.records(for: reports, eventSeq: 3)
        do {
            let log = try AlertLog(stateDirectory: dir)
            try log.record(records)
            try log.markDelivered(Array(records.prefix(2)))
            try log.record(records)  // a repeat after a crash stores nothing new
            try log.close()
        }
        let history = try AlertLog.read(stateDirectory: dir)
        #expect(history.records == records)
        #expect(history.undelivered == [records[2]])
        #expect(history.latest[AlertIdentity(rule: "Silent", entity: Self.altinkul)]?.state == .resolved)
        #expect(history.latest[AlertIdentity(rule: "Silent", entity: Self.andijan)]?.state == .firing)
    }

    static let labelled = try! RuleSet.load(files: [("rules/t.yaml", """
        groups:
          - name: g
            rules:
              - alert: Silent
                scope: district
                expr: days_since(activity.last_event) > 10
                labels: {team: regional_programmes, severity: critical}
                annotations:
                  summary: "{{ name }}: no report for {{ activity.last_event | days_since }}"
                  runbook_url: "https://wiki.example.uz/silent"
                resolved_summary: "{{ name }} reports again"
        """)]).get()

    @Test func aResolvedEntryDescribesTheStateAtResolutionAndCarriesTheRulesLabels() throws {
        var t = AlertTimeline(rules: Self.labelled, clock: .events)
        var reports: [AlertReport] = []
        reports += t.apply(Self.event(.entityRegistered, Self.altinkul, day: 0, [.string("district"), .string("Altinkul District"), .string("region:1703")], seq: 1))
        reports += t.evaluate(at: Self.start + 12 * Self.day)
        reports += t.apply(Self.event(.portalUpdated, Self.altinkul, day: 20, [.integer(3)], seq: 2))
        reports += t.evaluate(at: Self.start + 20 * Self.day)
        var d = AlertDelivery()
        let records = d.records(for: reports, eventSeq: 2)
        let fired = try #require(records.first { $0.state == .firing }).journalEntry
        let resolved = try #require(records.first { $0.state == .resolved }).journalEntry
        #expect(fired["MESSAGE"] == "Altinkul District: no report for 11 days")
        #expect(fired["RAQAM_VALUE"] == "2021-01-01T00:00:00+05:00")
        #expect(fired["RAQAM_LABEL_TEAM"] == "regional_programmes")
        #expect(fired["RAQAM_SEVERITY"] == "critical")
        #expect(fired["RAQAM_LABEL_SEVERITY"] == nil, "the severity label is the severity, not a label twice")
        // Resolved: the value at resolution (the report of day 20) and the resolved wording.
        #expect(resolved["MESSAGE"] == "Resolved: Altinkul District reports again")
        #expect(resolved["RAQAM_VALUE"] == "2021-01-21T00:00:00+05:00")
        #expect(resolved["MESSAGE_ID"] == MessageID.alertResolved.rawValue)
        #expect(resolved["RAQAM_LABEL_TEAM"] == "regional_programmes")
        let am = AlertmanagerAlert(records[0], firingEndsAt: 0, linkBase: nil)
        #expect(am.labels["team"] == "regional_programmes")
        #expect(am.labels["severity"] == "critical")
        #expect(am.annotations == ["summary": "Altinkul District: no report for 11 days", "runbook_url": "https://wiki.example.uz/silent",
                                   "value": "2021-01-01T00:00:00+05:00"])
    }

    @Test func anAlertThatResolvedWhileDownIsRecordedWithThePresentValueNotTheFiringOne() throws {
        let (_, reports) = Self.timeline(until: 15)
        var d = AlertDelivery()
        var history = AlertHistory()
        history.records = d.records(for: reports, eventSeq: 2)
        let (after, _) = Self.timeline(until: 18, reportDay: 16)
        var delivery = AlertDelivery(history: history)
        let at = Self.start + 18 * Self.day
        let sent = delivery.reconcile(firing: Self.firing(after, at: 18), at: at, eventSeq: 3) { last in
            after.evaluator.resolution(rule: last.rule, entity: last.entity, activeSince: last.activeSince, in: after.projections, at: at)
        }
        let end = try #require(sent.first)
        #expect(end.state == .resolved)
        #expect(end.alertID == history.records.first { $0.entity == Self.altinkul }?.alertID)
        #expect(end.value == "2021-01-17T00:00:00+05:00")
        #expect(end.summary == "Resolved: Silent for Altinkul District (activity.last_event is now 2021-01-17)")
    }
}
