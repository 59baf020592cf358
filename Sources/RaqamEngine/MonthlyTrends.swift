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
            try AlertFold.fold(&copy, from: rest, until: end, through: position)
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

/// The month-end metrics of the web view's trends (`MonthlyTrends.fold`), computed away from
/// the request that first needs them and kept while the log has no event that would change
/// them: a point for a past month changes only when an event that occurred by its end arrives
/// (a late report or a correction), so a service that receives today's reports keeps its
/// trends, and one that receives a late report folds them once more.
public final class TrendCache: Sendable {
    struct Key: Hashable, Sendable {
        var days: [CalendarDate]
        var knownAt: Int64?
    }

    let folds = BackgroundFolds<Key, [MonthEnd]>()

    public init() {}

    /// The points for `days` as known at `knownAt`, with the log up to `position`; nil while
    /// they are being computed (the call that starts the fold waits for it at most `wait`
    /// seconds, others do not wait).
    public func points(stateDirectory: String, days: [CalendarDate], knownAt: Int64?, position: UInt64, wait: Double) throws -> [MonthEnd]? {
        guard let last = days.max() else { return [] }
        return try folds.value(Key(days: days, knownAt: knownAt), position: position, wait: wait, unchanged: { from in
            try !BackgroundFolds<Key, [MonthEnd]>.changed(stateDirectory, after: from, through: position, by: last.tashkentEnd.micros, recordedBy: knownAt)
        }, compute: {
            try MonthlyTrends.fold(stateDirectory: stateDirectory, days: days, knownAt: knownAt, through: position)
        })
    }
}

/// The alert trends' points (`MonthlyTrends.alerts`), computed as `TrendCache`'s are and kept
/// while no event that counts by the last month's end arrives (on the wall clock, one recorded
/// by then: once a month is over none can).
public final class AlertTrendCache: Sendable {
    struct Key: Hashable, Sendable {
        var days: [CalendarDate]
        var evaluation: String
    }

    let folds = BackgroundFolds<Key, [[EntityKey: Int]]>()

    public init() {}

    /// How many alerts fire about each entity at each of `days`' ends; nil while being
    /// computed (as `TrendCache`).
    public func points(stateDirectory: String, rules: RuleSet, clock: EvaluationClock, interval: Int64,
                       days: [CalendarDate], position: UInt64, wait: Double) throws -> [[EntityKey: Int]]? {
        guard let last = days.max() else { return [] }
        let key = Key(days: days, evaluation: "\(rules.fingerprint)|\(clock.rawValue)|\(interval)")
        return try folds.value(key, position: position, wait: wait, unchanged: { from in
            // On the wall clock an event counts from when it was recorded: one recorded after the
            // last month's end changes no point.
            try !BackgroundFolds<Key, [[EntityKey: Int]]>.changed(stateDirectory, after: from, through: position, by: last.tashkentEnd.micros,
                                                                   recordedBy: clock == .wall ? last.tashkentEnd.micros : nil)
        }, compute: {
            try MonthlyTrends.alerts(stateDirectory: stateDirectory, rules: rules, clock: clock, interval: interval, days: days, through: position).map { active in
                var counts: [EntityKey: Int] = [:]
                for a in active where a.state == .firing { counts[a.entity, default: 0] += 1 }
                return counts
            }
        })
    }
}

