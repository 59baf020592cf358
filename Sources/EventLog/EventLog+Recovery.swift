import Glibc
import RaqamSystem

/// Opening a log: every sealed segment's sidecar (rebuilt when missing or damaged), then a
/// full check of the active segment, hash chain included. A torn tail is moved to a quarantine
/// file, zeroed and reported;
/// damage anywhere else stops the open with the segment, the offset and the reason.
struct Recovered {
    var writer: SegmentWriter
    var activeKeys = KeyTable()
    var sealed: [SegmentIndex] = []
    var report = RecoveryReport()

    init(directory: String, configuration: EventLog.Configuration) throws(EventLogError) {
        for name in try sys(FileCalls.listDirectory(directory)) where name.hasSuffix(".idx.tmp") {
            try sys(FileCalls.unlink(directory + "/" + name))
        }
        var segments = try SegmentDirectory.list(directory)
        let maxPayload = configuration.effectiveMaxPayload

        // A last segment whose header never reached the disk held nothing: drop it.
        if let last = segments.last, try Self.isBlank(last.path) {
            try sys(FileCalls.unlink(last.path))
            try sys(FileCalls.unlink(SegmentWriter.indexPath(last.path)))
            try sys(FileCalls.fsyncDirectory(directory))
            report.removedSegments.append(last.path)
            segments.removeLast()
        }
        if segments.isEmpty {
            let path = directory + "/" + SegmentHeader.fileName(baseSeq: 1)
            let header = SegmentHeader(baseSeq: 1, segmentSize: configuration.segmentSize,
                                       createdAt: FileCalls.nowMicros(), previousChain: .genesis)
            let fd = try SegmentWriter.createSegment(path: path, header: header)
            try sys(FileCalls.fsyncDirectory(directory))
            let empty = SegmentScan(empty: header)
            writer = SegmentWriter(configuration: configuration, active: OpenSegment(fd: fd, path: path, header: header, scan: empty))
            return
        }

        var expectedSeq: UInt64 = segments[0].baseSeq
        var expectedChain: ChainHash? = segments[0].baseSeq == 1 ? .genesis : nil
        for listed in segments.dropLast() {
            let mapped = try MappedSegment(path: listed.path)
            try Self.checkContinuity(mapped, listed: listed, expectedSeq: expectedSeq, expectedChain: expectedChain)
            let indexPath = SegmentWriter.indexPath(listed.path)
            var index = SegmentIndex.read(from: indexPath, keys: .mappedWhenMany)
            if index?.baseSeq != listed.baseSeq { index = nil }
            if index == nil {
                let scan = SegmentScan(region: mapped.region, header: mapped.header, maxPayload: maxPayload,
                                       verifyChain: false, collectKeys: true)
                if let damage = Self.damage(in: scan, path: listed.path) { throw damage }
                let rebuilt = SegmentIndex(baseSeq: listed.baseSeq, scan: scan)
                // Best effort: without the file (a full disk) the index lives in memory only.
                if (try? rebuilt.write(to: indexPath, directory: directory)) != nil { report.rebuiltIndexes.append(indexPath) }
                index = rebuilt
            }
            sealed.append(index!)
            expectedSeq = index!.lastSeq &+ 1
            expectedChain = index!.lastChain
        }

        let active = segments[segments.count - 1]
        let mapped = try MappedSegment(path: active.path)
        try Self.checkContinuity(mapped, listed: active, expectedSeq: expectedSeq, expectedChain: expectedChain)
        let scan = SegmentScan(region: mapped.region, header: mapped.header, maxPayload: maxPayload,
                               verifyChain: true, collectKeys: true)
        let fd = try sys(FileCalls.open(active.path, O_RDWR))
        switch scan.ending {
        case .clean:
            break
        case .damaged(let offset, let reason):
            FileCalls.close(fd)
            throw EventLogError.corrupt(reason, path: active.path, offset: offset)
        case .torn(let offset, _, let reason) where scan.lastSeq &+ 1 <= configuration.acknowledgedThrough:
            // The format would take it for a torn write, but the caller knows better: a
            // snapshot folded this seq, so it was acknowledged.
            FileCalls.close(fd)
            throw EventLogError.corrupt("the last record (seq \(scan.lastSeq &+ 1)) is damaged (\(reason)), and it was acknowledged: a snapshot folds the log up to seq \(configuration.acknowledgedThrough)",
                                        path: active.path, offset: offset)
        case .torn(let offset, let bytes, let reason):
            // Never acknowledged as far as the format can tell (it was not written whole), but
            // nothing is destroyed: the bytes go to a quarantine file first, synced, and only
            // then are they zeroed in the segment.
            let quarantine: String
            do throws(EventLogError) {
                let cut = [UInt8](UnsafeRawBufferPointer(rebasing: mapped.region[offset ..< offset + bytes]))
                quarantine = try Self.quarantine(cut, segment: active.path, offset: offset, directory: directory)
                try sys(FileCalls.pwriteAll(fd, [UInt8](repeating: 0, count: bytes), at: offset, path: active.path))
                try sys(FileCalls.fdatasync(fd, path: active.path))
            } catch {
                FileCalls.close(fd)
                throw error
            }
            report.tornTail = .init(segment: active.path, offset: offset, bytes: bytes, reason: reason, quarantine: quarantine)
        }
        activeKeys = KeyTable(capacity: max(1024, scan.keys.count))
        for (key, seq) in scan.keys { activeKeys[key] = seq }
        writer = SegmentWriter(configuration: configuration, active: OpenSegment(fd: fd, path: active.path, header: mapped.header, scan: scan))
        report.lastSeq = scan.lastSeq
    }

