import Foundation
import Synchronization

/// The web view's sign-in sessions: a random id (the cookie) standing for the read token it
/// was opened with, in memory only (a restart of raqamd signs everyone out). Each use
/// authenticates that token again, so a revoked or expired token ends its sessions at once.
final class WebSessions: Sendable {
    struct Session: Sendable {
        var token: String
        var expires: Int64
    }

    /// How long a session lasts (µs): a working day.
    static let lifetime: Int64 = 12 * 3_600_000_000
    /// At most this many open sessions; the oldest go first.
    static let capacity = 10_000

    private let sessions = Mutex<[String: Session]>([:])

    /// Opens a session for `token`; its id (64 hex digits from the system's CSPRNG).
    func open(token: String, now: Int64) -> String {
        var rng = SystemRandomNumberGenerator()
        let id = (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
        sessions.withLock { s in
            s = s.filter { $0.value.expires > now }
            if s.count >= Self.capacity, let oldest = s.min(by: { $0.value.expires < $1.value.expires })?.key { s[oldest] = nil }
            s[id] = Session(token: token, expires: now + Self.lifetime)
        }
        return id
    }

    /// The token of a live session, nil for an unknown or expired id.
    func token(_ id: String, now: Int64) -> String? {
        sessions.withLock { s in
            guard let session = s[id] else { return nil }
            guard session.expires > now else { s[id] = nil; return nil }
            return session.token
        }
    }

    func close(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }
}
