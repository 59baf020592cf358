import Foundation
import Projections
import RaqamEngine
import RaqamModel
import RaqamStore
import RaqamTestSupport
import Rules
import Scenario
import Testing

/// The web view's monthly trends and its newest-first reads: each month-end point is what
/// `show --at` that day prints (the same fold, month by month), a point changes only when an
/// event that occurred by its month's end arrives, and the newest-first scan gives exactly
/// the log's events, in reverse, across sealed segments and the active one.
@Suite struct MonthlyTrendsTests {
    /// The H1-2021 scenario in a log of small segments (many sealed, with indexes), in batches
    /// so that known_at can cut between them.
    static let scenario: String = {
        let dir = NSTemporaryDirectory() + "raqam-trends-\(UUID().uuidString.prefix(8))"
        let store = try! FileEventStore(stateDirectory: dir, durability: .none, segmentSize: 256 << 10)
        try! store.append(ReferenceData.bundled.registrationEvents(effective: Timestamp(rfc3339: "2020-10-05T00:00:00+05:00")!))
        let events = H1Scenario(seed: 7).events
        for start in stride(from: 0, to: events.count, by: 2_000) {
            try! store.append(Array(events[start..<min(events.count, start + 2_000)]))
            usleep(2_000)  // distinct recorded_at between batches
        }
        try! store.close()
        return dir
    }()

    static func all(_ dir: String) throws -> [StoredEvent] {
        var out: [StoredEvent] = []
        try StoredEventReader(stateDirectory: dir).scan { out.append($0); return true }
        return out
    }

    func shown(_ dir: String, at day: CalendarDate, knownAt: Timestamp?) throws -> ProjectionState {
        try Replay.run(stateDirectory: dir, at: day.tashkentEnd, knownAt: knownAt, useSnapshots: false).state
    }

    @Test func eachMonthEndIsWhatShowAtThatDayPrintsForEveryEntityAndMetric() throws {
        let dir = Self.scenario
        let log = try Self.all(dir)
        let days = MonthlyTrends.monthEnds(before: CalendarDate(iso: "2021-06-30")!.tashkentEnd.micros, count: 12)
        #expect(days.map(\.description).suffix(3) == ["2021-03-31", "2021-04-30", "2021-05-31"])
        #expect(days.first?.description == "2020-06-30")
        // Known now, and known at the end of the log's middle batch (later reports unknown then).
        let middle = log[log.count / 2].recordedAt
        for knownAt in [nil, middle] {
            let points = try MonthlyTrends.fold(stateDirectory: dir, days: days, knownAt: knownAt?.micros, through: log.last!.seq)
            #expect(points.map(\.day) == days)
            for point in points {
                let state = try shown(dir, at: point.day, knownAt: knownAt)
                let now = Timestamp(micros: point.at)
                var compared = 0
                for kind in EntityKey.Kind.allCases {
                    for key in state.keys(of: kind) {
                        let expected = state.metrics(for: key, now: now)!.values
                        let got = try #require(point.metrics[key], "\(key) missing at \(point.day)").values
                        #expect(got.map(\.name) == expected.map(\.name))
                        #expect(got.map(\.value.description) == expected.map(\.value.description), "\(key) at \(point.day), known at \(knownAt?.rfc3339 ?? "now")")
                        compared += 1
                    }
                }
                #expect(point.metrics.count == compared, "the points hold the entities show knows, no more")
            }
        }
    }

    @Test(arguments: [EvaluationClock.events, .wall])
    func eachMonthEndsAlertsAreWhatLaggingAtThatDayLists(clock: EvaluationClock) throws {
        let dir = Self.scenario
        let rules = EngineFoldTests.rules
        let days = MonthlyTrends.monthEnds(before: CalendarDate(iso: "2021-07-15")!.tashkentEnd.micros, count: 12)
        let position = try StoredEventReader(stateDirectory: dir).lastSeq()
        let trend = try MonthlyTrends.alerts(stateDirectory: dir, rules: rules, clock: clock, interval: AlertTimeline.defaultInterval,
                                             days: days, through: position)
        #expect(trend.count == days.count)
        func ids(_ alerts: [AlertReport]) -> [String] { alerts.map { "\($0.rule.name) \($0.entity) \($0.state.rawValue) \($0.activeSince)" }.sorted() }
        var firingSomewhere = 0
        for (day, alerts) in zip(days, trend) {
            let lagging = try Queries.lagging(stateDirectory: dir, rules: rules, clock: clock, interval: AlertTimeline.defaultInterval,
                                              at: day.tashkentEnd.micros, includePending: false, useSnapshot: false).alerts
            #expect(ids(alerts) == ids(lagging), "\(clock) \(day): \(alerts.count) vs lagging's \(lagging.count)")
            firingSomewhere += alerts.count
        }
        // On the wall clock every event counts from when this test recorded it: no month of 2021 has one.
        #expect(clock == .wall ? firingSomewhere == 0 : firingSomewhere > 0, "alerts fire in the scenario's months")
    }

