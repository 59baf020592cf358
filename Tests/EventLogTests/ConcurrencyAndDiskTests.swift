import Foundation
import Synchronization
import Testing
@testable import EventLog

@Suite struct ConcurrencyAndDiskTests {
    @Test func readersDuringHeavyAppendsNeverSeeAPartialOrGarbledRecord() throws {
        let dir = TemporaryDirectory()
        let total = 20_000
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 32 << 10, durability: .none))
        let done = Atomic<Bool>(false)
        let checked = Atomic<Int>(0)
        let problems = Mutex<[String]>([])
        let writer = Thread {
            var n = 0
            while n < total {
                let size = 1 + n % 37
                try! log.append((n..<min(n + size, total)).map { EventLog.Entry(key: key($0), time: 0, payload: payload($0, size: 100 + $0 % 300)) })
                n += size
            }
            done.store(true, ordering: .releasing)
        }
        writer.start()
        DispatchQueue.concurrentPerform(iterations: 3) { reader in
            var passes = 0
            while !done.load(ordering: .acquiring) || passes < 2 {
                passes += 1
                var expected: UInt64 = reader == 2 ? UInt64(max(1, total / 2)) : 1
                do {
                    try EventLogReader(directory: dir.path).scan(from: expected) { r in
                        let n = Int(r.seq) - 1
                        if r.seq != expected { problems.withLock { $0.append("seq \(r.seq) where \(expected) expected") } }
                        if Array(r.payload) != payload(n, size: 100 + n % 300) {
                            problems.withLock { $0.append("payload of seq \(r.seq) differs") }
                        }
                        expected = r.seq + 1
                        checked.add(1, ordering: .relaxed)
                        return true
                    }
                } catch {
                    problems.withLock { $0.append("reader \(reader): \(error)") }
                }
            }
        }
        while !done.load(ordering: .acquiring) { usleep(1000) }
        let found = problems.withLock { $0 }
        #expect(found.isEmpty, "\(found.count) problems, first: \(found.prefix(5))")
        #expect(checked.load(ordering: .relaxed) > total)
        #expect(try readAll(dir.path).count == total)
        #expect(segmentFiles(dir.path).count > 20)
    }

    @Test func appendOnAFullDiskFailsClearlyAndTheLogStaysReadableAndVerifiable() throws {
        let dir = TemporaryDirectory()
        let mountPoint = dir.path + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mounted = shell("mount -t tmpfs -o size=200k raqam-test-full \(mountPoint)")
        try #require(mounted == 0, "the full-disk test mounts a 200 KiB tmpfs and needs root (CI runs as root)")
        defer { _ = shell("umount \(mountPoint)") }
        let logDir = mountPoint + "/events"

        var acknowledged = 0
        var failure: EventLogError?
        do {
            let log = try EventLog(directory: logDir, configuration: .init(segmentSize: 48 << 10))
            while failure == nil {
                do {
                    try log.append(entries(acknowledged..<acknowledged + 7))
                    acknowledged += 7
                } catch {
                    failure = error
                }
            }
            // Still full: the next append fails the same way and stores nothing.
            let again = #expect(throws: EventLogError.self) { try log.append(entries(acknowledged..<acknowledged + 7)) }
            #expect(again?.code == .noSpace)
            #expect(log.lastSeq == UInt64(acknowledged))
        }
        #expect(failure?.code == .noSpace)
        #expect(failure?.description.contains("no space left on the device") == true)
        #expect(failure?.description.contains("nothing of this append was stored") == true)
        #expect(acknowledged > 300)

        #expect(try readAll(logDir).map(\.payload) == (0..<acknowledged).map { payload($0) })
        let report = try EventLogVerifier.verify(directory: logDir)
        #expect(report.isIntact)
        #expect(report.records == acknowledged)

        // With room again, the same log takes appends.
        #expect(shell("mount -o remount,size=1m \(mountPoint)") == 0)
        let log = try EventLog(directory: logDir, configuration: .init(segmentSize: 48 << 10))
        #expect(try log.append(entries(acknowledged..<acknowledged + 200)).last?.seq == UInt64(acknowledged + 200))
        #expect(try EventLogVerifier.verify(directory: logDir).isIntact)
    }

    @Test func seeksBySeqAndByTimeStartAtTheRightRecord() throws {
        let dir = TemporaryDirectory()
        let log = try EventLog(directory: dir.path, configuration: .init(segmentSize: 8 << 10))
        try log.append(entries(0..<1000))
        var seen: [UInt64] = []
        try EventLogReader(directory: dir.path).scan(from: 777) { seen.append($0.seq); return seen.count < 3 }
        #expect(seen == [777, 778, 779])
        // Event times are n seconds: records 500 ..< 510 have times 500 s ... 509 s.
        var inRange: [UInt64] = []
        try EventLogReader(directory: dir.path).scan(timeRange: 500_000_000...509_000_000) { inRange.append($0.seq); return true }
        #expect(inRange == (501...510).map(UInt64.init))
        let reader = EventLogReader(directory: dir.path)
        var at = [Int64](), seqs = [UInt64]()
        try reader.scan { at.append($0.recordedAt); seqs.append($0.seq); return true }
        #expect(try reader.firstSeq(recordedAtOrAfter: at[0]) == 1)
        #expect(try reader.firstSeq(recordedAtOrAfter: at.last! + 1) == nil)
        #expect(try reader.lastSeq() == 1000)
    }
}

@discardableResult
func shell(_ command: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    try! p.run()
    p.waitUntilExit()
    return p.terminationStatus
}
