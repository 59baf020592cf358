public import RaqamStore
import Projections
import RaqamModel
public import Rules

/// Snapshots of the engine (`snapshots/engine/NNN.snap`): the alert timeline (projections,
/// alert instances and their states, `active_since`, the evaluation time and the last tick)
/// at a log position, so that raqamd's start-up, a reload with unchanged rules and `lagging`
/// fold only the log's tail.
///
/// File: magic `RAQAMENG`, format (1), the schema versions, the rule set's fingerprint, the
/// clock and the grid step, the position, the recorded_at of the record at that position, the
/// timeline (`AlertTimeline.encoded()`), a CRC-32C of everything before it. A snapshot that
/// fails any check, or was taken under other rules, clock or step, is not used: the log is
/// folded from its start instead (the log is the truth).
public struct EngineSnapshotStore: Sendable {
    public var directory: String { files.directory }
    let files: SnapshotFiles

    static var schema: String { ProjectionState.schemaVersion + "/" + AlertTimeline.schemaVersion }

    public init(stateDirectory: String) {
        files = SnapshotFiles(directory: stateDirectory + "/snapshots/engine", magic: Array("RAQAMENG".utf8), keep: 2)
    }

    /// Writes a snapshot of `state` (which must fold every record up to its position).
    /// - Returns: the file written.
    @discardableResult
    public func write(_ state: EngineState) throws(StoreFailure) -> String {
        var w = BinaryWriter()
        w.u64(1)
        w.string(Self.schema)
        w.string(state.timeline.evaluator.rules.fingerprint)
        w.u8(state.timeline.clock == .wall ? 0 : 1)
        w.i64(state.timeline.interval)
        w.u64(state.position)
        w.i64(state.timeline.projections.lastRecorded)
        let payload = state.timeline.encoded()
        w.varint(payload.count)
        w.bytes += payload
        return try files.write(body: w.bytes, position: state.position)
    }

    /// The position of the newest snapshot file (by its name; not checked), or nil.
    public var newestPosition: UInt64? { files.newestPosition }

    /// The newest snapshot taken under `rules`, `clock` and `interval` whose record at its
    /// position matches the log (`recordedAt(seq)` gives the log's recorded_at of a seq) and
    /// that `usable` accepts (`lagging --at T` needs one evaluated by T). Snapshots that are
    /// damaged, of another schema or of another log are reported in `notices`; one of other
    /// rules is skipped silently (a reload changed them: it is simply stale).
    public func newest(rules: RuleSet, clock: EvaluationClock, interval: Int64,
                       recordedAt: (UInt64) -> Int64?, notices: inout [String],
                       usable: (EngineState) -> Bool = { _ in true }) -> EngineState? {
        for name in files.names().reversed() {
            let path = directory + "/" + name
            var r: BinaryReader
            switch files.read(path: path) {
            case .notASnapshot:
                notices.append("ignored engine snapshot \(path): not a snapshot file; folding the log instead")
                continue
            case .damaged:
                notices.append("ignored engine snapshot \(path): checksum mismatch (damaged); folding the log instead")
                continue
            case .body(let reader):
                r = reader
            }
            guard (try? r.u64()) == 1, let schema = try? r.string(), let fingerprint = try? r.string(),
                  let clockCode = try? r.u8(), let step = try? r.i64(), let position = try? r.u64(), let lastRecorded = try? r.i64(),
                  let n = try? r.varint(), n == r.end - r.offset else {
                notices.append("ignored engine snapshot \(path): unknown format or truncated; folding the log instead")
                continue
            }
            guard schema == Self.schema else {
                notices.append("ignored engine snapshot \(path): written by schema \"\(schema)\", this raqam uses \"\(Self.schema)\"; folding the log instead")
                continue
            }
            guard fingerprint == rules.fingerprint, clockCode == (clock == .wall ? 0 : 1), step == interval else { continue }
            guard position == 0 || recordedAt(position) == lastRecorded else {
                notices.append("ignored engine snapshot \(path): the log holds other events at seq \(position) (was it replaced?); folding the log instead")
                continue
            }
            guard let timeline = try? AlertTimeline(decoding: Array(r.bytes[r.offset..<r.end]), rules: rules), timeline.projections.position == position else {
                notices.append("ignored engine snapshot \(path): its state does not decode; folding the log instead")
                continue
            }
            let state = EngineState(timeline: timeline, position: position)
            if usable(state) { return state }
        }
        return nil
    }
}
