public import EventLog
import Foundation
public import Journal
public import Logging
import Projections
public import RaqamModel
public import RaqamStore
public import Rules
import Synchronization

/// The daemon's one writer and evaluator: it appends events, folds what the log holds in log
/// order into the alert timeline, and delivers transitions (alert log first, then the
/// journal). Every mutation happens under one lock, so batches are folded in seq order.
///
/// The same `AlertTimeline` that `raqamctl lagging` uses: the daemon and the CLI agree.
public final class DaemonCore: Sendable {
    public let configuration: DaemonConfiguration
    public let store: EventStore
    let alertLog: AlertLog
    let journal: Journal
    let logger: Logger

    /// Everything that changes, behind one lock (the reader too: it caches mapped segments).
    struct State {
        var reader: StoredEventReader
        var timeline: AlertTimeline
        var delivery: AlertDelivery
        var position: UInt64 = 0
    }
    private let state: Mutex<State>
    public let clock: EvaluationClock

    /// What `status` reports.
    public struct Status: Sendable {
        public var position: UInt64
        public var firing: Int
        public var pending: Int
        public var rules: Int
        public var clock: EvaluationClock
    }

    /// Opens the log (taking its writer lock) and the alert log, loads the rules, folds the
    /// whole log and brings the journal in line with the alerts active now: undelivered
    /// transitions are sent again, and what changed while raqamd was down is reported once.
    public init(configuration: DaemonConfiguration, journal: Journal, logger: Logger) throws {
        self.configuration = configuration
        self.journal = journal
        self.logger = logger
        let rules = try Self.loadRules(configuration.rules)
        store = try EventStore(stateDirectory: configuration.stateDirectory)
        for line in store.log.recovery.lines {
            logger.notice("\(line)", metadata: ["message.id": "\(MessageID.logRecovered)"])
        }
        alertLog = try AlertLog(stateDirectory: configuration.stateDirectory)
        clock = try DaemonConfiguration.resolvedClock(configuration.clock, stateDirectory: configuration.stateDirectory)
        let reader = StoredEventReader(stateDirectory: configuration.stateDirectory)
        let history = try AlertLog.read(stateDirectory: configuration.stateDirectory)
        // Transitions recorded but not known to have reached the journal: at least once.
        for r in history.undelivered { journal.send(r.journalEntry) }
        try alertLog.markDelivered(history.undelivered)

        let folded = try Self.fold(rules: rules, clock: clock, interval: configuration.evaluationInterval, reader: reader)
        var delivery = AlertDelivery(history: history)
        let records = delivery.reconcile(firing: folded.firing, at: folded.at, eventSeq: folded.position)
        state = Mutex(State(reader: reader, timeline: folded.timeline, delivery: delivery, position: folded.position))
        try deliver(records)
        logger.info("raqamd ready: \(folded.position) events, \(rules.rules.count) rules, \(folded.firing.count) alerts firing, \(clock.rawValue) clock",
                    metadata: ["event.seq": "\(folded.position)"])
    }

    /// The whole log folded under `rules` up to now (the wall clock's, or the latest event's
    /// with the events clock), and the alerts firing then: what start-up and a reload compare
    /// with what the journal was told.
    static func fold(rules: RuleSet, clock: EvaluationClock, interval: Int64, reader: StoredEventReader)
        throws -> (timeline: AlertTimeline, position: UInt64, firing: [AlertReport], at: Int64) {
        var timeline = AlertTimeline(rules: rules, clock: clock, interval: interval)
        var position: UInt64 = 0
        _ = try reader.scan { e in
            _ = timeline.apply(e)
            position = e.seq
            return true
        }
        let at = clock == .wall ? max(wallNow(), timeline.now ?? 0) : (timeline.now ?? 0)
        _ = timeline.advance(to: at)
        _ = timeline.flush()
        let firing = timeline.evaluator.active(in: timeline.projections, at: at, includePending: false)
        return (timeline, position, firing, at)
    }

