import EventLog
import RaqamModel

/// What checking a whole log found (`FileEventStore.verify`).
public struct LogVerification: Sendable {
    /// A place where the log is damaged: the segment file, the byte offset, why.
    public struct DamagedPlace: Sendable, CustomStringConvertible {
        public var path: String
        public var offset: Int
        public var reason: String
        public var description: String { "\(path) at offset \(offset): \(reason)" }
    }

    public var segments = 0
    public var records = 0
    public var firstSeq: UInt64 = 0
    public var lastSeq: UInt64 = 0
    /// Lower-case hex of the chain hash of the last record (a receipt's `chain`): written down
    /// elsewhere, it shows a later rewrite.
    public var headChain: String
    public var problems: [DamagedPlace] = []
    /// Unfinished bytes after the last record: normal while a writer appends (the next writer
    /// to open the log sets them aside).
    public var unfinishedTail: DamagedPlace?
    /// Records intact by the log's rules that are not events this version can read ("seq N: …").
    public var undecodable: [String] = []

    public var isIntact: Bool { problems.isEmpty && undecodable.isEmpty }
}

extension FileEventStore {
    /// Checks the events' log of a state directory: each segment header, each record's
    /// CRC-32C, gap-free seqs, the SHA-256 chain from the first record to the last, the
    /// sidecar indexes, and, with `events`, that every record is a readable event (a full
    /// decode of each: seconds per ten million). Read-only; safe while a writer appends.
    /// - Throws: `StoreFailure` when the folder cannot be read at all.
    public static func verify(stateDirectory: String, events: Bool = true) throws(StoreFailure) -> LogVerification {
        let directory = eventsDirectory(stateDirectory)
        let report: VerifyReport
        do { report = try EventLogVerifier.verify(directory: directory) } catch { throw StoreFailure(error) }
        func place(_ p: VerifyReport.Problem) -> LogVerification.DamagedPlace { .init(path: p.path, offset: p.offset, reason: p.reason) }
        var v = LogVerification(segments: report.segments, records: report.records, firstSeq: report.firstSeq, lastSeq: report.lastSeq,
                                headChain: report.headChain.description, problems: report.problems.map(place),
                                unfinishedTail: report.unfinishedTail.map(place))
        guard events, report.isIntact else { return v }
        var undecodable: [String] = []
        _ = try? EventLogReader(directory: directory).scan { r in
            if case .none = EventCodec.peekType(r.payload) {
                undecodable.append("seq \(r.seq): not an event of a known format")
            } else if (try? EventCodec.decode(r.payload)) == nil {
                undecodable.append("seq \(r.seq): the event cannot be decoded")
            }
            return true
        }
        v.undecodable = undecodable
        return v
    }
}
