/// The binary form of an event, as the log stores it (format 1). Decoding it is what replay
/// does millions of times, so it is a flat layout read front to back, with no names:
///
/// ```
/// u8      format (1)
/// u8      event type (EventType.wireCode)
/// u8      subject kind (EntityKey.Kind)       varint + bytes  subject code
/// i64 LE  occurred_at µs                      i16 LE          its UTC offset in minutes
/// u8      flags: 1 = has id, 2 = has source
/// [16]    id (big-endian), when flagged       [varint + bytes] source, when flagged
/// u8      presence bitmap of the schema's fields (bit i = field i)
/// then each present field in schema order: strings as varint length + UTF-8, integers and
/// dates as zig-zag varints, numbers as f64 LE, booleans as one byte.
/// ```
public enum EventCodec {
    public static let formatVersion: UInt8 = 1

    /// Appends the binary form of `event` to `out`.
    public static func encode(_ event: Event, into out: inout [UInt8]) {
        out.append(formatVersion)
        out.append(event.type.wireCode)
        out.append(event.subject.kind.rawValue)
        putString(event.subject.code, &out)
        withUnsafeBytes(of: event.occurredAt.micros.littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: event.occurredAt.offsetMinutes.littleEndian) { out.append(contentsOf: $0) }
        out.append((event.id == nil ? 0 : 1) | (event.source == nil ? 0 : 2))
        if let id = event.id {
            withUnsafeBytes(of: id.high.bigEndian) { out.append(contentsOf: $0) }
            withUnsafeBytes(of: id.low.bigEndian) { out.append(contentsOf: $0) }
        }
        if let source = event.source { putString(source, &out) }
        let fields = event.type.schema.fields
        var bitmap: UInt8 = 0
        for i in fields.indices where event.data[i] != nil { bitmap |= 1 << UInt8(i) }
        out.append(bitmap)
        for i in fields.indices {
            switch event.data[i] {
            case nil: continue
            case .string(let s)?: putString(s, &out)
            case .integer(let v)?: putVarint(zigzag(v), &out)
            case .date(let d)?: putVarint(zigzag(Int64(d.days)), &out)
            case .number(let v)?: withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            case .boolean(let b)?: out.append(b ? 1 : 0)
            }
        }
    }

    public static func encode(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        encode(event, into: &out)
        return out
    }

