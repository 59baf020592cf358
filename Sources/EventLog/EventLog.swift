import Dispatch
import Glibc
import RaqamSystem
import Synchronization

/// A segmented, append-only, checksummed and hash-chained log of opaque records, with one
/// writer per directory.
///
/// `append` is safe to call from any number of threads at once: concurrent appends share
/// one `fdatasync` (group commit). Under `.always` an append returns only once its records
/// are on stable storage. Readers (`EventLogReader`) run in this or any other process at the
/// same time and never see a partial record.
///
/// Layout of the directory: `LOCK` (the writer's lock, holding its pid), `NNN.seg` segments
/// named by the seq of their first record, `NNN.idx` sidecar indexes of sealed segments.
public final class EventLog: Sendable {
    /// How appends reach stable storage.
    public enum Durability: Sendable, Equatable, CustomStringConvertible {
        /// Acknowledge after `fdatasync` (concurrent appends share one). The default.
        case always
        /// Acknowledge after `write`; `fdatasync` at most this often, and on close.
        case interval(milliseconds: Int)
        /// Acknowledge after `write`; sync only on `sync()` and close (bulk import).
        case none

        public var description: String {
            switch self {
            case .always: "always"
            case .interval(let ms): "interval(\(ms)ms)"
            case .none: "none"
            }
        }
    }

    /// Settings of the writer; each has a default.
    public struct Configuration: Sendable {
        /// Bytes preallocated for each new segment (default 64 MiB).
        public var segmentSize: Int
        /// When appends are acknowledged (default `.always`).
        public var durability: Durability
        /// The largest payload accepted, in bytes (default 1 MiB; at most what fits in a segment).
        public var maxPayloadSize: Int

        /// A seq the caller knows was acknowledged (a snapshot folded it, say; 0: none known).
        /// Recovery never cuts a record at or below it as a torn tail: it stops the writer instead.
        public var acknowledgedThrough: UInt64

        /// Told the duration (ns) of each `fdatasync` that acknowledges appends under
        /// `.always`, on the sync thread: for a latency histogram. Must return quickly.
        public var syncObserver: (@Sendable (UInt64) -> Void)?

        public init(segmentSize: Int = 64 << 20, durability: Durability = .always, maxPayloadSize: Int = 1 << 20, acknowledgedThrough: UInt64 = 0,
                    syncObserver: (@Sendable (UInt64) -> Void)? = nil) {
            self.segmentSize = segmentSize
            self.durability = durability
            self.maxPayloadSize = maxPayloadSize
            self.acknowledgedThrough = acknowledgedThrough
            self.syncObserver = syncObserver
        }

        var effectiveMaxPayload: Int {
            min(maxPayloadSize, segmentSize - SegmentHeader.size - RecordFrame.headerSize - RecordFrame.alignment)
        }
    }

    /// One record to append.
    public struct Entry: Sendable {
        /// Idempotency key; `.none` for a record that is never deduplicated.
        public var key: RecordKey
        /// The event time in µs since the Unix epoch, kept in the frame for the time index.
        public var time: Int64
        public var payload: [UInt8]

        public init(key: RecordKey = .none, time: Int64, payload: [UInt8]) {
            self.key = key
            self.time = time
            self.payload = payload
        }
    }

    /// Where an appended record stands.
    public struct Appended: Sendable, Equatable {
        public var seq: UInt64
        /// True when the log already held a record with this key: `seq` is the original one.
        public var isDuplicate: Bool

        public init(seq: UInt64, isDuplicate: Bool) {
            self.seq = seq
            self.isDuplicate = isDuplicate
        }
    }

    public let directory: String
    public let configuration: Configuration
    /// What opening the log found and mended.
    public let recovery: RecoveryReport

    let state: Mutex<WriterState>
    /// The files. Only the current group-commit leader, elected under `state`, takes this
    /// lock (and the interval flusher), so it is never contended on the append path.
    let io: Mutex<SegmentWriter>
    private let lockFD: Int32
    /// Where async appenders' batches are written and synced.
    private let ioQueue = DispatchQueue(label: "raqam.eventlog.io")
    private let flusher: FlushTimer?
    /// Under `.always`: the batches written and not yet synced, for the syncer thread.
    private let syncQueue: SyncQueue?

