public import EventLog
public import RaqamModel
import Glibc
import Synchronization

/// The event log of a state directory, typed: validated `Event`s in, `StoredEvent`s out.
///
/// Holds the set of registered entities, so an event about an unknown subject is refused
/// before anything is written. Thread-safe; appends from many threads share syncs.
public final class EventStore: Sendable {
    public let stateDirectory: String
    public let log: EventLog
    private let registered: Mutex<Set<EntityKey>>

    /// `events/` under the state directory.
    public static func eventsDirectory(_ stateDirectory: String) -> String { stateDirectory + "/events" }

    /// Opens (creating when needed) the log under `stateDirectory`, recovering it, and
    /// reads which entities are registered.
    public init(stateDirectory: String, configuration: EventLog.Configuration = .init()) throws(StoreError) {
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
        do {
            try reader.scan { r in
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

    /// True when `key` is registered (the nation always is).
    public func isRegistered(_ key: EntityKey) -> Bool {
        registered.withLock { $0.contains(key) }
    }

    /// How far in the future an event may be dated: clocks of reporting systems drift, but an
    /// event reported before it happened is a mistake (and the projections' 90-day windows
    /// assume none).
    public static let futureTolerance: Int64 = 86_400_000_000

    /// The problems of a batch that only the log can tell: subjects that are not registered
    /// (counting registrations earlier in the same batch), and events dated in the future.
    /// `lines` gives each event's line.
    public func contextIssues(_ events: [Event], lines: [Int]? = nil, file: String? = nil) -> [ValidationIssue] {
        Self.contextIssues(events, known: registered.withLock { $0 }, lines: lines, file: file)
    }

    /// `contextIssues` against a given set of registered subjects.
    public static func contextIssues(_ events: [Event], known: Set<EntityKey>, lines: [Int]? = nil, file: String? = nil) -> [ValidationIssue] {
        var known = known
        var issues: [ValidationIssue] = []
        let latest = Self.nowMicros() + Self.futureTolerance
        for (i, e) in events.enumerated() {
            if e.occurredAt.micros > latest {
                issues.append(ValidationIssue(file: file, line: lines?[i], field: "occurred_at",
                                              message: "\(e.occurredAt.rfc3339) is in the future; an event is reported after it happens"))
            }
            if e.type == .entityRegistered {
                known.insert(e.subject)
                continue
            }
            if !known.contains(e.subject) {
                issues.append(Self.unknownSubject(e.subject, file: file, line: lines?[i]))
            }
        }
        return issues
    }

    static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// The issue of an event about a subject no `entity.registered` event introduced.
    public static func unknownSubject(_ key: EntityKey, file: String?, line: Int?) -> ValidationIssue {
        ValidationIssue(file: file, line: line, field: "subject",
                        message: "unknown subject \(key); register it first (raqamctl init registers the reference data)")
    }

    /// Appends a batch, all or nothing: when any subject is unknown nothing is written.
    /// Events whose id the log holds already come back with their original seq.
    @discardableResult
    public func append(_ events: [Event], lines: [Int]? = nil, file: String? = nil) throws(StoreError) -> [EventLog.Appended] {
        let issues = contextIssues(events, lines: lines, file: file)
        guard issues.isEmpty else { throw .invalid(issues) }
        let entries = events.map { e in
            EventLog.Entry(key: e.id.map { RecordKey(high: $0.high, low: $0.low) } ?? .none,
                           time: e.occurredAt.micros, payload: EventCodec.encode(e))
        }
        let results: [EventLog.Appended]
        do throws(EventLogError) {
            results = try log.append(entries)
        } catch {
            throw .log(error)
        }
        let newlyRegistered = events.filter { $0.type == .entityRegistered }.map(\.subject)
        if !newlyRegistered.isEmpty { registered.withLock { $0.formUnion(newlyRegistered) } }
        return results
    }

    public func close() throws(StoreError) {
        do throws(EventLogError) { try log.close() } catch { throw .log(error) }
    }
}

/// Reads the events of a state directory, in this process or beside a running writer.
public struct StoredEventReader {
    public let reader: EventLogReader

    public init(stateDirectory: String) {
        reader = EventLogReader(directory: EventStore.eventsDirectory(stateDirectory))
    }

    /// Calls `body` with each stored event from `seq` on (and, when given, whose occurred_at
    /// lies in `occurred`), in log order; `body` returns false to stop.
    /// - Returns: the seq of the last event delivered.
    @discardableResult
    public func scan(from seq: UInt64 = 1, occurred: ClosedRange<Int64>? = nil, _ body: (StoredEvent) throws -> Bool) throws -> UInt64 {
        try reader.scan(from: seq, timeRange: occurred) { r in
            let event: Event
            do throws(EventCodec.Problem) { event = try EventCodec.decode(r.payload) } catch { throw StoreError.undecodable(seq: r.seq, reason: error.message) }
            return try body(StoredEvent(seq: r.seq, recordedAt: Timestamp(micros: r.recordedAt), event: event))
        }
    }
}

extension EventStore {
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
