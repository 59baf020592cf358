import Foundation
public import Journal
public import Logging
import Projections
import RaqamEngine
import RaqamModel
public import RaqamStore
public import RaqamControl
public import Rules
import Synchronization
public import RaqamHTTP

/// The daemon's one writer and evaluator: it appends events, folds what the log holds in log
/// order into the alert timeline, and delivers transitions (alert log first, then the
/// journal). Every mutation happens under one lock, so batches are folded in seq order.
///
/// The same `AlertTimeline` that `raqamctl lagging` uses: the daemon and the CLI agree.
public final class DaemonCore: Sendable {
    public let configuration: DaemonConfiguration
    /// The writer (the file log, opened by `init`); the core uses only the protocol.
    public let store: any EventStoreWriter
    /// The one ingest pipeline, over `store`.
    public let ingest: Ingest
    let journal: any JournalSink
    /// Alertmanager delivery (nil: the journal only).
    let alertmanager: AlertmanagerNotifier?
    /// The wall clock, µs: what the wall clock's evaluations are made at (a test passes its own).
    let wallClock: @Sendable () -> Int64
    let logger: Logger
    /// What `/metrics` reports: appends, syncs, evaluations.
    public let metrics: ServiceMetrics
    /// The reader receipts are looked up with: one for the daemon's life, so that each lookup
    /// resumes where the last one stopped instead of walking the active segment again.
    let receiptReader: Mutex<StoredEventReader>

    /// Everything that changes, behind one lock (the reader too: it caches mapped segments).
    struct State {
        var reader: StoredEventReader
        var engine: EngineState
        var delivery: AlertDelivery
        /// The alert log; nil after a failed write, until the next try opens it again.
        var alertLog: AlertLog?
        /// Transitions not yet in the alert log and the journal (a write failed): kept, in
        /// order, and retried by the evaluator with backoff; never dropped. `sent`: the
        /// journal has it (only marking it delivered failed), so a retry does not send it twice.
        var owed: [(record: AlertRecord, sent: Bool)] = []
        /// Why delivery is failing, while it is.
        var deliveryProblem: String?
    }
    private let state: Mutex<State>
    public let clock: EvaluationClock

    /// Wakes the evaluator: the log advanced, or a retry is due.
    private let wake = DispatchSemaphore(value: 0)
    /// Set when raqamd stops: the evaluator finishes what is acknowledged and returns.
    private let stopping = Atomic<Bool>(false)
    /// Broadcast whenever the evaluator caught up, for `waitUntilEvaluated`.
    private let progress = NSCondition()

    /// The position and time of the last engine snapshot written (or found at start-up).
    private let lastSnapshot: Mutex<(position: UInt64, monotonicMicros: Int64)>
    /// Where raqamd keeps engine snapshots.
    let snapshots: EngineSnapshotStore

