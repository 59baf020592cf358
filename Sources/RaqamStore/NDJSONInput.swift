public import RaqamModel

/// A batch of events read from NDJSON text: the valid ones with their line numbers, and
/// every problem of the others.
public struct NDJSONBatch: Sendable {
    public var events: [Event] = []
    public var lines: [Int] = []
    public var issues: [ValidationIssue] = []
    /// The raw text of each rejected line, by line number, for `--skip-invalid`.
    public var rejected: [(line: Int, text: [UInt8])] = []

    /// Splits `bytes` into lines (LF or CRLF), skips blank ones, and decodes each.
    /// An input with no event at all is one issue: an empty batch is almost always a mistake.
    public init(bytes: [UInt8], file: String) {
        var lineNumber = 0
        var start = 0
        var sawEvent = false
        while start < bytes.count {
            lineNumber += 1
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var line = Array(bytes[start..<end])
            if line.last == 0x0D { line.removeLast() }
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            sawEvent = true
            switch EventDecoder.decode(line: line) {
            case .event(let e):
                events.append(e)
                lines.append(lineNumber)
            case .invalid(let found):
                issues += found.map { var i = $0; i.file = file; i.line = lineNumber; return i }
                rejected.append((lineNumber, line))
            }
        }
        if !sawEvent {
            issues.append(ValidationIssue(file: file, line: nil, field: nil, message: "no events: the input is empty (expected NDJSON, one event per line)"))
        }
    }
}