    /// Why bytes are not an event of this format.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Decodes the binary form. Throws when the bytes are not a whole event of format 1.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(Problem) -> Event {
        var r = Reader(bytes: bytes)
        guard try r.byte() == formatVersion else { throw Problem(message: "unknown event format") }
        guard let type = EventType(wireCode: try r.byte()) else { throw Problem(message: "unknown event type code") }
        guard let kind = EntityKey.Kind(rawValue: try r.byte()) else { throw Problem(message: "unknown subject kind") }
        let subject = EntityKey(uncheckedKind: kind, code: try r.string())
        let micros = Int64(bitPattern: try r.fixed64())
        let offset = Int16(bitPattern: try r.fixed16())
        let flags = try r.byte()
        var id: EventID?
        if flags & 1 != 0 {
            let h = UInt64(bigEndian: UInt64(littleEndian: try r.fixed64()))
            let l = UInt64(bigEndian: UInt64(littleEndian: try r.fixed64()))
            id = EventID(high: h, low: l)
        }
        let source = flags & 2 != 0 ? try r.string() : nil
        let bitmap = try r.byte()
        let (kinds, count) = type.wireLayout
        var data = EventData(count: count)
        for i in 0..<count where bitmap & (1 << UInt8(i)) != 0 {
            switch (kinds >> (4 * UInt64(i))) & 0xF {
            case 1: data[i] = .string(try r.string())
            case 2: data[i] = .integer(unzigzag(try r.varint()))
            case 3: data[i] = .number(Double(bitPattern: try r.fixed64()))
            case 4: data[i] = .boolean(try r.byte() != 0)
            default: data[i] = .date(CalendarDate(days: Int32(truncatingIfNeeded: unzigzag(try r.varint()))))
            }
        }
        guard r.offset == bytes.count else { throw Problem(message: "trailing bytes after the event") }
        return Event(id: id, type: type, subject: subject, occurredAt: Timestamp(micros: micros, offsetMinutes: offset),
                     source: source, data: data)
    }

    public static func decode(_ bytes: [UInt8]) throws(Problem) -> Event {
        let result: Result<Event, Problem> = bytes.withUnsafeBytes { raw in
            do throws(Problem) { return .success(try decode(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The event type of an encoded event, read without decoding the rest.
    public static func peekType(_ bytes: UnsafeRawBufferPointer) -> EventType? {
        guard bytes.count >= 2, bytes[0] == formatVersion else { return nil }
        return EventType(wireCode: bytes[1])
    }

    /// Whether an encoded event is about `kind` and a code equal to `code` (or, with
    /// `prefix`, starting with it), read without decoding the rest: what a scan for one
    /// subject's events tests on every record it passes.
    public static func peekSubject(_ bytes: UnsafeRawBufferPointer, kind: EntityKey.Kind, code: [UInt8], prefix: Bool = false) -> Bool {
        guard bytes.count >= 4, bytes[0] == formatVersion, bytes[2] == kind.rawValue else { return false }
        var length = 0
        var shift = 0
        var i = 3
        while i < bytes.count, shift < 35 {
            let b = bytes[i]
            length |= Int(b & 0x7F) << shift
            i += 1
            if b & 0x80 == 0 { break }
            shift += 7
        }
        guard prefix ? length >= code.count : length == code.count, i + code.count <= bytes.count else { return false }
        for k in code.indices where bytes[i + k] != code[k] { return false }
        return true
    }

    static func putString(_ s: String, _ out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            putVarint(UInt64(u.count), &out)
            out.append(contentsOf: u)
        }
    }

    static func putVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func byte() throws(Problem) -> UInt8 {
            guard offset < bytes.count else { throw Problem(message: "truncated event") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func fixed64() throws(Problem) -> UInt64 {
            guard offset + 8 <= bytes.count else { throw Problem(message: "truncated event") }
            defer { offset += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func fixed16() throws(Problem) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw Problem(message: "truncated event") }
            defer { offset += 2 }
            return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
        }

        mutating func varint() throws(Problem) -> UInt64 {
            var v: UInt64 = 0, shift: UInt64 = 0
            while true {
                let b = try byte()
                v |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return v }
                shift += 7
                guard shift < 64 else { throw Problem(message: "varint too long") }
            }
        }

        mutating func string() throws(Problem) -> String {
            // A length past the end (or past Int) is damage, not a reason to trap.
            guard let n = Int(exactly: try varint()), n <= bytes.count - offset else { throw Problem(message: "truncated string") }
            defer { offset += n }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]), as: UTF8.self)
        }
    }
}

/// The JSON form of events, as `raqamctl events` prints them and `append` reads them.
public enum EventJSON {
    /// `{"seq":…,"id":…,"type":…,"subject":…,"occurred_at":…,"recorded_at":…,"source":…,"data":{…}}`;
    /// seq and recorded_at only for stored events; data fields in schema order.
    public static func write(_ event: Event, seq: UInt64? = nil, recordedAt: Timestamp? = nil, into w: inout JSONWriter) {
        w.beginObject()
        if let seq { w.key("seq"); w.integer(seq) }
        if let id = event.id { w.key("id"); w.string(id.description) }
        w.key("type"); w.string(event.type.rawValue)
        w.key("subject"); w.string(event.subject.description)
        w.key("occurred_at"); w.string(event.occurredAt.rfc3339)
        if let recordedAt { w.key("recorded_at"); w.string(recordedAt.rfc3339) }
        if let source = event.source { w.key("source"); w.string(source) }
        w.key("data")
        writeData(event, into: &w)
        w.endObject()
    }

    /// The `data` object alone: fields in schema order, dates as `YYYY-MM-DD`.
    public static func writeData(_ event: Event, into w: inout JSONWriter) {
        w.beginObject()
        for (i, spec) in event.type.schema.fields.enumerated() {
            guard let v = event.data[i] else { continue }
            w.key(spec.name)
            switch v {
            case .string(let s): w.string(s)
            case .integer(let n): w.integer(n)
            case .number(let d): w.number(d)
            case .boolean(let b): w.bool(b)
            case .date(let d): w.string(d.description)
            }
        }
        w.endObject()
    }

    public static func line(_ stored: StoredEvent) -> String {
        var w = JSONWriter()
        write(stored.event, seq: stored.seq, recordedAt: stored.recordedAt, into: &w)
        return w.text
    }

    public static func line(_ event: Event) -> String {
        var w = JSONWriter()
        write(event, into: &w)
        return w.text
    }
}
