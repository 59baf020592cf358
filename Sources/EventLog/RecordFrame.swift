import Crypto
import Glibc

/// The on-disk frame of one record (format version 1). All integers little-endian.
///
/// ```
/// offset size  field
///      0    4  magic 0x31455152 ("RQE1")
///      4    4  CRC-32C of bytes 8 ..< 88 + length (everything after this field)
///      8    4  payload length
///     12    4  flags (0)
///     16    8  sequence number (1, 2, 3, … without gaps across segments)
///     24    8  recorded_at, µs since the Unix epoch, set by the log, never decreasing
///     32    8  time, µs since the Unix epoch, given by the appender (event time), for the index
///     40   16  key (idempotency key; all zero for none)
///     56   32  chain: SHA-256(previous record's chain ‖ bytes 8 ..< 56 ‖ payload)
///     88    n  payload
///   88+n    p  zero padding to a multiple of 8
/// ```
enum RecordFrame {
    static let magic: UInt32 = 0x3145_5152
    static let headerSize = 88
    static let alignment = 8

    /// The bytes a record with `payloadLength` bytes of payload takes, padding included.
    @inline(__always) static func size(payloadLength: Int) -> Int {
        (headerSize + payloadLength + alignment - 1) & ~(alignment - 1)
    }

    /// Appends the frame of one record to `buffer` and returns its chain hash.
    static func encode(
        into buffer: inout [UInt8], seq: UInt64, recordedAt: Int64, time: Int64, key: RecordKey,
        payload: UnsafeRawBufferPointer, previous: ChainHash
    ) -> ChainHash {
        let start = buffer.count
        let total = size(payloadLength: payload.count)
        buffer.append(contentsOf: repeatElement(0, count: total))
        return buffer.withUnsafeMutableBytes { raw in
            let p = raw.baseAddress! + start
            p.put(magic, at: 0)
            p.put(UInt32(payload.count), at: 8)
            p.put(UInt32(0), at: 12)
            p.put(seq, at: 16)
            p.put(recordedAt, at: 24)
            p.put(time, at: 32)
            // The key is stored big-endian, like the bytes of a UUID.
            p.storeBytes(of: key.high.bigEndian, toByteOffset: 40, as: UInt64.self)
            p.storeBytes(of: key.low.bigEndian, toByteOffset: 48, as: UInt64.self)
            if payload.count > 0 { (p + headerSize).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
            let chain = chainHash(previous: previous, frame: UnsafeRawPointer(p), payloadLength: payload.count)
            chain.store(to: p + 56)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: p + 8, count: headerSize - 8 + payload.count))
            p.put(crc, at: 4)
            return chain
        }
    }

    /// SHA-256 over the previous chain, the frame's fields 8 ..< 56 and the payload.
    static func chainHash(previous: ChainHash, frame p: UnsafeRawPointer, payloadLength: Int) -> ChainHash {
        var hasher = SHA256()
        withUnsafeTemporaryAllocation(byteCount: 80, alignment: 8) { head in
            // The previous hash and the fixed fields, in one update.
            previous.store(to: head.baseAddress!)
            (head.baseAddress! + 32).copyMemory(from: p + 8, byteCount: 48)
            hasher.update(bufferPointer: UnsafeRawBufferPointer(head))
        }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: p + headerSize, count: payloadLength))
        return hasher.finalize().withUnsafeBytes { ChainHash($0) }
    }

    /// What lies at an offset of a segment.
    enum Check {
        /// A whole record whose checksum holds.
        case record(RecordHeader)
        /// Zeros: no record was ever written here.
        case empty
        /// Bytes that are not a whole, intact record, and why.
        case invalid(String)
    }

    /// Checks the frame at `p`, with `available` bytes left in the segment.
    ///
    /// Complexity: O(payload length) for the checksum.
    static func check(_ p: UnsafeRawPointer, available: Int, maxPayload: Int) -> Check {
        if available < headerSize {
            return allZero(p, count: available) ? .empty : .invalid("a partial record header (\(available) bytes before the end of the segment)")
        }
        let m = p.u32(0)
        if m != magic {
            if m == 0 && allZero(p, count: headerSize) { return .empty }
            return .invalid("bad record magic 0x\(String(m, radix: 16))")
        }
        let length = Int(p.u32(8))
        if length > maxPayload || headerSize + length > available {
            return .invalid("record length \(length) runs past the end of the segment or over the limit of \(maxPayload) bytes")
        }
        let stored = p.u32(4)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: p + 8, count: headerSize - 8 + length))
        if stored != computed {
            return .invalid("CRC-32C mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        return .record(RecordHeader(frame: p))
    }

    /// The one bit whose flip would make the frame at `p` intact (magic and CRC-32C), or nil.
    /// Tries every bit of the header (a flip in the length field changes where the payload
    /// ends, up to `available` bytes) and of the 88 + length bytes the header declares;
    /// payloads over 4 KiB are not searched bit by bit (the cost grows with the square).
    ///
    /// Complexity: O(n²) CRC bytes for n = 88 + length (about 1 ms for 300 bytes).
    static func singleBitFlip(_ p: UnsafeRawPointer, available: Int, maxPayload: Int) -> (byte: Int, bit: Int)? {
        let declared = Int(p.u32(8))
        // The length field: each flip gives another payload length, checked as declared.
        for bit in 0..<32 {
            let length = declared ^ (1 << bit)
            guard length <= maxPayload, headerSize + length <= available else { continue }
            var frame = [UInt8](UnsafeRawBufferPointer(start: p, count: headerSize + length))
            let ok = frame.withUnsafeMutableBytes { raw in
                raw.baseAddress!.put(UInt32(length), at: 8)
                return isIntact(UnsafeRawPointer(raw.baseAddress!), count: raw.count)
            }
            if ok { return (8 + bit / 8, bit % 8) }
        }
        guard declared <= min(maxPayload, 4096), headerSize + declared <= available else { return nil }
        let n = headerSize + declared
        var frame = [UInt8](UnsafeRawBufferPointer(start: p, count: n))
        return frame.withUnsafeMutableBytes { raw -> (byte: Int, bit: Int)? in
            let f = raw.baseAddress!
            for byte in 0..<n where byte < 8 || byte >= 12 {
                let original = f.load(fromByteOffset: byte, as: UInt8.self)
                for bit in 0..<8 {
                    f.storeBytes(of: original ^ (1 << UInt8(bit)), toByteOffset: byte, as: UInt8.self)
                    let ok = isIntact(UnsafeRawPointer(f), count: n)
                    f.storeBytes(of: original, toByteOffset: byte, as: UInt8.self)
                    if ok { return (byte, bit) }
                }
            }
            return nil
        }
    }

    /// True when the `count` bytes at `f` are one frame with its magic and checksum right.
    private static func isIntact(_ f: UnsafeRawPointer, count: Int) -> Bool {
        f.u32(0) == magic && f.u32(4) == CRC32C.checksum(UnsafeRawBufferPointer(start: f + 8, count: count - 8))
    }

    static func allZero(_ p: UnsafeRawPointer, count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < count {
            if p.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
            i += 1
        }
        return true
    }

    /// The offset of the last non-zero byte at or after `from`, or nil when all are zero.
    ///
    /// Compares 64 KiB blocks with `memcmp` against zeros, from the end backwards: a
    /// preallocated segment is mostly zeros, and memcmp runs at memory speed in any build.
    static func lastNonZero(_ region: UnsafeRawBufferPointer, from: Int) -> Int? {
        let base = region.baseAddress!
        var end = region.count
        let block = zeroBlock.count
        while end > from {
            let start = max(from, end - block)
            let equal = zeroBlock.withUnsafeBytes { memcmp(base + start, $0.baseAddress!, end - start) == 0 }
            if !equal {
                var i = end - 1
                while i >= start {
                    if base.load(fromByteOffset: i, as: UInt8.self) != 0 { return i }
                    i -= 1
                }
            }
            end = start
        }
        return nil
    }

    private static let zeroBlock = [UInt8](repeating: 0, count: 64 << 10)

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}

/// The fixed fields of a record, read from its frame.
struct RecordHeader {
    var payloadLength: Int
    var seq: UInt64
    var recordedAt: Int64
    var time: Int64
    var key: RecordKey

    init(frame p: UnsafeRawPointer) {
        payloadLength = Int(p.u32(8))
        seq = p.u64(16)
        recordedAt = p.i64(24)
        time = p.i64(32)
        key = RecordKey(
            high: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 40, as: UInt64.self)),
            low: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 48, as: UInt64.self)))
    }

    var frameSize: Int { RecordFrame.size(payloadLength: payloadLength) }
}
