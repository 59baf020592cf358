import Glibc
import RaqamSystem

extension EventLog {
    /// One stored record read back by the writer.
    public struct StoredRecord: Sendable {
        public var seq: UInt64
        public var recordedAt: Int64
        public var key: RecordKey
        public var payload: [UInt8]
    }

    /// The seq of the acknowledged record stored with `key`, or nil when there is none.
    public func seq(forKey key: RecordKey) -> UInt64? {
        state.withLock { s in s.seq(for: key).flatMap { $0 <= s.durableSeq ? $0 : nil } }
    }

    /// The record at `seq`, read from its segment through the block index (at most one
    /// block of 64 records is walked), or nil when the log holds no such record.
    ///
    /// For the writer's own checks (a duplicate id's content): readers use `EventLogReader`.
    /// - Throws: `.io` when the segment cannot be read, `.corrupt` when the record fails its CRC.
    public func record(at seq: UInt64) throws(EventLogError) -> StoredRecord? {
        guard seq >= 1, seq <= lastSeq else { return nil }
        let limit = configuration.effectiveMaxPayload
        if let found = try io.withLock({ (w) throws(EventLogError) -> StoredRecord?? in
            guard seq >= w.active.header.baseSeq, w.active.fd >= 0 else { return .some(nil) }
            return try Self.read(seq, fd: w.active.fd, path: w.active.path, blocks: w.active.blocks, end: w.active.end, maxPayload: limit)
        }) ?? nil {
            return found
        }
        guard let index = state.withLock({ s in s.sealed.last { $0.baseSeq <= seq } }) else { return nil }
        let path = directory + "/" + SegmentHeader.fileName(baseSeq: index.baseSeq)
        let fd = try sys(FileCalls.open(path, O_RDONLY | O_CLOEXEC))
        defer { FileCalls.close(fd) }
        return try Self.read(seq, fd: fd, path: path, blocks: index.blocks, end: index.endOffset, maxPayload: limit)
    }

    private static func pread(_ fd: Int32, into buffer: inout [UInt8], at offset: Int, path: String) throws(EventLogError) -> Int {
        let result: Result<Int, EventLogError> = buffer.withUnsafeMutableBytes { raw in
            Result { () throws(EventLogError) in try sys(FileCalls.preadFull(fd, raw, at: offset, path: path)) }
        }
        return try result.get()
    }

    /// The largest block `read` takes in one `pread`.
    static let blockReadLimit = 1 << 20

    /// Walks the frames of the block that holds `seq`.
    private static func read(_ seq: UInt64, fd: Int32, path: String, blocks: [IndexBlock], end: Int, maxPayload: Int) throws(EventLogError) -> StoredRecord? {
        var lo = 0, hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if blocks[mid].firstSeq <= seq { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var offset = blocks[lo - 1].offset
        // The whole block in one read (a few KiB: 64 records), walked in memory; a block of
        // very large records is walked a frame at a time below.
        let stop = lo < blocks.count ? blocks[lo].offset : end
        if stop > offset, stop - offset <= Self.blockReadLimit {
            var block = [UInt8](repeating: 0, count: stop - offset)
            let got = try Self.pread(fd, into: &block, at: offset, path: path)
            let found: Result<StoredRecord?, EventLogError> = block.withUnsafeBytes { raw in
                var at = 0
                while at + RecordFrame.headerSize <= got {
                    let h = RecordHeader(frame: raw.baseAddress! + at)
                    if h.seq > seq || h.payloadLength > maxPayload || at + h.frameSize > got { return .success(nil) }
                    if h.seq == seq {
                        guard case .record = RecordFrame.check(raw.baseAddress! + at, available: h.frameSize, maxPayload: maxPayload) else {
                            return .failure(EventLogError(code: .corrupt, message: "the record at seq \(seq) fails its check", path: path, offset: offset + at))
                        }
                        let payload = UnsafeRawBufferPointer(rebasing: raw[(at + RecordFrame.headerSize)..<(at + RecordFrame.headerSize + h.payloadLength)])
                        return .success(StoredRecord(seq: seq, recordedAt: h.recordedAt, key: h.key, payload: Array(payload)))
                    }
                    at += h.frameSize
                }
                return .success(nil)
            }
            return try found.get()
        }
        var header = [UInt8](repeating: 0, count: RecordFrame.headerSize)
        while offset + RecordFrame.headerSize <= end {
            let n = try Self.pread(fd, into: &header, at: offset, path: path)
            guard n == RecordFrame.headerSize else { return nil }
            let h = header.withUnsafeBytes { RecordHeader(frame: $0.baseAddress!) }
            if h.seq > seq || h.payloadLength > maxPayload { return nil }
            if h.seq == seq {
                var frame = [UInt8](repeating: 0, count: RecordFrame.headerSize + h.payloadLength)
                let got = try Self.pread(fd, into: &frame, at: offset, path: path)
                let check = frame.withUnsafeBytes { RecordFrame.check($0.baseAddress!, available: got, maxPayload: maxPayload) }
                guard case .record = check else {
                    throw EventLogError(code: .corrupt, message: "the record at seq \(seq) fails its check", path: path, offset: offset)
                }
                return StoredRecord(seq: seq, recordedAt: h.recordedAt, key: h.key, payload: Array(frame[RecordFrame.headerSize...]))
            }
            offset += h.frameSize
        }
        return nil
    }
}