    @Test func aPointChangesOnlyWhenAnEventOfItsMonthArrives() throws {
        let dir = NSTemporaryDirectory() + "raqam-trends-late-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: Self.scenario, toPath: dir)
        let district = try EntityKey(parsing: "district:1703202")
        let days = [CalendarDate(iso: "2021-03-31")!, CalendarDate(iso: "2021-04-30")!]
        let cache = TrendCache()
        var position = try StoredEventReader(stateDirectory: dir).lastSeq()
        let before = try #require(try cache.points(stateDirectory: dir, days: days, knownAt: nil, position: position, wait: 120))
        func projects(_ points: [MonthEnd], _ k: Int) -> String { points[k].metrics[district]?["projects.planned"]?.description ?? "none" }

        // Today's report (after the last month end): the points stay, and are not folded again.
        let store = try FileEventStore(stateDirectory: dir, durability: .none)
        func project(_ id: String, occurred: String) -> Event {
            Event(id: nil, type: .projectRegistered, subject: district, occurredAt: Timestamp(rfc3339: occurred)!, source: "test",
                  data: EventData(values: [.string(id), .string("regional"), .string("A late project"), .date(CalendarDate(iso: "2021-12-31")!)]))
        }
        _ = try store.append([project("P-TODAY", occurred: "2021-06-29T10:00:00+05:00")])
        position = store.lastSeq
        let same = try #require(try cache.points(stateDirectory: dir, days: days, knownAt: nil, position: position, wait: 120))
        #expect(projects(same, 0) == projects(before, 0) && projects(same, 1) == projects(before, 1))

        // A late report of a project registered in April: April's point counts it, March's does not.
        _ = try store.append([project("P-LATE", occurred: "2021-04-10T10:00:00+05:00")])
        position = store.lastSeq
        try store.close()
        let after = try #require(try cache.points(stateDirectory: dir, days: days, knownAt: nil, position: position, wait: 120))
        #expect(projects(after, 0) == projects(before, 0))
        #expect(Double(projects(after, 1)) == Double(projects(before, 1)).map { $0 + 1 }, "\(projects(before, 1)) → \(projects(after, 1))")
        let fresh = try shown(dir, at: days[1], knownAt: nil).metrics(for: district, now: days[1].tashkentEnd)?["projects.planned"]?.description
        #expect(projects(after, 1) == fresh)
    }

    @Test func theNewestFirstScanIsTheLogReversedForEveryFilterAndCut() throws {
        let dir = Self.scenario
        let log = try Self.all(dir)
        let reader = StoredEventReader(stateDirectory: dir)
        #expect(try reader.chunkStarts().count > 100, "the log spans many sealed blocks")
        let region = try EntityKey(parsing: "region:1703")
        let district = try EntityKey(parsing: "district:1703202")
        let cuts: [(Int64?, Int64?)] = [(nil, nil), (CalendarDate(iso: "2021-03-31")!.tashkentEnd.micros, nil), (nil, log[log.count / 3].recordedAt.micros)]
        for (filter, admits) in [(StoredEventReader.SubjectFilter.all, { (_: EntityKey) in true }),
                                 (.subject(district), { $0 == district }),
                                 (.region(region), { $0 == region || $0.regionKey == region })] {
            for (occurredBy, recordedBy) in cuts {
                let expected = log.filter { s in
                    admits(s.event.subject) && occurredBy.map { s.event.occurredAt.micros <= $0 } ?? true && recordedBy.map { s.recordedAt.micros <= $0 } ?? true
                }.map(\.seq).reversed()
                var got: [UInt64] = []
                try reader.scanNewestFirst(filter: filter, occurredBy: occurredBy, recordedBy: recordedBy) { got.append($0.seq); return true }
                #expect(got == Array(expected), "\(filter) \(String(describing: occurredBy)) \(String(describing: recordedBy)): \(got.count) vs \(expected.count)")
                // Up to a position: the same, without the events after it.
                let cut = log[log.count / 2].seq
                var upTo: [UInt64] = []
                try reader.scanNewestFirst(filter: filter, through: cut, occurredBy: occurredBy, recordedBy: recordedBy) { upTo.append($0.seq); return true }
                #expect(upTo == expected.filter { $0 <= cut })
                // Stopping early gives the newest ones.
                var first: [UInt64] = []
                try reader.scanNewestFirst(filter: filter, occurredBy: occurredBy, recordedBy: recordedBy) { first.append($0.seq); return first.count < 7 }
                #expect(first == Array(expected.prefix(7)))
            }
        }
    }
}
