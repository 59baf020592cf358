import Glibc
import RaqamSystem
import Synchronization

/// One record as a reader sees it. The payload points into the mapped segment and is valid
/// only during the call that receives it: copy what you keep.
public struct RecordView {
    public let seq: UInt64
    /// µs since the Unix epoch when the log stored the record.
    public let recordedAt: Int64
    /// The appender's event time, µs since the Unix epoch.
    public let time: Int64
    public let key: RecordKey
    public let payload: UnsafeRawBufferPointer
    /// The start of the record's frame in the mapped segment.
    let frame: UnsafeRawPointer

    /// The record's chain hash: SHA-256 over the previous record's and this record's bytes.
    /// What a receipt quotes: a log that still holds it at this seq holds every record up to it.
    public var chain: ChainHash { ChainHash(UnsafeRawBufferPointer(start: frame + 56, count: 32)) }
}

/// Reads a log, in this process or another, while a writer may be appending to it.
///
/// Every record passes its CRC-32C before a caller sees it, so a record being written is
/// never seen in part: the reader stops before it. Damage (a bad record with intact records
/// after it) throws `EventLogError` with code `.corrupt`, naming the segment and offset.
/// Not thread-safe: use one reader per thread (they are cheap).
public final class EventLogReader {
    public let directory: String
    private let maxPayload: Int
    private var indexes: [UInt64: SegmentIndex] = [:]
    /// Where the last scan of the active segment ended (its base seq, the offset, the seq
    /// expected there): a later scan from that seq on resumes there instead of walking the
    /// segment again, so following a growing log costs what is new.
    private var resume: (base: UInt64, offset: Int, seq: UInt64)?
    /// The newest segment's mapping, kept while it is the newest and its size is unchanged.
    private var lastMapped: MappedSegment?
    /// The last sealed segment mapped (kept until another is).
    private var sealedMapped: MappedSegment?

    /// The segments, sorted by base seq, listed afresh: a scan must see a segment the writer
    /// created since the last one (a listing cached by the folder's time was tried, and a
    /// reader under heavy appends then met a record out of sequence: docs/event-log.md).
    func segments() throws(EventLogError) -> [SegmentDirectory.Listed] {
        try SegmentDirectory.list(directory)
    }

    static func fileSize(_ path: String) -> Int { FileCalls.status(path)?.size ?? -1 }

    /// A reader of the log in `directory`. Records up to `maxPayloadSize` bytes are accepted.
    public init(directory: String, maxPayloadSize: Int = 1 << 20) {
        self.directory = directory
        self.maxPayload = maxPayloadSize
    }