    /// Opens (creating when needed) the log in `directory`, takes the writer lock, and recovers.
    ///
    /// - Throws: `EventLogError` with code `.locked` when another process writes to the log,
    ///   `.corrupt` (naming segment and offset) when a record other than a torn tail is damaged,
    ///   `.io`/`.noSpace` when the file system refuses.
    public init(directory: String, configuration: Configuration = Configuration()) throws(EventLogError) {
        guard configuration.segmentSize >= 4096, configuration.maxPayloadSize > 0 else {
            throw EventLogError(code: .badArgument, message: "segment size must be at least 4096 bytes and the payload limit positive")
        }
        self.directory = directory
        self.configuration = configuration
        try sys(FileCalls.makeDirectories(directory))
        lockFD = try Self.takeLock(directory: directory)
        let opened: Recovered
        do throws(EventLogError) {
            opened = try Recovered(directory: directory, configuration: configuration)
        } catch {
            FileCalls.close(lockFD)
            throw error
        }
        recovery = opened.report
        state = Mutex(WriterState(nextSeq: opened.writer.active.lastSeq &+ 1, durableSeq: opened.writer.active.lastSeq,
                                  activeKeys: opened.activeKeys, sealed: opened.sealed))
        io = Mutex(opened.writer)
        syncQueue = configuration.durability == .always ? SyncQueue() : nil
        if case .interval(let ms) = configuration.durability {
            flusher = FlushTimer(milliseconds: ms)
            flusher?.start { [weak self] in self?.io.withLock { writer in try? writer.syncIfDirty() } }
        } else {
            flusher = nil
        }
        if let queue = syncQueue {
            // The thread holds the queue, not the log: it ends when the log goes (`deinit`).
            do {
                try FileCalls.startThread { [weak self] in
                    while queue.waitForWork() {
                        // The log is let go before the requests complete: once its appenders
                        // return and drop it, nothing here keeps it (and its writer lock) alive.
                        let done: [(AppendRequest, AppendRequest.Outcome)]
                        do {
                            guard let log = self else { return }
                            done = log.syncWritten(queue)
                        }
                        for (request, outcome) in done { request.complete(outcome) }
                    }
                }
            } catch {
                throw EventLogError(code: .io, message: "cannot start the log's sync thread: \(FileCalls.describe(errno: error.errno))")
            }
        }
        if let build = state.withLock({ $0.sealedKeys.filterToBuild() }) {
            // The duplicate check's filter, built off the lock: a start-up does not wait for
            // it (until it is in, look-ups search the mapped sidecars, same answers).
            DispatchQueue.global().async { [weak self] in
                var filter = KeyFilter(capacity: build.capacity)
                for keys in build.keys { filter.insert(allOf: keys) }
                self?.state.withLock { $0.sealedKeys.install(filter, covering: build.keys.count) }
            }
        }
    }

    deinit {
        syncQueue?.stop()
        flusher?.cancel()
        // Best effort for callers that never called close(): what was written reaches the disk.
        io.withLock { writer in
            try? writer.syncIfDirty()
            writer.closeFiles()
        }
        FileCalls.close(lockFD)
    }

    /// Counters of what the writer did since it was opened.
    public struct Statistics: Sendable, Equatable {
        /// Records written (duplicates not counted).
        public var records = 0
        /// Group commits: batches written with one write (and, under `.always`, one sync).
        public var flushes = 0
        /// Time spent in flushes (framing, write, sync), in nanoseconds.
        public var flushNanos: UInt64 = 0
    }

    /// What the writer did since it was opened; `records / flushes` is the mean group size.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// True when CRC-32C runs on the CPU's instruction rather than a table (for reports).
    public static var checksumsInHardware: Bool { CRC32C.isHardware }

    /// The seq of the last record appended and acknowledged (0 for an empty log).
    public var lastSeq: UInt64 {
        state.withLock { $0.durableSeq }
    }

