import Projections
import RaqamEngine
import Rules
import Synchronization

/// The projections and alerts of the last pages asked for a past time (`?at=`, `?known_at=`),
/// kept while the log has not moved: a page loaded again, or its neighbours (the region, the
/// who-lags table, a subject) at the same time, reuse one fold of the log instead of one
/// each. Two views are kept (each is a whole projection state); any new event ends them.
final class AsOfViews: Sendable {
    struct Key: Hashable {
        /// The evaluation time (µs).
        var at: Int64
        var knownAt: Int64?
        /// The rules' fingerprint, the clock and the step: a reload changes the alerts.
        var evaluation: String
    }

    struct View {
        var key: Key
        var position: UInt64
        var state: ProjectionState
        /// Pending and firing.
        var alerts: [AlertReport]
    }

    private let views = Mutex<[View]>([])
    static let capacity = 2

    func get(_ key: Key, position: UInt64) -> View? {
        views.withLock { v in
            guard let i = v.firstIndex(where: { $0.key == key && $0.position == position }) else { return nil }
            let found = v.remove(at: i)
            v.append(found)
            return found
        }
    }

    func put(_ view: View) {
        views.withLock { v in
            v.removeAll { $0.key == view.key || $0.position != view.position }
            v.append(view)
            if v.count > Self.capacity { v.removeFirst(v.count - Self.capacity) }
        }
    }
}

/// One follower of the alert log per state directory, made when first asked for.
final class AlertLogFollowers: Sendable {
    private let followers = Mutex<[String: AlertLogFollower]>([:])

    func follower(_ stateDirectory: String) -> AlertLogFollower {
        followers.withLock { f in
            if let found = f[stateDirectory] { return found }
            let made = AlertLogFollower(stateDirectory: stateDirectory)
            f[stateDirectory] = made
            return made
        }
    }
}
