import RaqamModel
import RaqamStore
import RaqamSystem
import Crypto
import Synchronization
import Glibc

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
        let reader: RecordLogReader
        /// The token log's directory and its newest file as they were when last read:
        /// unchanged, the log has no new record, and reading it again is skipped.
        var seen: Look?
    }

    /// What `refresh` compares: the directory's modification time (a file created or
    /// removed) and the newest file's (its segment appended to), with that file's size.
    /// Only a look whose times were more than a second old when taken is kept.
    struct Look: Equatable {
        var directory: timespec
        var newest: String
        var modified: timespec
        var size: Int

        static func == (a: Look, b: Look) -> Bool {
            TokenRegistry.same(a.directory, b.directory) && a.newest == b.newest && TokenRegistry.same(a.modified, b.modified) && a.size == b.size
        }

        /// A time within the last second: file times are coarse (a clock tick), so a write in
        /// the same tick as this look would not show in them later.
        var isRecent: Bool { FileCalls.isRecent(directory) || FileCalls.isRecent(modified) }
    }
    // The reader caches mapped segments and is not thread-safe: it is used under the lock only.
    private let state: Mutex<State>

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
        state = Mutex(State(reader: RecordLogReader(directory: TokenLog.directory(stateDirectory: stateDirectory))))
    }

    /// Reads what the audit log gained since the last call. - Throws: `TokenError` when it is damaged.
    public func refresh() throws(TokenError) {
        let directory = TokenLog.directory(stateDirectory: stateDirectory)
        try state.withLock { (s: inout State) throws(TokenError) in
            // Two stats when nothing changed: the directory, and the newest file of the last look.
            if let seen = s.seen, let now = Self.look(directory, newest: seen.newest), now == seen { return }
            let look = Self.look(directory)
            s.position = try TokenLog.read(stateDirectory: stateDirectory, after: s.position, into: &s.book, reader: s.reader)
            // A look taken while its times are recent is not kept: a write later in the same
            // tick would leave them as they are (a new segment included), and be missed.
            s.seen = look?.isRecent == false ? look : nil
        }
    }

    /// The directory's time and its newest file's (the one named `newest`, or else the last
    /// by name: segments are named by their first seq, zero-padded), or nil when either is missing.
    static func look(_ directory: String, newest: String? = nil) -> Look? {
        guard let dir = FileCalls.status(directory),
              let name = newest ?? (try? FileCalls.listDirectory(directory))?.filter({ $0.hasSuffix(".seg") }).max(),
              let file = FileCalls.status(directory + "/" + name) else { return nil }
        return Look(directory: dir.modified, newest: name, modified: file.modified, size: file.size)
    }

    static func same(_ a: timespec, _ b: timespec) -> Bool { a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec }

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
