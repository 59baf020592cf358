/// What a state directory's derived files say was acknowledged: a snapshot folds only events
/// that were durable, so the newest one's position is a seq recovery must never cut off.
public enum AcknowledgedPosition {
    /// The highest position of the state directory's engine and projections snapshots (by
    /// their names), or 0. Pass it as the store's `acknowledgedThrough`.
    public static func ofSnapshots(stateDirectory: String) -> UInt64 {
        max(EngineSnapshotStore(stateDirectory: stateDirectory).newestPosition ?? 0,
            SnapshotStore(stateDirectory: stateDirectory).newestPosition ?? 0)
    }
}
