import EventLog
public import RaqamModel
import Glibc
import Synchronization

/// The file log of a state directory as an event store: validated `Event`s in,
/// `StoredEvent`s out. The first `EventStoreWriter`.
///
/// Holds the set of registered entities, so `Ingest` can refuse an event about an unknown
/// subject before anything is written. Thread-safe; appends from many threads share syncs.
public final class FileEventStore: EventStoreWriter {
    public let stateDirectory: String
    let log: EventLog
    private let registered: Mutex<Set<EntityKey>>

    /// `events/` under the state directory.
    public static func eventsDirectory(_ stateDirectory: String) -> String { stateDirectory + "/events" }

    /// How appends reach the disk (`raqamctl append --durability`, raqamd always `always`).
    public enum Durability: Sendable, Equatable {
        /// Acknowledged after fdatasync (concurrent appends share one).
        case always
        /// Acknowledged after write; fdatasync at most this often, and on close.
        case interval(milliseconds: Int)
        /// Acknowledged after write; one sync on close (bulk import).
        case none

        var policy: EventLog.Durability {
            switch self {
            case .always: .always
            case .interval(let ms): .interval(milliseconds: ms)
            case .none: .none
            }
        }
    }

    /// Opens (creating when needed) the log under `stateDirectory`, recovering it, and
    /// reads which entities are registered.
    /// - Parameter acknowledgedThrough: a seq known to have been acknowledged (the newest
    ///   snapshot's position): recovery refuses to cut it as a torn tail.
    /// - Parameter syncObserver: told each acknowledging sync's duration (ns), for `/metrics`.
    public convenience init(stateDirectory: String, durability: Durability = .always, segmentSize: Int = 64 << 20,
                            acknowledgedThrough: UInt64 = 0, syncObserver: (@Sendable (UInt64) -> Void)? = nil) throws(StoreError) {
        try self.init(stateDirectory: stateDirectory, configuration: .init(segmentSize: segmentSize, durability: durability.policy,
                                                                           acknowledgedThrough: acknowledgedThrough, syncObserver: syncObserver))
    }

    init(stateDirectory: String, configuration: EventLog.Configuration) throws(StoreError) {
        self.stateDirectory = stateDirectory
        do throws(EventLogError) {
            log = try EventLog(directory: Self.eventsDirectory(stateDirectory), configuration: configuration)
        } catch {
            throw .log(error)
        }
        let keys = try Self.registeredSubjects(stateDirectory: stateDirectory, maxPayloadSize: configuration.maxPayloadSize)
        registered = Mutex(keys)
    }

    /// The subjects registered in a state directory's log (the nation always is), read without
    /// the writer lock: what a client checks a batch against before sending it to raqamd.
    public static func registeredSubjects(stateDirectory: String, maxPayloadSize: Int = 1 << 20) throws(StoreError) -> Set<EntityKey> {
        var keys: Set<EntityKey> = [.nation]
        let reader = EventLogReader(directory: Self.eventsDirectory(stateDirectory), maxPayloadSize: maxPayloadSize)
        var from: UInt64 = 1
        if let cached = RegisteredCache.read(stateDirectory: stateDirectory, reader: reader) {
            keys.formUnion(cached.keys)
            from = cached.through + 1
        }
        do {
            try reader.scan(from: from) { r in
                if EventCodec.peekType(r.payload) == .entityRegistered, let e = try? EventCodec.decode(r.payload) {
                    keys.insert(e.subject)
                }
                return true
            }
        } catch let error as EventLogError {
            throw .log(error)
        } catch {
            throw .log(EventLogError(code: .io, message: "\(error)"))
        }
        return keys
    }

    public func isRegistered(_ key: EntityKey) -> Bool {
        registered.withLock { $0.contains(key) }
    }

    public var lastSeq: UInt64 { log.lastSeq }

    public var recoveryNotes: [RecoveryNote] {
        let r = log.recovery
        var notes: [RecoveryNote] = []
        if let t = r.tornTail, let line = r.lines.first {
            notes.append(RecoveryNote(message: line, fields: [("log.segment", t.segment), ("log.offset", "\(t.offset)"),
                                                              ("log.bytes", "\(t.bytes)"), ("log.reason", t.reason),
                                                              ("log.quarantine", t.quarantine)]))
            notes += r.lines.dropFirst().map { RecoveryNote(message: $0) }
        } else {
            notes = r.lines.map { RecoveryNote(message: $0) }
        }
        return notes
    }

