public import RaqamModel

/// What raqam knows of one token: never the token itself, only its SHA-256 and metadata.
public struct TokenInfo: Sendable, Equatable {
    public struct Revocation: Sendable, Equatable {
        public var at: Timestamp
        public var by: String
        public var reason: String?
    }

    public var id: String
    public var subject: EntityKey
    public var role: Role
    public var issuedAt: Timestamp
    public var issuedBy: String
    public var expiresAt: Timestamp?
    public var note: String?
    public var revoked: Revocation?
    /// SHA-256 of the token's text.
    var digest: [UInt8]

    /// Why the token is not good at `now` (µs since the epoch), or nil when it is.
    public func refusal(at now: Int64) -> String? {
        if let r = revoked { return "the token \(id) was revoked at \(r.at.rfc3339)" }
        if let e = expiresAt, e.micros <= now { return "the token \(id) expired at \(e.rfc3339)" }
        return nil
    }

    public var principal: Principal { Principal(tokenID: id, subject: subject, role: role) }
}

/// The tokens as the audit log tells them, folded record by record.
public struct TokenBook: Sendable {
    public private(set) var tokens: [TokenInfo] = []
    private var byID: [String: Int] = [:]
    private var byDigest: [[UInt8]: Int] = [:]

    public init() {}

    public func token(id: String) -> TokenInfo? { byID[id].map { tokens[$0] } }

    /// The token whose SHA-256 is `digest`; the digests are compared in constant time.
    func token(digest: [UInt8]) -> TokenInfo? {
        guard let i = byDigest[digest], constantTimeEqual(tokens[i].digest, digest) else { return nil }
        return tokens[i]
    }

    mutating func apply(_ record: TokenRecord, seq: UInt64) throws(TokenError) {
        switch record.action {
        case .issued:
            guard let subject = record.subject.flatMap({ try? EntityKey(parsing: $0) }), let role = record.role,
                  let digest = record.sha256.flatMap(hexBytes), digest.count == 32, let at = Timestamp(rfc3339: record.at),
                  byID[record.id] == nil else {
                throw TokenError(.damaged, "token log record \(seq) is not a well-formed issue of a new token")
            }
            byID[record.id] = tokens.count
            byDigest[digest] = tokens.count
            tokens.append(TokenInfo(id: record.id, subject: subject, role: role, issuedAt: at, issuedBy: record.by,
                                    expiresAt: record.expiresAt.flatMap { Timestamp(rfc3339: $0) }, note: record.note,
                                    revoked: nil, digest: digest))
        case .revoked:
            guard let i = byID[record.id], let at = Timestamp(rfc3339: record.at) else {
                throw TokenError(.damaged, "token log record \(seq) revokes \(record.id), which no earlier record issued")
            }
            if tokens[i].revoked == nil { tokens[i].revoked = .init(at: at, by: record.by, reason: record.reason) }
        }
    }
}

/// Equal length and bytes, in time that depends on the length only.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in a.indices { diff |= a[i] ^ b[i] }
    return diff == 0
}

func hexBytes(_ text: String) -> [UInt8]? {
    let u = Array(text.utf8)
    guard u.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(u.count / 2)
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        default: nil
        }
    }
    var i = 0
    while i < u.count {
        guard let h = nibble(u[i]), let l = nibble(u[i + 1]) else { return nil }
        out.append(h << 4 | l)
        i += 2
    }
    return out
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
