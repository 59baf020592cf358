/// Why a token could not be issued, revoked or read. The message names what to do; the
/// cause (the log's own error) is kept for a caller that reacts to it.
public struct TokenError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case badArgument, notFound, locked, io, damaged }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// A subject, role or date that cannot be used (usage error).
        public static let badArgument = Code(.badArgument)
        /// No token has this id.
        public static let notFound = Code(.notFound)
        /// Another process writes the token log this instant.
        public static let locked = Code(.locked)
        /// The file system refused.
        public static let io = Code(.io)
        /// A record of the token log is damaged or not a token record.
        public static let damaged = Code(.damaged)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
