public import EventLog
public import RaqamModel

/// Why the store refused an operation: the input was invalid, or the log could not do it.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// Every problem found in the input; nothing was appended.
    case invalid([ValidationIssue])
    /// The log failed (I/O, full disk, damage, lock).
    case log(EventLogError)
    /// A stored record is not an event this version can read.
    case undecodable(seq: UInt64, reason: String)

    /// Where the log is damaged, when that is why it failed (nil for every other failure):
    /// the one failure a restart cannot mend (docs/recovery.md).
    public var damage: (path: String?, offset: Int?)? {
        guard case .log(let e) = self, e.code == .corrupt else { return nil }
        return (e.path, e.offset)
    }

    public var description: String {
        switch self {
        case .invalid(let issues): issues.map(\.description).joined(separator: "\n")
        case .log(let e): e.description
        case .undecodable(let seq, let reason): "the record at seq \(seq) is not a readable event: \(reason)"
        }
    }
}
