/// An opaque 16-byte key that makes an append idempotent: a record whose key the log already
/// holds is not stored again, and the caller gets the original sequence number back.
///
/// The log knows nothing of what the key means; the domain derives it (from an event's UUID).
public struct RecordKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The key from 16 bytes, big-endian, so that the byte order of a UUID is its sort order.
    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "a record key has 16 bytes")
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        self.init(high: h, low: l)
    }

    /// The all-zero key, which means "no key": such records are never deduplicated.
    public static let none = RecordKey(high: 0, low: 0)

    public var isNone: Bool { high == 0 && low == 0 }

    public static func < (a: RecordKey, b: RecordKey) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    public var description: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }
}

/// The SHA-256 that chains a record to every record before it.
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes of the digest.
    public private(set) var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a chain hash has 32 bytes")
        self.bytes = bytes
    }

    init(_ raw: UnsafeRawBufferPointer) {
        self.bytes = Array(raw.prefix(32))
    }

    /// The hash before the first record.
    public static let genesis = ChainHash(bytes: [UInt8](repeating: 0, count: 32))

    /// Lower-case hex, as `raqamctl verify` prints it.
    public var description: String {
        bytes.map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
    }
}
