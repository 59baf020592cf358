/// The lifecycle of one alert instance, one rule about one entity, as a value: each
/// evaluation says whether the condition holds at time `t`, and returns the transition to
/// report, if any. No I/O: the daemon and the CLI drive it alike, and tests drive it from a table.
///
/// ```
/// inactive ──holds──▶ pending ──held for `for`──▶ firing ──stops holding for keep_firing_for──▶ resolved
///    ▲                  │ stops holding                                                           │
///    └──────────────────┘  (no report: it never fired)                          holds again ──▶ pending/firing
/// ```
///
/// `activeSince` is the **evaluation time** at which the condition was first seen to hold in
/// this episode (as Prometheus's `ActiveAt`): it depends only on the evaluation times and the
/// log, not on when a report happened to arrive, so the daemon and `raqamctl` agree.
public struct AlertInstance: Sendable, Equatable {
    public enum State: String, Sendable {
        case inactive, pending, firing, resolved
    }

    /// What an evaluation changed, to report (journal, alert log).
    public enum Transition: String, Sendable, Equatable {
        /// The condition started to hold; the alert waits for `for` to pass.
        case pending
        /// The alert fires.
        case firing
        /// A firing alert stopped (its condition no longer holds, `keep_firing_for` passed).
        case resolved
        /// A pending alert's condition stopped holding before it fired (not reported to the journal).
        case abandoned
    }

    public private(set) var state: State = .inactive
    /// When (µs, evaluation time) the condition was first seen holding in this episode.
    public private(set) var activeSince: Int64?
    /// The last evaluation time at which the condition held.
    public private(set) var lastHeld: Int64?
    public private(set) var firedAt: Int64?
    public private(set) var resolvedAt: Int64?

    public init() {}

    /// Restores an instance from what the alert log recorded.
    public init(state: State, activeSince: Int64?, lastHeld: Int64?, firedAt: Int64?, resolvedAt: Int64?) {
        self.state = state
        self.activeSince = activeSince
        self.lastHeld = lastHeld
        self.firedAt = firedAt
        self.resolvedAt = resolvedAt
    }

    /// Feeds one evaluation. Times must not go backwards.
    /// - Parameters:
    ///   - holdFor: the rule's `for`, µs.
    ///   - keepFiringFor: the rule's `keep_firing_for`, µs.
    /// - Returns: the transition to report, or nil when nothing changed.
    public mutating func evaluate(holds: Bool, at t: Int64, holdFor: Int64, keepFiringFor: Int64) -> Transition? {
        if holds { lastHeld = t }
        switch (state, holds) {
        case (.inactive, true), (.resolved, true):
            activeSince = t
            resolvedAt = nil
            if holdFor <= 0 {
                state = .firing
                firedAt = t
                return .firing
            }
            state = .pending
            return .pending
        case (.pending, true):
            guard let since = activeSince, t - since >= holdFor else { return nil }
            state = .firing
            firedAt = t
            return .firing
        case (.pending, false):
            state = .inactive
            activeSince = nil
            return .abandoned
        case (.firing, true):
            return nil
        case (.firing, false):
            if let held = lastHeld, t - held < keepFiringFor { return nil }
            state = .resolved
            resolvedAt = t
            return .resolved
        case (.inactive, false), (.resolved, false):
            return nil
        }
    }
}
