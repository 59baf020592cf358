public import Projections
public import RaqamModel
import RaqamStore
import Synchronization
import Foundation
public import Rules

/// Every entity's metrics at the end of each month: the points of the web view's monthly
/// trends. Each point is what `raqamctl show --at <the month's last day>` prints (with the same
/// `--known-at`): the projections of the events that occurred by the last microsecond of that
/// day in Tashkent, and were recorded by `knownAt`, read at that instant.
public struct MonthEnd: Sendable {
    /// The month's last day.
    public var day: CalendarDate
    /// Its last microsecond in Tashkent (µs): the instant the metrics are read at.
    public var at: Int64
    public var metrics: [EntityKey: EntityMetrics]
}

public enum MonthlyTrends {
    /// The last days of the `count` months before the one `at` (µs) falls in, oldest first:
    /// for 2021-06-15, 2020-12-31 … 2021-05-31 with `count` 6.
    public static func monthEnds(before at: Int64, count: Int) -> [CalendarDate] {
        let day = CalendarDate(tashkentDayOf: Timestamp(micros: at))
        var out: [CalendarDate] = []
        for back in stride(from: count, through: 1, by: -1) { out.append(day.endOfMonth(adding: -back)) }
        return out
    }

    /// Folds the log month by month: the events that occurred by the first month's end, then
    /// those of each next month on top, reading every entity's metrics at each month's end.
    /// One pass over the log's events in all (each month's scan skips, through the index, the
    /// blocks that hold none of its events), because the fold does not depend on the order
    /// events arrive in (`ProjectionState`).
    ///
    /// - Parameters:
    ///   - knownAt: only events recorded by then (µs), as `--known-at`.
    ///   - position: only events up to this seq (the position the caller's page shows).
    /// - Returns: one `MonthEnd` per day, in order.
    public static func fold(stateDirectory: String, days: [CalendarDate], knownAt: Int64?, through position: UInt64) throws -> [MonthEnd] {
        let reader = StoredEventReader(stateDirectory: stateDirectory)
        var state = ProjectionState()
        var points: [MonthEnd] = []
        var from = Int64.min
        for day in days.sorted() {
            let end = day.tashkentEnd.micros
            if end >= from {
                try reader.scan(from: 1, occurred: from...end) { s in
                    if s.seq > position { return false }
                    if let knownAt, s.recordedAt.micros > knownAt { return false }
                    state.apply(s)
                    return true
                }
                from = end + 1
            }
            var metrics: [EntityKey: EntityMetrics] = [:]
            let now = Timestamp(micros: end)
            for kind in EntityKey.Kind.allCases {
                for key in state.keys(of: kind) { metrics[key] = state.metrics(for: key, now: now) }
            }
            points.append(MonthEnd(day: day, at: end, metrics: metrics))
        }
        return points
    }
}

/// The month-end points the web view has computed, kept while the log has no event that
/// would change them: a point for a past month changes only when an event that occurred by
/// its end arrives (a late report or a correction), so a service that receives today's
/// reports keeps its trends, and one that receives a late report refolds them once.
public final class TrendCache: Sendable {
    struct Key: Hashable {
        var days: [CalendarDate]
        var knownAt: Int64?
    }

    struct Entry {
        var points: [MonthEnd]
        /// The log's last seq the points were checked against.
        var position: UInt64
        var used: UInt64
    }

    private let entries = Mutex<(map: [Key: Entry], clock: UInt64)>(([:], 0))
    let capacity: Int

    /// Keeps the points of at most `capacity` (days, known_at) pairs; the least recently
    /// used go first.
    public init(capacity: Int = 16) {
        self.capacity = capacity
    }

    /// The points for `days` as known at `knownAt`, with the log up to `position`: from the
    /// cache when no event after the position they were computed at occurred by the last of
    /// them (and was recorded by `knownAt`), else folded anew (`MonthlyTrends.fold`).
    public func points(stateDirectory: String, days: [CalendarDate], knownAt: Int64?, position: UInt64) throws -> [MonthEnd] {
        guard let last = days.max() else { return [] }
        let key = Key(days: days, knownAt: knownAt)
        if let cached = entries.withLock({ $0.map[key] }), cached.position <= position {
            var changed = false
            if cached.position < position {
                try StoredEventReader(stateDirectory: stateDirectory).scan(from: cached.position + 1, occurred: Int64.min...last.tashkentEnd.micros) { s in
                    if s.seq > position { return false }
                    if let knownAt, s.recordedAt.micros > knownAt { return false }
                    changed = true
                    return false
                }
            }
            if !changed {
                entries.withLock { e in
                    e.clock += 1
                    e.map[key]?.position = position
                    e.map[key]?.used = e.clock
                }
                return cached.points
            }
        }
        let points = try MonthlyTrends.fold(stateDirectory: stateDirectory, days: days, knownAt: knownAt, through: position)
        entries.withLock { e in
            e.clock += 1
            e.map[key] = Entry(points: points, position: position, used: e.clock)
            while e.map.count > capacity, let oldest = e.map.min(by: { $0.value.used < $1.value.used })?.key { e.map[oldest] = nil }
        }
        return points
    }
}

