/// What `EventLogVerifier` found: the extent of the log, its head hash, and every problem.
public struct VerifyReport: Sendable {
    /// A place where the log is damaged.
    public struct Problem: Sendable, CustomStringConvertible {
        public var path: String
        public var offset: Int
        public var reason: String
        public var description: String { "\(path) at offset \(offset): \(reason)" }
    }

    public var segments = 0
    public var records = 0
    public var firstSeq: UInt64 = 0
    public var lastSeq: UInt64 = 0
    /// The chain hash of the last record: write it down elsewhere to detect a rewrite later.
    public var headChain = ChainHash.genesis
    public var problems: [Problem] = []
    /// Unfinished bytes after the last record (normal while a writer is appending; the next
    /// open of the writer discards them).
    public var unfinishedTail: Problem?

    public var isIntact: Bool { problems.isEmpty }
}

/// Checks a whole log: each segment header, each record's CRC-32C, gap-free sequence
/// numbers, the SHA-256 chain from the first record to the last, and the sidecar indexes.
/// Read-only; safe while a writer appends.
public enum EventLogVerifier {
    public static func verify(directory: String, maxPayloadSize: Int = 1 << 20) throws(EventLogError) -> VerifyReport {
        var report = VerifyReport()
        let segments = try SegmentDirectory.list(directory)
        report.segments = segments.count
        var expectedSeq: UInt64? = segments.first?.baseSeq
        var chain: ChainHash? = segments.first?.baseSeq == 1 ? .genesis : nil
        report.firstSeq = segments.first?.baseSeq ?? 0
        for (i, listed) in segments.enumerated() {
            let isLast = i == segments.count - 1
            let mapped: MappedSegment
            do throws(EventLogError) {
                mapped = try MappedSegment(path: listed.path)
            } catch {
                report.problems.append(.init(path: listed.path, offset: error.offset ?? 0, reason: error.message))
                expectedSeq = nil
                chain = nil
                continue
            }
            let h = mapped.header
            if h.baseSeq != listed.baseSeq {
                report.problems.append(.init(path: listed.path, offset: 0, reason: "the header says seq \(h.baseSeq), the name \(listed.baseSeq)"))
            }
            if let e = expectedSeq, h.baseSeq != e {
                report.problems.append(.init(path: listed.path, offset: 0, reason: "starts at seq \(h.baseSeq) where \(e) was expected"))
            }
            if let c = chain, h.previousChain != c {
                report.problems.append(.init(path: listed.path, offset: 0, reason: "the header does not chain to the previous segment's last record"))
            }
            let scan = SegmentScan(region: mapped.region, header: h, maxPayload: maxPayloadSize, verifyChain: true, collectKeys: false)
            report.records += scan.count
            switch scan.ending {
            case .clean:
                break
            case .torn(let offset, let bytes, let reason) where isLast:
                report.unfinishedTail = .init(path: listed.path, offset: offset, reason: "\(bytes) unfinished bytes (\(reason))")
            case .torn(let offset, _, let reason), .damaged(let offset, let reason):
                report.problems.append(.init(path: listed.path, offset: offset, reason: reason))
            }
            if !isLast, case .clean = scan.ending, let index = SegmentIndex.read(from: SegmentWriter.indexPath(listed.path), keys: .skipped) {
                if index.count != scan.count || index.endOffset != scan.endOffset || index.lastChain != scan.lastChain {
                    report.problems.append(.init(path: SegmentWriter.indexPath(listed.path), offset: 0,
                                                 reason: "the index disagrees with its segment (delete it; the next open rebuilds it)"))
                }
            }
            if scan.count > 0 {
                report.lastSeq = scan.lastSeq
                report.headChain = scan.lastChain
            }
            if case .clean = scan.ending {
                expectedSeq = scan.lastSeq &+ 1
                chain = scan.lastChain
            } else {
                expectedSeq = nil
                chain = nil
            }
        }
        return report
    }
}