/// Values folded from the log on a thread of their own, one per key, each kept with the log
/// position it holds for until a later position changes it (`unchanged`).
final class BackgroundFolds<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    enum Slot {
        case computing
        case done(Value, position: UInt64, used: UInt64)
        case failed(String)
    }

    private let slots = Mutex<(map: [Key: Slot], clock: UInt64)>(([:], 0))
    private let finished = Generation()
    /// Values kept (the least recently used go first).
    let capacity = 16
    /// Folds running at once, over every `BackgroundFolds` of the process: each reads the
    /// whole log, and the keys come from what readers ask (`known_at=` is any instant).
    static var concurrency: Int { 2 }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// The value for `key` at `position`: kept, or kept and still true at `position`
    /// (`unchanged(keptPosition)`), or nil while `compute` runs (the call that starts it
    /// waits at most `wait` seconds for it). Throws what `compute` threw, once.
    func value(_ key: Key, position: UInt64, wait: Double, unchanged: (UInt64) throws -> Bool,
               compute: @escaping @Sendable () throws -> Value) throws -> Value? {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, wait) * 1e9)
        var started = false
        while true {
            switch slots.withLock({ $0.map[key] }) {
            case .done(let value, let at, _)? where at >= position:
                touch(key)
                return value
            case .done(let value, let at, _)? where try unchanged(at):
                slots.withLock { s in
                    // Only the slot as it was read: another page may have started a fold since.
                    guard case .done(_, let still, _)? = s.map[key], still == at else { return }
                    s.clock += 1
                    s.map[key] = .done(value, position: position, used: s.clock)
                }
                return value
            case .failed(let why)?:
                slots.withLock { $0.map[key] = nil }
                throw Failure(message: why)
            case .computing? where !started:
                return nil  // another page started it: this one does not wait
            case .computing?:
                break
            default:
                started = start(key, position: position, compute)
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { return nil }
            finished.wait(seconds: Double(min(deadline - now, 50_000_000)) / 1e9)
        }
    }

    private func touch(_ key: Key) {
        slots.withLock { s in
            s.clock += 1
            if case .done(let v, let p, _)? = s.map[key] { s.map[key] = .done(v, position: p, used: s.clock) }
        }
    }

    /// Starts `compute` on a thread of its own unless it runs for `key`; true when this call started it.
    private func start(_ key: Key, position: UInt64, _ compute: @escaping @Sendable () throws -> Value) -> Bool {
        let claimed = slots.withLock { s -> Bool in
            if case .computing? = s.map[key] { return false }
            guard FoldPermits.shared.take(limit: Self.concurrency) else { return false }
            s.map[key] = .computing
            return true
        }
        guard claimed else { return false }
        Thread.detachNewThread {
            let slot: Slot
            do { slot = .done(try compute(), position: position, used: 0) } catch { slot = .failed("cannot compute a trend: \(error)") }
            FoldPermits.shared.give()
            self.slots.withLock { s in
                s.clock += 1
                if case .done(let v, let p, _) = slot { s.map[key] = .done(v, position: p, used: s.clock) } else { s.map[key] = slot }
                // Forget the least recently used values when too many are kept (never the one
                // just made, never a fold still running).
                func kept() -> [(Key, UInt64)] {
                    s.map.compactMap { k, v -> (Key, UInt64)? in
                        if case .done(_, _, let used) = v, k != key { return (k, used) } else { return nil }
                    }
                }
                var done = kept()
                while done.count + 1 > self.capacity, let oldest = done.min(by: { $0.1 < $1.1 })?.0 {
                    s.map[oldest] = nil
                    done = kept()
                }
            }
            self.finished.advance()
        }
        return true
    }

    /// Whether the log holds an event after seq `after` (up to `through`) that occurred by
    /// `end` (and was recorded by `recordedBy`): one that changes a point for a day by `end`.
    static func changed(_ stateDirectory: String, after: UInt64, through: UInt64, by end: Int64, recordedBy: Int64?) throws -> Bool {
        var found = false
        try StoredEventReader(stateDirectory: stateDirectory).scan(from: after + 1, occurred: Int64.min...end) { s in
            if s.seq <= through && recordedBy.map({ s.recordedAt.micros <= $0 }) ?? true { found = true }
            return false
        }
        return found
    }
}

/// How many background folds run now, in the whole process.
final class FoldPermits: Sendable {
    static let shared = FoldPermits()
    private let running = Mutex<Int>(0)

    /// Takes a permit when fewer than `limit` are out.
    func take(limit: Int) -> Bool {
        running.withLock { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    func give() { running.withLock { $0 -= 1 } }
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
