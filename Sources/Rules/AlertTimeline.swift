public import Projections
public import RaqamModel

/// Which instant an event is evaluated at: the clock of a state directory.
public enum EvaluationClock: String, Sendable, CaseIterable {
    /// Live monitoring: an event counts from when the log recorded it (`recorded_at`), and
    /// time-driven conditions (overdue, silence, pace) advance with the wall clock.
    case wall
    /// History: an event counts from when it occurred (`occurred_at`), and time advances with
    /// the latest occurrence seen: for loading past reports, replays and the bundled scenario.
    case events
}

/// The alert history of a log, folded record by record in log order: the one definition of
/// "which alerts are pending or firing after position P at time T" that the daemon and
/// `raqamctl` share.
///
/// Each record has an instant (its `recorded_at` or `occurred_at`, by the clock); the
/// evaluation time is the largest instant seen so far. Rules are evaluated
///
/// - for the entities a group of records touched, once the evaluation time moves past the
///   group's instant (records of one instant — one group commit under the wall clock — count
///   as one batch);
/// - for every entity at each **tick** of the evaluation grid (every `interval`, aligned to
///   midnight in Tashkent), so time-driven conditions advance without events;
///
/// An event touches its subject only. Regions and the nation sum over many entities, so
/// their rules run at every tick and at the end, and after an event about the region or the
/// nation itself (an economy report, a target): one event then costs the evaluation of one
/// entity, not of a roll-up over thousands.
public struct AlertTimeline: Sendable {
    public private(set) var projections: ProjectionState
    public internal(set) var evaluator: Evaluator
    public let clock: EvaluationClock
    /// The grid's step, µs.
    public let interval: Int64
    /// The evaluation time: the largest instant seen (nil before the first record).
    public internal(set) var now: Int64?
    /// The last grid tick evaluated.
    var lastTick: Int64?
    var dirty: Set<EntityKey> = []

    /// Midnight in Tashkent is 19:00 UTC; the grid counts from there.
    static let gridOrigin: Int64 = -5 * 3_600_000_000

    public static let defaultInterval: Int64 = 86_400_000_000

    public init(rules: RuleSet, clock: EvaluationClock, interval: Int64 = defaultInterval, projections: ProjectionState = ProjectionState()) {
        precondition(interval > 0, "the evaluation interval must be positive")
        self.projections = projections
        self.evaluator = Evaluator(rules: rules)
        self.clock = clock
        self.interval = interval
    }

    /// The instant the clock gives a record.
    public func instant(of e: StoredEvent) -> Int64 {
        clock == .wall ? max(e.recordedAt.micros, e.event.occurredAt.micros) : e.event.occurredAt.micros
    }

    /// Folds the next record of the log (in seq order). Returns the transitions of the
    /// evaluations that the record's instant made due (before the record is folded).
    public mutating func apply(_ e: StoredEvent) -> [AlertReport] {
        let reports = advance(to: instant(of: e))
        projections.apply(e)
        touch(e.event.subject)
        return reports
    }

    /// Marks an event's subject for evaluation at the current time.
    mutating func touch(_ subject: EntityKey) {
        if evaluator.hasRules(for: subject.kind) { dirty.insert(subject) }
    }

    /// Moves the evaluation time to `t` (never backwards): evaluates what the records at the
    /// current time touched, then every grid tick before `t`.
    public mutating func advance(to t: Int64) -> [AlertReport] {
        guard let current = now else {
            now = t
            lastTick = tick(atOrBefore: t) - (tick(atOrBefore: t) == t ? interval : 0)
            return []
        }
        guard t > current else { return [] }
        var reports = flush()
        // After the flush, every tick up to the current time is done.
        var next = (lastTick ?? tick(atOrBefore: current)) + interval
        while next < t {
            reports += evaluator.evaluateAll(in: projections, at: next)
            lastTick = next
            next += interval
        }
        now = t
        return reports
    }

    /// Evaluates the entities touched at the current time (what the daemon does after each
    /// committed batch). A tick that falls on the current time evaluates everything.
    public mutating func flush() -> [AlertReport] {
        guard let current = now else { return [] }
        if current == (lastTick ?? .min) + interval {
            lastTick = current
            dirty.removeAll()
            return evaluator.evaluateAll(in: projections, at: current)
        }
        guard !dirty.isEmpty else { return [] }
        var reports: [AlertReport] = []
        for key in dirty.sorted() { reports += evaluator.evaluate(key, in: projections, at: current) }
        dirty.removeAll()
        return reports
    }

    /// Moves the evaluation time to `t` and evaluates what is due there: the grid ticks before
    /// `t`, then what the records at the evaluation time touched (everything, when `t` is a
    /// tick). The one definition of "the alerts at time T" that raqamd (after each batch and
    /// at each wall-clock check), `raqamctl lagging --at T` and `rules test` share, so that
    /// the same log position and T give the same answer wherever they are asked.
    public mutating func evaluate(at t: Int64) -> [AlertReport] {
        advance(to: t) + flush()
    }

    /// The grid tick at or before `t`.
    func tick(atOrBefore t: Int64) -> Int64 {
        let offset = t - Self.gridOrigin
        let floor = offset >= 0 ? offset / interval : (offset - interval + 1) / interval
        return Self.gridOrigin + floor * interval
    }
}