    /// Appends records in order and returns where each stands, once they are acknowledged
    /// under the configured durability. A record whose key the log already holds is not
    /// stored again: its original seq comes back with `isDuplicate`.
    ///
    /// All or nothing: when it throws, none of `entries` was stored.
    /// Thread safety: any number of threads may append at once (group commit).
    /// - Throws: `.tooLarge` for a payload over the limit, `.noSpace` when the file system is
    ///   full, `.failed` after an earlier I/O failure, `.closed` after `close()`.
    @discardableResult
    public func append(_ entries: [Entry]) throws(EventLogError) -> [Appended] {
        let limit = configuration.effectiveMaxPayload
        for (i, e) in entries.enumerated() where e.payload.count > limit {
            throw EventLogError(code: .tooLarge, message: "record \(i + 1) of the batch has \(e.payload.count) bytes; the log accepts at most \(limit)")
        }
        let request = AppendRequest(async: false)
        let submitted: GroupCommit<AppendRequest>.Submitted? = try state.withLock { (s) throws(EventLogError) in
            try s.checkUsable()
            s.assign(entries, to: request)
            if request.records.isEmpty && request.onlyDurableDuplicates(durableSeq: s.durableSeq) { return nil }
            return s.commit.submit(request)
        }
        switch submitted {
        case nil:
            return request.results
        case .lead(let batch)?:
            lead(batch)
        case .wait?:
            switch request.wait() {
            case .committed: return request.results
            case .failed(let error): throw error
            case .lead:
                lead(state.withLock { $0.commit.takeBatch() })
            }
        }
        // Under `.always` the leader's own request is completed by the syncer, after its sync
        // (or by `lead`, when the write failed): one more wait either way.
        if syncQueue != nil {
            if case .failed(let error) = request.wait() { throw error }
            return request.results
        }
        if case .failed(let error) = request.outcome { throw error }
        return request.results
    }

    /// Flushes `batch` as the leader, completes its requests, and hands the lead on.
    ///
    /// Under `.always` the write and the sync are apart: the leader writes its batch and hands
    /// the lead on before any sync, so the next batch is gathered and written while this one's
    /// `fdatasync` is in flight. One sync runs at a time: when none is, the leader syncs its
    /// own batch on its thread (a lone appender pays no thread hop); when one is, the batch
    /// waits for the sync thread, which takes every batch written meanwhile in one `fdatasync`.
    private func lead(_ first: [AppendRequest]) {
        let batch = gather(first)
        var records: [PendingRecord] = []
        for r in batch { records.append(contentsOf: r.records) }
        let started = FileCalls.monotonicNanos()
        let written = SyncQueue.Written(requests: batch, lastSeq: records.last?.seq, records: records.count, started: started)
        var inline: SyncQueue.Claim?
        let (result, broken): (Result<[SegmentIndex], EventLogError>, Bool) = io.withLock { writer in
            do throws(EventLogError) {
                let sealed = try writer.write(records, directory: directory, deferSync: syncQueue != nil)
                inline = syncQueue?.add(written, writer: &writer)
                return (.success(sealed), false)
            } catch {
                // Rolled back before any byte was written (a full disk while creating a
                // segment): say so, as only the log can know it.
                return (.failure(writer.broken ? error : error.nothingStored), writer.broken)
            }
        }
        var failedAfter: [AppendRequest] = []
        let next: GroupCommit<AppendRequest>.Finished = state.withLock { s in
            switch result {
            case .success(let sealed):
                s.lastGroupRequests = batch.count
                s.seal(sealed)
                if syncQueue == nil {
                    s.durableSeq = records.last?.seq ?? s.durableSeq
                    s.statistics.records += records.count
                    s.statistics.flushes += 1
                    s.statistics.flushNanos += FileCalls.monotonicNanos() - started
                }
                return s.commit.finished()
            case .failure(let error):
                failedAfter = s.commit.abandon()
                s.rollBack(batch + failedAfter, after: error, broken: broken)
                return .idle
            }
        }
        if case .failure(let error) = result {
            for r in batch + failedAfter { r.complete(.failed(error)) }
        } else if syncQueue == nil {
            for r in batch { r.complete(.committed) }
        }
        if case .handOff(let leader) = next {
            if leader.isAsync {
                // An async caller must not block its executor on I/O: lead on the I/O queue.
                ioQueue.async { self.lead(self.state.withLock { $0.commit.takeBatch() }) }
            } else {
                leader.complete(.lead)
            }
        }
        if let inline, let queue = syncQueue {
            for (request, outcome) in sync(inline, queue) { request.complete(outcome) }
        }
    }

