/// A value of one `data` field.
public enum FieldValue: Hashable, Sendable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case boolean(Bool)
    case date(CalendarDate)

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
    public var boolean: Bool? { if case .boolean(let v) = self { v } else { nil } }
    public var date: CalendarDate? { if case .date(let d) = self { d } else { nil } }
    /// Integers and numbers alike, as a Double.
    public var number: Double? {
        switch self {
        case .number(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }
}

/// The `data` of an event: one optional value per field of its type's schema, in schema
/// order, so that a projection reads a field by position without looking up its name.
///
/// Stored inline (no type has more than `capacity` fields): replay builds millions of these,
/// and an array would cost an allocation each.
public struct EventData: Hashable, Sendable {
    /// The most fields any event type has.
    public static let capacity = 5

    private var v0, v1, v2, v3, v4: FieldValue?
    /// How many fields the type has (present or not).
    public private(set) var count: Int

    public init(values: [FieldValue?]) {
        precondition(values.count <= Self.capacity, "an event type has at most \(Self.capacity) fields")
        count = values.count
        for (i, v) in values.enumerated() { self[i] = v }
    }

    /// `count` fields, all absent.
    public init(count: Int) {
        precondition(count <= Self.capacity, "an event type has at most \(Self.capacity) fields")
        self.count = count
    }

    public subscript(_ index: Int) -> FieldValue? {
        get {
            switch index {
            case 0: v0
            case 1: v1
            case 2: v2
            case 3: v3
            case 4: v4
            default: nil
            }
        }
        set {
            switch index {
            case 0: v0 = newValue
            case 1: v1 = newValue
            case 2: v2 = newValue
            case 3: v3 = newValue
            case 4: v4 = newValue
            default: preconditionFailure("field index \(index) out of range")
            }
        }
    }

    /// The values in schema order.
    public var values: [FieldValue?] { (0..<count).map { self[$0] } }
}

/// A 128-bit event id (a UUID), kept as text-free bytes.
public struct EventID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the 8-4-4-4-12 hex form (either case); nil otherwise. The nil UUID is refused,
    /// since all zeros means "no id" in the log.
    public init?(uuid text: some StringProtocol) {
        let b = Array(text.utf8)
        guard b.count == 36, b[8] == 45, b[13] == 45, b[18] == 45, b[23] == 45 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0, n = 0
        for c in b where c != 45 {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            case 65...70: v = c - 55
            default: return nil
            }
            if n < 16 { h = h << 4 | UInt64(v) } else { l = l << 4 | UInt64(v) }
            n += 1
        }
        guard h != 0 || l != 0 else { return nil }
        self.init(high: h, low: l)
    }

    /// A version-8 UUID derived from a name (two FNV-1a 64 hashes): the same name always
    /// gives the same id, which is what makes `init` idempotent.
    public init(derivedFrom name: String) {
        func fnv(_ basis: UInt64) -> UInt64 {
            var h = basis
            for b in name.utf8 {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01B3
            }
            return h
        }
        let h = fnv(0xCBF2_9CE4_8422_2325), l = fnv(0x6C62_272E_07BB_0142)
        self.init(high: (h & ~0xF000) | 0x8000, low: (l & ~(0xC << 60)) | (0x8 << 60))
    }

    public var description: String {
        func hex(_ v: UInt64, _ digits: Int) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: digits - s.count) + s
        }
        return "\(hex(high >> 32, 8))-\(hex(high >> 16 & 0xFFFF, 4))-\(hex(high & 0xFFFF, 4))-\(hex(low >> 48, 4))-\(hex(low & 0xFFFF_FFFF_FFFF, 12))"
    }
}

/// A reported fact about a subject, as validated: the unit the log stores.
public struct Event: Hashable, Sendable {
    public var id: EventID?
    public var type: EventType
    public var subject: EntityKey
    public var occurredAt: Timestamp
    public var source: String?
    public var data: EventData

    public init(id: EventID?, type: EventType, subject: EntityKey, occurredAt: Timestamp, source: String?, data: EventData) {
        self.id = id
        self.type = type
        self.subject = subject
        self.occurredAt = occurredAt
        self.source = source
        self.data = data
    }

    /// The value of a field by name, or nil when absent or not in the type's schema.
    public subscript(field name: String) -> FieldValue? {
        type.schema.index(of: name).flatMap { data[$0] }
    }
}

/// A stored event: the event plus what the log added.
public struct StoredEvent: Hashable, Sendable {
    public var seq: UInt64
    public var recordedAt: Timestamp
    public var event: Event

    public init(seq: UInt64, recordedAt: Timestamp, event: Event) {
        self.seq = seq
        self.recordedAt = recordedAt
        self.event = event
    }
}

extension Event {
    /// The first member in which two events differ as reports, or nil when they report the
    /// same thing. The canonical form compared: `id`, `type`, `subject`, the instant of
    /// `occurred_at` (not the UTC offset it was written with), `source`, and each `data`
    /// field as its type reads it (so `5` and `5.0` for a number are the same). `seq` and
    /// `recorded_at` are the log's, not the event's.
    public func difference(from other: Event) -> String? {
        if id != other.id { return "id" }
        if type != other.type { return "type" }
        if subject != other.subject { return "subject" }
        if occurredAt.micros != other.occurredAt.micros { return "occurred_at" }
        if source != other.source { return "source" }
        let fields = type.schema.fields
        for i in fields.indices where data[i] != other.data[i] { return "data.\(fields[i].name)" }
        return nil
    }
}
