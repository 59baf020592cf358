public import RaqamEngine

/// What raqamd tells Alertmanagers, as a value: the alerts firing now and those resolved
/// lately (`resolved_retention`), each at its latest transition. Every `resend_delay` all of
/// them are sent again: Alertmanager forgets a firing alert whose `endsAt` passes, and one
/// restarted learns the set anew.
public struct AlertmanagerBook: Sendable {
    private var latest: [AlertIdentity: AlertRecord] = [:]

    public init() {}

    /// Takes a transition (the newest of its alert wins).
    public mutating func apply(_ r: AlertRecord) {
        latest[AlertIdentity(rule: r.rule, entity: r.entity)] = r
    }

    /// The alerts to send now (`now`: wall clock, µs): the firing ones and the ones resolved
    /// within `retention`; older resolved ones are forgotten.
    public mutating func due(now: Int64, retention: Int64) -> [AlertRecord] {
        latest = latest.filter { $0.value.state == .firing || now - $0.value.notedAt < retention }
        return latest.values.sorted { ($0.rule, $0.entity) < ($1.rule, $1.entity) }
    }

    public var count: Int { latest.count }
}

/// The alerts waiting for one Alertmanager, oldest first, as a value. An alert offered again
/// before it went out replaces the waiting one in place (Alertmanager needs only the newest
/// of an alert), so the queue holds at most one entry an alert. Beyond `capacity` the oldest
/// are dropped, and counted.
public struct AlertmanagerQueue: Sendable {
    public let capacity: Int
    private var order: [String] = []
    private var waiting: [String: AlertmanagerAlert] = [:]
    /// Alerts dropped since the queue was made.
    public private(set) var dropped = 0

    public init(capacity: Int) { self.capacity = capacity }

    public var count: Int { order.count }
    public var isEmpty: Bool { order.isEmpty }

    /// Alertmanager's identity of an alert: its label set.
    static func key(_ a: AlertmanagerAlert) -> String {
        a.labels.sorted { $0.key < $1.key }.map { $0.key + "\u{1}" + $0.value }.joined(separator: "\u{2}")
    }

    /// Queues alerts behind those waiting; returns how many were dropped to stay in capacity.
    @discardableResult
    public mutating func offer(_ alerts: [AlertmanagerAlert]) -> Int {
        for a in alerts {
            let k = Self.key(a)
            if waiting.updateValue(a, forKey: k) == nil { order.append(k) }
        }
        return trim()
    }

    /// Takes up to `n` of the oldest alerts, to send.
    public mutating func take(_ n: Int) -> [AlertmanagerAlert] {
        let keys = order.prefix(n)
        order.removeFirst(keys.count)
        return keys.map { waiting.removeValue(forKey: $0)! }
    }

    /// Puts a batch that could not be sent back at the front, except alerts offered anew
    /// meanwhile (those are newer); returns how many were dropped to stay in capacity.
    @discardableResult
    public mutating func putBack(_ batch: [AlertmanagerAlert]) -> Int {
        var front: [String] = []
        for a in batch {
            let k = Self.key(a)
            guard waiting[k] == nil else { continue }
            waiting[k] = a
            front.append(k)
        }
        order.insert(contentsOf: front, at: 0)
        return trim()
    }

    private mutating func trim() -> Int {
        let over = max(0, order.count - capacity)
        for k in order.prefix(over) { waiting[k] = nil }
        order.removeFirst(over)
        dropped += over
        return over
    }
}
