import Foundation
import Testing
import Projections
import RaqamEngine
import RaqamModel
import RaqamStore
import RaqamTestSupport

/// Random events of every type over a small set of real entities, occurring out of order.
struct StreamGenerator {
    var rng: SeededGenerator
    let districts: [EntityKey]
    let regions: [EntityKey]
    let orgs: [EntityKey]
    let start = Timestamp(rfc3339: "2020-10-05T00:00:00+05:00")!.micros
    let end = Timestamp(rfc3339: "2021-06-30T23:00:00+05:00")!.micros

    init(seed: UInt64) {
        rng = SeededGenerator(seed: seed)
        let data = ReferenceData.bundled
        let chosenRegions = Array(data.regions.prefix(3))
        regions = chosenRegions.map(\.key)
        districts = chosenRegions.flatMap { r in data.districts.filter { $0.regionCode == r.code }.prefix(4).map(\.key) }
        orgs = data.organizations.prefix(8).map(\.key)
    }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int.random(in: 0..<xs.count, using: &rng)] }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

    mutating func event(_ n: Int) -> Event {
        let at = Timestamp(micros: Int64.random(in: start...end, using: &rng) / 1_000_000 * 1_000_000, offsetMinutes: 300)
        let owner = pick(districts + regions + orgs)
        let date = CalendarDate(days: Int32(18_550 + int(0...420)))
        let type = pick(EventType.allCases.filter { $0 != .entityRegistered })
        var subject = owner
        var values: [FieldValue?]
        switch type {
        case .projectRegistered:
            values = [.string("P-\(int(0...9))"), .string(owner.kind == .org ? "sector" : "regional"), .string("Project"), .date(date)]
        case .projectImplemented, .projectCancelled:
            values = [.string("P-\(int(0...9))"), nil]
        case .projectRescheduled:
            values = [.string("P-\(int(0...9))"), .date(date)]
        case .serviceLaunched:
            subject = pick(orgs)
            values = [.string("S-\(int(0...14))"), .string(pick(["portal", "mobile"])), nil]
        case .serviceSimplified:
            subject = pick(orgs)
            values = [.string("S-\(int(0...14))")]
        case .roadmapApproved: values = [.integer(Int64(int(0...30)))]
        case .roadmapProductIntroduced: values = [.string("PR-\(int(0...20))")]
        case .portalLaunched: values = [.string("https://example.uz/\(n)")]
        case .portalUpdated: values = [.integer(Int64(int(0...50)))]
        case .trainingReported:
            let staff = int(0...200)
            values = [.integer(Int64(staff)), .integer(Int64(int(0...staff)))]
        case .assessmentRecorded: values = [.boolean(int(0...1) == 1), .number(Double(int(0...100))), nil]
        case .economyReported:
            subject = pick([EntityKey.nation] + regions)
            values = [.string(pick(["2020", "2021-H1", "2021-Q1", "2021-Q2", "2021-05", "2021-06"])), .number(Double(int(1...10_000)) * 1e8)]
        case .exportReported:
            subject = pick([EntityKey.nation] + orgs)
            values = [.string(pick(["2021-H1", "2021-Q1"])), .number(Double(int(1...1000)) * 1e4)]
        case .startupFunded:
            subject = pick(orgs)
            values = [.string("ST-\(int(0...9))"), .number(Double(int(1...100)) * 1e6)]
        case .targetSet:
            subject = .nation
            values = [.string(pick(EventSchema.targetMetrics)), .number(Double(int(1...100))), .date(date)]
        case .entityRegistered:
            preconditionFailure()
        }
        return Event(id: EventID(derivedFrom: "stream-\(rng.state)-\(n)"), type: type, subject: subject, occurredAt: at,
                     source: "test", data: EventData(values: values))
    }
}

@Suite struct ProjectionPropertyTests {
    /// Appends a random stream (with re-sent duplicates) through the real store, in batches;
    /// returns the state dir, what the log holds, and the recorded_at of each batch's end.
    func populate(seed: UInt64, count: Int) throws -> (dir: String, stored: [StoredEvent], batchEnds: [Timestamp], generator: StreamGenerator) {
        let dir = NSTemporaryDirectory() + "raqam-proj-\(seed)-\(UUID().uuidString.prefix(6))"
        var gen = StreamGenerator(seed: seed)
        let store = try FileEventStore(stateDirectory: dir, durability: .none, segmentSize: 256 << 10)
        try store.append(ReferenceData.bundled.registrationEvents())
        var sent: [Event] = []
        for batch in 0..<5 {
            var events: [Event] = []
            for n in 0..<(count / 5) {
                // About one in twenty is a retry of an event sent before: the log must store it once.
                if !sent.isEmpty, gen.int(0...19) == 0 { events.append(gen.pick(sent)) } else { events.append(gen.event(batch * count + n)) }
            }
            try store.append(events)
            sent += events
            usleep(2000)
        }
        try store.close()
        var stored: [StoredEvent] = []
        try StoredEventReader(stateDirectory: dir).scan { stored.append($0); return true }
        var ends: [Timestamp] = []
        var last: Timestamp?
        for s in stored where s.seq > 316 {
            if let l = last, s.recordedAt != l { ends.append(l) }
            last = s.recordedAt
        }
        ends.append(last!)
        return (dir, stored, ends, gen)
    }