    /// Opens the log (taking its writer lock) and the alert log, loads the rules, restores the
    /// newest engine snapshot taken under the same rules (or starts empty), folds the log's
    /// tail after it, and brings the journal in line with the alerts active now: undelivered
    /// transitions are sent again, and what changed while raqamd was down is reported once.
    public init(configuration: DaemonConfiguration, journal: any JournalSink, logger: Logger,
                wallClock: @escaping @Sendable () -> Int64 = { wallClockMicros() }, metrics: ServiceMetrics = ServiceMetrics(),
                alertmanager: AlertmanagerNotifier? = nil) throws {
        self.metrics = metrics
        self.alertmanager = alertmanager
        self.configuration = configuration
        self.journal = journal
        self.wallClock = wallClock
        self.logger = logger
        let rules = try RuleSources.load(configuration.rules)
        // Opening the log (recovery, the writer's key filter, the registered subjects: a scan)
        // and reading the engine snapshot are independent, and each is a good part of a
        // start-up on a large log: the log opens on another thread meanwhile.
        let stateDirectory = configuration.stateDirectory
        let opening = Concurrently {
            try FileEventStore(stateDirectory: stateDirectory,
                               acknowledgedThrough: AcknowledgedPosition.ofSnapshots(stateDirectory: stateDirectory),
                               syncObserver: { metrics.observeFsync(nanoseconds: $0) })
        }
        clock = try EvaluationClock.resolved(configuration.clock, stateDirectory: configuration.stateDirectory)
        snapshots = EngineSnapshotStore(stateDirectory: configuration.stateDirectory)
        let reader = StoredEventReader(stateDirectory: configuration.stateDirectory)
        let start = Self.startingState(rules: rules, clock: clock, interval: configuration.evaluationInterval,
                                       reader: reader, snapshots: snapshots, logger: logger)
        let store = try opening.value()
        self.store = store
        ingest = Ingest(store: store)
        for note in store.recoveryNotes {
            var metadata: Logger.Metadata = ["message.id": "\(MessageID.logRecovered)"]
            for (key, value) in note.fields { metadata[key] = "\(value)" }
            logger.notice("\(note.message)", metadata: metadata)
        }
        let alertLog = try AlertLog(stateDirectory: configuration.stateDirectory)
        receiptReader = Mutex(StoredEventReader(stateDirectory: configuration.stateDirectory))
        let history = try AlertLog.read(stateDirectory: configuration.stateDirectory)
        // Transitions recorded but not known to have reached the journal: at least once.
        for r in history.undelivered { journal.send(r.journalEntry) }
        try alertLog.markDelivered(history.undelivered)

        let started = Self.monotonicMicros()
        let folded = try Self.fold(start, reader: reader, now: wallClock())
        var delivery = AlertDelivery(history: history)
        // Alertmanager learns the firing set (and what resolved lately) again: it may have
        // restarted too, and it dedups alerts by their labels.
        alertmanager?.restore(Array(delivery.reported.values))
        let records = delivery.reconcile(firing: folded.firing, at: folded.at, eventSeq: folded.engine.position, resolution: Self.resolution(in: folded))
        var initial = State(reader: reader, engine: folded.engine, delivery: delivery, alertLog: alertLog)
        Self.deliver(records, in: &initial, journal: journal, alertmanager: alertmanager, logger: logger, stateDirectory: configuration.stateDirectory)
        state = Mutex(initial)
        lastSnapshot = Mutex((start.position, Self.monotonicMicros()))
        let from = start.position > 0 ? "from the engine snapshot at seq \(start.position) and \(folded.engine.position - start.position) events after it" : "from the whole log"
        logger.info("raqamd ready: \(folded.engine.position) events (\(from), \((Self.monotonicMicros() - started) / 1000) ms), \(rules.rules.count) rules, \(folded.firing.count) alerts firing, \(clock.rawValue) clock",
                    metadata: ["event.seq": "\(folded.engine.position)"])
    }

    /// The newest engine snapshot taken under these rules, clock and step, or an empty engine.
    static func startingState(rules: RuleSet, clock: EvaluationClock, interval: Int64, reader: StoredEventReader,
                              snapshots: EngineSnapshotStore, logger: Logger) -> EngineState {
        var notices: [String] = []
        let found = snapshots.newest(rules: rules, clock: clock, interval: interval, recordedAt: reader.recordedAt(seq:), notices: &notices)
        for n in notices { logger.warning("\(n)") }
        return found ?? EngineState(rules: rules, clock: clock, interval: interval)
    }

    /// `start` with the log after it folded and evaluated at now (the wall clock's, or the
    /// latest event's with the events clock), and the alerts firing then: what start-up and a
    /// reload compare with what the journal was told.
    static func fold(_ start: EngineState, reader: StoredEventReader, now: Int64) throws -> (engine: EngineState, firing: [AlertReport], at: Int64) {
        var engine = start
        let at = try AlertFold.foldToPresent(&engine, from: reader, now: now)
        let firing = engine.timeline.evaluator.active(in: engine.timeline.projections, at: at, includePending: false)
        return (engine, firing, at)
    }

    /// How an alert that resolved unseen reads as things are at the fold's time.
    static func resolution(in folded: (engine: EngineState, firing: [AlertReport], at: Int64)) -> (AlertRecord) -> AlertReport? {
        { last in
            folded.engine.timeline.evaluator.resolution(rule: last.rule, entity: last.entity, activeSince: last.activeSince,
                                                        in: folded.engine.timeline.projections, at: folded.at)
        }
    }

