public import RaqamModel

/// Who a request comes from: the subject and role of the token it presented.
public struct Principal: Sendable, Equatable {
    /// The token's id (`tk_…`): not secret, named in logs, `tokens list` and each event's source.
    public var tokenID: String
    /// The body the token belongs to: `org:…`, `region:…`, `district:…` (or `nation` for a
    /// read or admin token of the programme office).
    public var subject: EntityKey
    public var role: Role

    public init(tokenID: String, subject: EntityKey, role: Role) {
        self.tokenID = tokenID
        self.subject = subject
        self.role = role
    }

    /// What the server writes as an event's `source`: the principal, never what the body claims.
    public var source: String { "\(subject) via \(tokenID)" }

    /// Why this principal may not report `type` about `about`, or nil when it may.
    ///
    /// An `org:` token reports about that org only; a `region:` token about the region and
    /// its districts and cities (those whose SOATO code begins with the region's); a
    /// `district:` token about that district only. The nation and `target.set` need `admin`;
    /// a `read` token reports nothing.
    public func refusal(toReport type: EventType, about: EntityKey) -> String? {
        switch role {
        case .admin:
            return nil
        case .read:
            return "a read token cannot report events; ask for a report token"
        case .report:
            if type == .targetSet { return "target.set needs an admin token" }
            if about == .nation { return "events about the nation need an admin token" }
            if about == subject { return nil }
            if subject.kind == .region, about.kind == .district, about.regionKey == subject { return nil }
            switch subject.kind {
            case .region: return "a token of \(subject) may report only about \(subject) and its districts and cities, not \(about)"
            default: return "a token of \(subject) may report only about \(subject), not \(about)"
            }
        }
    }

    /// True when this principal may read what is known about `key` (read and admin tokens:
    /// everything; report tokens: their own scope).
    public func mayRead(_ key: EntityKey) -> Bool {
        switch role {
        case .admin, .read: true
        case .report: key == subject || (subject.kind == .region && key.kind == .district && key.regionKey == subject)
        }
    }
}