    /// Writes bytes cut off a segment to `SEGMENT.quarantine-OFFSET` (a number added when that
    /// name is taken), synced with its directory, and returns the path.
    private static func quarantine(_ bytes: [UInt8], segment: String, offset: Int, directory: String) throws(EventLogError) -> String {
        var path = "\(segment).quarantine-\(offset)"
        var n = 1
        while FileCalls.exists(path) {
            n += 1
            path = "\(segment).quarantine-\(offset).\(n)"
        }
        try DurableFile.writeSynced(bytes, to: path, flags: O_EXCL)
        try sys(FileCalls.fsyncDirectory(directory))
        return path
    }

    private static func checkContinuity(_ mapped: MappedSegment, listed: SegmentDirectory.Listed,
                                        expectedSeq: UInt64, expectedChain: ChainHash?) throws(EventLogError) {
        if mapped.header.baseSeq != listed.baseSeq {
            throw EventLogError.corrupt("the header says the segment starts at seq \(mapped.header.baseSeq), its name says \(listed.baseSeq)",
                                        path: listed.path, offset: 0)
        }
        if listed.baseSeq != expectedSeq {
            throw EventLogError.corrupt("the segment starts at seq \(listed.baseSeq) where \(expectedSeq) was expected (a segment is missing)",
                                        path: listed.path, offset: 0)
        }
        if let expectedChain, mapped.header.previousChain != expectedChain {
            throw EventLogError.corrupt("the segment's header does not chain to the previous segment's last record",
                                        path: listed.path, offset: 0)
        }
    }

    private static func damage(in scan: SegmentScan, path: String) -> EventLogError? {
        switch scan.ending {
        case .clean: nil
        case .damaged(let offset, let reason), .torn(let offset, _, let reason):
            // A sealed segment was synced whole before its successor was created: nothing in
            // it can be a torn tail.
            EventLogError.corrupt(reason, path: path, offset: offset)
        }
    }

    /// True when the segment's header is not intact and nothing follows it: a crash while
    /// the file was being created, before any record could be acknowledged in it.
    private static func isBlank(_ path: String) throws(EventLogError) -> Bool {
        let fd = try sys(FileCalls.open(path, O_RDONLY))
        defer { FileCalls.close(fd) }
        let size = try sys(FileCalls.fileSize(fd, path: path))
        let region = try sys(FileCalls.mapReadOnly(fd, length: size, path: path))
        defer { FileCalls.unmap(region) }
        if case .success = SegmentHeader.decode(region) { return false }
        guard size > SegmentHeader.size else { return true }
        return RecordFrame.allZero(region.baseAddress! + SegmentHeader.size, count: size - SegmentHeader.size)
    }
}

extension SegmentScan {
    /// The scan of a segment with no records yet.
    init(empty header: SegmentHeader) {
        endOffset = SegmentHeader.size
        lastSeq = header.baseSeq &- 1
        lastChain = header.previousChain
    }
}
