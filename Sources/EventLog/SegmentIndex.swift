import Glibc
import RaqamSystem

/// The sidecar index a segment gets when it is sealed (`NNN.idx` beside `NNN.seg`): its
/// extent, its last chain hash, its sparse block index and its sorted record keys. Derived
/// data: when it is missing or damaged the segment is scanned and the sidecar written anew.
///
/// ```
/// offset size  field
///      0    8  magic "RAQAMIDX"
///      8    4  format version (1)
///     12    4  records per block
///     16    8  base seq
///     24    8  record count
///     32    8  end offset (first byte after the last record)
///     40    8  last recorded_at
///     48    8  block count B
///     56    8  key count K
///     64   32  chain hash of the last record
///     96 40·B  blocks: first seq, offset, first recorded_at, min time, max time
///      … 24·K  keys, sorted: key (16, big-endian), seq
///      …    4  CRC-32C of everything before it
/// ```
struct SegmentIndex {
    static let magic: [UInt8] = Array("RAQAMIDX".utf8)
    static let headerSize = 96

    var baseSeq: UInt64
    var count: Int
    var endOffset: Int
    var lastRecordedAt: Int64
    var lastChain: ChainHash
    var blocks: [IndexBlock]
    /// Keys sorted ascending (empty when they were not read, or are in `mappedKeys`).
    var keys: [(key: RecordKey, seq: UInt64)]
    /// The keys left in the sidecar file, mapped (see `read(from:keys:)`).
    var mappedKeys: SidecarKeys?

    /// What reading a sidecar does with its keys (24 bytes a record).
    enum Keys {
        /// Leaves them: a reader walks blocks.
        case skipped
        /// Copies them into `keys`.
        case copied
        /// Leaves them in the file, mapped (`mappedKeys`), when there are at least
        /// `SealedKeys.closedRun`; copies fewer. The writer's duplicate check.
        case mappedWhenMany
    }

    init(baseSeq: UInt64, scan: SegmentScan) {
        self.baseSeq = baseSeq
        count = scan.count
        endOffset = scan.endOffset
        lastRecordedAt = scan.lastRecordedAt
        lastChain = scan.lastChain
        blocks = scan.blocks
        keys = scan.keys.sorted { $0.key < $1.key }
    }

    var lastSeq: UInt64 { baseSeq &+ UInt64(count) &- 1 }

    func encoded() -> [UInt8] {
        var b = Self.magic
        b.reserveCapacity(Self.headerSize + blocks.count * 40 + keys.count * 24 + 4)
        b.appendLE(UInt32(1))
        b.appendLE(UInt32(IndexBlock.recordsPerBlock))
        b.appendLE(baseSeq)
        b.appendLE(UInt64(count))
        b.appendLE(UInt64(endOffset))
        b.appendLE(lastRecordedAt)
        b.appendLE(UInt64(blocks.count))
        b.appendLE(UInt64(keys.count))
        b.append(contentsOf: lastChain.bytes)
        for blk in blocks {
            b.appendLE(blk.firstSeq)
            b.appendLE(UInt64(blk.offset))
            b.appendLE(blk.firstRecordedAt)
            b.appendLE(blk.minTime)
            b.appendLE(blk.maxTime)
        }
        for (key, seq) in keys {
            b.appendLE(key.high.byteSwapped)
            b.appendLE(key.low.byteSwapped)
            b.appendLE(seq)
        }
        b.appendLE(CRC32C.checksum(b))
        return b
    }

