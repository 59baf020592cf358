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
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16, "a record key has 16 bytes")
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
        for i in 8..<16 { l = l << 8 | UInt64(bytes[i]) }
        self.init(high: h, low: l)
    }

    /// The all-zero key, which means "no key": such records are never deduplicated.
    public static let none = RecordKey(high: 0, low: 0)

    public var isNone: Bool { high == 0 && low == 0 }

    public static func < (a: RecordKey, b: RecordKey) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }

    /// One word into the hasher: keys are UUIDs, already uniformly spread.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(high ^ (low &* 0x9E37_79B9_7F4A_7C15))
    }

    public var description: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }
}

/// The SHA-256 that chains a record to every record before it.
///
/// Four words rather than an array: one is computed for every record appended, and a value
/// that needs no heap allocation keeps that cheap.
public struct ChainHash: Hashable, Sendable, CustomStringConvertible {
    private var w0, w1, w2, w3: UInt64

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a chain hash has 32 bytes")
        self.init(bytes.withUnsafeBytes { $0 })
    }

    /// The hash from the first 32 bytes at `raw`.
    init(_ raw: UnsafeRawBufferPointer) {
        w0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        w3 = raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    /// The 32 bytes of the digest, in order.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: (w0, w1, w2, w3)) { Array($0) }
    }

    /// Copies the 32 bytes to `destination`.
    func store(to destination: UnsafeMutableRawPointer) {
        withUnsafeBytes(of: (w0, w1, w2, w3)) { destination.copyMemory(from: $0.baseAddress!, byteCount: 32) }
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