    /// Calls `body` with each record whose seq is at least `seq`, in order, up to the end of
    /// what is written when the scan gets there. `body` returns false to stop early.
    ///
    /// - Parameter timeRange: when given, only records whose event time lies in it; blocks of
    ///   sealed segments whose times all lie outside are skipped without being read.
    /// - Returns: the seq of the last record passed to `body` (or `seq - 1` when none was).
    /// - Complexity: O(records read); the start is found through the sidecar indexes.
    /// - Parameter through: when given, the scan ends after this seq (also when skipping blocks).
    @discardableResult
    public func scan(from seq: UInt64 = 1, through last: UInt64? = nil, timeRange: ClosedRange<Int64>? = nil,
                     _ body: (RecordView) throws -> Bool) throws -> UInt64 {
        var next = max(seq, 1)
        var lastDelivered = next &- 1
        var segments = try self.segments()
        guard var i = segments.lastIndex(where: { $0.baseSeq <= next }) ?? (segments.isEmpty ? nil : 0) else { return lastDelivered }
        while i < segments.count {
            let listed = segments[i]
            if let last, listed.baseSeq > last { return lastDelivered }
            let isLast = i == segments.count - 1
            // The active segment's mapping is kept from scan to scan (a shared mapping shows
            // what the writer adds later): a reader that follows the log, or looks up a receipt
            // per request, maps it once instead of paying mmap and munmap (a TLB shootdown
            // across the process's threads) every time.
            let opened: Result<MappedSegment, EventLogError>
            if isLast, let kept = lastMapped, kept.path == listed.path, kept.region.count == Self.fileSize(listed.path) {
                opened = .success(kept)
            } else if !isLast, let kept = sealedMapped, kept.path == listed.path {
                // A sealed segment does not change: a reader stepping back a block at a time
                // maps it once.
                opened = .success(kept)
            } else {
                opened = Result { () throws(EventLogError) in try MappedSegment(path: listed.path) }
                if case .success(let m) = opened { if isLast { lastMapped = m } else { sealedMapped = m } }
            }
            guard case .success(let mapped) = opened else {
                // A segment the writer is creating this instant has no header yet.
                if isLast, case .failure(let error) = opened, error.code == .corrupt { return lastDelivered }
                _ = try opened.get()
                return lastDelivered
            }
            let index = isLast ? nil : sidecar(for: listed)
            var offset = index?.offset(forSeq: next) ?? SegmentHeader.size
            var expected = offset == SegmentHeader.size ? mapped.header.baseSeq : nil
            if isLast, let r = resume, r.base == mapped.header.baseSeq, r.seq <= next, r.offset > offset {
                offset = r.offset
                expected = r.seq
            }
            var blockCursor = index.map { idx in idx.blocks.firstIndex { $0.offset >= offset } ?? idx.blocks.count } ?? 0
            let base = mapped.region.baseAddress!
            var stopped = false
            walk: while true {
                if let last, next > last { return lastDelivered }
                // Skip whole blocks whose event times cannot match.
                if let index, let range = timeRange, blockCursor < index.blocks.count, index.blocks[blockCursor].offset == offset {
                    let b = index.blocks[blockCursor]
                    if b.maxTime < range.lowerBound || b.minTime > range.upperBound {
                        blockCursor += 1
                        let nextOffset = blockCursor < index.blocks.count ? index.blocks[blockCursor].offset : index.endOffset
                        expected = blockCursor < index.blocks.count ? index.blocks[blockCursor].firstSeq : nil
                        if let e = expected { next = max(next, e) }
                        offset = nextOffset
                        continue walk
                    }
                    blockCursor += 1
                }
                switch RecordFrame.check(base + offset, available: mapped.region.count - offset, maxPayload: maxPayload) {
                case .record(let r):
                    if let e = expected, r.seq != e {
                        throw EventLogError.corrupt("sequence number \(r.seq) where \(e) was expected", path: listed.path, offset: offset)
                    }
                    expected = r.seq &+ 1
                    if r.seq >= next {
                        if timeRange.map({ $0.contains(r.time) }) ?? true {
                            let view = RecordView(seq: r.seq, recordedAt: r.recordedAt, time: r.time, key: r.key,
                                                  payload: UnsafeRawBufferPointer(start: base + offset + RecordFrame.headerSize, count: r.payloadLength),
                                                  frame: UnsafeRawPointer(base + offset))
                            if try !body(view) {
                                if isLast { resume = (mapped.header.baseSeq, offset + r.frameSize, r.seq &+ 1) }
                                return r.seq
                            }
                            lastDelivered = r.seq
                        }
                        next = r.seq &+ 1
                    }
                    offset += r.frameSize
                case .empty where isLast:
                    // Zeros where the next frame would be: the writer has not written further.
                    // (Recovery and verify tell a zeroed record in the middle from the end.)
                    resume = (mapped.header.baseSeq, offset, expected ?? next)
                    stopped = true
                    break walk
                case .empty, .invalid:
                    let ending = SegmentScan.classifyRemainder(region: mapped.region, from: offset, maxPayload: maxPayload, reason: "")
                    if case .damaged = ending {
                        // The writer may have completed this record (and more) since we looked:
                        // intact records after it are then no sign of damage. Look again.
                        if recheck(base + offset, available: mapped.region.count - offset) { continue walk }
                        let reason: String
                        if case .invalid(let why) = RecordFrame.check(base + offset, available: mapped.region.count - offset, maxPayload: maxPayload) {
                            reason = why
                        } else {
                            reason = "stray bytes after the last record"
                        }
                        throw EventLogError.corrupt(reason, path: listed.path, offset: offset)
                    }
                    if let index, offset < index.endOffset {
                        throw EventLogError.corrupt("the records end before the end the index records (\(index.endOffset))", path: listed.path, offset: offset)
                    }
                    stopped = true
                    break walk
                }
            }
            precondition(stopped)
            if isLast {
                // The writer may have sealed this segment and started another while we read:
                // look again, and if so finish this one (now complete) before moving on.
                let again = try self.segments()
                if again.count > segments.count, again[i].baseSeq == listed.baseSeq {
                    segments = again
                    continue
                }
                return lastDelivered
            }
            i += 1
        }
        return lastDelivered
    }