    /// The sync thread's step: the batches written while the last sync ran, in one
    /// `fdatasync`; their requests with their outcomes, in order, for the caller to complete.
    private func syncWritten(_ queue: SyncQueue) -> [(AppendRequest, AppendRequest.Outcome)] {
        guard let claim = io.withLock({ writer in queue.claimWritten(writer: &writer) }) else { return [] }
        return sync(claim, queue)
    }

    /// Syncs what `claim` took (the batches, with a descriptor of the active segment taken
    /// with them under the writer's lock, so the sync covers exactly their writes; a batch
    /// that filled a segment synced it as it sealed it). Runs outside the lock, on a
    /// descriptor of its own (`dup`), so a leader may write meanwhile. After a failed sync
    /// nothing more is acknowledged: what is on disk is unknown until the log is reopened.
    private func sync(_ claim: SyncQueue.Claim, _ queue: SyncQueue) -> [(AppendRequest, AppendRequest.Outcome)] {
        var failure = queue.failure
        if failure == nil {
            if claim.fd < 0 {
                failure = EventLogError(code: .io, message: "cannot sync \(claim.path): \(FileCalls.describe(errno: claim.errno))", path: claim.path)
            } else {
                let started = FileCalls.monotonicNanos()
                do throws(EventLogError) { try sys(FileCalls.fdatasync(claim.fd, path: claim.path)) } catch { failure = error }
                configuration.syncObserver?(FileCalls.monotonicNanos() - started)
            }
        }
        if claim.fd >= 0 { FileCalls.close(claim.fd) }
        if let failure {
            queue.fail(failure)
            io.withLock { $0.broken = true }
            state.withLock { s in if s.failure == nil { s.failure = failure } }
        } else {
            let now = FileCalls.monotonicNanos()
            state.withLock { s in
                for b in claim.batches {
                    if let last = b.lastSeq { s.durableSeq = max(s.durableSeq, last) }
                    s.statistics.records += b.records
                    s.statistics.flushes += 1
                    s.statistics.flushNanos += now - b.started
                }
            }
        }
        // The next sync may start: the batches written meanwhile go to the sync thread.
        queue.finish()
        let outcome: AppendRequest.Outcome = failure.map { .failed($0) } ?? .committed
        return claim.batches.flatMap { b in b.requests.map { ($0, outcome) } }
    }

    /// Appends like `append(_:)`, suspending instead of blocking: the write and the sync run
    /// on the log's own I/O queue, never on the caller's executor. Async and blocking
    /// appenders share the same group commits.
    @discardableResult
    public func append(_ entries: [Entry]) async throws(EventLogError) -> [Appended] {
        let limit = configuration.effectiveMaxPayload
        for (i, e) in entries.enumerated() where e.payload.count > limit {
            throw EventLogError(code: .tooLarge, message: "record \(i + 1) of the batch has \(e.payload.count) bytes; the log accepts at most \(limit)")
        }
        let request = AppendRequest(async: true)
        let outcome: AppendRequest.Outcome = await withCheckedContinuation { continuation in
            request.set(continuation: continuation)
            let submitted: Result<GroupCommit<AppendRequest>.Submitted?, EventLogError> = state.withLock { s in
                do throws(EventLogError) { try s.checkUsable() } catch { return .failure(error) }
                s.assign(entries, to: request)
                if request.records.isEmpty && request.onlyDurableDuplicates(durableSeq: s.durableSeq) { return .success(nil) }
                return .success(s.commit.submit(request))
            }
            switch submitted {
            case .failure(let error): request.complete(.failed(error))
            case .success(nil): request.complete(.committed)
            case .success(.lead(let batch)?): ioQueue.async { self.lead(batch) }
            case .success(.wait?): break
            }
        }
        switch outcome {
        case .committed: return request.results
        case .failed(let error): throw error
        case .lead: preconditionFailure("async requests are never handed the lead")
        }
    }

