/// One problem with one input event: where (file, line, field) and what was expected.
/// Printed as `FILE:LINE: field: message`, the form compilers use, so editors can jump to it.
public struct ValidationIssue: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String?
    public var line: Int?
    /// The member concerned (`subject`, `data.due`), or nil for the line as a whole.
    public var field: String?
    public var message: String

    public init(file: String? = nil, line: Int? = nil, field: String?, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var out = ""
        if let file { out += file + ":" }
        if let line { out += "\(line):" }
        if !out.isEmpty { out += " " }
        if let field { out += field + ": " }
        return out + message
    }
}
