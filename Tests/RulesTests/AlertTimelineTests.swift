import Projections
import RaqamModel
import RaqamTestSupport
import Rules
import Testing

@Suite struct AlertTimelineTests {
    static let day: Int64 = 86_400_000_000
    static let start = Timestamp(rfc3339: "2021-01-01T00:00:00+05:00")!.micros

    static let rules = try! RuleSet.load(files: [("rules/t.yaml", """
        groups:
          - name: g
            rules:
              - alert: Lagging
                scope: district
                expr: projects.planned >= 2 and projects.completion < 0.5
                for: 3d
                summary: "{{ name }}: {{ projects.completion | percent }}"
              - alert: Silent
                scope: district
                expr: days_since(activity.last_event) > 10
                summary: "{{ name }} silent"
              - alert: RegionLagging
                scope: region
                expr: projects.overdue >= 1
                keep_firing_for: 2d
                summary: "{{ name }}: {{ projects.overdue }} overdue"
        """)]).get()

    static let districts = ["1703202", "1703203", "1706204"].map { EntityKey(snapshotKind: .district, code: $0) }

    /// Registrations, then random project events over 60 days, in groups sharing a recorded_at
    /// (a group commit), recorded in order with random lateness.
    static func history(seed: UInt64) -> [StoredEvent] {
        var rng = SeededGenerator(seed: seed)
        var out: [StoredEvent] = []
        var seq: UInt64 = 0
        func add(_ e: Event, recorded: Int64) {
            seq += 1
            out.append(StoredEvent(seq: seq, recordedAt: Timestamp(micros: recorded), event: e))
        }
        for key in [EntityKey(snapshotKind: .region, code: "1703"), EntityKey(snapshotKind: .region, code: "1706")] + districts {
            let kind = key.kind == .region ? "region" : "district"
            add(Event(id: nil, type: .entityRegistered, subject: key, occurredAt: Timestamp(micros: start), source: nil,
                      data: EventData(values: [.string(kind), .string(key.description), key.regionKey.map { .string($0.description) }])), recorded: start)
        }
        var recorded = start
        var projects = 0
        for _ in 0..<80 {
            recorded += Int64.random(in: 1...(2 * day), using: &rng)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let subject = districts.randomElement(using: &rng)!
                let occurred = Timestamp(micros: recorded - Int64.random(in: 0...(3 * day), using: &rng))
                if projects == 0 || Bool.random(using: &rng) {
                    projects += 1
                    let due = CalendarDate(tashkentDayOf: Timestamp(micros: recorded + Int64.random(in: -5...20, using: &rng) * day))
                    add(Event(id: nil, type: .projectRegistered, subject: subject, occurredAt: occurred, source: nil,
                              data: EventData(values: [.string("P\(projects)"), .string("regional"), .string("t"), .date(due)])), recorded: recorded)
                } else {
                    add(Event(id: nil, type: .projectImplemented, subject: subject, occurredAt: occurred, source: nil,
                              data: EventData(values: [.string("P\(Int.random(in: 1...projects, using: &rng))"), nil])), recorded: recorded)
                }
            }
        }
        return out
    }

    static func state(_ t: AlertTimeline, at: Int64) -> [String] {
        t.evaluator.active(in: t.projections, at: at).map { "\($0.rule.name) \($0.entity) \($0.state) since \($0.activeSince) fired \($0.firedAt.map(String.init) ?? "-")" }
    }

    /// The daemon flushes after each committed batch and advances on a timer; `lagging`
    /// replays the log in one go. Both must end in the same alerts with the same active_since.
    @Test(arguments: [1, 2, 3] as [UInt64], [EvaluationClock.wall, .events])
    func liveEvaluationAgreesWithReplay(seed: UInt64, clock: EvaluationClock) {
        let events = Self.history(seed: seed)
        let end = events.last!.recordedAt.micros + 5 * Self.day
        var replay = AlertTimeline(rules: Self.rules, clock: clock)
        for e in events { _ = replay.apply(e) }
        _ = replay.evaluate(at: end)

        var live = AlertTimeline(rules: Self.rules, clock: clock)
        var rng = SeededGenerator(seed: seed &+ 100)
        var i = 0
        while i < events.count {
            var j = i
            while j < events.count && events[j].recordedAt == events[i].recordedAt { j += 1 }
            for e in events[i..<j] { _ = live.apply(e) }
            if clock == .wall {
                _ = live.flush()
                // A timer firing before the next commit.
                if j < events.count, Bool.random(using: &rng) {
                    let next = live.instant(of: events[j])
                    _ = live.advance(to: Int64.random(in: (live.now! + 1)...next, using: &rng) - 1)
                }
            }
            i = j
        }
        _ = live.evaluate(at: end)
        #expect(Self.state(live, at: end) == Self.state(replay, at: end))
        #expect(!Self.state(replay, at: end).isEmpty, "the history should leave some alert active")
    }

    @Test func gridTicksFireTimeDrivenConditionsWithoutNewEvents() {
        let events = Self.history(seed: 7).prefix(5)  // registrations only
        var t = AlertTimeline(rules: Self.rules, clock: .events)
        var reports: [AlertReport] = []
        for e in events { reports += t.apply(e) }
        reports += t.advance(to: Self.start + 20 * Self.day)
        let silent = reports.filter { $0.rule.name == "Silent" && $0.transition == .firing }
        #expect(silent.count == 3)
        // Silence holds once more than 10 days have passed: the first tick after day 10 is day 11.
        #expect(silent.allSatisfy { $0.at == Self.start + 11 * Self.day })
        #expect(silent.first?.summary.hasSuffix(" silent") == true)
    }

    @Test func alertIDIsStableForAnEpisodeAndNewForTheNext() {
        var t = AlertTimeline(rules: Self.rules, clock: .events)
        var reports: [AlertReport] = []
        for e in Self.history(seed: 7).prefix(5) { reports += t.apply(e) }
        reports += t.advance(to: Self.start + 20 * Self.day)
        let d = Self.districts[0]
        let touch = StoredEvent(seq: 100, recordedAt: Timestamp(micros: Self.start + 20 * Self.day),
                                event: Event(id: nil, type: .portalUpdated, subject: d, occurredAt: Timestamp(micros: Self.start + 20 * Self.day), source: nil,
                                             data: EventData(values: [.integer(1)])))
        reports += t.apply(touch)
        reports += t.advance(to: Self.start + 40 * Self.day)
        let mine = reports.filter { $0.rule.name == "Silent" && $0.entity == d && $0.transition != nil }
        #expect(mine.map { $0.transition! } == [.firing, .resolved, .firing])
        #expect(mine[0].alertID == mine[1].alertID)
        #expect(mine[2].alertID != mine[0].alertID)
    }

    /// In `a or b` the alert's value is that of the operand that holds, not the first metric
    /// read: a district organized but scored 41 reports its score.
    @Test func anOrRulesValueIsTheMetricOfTheClauseThatHolds() throws {
        let rules = try RuleSet.load(files: [("rules/or.yaml", """
            groups:
              - name: g
                rules:
                  - alert: NotOrganized
                    scope: district
                    expr: assessment.organized == false or assessment.score < 50
                    summary: "{{ name }}: {{ value }}"
            """)]).get()
        let district = Self.districts[0]
        var timeline = AlertTimeline(rules: rules, clock: .events)
        func at(_ days: Int64) -> Timestamp { Timestamp(micros: Self.start + days * Self.day) }
        _ = timeline.apply(StoredEvent(seq: 1, recordedAt: at(0), event: Event(id: nil, type: .entityRegistered, subject: district, occurredAt: at(0), source: nil,
                                                                                data: EventData(values: [.string("district"), .string("Altinkul District"), .string("region:1703")]))))
        func assess(_ seq: UInt64, day: Int64, organized: Bool, score: Double) -> [AlertReport] {
            timeline.apply(StoredEvent(seq: seq, recordedAt: at(day), event: Event(id: nil, type: .assessmentRecorded, subject: district, occurredAt: at(day), source: nil,
                                                                                  data: EventData(values: [.boolean(organized), .number(score), nil]))))
                + timeline.evaluate(at: at(day + 1).micros)
        }
        let scored = assess(2, day: 1, organized: true, score: 41)
        #expect(scored.first?.value == .number(41), "\(scored.map(\.value))")
        #expect(scored.first?.summary == "Altinkul District: 41")
        // Not organized (both clauses hold): the first that holds decides.
        _ = assess(3, day: 3, organized: false, score: 41)
        let active = timeline.evaluator.active(in: timeline.projections, at: at(4).micros)
        #expect(active.first?.value == .flag(false), "\(active.map(\.value))")
    }

}