    /// Under `.always`, when the last group commit served several appenders, waits a moment
    /// (at most `commitWindowNanos`) for them to queue their next appends, so they join this
    /// sync rather than the next one. Without it, appenders that wait on each other split
    /// into two halves that take turns, and each sync carries half of them. A lone appender
    /// (the last group had one request) never waits.
    private func gather(_ first: [AppendRequest]) -> [AppendRequest] {
        guard configuration.durability == .always else { return first }
        let expected = state.withLock { $0.lastGroupRequests }
        guard expected > 1, first.count < expected else { return first }
        var batch = first
        let deadline = FileCalls.monotonicNanos() + Self.commitWindowNanos
        while batch.count < expected && FileCalls.monotonicNanos() < deadline {
            usleep(10)
            batch += state.withLock { $0.commit.takeBatch() }
        }
        return batch
    }

    /// The longest a group commit waits for more appenders: a fraction of one fdatasync.
    static let commitWindowNanos: UInt64 = 100_000

    /// Forces everything appended so far to stable storage (for `.none` and `.interval`).
    public func sync() throws(EventLogError) {
        try io.withLock { (w) throws(EventLogError) in try w.syncIfDirty() }
    }

    /// Syncs, stops the flusher and refuses further appends. The writer lock is released when
    /// the last reference to the log goes away.
    public func close() throws(EventLogError) {
        flusher?.cancel()
        state.withLock { $0.closed = true }
        try sync()
    }

    private static func takeLock(directory: String) throws(EventLogError) -> Int32 {
        let path = directory + "/LOCK"
        let fd = try sys(FileCalls.open(path, O_RDWR | O_CREAT, 0o640))
        do throws(EventLogError) {
            guard try sys(FileCalls.tryLockExclusive(fd, path: path)) else {
                var buf = [UInt8](repeating: 0, count: 32)
                let n = buf.withUnsafeMutableBytes { raw in (try? FileCalls.preadFull(fd, raw, at: 0, path: path)) ?? 0 }
                let pid = String(decoding: buf.prefix(n), as: UTF8.self).trimmingWhitespace
                throw EventLogError(
                    code: .locked,
                    message: "another process\(pid.isEmpty ? "" : " (pid \(pid))") is writing to this log; stop it, or send the events through it (raqamctl --socket)",
                    path: directory)
            }
            let pid = Array("\(getpid())\n".utf8)
            try sys(FileCalls.ftruncate(fd, length: 0, path: path))
            try sys(FileCalls.pwriteAll(fd, pid, at: 0, path: path))
        } catch {
            FileCalls.close(fd)
            throw error
        }
        return fd
    }
}

extension String {
    var trimmingWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

/// A record with its seq, waiting to be written.
struct PendingRecord: Sendable {
    var seq: UInt64
    var entry: EventLog.Entry
}

/// One caller's append: its records (duplicates left out), the results to return, and the
/// means to wait for the leader: a semaphore for a blocking caller, a continuation for an
/// async one.
final class AppendRequest: Sendable {
    enum Outcome: Sendable {
        case committed
        case failed(EventLogError)
        /// The caller is now the leader and must take and flush the queued batch.
        case lead
    }

    private struct Box {
        var records: [PendingRecord] = []
        var results: [EventLog.Appended] = []
        var outcome: Outcome?
        var continuation: CheckedContinuation<Outcome, Never>?
    }

    private let box = Mutex(Box())
    /// For blocking callers; nil for async ones.
    private let done: DispatchSemaphore?

    init(async: Bool) {
        done = async ? nil : DispatchSemaphore(value: 0)
    }

    var isAsync: Bool { done == nil }
    var records: [PendingRecord] { box.withLock { $0.records } }
    var results: [EventLog.Appended] { box.withLock { $0.results } }
    var outcome: Outcome? { box.withLock { $0.outcome } }

