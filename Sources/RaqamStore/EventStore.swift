public import RaqamModel

/// Where one appended event stands.
public struct AppendResult: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Stored now, at `seq`.
        case stored
        /// Its id was stored before with the same content, at `seq`: nothing was stored.
        case duplicate
        /// Its id was stored before, at `seq`, with other content (`field` is the first
        /// member that differs): nothing was stored.
        case conflict(field: String)
    }

    public var seq: UInt64
    public var kind: Kind

    public init(seq: UInt64, kind: Kind) {
        self.seq = seq
        self.kind = kind
    }

    public var isDuplicate: Bool { kind == .duplicate }
}

/// Reads a store's events in log order, in this process or beside a running writer.
/// Nothing above the store names how the events are kept.
public protocol EventStoreReader {
    /// Calls `body` with each stored event from `seq` on (and, when given, whose occurred_at
    /// lies in `occurred`), in log order; `body` returns false to stop.
    /// - Returns: the seq of the last event delivered.
    @discardableResult
    func scan(from seq: UInt64, occurred: ClosedRange<Int64>?, _ body: (StoredEvent) throws -> Bool) throws -> UInt64
}

extension EventStoreReader {
    @discardableResult
    public func scan(from seq: UInt64 = 1, _ body: (StoredEvent) throws -> Bool) throws -> UInt64 {
        try scan(from: seq, occurred: nil, body)
    }
}

/// The single writer of a store: appends events and answers what the writer must know to
/// validate the next ones. Thread-safe; concurrent appends share syncs (group commit).
///
/// `append` does not validate: `Ingest` does, once, for every entry point. The writer only
/// assigns seqs, keeps retries idempotent and tells a retry from a conflicting reuse of an id.
public protocol EventStoreWriter: AnyObject, Sendable {
    /// True when `key` is registered (the nation always is).
    func isRegistered(_ key: EntityKey) -> Bool
    /// The stored event with this id, or nil.
    func storedEvent(withID id: EventID) throws(StoreError) -> StoredEvent?
    /// Appends the events in order, all or nothing, once durable under the store's policy.
    /// An event whose id is stored comes back as a duplicate (same content) or a conflict
    /// (other content) with the stored event's seq, and is not stored again.
    func append(_ events: [Event]) throws(StoreError) -> [AppendResult]
    /// The seq of the last acknowledged event (0 for an empty store).
    var lastSeq: UInt64 { get }
    /// What opening the store found and mended, one note each (for the operator).
    var recoveryNotes: [RecoveryNote] { get }
    /// Forces everything appended so far to stable storage.
    func sync() throws(StoreError)
    /// Syncs and refuses further appends.
    func close() throws(StoreError)
}

/// One thing opening a store found and mended: a sentence for a person, and the same facts as
/// dotted fields for the journal (`log.segment`, `log.offset`, `log.bytes`, `log.quarantine`).
public struct RecoveryNote: Sendable, CustomStringConvertible {
    public var message: String
    public var fields: [(key: String, value: String)]

    public init(message: String, fields: [(key: String, value: String)] = []) {
        self.message = message
        self.fields = fields
    }

    public var description: String { message }
}
