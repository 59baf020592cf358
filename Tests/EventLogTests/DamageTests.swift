import Foundation
import Testing
@testable import EventLog

@Suite struct DamageTests {
    /// A log of `count` records in one segment, closed; returns the segment's path.
    func makeLog(_ dir: TemporaryDirectory, count: Int = 10) throws -> String {
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
        try log.append(entries(0..<count))
        try log.close()
        return segmentFiles(dir.path)[0]
    }

    @Test func tornTailOfEveryLengthIsTruncatedAndReported() throws {
        let dir = TemporaryDirectory()
        let segment = try makeLog(dir, count: 5)
        let pristine = FileManager.default.contents(atPath: segment)!
        let offsets = recordOffsets(segment)
        let lastStart = offsets[4]
        let frame = RecordFrame.headerSize + 250  // padding after it is zero anyway
        for written in 1...frame {
            // The last record reached the disk only up to `written` bytes.
            try pristine.write(to: URL(fileURLWithPath: segment))
            patch(segment) { bytes in
                for i in (lastStart + written)..<(lastStart + frame) { bytes[i] = 0 }
            }
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
            if written == frame {
                #expect(log.recovery.tornTail == nil)
                #expect(log.lastSeq == 5)
            } else {
                let torn = try #require(log.recovery.tornTail, "torn tail of \(written) bytes not reported")
                #expect(torn.offset == lastStart)
                #expect(torn.segment == segment)
                #expect(log.lastSeq == 4)
                #expect(log.recovery.lines[0].contains("torn tail"))
                // Nothing is destroyed: the bytes cut off are kept beside the segment.
                let kept = try #require(FileManager.default.contents(atPath: torn.quarantine))
                #expect(torn.quarantine.hasPrefix(segment + ".quarantine-\(lastStart)"))
                #expect(kept.count == torn.bytes)
                #expect(kept == pristine[lastStart..<(lastStart + kept.count)])
                #expect(log.recovery.lines[0].contains(torn.quarantine))
                // The log goes on from the last whole record, and stays verifiable.
                #expect(try log.append(entries(100..<101)).map(\.seq) == [5])
                #expect(try readAll(dir.path).map(\.payload) == (0..<4).map { payload($0) } + [payload(100)])
                #expect(try EventLogVerifier.verify(directory: dir.path).isIntact)
            }
        }
    }