    /// The seq of the first record stored at or after `recordedAt` (µs), or nil when none is.
    /// Uses the sealed segments' indexes to skip whole segments and blocks.
    public func firstSeq(recordedAtOrAfter recordedAt: Int64) throws -> UInt64? {
        let segments = try self.segments()
        var start: UInt64 = 1
        for (i, listed) in segments.enumerated() where i < segments.count - 1 {
            guard let index = sidecar(for: listed) else { break }
            if index.lastRecordedAt < recordedAt {
                start = index.lastSeq &+ 1
                continue
            }
            let block = index.blocks.last { $0.firstRecordedAt < recordedAt }
            start = block?.firstSeq ?? index.baseSeq
            break
        }
        var found: UInt64?
        try scan(from: start) { r in
            if r.recordedAt >= recordedAt { found = r.seq; return false }
            return true
        }
        return found
    }

    /// The first seq of each stretch of the log that a scan can start at without walking
    /// what comes before it, ascending: every block of each sealed segment (from its sidecar
    /// index), and the first seq of each segment without one (the active segment). What a
    /// reader going from the newest records back steps through.
    public func chunkStarts() throws -> [UInt64] { try chunks().map(\.firstSeq) }

    /// One stretch of the log (`chunks()`): its first seq and, for a sealed block, the least
    /// event time in it and the recorded_at of its first record (nil for the active segment).
    public struct Chunk: Sendable {
        public var firstSeq: UInt64
        public var minTime: Int64?
        public var firstRecordedAt: Int64?
    }

    /// The stretches `chunkStarts()` names, with what the index knows of each: a reader going
    /// back to a past day skips those that begin after it without reading them.
    public func chunks() throws -> [Chunk] {
        let segments = try self.segments()
        var out: [Chunk] = []
        for (i, listed) in segments.enumerated() {
            if i < segments.count - 1, let index = sidecar(for: listed), !index.blocks.isEmpty {
                out += index.blocks.map { Chunk(firstSeq: $0.firstSeq, minTime: $0.minTime, firstRecordedAt: $0.firstRecordedAt) }
            } else {
                out.append(Chunk(firstSeq: listed.baseSeq, minTime: nil, firstRecordedAt: nil))
            }
        }
        return out
    }

    /// The seq of the last record written so far (0 for an empty log).
    public func lastSeq() throws -> UInt64 {
        let segments = try self.segments()
        guard let last = segments.last else { return 0 }
        var seq = last.baseSeq &- 1
        try scan(from: last.baseSeq) { r in seq = r.seq; return true }
        return seq
    }

    /// True when an intact record now stands at `p` (written while the reader looked).
    private func recheck(_ p: UnsafeRawPointer, available: Int) -> Bool {
        for attempt in 0..<3 {
            if case .record = RecordFrame.check(p, available: available, maxPayload: maxPayload) { return true }
            if attempt < 2 { usleep(1000) }
        }
        return false
    }

    private func sidecar(for listed: SegmentDirectory.Listed) -> SegmentIndex? {
        if let cached = indexes[listed.baseSeq] { return cached }
        let path = SegmentWriter.indexPath(listed.path)
        guard let st = try? FileCalls.information(path) else { return nil }
        let identity = SidecarIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                                       modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
        if let shared = Self.sharedSidecars.withLock({ $0[path] }), shared.identity == identity, shared.index.baseSeq == listed.baseSeq {
            indexes[listed.baseSeq] = shared.index
            return shared.index
        }
        // A reader walks blocks; the keys (24 bytes a record) are the writer's.
        guard let index = SegmentIndex.read(from: path, keys: .skipped), index.baseSeq == listed.baseSeq else { return nil }
        Self.sharedSidecars.withLock { cache in
            if cache.count >= 4096 { cache.removeAll() }
            cache[path] = (identity, index)
        }
        indexes[listed.baseSeq] = index
        return index
    }

    /// Which file a sidecar was read from: another file at the same path (a log restored or
    /// rebuilt) is read anew.
    struct SidecarIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
    }

    /// The sealed segments' block indexes, read once for every reader of the process (a
    /// sealed segment does not change): a reader made per request does not read and check
    /// every sidecar of the log again.
    private static let sharedSidecars = Mutex<[String: (identity: SidecarIdentity, index: SegmentIndex)]>([:])
}
