/// Turns one line of NDJSON input into a validated `Event`, or into every problem it has.
///
/// The checks are the ones of the event table in DESIGN.md: a known type, a well-formed
/// subject of a kind that type allows, an RFC 3339 `occurred_at`, and `data` with each
/// required field present, each field of the right type and range, and no unknown field.
/// Whether the subject is registered is checked later, against the log (`RaqamStore`).
public enum EventDecoder {
    /// The longest line accepted, in bytes: an event is a small fact, not a document.
    public static let maxLineBytes = 64 * 1024

    /// Members the output form adds; accepted on input (so `events -o ndjson` can be
    /// appended elsewhere) and ignored, since the log assigns its own.
    static let ignoredMembers: Set<String> = ["seq", "recorded_at"]
    static let members: Set<String> = ["id", "type", "subject", "occurred_at", "source", "data"]

    /// An event, or every problem found in its line.
    public enum Decoded: Sendable {
        case event(Event)
        case invalid([ValidationIssue])
    }

    enum Checked {
        case ok(FieldValue)
        case bad(String)
    }

    /// Decodes and validates one line (without its newline).
    public static func decode(line bytes: [UInt8]) -> Decoded {
        if bytes.count > maxLineBytes {
            return .invalid([.init(field: nil, message: "the line has \(bytes.count) bytes; an event may have at most \(maxLineBytes)")])
        }
        if let bad = firstInvalidUTF8(bytes) {
            return .invalid([.init(field: nil, message: "invalid UTF-8 at byte \(bad + 1); the input must be UTF-8")])
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(bytes)
        } catch {
            return .invalid([.init(field: error.field, message: "malformed JSON at column \(error.column): \(error.message)")])
        }
        return decode(json)
    }

    /// Validates a parsed JSON value as an event.
    public static func decode(_ json: JSONValue) -> Decoded {
        guard case .object(let members) = json else {
            return .invalid([.init(field: nil, message: "expected a JSON object, got \(json.typeName)")])
        }
        var issues: [ValidationIssue] = []
        func member(_ name: String) -> JSONValue? { members.first { $0.key == name }?.value }
        for (k, _) in members where !members_known(k) {
            issues.append(.init(field: k, message: "unknown field; an event has id, type, subject, occurred_at, source and data"))
        }

        var id: EventID?
        if let v = member("id") {
            if case .string(let s) = v, let parsed = EventID(uuid: s) { id = parsed } else {
                issues.append(.init(field: "id", message: "expected a UUID such as \"2b0f5c8e-7d0a-4d1e-9a55-0c1f7e2f4a10\", got \(describe(v))"))
            }
        }

        var type: EventType?
        switch member("type") {
        case nil: issues.append(.init(field: "type", message: "missing; expected an event type such as \"project.implemented\""))
        case .string(let s)?:
            type = EventType(rawValue: s)
            if type == nil {
                issues.append(.init(field: "type", message: "unknown event type \"\(s)\"\(suggestion(s, among: EventType.allCases.map(\.rawValue)))"))
            }
        case let v?: issues.append(.init(field: "type", message: "expected a string, got \(v.typeName)"))
        }

        var subject: EntityKey?
        switch member("subject") {
        case nil: issues.append(.init(field: "subject", message: "missing; expected an entity key such as \"district:1703202\""))
        case .string(let s)?:
            do throws(EntityKey.KeyProblem) { subject = try EntityKey(parsing: s) } catch {
                issues.append(.init(field: "subject", message: error.message))
            }
        case let v?: issues.append(.init(field: "subject", message: "expected a string, got \(v.typeName)"))
        }
        if let type, let s = subject, !type.schema.subjects.contains(s.kind) {
            let allowed = type.schema.subjects.sorted().map(\.description).joined(separator: ", ")
            issues.append(.init(field: "subject", message: "\(type.rawValue) is about \(allowed), not \(s.kind)"))
            subject = nil
        }

        var occurredAt: Timestamp?
        switch member("occurred_at") {
        case nil: issues.append(.init(field: "occurred_at", message: "missing; expected an RFC 3339 time such as \"2021-05-14T09:30:00+05:00\""))
        case .string(let s)?:
            occurredAt = Timestamp(rfc3339: s)
            if occurredAt == nil {
                issues.append(.init(field: "occurred_at", message: "\"\(s)\" is not an RFC 3339 time; expected e.g. \"2021-05-14T09:30:00+05:00\""))
            }
        case let v?: issues.append(.init(field: "occurred_at", message: "expected an RFC 3339 time string, got \(v.typeName)"))
        }

        var source: String?
        if let v = member("source") {
            if case .string(let s) = v, !s.isEmpty { source = s } else if case .null = v {} else {
                issues.append(.init(field: "source", message: "expected a non-empty string, got \(describe(v))"))
            }
        }

        var data: EventData?
        switch member("data") {
        case nil: issues.append(.init(field: "data", message: "missing; expected an object with the fields of the event type"))
        case .object(let fields)?:
            if let type { data = decodeData(fields, schema: type.schema, subject: subject, issues: &issues) }
        case let v?: issues.append(.init(field: "data", message: "expected an object, got \(v.typeName)"))
        }

        guard issues.isEmpty, let type, let subject, let occurredAt, let data else {
            return .invalid(issues)
        }
        return .event(Event(id: id, type: type, subject: subject, occurredAt: occurredAt, source: source, data: data))
    }

