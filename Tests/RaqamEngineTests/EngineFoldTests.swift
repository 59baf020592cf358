import Foundation
import RaqamEngine
import RaqamModel
import RaqamStore
import RaqamTestSupport
import Rules
import Scenario
import Testing

/// The promise of the one fold driver: for the same log position P and time T, raqamd's
/// alerts (folded live, a batch at a time, evaluated after each), `lagging --at T` (one fold,
/// evaluated at T) and either of them restarted from an engine snapshot at any cut give the
/// same alerts, with the same states and `active_since`.
@Suite struct EngineFoldTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A state directory holding the reference data and the H1-2021 scenario (seed 7), in batches.
    static let scenario: (dir: String, count: Int) = {
        let dir = NSTemporaryDirectory() + "raqam-engine-\(UUID().uuidString.prefix(8))"
        let store = try! FileEventStore(stateDirectory: dir, durability: .none)
        try! store.append(ReferenceData.bundled.registrationEvents(effective: Timestamp(rfc3339: "2020-10-05T00:00:00+05:00")!))
        // The first quarter of 2021 and what came before: enough for alerts to fire and resolve.
        let end = Timestamp(rfc3339: "2021-03-31T23:59:59+05:00")!.micros
        let events = H1Scenario(seed: 7).events.filter { $0.occurredAt.micros <= end }
        for start in stride(from: 0, to: events.count, by: 500) { try! store.append(Array(events[start..<min(events.count, start + 500)])) }
        try! store.close()
        return (dir, storedCount(dir))
    }()

    static let rules = try! RuleSources.load([root + "/rules"])

    static func storedCount(_ dir: String) -> Int {
        var n = 0
        _ = try! StoredEventReader(stateDirectory: dir).scan { _ in n += 1; return true }
        return n
    }

    struct Alert: Hashable { var rule: String; var subject: String; var state: String; var activeSince: Int64 }

    func alerts(_ engine: EngineState, at t: Int64) -> Set<Alert> {
        Set(engine.timeline.evaluator.active(in: engine.timeline.projections, at: t).map {
            Alert(rule: $0.rule.name, subject: $0.entity.description, state: $0.state.rawValue, activeSince: $0.activeSince)
        })
    }

    /// `lagging --at t`: everything that counts by t, folded at once, evaluated at t.
    func lagging(_ dir: String, at t: Int64, from start: EngineState? = nil) throws -> EngineState {
        var engine = start ?? EngineState(rules: Self.rules, clock: .events, interval: AlertTimeline.defaultInterval)
        try AlertFold.fold(&engine, from: StoredEventReader(stateDirectory: dir), until: t)
        AlertFold.evaluate(&engine, at: t)
        return engine
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func liveLaggingAndSnapshotRestartsAgreeAtAnyCutAndTime(seed: UInt64) throws {
        let (dir, count) = Self.scenario
        var rng = SeededGenerator(seed: seed)
        let reader = StoredEventReader(stateDirectory: dir)
        var all: [StoredEvent] = []
        try reader.scan { all.append($0); return true }
        #expect(all.count == count)

        // raqamd, live: batches of random size, evaluated after each at the latest instant.
        var live = EngineState(rules: Self.rules, clock: .events, interval: AlertTimeline.defaultInterval)
        let cut = Int.random(in: 316..<count, using: &rng)
        var snapshotted: EngineState?
        var position = 0
        while position < count {
            let next = min(count, position + Int.random(in: 1...400, using: &rng))
            for e in all[position..<next] { _ = live.timeline.apply(e); live.position = e.seq }
            AlertFold.evaluate(&live, at: live.timeline.now!)
            if snapshotted == nil && next >= cut { snapshotted = live }
            position = next
        }
        // The snapshot goes through its file: written, read back, folded on to the end.
        let snapshots = EngineSnapshotStore(stateDirectory: dir + "-snap-\(seed)")
        defer { try? FileManager.default.removeItem(atPath: dir + "-snap-\(seed)") }
        try snapshots.write(try #require(snapshotted))
        var notices: [String] = []
        let restored = try #require(snapshots.newest(rules: Self.rules, clock: .events, interval: AlertTimeline.defaultInterval,
                                                      recordedAt: reader.recordedAt(seq:), notices: &notices))
        #expect(notices.isEmpty, "\(notices)")
        #expect(restored.position == snapshotted!.position)
        var resumed = restored
        try AlertFold.fold(&resumed, from: reader)
        AlertFold.evaluate(&resumed, at: resumed.timeline.now!)

        let end = live.timeline.now!
        let fromScratch = try lagging(dir, at: end)
        #expect(alerts(live, at: end) == alerts(fromScratch, at: end))
        #expect(alerts(resumed, at: end) == alerts(fromScratch, at: end))
        #expect(!alerts(fromScratch, at: end).isEmpty)

        // lagging at times inside and across evaluation intervals, from scratch and from the snapshot.
        let snapTime = restored.timeline.now!
        for _ in 0..<2 {
            let t = Int64.random(in: snapTime...(end + 20 * 86_400_000_000), using: &rng)
            let a = try lagging(dir, at: t)
            let b = try lagging(dir, at: t, from: restored)
            #expect(alerts(a, at: t) == alerts(b, at: t), "at \(t)")
        }
    }

    @Test func aSnapshotTakenUnderOtherRulesIsNotUsed() throws {
        let (dir, _) = Self.scenario
        let reader = StoredEventReader(stateDirectory: dir)
        let snapshots = EngineSnapshotStore(stateDirectory: dir + "-other")
        defer { try? FileManager.default.removeItem(atPath: dir + "-other") }
        let other = try RuleSources.load([Self.root + "/rules/districts.yaml"])
        var engine = EngineState(rules: other, clock: .events, interval: AlertTimeline.defaultInterval)
        try AlertFold.fold(&engine, from: reader)
        try snapshots.write(engine)
        var notices: [String] = []
        #expect(snapshots.newest(rules: Self.rules, clock: .events, interval: AlertTimeline.defaultInterval, recordedAt: reader.recordedAt(seq:), notices: &notices) == nil)
        #expect(snapshots.newest(rules: other, clock: .wall, interval: AlertTimeline.defaultInterval, recordedAt: reader.recordedAt(seq:), notices: &notices) == nil)
        #expect(snapshots.newest(rules: other, clock: .events, interval: AlertTimeline.defaultInterval, recordedAt: reader.recordedAt(seq:), notices: &notices)?.position == engine.position)
    }

    @Test func aDamagedSnapshotIsIgnoredAndReported() throws {
        let (dir, _) = Self.scenario
        let reader = StoredEventReader(stateDirectory: dir)
        let snapshots = EngineSnapshotStore(stateDirectory: dir + "-damaged")
        defer { try? FileManager.default.removeItem(atPath: dir + "-damaged") }
        var engine = EngineState(rules: Self.rules, clock: .events, interval: AlertTimeline.defaultInterval)
        try AlertFold.fold(&engine, from: reader)
        let path = try snapshots.write(engine)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
        var notices: [String] = []
        #expect(snapshots.newest(rules: Self.rules, clock: .events, interval: AlertTimeline.defaultInterval, recordedAt: reader.recordedAt(seq:), notices: &notices) == nil)
        #expect(notices.count == 1)
        #expect(notices.first?.contains("checksum mismatch (damaged); folding the log instead") == true)
    }
}
