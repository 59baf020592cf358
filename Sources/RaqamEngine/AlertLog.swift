public import RaqamModel
public import RaqamStore
import Synchronization
import RaqamSystem

/// The durable log of alert transitions, `<state dir>/alerts/`: a `RecordLog` of its own
/// whose records are JSON. Each transition is written (and synced) **before** it is sent to
/// the journal, then marked delivered; so a crash between the two re-sends it on restart, with
/// the same alert id, and never loses it.
public final class AlertLog: Sendable {
    let log: RecordLog

    public static func directory(_ stateDirectory: String) -> String { stateDirectory + "/alerts" }

    /// Transitions are few and small (about 600 bytes with their delivered mark): a segment
    /// holds some 400 of them, and a new one is made (and preallocated) as they come.
    public static let segmentSize = 256 << 10

    /// Opens (or creates) the alert log of a state directory, taking its writer lock.
    public init(stateDirectory: String) throws(StoreFailure) {
        log = try RecordLog(directory: Self.directory(stateDirectory), segmentSize: Self.segmentSize)
    }

    /// Appends transitions durably (one fdatasync). A transition already in the log (same
    /// alert id and state) is not stored twice.
    public func record(_ records: [AlertRecord]) throws(StoreFailure) {
        guard !records.isEmpty else { return }
        try log.append(records.map { r in
            RecordLog.Entry(key: EventID(derivedFrom: "alert-record/\(r.alertID)/\(r.state.rawValue)"), time: r.at, payload: Array(r.json.utf8))
        })
    }

    /// Notes that transitions reached the journal (or standard error).
    public func markDelivered(_ records: [AlertRecord]) throws(StoreFailure) {
        guard !records.isEmpty else { return }
        try log.append(records.map { r in
            var w = JSONWriter()
            w.beginObject(); w.key("delivered"); w.string(r.alertID); w.key("state"); w.string(r.state.rawValue); w.endObject()
            return RecordLog.Entry(key: EventID(derivedFrom: "alert-delivered/\(r.alertID)/\(r.state.rawValue)"), time: r.at, payload: Array(w.text.utf8))
        })
    }

    public func close() throws(StoreFailure) { try log.close() }

    /// Everything the alert log holds, in order; readable while raqamd runs.
    public static func read(stateDirectory: String) throws -> AlertHistory {
        var history = AlertHistory()
        var delivered: Set<String> = []
        let reader = RecordLogReader(directory: directory(stateDirectory))
        try reader.scan { r in
            guard let json = try? JSONParser.parse(Array(r.payload)) else { return true }
            if case .object(let members) = json, let d = members.first(where: { $0.key == "delivered" }), case .string(let id) = d.value,
               let s = members.first(where: { $0.key == "state" }), case .string(let state) = s.value {
                delivered.insert(id + "/" + state)
            } else if let record = AlertRecord(json: json) {
                history.records.append(record)
            }
            return true
        }
        history.undelivered = history.records.filter { !delivered.contains($0.alertID + "/" + $0.state.rawValue) }
        return history
    }
}

/// The alert log read back.
public struct AlertHistory: Sendable {
    public init() {}

    /// Every transition, oldest first.
    public var records: [AlertRecord] = []
    /// Transitions recorded but not marked delivered: to send again.
    public var undelivered: [AlertRecord] = []

    /// The latest transition of each alert (rule, entity).
    public var latest: [AlertIdentity: AlertRecord] {
        var out: [AlertIdentity: AlertRecord] = [:]
        for r in records { out[AlertIdentity(rule: r.rule, entity: r.entity)] = r }
        return out
    }
}

/// An alert's identity: one rule about one entity.
public struct AlertIdentity: Hashable, Sendable {
    public var rule: String
    public var entity: EntityKey

    public init(rule: String, entity: EntityKey) {
        self.rule = rule
        self.entity = entity
    }
}

/// The alert log's transitions, read once and then followed: each call reads only what was
/// appended since the last (what a page of alert history reads on every load). Delivery
/// marks are skipped.
public final class AlertLogFollower: Sendable {
    private struct Followed {
        var reader: RecordLogReader
        var last: UInt64 = 0
        var records: [AlertRecord] = []
    }

    private let followed: Mutex<Followed>

    public init(stateDirectory: String) {
        followed = Mutex(Followed(reader: RecordLogReader(directory: AlertLog.directory(stateDirectory))))
    }

    /// Every transition recorded so far, oldest first.
    public func records() throws -> [AlertRecord] {
        try followed.withLock { f in
            // raqamd has not written an alert log yet: no transitions.
            guard FileCalls.exists(f.reader.directory) else { return f.records }
            var last = f.last
            var added: [AlertRecord] = []
            try f.reader.scan(from: f.last + 1) { r in
                last = r.seq
                if let json = try? JSONParser.parse(Array(r.payload)), let record = AlertRecord(json: json) { added.append(record) }
                return true
            }
            f.last = last
            f.records += added
            return f.records
        }
    }
}
