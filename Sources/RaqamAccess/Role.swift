/// What a token's holder may do.
public enum Role: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// Reports events about its own scope, and reads that scope.
    case report
    /// Reads everything; reports nothing.
    case read
    /// Reads and reports everything: the nation, `target.set`, any subject.
    case admin

    public var description: String { rawValue }
}
