public import Projections
public import RaqamModel
import RaqamStore
import Synchronization

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