    public func storedEvent(withID id: EventID) throws(StoreError) -> StoredEvent? {
        guard let seq = log.seq(forKey: RecordKey(high: id.high, low: id.low)) else { return nil }
        return try storedEvent(at: seq)
    }

    /// The event at `seq`, read back through the log's block index.
    func storedEvent(at seq: UInt64) throws(StoreError) -> StoredEvent? {
        let record: EventLog.StoredRecord?
        do throws(EventLogError) { record = try log.record(at: seq) } catch { throw .log(error) }
        guard let record else { return nil }
        do throws(EventCodec.Problem) {
            return StoredEvent(seq: seq, recordedAt: Timestamp(micros: record.recordedAt), event: try EventCodec.decode(record.payload))
        } catch {
            throw .undecodable(seq: seq, reason: error.message)
        }
    }

    @discardableResult
    public func append(_ events: [Event]) throws(StoreError) -> [AppendResult] {
        let entries = events.map { e in
            EventLog.Entry(key: e.id.map { RecordKey(high: $0.high, low: $0.low) } ?? .none,
                           time: e.occurredAt.micros, payload: EventCodec.encode(e))
        }
        let appended: [EventLog.Appended]
        do throws(EventLogError) {
            appended = try log.append(entries)
        } catch {
            throw .log(error)
        }
        let newlyRegistered = events.filter { $0.type == .entityRegistered }.map(\.subject)
        if !newlyRegistered.isEmpty { registered.withLock { $0.formUnion(newlyRegistered) } }
        var results: [AppendResult] = []
        results.reserveCapacity(events.count)
        // The same id earlier in this batch: compare with that event, not with the log.
        var batchIDs: [EventID: Int] = [:]
        for (i, (e, a)) in zip(events, appended).enumerated() {
            guard a.isDuplicate, let id = e.id else {
                if let id = e.id { batchIDs[id] = i }
                results.append(AppendResult(seq: a.seq, kind: .stored))
                continue
            }
            let stored: Event?
            if let earlier = batchIDs[id] { stored = events[earlier] } else { stored = try storedEvent(at: a.seq)?.event }
            let field = stored.flatMap { e.difference(from: $0) }
            results.append(AppendResult(seq: a.seq, kind: field.map { .conflict(field: $0) } ?? .duplicate))
        }
        return results
    }

    public func sync() throws(StoreError) {
        do throws(EventLogError) { try log.sync() } catch { throw .log(error) }
    }

    /// Syncs and refuses further appends (call it once the appends have returned), and
    /// leaves the registered subjects beside the log for the next open (`RegisteredCache`).
    public func close() throws(StoreError) {
        let last = log.lastSeq
        let recordedAt = last > 0 ? (try? log.record(at: last))??.recordedAt : nil
        do throws(EventLogError) { try log.close() } catch { throw .log(error) }
        if let recordedAt {
            RegisteredCache.write(registered.withLock { $0 }, through: last, recordedAt: recordedAt, stateDirectory: stateDirectory)
        }
    }
}

/// The registered subjects as of a seq, kept in `STATE/registered` when a writer closes, so
/// that opening a large log reads only what follows it, not every record (10 M events: a
/// quarter of a second of a start-up). Derived data, like the sidecars: written atomically,
/// checked by its CRC and by the recorded_at of the record at its seq (a log restored or
/// replaced does not match), and when missing, damaged or not of this log, the whole log is
/// read as before. A crash leaves the last one written: still a true prefix of the log.
///
/// ```
/// "RAQAMREG", u32 version (1), u64 seq, i64 recorded_at of seq, u64 count,
/// count × (u16 length, entity key as text), u32 CRC-32C of everything before it
/// ```
enum RegisteredCache {
    static let magic = Array("RAQAMREG".utf8)

    static func path(_ stateDirectory: String) -> String { stateDirectory + "/registered" }

    /// Best effort: a state directory this process may not write keeps the older file.
    static func write(_ keys: Set<EntityKey>, through seq: UInt64, recordedAt: Int64, stateDirectory: String) {
        var b = magic
        b.appendLE(UInt32(1))
        b.appendLE(seq)
        b.appendLE(UInt64(bitPattern: recordedAt))
        let names = keys.map(\.description).sorted()
        b.appendLE(UInt64(names.count))
        for name in names {
            b.appendLE(UInt16(name.utf8.count))
            b.append(contentsOf: name.utf8)
        }
        b.appendLE(DurableFile.checksum(b[...]))
        try? DurableFile.write(b, to: path(stateDirectory))
    }