    static func monotonicMicros() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1000) }

    /// Delivers what is owed, then `records`: each written to the alert log (durably), sent to
    /// the journal, then marked delivered. When a write fails (a full disk, say) the records
    /// stay owed, in order, the problem shows in `status` and `STATUS=`, and the evaluator
    /// retries with backoff; a transition counts as reported only once the alert log holds it
    /// and the journal took it. A retry after the journal took it sends it again with the same
    /// alert id (at least once).
    static func deliver(_ records: [AlertRecord], in s: inout State, journal: any JournalSink, alertmanager: AlertmanagerNotifier?,
                        logger: Logger, stateDirectory: String) {
        s.owed += records.map { ($0, false) }
        guard !s.owed.isEmpty else { return }
        do {
            if s.alertLog == nil { s.alertLog = try AlertLog(stateDirectory: stateDirectory) }
            // Recording is idempotent (each record is keyed by its alert id and state).
            try s.alertLog!.record(s.owed.map(\.record))
            for i in s.owed.indices where !s.owed[i].sent {
                journal.send(s.owed[i].record.journalEntry)
                s.owed[i].sent = true
            }
            // Queued, never waited for: an Alertmanager that is down does not hold delivery.
            alertmanager?.notify(s.owed.map(\.record))
            try s.alertLog!.markDelivered(s.owed.map(\.record))
            if s.deliveryProblem != nil {
                logger.notice("alert delivery works again: \(s.owed.count) owed transitions delivered")
            }
            s.owed = []
            s.deliveryProblem = nil
        } catch {
            if s.deliveryProblem == nil {
                logger.error("alert delivery failed: \(error); \(s.owed.count) transitions are kept and retried until it works again")
            }
            s.deliveryProblem = "\(error)"
            // Open the alert log again at the next try: a failed write can leave the writer refusing appends.
            s.alertLog = nil
        }
    }

    func deliver(_ records: [AlertRecord], in s: inout State) {
        Self.deliver(records, in: &s, journal: journal, alertmanager: alertmanager, logger: logger, stateDirectory: configuration.stateDirectory)
    }

    /// Validates and appends a batch of lines through the ingest pipeline, line by line (the
    /// good ones are stored, the bad ones refused), and returns one result per line once the
    /// stored ones are durable. Evaluation and delivery follow on the evaluator's thread, in
    /// log order: the acknowledgement waits for the disk only.
    public func submit(_ lines: [InputLine]) throws(StoreError) -> [LineResult] {
        let started = DispatchTime.now().uptimeNanoseconds
        let results = try ingest.submit(lines, policy: .perLine)
        wake.signal()
        metrics.observeAppend(nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        count(results, decoded: nil, lines: lines, principal: "socket")
        return results
    }

    /// Counts what became of a batch for `/metrics`: events stored by type and principal
    /// kind, the others by reason.
    func count(_ results: [LineResult], decoded: [EventDecoder.Decoded]?, lines: [InputLine], principal: String) {
        var refused: [String: Int] = [:]
        for (k, r) in results.enumerated() {
            switch r.outcome {
            case .stored:
                let d = decoded?[k] ?? EventDecoder.decode(line: lines[k].bytes)
                if case .event(let e) = d { metrics.appended(e.type, principal: principal) }
            case .duplicate: break
            case .conflict: refused["conflict", default: 0] += 1
            case .refused: refused["invalid", default: 0] += 1
            case .notAppended: refused["not_stored", default: 0] += 1
            }
        }
        for (reason, n) in refused { metrics.refused(reason: reason, count: n) }
    }

    /// Tells the evaluator the log advanced.
    func wakeEvaluator() { wake.signal() }

    /// Folds the records after the last one folded, evaluates what they touched and delivers
    /// the transitions (and what is owed from before).
    func catchUp() throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let advanced = try state.withLock { s in
            let before = s.engine.position
            var reports = try AlertFold.fold(&s.engine, from: s.reader)
            reports += AlertFold.evaluate(&s.engine, at: s.engine.timeline.now ?? 0)
            deliver(s.delivery.records(for: reports, eventSeq: s.engine.position), in: &s)
            return s.engine.position > before
        }
        if advanced { metrics.observeEvaluation(nanoseconds: DispatchTime.now().uptimeNanoseconds - started) }
        progress.lock()
        progress.broadcast()
        progress.unlock()
    }

    /// The evaluator: folds and evaluates each time the log advances, retries owed
    /// transitions with backoff (50 ms doubling to 30 s), and returns once `stopEvaluating()`
    /// was called and what was acknowledged before it is evaluated. Blocks its thread.
    public func evaluationLoop() {
        var backoff = 0.05
        while true {
            let stop = stopping.load(ordering: .acquiring)
            do { try catchUp() } catch { logger.error("evaluation failed: \(error)") }
            if stop { return }
            if state.withLock({ !$0.owed.isEmpty }) {
                _ = wake.wait(timeout: .now() + backoff)
                backoff = min(backoff * 2, 30)
            } else {
                backoff = 0.05
                wake.wait()
            }
        }
    }

    /// Asks the evaluator to finish: one last catch-up, then `evaluationLoop` returns.
    public func stopEvaluating() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Waits until the evaluator has folded every event acknowledged so far and nothing is
    /// owed, at most `seconds`. True when it has.
    public func waitUntilEvaluated(seconds: Double) -> Bool {
        let target = store.lastSeq
        let deadline = Date(timeIntervalSinceNow: seconds)
        progress.lock()
        defer { progress.unlock() }
        while true {
            let done = state.withLock { $0.engine.position >= target && $0.owed.isEmpty }
            if done { return true }
            wake.signal()
            if !progress.wait(until: deadline) { return state.withLock { $0.engine.position >= target && $0.owed.isEmpty } }
        }
    }

    /// Evaluates the grid ticks due by the wall clock (the wall clock only: with the events
    /// clock, time moves with events).
    public func tick() throws {
        guard clock == .wall else { return }
        state.withLock { s in
            let reports = AlertFold.evaluate(&s.engine, at: max(wallClock(), s.engine.timeline.now ?? 0))
            deliver(s.delivery.records(for: reports, eventSeq: s.engine.position), in: &s)
        }
    }

    /// Loads the rule files again. A broken set is refused (each problem logged with
    /// MESSAGE_ID rules-rejected) and the old rules keep running. A set with the same text
    /// (the same fingerprint) changes nothing. A changed one is folded over the log on the
    /// calling thread without the lock, while appends and evaluation go on under the old
    /// rules; then, under the lock, the events that came meanwhile are folded too and the new
    /// timeline replaces the old at once, and the journal is brought in line.
    /// - Returns: the problems, empty when the new rules took effect.
    @discardableResult
    public func reload() -> [String] {
        let rules: RuleSet
        do throws(RuleSources.Failure) {
            rules = try RuleSources.load(configuration.rules)
        } catch {
            for p in error.problems {
                logger.error("rules rejected: \(p)", metadata: ["message.id": "\(MessageID.rulesRejected)"])
            }
            return error.problems
        }
        if state.withLock({ $0.engine.timeline.evaluator.rules.fingerprint }) == rules.fingerprint {
            logger.notice("rules reloaded: \(rules.rules.count) rules from \(configuration.rules.joined(separator: ", ")), unchanged",
                          metadata: ["message.id": "\(MessageID.rulesReloaded)"])
            return []
        }
        do {
            let reader = StoredEventReader(stateDirectory: configuration.stateDirectory)
            var engine = Self.startingState(rules: rules, clock: clock, interval: configuration.evaluationInterval,
                                            reader: reader, snapshots: snapshots, logger: logger)
            try AlertFold.fold(&engine, from: reader)
            try state.withLock { s in
                let folded = try Self.fold(engine, reader: reader, now: wallClock())
                let records = s.delivery.reconcile(firing: folded.firing, at: folded.at, eventSeq: folded.engine.position, resolution: Self.resolution(in: folded))
                s.engine = folded.engine
                deliver(records, in: &s)
            }
        } catch {
            logger.error("reload failed: \(error)", metadata: ["message.id": "\(MessageID.rulesRejected)"])
            return ["\(error)"]
        }
        logger.notice("rules reloaded: \(rules.rules.count) rules from \(configuration.rules.joined(separator: ", "))",
                      metadata: ["message.id": "\(MessageID.rulesReloaded)"])
        return []
    }

    /// Writes an engine snapshot when `snapshot_every` events came since the last one, or
    /// `snapshot_interval` passed with any event: the state is copied under the lock (a value:
    /// O(1)) and written without it. Called at each wall-clock check.
    public func snapshotIfDue() {
        let now = Self.monotonicMicros()
        let due: EngineState? = state.withLock { s in
            let last = lastSnapshot.withLock { $0 }
            let grown = s.engine.position - min(s.engine.position, last.position)
            guard grown > 0 else { return nil }
            let byCount = configuration.snapshotEvery > 0 && grown >= UInt64(configuration.snapshotEvery)
            let byTime = configuration.snapshotInterval > 0 && now - last.monotonicMicros >= configuration.snapshotInterval
            return byCount || byTime ? s.engine : nil
        }
        guard let due else { return }
        do {
            let path = try snapshots.write(due)
            lastSnapshot.withLock { $0 = (due.position, now) }
            logger.info("wrote the engine snapshot \(path)", metadata: ["event.seq": "\(due.position)"])
        } catch {
            logger.error("cannot write an engine snapshot: \(error); the events are in the log all the same, only the next start-up folds more of it")
        }
    }

    /// The projections, the alerts active (pending and firing) and the evaluation time, as
    /// the evaluator last left them; copied under the lock (values: O(1)).
    func engineView() -> (ProjectionState, [AlertReport], Int64) {
        let (timeline, at, position) = state.withLock { s in (s.engine.timeline, s.engine.timeline.now ?? wallClock(), s.engine.position) }
        // The active alerts follow from the log position, the evaluation time and the rules:
        // listed once for each, however many pages and scrapes ask.
        let key = ActiveKey(position: position, at: at, rules: timeline.evaluator.rules.fingerprint)
        if let kept = activeAlerts.withLock({ $0 }), kept.key == key { return (timeline.projections, kept.alerts, at) }
        let alerts = timeline.evaluator.active(in: timeline.projections, at: at, includePending: true)
        activeAlerts.withLock { $0 = (key, alerts) }
        return (timeline.projections, alerts, at)
    }

    struct ActiveKey: Equatable {
        var position: UInt64
        var at: Int64
        var rules: String
    }

    /// The alerts `engineView` listed last, and for what.
    private let activeAlerts = Mutex<(key: ActiveKey, alerts: [AlertReport])?>(nil)

    /// The rule set being evaluated now (the last one a reload accepted).
    public var currentRules: RuleSet { state.withLock { $0.engine.timeline.evaluator.rules } }

    /// What `status` reports (the control socket's reply, `/v1/status`, STATUS=).
    public var status: ControlStatus {
        state.withLock { s in
            let active = s.engine.timeline.evaluator.activeCounts
            return ControlStatus(position: max(store.lastSeq, s.engine.position), evaluated: s.engine.position, firing: active.firing, pending: active.pending,
                          rules: s.engine.timeline.evaluator.rules.rules.count, clock: clock.rawValue,
                          owed: s.owed.count, degraded: s.deliveryProblem.map { "alert delivery retrying (\(s.owed.count) transitions owed): \($0)" })
        }
    }

    /// Evaluates what was acknowledged, makes everything durable and writes an engine and a
    /// projections snapshot (on SIGTERM).
    ///
    /// Throws when the log or the alert log cannot be closed durably. A snapshot is only an
    /// optimisation: one that cannot be written (a full disk) is reported as a warning saying
    /// that every acknowledged event is in the log, and does not fail the stop.
    public func shutdown() throws {
        try catchUp()
        try state.withLock { s in
            try store.close()
            try s.alertLog?.close()
            do {
                try snapshots.write(s.engine)
                try SnapshotStore(stateDirectory: configuration.stateDirectory).write(s.engine.timeline.projections)
            } catch {
                logger.warning("""
                    cannot write the snapshot on stop: \(error); every acknowledged event is in the log \
                    (durable up to seq \(store.lastSeq)), only the next start-up folds more of it
                    """, metadata: ["event.seq": "\(store.lastSeq)"])
            }
        }
    }
}

/// A value computed on a thread of its own while the caller does something else; `value()`
/// waits for it (and throws what the work threw).
final class Concurrently<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () throws -> T) {
        DispatchQueue.global().async {
            let outcome = Result { try work() }
            self.result.withLock { $0 = outcome }
            self.done.signal()
        }
    }

    func value() throws -> T {
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
