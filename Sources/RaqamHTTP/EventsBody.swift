public import RaqamModel
public import RaqamStore

/// The events of a `POST /v1/events` body: NDJSON (one event per line, numbered from 1) or
/// a JSON array (its elements numbered from 1), each decoded by `EventDecoder` as the
/// socket and `raqamctl append` decode theirs.
public struct EventsBody: Sendable {
    public var lines: [InputLine]
    public var decoded: [EventDecoder.Decoded]

    /// Why a body cannot be read as events at all (400), or has too many (413).
    public struct Problem: Error, Sendable {
        public var tooMany: Bool
        public var message: String
    }

    /// - Parameter limit: the most events accepted (`HTTPConfiguration.maxEventsPerRequest`).
    public init(bytes: [UInt8], limit: Int) throws(Problem) {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        lines = []
        decoded = []
        if start < bytes.count, bytes[start] == UInt8(ascii: "[") {
            let value: JSONValue
            do { value = try JSONParser.parse(Array(bytes[start...])) } catch {
                throw Problem(tooMany: false, message: "the body is not a JSON array of events: \(error.message) at byte \(start + error.column)")
            }
            guard case .array(let elements) = value else { throw Problem(tooMany: false, message: "the body is not a JSON array") }
            guard elements.count <= limit else {
                throw Problem(tooMany: true, message: "\(elements.count) events in one request; at most \(limit) (split the file)")
            }
            for (i, e) in elements.enumerated() {
                lines.append(InputLine(number: i + 1, bytes: []))
                decoded.append(EventDecoder.decode(e))
            }
            return
        }
        // NDJSON: blank lines are skipped (as raqamctl append skips them) but keep their numbers.
        var number = 0
        var lineStart = 0
        var i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == 0x0A {
                number += 1
                var end = i
                if end > lineStart, bytes[end - 1] == 0x0D { end -= 1 }
                let slice = bytes[lineStart..<end]
                if !slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    guard lines.count < limit else {
                        throw Problem(tooMany: true, message: "more than \(limit) events in one request (split the file)")
                    }
                    let line = InputLine(number: number, bytes: Array(slice))
                    lines.append(line)
                    decoded.append(EventDecoder.decode(line: line.bytes))
                }
                lineStart = i + 1
            }
            i += 1
        }
    }
}