extension MonthlyTrends {
    /// The alerts firing at each of `days`' ends, each what `raqamctl lagging --at <day>`
    /// lists (the log folded by then under these rules, clock and step, evaluated then), in
    /// about one fold of the log for all of them: the fold goes through the log once, and
    /// where the next event counts after a month's end it takes a copy, folds into the copy
    /// the later events that count by then (late reports: the index skips blocks without
    /// any), and evaluates the copy at that end. Every event before the copy counts by that
    /// end, so the copy's fold is `lagging --at`'s.
    public static func alerts(stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64,
                              days: [CalendarDate], through position: UInt64) throws -> [[AlertReport]] {
        let ends = days.sorted().map { $0.tashkentEnd.micros }
        var out: [[AlertReport]] = []
        var engine = EngineState(rules: rules, clock: clock, interval: interval)
        let reader = StoredEventReader(stateDirectory: stateDirectory)
        let rest = StoredEventReader(stateDirectory: stateDirectory)
        func close(_ end: Int64) throws {
            var copy = engine
            try AlertFold.fold(&copy, from: rest, until: end)
            AlertFold.evaluate(&copy, at: end)
            out.append(copy.timeline.evaluator.active(in: copy.timeline.projections, at: end, includePending: false))
        }
        try reader.scan(from: 1, occurred: nil) { e in
            if e.seq > position || out.count == ends.count { return false }
            while out.count < ends.count, engine.timeline.instant(of: e) > ends[out.count] { try close(ends[out.count]) }
            if out.count == ends.count { return false }
            _ = engine.timeline.apply(e)
            engine.position = e.seq
            return true
        }
        while out.count < ends.count { try close(ends[out.count]) }
        return out
    }
}

/// The alert trends' points (`MonthlyTrends.alerts`), computed away from the request that
/// first needs them and kept while no event that counts by the last month's end arrives
/// (on the wall clock none can: a new event counts from when it is recorded). A page waits
/// for them a moment; on a log so large that the fold takes longer, the page says the trend
/// is being computed and a later load shows it.
public final class AlertTrendCache: Sendable {
    struct Key: Hashable {
        var days: [CalendarDate]
        var evaluation: String
    }

    enum Slot {
        case computing
        case done(points: [[AlertReport]], position: UInt64)
        case failed(String)
    }

    private let slots = Mutex<[Key: Slot]>([:])
    private let finished = Generation()

    public init() {}

    /// The points, or nil while they are being computed: the call that starts the fold waits
    /// for it at most `wait` seconds, others do not wait.
    /// - Throws: what the fold threw (the log could not be read).
    public func points(stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64,
                       days: [CalendarDate], position: UInt64, wait: Double) throws -> [[AlertReport]]? {
        guard let last = days.max() else { return [] }
        let key = Key(days: days, evaluation: "\(rules.fingerprint)|\(clock.rawValue)|\(interval)")
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, wait) * 1e9)
        var started = false
        while true {
            switch slots.withLock({ $0[key] }) {
            case .done(let points, let at)? where at >= position:
                return points
            case .done(let points, let at)? where at < position:
                let unchanged = try clock == .wall || !Self.changed(stateDirectory, after: at, through: position, by: last.tashkentEnd.micros)
                if unchanged {
                    slots.withLock { $0[key] = .done(points: points, position: position) }
                    return points
                }
                started = start(key, stateDirectory: stateDirectory, rules: rules, clock: clock, interval: interval, days: days, position: position)
            case .failed(let why)?:
                slots.withLock { $0[key] = nil }
                throw TrendError(message: why)
            case .computing? where !started:
                // Another page started it: this one does not wait for it.
                return nil
            case .computing?:
                break
            default:
                started = start(key, stateDirectory: stateDirectory, rules: rules, clock: clock, interval: interval, days: days, position: position)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { return nil }
            finished.wait(seconds: Double(min(deadline - now, 50_000_000)) / 1e9)
        }
    }

    public struct TrendError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    static func changed(_ stateDirectory: String, after: UInt64, through: UInt64, by end: Int64) throws -> Bool {
        var found = false
        try StoredEventReader(stateDirectory: stateDirectory).scan(from: after + 1, occurred: Int64.min...end) { s in
            if s.seq <= through { found = true }
            return false
        }
        return found
    }

    /// Starts the fold on a thread of its own unless one is running; true when this call started it.
    @discardableResult
    private func start(_ key: Key, stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64,
                       days: [CalendarDate], position: UInt64) -> Bool {
        let claimed = slots.withLock { s -> Bool in
            if case .computing? = s[key] { return false }
            s[key] = .computing
            return true
        }
        guard claimed else { return false }
        Thread.detachNewThread {
            let slot: Slot
            do {
                slot = .done(points: try MonthlyTrends.alerts(stateDirectory: stateDirectory, rules: rules, clock: clock, interval: interval,
                                                               days: days, through: position), position: position)
            } catch {
                slot = .failed("cannot compute the alert trend: \(error)")
            }
            self.finish(key, slot)
            self.finished.advance()
        }
        return true
    }

    private func finish(_ key: Key, _ slot: Slot) {
        slots.withLock { s in
            s[key] = slot
            if s.count > 16, let other = s.keys.first(where: { $0 != key }) { s[other] = nil }
        }
    }
}

/// A count of finished computations that waiters wait on.
final class Generation: @unchecked Sendable {
    // NSCondition guards `count`; every access is under it.
    private let condition = NSCondition()
    private var count: UInt64 = 0

    func wait(seconds: Double) {
        condition.lock()
        let seen = count
        let deadline = Date(timeIntervalSinceNow: seconds)
        while count == seen && condition.wait(until: deadline) {}
        condition.unlock()
    }

    func advance() {
        condition.lock()
        count += 1
        condition.broadcast()
        condition.unlock()
    }
}
