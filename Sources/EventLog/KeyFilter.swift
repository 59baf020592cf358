/// A Bloom filter of record keys, blocked: all of a key's bits lie in one 64-byte block, one
/// bit in each of its eight words, so a look-up costs one cache miss. Sized at 16 bits a key
/// for `capacity` keys; filled to capacity about one look-up in a thousand of an absent key
/// says "maybe" (fewer before: it is rebuilt at 1.5 × its keys, see `SealedKeys`).
///
/// No false negatives: a key inserted is always reported as maybe present.
struct KeyFilter: Sendable {
    private var words: [UInt64]
    private let blockCount: UInt64
    /// How many keys it was sized for.
    let capacity: Int

    static let bitsPerKey = 16

    init(capacity: Int) {
        self.capacity = capacity
        let blocks = max(1, (capacity * Self.bitsPerKey + 511) / 512)
        blockCount = UInt64(blocks)
        words = [UInt64](repeating: 0, count: blocks * 8)
    }

    /// Bytes of memory the filter holds.
    var bytes: Int { words.count * 8 }

    mutating func insert(_ key: RecordKey) {
        let h = Self.hash(key)
        let first = Self.block(h, blockCount) * 8
        let x = UInt32(truncatingIfNeeded: h)
        words.withUnsafeMutableBufferPointer { w in
            for i in 0..<8 { w[first + i] |= Self.bit(x, i) }
        }
    }

    /// Inserts every key of a mapped sidecar: one loop over the filter's memory, no call per
    /// key (a log's open inserts millions; each is a cache miss, and they overlap).
    mutating func insert(allOf keys: SidecarKeys) {
        let count = blockCount
        words.withUnsafeMutableBufferPointer { w in
            for i in 0..<keys.count {
                let h = Self.hash(keys.key(i))
                let first = Self.block(h, count) * 8
                let x = UInt32(truncatingIfNeeded: h)
                for j in 0..<8 { w[first + j] |= Self.bit(x, j) }
            }
        }
        keys.dropResidentPages()
    }

    func mayContain(_ key: RecordKey) -> Bool {
        let h = Self.hash(key)
        let first = Self.block(h, blockCount) * 8
        let x = UInt32(truncatingIfNeeded: h)
        return words.withUnsafeBufferPointer { w in
            var all = true
            for i in 0..<8 { all = all && w[first + i] & Self.bit(x, i) != 0 }
            return all
        }
    }

    /// Keys are mostly random UUIDs, but version and variant bits are fixed and some ids are
    /// time-ordered: both halves are mixed (splitmix64's finaliser).
    @inline(__always) static func hash(_ key: RecordKey) -> UInt64 {
        var z = key.high &+ key.low &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The block of a hash: its high 32 bits scaled to the block count (no division).
    @inline(__always) static func block(_ h: UInt64, _ count: UInt64) -> Int {
        Int(truncatingIfNeeded: ((h >> 32) &* count) >> 32)
    }

    /// The bit of word `i`: the low 32 bits of the hash times an odd constant of that word,
    /// its top six bits (the salts of Parquet's split-block Bloom filter).
    @inline(__always) static func bit(_ x: UInt32, _ i: Int) -> UInt64 {
        1 << UInt64((x &* salt(i)) >> 26)
    }

    /// A switch, not a static array: no lazy-initialisation check in the loop.
    @inline(__always) static func salt(_ i: Int) -> UInt32 {
        switch i {
        case 0: 0x47B6_137B
        case 1: 0x4497_4D91
        case 2: 0x8824_AD5B
        case 3: 0xA2B7_289D
        case 4: 0x7054_95C7
        case 5: 0x2DF1_424B
        case 6: 0x9EFC_4947
        default: 0x5C6B_FB31
        }
    }
}
