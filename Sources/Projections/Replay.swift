public import RaqamModel
import RaqamStore

/// Builds projections from a state directory's log, as of a time.
public enum Replay {
    /// What a replay did.
    public struct Outcome: Sendable {
        public var state: ProjectionState
        /// Events read from the log (folded or not).
        public var scanned: Int
        public var seconds: Double
    }

    /// Folds the events that occurred by `at` (all when nil) and were recorded by `knownAt`
    /// (all when nil): what was true at `at`, as far as the log knew at `knownAt`.
    ///
    /// Blocks of events that all occurred after `at` are skipped through the log's index;
    /// recorded_at never decreases, so the scan stops at the first event recorded after `knownAt`.
    public static func run(stateDirectory: String, at: Timestamp? = nil, knownAt: Timestamp? = nil) throws -> Outcome {
        var state = ProjectionState()
        var scanned = 0
        let started = monotonicSeconds()
        let range: ClosedRange<Int64>? = at.map { Int64.min...$0.micros }
        try StoredEventReader(stateDirectory: stateDirectory).scan(occurred: range) { s in
            if let knownAt, s.recordedAt.micros > knownAt.micros { return false }
            scanned += 1
            state.apply(s)
            return true
        }
        return Outcome(state: state, scanned: scanned, seconds: monotonicSeconds() - started)
    }
}

import Glibc

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