    static func wallNow() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    static func loadRules(_ paths: [String]) throws -> RuleSet {
        var files: [(path: String, text: String)] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw RuleErrors(errors: [RuleError(file: path, line: 1, column: 1, message: "no such file or folder")])
            }
            let names = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { path + "/" + $0 }
                : [path]
            for name in names {
                guard let text = try? String(contentsOfFile: name, encoding: .utf8) else {
                    throw RuleErrors(errors: [RuleError(file: name, line: 1, column: 1, message: "cannot read it as UTF-8 text")])
                }
                files.append((name, text))
            }
        }
        return try RuleSet.load(files: files).get()
    }

    /// Writes transitions to the alert log (durably), sends them, marks them delivered.
    func deliver(_ records: [AlertRecord]) throws {
        guard !records.isEmpty else { return }
        try alertLog.record(records)
        for r in records { journal.send(r.journalEntry) }
        try alertLog.markDelivered(records)
    }

    /// Validates and appends a batch (all or nothing), then folds and evaluates what the log
    /// holds after it. Returns each event's seq and whether it was a duplicate.
    public func ingest(_ events: [Event], lines: [Int]? = nil) throws(StoreError) -> [EventLog.Appended] {
        let appended = try store.append(events, lines: lines)
        do { try catchUp() } catch { logger.error("evaluation after an append failed: \(error)") }
        return appended
    }

    /// Folds the records after the last one folded, evaluates what they touched and delivers
    /// the transitions.
    func catchUp() throws {
        try state.withLock { s in
            var reports: [AlertReport] = []
            var position = s.position
            _ = try s.reader.scan(from: s.position + 1) { e in
                reports += s.timeline.apply(e)
                position = e.seq
                return true
            }
            s.position = position
            reports += s.timeline.flush()
            try deliver(s.delivery.records(for: reports, eventSeq: position))
        }
    }

    /// Evaluates the grid ticks due by the wall clock (the wall clock only: with the events
    /// clock, time moves with events).
    public func tick() throws {
        guard clock == .wall else { return }
        try state.withLock { s in
            let reports = s.timeline.advance(to: max(Self.wallNow(), s.timeline.now ?? 0)) + s.timeline.flush()
            try deliver(s.delivery.records(for: reports, eventSeq: s.position))
        }
    }

    /// Loads the rule files again. A broken set is refused (each problem logged with
    /// MESSAGE_ID rules-rejected) and the old rules keep running; a good one replaces them:
    /// the log is folded again under the new rules and the journal brought in line.
    /// - Returns: the problems, empty when the new rules took effect.
    @discardableResult
    public func reload() -> [String] {
        let rules: RuleSet
        do {
            rules = try Self.loadRules(configuration.rules)
        } catch let e as RuleErrors {
            for p in e.errors {
                logger.error("rules rejected: \(p)", metadata: ["message.id": "\(MessageID.rulesRejected)", "rules.file": "\(p.file)", "rules.line": "\(p.line)"])
            }
            return e.errors.map(\.description)
        } catch {
            logger.error("rules rejected: \(error)", metadata: ["message.id": "\(MessageID.rulesRejected)"])
            return ["\(error)"]
        }
        do {
            try state.withLock { s in
                let folded = try Self.fold(rules: rules, clock: clock, interval: configuration.evaluationInterval, reader: s.reader)
                let records = s.delivery.reconcile(firing: folded.firing, at: folded.at, eventSeq: folded.position)
                s.timeline = folded.timeline
                s.position = folded.position
                try deliver(records)
            }
        } catch {
            logger.error("reload failed: \(error)", metadata: ["message.id": "\(MessageID.rulesRejected)"])
            return ["\(error)"]
        }
        logger.notice("rules reloaded: \(rules.rules.count) rules from \(configuration.rules.joined(separator: ", "))",
                      metadata: ["message.id": "\(MessageID.rulesReloaded)"])
        return []
    }

    public var status: Status {
        state.withLock { s in
            let active = s.timeline.evaluator.activeCounts
            return Status(position: s.position, firing: active.firing, pending: active.pending, rules: s.timeline.evaluator.rules.rules.count, clock: clock)
        }
    }

    /// Makes everything durable and writes a projections snapshot (on SIGTERM).
    public func shutdown() throws {
        try state.withLock { s in
            try store.close()
            try alertLog.close()
            try SnapshotStore(stateDirectory: configuration.stateDirectory).write(s.timeline.projections)
        }
    }
}
