public import RaqamAccess
import RaqamModel
import Crypto

extension Principal {
    /// The events of `body` as this principal sends them: each event's `source` is the
    /// principal's (what the body claims is not trusted), and an event without an id gets one
    /// derived from its content and the principal's subject, so that sending the same body
    /// again is a retry (nothing stored twice) whether or not the reporter numbers its events.
    /// - Returns: the lines about a subject outside the token's scope, with the reason.
    public func admit(_ body: inout EventsBody) -> [(line: Int, field: String, message: String)] {
        var refused: [(line: Int, field: String, message: String)] = []
        for k in body.decoded.indices {
            guard case .event(var e) = body.decoded[k] else { continue }
            if let why = refusal(toReport: e.type, about: e.subject) {
                refused.append((body.lines[k].number, e.type == .targetSet && role == .report ? "type" : "subject", why))
                continue
            }
            e.source = source
            if e.id == nil { e.id = Self.derivedID(of: e, reportedBy: subject) }
            body.decoded[k] = .event(e)
        }
        return refused
    }

    /// A UUID (version 8, RFC 9562) from SHA-256 over the reporting subject and the event's
    /// content (type, subject, occurred_at, data): the same report from the same body gets the
    /// same id.
    static func derivedID(of event: Event, reportedBy subject: EntityKey) -> EventID {
        var content = event
        content.id = nil
        content.source = nil
        var bytes = Array("raqam-http-v1\u{0}\(subject)\u{0}".utf8)
        EventCodec.encode(content, into: &bytes)
        let digest = Array(SHA256.hash(data: bytes))
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(digest[i]) }
        for i in 8..<16 { low = low << 8 | UInt64(digest[i]) }
        return EventID(high: (high & ~0xF000) | 0x8000, low: (low & ~(0x3 << 62)) | (0x2 << 62))
    }
}