    func compare(_ state: ProjectionState, _ reference: ReferenceFold, keys: [EntityKey], now: Timestamp, label: String) {
        for key in keys {
            let fold = state.metrics(for: key, now: now)
            let expected = reference.metrics(for: key, now: now)
            for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(fold?[name] == value, "\(label): \(key) \(name): fold \(fold?[name]?.description ?? "nil"), reference \(value)")
            }
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func randomStreamsFoldToWhatTheReferenceComputesAsOfAnyTime(seed: UInt64) throws {
        let (dir, stored, _, gen) = try populate(seed: seed, count: 3000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(stored.count < 316 + 3000, "no duplicate was re-sent")
        let keys = [EntityKey.nation] + gen.regions + gen.districts + gen.orgs
        for cut in ["2020-12-31T23:59:59+05:00", "2021-03-15T12:00:00+05:00", "2021-06-30T23:59:59+05:00"] {
            let at = Timestamp(rfc3339: cut)!
            let state = try Replay.run(stateDirectory: dir, at: at).state
            let reference = ReferenceFold(events: stored.filter { $0.event.occurredAt.micros <= at.micros })
            compare(state, reference, keys: keys, now: at, label: "seed \(seed) at \(cut)")
        }
    }

    /// `/metrics`' newest event per scope, read straight from the records, is the latest
    /// `activity.last_event` of the scope's entities as their metrics give it.
    @Test func newestEventPerScopeIsTheLatestLastEventOfItsEntities() throws {
        let (dir, _, _, _) = try populate(seed: 4, count: 2000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for cut in ["2021-01-10T00:00:00+05:00", "2021-06-30T23:59:59+05:00"] {
            let at = Timestamp(rfc3339: cut)!
            let state = try Replay.run(stateDirectory: dir, at: at).state
            for kind in EntityKey.Kind.allCases {
                let fromMetrics = state.keys(of: kind).compactMap { key -> Int64? in
                    guard case .time(let t)? = state.metrics(for: key, now: at)?["activity.last_event"] else { return nil }
                    return t.micros
                }.max()
                #expect(state.newestEvent(of: kind)?.micros == fromMetrics, "\(kind) at \(cut)")
            }
        }
    }

    @Test func knownAtAnswersWithWhatTheLogHadRecordedThen() throws {
        let (dir, stored, ends, gen) = try populate(seed: 42, count: 2000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(ends.count == 5)
        let keys = [EntityKey.nation] + gen.regions + gen.districts + gen.orgs
        let now = Timestamp(rfc3339: "2021-06-30T23:59:59+05:00")!
        for k in ends.prefix(3) {
            let state = try Replay.run(stateDirectory: dir, knownAt: k).state
            let reference = ReferenceFold(events: stored.filter { $0.recordedAt.micros <= k.micros })
            #expect(state.position == reference.events.last!.seq)
            compare(state, reference, keys: keys, now: now, label: "known at \(k)")
        }
    }

    @Test func entityRegisteredAfterTheEvaluationTimeIsNotPartOfTheAnswer() throws {
        let dir = NSTemporaryDirectory() + "raqam-proj-late-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try FileEventStore(stateDirectory: dir)
        try store.append(ReferenceData.bundled.registrationEvents(effective: Timestamp(rfc3339: "2021-03-01T00:00:00+05:00")!))
        try store.close()
        let before = try Replay.run(stateDirectory: dir, at: Timestamp(rfc3339: "2021-02-28T00:00:00+05:00")!).state
        #expect(before.keys(of: .district).isEmpty)
        #expect(before.metrics(for: try EntityKey(parsing: "district:1703202"), now: Timestamp(rfc3339: "2021-02-28T00:00:00+05:00")!) == nil)
        let after = try Replay.run(stateDirectory: dir, at: Timestamp(rfc3339: "2021-03-01T00:00:00+05:00")!).state
        #expect(after.keys(of: .district).count == 208)
        #expect(after.keys(of: .region).count == 14)
        #expect(after.keys(of: .org).count == 94)
    }
}
