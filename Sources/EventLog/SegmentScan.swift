/// One entry of a segment's sparse index: where a block of consecutive records starts, and
/// the range of their times, so a seek by seq, by record time or by event time skips whole
/// blocks without reading them.
struct IndexBlock: Equatable {
    static let recordsPerBlock = 64

    var firstSeq: UInt64
    var offset: Int
    var firstRecordedAt: Int64
    var minTime: Int64
    var maxTime: Int64
}

/// A walk over the records of one segment, checking each frame, the sequence numbers and,
/// when asked, the hash chain, and classifying how the segment ends.
struct SegmentScan {
    /// How the records of a segment end.
    enum Ending: Equatable {
        /// After the last record there are only zeros.
        case clean
        /// After the last record there are bytes of a record that was never completed
        /// (so never acknowledged); `bytes` counts them up to the last non-zero byte.
        case torn(offset: Int, bytes: Int, reason: String)
        /// A bad record with intact records after it, a sequence gap, or a broken chain.
        case damaged(offset: Int, reason: String)
    }

    var endOffset: Int
    var count = 0
    var lastSeq: UInt64
    var lastChain: ChainHash
    var lastRecordedAt: Int64 = 0
    var ending: Ending = .clean
    var blocks: [IndexBlock] = []
    var keys: [(key: RecordKey, seq: UInt64)] = []

    /// Scans `region` (a whole mapped segment) from its first record.
    ///
    /// - Parameters:
    ///   - verifyChain: recompute every record's SHA-256 chain hash (what `verify` does).
    ///   - collectKeys: gather the records' keys for the idempotency index.
    ///   - visit: called with each intact record, in order.
    init(
        region: UnsafeRawBufferPointer, header: SegmentHeader, maxPayload: Int,
        verifyChain: Bool, collectKeys: Bool,
        visit: ((RecordHeader, Int) -> Void)? = nil
    ) {
        let base = region.baseAddress!
        var offset = SegmentHeader.size
        lastSeq = header.baseSeq &- 1
        lastChain = header.previousChain
        var block: IndexBlock?
        var inBlock = 0
        while true {
            let available = region.count - offset
            if available <= 0 { break }
            switch RecordFrame.check(base + offset, available: available, maxPayload: maxPayload) {
            case .empty:
                // Zeros here; anything non-zero further on is a torn or damaged remainder.
                ending = Self.classifyRemainder(region: region, from: offset, maxPayload: maxPayload,
                                                reason: "stray bytes after the last record")
            case .invalid(let reason):
                ending = Self.classifyRemainder(region: region, from: offset, maxPayload: maxPayload, reason: reason)
            case .record(let r):
                if r.seq != lastSeq &+ 1 {
                    ending = .damaged(offset: offset, reason: "sequence number \(r.seq) where \(lastSeq &+ 1) was expected")
                    break
                }
                if verifyChain {
                    let chain = RecordFrame.chainHash(previous: lastChain, frame: base + offset, payloadLength: r.payloadLength)
                    let stored = ChainHash(UnsafeRawBufferPointer(start: base + offset + 56, count: 32))
                    if chain != stored {
                        ending = .damaged(offset: offset, reason: "hash chain broken at seq \(r.seq): the record or one before it was altered after it was written")
                        break
                    }
                    lastChain = chain
                } else {
                    lastChain = ChainHash(UnsafeRawBufferPointer(start: base + offset + 56, count: 32))
                }
                visit?(r, offset)
                if collectKeys && !r.key.isNone { keys.append((r.key, r.seq)) }
                if inBlock == 0 {
                    if let b = block { blocks.append(b) }
                    block = IndexBlock(firstSeq: r.seq, offset: offset, firstRecordedAt: r.recordedAt, minTime: r.time, maxTime: r.time)
                } else {
                    block!.minTime = min(block!.minTime, r.time)
                    block!.maxTime = max(block!.maxTime, r.time)
                }
                inBlock = (inBlock + 1) % IndexBlock.recordsPerBlock
                lastSeq = r.seq
                lastRecordedAt = r.recordedAt
                count += 1
                offset += r.frameSize
                continue
            }
            break
        }
        if let b = block { blocks.append(b) }
        endOffset = offset
    }

    /// Decides whether the bytes from `offset` on are a torn tail or damage: damage when an
    /// intact record starts anywhere after it, a torn tail otherwise.
    static func classifyRemainder(region: UnsafeRawBufferPointer, from offset: Int, maxPayload: Int, reason: String) -> Ending {
        let base = region.baseAddress!
        guard let lastNonZero = RecordFrame.lastNonZero(region, from: offset) else { return .clean }
        var candidate = offset + RecordFrame.alignment
        while candidate + RecordFrame.headerSize <= lastNonZero + 1 {
            if base.u32(candidate) == RecordFrame.magic,
               case .record = RecordFrame.check(base + candidate, available: region.count - candidate, maxPayload: maxPayload) {
                return .damaged(offset: offset, reason: reason)
            }
            candidate += RecordFrame.alignment
        }
        return .torn(offset: offset, bytes: lastNonZero + 1 - offset, reason: reason)
    }
}
