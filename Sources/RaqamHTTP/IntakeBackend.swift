import RaqamEngine
public import Projections
public import RaqamModel
public import RaqamStore
public import Rules

/// What the HTTP API needs of raqamd: the one ingest pipeline and what the log holds. raqamd's
/// `DaemonCore` is the one conformer; RaqamHTTP knows nothing of the daemon's services.
public protocol IntakeBackend: Sendable {
    /// Validates and appends through `Ingest`, as `policy` says; one result per line, once
    /// what was stored is durable.
    func submit(_ lines: [InputLine], decoded: [EventDecoder.Decoded], policy: Ingest.Policy) throws(StoreError) -> [LineResult]
    /// What `submit` would do, storing nothing.
    func preview(_ lines: [InputLine], decoded: [EventDecoder.Decoded]) throws(StoreError) -> [LineResult]
    /// The receipt for `first ... last`, or nil when the log does not hold `last`.
    func receipt(first: UInt64, last: UInt64) throws -> Receipt?
    /// `/v1/status`: a JSON object (the same members as `raqamctl status -o json`).
    func statusJSON() -> String
    /// The state directory the reads read (the log, the alert log, snapshots).
    var stateDirectory: String { get }
    /// The rules, clock and evaluation step raqamd evaluates with: `/v1/lagging` answers with them.
    var evaluation: (rules: RuleSet, clock: EvaluationClock, interval: Int64) { get }
    /// Waits until what was acknowledged is evaluated, at most `seconds` (read after write).
    func waitUntilEvaluated(seconds: Double) -> Bool
    /// The gauges' values for a `/metrics` scrape.
    func metricsSnapshot() -> MetricsSnapshot
    /// The alerts firing now, as the live evaluator has them (present values and texts).
    func firingAlerts() -> [AlertReport]
    /// What the live engine holds: the projections of every event folded, the alerts active
    /// (pending and firing) at its last evaluation, that evaluation's time (µs). A copy (values:
    /// O(1) to take); the web view's pages of "now" read it instead of folding the log.
    func liveView() -> LiveView
    /// The seq of the last event the live engine has folded (cheap: no copy).
    var evaluatedPosition: UInt64 { get }
}

/// The live engine's state at one instant (`IntakeBackend.liveView()`).
public struct LiveView: Sendable {
    public var state: ProjectionState
    public var alerts: [AlertReport]
    /// The evaluation time (µs).
    public var at: Int64

    public init(state: ProjectionState, alerts: [AlertReport], at: Int64) {
        self.state = state
        self.alerts = alerts
        self.at = at
    }
}
