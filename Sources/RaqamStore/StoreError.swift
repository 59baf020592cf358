import EventLog
public import RaqamModel

/// Why the store refused an operation: the input was invalid, or the log could not do it.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// Every problem found in the input; nothing was appended.
    case invalid([ValidationIssue])
    /// The store failed (I/O, full disk, damage, lock), as every store can.
    case failed(StoreFailure)
    /// A stored record is not an event this version can read.
    case undecodable(seq: UInt64, reason: String)

    /// Where the log is damaged, when that is why it failed (nil for every other failure):
    /// the one failure a restart cannot mend (docs/recovery.md).
    public var damage: (path: String?, offset: Int?)? {
        guard case .failed(let e) = self, e.kind == .corrupt else { return nil }
        return (e.path, e.offset)
    }

    public var description: String {
        switch self {
        case .invalid(let issues): issues.map(\.description).joined(separator: "\n")
        case .failed(let e): e.description
        case .undecodable(let seq, let reason): "the record at seq \(seq) is not a readable event: \(reason)"
        }
    }
}

/// Why a store could not do what was asked, in terms every store has (the file log's
/// `EventLogError`, and a later store's, map onto it): what kind of failure, a sentence for a
/// person, and where (a file and offset for the file log).
public struct StoreFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// An I/O call failed.
        case io
        /// The disk (or quota) is full.
        case noSpace
        /// Stored data is damaged: the one failure a restart cannot mend.
        case corrupt
        /// Another writer holds the store.
        case locked
        /// A record over the store's limit.
        case tooLarge
        /// The store was closed.
        case closed
        /// An earlier write failed; the writer refuses more until reopened.
        case failed
        /// A caller's mistake (an impossible argument).
        case badArgument
    }

    public var kind: Kind
    public var message: String
    public var path: String?
    public var offset: Int?

    public init(kind: Kind, message: String, path: String? = nil, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
        self.offset = offset
    }

    public var description: String {
        var place = ""
        if let path { place = path + (offset.map { " at offset \($0)" } ?? "") + ": " }
        return place + message
    }
}

extension StoreFailure {
    /// The file log's error, as the store reports it.
    init(_ e: EventLogError) {
        // `Code` is open to new kinds: one this version does not know is an I/O failure.
        let kinds: [EventLogError.Code: Kind] = [.io: .io, .noSpace: .noSpace, .corrupt: .corrupt, .locked: .locked,
                                                 .tooLarge: .tooLarge, .closed: .closed, .failed: .failed, .badArgument: .badArgument]
        let kind = kinds[e.code] ?? .io
        self.init(kind: kind, message: e.message, path: e.path, offset: e.offset)
    }
}

extension StoreError {
    /// The file log's error, as the store reports it.
    static func log(_ e: EventLogError) -> StoreError { .failed(StoreFailure(e)) }
}
