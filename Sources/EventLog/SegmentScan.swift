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

    /// Decides whether the bytes from `offset` on are a torn tail or damage.
    ///
    /// Damage when an intact record starts anywhere after them. Otherwise they are the last
    /// frame, and the question is whether a crash during its append could have left them:
    /// the segment is preallocated with zeros and only ever appended to, so a torn write
    /// leaves a frame whose bytes stop early (zeros from some point to its declared end) or
    /// one with a 512-byte sector that was never written (all zeros). A frame that is whole
    /// (every sector written, bytes up to its declared end) but fails its checksum, one a
    /// single flipped bit away from intact, or one whose header is impossible in a written
    /// sector cannot be a torn write: it was written whole, so it may have been acknowledged,
    /// and it is damage (docs/event-log.md, "What recovery can tell apart").
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
        let bytes = lastNonZero + 1 - offset
        if let whole = wholeFrameDamage(region: region, at: offset, lastNonZero: lastNonZero, maxPayload: maxPayload) {
            return .damaged(offset: offset, reason: "the last record is damaged, not torn: \(whole) (\(reason)); it was written whole and may have been acknowledged")
        }
        return .torn(offset: offset, bytes: bytes, reason: reason)
    }

    /// Why the frame at `offset` was written whole although it is not intact, or nil when
    /// it may be a torn write. See `classifyRemainder`.
    static func wholeFrameDamage(region: UnsafeRawBufferPointer, at offset: Int, lastNonZero: Int, maxPayload: Int) -> String? {
        let base = region.baseAddress!
        let available = region.count - offset
        // The header up to the length field must have reached the disk to say anything.
        guard available >= 12, lastNonZero >= offset + 11 else { return nil }
        if let flip = RecordFrame.singleBitFlip(base + offset, available: available, maxPayload: maxPayload) {
            return "bit \(flip.bit) of byte \(flip.byte) of the frame is flipped (offset \(offset + flip.byte))"
        }
        let length = Int(base.u32(offset + 8))
        let sector = 512
        // Sectors of [from, to) that hold only zeros: never written.
        func hasUnwrittenSector(_ from: Int, _ to: Int) -> Bool {
            var s = from
            while s < to {
                let end = min(to, (s / sector + 1) * sector)
                if RecordFrame.allZero(base + s, count: end - s) { return true }
                s = end
            }
            return false
        }
        if length > maxPayload || RecordFrame.headerSize + length > available {
            // A prefix of the true length field is never larger than it: an impossible length
            // in a written header is a changed one.
            if hasUnwrittenSector(offset, min(region.count, lastNonZero + 1)) { return nil }
            return "its length field says \(length) bytes, more than the segment or the limit allows"
        }
        let payloadEnd = offset + RecordFrame.headerSize + length
        // Zeros from some byte to the declared end, or a sector of zeros: a torn write can
        // leave that (so can a payload that ends in zeros: the format cannot tell those apart).
        // Bytes past the declared end do not make the frame torn: they were written after it.
        let stopsEarly = lastNonZero + 1 < payloadEnd
        if stopsEarly || hasUnwrittenSector(offset, payloadEnd) { return nil }
        if base.u32(offset) != RecordFrame.magic { return "its magic number is wrong (0x\(String(base.u32(offset), radix: 16)))" }
        return "its bytes are all there but its CRC-32C does not match"
    }
}
