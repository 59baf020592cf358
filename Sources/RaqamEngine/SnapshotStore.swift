public import Projections
public import EventLog
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
    public let directory: String
    /// How many snapshots to keep; older ones are removed after a new one is written.
    public var keep = 3

    static let magic = Array("RAQAMSNP".utf8)

    public init(stateDirectory: String) {
        directory = stateDirectory + "/snapshots"
    }

    package static func fileName(_ position: UInt64) -> String {
        let digits = String(position)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// Writes a snapshot of `state` (which must fold every event up to its position).
    /// - Returns: the file written.
    @discardableResult
    public func write(_ state: ProjectionState) throws(EventLogError) -> String {
        var state = state
        state.pruneAll()
        try DurableFile.makeDirectories(directory)
        var w = BinaryWriter()
        w.bytes = Self.magic
        w.u64(1)
        w.string(ProjectionState.schemaVersion)
        w.u64(state.position)
        w.i64(state.lastRecorded)
        w.i64(state.maxOccurred)
        let payload = state.encoded()
        w.varint(payload.count)
        w.bytes += payload
        w.u64(UInt64(DurableFile.checksum(w.bytes[...])))
        let path = directory + "/" + Self.fileName(state.position)
        try DurableFile.write(w.bytes, to: path)
        for old in files().dropLast(keep) { try? DurableFile.remove(directory + "/" + old) }
        return path
    }

    /// Snapshot file names, oldest first.
    func files() -> [String] {
        DurableFile.list(directory).filter { $0.hasSuffix(".snap") && $0.count == 25 }.sorted()
    }

    /// The position of the newest snapshot file (by its name; not checked), or nil.
    public var newestPosition: UInt64? {
        files().last.flatMap { UInt64($0.dropLast(5)) }
    }

    /// The newest snapshot usable for a query as of `at` / `knownAt` whose record at its position
    /// matches the log (`recordedAt(seq)` gives the log's recorded_at of a seq, nil if absent).
    /// Snapshots that are damaged, of another schema or of another log are reported in `notices`.
    func newest(at: Timestamp?, knownAt: Timestamp?, recordedAt: (UInt64) -> Int64?, notices: inout [String]) -> ProjectionState? {
        for name in files().reversed() {
            let path = directory + "/" + name
            guard let bytes = DurableFile.read(path), bytes.count > 12, Array(bytes.prefix(8)) == Self.magic else {
                notices.append("ignored snapshot \(path): not a snapshot file; replaying the log instead")
                continue
            }
            var r = BinaryReader(bytes: bytes, from: 8, end: bytes.count - 8)
            var crcReader = BinaryReader(bytes: bytes, from: bytes.count - 8)
            guard let crc = try? crcReader.u64(), crc == UInt64(DurableFile.checksum(bytes[..<(bytes.count - 8)])) else {
                notices.append("ignored snapshot \(path): checksum mismatch (damaged); replaying the log instead")
                continue
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
