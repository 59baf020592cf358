import Glibc

/// The open files of the writer: the active segment, where its records end, the chain head,
/// and the sparse index and keys that its sidecar will get when it is sealed.
struct SegmentWriter {
    let configuration: EventLog.Configuration
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
    var dirty = false
    /// Set when a write or sync failed after bytes may have reached the segment: what is on
    /// disk is no longer known, so the writer must be reopened (which recovers).
    var broken = false
    var lastSyncNanos = Syscalls.monotonicNanos()

    init(configuration: EventLog.Configuration, fd: Int32, path: String, header: SegmentHeader, scan: SegmentScan) {
        self.configuration = configuration
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

    mutating func closeFiles() {
        if fd >= 0 { Syscalls.close(fd) }
        fd = -1
    }

    /// A segment planned by `write`: its header and the frames that go into it.
    private struct Planned {
        var header: SegmentHeader
        var path: String
        var start: Int
        var bytes: [UInt8] = []
        var end: Int
        var chain: ChainHash
        var lastSeq: UInt64
        var lastRecordedAt: Int64
        var count: Int
        var blocks: [IndexBlock]
        var keys: [(key: RecordKey, seq: UInt64)]
        var fd: Int32 = -1
    }

    /// Frames, writes and (per the durability) syncs `records`, rotating to new segments as
    /// they fill. Returns the sidecar indexes of the segments it sealed.
    ///
    /// All or nothing for the common failure: new segments are created (and their space
    /// reserved) before a byte is written, so a full disk fails the append with nothing
    /// stored and this writer unchanged. A failure after that (a write or sync error) leaves
    /// the log to be recovered on reopen, and the caller stops using this writer.
    mutating func write(_ records: [PendingRecord], directory: String) throws(EventLogError) -> [SegmentIndex] {
        guard !records.isEmpty else { return [] }
        let now = Syscalls.nowMicros()
        let recordedAt = max(now, lastRecordedAt)
        var plans = [Planned(header: header, path: path, start: end, end: end, chain: chain, lastSeq: lastSeq,
                             lastRecordedAt: lastRecordedAt, count: count, blocks: blocks, keys: keys, fd: fd)]
        for r in records {
            let size = RecordFrame.size(payloadLength: r.entry.payload.count)
            if plans[plans.count - 1].end + size > plans[plans.count - 1].header.segmentSize {
                let last = plans[plans.count - 1]
                let h = SegmentHeader(baseSeq: r.seq, segmentSize: configuration.segmentSize, createdAt: now, previousChain: last.chain)
                plans.append(Planned(header: h, path: directory + "/" + SegmentHeader.fileName(baseSeq: r.seq),
                                     start: SegmentHeader.size, end: SegmentHeader.size, chain: last.chain,
                                     lastSeq: last.lastSeq, lastRecordedAt: last.lastRecordedAt, count: 0, blocks: [], keys: []))
            }
            let i = plans.count - 1
            let offset = plans[i].end
            let newChain = r.entry.payload.withUnsafeBytes { payload in
                RecordFrame.encode(into: &plans[i].bytes, seq: r.seq, recordedAt: recordedAt, time: r.entry.time,
                                   key: r.entry.key, payload: payload, previous: plans[i].chain)
            }
            plans[i].chain = newChain
            if plans[i].count % IndexBlock.recordsPerBlock == 0 {
                plans[i].blocks.append(IndexBlock(firstSeq: r.seq, offset: offset, firstRecordedAt: recordedAt,
                                                  minTime: r.entry.time, maxTime: r.entry.time))
            } else {
                let b = plans[i].blocks.count - 1
                plans[i].blocks[b].minTime = min(plans[i].blocks[b].minTime, r.entry.time)
                plans[i].blocks[b].maxTime = max(plans[i].blocks[b].maxTime, r.entry.time)
            }
            if !r.entry.key.isNone { plans[i].keys.append((r.entry.key, r.seq)) }
            plans[i].end = offset + size
            plans[i].lastSeq = r.seq
            plans[i].lastRecordedAt = recordedAt
            plans[i].count += 1
        }

        // Reserve the space of every new segment first: ENOSPC here leaves nothing changed.
        var created: [Int] = []
        for i in plans.indices.dropFirst() {
            do throws(EventLogError) {
                plans[i].fd = try Self.createSegment(path: plans[i].path, header: plans[i].header)
                created.append(i)
            } catch {
                for j in created {
                    Syscalls.close(plans[j].fd)
                    try? Syscalls.unlink(plans[j].path)
                }
                throw error
            }
        }
        if !created.isEmpty { try Syscalls.fsyncDirectory(directory) }

        // From here on a failure leaves the files in an unknown state.
        broken = true
        var sealed: [SegmentIndex] = []
        for i in plans.indices {
            try Syscalls.pwriteAll(plans[i].fd, plans[i].bytes, at: plans[i].start, path: plans[i].path)
            if i < plans.count - 1 {
                // Sealing: the whole segment is durable before its successor holds anything.
                try Syscalls.fdatasync(plans[i].fd, path: plans[i].path)
                let index = SegmentIndex(baseSeq: plans[i].header.baseSeq, count: plans[i].count, endOffset: plans[i].end,
                                         lastRecordedAt: plans[i].lastRecordedAt, lastChain: plans[i].chain,
                                         blocks: plans[i].blocks, keys: plans[i].keys.sorted { $0.key < $1.key })
                // Best effort: the sidecar is derived data, rebuilt on open when it is missing.
                try? index.write(to: Self.indexPath(plans[i].path), directory: directory)
                sealed.append(index)
                Syscalls.close(plans[i].fd)
            }
        }

        let last = plans[plans.count - 1]
        broken = false
        fd = last.fd
        path = last.path
        header = last.header
        end = last.end
        chain = last.chain
        lastSeq = last.lastSeq
        lastRecordedAt = last.lastRecordedAt
        count = last.count
        blocks = last.blocks
        keys = last.keys
        dirty = true
        broken = true
        switch configuration.durability {
        case .always:
            try syncIfDirty()
        case .interval(let ms):
            if Syscalls.monotonicNanos() - lastSyncNanos >= UInt64(ms) * 1_000_000 { try syncIfDirty() }
        case .none:
            break
        }
        broken = false
        return sealed
    }

    /// `fdatasync` of the active segment when something was written since the last one.
    mutating func syncIfDirty() throws(EventLogError) {
        guard dirty, fd >= 0 else { return }
        try Syscalls.fdatasync(fd, path: path)
        dirty = false
        lastSyncNanos = Syscalls.monotonicNanos()
    }

    /// Creates a segment file: reserves its space, writes and syncs its header.
    static func createSegment(path: String, header: SegmentHeader) throws(EventLogError) -> Int32 {
        let fd = try Syscalls.open(path, O_RDWR | O_CREAT | O_EXCL, 0o640)
        do throws(EventLogError) {
            try Syscalls.fallocate(fd, length: header.segmentSize, path: path)
            try Syscalls.pwriteAll(fd, header.encoded(), at: 0, path: path)
            try Syscalls.fdatasync(fd, path: path)
        } catch {
            Syscalls.close(fd)
            try? Syscalls.unlink(path)
            throw error
        }
        return fd
    }

    static func indexPath(_ segmentPath: String) -> String {
        String(segmentPath.dropLast(4)) + ".idx"
    }
}
