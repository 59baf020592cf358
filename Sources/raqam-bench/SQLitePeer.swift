import CSQLite
import Dispatch
import RaqamModel
import Synchronization

/// SQLite in WAL mode storing the same records as raqam's log: (seq, id, time, payload), with
/// a unique index on the id. Calls go through sqlite3_* here only.
final class SQLitePeer: @unchecked Sendable {
    // @unchecked: the connection is used by one thread at a time: the benchmark's single
    // producer, or the group-commit leader elected under `queue` below.
    private var db: OpaquePointer?
    private var insert: OpaquePointer?
    let path: String

    enum Sync: String { case full = "FULL", normal = "NORMAL" }

    init(path: String, synchronous: Sync) throws {
        self.path = path
        guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError("sqlite3_open \(path) failed") }
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA synchronous=\(synchronous.rawValue)")
        try exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, id BLOB, time INTEGER, payload BLOB NOT NULL)")
        try exec("CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events(id)")
        guard sqlite3_prepare_v2(db, "INSERT INTO events (id, time, payload) VALUES (?, ?, ?)", -1, &insert, nil) == SQLITE_OK else {
            throw BenchError("prepare: \(message)")
        }
    }

    deinit {
        sqlite3_finalize(insert)
        sqlite3_close(db)
    }

    var message: String { String(cString: sqlite3_errmsg(db)) }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchError("\(sql): \(message)") }
    }

    /// Inserts records in one transaction (BEGIN … COMMIT; the commit syncs per `synchronous`).
    func insertTransaction(_ records: ArraySlice<BenchRecord>) throws {
        try exec("BEGIN IMMEDIATE")
        for r in records {
            sqlite3_reset(insert)
            r.id.withUnsafeBytes { _ = sqlite3_bind_blob(insert, 1, $0.baseAddress, 16, nil) }
            sqlite3_bind_int64(insert, 2, r.time)
            let rc = r.payload.withUnsafeBytes { raw -> Int32 in
                sqlite3_bind_blob(insert, 3, raw.baseAddress, Int32(raw.count), nil)
                return sqlite3_step(insert)
            }
            guard rc == SQLITE_DONE else { throw BenchError("insert: \(message)") }
        }
        try exec("COMMIT")
    }

    /// Reads every payload in seq order and hands it to `body`.
    func scan(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT payload FROM events ORDER BY seq", -1, &stmt, nil) == SQLITE_OK else { throw BenchError("select: \(message)") }
        defer { sqlite3_finalize(stmt) }
        while sqlite3_step(stmt) == SQLITE_ROW {
            let n = Int(sqlite3_column_bytes(stmt, 0))
            try body(UnsafeRawBufferPointer(start: sqlite3_column_blob(stmt, 0), count: n))
        }
    }

    // Group commit for SQLite: its best single-writer arrangement with a sync per
    // acknowledged event. Producers queue; a leader commits everything queued in one
    // transaction and wakes them.
    private let queue = Mutex<(pending: [(BenchRecord, DispatchSemaphore)], leading: Bool)>(([], false))
    fileprivate let asyncQueue = Mutex<(pending: [(BenchRecord, CheckedContinuation<Void, Never>)], draining: Bool)>(([], false))
    fileprivate let writer = DispatchQueue(label: "sqlite.writer")

    func groupInsert(_ record: BenchRecord) throws {
        let done = DispatchSemaphore(value: 0)
        let lead = queue.withLock { q -> Bool in
            q.pending.append((record, done))
            if q.leading { return false }
            q.leading = true
            return true
        }
        if !lead {
            done.wait()
            return
        }
        while true {
            let batch = queue.withLock { q -> [(BenchRecord, DispatchSemaphore)] in
                let b = q.pending
                q.pending = []
                if b.isEmpty { q.leading = false }
                return b
            }
            if batch.isEmpty { return }
            try insertTransaction(ArraySlice(batch.map(\.0)))
            for (_, s) in batch where s !== done { s.signal() }
        }
    }
}

extension SQLitePeer {
    /// Async producers' group commit: each event is acknowledged after the transaction
    /// holding it commits (a sync under synchronous=FULL); a serial queue is the one writer.
    func insert(_ record: BenchRecord) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let schedule = asyncQueue.withLock { q -> Bool in
                q.pending.append((record, c))
                if q.draining { return false }
                q.draining = true
                return true
            }
            if schedule { writer.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let batch = asyncQueue.withLock { q -> [(BenchRecord, CheckedContinuation<Void, Never>)] in
                let b = q.pending
                q.pending = []
                if b.isEmpty { q.draining = false }
                return b
            }
            if batch.isEmpty { return }
            try! insertTransaction(ArraySlice(batch.map(\.0)))
            for (_, c) in batch { c.resume() }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
