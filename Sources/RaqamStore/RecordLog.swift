import EventLog
public import RaqamModel

/// A checksummed, hash-chained log of opaque records in a folder of its own: what a state
/// directory keeps beside its events (the alert log, the tokens' audit log), on the events'
/// file format (docs/event-log.md) without their meaning. Above the store nothing names the
/// file log: these records go through this type and `RecordLogReader`, as events go through
/// `EventStoreWriter` and `EventStoreReader`.
///
/// One writer at a time (the folder's lock, taken by `init`); readers read meanwhile.
/// Thread-safe: appends from several threads share one fdatasync.
public final class RecordLog: Sendable {
    /// One record to append.
    public struct Entry: Sendable {
        /// Makes the append idempotent: a record whose key the log holds is not stored again
        /// (nil: never deduplicated).
        public var key: EventID?
        /// The record's time (µs since the Unix epoch), kept in its frame for the time index.
        public var time: Int64
        public var payload: [UInt8]

        public init(key: EventID? = nil, time: Int64, payload: [UInt8]) {
            self.key = key
            self.time = time
            self.payload = payload
        }
    }

    /// What became of an appended record.
    public struct Appended: Sendable, Equatable {
        public var seq: UInt64
        /// True when the log held a record with the same key already: `seq` is that record's.
        public var isDuplicate: Bool
    }

    private let log: EventLog

    /// Opens (or creates) the log in `directory`, taking its writer lock; a torn tail left by
    /// a crash is set aside as the events' log does (docs/recovery.md).
    /// - Parameter segmentSize: bytes per segment file, preallocated as each is made.
    /// - Throws: `.locked` when another writer holds it, `.io`/`.noSpace`, `.corrupt`.
    public init(directory: String, segmentSize: Int) throws(StoreFailure) {
        do { log = try EventLog(directory: directory, configuration: .init(segmentSize: segmentSize, durability: .always)) } catch {
            throw StoreFailure(error)
        }
    }

    /// Appends `entries` durably (one fdatasync for the batch, shared with concurrent callers).
    /// - Returns: one result per entry, in order.
    @discardableResult
    public func append(_ entries: [Entry]) throws(StoreFailure) -> [Appended] {
        do {
            return try log.append(entries.map { e in
                EventLog.Entry(key: e.key.map { RecordKey(high: $0.high, low: $0.low) } ?? .none, time: e.time, payload: e.payload)
            }).map { Appended(seq: $0.seq, isDuplicate: $0.isDuplicate) }
        } catch {
            throw StoreFailure(error)
        }
    }

    /// Syncs and releases the lock; later appends fail with `.closed`.
    public func close() throws(StoreFailure) {
        do { try log.close() } catch { throw StoreFailure(error) }
    }
}

/// One record as a `RecordLogReader` passes it: valid only inside the scan's closure.
public struct LoggedRecord {
    public let seq: UInt64
    /// When the log stored it (µs since the Unix epoch).
    public let recordedAt: Int64
    /// The time the writer gave it.
    public let time: Int64
    /// Its bytes, in the reader's mapping: copy what must outlive the closure.
    public let payload: UnsafeRawBufferPointer
}

/// Reads a `RecordLog`'s folder, also while its writer appends: never a partial record.
/// Not thread-safe (it keeps the active segment mapped from scan to scan): one per thread,
/// or behind a lock.
public final class RecordLogReader {
    private let reader: EventLogReader

    public var directory: String { reader.directory }

    public init(directory: String) {
        reader = EventLogReader(directory: directory)
    }

    /// Calls `body` with each record from `seq` on, in order, until it returns false.
    /// - Returns: the seq of the last record passed to `body` (`seq - 1` when none was).
    /// - Throws: `StoreFailure` for damage (`.corrupt`, naming the file and offset) or I/O
    ///   (`.io` for a folder that does not exist: check first where that means "empty");
    ///   what `body` throws, unchanged.
    @discardableResult
    public func scan(from seq: UInt64 = 1, _ body: (LoggedRecord) throws -> Bool) throws -> UInt64 {
        do {
            return try reader.scan(from: seq) { r in
                try body(LoggedRecord(seq: r.seq, recordedAt: r.recordedAt, time: r.time, payload: r.payload))
            }
        } catch let e as EventLogError {
            throw StoreFailure(e)
        }
    }
}
