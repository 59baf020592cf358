import Glibc
import RaqamSystem

/// What the writer knows of a segment it writes to: its file, where its records end, the
/// chain head, and the sparse index and keys that its sidecar gets when it is sealed.
struct OpenSegment {
    var fd: Int32
    var path: String
    var header: SegmentHeader
    var end: Int
    var chain: ChainHash
    var lastSeq: UInt64
    var lastRecordedAt: Int64
    var count: Int
    var blocks: [IndexBlock]
    var keys: [(key: RecordKey, seq: UInt64)]

    init(fd: Int32, path: String, header: SegmentHeader, scan: SegmentScan) {
        self.fd = fd
        self.path = path
        self.header = header
        end = scan.endOffset
        chain = scan.lastChain
        lastSeq = scan.lastSeq
        lastRecordedAt = scan.lastRecordedAt
        count = scan.count
        blocks = scan.blocks
        keys = scan.keys
    }

    /// A new, empty segment that follows `previous` (its file is created later).
    init(following previous: OpenSegment, header: SegmentHeader, path: String) {
        self.init(fd: -1, path: path, header: header, scan: SegmentScan(empty: header))
        lastRecordedAt = previous.lastRecordedAt
    }

    /// Frames one record at the end of `buffer` (which will be written at this segment's
    /// end as it was before the batch) and advances the segment's bookkeeping.
    mutating func frame(_ r: PendingRecord, recordedAt: Int64, into buffer: inout [UInt8]) {
        let offset = end
        chain = r.entry.payload.withUnsafeBytes { payload in
            RecordFrame.encode(into: &buffer, seq: r.seq, recordedAt: recordedAt, time: r.entry.time,
                               key: r.entry.key, payload: payload, previous: chain)
        }
        if count % IndexBlock.recordsPerBlock == 0 {
            blocks.append(IndexBlock(firstSeq: r.seq, offset: offset, firstRecordedAt: recordedAt,
                                     minTime: r.entry.time, maxTime: r.entry.time))
        } else {
            blocks[blocks.count - 1].minTime = min(blocks[blocks.count - 1].minTime, r.entry.time)
            blocks[blocks.count - 1].maxTime = max(blocks[blocks.count - 1].maxTime, r.entry.time)
        }
        if !r.entry.key.isNone { keys.append((r.entry.key, r.seq)) }
        end = offset + RecordFrame.size(payloadLength: r.entry.payload.count)
        lastSeq = r.seq
        lastRecordedAt = recordedAt
        count += 1
    }

    /// The sidecar index of this segment as it stands.
    var index: SegmentIndex {
        SegmentIndex(baseSeq: header.baseSeq, count: count, endOffset: end, lastRecordedAt: lastRecordedAt,
                     lastChain: chain, blocks: blocks, keys: keys.sorted { $0.key < $1.key })
    }
}

/// The writer's files: the active segment, and how (and whether) to sync it.
struct SegmentWriter {
    let configuration: EventLog.Configuration
    var active: OpenSegment
    var dirty = false
    /// Set when a write or sync failed after bytes may have reached the segment: what is on
    /// disk is no longer known, so the writer must be reopened (which recovers).
    var broken = false
    var lastSyncNanos = FileCalls.monotonicNanos()

    init(configuration: EventLog.Configuration, active: OpenSegment) {
        self.configuration = configuration
        self.active = active
    }

    mutating func closeFiles() {
        if active.fd >= 0 { FileCalls.close(active.fd) }
        active.fd = -1
    }

