import Foundation
import InMemoryJournal
import Journal
import Logging
import RaqamDaemon
import RaqamModel
import RaqamStore
import Synchronization
import Testing

/// raqamd's core in process, with the in-memory journal and a test clock: acknowledgements come
/// from the ingest pipeline, evaluation follows on the evaluator's thread, and time moves when
/// the test says so, not when it sleeps.
@Suite struct DaemonCoreTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    final class Harness: Sendable {
        let dir = NSTemporaryDirectory() + "raqam-core-\(UUID().uuidString.prefix(8))"
        let journal = InMemoryJournal()
        /// The injected wall clock (µs).
        final class TestClock: Sendable {
            let micros: Mutex<Int64>
            init(_ v: Int64) { micros = Mutex(v) }
            func now() -> Int64 { micros.withLock { $0 } }
        }
        let clock: TestClock
        let core: DaemonCore

        /// The entities registered a day before `now` (the machine's time: the log stamps
        /// recorded_at with it), the injected clock at `now`.
        init(now: Int64 = wallClockMicros()) throws {
            do {  // the store's writer lock goes with it, before the core takes the log
                let store = try FileEventStore(stateDirectory: dir)
                try store.append(ReferenceData.bundled.registrationEvents(effective: Timestamp(micros: now - 86_400_000_000)))
                try store.close()
            }
            clock = TestClock(now)
            var c = DaemonConfiguration()
            c.stateDirectory = dir
            c.rules = [DaemonCoreTests.root + "/rules/districts.yaml"]
            c.clock = .wall
            let clock = self.clock
            core = try DaemonCore(configuration: c, journal: journal, logger: Logger(label: "raqamd.test") { _ in SwiftLogNoOpLogHandler() },
                                  wallClock: { clock.now() })
            let core = self.core
            Thread { core.evaluationLoop() }.start()
        }

        func submit(_ lines: [String]) throws -> [LineResult] {
            try core.submit(lines.enumerated().map { InputLine(number: $0.offset + 1, bytes: Array($0.element.utf8)) })
        }

        func advance(days: Int64) { clock.micros.withLock { $0 += days * 86_400_000_000 } }

        func stop() {
            core.stopEvaluating()
            try? core.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func assessment(_ district: String, organized: Bool, score: Int) -> String {
        let at = Timestamp(micros: wallClockMicros() - 3_600_000_000, offsetMinutes: 300).rfc3339
        return #"{"type":"assessment.recorded","subject":"district:\#(district)","occurred_at":"\#(at)","data":{"organized":\#(organized),"score":\#(score)}}"#
    }

    @Test func anAcknowledgedEventIsEvaluatedAndItsTransitionReachesTheJournal() throws {
        let h = try Harness()
        defer { h.stop() }
        let results = try h.submit([Self.assessment("1703202", organized: false, score: 20), "{\"type\":\"nope\"}"])
        #expect(results.map(\.outcome.acknowledgedSeq) == [317, nil])
        #expect(h.core.waitUntilEvaluated(seconds: 30))
        let firing = h.journal.entries(where: "RAQAM_RULE", is: "DistrictDigitalizationNotOrganized")
        #expect(firing.count == 1)
        #expect(firing.first?["RAQAM_ENTITY"] == "district:1703202")
        #expect(firing.first?["RAQAM_STATE"] == "firing")
        #expect(firing.first?["RAQAM_EVENT_SEQ"] == "317")
        #expect(h.core.status.evaluated == 317)
    }

    @Test func timeMovesWithTheInjectedClockNotTheMachinesAndSilentDistrictsFire() throws {
        // Registered a day ago: nobody has been silent for 60 days.
        let h = try Harness()
        defer { h.stop() }
        try h.core.tick()
        #expect(h.core.waitUntilEvaluated(seconds: 30))
        #expect(h.journal.entries(where: "RAQAM_RULE", is: "DistrictSilent").isEmpty)
        // 61 days later by the injected clock (no sleep): every district is silent, once.
        h.advance(days: 61)
        try h.core.tick()
        #expect(h.journal.entries(where: "RAQAM_RULE", is: "DistrictSilent").count == 208)
        #expect(h.core.status.firing >= 208)
        h.advance(days: 1)
        try h.core.tick()
        #expect(h.journal.entries(where: "RAQAM_RULE", is: "DistrictSilent").count == 208, "nothing is reported twice")
    }
}