    func set(records: [PendingRecord], results: [EventLog.Appended]) {
        box.withLock {
            $0.records = records
            $0.results = results
        }
    }

    /// For async callers: where `complete` delivers the outcome. Set before the request is queued.
    func set(continuation: CheckedContinuation<Outcome, Never>) {
        box.withLock { $0.continuation = continuation }
    }

    func onlyDurableDuplicates(durableSeq: UInt64) -> Bool {
        box.withLock { $0.results.allSatisfy { $0.isDuplicate && $0.seq <= durableSeq } }
    }

    func complete(_ outcome: Outcome) {
        let continuation = box.withLock { b in
            b.outcome = outcome
            defer { b.continuation = nil }
            return b.continuation
        }
        if let continuation { continuation.resume(returning: outcome) } else { done?.signal() }
    }

    func wait() -> Outcome {
        done!.wait()
        return box.withLock { $0.outcome! }
    }
}

/// The writer's bookkeeping, guarded by `EventLog.state`.
struct WriterState {
    var commit = GroupCommit<AppendRequest>()
    var nextSeq: UInt64
    var durableSeq: UInt64
    /// Keys of records in the active segment (including queued ones), to their seq.
    var activeKeys: KeyTable
    /// Sidecar indexes of sealed segments, oldest first, without their keys (those are in
    /// `sealedKeys`): for finding a record by seq.
    var sealed: [SegmentIndex] = []
    /// The keys of the sealed segments, for key look-ups.
    var sealedKeys = SealedKeys()
    var failure: EventLogError?
    var closed = false
    var statistics = EventLog.Statistics()
    /// How many requests the last group commit served (see `EventLog.gather`).
    var lastGroupRequests = 0

    init(nextSeq: UInt64, durableSeq: UInt64, activeKeys: KeyTable, sealed: [SegmentIndex]) {
        self.nextSeq = nextSeq
        self.durableSeq = durableSeq
        self.activeKeys = activeKeys
        // The filter over these is built off the lock once the log is open (`EventLog.init`).
        sealedKeys.deferFilter()
        add(sealed)
    }

    /// Keeps the indexes of newly sealed segments, their keys moved to `sealedKeys`.
    private mutating func add(_ indexes: [SegmentIndex]) {
        for var index in indexes {
            if let mapped = index.mappedKeys { sealedKeys.add(mapped) } else { sealedKeys.add(index.keys) }
            index.keys = []
            index.mappedKeys = nil
            sealed.append(index)
        }
    }

    func checkUsable() throws(EventLogError) {
        if closed { throw EventLogError(code: .closed, message: "the log is closed") }
        if let failure {
            throw EventLogError(code: .failed, message: "an earlier write failed (\(failure.description)); reopen the log to recover")
        }
    }

    func seq(for key: RecordKey) -> UInt64? {
        if let s = activeKeys[key] { return s }
        return sealedKeys.seq(for: key)
    }

    /// Gives each new entry the next seq, and each entry whose key is known its original seq.
    mutating func assign(_ entries: [EventLog.Entry], to request: AppendRequest) {
        var records: [PendingRecord] = []
        var results: [EventLog.Appended] = []
        records.reserveCapacity(entries.count)
        results.reserveCapacity(entries.count)
        for e in entries {
            if !e.key.isNone, let original = seq(for: e.key) {
                results.append(.init(seq: original, isDuplicate: true))
                continue
            }
            let seq = nextSeq
            nextSeq += 1
            if !e.key.isNone { activeKeys[e.key] = seq }
            records.append(PendingRecord(seq: seq, entry: e))
            results.append(.init(seq: seq, isDuplicate: false))
        }
        request.set(records: records, results: results)
    }

    /// Moves the keys of newly sealed segments from the dictionary to their sidecar indexes.
    mutating func seal(_ indexes: [SegmentIndex]) {
        for index in indexes {
            for (key, _) in index.keys { activeKeys[key] = nil }
        }
        add(indexes)
    }

