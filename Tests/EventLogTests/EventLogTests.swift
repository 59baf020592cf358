import Foundation
import Testing
@testable import EventLog

@Suite struct EventLogTests {
    @Test func appendedRecordsReadBackInOrderAcrossSegments() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
        for start in stride(from: 0, to: 600, by: 50) {
            let results = try log.append(entries(start..<start + 50))
            #expect(results.map(\.seq) == (start + 1...start + 50).map(UInt64.init))
        }
        #expect(log.lastSeq == 600)
        #expect(segmentFiles(dir.path).count > 5)
        let records = try readAll(dir.path)
        #expect(records.map(\.seq) == (1...600).map(UInt64.init))
        #expect(records.map(\.payload) == (0..<600).map { payload($0) })
    }

    /// A reader that follows a growing log (raqamd folding what it appended) resumes where it
    /// stopped in the active segment, across rotations, and still reads from any earlier seq.
    @Test func aFollowingReaderSeesExactlyTheNewRecordsEachTime() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
        let reader = EventLogReader(directory: dir.path)
        var last: UInt64 = 0
        for start in stride(from: 0, to: 400, by: 20) {
            try log.append(entries(start..<start + 20))
            var seen: [UInt64] = []
            try reader.scan(from: last + 1) { r in
                #expect(Array(r.payload) == payload(Int(r.seq) - 1))
                seen.append(r.seq)
                return true
            }
            #expect(seen == (last + 1...last + 20).map { $0 })
            last += 20
            // Stopping early leaves the next scan at the right record.
            var one: [UInt64] = []
            try reader.scan(from: last - 4) { r in one.append(r.seq); return one.count < 2 }
            #expect(one == [last - 4, last - 3])
        }
        var everything: [UInt64] = []
        try reader.scan(from: 1) { r in everything.append(r.seq); return true }
        #expect(everything == (1...400).map { UInt64($0) })
        #expect(segmentFiles(dir.path).count > 3)
    }

    @Test func logReopensWhereItLeftOffAndKeepsChaining() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
            try log.append(entries(0..<100))
            try log.close()
        }
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
        #expect(log.recovery.isClean)
        #expect(log.lastSeq == 100)
        #expect(try log.append(entries(100..<110)).map(\.seq) == (101...110).map(UInt64.init))
        let report = try EventLogVerifier.verify(directory: dir.path)
        #expect(report.isIntact)
        #expect(report.records == 110)
        #expect(report.lastSeq == 110)
    }

    @Test func sameBatchAppendedTwiceIsStoredOnceWithTheSameSeqs() throws {
        let dir = TemporaryDirectory()
        let first: [EventLog.Appended]
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
            try log.append(entries(0..<150))
            first = try log.append(entries(150..<300))
            let again = try log.append(entries(150..<300))
            #expect(again.map(\.seq) == first.map(\.seq))
            #expect(again.allSatisfy { $0.isDuplicate })
            #expect(log.lastSeq == 300)
        }
        // After a restart the keys come back from the sidecar indexes and the active segment.
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
        let afterRestart = try log.append(entries(0..<300))
        #expect(afterRestart.map(\.seq) == (1...300).map(UInt64.init))
        #expect(afterRestart.allSatisfy { $0.isDuplicate })
        // A batch mixing old and new keys stores only the new ones.
        let mixed = try log.append(entries(295..<305))
        #expect(mixed.map(\.seq) == [296, 297, 298, 299, 300, 301, 302, 303, 304, 305])
        #expect(mixed.map(\.isDuplicate) == [true, true, true, true, true, false, false, false, false, false])
        #expect(try readAll(dir.path).count == 305)
    }

    /// Hundreds of small sealed segments (the alert log after a storm of transitions): every
    /// key is still found with its seq, while the writer runs and after a reopen, and a new
    /// key is stored.
    @Test func aKeyInAnyOfManySealedSegmentsIsADuplicateWithItsSeq() throws {
        let dir = TemporaryDirectory()
        var order = Array(0..<6_000)
        var random = SystemRandomNumberGenerator()
        order.shuffle(using: &random)
        let keyed = order.map { EventLog.Entry(key: key($0), time: Int64($0), payload: payload($0, size: 100)) }
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
            for start in stride(from: 0, to: keyed.count, by: 37) { try log.append(Array(keyed[start..<min(start + 37, keyed.count)])) }
            #expect(segmentFiles(dir.path).count > 50)
            let again = try log.append(keyed.reversed())
            #expect(again.allSatisfy(\.isDuplicate) && again.map(\.seq) == (1...6_000).reversed().map(UInt64.init))
            try log.close()
        }
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 16 << 10))
        let afterReopen = try log.append(keyed)
        #expect(afterReopen.allSatisfy(\.isDuplicate) && afterReopen.map(\.seq) == (1...6_000).map(UInt64.init))
        #expect(try log.append([EventLog.Entry(key: key(6_000), time: 0, payload: payload(6_000))]).map(\.seq) == [6_001])
    }

    /// The sealed segments' keys, held as merged runs, answer as a table of every key would,
    /// a run read back unsorted included.
    @Test func sealedKeysAnswerAsAPlainTableWould() {
        var random = SystemRandomNumberGenerator()
        var keys = SealedKeys()
        var table: [RecordKey: UInt64] = [:]
        var seq: UInt64 = 0
        for run in 0..<300 {
            var batch = (0..<Int.random(in: 1...40, using: &random)).map { _ in
                seq += 1
                return (key: RecordKey(high: UInt64.random(in: 1...UInt64.max, using: &random), low: seq), seq: seq)
            }
            for e in batch { table[e.key] = e.seq }
            if run % 50 != 7 { batch.sort { $0.key < $1.key } }
            keys.add(batch)
        }
        #expect(keys.count == table.count)
        for (key, seq) in table { #expect(keys.seq(for: key) == seq) }
        #expect(keys.seq(for: RecordKey(high: 0, low: 1)) == nil)
    }

    /// Segments of many keys keep them in their sidecars (mapped, behind a filter): every key
    /// is still a duplicate with its seq, while the writer runs and after a reopen, a new key
    /// is stored, and a sidecar whose keys were rewritten out of order (its CRC made to match)
    /// is not trusted for the search: the answers stay right.
    @Test func keysLeftInLargeSidecarsAreStillFoundWithTheirSeqs() throws {
        let dir = TemporaryDirectory()
        let count = 200_000
        var order = Array(0..<count)
        var random = SystemRandomNumberGenerator()
        order.shuffle(using: &random)
        let keyed = order.map { EventLog.Entry(key: key($0), time: Int64($0), payload: payload($0, size: 16)) }
        let seqOf = Dictionary(uniqueKeysWithValues: order.enumerated().map { (key($0.element), UInt64($0.offset + 1)) })
        let configuration = EventLog.Configuration(segmentSize: 8 << 20, durability: .none)
        do {
            let log = try EventLog(directory: dir.path, configuration: configuration)
            for start in stride(from: 0, to: count, by: 10_000) { try log.append(Array(keyed[start..<start + 10_000])) }
            #expect(segmentFiles(dir.path).count >= 3)
            let sample = (0..<2_000).map { _ in keyed[Int.random(in: 0..<count, using: &random)] }
            let again = try log.append(sample)
            #expect(again.allSatisfy(\.isDuplicate) && again.map(\.seq) == sample.map { seqOf[$0.key]! })
            try log.close()
        }
        // The first sidecar's first two keys swapped, its CRC recomputed.
        let sidecar = String(segmentFiles(dir.path)[0].dropLast(4)) + ".idx"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sidecar)))
        let blocks = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 48, as: UInt64.self) })
        let keysAt = SegmentIndex.headerSize + 40 * blocks
        let first = Array(bytes[keysAt..<keysAt + 24])
        bytes.replaceSubrange(keysAt..<keysAt + 24, with: bytes[keysAt + 24..<keysAt + 48])
        bytes.replaceSubrange(keysAt + 24..<keysAt + 48, with: first)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<(bytes.count - 4)])) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(bytes.count - 4..<bytes.count, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: sidecar))

        let log = try EventLog(directory: dir.path, configuration: configuration)
        let afterReopen = try log.append(keyed.reversed())
        #expect(afterReopen.allSatisfy(\.isDuplicate) && afterReopen.map(\.seq) == keyed.reversed().map { seqOf[$0.key]! })
        #expect(try log.append([EventLog.Entry(key: key(count), time: 0, payload: payload(count))]).map(\.seq) == [UInt64(count + 1)])
    }

    /// The filter in front of the mapped sidecars: every key it was given is "maybe", and
    /// filled to its capacity it lets through about one absent key in a thousand, for random
    /// UUIDs and for keys that differ only in their low bits (time-ordered ids).
    @Test func keyFilterHasNoFalseNegativesAndFewFalsePositives() {
        var random = SystemRandomNumberGenerator()
        for sequential in [false, true] {
            var filter = KeyFilter(capacity: 100_000)
            let base = UInt64.random(in: 1...UInt64.max, using: &random)
            let keys = (0..<100_000).map { i in
                sequential ? RecordKey(high: base, low: UInt64(i)) : RecordKey(high: .random(in: 1...UInt64.max, using: &random), low: .random(in: 1...UInt64.max, using: &random))
            }
            for k in keys { filter.insert(k) }
            #expect(keys.allSatisfy { filter.mayContain($0) })
            let absent = (0..<1_000_000).filter { i in
                filter.mayContain(sequential ? RecordKey(high: base, low: UInt64(1_000_000 + i)) : RecordKey(high: .random(in: 1...UInt64.max, using: &random), low: UInt64(i)))
            }.count
            #expect(absent < 3_000, "\(absent) false positives in 1,000,000 (sequential: \(sequential))")
        }
    }

    @Test func recordsWithoutKeysAreNeverDeduplicated() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path)
        try log.append(entries(0..<3, keyed: false))
        try log.append(entries(0..<3, keyed: false))
        #expect(log.lastSeq == 6)
    }

    @Test func secondWriterIsRefusedWhileTheFirstHoldsTheLock() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path)
        #expect(log.lastSeq == 0)
        let error = #expect(throws: EventLogError.self) { try EventLog(directory: dir.path) }
        #expect(error?.code == .locked)
        #expect(error?.description.contains("pid \(getpid())") == true)
    }

    @Test func oversizedPayloadIsRefusedAndNothingIsStored() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, configuration: .init(maxPayloadSize: 1000))
        let batch = entries(0..<2) + [EventLog.Entry(time: 0, payload: [UInt8](repeating: 1, count: 1001))]
        let error = #expect(throws: EventLogError.self) { try log.append(batch) }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("record 3 of the batch has 1001 bytes") == true)
        #expect(log.lastSeq == 0)
        #expect(try readAll(dir.path).isEmpty)
    }

    @Test(arguments: [EventLog.Durability.always, .interval(milliseconds: 5), .none])
    func everyDurabilityPolicyStoresTheSameRecords(_ durability: EventLog.Durability) throws {
        let dir = TemporaryDirectory()
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 32 << 10, durability: durability))
            for i in 0..<20 { try log.append(entries(i * 10..<i * 10 + 10)) }
            try log.close()
        }
        #expect(try readAll(dir.path).map(\.payload) == (0..<200).map { payload($0) })
        #expect(try EventLogVerifier.verify(directory: dir.path).isIntact)
    }

    @Test func asyncAndBlockingAppendersShareGroupCommits() async throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
        let tasks = 48, perTask = 20
        let blocking = Thread {
            for n in 10_000..<10_100 { try! log.append([EventLog.Entry(key: key(n), time: 0, payload: payload(n))]) }
        }
        blocking.start()
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var mine: [UInt64] = []
                    for i in 0..<perTask {
                        let n = t * perTask + i
                        mine.append(try await log.append([EventLog.Entry(key: key(n), time: 0, payload: payload(n))])[0].seq)
                    }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await s in group { all += s }
            return all
        }
        while !blocking.isFinished { try await Task.sleep(for: .milliseconds(5)) }
        #expect(Set(seqs).count == tasks * perTask)
        #expect(log.lastSeq == UInt64(tasks * perTask + 100))
        #expect(log.statistics.flushes < tasks * perTask + 100, "appends never shared a sync")
        // A retry from an async caller gets the original seq.
        let again = try await log.append([EventLog.Entry(key: key(0), time: 0, payload: payload(0))])
        let original = try #require(try readAll(dir.path).first { $0.payload == payload(0) })
        #expect(again == [EventLog.Appended(seq: original.seq, isDuplicate: true)])
        #expect(try EventLogVerifier.verify(directory: dir.path).records == tasks * perTask + 100)
    }

    @Test func concurrentAppendersShareSyncsAndGetGapFreeSeqs() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
        let threads = 32, perThread = 40
        let seqs = Mutex<[UInt64]>([])
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for i in 0..<perThread {
                let n = t * perThread + i
                let r = try! log.append([EventLog.Entry(key: key(n), time: 0, payload: payload(n))])
                seqs.withLock { $0.append(r[0].seq) }
            }
        }
        #expect(seqs.withLock { $0.sorted() } == (1...UInt64(threads * perThread)).map { $0 })
        let records = try readAll(dir.path)
        #expect(records.count == threads * perThread)
        #expect(Set(records.map(\.payload)) == Set((0..<threads * perThread).map { payload($0) }))
        #expect(try EventLogVerifier.verify(directory: dir.path).isIntact)
    }
}

import Synchronization
