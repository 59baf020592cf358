public import Projections
public import RaqamModel
import RaqamStore

/// Builds projections from a state directory's log, as of a time.
public enum Replay {
    /// What a replay did.
    public struct Outcome: Sendable {
        public var state: ProjectionState
        /// Events read from the log after the snapshot (folded or not).
        public var scanned: Int
        public var seconds: Double
        /// The position of the snapshot the replay started from, if any.
        public var snapshotPosition: UInt64?
        /// Snapshots that were ignored, and why (say them to the operator).
        public var notices: [String] = []
    }

    /// Folds the events that occurred by `at` (all when nil) and were recorded by `knownAt`
    /// (all when nil): what was true at `at`, as far as the log knew at `knownAt`.
    ///
    /// Starts from the newest snapshot valid for the query (one whose events all occurred by
    /// `at` and were recorded by `knownAt`), then folds the log after it. Blocks of events
    /// that all occurred after `at` are skipped through the log's index; recorded_at never
    /// decreases, so the scan stops at the first event recorded after `knownAt`.
    ///
    /// - Parameters:
    ///   - useSnapshots: false to fold the whole log.
    ///   - snapshotEvery: write a snapshot every this many events folded (only for a replay of
    ///     everything, since a snapshot must fold every event up to its position).
    public static func run(stateDirectory: String, at: Timestamp? = nil, knownAt: Timestamp? = nil,
                           useSnapshots: Bool = true, snapshotEvery: Int? = nil,
                           progress: ((_ position: UInt64, _ end: UInt64) -> Void)? = nil) throws -> Outcome {
        let started = monotonicSeconds()
        let reader = StoredEventReader(stateDirectory: stateDirectory)
        let snapshots = SnapshotStore(stateDirectory: stateDirectory)
        var notices: [String] = []
        var state = ProjectionState()
        var fromSnapshot: UInt64?
        if useSnapshots, let s = snapshots.newest(at: at, knownAt: knownAt, recordedAt: reader.recordedAt(seq:), notices: &notices) {
            state = s
            fromSnapshot = s.position
        }
        var scanned = 0
        let range: ClosedRange<Int64>? = at.map { Int64.min...$0.micros }
        let writeEvery = (at == nil && knownAt == nil) ? snapshotEvery : nil
        var sinceSnapshot = 0
        let end = progress == nil ? 0 : try reader.lastSeq()
        try reader.scan(from: state.position + 1, occurred: range) { s in
            if let progress, scanned & 0xFFFF == 0 { progress(s.seq, end) }
            if let knownAt, s.recordedAt.micros > knownAt.micros { return false }
            scanned += 1
            state.apply(s)
            sinceSnapshot += 1
            if let every = writeEvery, sinceSnapshot >= every {
                try snapshots.write(state)
                sinceSnapshot = 0
            }
            return true
        }
        return Outcome(state: state, scanned: scanned, seconds: monotonicSeconds() - started,
                       snapshotPosition: fromSnapshot, notices: notices)
    }
}

extension Replay {
    /// Writes a snapshot when the log has moved `every` events past the newest one: what a
    /// writer does after appending, so that restarts stay short. Returns the file written.
    public static func snapshotIfDue(stateDirectory: String, lastSeq: UInt64, every: Int) throws -> String? {
        guard every > 0 else { return nil }
        let store = SnapshotStore(stateDirectory: stateDirectory)
        guard lastSeq >= (store.newestPosition ?? 0) + UInt64(every) else { return nil }
        let outcome = try run(stateDirectory: stateDirectory)
        return try store.write(outcome.state)
    }
}

import Glibc

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
