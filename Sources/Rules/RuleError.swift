/// A problem in a rule file: where (file, line, column), the text concerned, and what was
/// expected, printed as `file:line:column: message`.
public struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// A position in an expression's text (1-based), before it is placed in its file.
struct SourcePosition: Sendable, Equatable {
    var line = 1
    var column = 1
}

/// An expression problem at a position within the expression's text.
struct ExpressionProblem: Error, Sendable {
    var position: SourcePosition
    var message: String
}