    /// Frames, writes and (per the durability) syncs `records`, rotating to new segments as
    /// they fill. Returns the sidecar indexes of the segments it sealed.
    ///
    /// All or nothing for the common failure: new segments are created (and their space
    /// reserved) before a byte is written, so a full disk fails the append with nothing
    /// stored and this writer unchanged. A failure after that (a write or sync error) leaves
    /// the log to be recovered on reopen, and the caller stops using this writer.
    /// With `deferSync`, under `.always` the final `fdatasync` is left to the caller (the
    /// log's syncer, `EventLog.syncLoop`): the records are written and `dirty` stays set.
    mutating func write(_ records: [PendingRecord], directory: String, deferSync: Bool = false) throws(EventLogError) -> [SegmentIndex] {
        guard !records.isEmpty else { return [] }
        let now = FileCalls.nowMicros()
        let recordedAt = max(now, active.lastRecordedAt)
        // Each segment the batch touches: its state after the batch, where its new bytes
        // start, and the bytes.
        var plans: [(segment: OpenSegment, start: Int, bytes: [UInt8])] = []
        var segment = active, start = active.end, bytes: [UInt8] = []
        for r in records {
            let size = RecordFrame.size(payloadLength: r.entry.payload.count)
            if segment.end + size > segment.header.segmentSize {
                plans.append((segment, start, bytes))
                let h = SegmentHeader(baseSeq: r.seq, segmentSize: configuration.segmentSize, createdAt: now, previousChain: segment.chain)
                segment = OpenSegment(following: segment, header: h, path: directory + "/" + SegmentHeader.fileName(baseSeq: r.seq))
                start = segment.end
                bytes = []
            }
            segment.frame(r, recordedAt: recordedAt, into: &bytes)
        }
        plans.append((segment, start, bytes))

        // Reserve the space of every new segment first: ENOSPC here leaves nothing changed.
        for i in plans.indices.dropFirst() {
            do throws(EventLogError) {
                plans[i].segment.fd = try Self.createSegment(path: plans[i].segment.path, header: plans[i].segment.header)
            } catch {
                for j in 1..<i {
                    FileCalls.close(plans[j].segment.fd)
                    try? FileCalls.unlink(plans[j].segment.path)
                }
                throw error
            }
        }
        if plans.count > 1 { try sys(FileCalls.fsyncDirectory(directory)) }

        // From here on a failure leaves the files in an unknown state.
        broken = true
        var sealed: [SegmentIndex] = []
        for (i, plan) in plans.enumerated() {
            try sys(FileCalls.pwriteAll(plan.segment.fd, plan.bytes, at: plan.start, path: plan.segment.path))
            if i < plans.count - 1 {
                // Sealing: the whole segment is durable before its successor holds anything.
                try sys(FileCalls.fdatasync(plan.segment.fd, path: plan.segment.path))
                var index = plan.segment.index
                // Best effort: the sidecar is derived data, rebuilt on open when it is missing
                // (until then the keys stay in memory).
                let indexPath = Self.indexPath(plan.segment.path)
                if (try? index.write(to: indexPath, directory: directory)) != nil, index.keys.count >= SealedKeys.closedRun {
                    // The writer's duplicate check reads many keys in place, from the file
                    // just written (`SealedKeys`); `keys` stays for the seal to clear them
                    // from the active segment's table.
                    index.mappedKeys = SegmentIndex.read(from: indexPath, keys: .mappedWhenMany)
                        .flatMap { $0.baseSeq == index.baseSeq && $0.mappedKeys?.count == index.keys.count ? $0.mappedKeys : nil }
                }
                sealed.append(index)
                FileCalls.close(plan.segment.fd)
            }
        }
        active = plans[plans.count - 1].segment
        dirty = true
        switch configuration.durability {
        case .always:
            if !deferSync { try syncIfDirty() }
        case .interval(let ms):
            if FileCalls.monotonicNanos() - lastSyncNanos >= UInt64(ms) * 1_000_000 { try syncIfDirty() }
        case .none:
            break
        }
        broken = false
        return sealed
    }

    /// `fdatasync` of the active segment when something was written since the last one.
    mutating func syncIfDirty() throws(EventLogError) {
        guard dirty, active.fd >= 0 else { return }
        try sys(FileCalls.fdatasync(active.fd, path: active.path))
        dirty = false
        lastSyncNanos = FileCalls.monotonicNanos()
    }

    /// Creates a segment file: reserves its space, writes and syncs its header.
    static func createSegment(path: String, header: SegmentHeader) throws(EventLogError) -> Int32 {
        let fd = try sys(FileCalls.open(path, O_RDWR | O_CREAT | O_EXCL, 0o640))
        do throws(EventLogError) {
            try sys(FileCalls.fallocate(fd, length: header.segmentSize, path: path))
            try sys(FileCalls.pwriteAll(fd, header.encoded(), at: 0, path: path))
            try sys(FileCalls.fdatasync(fd, path: path))
        } catch {
            FileCalls.close(fd)
            try? FileCalls.unlink(path)
            throw error
        }
        return fd
    }

    static func indexPath(_ segmentPath: String) -> String {
        String(segmentPath.dropLast(4)) + ".idx"
    }
}
