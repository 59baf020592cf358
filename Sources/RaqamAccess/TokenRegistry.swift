import RaqamModel
import EventLog
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
        let reader: EventLogReader
        /// The token log's files and their modification times when last read: unchanged, the
        /// log has no new record, and reading it again is skipped.
        var seen: [String: timespec] = [:]
    }
    // The reader caches mapped segments and is not thread-safe: it is used under the lock only.
    private let state: Mutex<State>

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
        state = Mutex(State(reader: EventLogReader(directory: TokenLog.directory(stateDirectory: stateDirectory))))
    }

    /// Reads what the audit log gained since the last call. - Throws: `TokenError` when it is damaged.
    public func refresh() throws(TokenError) {
        let directory = TokenLog.directory(stateDirectory: stateDirectory)
        let files = Self.modificationTimes(directory)
        try state.withLock { (s: inout State) throws(TokenError) in
            // File times are coarse (a clock tick): a file written within the last second is
            // read again whatever its time says, so a write in the same tick is never missed.
            guard !Self.equal(files, s.seen) || files.values.contains(where: { Self.recent($0) }) else { return }
            s.position = try TokenLog.read(stateDirectory: stateDirectory, after: s.position, into: &s.book, reader: s.reader)
            s.seen = files
        }
    }

    /// Each file of `directory` and its st_mtim (a write changes it, to the nanosecond on the
    /// file systems raqam runs on).
    static func modificationTimes(_ directory: String) -> [String: timespec] {
        guard let dir = opendir(directory) else { return [:] }
        defer { closedir(dir) }
        var out: [String: timespec] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name != ".", name != ".." else { continue }
            var st = stat()
            if stat(directory + "/" + name, &st) == 0 { out[name] = st.st_mtim }
        }
        return out
    }

    static func same(_ a: timespec, _ b: timespec) -> Bool { a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec }

    static func recent(_ t: timespec) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec - t.tv_sec <= 1
    }

    static func equal(_ a: [String: timespec], _ b: [String: timespec]) -> Bool {
        a.count == b.count && a.allSatisfy { k, v in b[k].map { same($0, v) } ?? false }
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