    /// Decodes a sidecar, or nil when it is not intact (the caller rebuilds it).
    static func decode(_ raw: UnsafeRawBufferPointer, copyingKeys: Bool = true) -> SegmentIndex? {
        guard raw.count >= headerSize + 4, Array(raw.prefix(8)) == magic else { return nil }
        let p = raw.baseAddress!
        guard p.u32(raw.count - 4) == CRC32C.checksum(UnsafeRawBufferPointer(start: p, count: raw.count - 4)),
              p.u32(8) == 1, p.u32(12) == UInt32(IndexBlock.recordsPerBlock) else { return nil }
        let blockCount = Int(p.u64(48)), keyCount = Int(p.u64(56))
        guard raw.count == headerSize + blockCount * 40 + keyCount * 24 + 4 else { return nil }
        var index = SegmentIndex(
            baseSeq: p.u64(16), count: Int(p.u64(24)), endOffset: Int(p.u64(32)), lastRecordedAt: p.i64(40),
            lastChain: ChainHash(UnsafeRawBufferPointer(start: p + 64, count: 32)), blocks: [], keys: [])
        index.blocks.reserveCapacity(blockCount)
        var o = headerSize
        for _ in 0..<blockCount {
            index.blocks.append(IndexBlock(firstSeq: p.u64(o), offset: Int(p.u64(o + 8)), firstRecordedAt: p.i64(o + 16),
                                           minTime: p.i64(o + 24), maxTime: p.i64(o + 32)))
            o += 40
        }
        guard copyingKeys else { return index }
        index.keys.reserveCapacity(keyCount)
        for _ in 0..<keyCount {
            index.keys.append((RecordKey(high: p.u64(o).byteSwapped, low: p.u64(o + 8).byteSwapped), p.u64(o + 16)))
            o += 24
        }
        return index
    }

    init(baseSeq: UInt64, count: Int, endOffset: Int, lastRecordedAt: Int64, lastChain: ChainHash,
                 blocks: [IndexBlock], keys: [(key: RecordKey, seq: UInt64)]) {
        self.baseSeq = baseSeq
        self.count = count
        self.endOffset = endOffset
        self.lastRecordedAt = lastRecordedAt
        self.lastChain = lastChain
        self.blocks = blocks
        self.keys = keys
    }

    /// The seq stored under `key`, by binary search. O(log K).
    func seq(for key: RecordKey) -> UInt64? {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid].key < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < keys.count && keys[lo].key == key ? keys[lo].seq : nil
    }

    /// The offset of the block holding `seq` (the first record at or after it in this segment).
    func offset(forSeq seq: UInt64) -> Int {
        var lo = 0, hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if blocks[mid].firstSeq <= seq { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? SegmentHeader.size : blocks[lo - 1].offset
    }

    /// Writes the sidecar atomically: a temporary file, fdatasync, rename, directory fsync.
    func write(to path: String, directory: String) throws(EventLogError) {
        try DurableFile.write(encoded(), to: path)
    }

    /// Reads a sidecar file, or nil when it is missing or not intact. The file is mapped, not
    /// copied: its CRC is checked in place, and only what `keys` asks for is copied out.
    static func read(from path: String, keys: Keys = .copied) -> SegmentIndex? {
        guard let fd = try? FileCalls.open(path, O_RDONLY | O_CLOEXEC) else { return nil }
        defer { FileCalls.close(fd) }
        guard let size = try? FileCalls.fileSize(fd, path: path), size >= headerSize + 4,
              let region = try? FileCalls.mapReadOnly(fd, length: size, path: path) else { return nil }
        let keyCount = region.count >= headerSize ? Int(region.baseAddress!.u64(56)) : 0
        let mapped = keys == .mappedWhenMany && keyCount >= SealedKeys.closedRun
        guard var index = decode(region, copyingKeys: keys == .copied || (keys == .mappedWhenMany && !mapped)) else {
            FileCalls.unmap(region)
            return nil
        }
        if mapped {
            // The CRC brought every page in; the keys are searched a page at a time later.
            FileCalls.dropResidentPages(region)
            index.mappedKeys = SidecarKeys(region: region, offset: headerSize + index.blocks.count * 40, count: keyCount)
        } else {
            FileCalls.unmap(region)
        }
        return index
    }
}
