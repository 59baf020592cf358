/// What opening the log found and mended. Torn tails are normal after a crash (the records
/// in them were never acknowledged); the caller should report them all the same.
public struct RecoveryReport: Sendable, Equatable {
    /// A partial record after the last intact one, copied to a quarantine file and zeroed on open.
    public struct TornTail: Sendable, Equatable {
        public var segment: String
        public var offset: Int
        public var bytes: Int
        public var reason: String
        /// Where the bytes cut off were kept (`SEGMENT.quarantine-OFFSET`).
        public var quarantine: String
    }

    public var tornTail: TornTail?
    /// Segment files removed because their header was never written (a crash while creating them).
    public var removedSegments: [String] = []
    /// Sidecar indexes that were missing or damaged and were rebuilt from their segment.
    public var rebuiltIndexes: [String] = []
    /// The seq of the last record in the log after recovery (0 when empty).
    public var lastSeq: UInt64 = 0

    /// True when nothing had to be mended.
    public var isClean: Bool { tornTail == nil && removedSegments.isEmpty && rebuiltIndexes.isEmpty }

    /// One line per finding, for a person.
    public var lines: [String] {
        var out: [String] = []
        if let t = tornTail {
            out.append("recovered a torn tail: \(t.bytes) bytes at \(t.segment) offset \(t.offset) (\(t.reason)); a write that never completed, so never acknowledged; the bytes were moved to \(t.quarantine)")
        }
        for s in removedSegments { out.append("removed \(s): its header was never written (crash while creating it)") }
        for s in rebuiltIndexes { out.append("rebuilt the index \(s) from its segment") }
        return out
    }
}
