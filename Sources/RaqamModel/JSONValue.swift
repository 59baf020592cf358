/// A parsed JSON value. Objects keep their members in order; numbers keep their text so an
/// integer is told from a decimal.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(Double, isInteger: Bool, text: String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.number(let x, _, _), .number(let y, _, _)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes that says where it stopped and why.
public struct JSONParser {
    /// Why the text is not JSON, and the 1-based column (in bytes) where that was seen.
    public struct Problem: Error, Sendable {
        public var column: Int
        public var message: String
        /// The member names (and `[i]` indexes) from the top down to the value where it was
        /// seen; empty outside any member.
        public var path: [String] = []

        /// The path in the dotted form event fields are named by (`data.services_volume_uzs`).
        public var field: String? {
            path.isEmpty ? nil : path.reduce("") { $0.isEmpty || $1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1 }
        }
    }

    private let b: [UInt8]
    private var i = 0
    private var depth = 0
    /// Bytes before column 1 (a byte order mark).
    private var origin = 0
    static let maxDepth = 64

    /// Parses one JSON value filling all of `bytes` (white space around it allowed).
    public static func parse(_ bytes: [UInt8]) throws(Problem) -> JSONValue {
        var p = JSONParser(b: bytes)
        // A UTF-8 byte order mark (EF BB BF), as spreadsheet exports write at the start of a
        // file, is not part of the text (RFC 8259 §8.1 lets a parser ignore it).
        // Columns count from after it, as an editor shows the line.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { p.i = 3; p.origin = 3 }
        p.skipSpace()
        let v = try p.value()
        p.skipSpace()
        if p.i < p.b.count { throw p.problem("unexpected text after the JSON value") }
        return v
    }

    private init(b: [UInt8]) { self.b = b }

    private func problem(_ message: String) -> Problem { Problem(column: i + 1 - origin, message: message) }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 { i += 1 }
    }

    private mutating func value() throws(Problem) -> JSONValue {
        guard i < b.count else { throw problem("unexpected end of line; expected a value") }
        switch b[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw problem("unexpected character '\(Unicode.Scalar(b[i]))'; expected a value")
        }
    }

    private mutating func literal(_ word: String) throws(Problem) {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw problem("invalid literal; expected \(word)") }
        i += w.count
    }

    private mutating func object() throws(Problem) -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw problem("nested deeper than \(Self.maxDepth) levels") }
        defer { depth -= 1 }
        i += 1
        var members: [(key: String, value: JSONValue)] = []
        members.reserveCapacity(8)
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw problem("expected a member name in double quotes") }
            let start = i
            let key = try string()
            if members.contains(where: { $0.key == key }) { throw Problem(column: start + 1 - origin, message: "duplicate member \"\(key)\"") }
            skipSpace()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { throw problem("expected ':' after member name \"\(key)\"") }
            i += 1
            skipSpace()
            do throws(Problem) {
                members.append((key, try value()))
            } catch {
                var e = error
                e.path.insert(key, at: 0)
                throw e
            }
            skipSpace()
            guard i < b.count else { throw problem("unexpected end of line; expected ',' or '}'") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw problem("expected ',' or '}'")
        }
    }

    private mutating func array() throws(Problem) -> JSONValue {
        depth += 1
        guard depth <= Self.maxDepth else { throw problem("nested deeper than \(Self.maxDepth) levels") }
        defer { depth -= 1 }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipSpace()
            do throws(Problem) {
                items.append(try value())
            } catch {
                var e = error
                e.path.insert("[\(items.count)]", at: 0)
                throw e
            }
            skipSpace()
            guard i < b.count else { throw problem("unexpected end of line; expected ',' or ']'") }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw problem("expected ',' or ']'")
        }
    }

    private mutating func string() throws(Problem) -> String {
        i += 1
        // Most strings have no escape: one look for the closing quote, one String.
        let start = i
        while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\"), b[i] >= 0x20 { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "\"") {
            i += 1
            return String(decoding: b[start..<i - 1], as: UTF8.self)
        }
        var out = Array(b[start..<i])
        while true {
            guard i < b.count else { throw problem("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw problem("control character in a string; escape it") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw problem("unterminated escape") }
            switch b[i] {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 2 < b.count, b[i + 1] == UInt8(ascii: "\\"), b[i + 2] == UInt8(ascii: "u") else { throw problem("lone high surrogate in \\u escape") }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw problem("invalid low surrogate in \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw problem("lone low surrogate in \\u escape")
                }
                guard scalar != 0 else { throw problem("\\u0000 is not allowed in strings") }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default: throw problem("invalid escape '\\\(Unicode.Scalar(b[i]))'")
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func hex4() throws(Problem) -> UInt32 {
        guard i + 4 < b.count else { throw problem("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 1...4 {
            let c = b[i + k]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 97...102: d = UInt32(c - 87)
            case 65...70: d = UInt32(c - 55)
            default: throw problem("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    private mutating func number() throws(Problem) -> JSONValue {
        let start = i
        var isInteger = true
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 48 && b[i] <= 57 else { throw problem("expected a digit") }
        if b[i] == 48 { i += 1 } else { while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 } }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < b.count, b[i] >= 48 && b[i] <= 57 else { throw problem("expected a digit after '.'") }
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            isInteger = false
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count, b[i] >= 48 && b[i] <= 57 else { throw problem("expected a digit in the exponent") }
            while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        guard let v = Double(text), v.isFinite else {
            throw Problem(column: start + 1 - origin, message: "the number \(text.count > 40 ? String(text.prefix(40)) + "…" : text) is out of range; expected a finite number (at most about 1.8e308 in magnitude)")
        }
        return .number(v, isInteger: isInteger, text: text)
    }
}

/// Builds JSON text with members in the order written; escapes as RFC 8259 requires.
public struct JSONWriter {
    public private(set) var text = ""
    private var needsComma: [Bool] = [false]

    public init() {}

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
    }

    public mutating func beginObject() { valueSeparator(); text += "{"; needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); text += "}" }
    public mutating func beginArray() { valueSeparator(); text += "["; needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); text += "]" }

    /// Starts a member of the current object; the next value written is its value.
    public mutating func key(_ k: String) {
        separator()
        Self.quote(k, into: &text)
        text += ":"
        needsComma[needsComma.count - 1] = false
        pendingKey = true
    }
    private var pendingKey = false

    public mutating func string(_ s: String) { valueSeparator(); Self.quote(s, into: &text) }
    public mutating func raw(_ s: String) { valueSeparator(); text += s }
    public mutating func number(_ v: Double) { raw(formatNumber(v)) }
    public mutating func integer(_ v: some BinaryInteger) { raw(String(v)) }
    public mutating func bool(_ v: Bool) { raw(v ? "true" : "false") }
    public mutating func null() { raw("null") }

    private mutating func valueSeparator() {
        if pendingKey {
            pendingKey = false
            needsComma[needsComma.count - 1] = true
        } else {
            separator()
        }
    }

    public static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Most texts need no escape: appended whole, not scalar by scalar.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