    /// The subjects and the seq they hold through, or nil when the file is missing, damaged
    /// or of another log.
    static func read(stateDirectory: String, reader: EventLogReader) -> (keys: Set<EntityKey>, through: UInt64)? {
        guard let b = DurableFile.read(path(stateDirectory)), b.count >= 36, Array(b.prefix(8)) == magic,
              DurableFile.checksum(b[..<(b.count - 4)]) == b.loadLE(UInt32.self, at: b.count - 4),
              b.loadLE(UInt32.self, at: 8) == 1 else { return nil }
        let seq = b.loadLE(UInt64.self, at: 12)
        let recordedAt = Int64(bitPattern: b.loadLE(UInt64.self, at: 20))
        let count = Int(b.loadLE(UInt64.self, at: 28))
        var keys: Set<EntityKey> = []
        var at = 36
        for _ in 0..<count {
            guard at + 2 <= b.count - 4 else { return nil }
            let length = Int(b.loadLE(UInt16.self, at: at))
            guard at + 2 + length <= b.count - 4, let key = try? EntityKey(parsing: String(decoding: b[(at + 2)..<(at + 2 + length)], as: UTF8.self)) else { return nil }
            keys.insert(key)
            at += 2 + length
        }
        var matches = false
        _ = try? reader.scan(from: seq) { r in
            matches = r.seq == seq && r.recordedAt == recordedAt
            return false
        }
        return matches ? (keys, seq) : nil
    }
}

fileprivate extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }

    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}

/// Reads the events of a state directory's file log, in this process or beside a running writer.
public struct StoredEventReader: EventStoreReader {
    let reader: EventLogReader

    public init(stateDirectory: String) {
        reader = EventLogReader(directory: FileEventStore.eventsDirectory(stateDirectory))
    }

    /// The recorded_at of the event at `seq` (µs), or nil when the log holds none.
    public func recordedAt(seq: UInt64) -> Int64? {
        var found: Int64?
        _ = try? reader.scan(from: seq) { r in
            if r.seq == seq { found = r.recordedAt }
            return false
        }
        return found
    }

    /// The seq of the first event recorded at or after `recordedAt` (µs), or nil.
    public func firstSeq(recordedAtOrAfter recordedAt: Int64) throws -> UInt64? {
        try reader.firstSeq(recordedAtOrAfter: recordedAt)
    }

    /// Calls `body` with each stored event from `seq` on (and, when given, whose occurred_at
    /// lies in `occurred`), in log order; `body` returns false to stop.
    /// - Returns: the seq of the last event delivered.
    @discardableResult
    public func scan(from seq: UInt64, occurred: ClosedRange<Int64>?, _ body: (StoredEvent) throws -> Bool) throws -> UInt64 {
        try reader.scan(from: seq, timeRange: occurred) { r in
            let event: Event
            do throws(EventCodec.Problem) { event = try EventCodec.decode(r.payload) } catch { throw StoreError.undecodable(seq: r.seq, reason: error.message) }
            return try body(StoredEvent(seq: r.seq, recordedAt: Timestamp(micros: r.recordedAt), event: event))
        }
    }
}

extension StoredEventReader {
    /// The seq of the last event written so far (0 for an empty log).
    public func lastSeq() throws -> UInt64 { try reader.lastSeq() }

    /// See `EventLogReader.chunkStarts()`.
    public func chunkStarts() throws -> [UInt64] { try reader.chunkStarts() }

    /// Which events a newest-first scan delivers: those about one subject, those about a
    /// region or any of its districts, or all of them. Tested on the encoded event
    /// (`EventCodec.peekSubject`), so records that do not match are not decoded.
    public enum SubjectFilter: Sendable {
        case all
        case subject(EntityKey)
        /// The region and its districts (whose codes begin with the region's).
        case region(EntityKey)