    private static func members_known(_ k: String) -> Bool { members.contains(k) || ignoredMembers.contains(k) }

    private static func decodeData(_ fields: [(key: String, value: JSONValue)], schema: EventSchema, subject: EntityKey?,
                                   issues: inout [ValidationIssue]) -> EventData? {
        let before = issues.count
        var values = [FieldValue?](repeating: nil, count: schema.fields.count)
        for (k, _) in fields where schema.index(of: k) == nil {
            let names = schema.fields.map(\.name)
            issues.append(.init(field: "data.\(k)", message: "unknown field for \(schema.type.rawValue)\(suggestion(k, among: names)); it takes \(names.joined(separator: ", "))"))
        }
        for (i, spec) in schema.fields.enumerated() {
            guard let raw = fields.first(where: { $0.key == spec.name })?.value, raw != .null else {
                if spec.required { issues.append(.init(field: "data.\(spec.name)", message: "missing; expected \(spec.kind.expectation)")) }
                continue
            }
            switch check(raw, spec.kind) {
            case .ok(let v): values[i] = v
            case .bad(let message): issues.append(.init(field: "data.\(spec.name)", message: message))
            }
        }
        guard issues.count == before else { return nil }
        let data = EventData(values: values)
        // Rules across fields.
        switch schema.type {
        case .trainingReported:
            if let staff = data[0]?.integer, let trained = data[1]?.integer, trained > staff {
                issues.append(.init(field: "data.trained", message: "\(trained) trained is more than the \(staff) staff reported"))
            }
        case .entityRegistered:
            if let subject, let kind = data[0]?.string {
                let expected: [EntityKey.Kind: [String]] = [.region: ["region"], .district: ["district", "city"], .org: ["org"]]
                if expected[subject.kind]?.contains(kind) != true {
                    issues.append(.init(field: "data.kind", message: "\"\(kind)\" does not fit the subject \(subject); expected \(expected[subject.kind]!.map { "\"\($0)\"" }.joined(separator: " or "))"))
                }
                if subject.kind == .district {
                    let region = subject.regionKey!.description
                    if let parent = data[2]?.string, parent != region {
                        issues.append(.init(field: "data.parent", message: "\(parent) does not contain \(subject); its SOATO code says \(region)"))
                    } else if data[2] == nil {
                        issues.append(.init(field: "data.parent", message: "missing; a district or city names its region (\(region))"))
                    }
                }
            }
        default:
            break
        }
        return issues.count == before ? data : nil
    }

    private static func check(_ raw: JSONValue, _ kind: FieldKind) -> Checked {
        // The message only when it is needed: an interpolation per field is most of a check's cost.
        var wrong: String { "expected \(kind.expectation), got \(describe(raw))" }
        switch kind {
        case .string:
            guard case .string(let s) = raw, !s.isEmpty else { return .bad(wrong) }
            return .ok(.string(s))
        case .choice(let allowed):
            guard case .string(let s) = raw, allowed.contains(s) else { return .bad(wrong) }
            return .ok(.string(s))
        case .integer(let range):
            guard case .number(let v, let isInteger, let text) = raw, isInteger, let n = Int64(text), range.contains(n) else {
                return .bad(wrong)
            }
            _ = v
            return .ok(.integer(n))
        case .number(let range):
            guard case .number(let v, _, _) = raw, range.contains(v) else { return .bad(wrong) }
            return .ok(.number(v))
        case .boolean:
            guard case .bool(let v) = raw else { return .bad(wrong) }
            return .ok(.boolean(v))
        case .date:
            guard case .string(let s) = raw, let d = CalendarDate(iso: s) else { return .bad(wrong) }
            return .ok(.date(d))
        case .period:
            guard case .string(let s) = raw, Period.isValid(s) else { return .bad(wrong) }
            return .ok(.string(s))
        case .regionKey:
            guard case .string(let s) = raw, let k = try? EntityKey(parsing: s), k.kind == .region else { return .bad(wrong) }
            return .ok(.string(s))
        case .url:
            guard case .string(let s) = raw, s.hasPrefix("https://") || s.hasPrefix("http://"), s.count > 8, !s.contains(" ") else {
                return .bad(wrong)
            }
            return .ok(.string(s))
        }
    }

    /// A short rendering of a JSON value for messages.
    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): "\"" + (s.count > 40 ? String(s.prefix(40)) + "…" : s) + "\""
        case .number(_, _, let text): text
        case .bool(let b): String(b)
        default: v.typeName
        }
    }

    static func suggestion(_ text: String, among candidates: [String]) -> String {
        NearMiss.suggestion(text, among: candidates, quote: "\"")
    }

    /// The index of the first byte that breaks UTF-8, or nil when it is all valid.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if c < 0x80 { i += 1; continue }
            let n: Int, minScalar: UInt32
            switch c {
            case 0xC2...0xDF: n = 1; minScalar = 0x80
            case 0xE0...0xEF: n = 2; minScalar = 0x800
            case 0xF0...0xF4: n = 3; minScalar = 0x10000
            default: return i
            }
            guard i + n < bytes.count else { return i }
            var scalar = UInt32(c) & (n == 1 ? 0x1F : n == 2 ? 0x0F : 0x07)
            for k in 1...n {
                let cc = bytes[i + k]
                guard cc & 0xC0 == 0x80 else { return i }
                scalar = scalar << 6 | UInt32(cc & 0x3F)
            }
            if scalar < minScalar || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return i }
            i += n + 1
        }
        return nil
    }
}