    @Test func flippedBitAnywhereInTheLastRecordIsDamageNotATornTail() throws {
        let dir = TemporaryDirectory()
        let segment = try makeLog(dir, count: 5)
        let pristine = FileManager.default.contents(atPath: segment)!
        let last = recordOffsets(segment)[4]
        let frame = RecordFrame.headerSize + 250
        for byte in 0..<frame {
            // One bit of the last record, acknowledged long ago, flips on the disk: magic,
            // CRC, length, seq, times, key, chain hash or payload.
            try pristine.write(to: URL(fileURLWithPath: segment))
            patch(segment) { $0[last + byte] ^= 1 << UInt8(byte % 8) }
            let damaged = FileManager.default.contents(atPath: segment)!

            let report = try EventLogVerifier.verify(directory: dir.path)
            #expect(report.problems.map(\.offset) == [last], "byte \(byte)")
            #expect(report.unfinishedTail == nil, "byte \(byte)")
            #expect(report.problems.first?.reason.contains("the last record is damaged, not torn") == true, "byte \(byte)")
            #expect(report.problems.first?.reason.contains("offset \(last + byte)") == true, "byte \(byte): \(report.problems)")

            let error = #expect(throws: EventLogError.self, "byte \(byte)") {
                try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
            }
            #expect(error?.code == .corrupt)
            #expect(error?.offset == last)
            // The writer refused: the acknowledged record is still there, byte for byte, and
            // no later event can take its seq.
            #expect(FileManager.default.contents(atPath: segment) == damaged, "byte \(byte)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.contains("quarantine") })
        }
    }

    @Test func aTornLookingRecordTheCallerKnowsWasAcknowledgedStopsTheWriter() throws {
        let dir = TemporaryDirectory()
        let segment = try makeLog(dir, count: 5)
        let last = recordOffsets(segment)[4]
        // The last record's tail reads as zeros: what a torn write leaves, and what damage can.
        patch(segment) { bytes in for i in (last + 200)..<(last + RecordFrame.headerSize + 250) { bytes[i] = 0 } }
        let damaged = FileManager.default.contents(atPath: segment)
        let error = #expect(throws: EventLogError.self) {
            try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10, acknowledgedThrough: 5))
        }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("the last record (seq 5) is damaged") == true, "\(String(describing: error))")
        #expect(error?.message.contains("a snapshot folds the log up to seq 5") == true)
        #expect(FileManager.default.contents(atPath: segment) == damaged)
        // Knowing only of seq 4, the same bytes are a torn tail.
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10, acknowledgedThrough: 4))
        #expect(log.recovery.tornTail?.offset == last)
        #expect(log.lastSeq == 4)
    }

    @Test func lastRecordWithAnUnwrittenSectorIsATornTail() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
            try log.append(entries(0..<3))
            let big = [UInt8]((0..<3000).map { UInt8(1 + $0 % 251) })
            try log.append([EventLog.Entry(time: 1, payload: big)])
        }
        let segment = segmentFiles(dir.path)[0]
        let start = recordOffsets(segment)[3]
        // A crash while the last record was being written: one 512-byte sector in the middle
        // of it never reached the disk (the rest did).
        let sector = (start / 512 + 2) * 512
        patch(segment) { bytes in for i in sector..<(sector + 512) { bytes[i] = 0 } }
        let reopened = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
        let torn = try #require(reopened.recovery.tornTail)
        #expect(torn.offset == start)
        #expect(reopened.lastSeq == 3)
        #expect(FileManager.default.fileExists(atPath: torn.quarantine))
        #expect(try EventLogVerifier.verify(directory: dir.path).isIntact)
    }

    @Test func flippedBitInAMiddleRecordIsFoundByVerifyAndRefusesAppends() throws {
        let dir = TemporaryDirectory()
        let segment = try makeLog(dir)
        let offsets = recordOffsets(segment)
        let target = offsets[4] + RecordFrame.headerSize + 17
        patch(segment) { $0[target] ^= 0x08 }

        let report = try EventLogVerifier.verify(directory: dir.path)
        #expect(!report.isIntact)
        #expect(report.problems.count == 1)
        #expect(report.problems[0].path == segment)
        #expect(report.problems[0].offset == offsets[4])
        #expect(report.problems[0].reason.contains("CRC-32C mismatch"))

        let error = #expect(throws: EventLogError.self) {
            try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
        }
        #expect(error?.code == .corrupt)
        #expect(error?.path == segment)
        #expect(error?.offset == offsets[4])
        #expect(error?.description == "\(segment) at offset \(offsets[4]): \(report.problems[0].reason); the log refuses to write until this is repaired (see docs/recovery.md; `raqamctl verify` lists all damage)")
        // Nothing was rewritten: the damaged byte is still there for an operator to inspect.
        #expect([UInt8](FileManager.default.contents(atPath: segment)!)[target] == payload(4)[17] ^ 0x08)
    }

    @Test func flippedBitInASealedSegmentIsFoundByVerifyAndByReaders() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 8 << 10))
            try log.append(entries(0..<100))
        }
        let first = segmentFiles(dir.path)[0]
        let offsets = recordOffsets(first)
        patch(first) { $0[offsets[3] + 100] ^= 1 }
        let report = try EventLogVerifier.verify(directory: dir.path)
        #expect(report.problems.map(\.offset) == [offsets[3]])
        #expect(report.problems.map(\.path) == [first])
        let error = #expect(throws: EventLogError.self) { try readAll(dir.path) }
        #expect(error?.code == .corrupt)
        #expect(error?.offset == offsets[3])
    }

    @Test func payloadEditedWithItsCRCFixedUpIsCaughtByTheChain() throws {
        let dir = TemporaryDirectory()
        let segment = try makeLog(dir)
        let offsets = recordOffsets(segment)
        let o = offsets[6]
        patch(segment) { bytes in
            bytes[o + RecordFrame.headerSize + 10] ^= 0xFF
            let crc = bytes[(o + 8)..<(o + RecordFrame.headerSize + 250)].withUnsafeBytes { CRC32C.checksum($0) }
            withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[o + 4 + i] = $0[i] } }
        }
        // Readers check CRCs only, so the edited record reads back...
        #expect(try readAll(dir.path).count == 10)
        // ...but verify recomputes the chain.
        let report = try EventLogVerifier.verify(directory: dir.path)
        #expect(report.problems.count == 1)
        #expect(report.problems[0].offset == o)
        #expect(report.problems[0].reason.contains("hash chain broken at seq 7"))
        let error = #expect(throws: EventLogError.self) { try EventLog(directory: dir.path) }
        #expect(error?.code == .corrupt)
    }

    @Test func segmentWhoseHeaderNeverReachedTheDiskIsRemoved() throws {
        let dir = TemporaryDirectory()
        _ = try makeLog(dir, count: 3)
        // A crash right after creating the next segment, before its header was written.
        let blank = dir.path + "/" + SegmentHeader.fileName(baseSeq: 4)
        _ = FileManager.default.createFile(atPath: blank, contents: Data(count: 4096))
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 64 << 10))
        #expect(log.recovery.removedSegments == [blank])
        #expect(log.lastSeq == 3)
        #expect(!FileManager.default.fileExists(atPath: blank))
    }

    @Test func missingSidecarIndexIsRebuilt() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 8 << 10))
            try log.append(entries(0..<100))
        }
        let idx = String(segmentFiles(dir.path)[0].dropLast(4)) + ".idx"
        try FileManager.default.removeItem(atPath: idx)
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 8 << 10))
        #expect(log.recovery.rebuiltIndexes == [idx])
        #expect(try log.append(entries(0..<100)).allSatisfy { $0.isDuplicate })
    }

    @Test func missingSegmentIsReportedWithTheGap() throws {
        let dir = TemporaryDirectory()
        do {
            let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 8 << 10))
            try log.append(entries(0..<200))
        }
        let segments = segmentFiles(dir.path)
        try FileManager.default.removeItem(atPath: segments[1])
        let error = #expect(throws: EventLogError.self) { try EventLog(directory: dir.path, configuration: .init(segmentSize: 8 << 10)) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("a segment is missing") == true)
        #expect(!(try EventLogVerifier.verify(directory: dir.path).isIntact))
    }
}