        /// The test of one record, with the code's bytes made once.
        func matcher() -> (UnsafeRawBufferPointer) -> Bool {
            switch self {
            case .all: return { _ in true }
            case .subject(let k):
                let code = Array(k.code.utf8)
                return { EventCodec.peekSubject($0, kind: k.kind, code: code) }
            case .region(let r):
                let code = Array(r.code.utf8)
                return { EventCodec.peekSubject($0, kind: .region, code: code) || EventCodec.peekSubject($0, kind: .district, code: code, prefix: true) }
            }
        }
    }

    /// Calls `body` with the events `filter` admits that occurred by `occurredBy` and were
    /// recorded by `recordedBy` (µs; nil for no bound), **newest first** (highest seq first);
    /// `body` returns false to stop; only events up to seq `position` when given. What the web view's "latest events" and an explanation's
    /// evidence read: they stop after a page, so their cost is the log's tail back to the
    /// page's oldest event, not the log.
    ///
    /// Steps back through the log a block at a time (`EventLogReader.chunkStarts`), reading
    /// each block forwards; sealed blocks whose events all occurred after `occurredBy` are
    /// skipped through the index.
    public func scanNewestFirst(filter: SubjectFilter, through position: UInt64? = nil, occurredBy: Int64?, recordedBy: Int64?,
                                _ body: (StoredEvent) throws -> Bool) throws {
        let chunks = try reader.chunks()
        var end = position.map { $0 &+ 1 } ?? UInt64.max
        let range: ClosedRange<Int64>? = occurredBy.map { Int64.min...$0 }
        let matches = filter.matcher()
        for chunk in chunks.reversed() where chunk.firstSeq < end {
            let start = chunk.firstSeq
            // A sealed block whose events all occurred after the bound, or whose first record
            // was recorded after it, holds nothing to read: skipped through the index alone.
            if let occurredBy, let least = chunk.minTime, least > occurredBy { end = start; continue }
            if let recordedBy, let first = chunk.firstRecordedAt, first > recordedBy { end = start; continue }
            // A chunk is read forwards keeping its newest `ring` matches (the active segment
            // is one chunk of up to 64 MiB: decoding all of it for a page would cost more
            // than the page); when the caller wants more than those, the part before them
            // is read again the same way.
            var upTo = end
            while upTo > start {
                var newest: [(seq: UInt64, recordedAt: Int64, payload: [UInt8])] = []
                var kept = 0
                var overflowed = false
                try reader.scan(from: start, through: upTo == .max ? nil : upTo - 1, timeRange: range) { r in
                    if let recordedBy, r.recordedAt > recordedBy { return false }
                    guard matches(r.payload) else { return true }
                    let record = (seq: r.seq, recordedAt: r.recordedAt, payload: Array(r.payload))
                    if newest.count < Self.ring { newest.append(record) } else {
                        newest[kept] = record
                        overflowed = true
                    }
                    kept = (kept + 1) % Self.ring
                    return true
                }
                // Oldest first from `kept` when the ring wrapped.
                let ordered = overflowed ? Array(newest[kept...] + newest[..<kept]) : newest
                for record in ordered.reversed() {
                    let event: Event
                    do throws(EventCodec.Problem) { event = try EventCodec.decode(record.payload) } catch {
                        throw StoreError.undecodable(seq: record.seq, reason: error.message)
                    }
                    if try !body(StoredEvent(seq: record.seq, recordedAt: Timestamp(micros: record.recordedAt), event: event)) { return }
                }
                guard overflowed, let oldest = ordered.first?.seq else { break }
                upTo = oldest
            }
            end = start
        }
    }

    /// How many matches of one chunk a newest-first read keeps at a time.
    static let ring = 4096
}

extension FileEventStore {
    /// The state directory's evaluation clock (`wall` or `events`), from its `clock` file;
    /// nil when none was set. `raqamctl init --clock` writes it; raqamd and `raqamctl lagging`
    /// read it, so both evaluate the log the same way.
    public static func clockSetting(stateDirectory: String) -> String? {
        guard let bytes = DurableFile.read(stateDirectory + "/clock") else { return nil }
        let word = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(String.init)
        return word
    }

    /// Writes the `clock` file atomically (write, fsync, rename, fsync the directory).
    public static func setClock(_ word: String, stateDirectory: String) throws(StoreError) {
        do {
            try DurableFile.makeDirectories(stateDirectory)
            try DurableFile.write(Array((word + "\n").utf8), to: stateDirectory + "/clock")
        } catch {
            throw .log(error)
        }
    }
}
