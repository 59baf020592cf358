public import Projections
public import RaqamStore
import RaqamModel

/// Snapshots of the projections (`snapshots/NNN.snap` in the state directory): the state, the
/// log position it folds up to, and the version of the code's state layout, so a restart
/// folds only the log's tail.
///
/// File: magic `RAQAMSNP`, format (1), the schema version string, position, recorded_at of
/// the record at that position, the latest occurred_at folded, the state (`encoded()`), and a
/// CRC-32C of everything before it. A snapshot that fails any check is ignored with a notice,
/// never trusted: the log is the truth.
public struct SnapshotStore: Sendable {
    public var directory: String { files.directory }
    let files: SnapshotFiles

    public init(stateDirectory: String) {
        files = SnapshotFiles(directory: stateDirectory + "/snapshots", magic: Array("RAQAMSNP".utf8), keep: 3)
    }

    static func fileName(_ position: UInt64) -> String { SnapshotFiles.fileName(position) }

    /// Writes a snapshot of `state` (which must fold every event up to its position).
    /// - Returns: the file written.
    @discardableResult
    public func write(_ state: ProjectionState) throws(StoreFailure) -> String {
        var state = state
        state.pruneAll()
        var w = BinaryWriter()
        w.u64(1)
        w.string(ProjectionState.schemaVersion)
        w.u64(state.position)
        w.i64(state.lastRecorded)
        w.i64(state.maxOccurred)
        let payload = state.encoded()
        w.varint(payload.count)
        w.bytes += payload
        return try files.write(body: w.bytes, position: state.position)
    }

    /// The position of the newest snapshot file (by its name; not checked), or nil.
    public var newestPosition: UInt64? { files.newestPosition }

    /// The newest snapshot usable for a query as of `at` / `knownAt` whose record at its position
    /// matches the log (`recordedAt(seq)` gives the log's recorded_at of a seq, nil if absent).
    /// Snapshots that are damaged, of another schema or of another log are reported in `notices`.
    func newest(at: Timestamp?, knownAt: Timestamp?, recordedAt: (UInt64) -> Int64?, notices: inout [String]) -> ProjectionState? {
        for name in files.names().reversed() {
            let path = directory + "/" + name
            var r: BinaryReader
            switch files.read(path: path) {
            case .notASnapshot:
                notices.append("ignored snapshot \(path): not a snapshot file; replaying the log instead")
                continue
            case .damaged:
                notices.append("ignored snapshot \(path): checksum mismatch (damaged); replaying the log instead")
                continue
            case .body(let reader):
                r = reader
            }
            guard (try? r.u64()) == 1, let schema = try? r.string() else {
                notices.append("ignored snapshot \(path): unknown format; replaying the log instead")
                continue
            }
            guard schema == ProjectionState.schemaVersion else {
                notices.append("ignored snapshot \(path): written by schema \"\(schema)\", this raqam uses \"\(ProjectionState.schemaVersion)\"; replaying the log instead")
                continue
            }
            guard let position = try? r.u64(), let lastRecorded = try? r.i64(), let maxOccurred = try? r.i64(), let n = try? r.varint(),
                  n == r.end - r.offset else {
                notices.append("ignored snapshot \(path): truncated; replaying the log instead")
                continue
            }
            if let at, maxOccurred > at.micros { continue }
            if let knownAt, lastRecorded > knownAt.micros { continue }
            guard position == 0 || recordedAt(position) == lastRecorded else {
                notices.append("ignored snapshot \(path): the log holds other events at seq \(position) (was it replaced?); replaying the log instead")
                continue
            }
            guard let state = try? ProjectionState(reading: r), state.position == position else {
                notices.append("ignored snapshot \(path): its state does not decode; replaying the log instead")
                continue
            }
            return state
        }
        return nil
    }
}
