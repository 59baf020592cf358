import RaqamStore
import Foundation
import Testing
@testable import Projections
@testable import RaqamEngine
import RaqamModel
import RaqamStore

@Suite struct SnapshotTests {
    func allKeys(_ state: ProjectionState) -> [EntityKey] {
        EntityKey.Kind.allCases.flatMap { state.keys(of: $0) }
    }

    /// The metrics of every entity, as comparable text.
    func rendered(_ state: ProjectionState, now: Timestamp) -> [String] {
        allKeys(state).map { k in "\(k): " + state.metrics(for: k, now: now)!.values.map { "\($0.name)=\($0.value)" }.joined(separator: " ") }
    }

    @Test func stateRoundTripsThroughItsBinaryForm() throws {
        let (dir, stored, _, _) = try ProjectionPropertyTests().populate(seed: 7, count: 1500)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var state = ProjectionState()
        for s in stored { state.apply(s) }
        let bytes = state.encoded()
        let decoded = try ProjectionState(decoding: bytes)
        #expect(decoded.encoded() == bytes)
        let now = Timestamp(rfc3339: "2021-06-30T00:00:00+05:00")!
        #expect(rendered(decoded, now: now) == rendered(state, now: now))
        for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
            #expect(throws: BinaryReader.Truncated.self) { try ProjectionState(decoding: Array(bytes.prefix(cut))) }
        }
    }

    @Test(arguments: [0.1, 0.5, 0.9, 1.0])
    func snapshotPlusTailEqualsAFullReplay(fraction: Double) throws {
        let (dir, stored, _, _) = try ProjectionPropertyTests().populate(seed: 11, count: 2000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cut = Int(Double(stored.count) * fraction)
        var prefix = ProjectionState()
        for s in stored.prefix(cut) { prefix.apply(s) }
        try SnapshotStore(stateDirectory: dir).write(prefix)

        // At or after every event folded: the times a state answers for.
        let now = Timestamp(rfc3339: "2021-07-01T00:00:00+05:00")!
        let resumed = try Replay.run(stateDirectory: dir)
        let full = try Replay.run(stateDirectory: dir, useSnapshots: false)
        #expect(resumed.snapshotPosition == stored[cut - 1].seq)
        #expect(resumed.scanned == stored.count - cut)
        #expect(resumed.notices.isEmpty)
        #expect(resumed.state.position == full.state.position)
        #expect(resumed.state.eventCount == full.state.eventCount)
        #expect(rendered(resumed.state, now: now) == rendered(full.state, now: now))

        // As of a time before some event in the snapshot occurred, the snapshot is not usable.
        let early = Timestamp(rfc3339: "2021-01-15T00:00:00+05:00")!
        let asOf = try Replay.run(stateDirectory: dir, at: early)
        #expect(asOf.snapshotPosition == (prefix.maxOccurred <= early.micros ? prefix.position : nil))
        let reference = try Replay.run(stateDirectory: dir, at: early, useSnapshots: false)
        #expect(rendered(asOf.state, now: early) == rendered(reference.state, now: early))
    }

    @Test func corruptSnapshotIsIgnoredAndReportedAndTheAnswerIsStillRight() throws {
        let (dir, stored, _, _) = try ProjectionPropertyTests().populate(seed: 12, count: 1000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var state = ProjectionState()
        for s in stored.prefix(600) { state.apply(s) }
        let path = try SnapshotStore(stateDirectory: dir).write(state)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let r = try Replay.run(stateDirectory: dir)
        #expect(r.snapshotPosition == nil)
        #expect(r.notices == ["ignored snapshot \(path): checksum mismatch (damaged); replaying the log instead"])
        let now = Timestamp(rfc3339: "2021-06-30T00:00:00+05:00")!
        #expect(rendered(r.state, now: now) == rendered(try Replay.run(stateDirectory: dir, useSnapshots: false).state, now: now))
    }

    @Test func snapshotOfAnotherSchemaVersionIsIgnoredAndReported() throws {
        let (dir, stored, _, _) = try ProjectionPropertyTests().populate(seed: 13, count: 1000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var state = ProjectionState()
        for s in stored.prefix(700) { state.apply(s) }
        let path = try SnapshotStore(stateDirectory: dir).write(state)
        // What an older raqam would have written: another schema string, a valid checksum.
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let schema = Array(ProjectionState.schemaVersion.utf8)
        let at = (0..<bytes.count).first { Array(bytes[$0..<min(bytes.count, $0 + schema.count)]) == schema }!
        bytes[at + schema.count - 1] = UInt8(ascii: "0")
        bytes.removeLast(8)
        withUnsafeBytes(of: UInt64(DerivedFile.checksum(bytes[...])).littleEndian) { bytes += $0 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let r = try Replay.run(stateDirectory: dir)
        #expect(r.snapshotPosition == nil)
        #expect(r.notices == ["ignored snapshot \(path): written by schema \"projections-0\", this raqam uses \"\(ProjectionState.schemaVersion)\"; replaying the log instead"])
        #expect(r.state.eventCount == stored.count)
    }

    @Test func replayWritesSnapshotsAndKeepsTheNewestThree() throws {
        let (dir, stored, _, _) = try ProjectionPropertyTests().populate(seed: 14, count: 1000)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Replay.run(stateDirectory: dir, snapshotEvery: 200)
        #expect(r.state.eventCount == stored.count)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/snapshots").filter { $0.hasSuffix(".snap") }.sorted()
        #expect(files.count == 3)
        #expect(files.last == SnapshotStore.fileName(UInt64(1200)))
        let again = try Replay.run(stateDirectory: dir)
        #expect(again.snapshotPosition == 1200)
    }
}