    /// Forgets the seqs and keys of requests that failed, so the next append reuses the seqs.
    /// When the files were left `broken`, the writer refuses all further appends.
    mutating func rollBack(_ requests: [AppendRequest], after error: EventLogError, broken: Bool) {
        for r in requests {
            for p in r.records {
                if !p.entry.key.isNone { activeKeys[p.entry.key] = nil }
                nextSeq = min(nextSeq, p.seq)
            }
        }
        if broken { failure = error }
    }
}

/// The timer of the `.interval` policy.
///
/// `@unchecked Sendable` because `DispatchSourceTimer` is not marked Sendable, though a
/// dispatch source may be resumed and cancelled from any thread (libdispatch documents it);
/// the box adds no state of its own.
final class FlushTimer: @unchecked Sendable {
    private let timer: any DispatchSourceTimer
    private let interval: Int

    init(milliseconds: Int) {
        interval = milliseconds
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "raqam.eventlog.flusher"))
    }

    func start(_ tick: @escaping @Sendable () -> Void) {
        timer.schedule(deadline: .now() + .milliseconds(interval), repeating: .milliseconds(interval))
        timer.setEventHandler(handler: tick)
        timer.resume()
    }

    func cancel() { timer.cancel() }
}

/// The batches a leader wrote under `.always` and no sync has covered yet, in write order,
/// and whether a sync runs (one at a time, so the durable seq only grows).
final class SyncQueue: Sendable {
    struct Written: Sendable {
        var requests: [AppendRequest]
        /// The seq of the batch's last new record (nil when it held only duplicates).
        var lastSeq: UInt64?
        var records: Int
        /// When the leader began (monotonic ns), for `EventLog.Statistics.flushNanos`.
        var started: UInt64
    }

    /// Batches taken for one sync, with a descriptor of the active segment (-1 and the
    /// errno when `dup` failed) taken with them under the writer's lock.
    struct Claim {
        var batches: [Written]
        var fd: Int32
        var errno: Int32
        var path: String
    }

    private struct State {
        var written: [Written] = []
        var syncing = false
        var failure: EventLogError?
        var stopped = false
    }

    private let state = Mutex(State())
    private let work = DispatchSemaphore(value: 0)

    /// Called under the writer's lock right after a batch's write: when no sync runs, the
    /// caller syncs it now (the claim); otherwise it waits for the sync thread.
    func add(_ w: Written, writer: inout SegmentWriter) -> Claim? {
        let claimed: Bool = state.withLock { s in
            // (After a failed sync the claim fails at once: `sync` sees the failure.)
            if s.syncing || !s.written.isEmpty {
                s.written.append(w)
                return false
            }
            s.syncing = true
            return true
        }
        return claimed ? Self.claim([w], writer: &writer) : nil
    }

    /// Called under the writer's lock by the sync thread: everything written while the last
    /// sync ran, or nil when a sync runs or nothing is waiting.
    func claimWritten(writer: inout SegmentWriter) -> Claim? {
        let taken: [Written]? = state.withLock { s in
            guard !s.syncing, !s.written.isEmpty else { return nil }
            s.syncing = true
            defer { s.written.removeAll() }
            return s.written
        }
        return taken.map { Self.claim($0, writer: &writer) }
    }

    private static func claim(_ batches: [Written], writer: inout SegmentWriter) -> Claim {
        writer.dirty = false
        let fd = writer.active.fd >= 0 ? dup(writer.active.fd) : -1
        return Claim(batches: batches, fd: fd, errno: fd < 0 ? (writer.active.fd < 0 ? EBADF : errno) : 0, path: writer.active.path)
    }

    /// A sync ended: wakes the sync thread when batches were written meanwhile.
    func finish() {
        let more = state.withLock { s in
            s.syncing = false
            return !s.written.isEmpty
        }
        if more { work.signal() }
    }

    /// The failure of an earlier sync: every later batch fails with it.
    var failure: EventLogError? { state.withLock { $0.failure } }
    func fail(_ error: EventLogError) { state.withLock { $0.failure = error } }

    /// Blocks until there may be work; false once stopped.
    func waitForWork() -> Bool {
        work.wait()
        return !state.withLock { $0.stopped }
    }

    func stop() {
        state.withLock { $0.stopped = true }
        work.signal()
    }
}
