import Glibc
import RaqamSystem

/// An error of the event log: what went wrong, where, and what to do about it.
///
/// `code` says which kind of failure this is; `description` is a sentence for a person,
/// naming the file (and the offset in it, for damage) and the next step.
public struct EventLogError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure. A struct over a private enum, so new kinds do not break callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: Hashable, Sendable {
            case io, noSpace, corrupt, locked, tooLarge, closed, failed, badArgument
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// A system call failed (permissions, missing directory, device error).
        public static let io = Code(.io)
        /// The file system is full; nothing of the failed append was stored.
        public static let noSpace = Code(.noSpace)
        /// A record or file of the log is damaged somewhere other than its torn tail.
        public static let corrupt = Code(.corrupt)
        /// Another process holds the log's writer lock.
        public static let locked = Code(.locked)
        /// A record is larger than the log accepts.
        public static let tooLarge = Code(.tooLarge)
        /// The log was closed.
        public static let closed = Code(.closed)
        /// An earlier write or sync failed; the writer refuses further work until reopened.
        public static let failed = Code(.failed)
        /// A caller passed something the log cannot take (a bad configuration value).
        public static let badArgument = Code(.badArgument)

        public var description: String {
            switch kind {
            case .io: "io"
            case .noSpace: "no-space"
            case .corrupt: "corrupt"
            case .locked: "locked"
            case .tooLarge: "too-large"
            case .closed: "closed"
            case .failed: "failed"
            case .badArgument: "bad-argument"
            }
        }
    }

    /// The kind of failure.
    public var code: Code
    /// What happened, for a person.
    public var message: String
    /// The file concerned, if any.
    public var path: String?
    /// The byte offset in `path` where damage was found, if any.
    public var offset: Int?

    public init(code: Code, message: String, path: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
    }

    public var description: String {
        var place = ""
        if let path { place = path + (offset.map { " at offset \($0)" } ?? "") + ": " }
        return place + message
    }

    static func io(_ operation: String, path: String, errno code: Int32) -> EventLogError {
        if code == ENOSPC || code == EDQUOT {
            return EventLogError(
                code: .noSpace,
                message: "\(operation) failed: no space left on the device; free space or move the state directory, then retry",
                path: path)
        }
        return EventLogError(code: .io, message: "\(operation) failed: \(FileCalls.describe(errno: code))", path: path)
    }

    /// A failed system call as the log reports it: `.noSpace` for a full disk, else `.io`,
    /// naming the call and the file, with the errno's text.
    init(_ failure: SystemError) {
        self = .io(failure.operation, path: failure.path ?? "", errno: failure.errno)
    }

    /// The same error, saying that the append it failed stored none of its records.
    var nothingStored: EventLogError {
        var e = self
        e.message += " (nothing of this append was stored)"
        return e
    }

    static func corrupt(_ reason: String, path: String, offset: Int) -> EventLogError {
        EventLogError(
            code: .corrupt,
            message: "\(reason); the log refuses to write until this is repaired (see docs/recovery.md; `raqamctl verify` lists all damage)",
            path: path, offset: offset)
    }
}

/// Runs a `FileCalls` call, its failure as the log's error (`EventLogError(_:)`).
@inline(__always)
func sys<T>(_ call: @autoclosure () throws(SystemError) -> T) throws(EventLogError) -> T {
    do { return try call() } catch { throw EventLogError(error) }
}
