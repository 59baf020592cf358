import Projections
import RaqamModel
public import RaqamStore
public import Rules

/// The alert state of a log: the timeline (projections and alert instances) and the seq of
/// the last record folded into it. A value: raqamd keeps one, `lagging` builds one.
public struct EngineState: Sendable {
    public var timeline: AlertTimeline
    /// The seq of the last record folded (0 before the first).
    public var position: UInt64

    public init(timeline: AlertTimeline, position: UInt64 = 0) {
        self.timeline = timeline
        self.position = position
    }

    public init(rules: RuleSet, clock: EvaluationClock, interval: Int64) {
        self.init(timeline: AlertTimeline(rules: rules, clock: clock, interval: interval))
    }
}

/// The one fold driver: raqamd's start-up, each batch and reload, `raqamctl lagging` and the
/// engine's own tests call these two functions and nothing else, so that the same log
/// position P and time T give the same alerts wherever they are asked.
public enum AlertFold {
    /// Folds the records after `state.position` into the timeline, in log order: all of
    /// them, or only those that count by `until` (µs). With the wall clock a record counts
    /// from when it was recorded, so the scan stops at the first recorded after `until`;
    /// with the events clock from when it occurred, so later ones are skipped.
    ///
    /// - Returns: the transitions of the evaluations the records made due.
    /// - Throws: the reader's errors (`StoreError`, I/O).
    /// - Parameter through: when given, no record after this seq.
    /// - Parameter progress: told (seq, the log's last seq) every 65,536 records, for a
    ///   progress line.
    @discardableResult
    public static func fold(_ state: inout EngineState, from reader: StoredEventReader, until: Int64? = nil, through: UInt64? = nil,
                            progress: ((_ position: UInt64, _ end: UInt64) -> Void)? = nil) throws -> [AlertReport] {
        var reports: [AlertReport] = []
        let end = progress == nil ? 0 : try reader.lastSeq()
        var scanned = 0
        let clock = state.timeline.clock
        // An event that occurred after `until` counts after it on either clock (its instant is
        // never before it occurred): the index skips blocks of them.
        try reader.scan(from: state.position + 1, occurred: until.map { Int64.min...$0 }) { e in
            if let through, e.seq > through { return false }
            if let progress, scanned & 0xFFFF == 0 { progress(e.seq, end) }
            scanned += 1
            if let until {
                if clock == .wall && e.recordedAt.micros > until { return false }
                if state.timeline.instant(of: e) > until { return true }
            }
            reports += state.timeline.apply(e)
            state.position = e.seq
            return true
        }
        return reports
    }

    /// Evaluates what is due at `t` (`AlertTimeline.evaluate(at:)`): the alerts at (P, T).
    @discardableResult
    public static func evaluate(_ state: inout EngineState, at t: Int64) -> [AlertReport] {
        state.timeline.evaluate(at: t)
    }

    /// Folds the rest of the log and evaluates at the present, as raqamd does when it starts:
    /// on the wall clock at `now` (never before the last evaluation), on the events clock at
    /// the last evaluation time (the newest event's). Returns that time.
    public static func foldToPresent(_ state: inout EngineState, from reader: StoredEventReader, now: Int64) throws -> Int64 {
        try fold(&state, from: reader)
        let at = state.timeline.clock == .wall ? max(now, state.timeline.now ?? 0) : (state.timeline.now ?? 0)
        evaluate(&state, at: at)
        return at
    }
}
