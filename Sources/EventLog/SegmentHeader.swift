/// The header at the start of every segment file (format version 1), 128 bytes.
///
/// ```
/// offset size  field
///      0    8  magic "RAQAMSEG"
///      8    4  format version (1)
///     12    4  header size (128)
///     16    8  base sequence number: the seq of the segment's first record
///     24    8  preallocated size of the file
///     32    8  created_at, µs since the Unix epoch
///     40   32  chain hash of the record before the first one (zero for the log's first segment)
///     72   52  reserved (zero)
///    124    4  CRC-32C of bytes 0 ..< 124
/// ```
struct SegmentHeader: Equatable {
    static let size = 128
    static let magic: [UInt8] = Array("RAQAMSEG".utf8)
    static let formatVersion: UInt32 = 1

    var baseSeq: UInt64
    var segmentSize: Int
    var createdAt: Int64
    var previousChain: ChainHash

    func encoded() -> [UInt8] {
        var b = Self.magic
        b.appendLE(Self.formatVersion)
        b.appendLE(UInt32(Self.size))
        b.appendLE(baseSeq)
        b.appendLE(UInt64(segmentSize))
        b.appendLE(createdAt)
        b.append(contentsOf: previousChain.bytes)
        b.append(contentsOf: repeatElement(0, count: 124 - b.count))
        b.appendLE(CRC32C.checksum(b))
        return b
    }

    /// Decodes and checks a header; the error text says what is wrong with it.
    static func decode(_ raw: UnsafeRawBufferPointer) -> Result<SegmentHeader, HeaderProblem> {
        guard raw.count >= size else { return .failure(.init("the file is shorter than a segment header (\(raw.count) bytes)")) }
        let p = raw.baseAddress!
        if RecordFrame.allZero(p, count: size) { return .failure(.init("the segment header is all zeros", blank: true)) }
        guard Array(raw.prefix(8)) == magic else { return .failure(.init("not a raqam segment (bad magic)")) }
        let stored = p.u32(124)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: 124))
        guard stored == computed else { return .failure(.init("segment header CRC-32C mismatch")) }
        let version = p.u32(8)
        guard version == formatVersion else {
            return .failure(.init("segment format version \(version); this raqam reads version \(formatVersion)"))
        }
        return .success(SegmentHeader(
            baseSeq: p.u64(16), segmentSize: Int(p.u64(24)), createdAt: p.i64(32),
            previousChain: ChainHash(UnsafeRawBufferPointer(start: p + 40, count: 32))))
    }

    struct HeaderProblem: Error {
        var reason: String
        /// True when the header was never written (a crash while the file was being created).
        var blank = false
        init(_ reason: String, blank: Bool = false) {
            self.reason = reason
            self.blank = blank
        }
    }

    /// `00000000000000000001.seg` for base seq 1: names sort in log order.
    static func fileName(baseSeq: UInt64) -> String {
        let digits = String(baseSeq)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    /// The base seq a segment file name claims, or nil for other files.
    static func baseSeq(fromFileName name: String) -> UInt64? {
        guard name.hasSuffix(".seg"), name.count == 24 else { return nil }
        return UInt64(name.dropLast(4))
    }
}
