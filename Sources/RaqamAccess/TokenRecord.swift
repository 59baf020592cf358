/// One record of the token audit log (its payload, as JSON): a token issued or revoked,
/// when and by whom. The token itself is never in it, only its SHA-256.
struct TokenRecord: Codable, Sendable {
    enum Action: String, Codable, Sendable { case issued, revoked }

    var action: Action
    var id: String
    /// RFC 3339: when it was issued or revoked.
    var at: String
    /// Who did it: the login name that ran `raqamctl tokens`.
    var by: String
    var subject: String?
    var role: Role?
    var sha256: String?
    var expiresAt: String?
    var note: String?
    var reason: String?

    enum CodingKeys: String, CodingKey {
        case action, id, at, by, subject, role, sha256, note, reason
        case expiresAt = "expires_at"
    }
}
