import RaqamModel
import EventLog
import Crypto
import Synchronization

/// raqamd's view of the tokens: the audit log folded, brought up to date before each
/// authentication, so a token issued or revoked by `raqamctl tokens` counts from the next
/// request on, without a restart. Thread-safe.
public final class TokenRegistry: Sendable {
    public let stateDirectory: String

    /// Why a request is not authenticated (HTTP 401); never quotes the token.
    public struct Refusal: Error, Sendable, Equatable {
        public var message: String
    }

    private struct State {
        var book = TokenBook()
        var position: UInt64 = 0
        let reader: EventLogReader
    }
    // The reader caches mapped segments and is not thread-safe: it is used under the lock only.
    private let state: Mutex<State>

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
        state = Mutex(State(reader: EventLogReader(directory: TokenLog.directory(stateDirectory: stateDirectory))))
    }

    /// Reads what the audit log gained since the last call. - Throws: `TokenError` when it is damaged.
    public func refresh() throws(TokenError) {
        try state.withLock { (s: inout State) throws(TokenError) in
            s.position = try TokenLog.read(stateDirectory: stateDirectory, after: s.position, into: &s.book, reader: s.reader)
        }
    }

    /// The principal of an `Authorization` header's value (`Bearer rq_…`) at `now` (µs).
    /// - Throws: `Refusal` for a missing, malformed, unknown, revoked or expired token.
    public func authenticate(authorization: String?, now: Int64) throws -> Principal {
        guard let header = authorization else {
            throw Refusal(message: "no token: send Authorization: Bearer rq_… (raqamctl tokens issue makes one)")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Refusal(message: "the Authorization header must be Bearer followed by the token")
        }
        let token = parts[1].trimmingCharacters(in: " \t")
        guard token.hasPrefix(TokenLog.prefix) else {
            throw Refusal(message: "not a raqam token (a raqam token begins with \(TokenLog.prefix))")
        }
        try refresh()
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        guard let info = state.withLock({ $0.book.token(digest: digest) }) else {
            throw Refusal(message: "unknown token")
        }
        if let why = info.refusal(at: now) { throw Refusal(message: why) }
        return info.principal
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
