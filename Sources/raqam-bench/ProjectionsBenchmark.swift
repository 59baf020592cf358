import ArgumentParser
import EventLog
import Foundation
import Projections
import RaqamEngine
import RaqamModel
import RaqamStore

/// `raqam-bench projections`: full replay into projections and restart from a snapshot, beside
/// SQLite holding the same events (scanned, decoded and folded by the same code).
struct ProjectionsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Replay a large log into projections, and restart from a snapshot; beside SQLite scanning the same events.",
        discussion: """
            Builds a log of --events events over the 316 reference entities (one in twenty a \
            project.registered, so 500,000 projects for 10 million events), then times: a full \
            replay (log reader + decode + fold) against a full SQLite scan + decode + the same \
            fold; and a restart (newest snapshot + the log's tail, here empty) against reopening \
            SQLite and rebuilding the projections. Peak RSS is the process's, after everything.
            """
    )

    @Flag(help: "1,000,000 events instead of 10,000,000.") var quick = false
    @Option(help: "Events in the log (overrides --quick).") var events: Int?
    @Option(help: "Timed runs per figure (after one warm-up).") var runs = 5
    @Option(help: "Directory for the stores.") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Leave out SQLite (halves the time and the disk space).") var noSqlite = false

    func run() throws {
        let count = events ?? (quick ? 1_000_000 : 10_000_000)
        let base = dir + "/raqam-bench-proj-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

        progress("writing \(count) events to the log\(noSqlite ? "" : " and to SQLite")")
        let log = try EventLog(directory: FileEventStore.eventsDirectory(base), configuration: .init(durability: .none))
        let db = noSqlite ? nil : try SQLitePeer(path: base + "/peer.sqlite", synchronous: .normal)
        var generator = WorkloadGenerator()
        var written = 0
        while written < count {
            let chunk = generator.next(min(10_000, count - written), startingAt: written)
            try log.append(chunk.map { EventLog.Entry(key: RecordKey(high: $0.id!.high, low: $0.id!.low), time: $0.occurredAt.micros, payload: EventCodec.encode($0)) })
            if let db {
                try db.insertTransaction(ArraySlice(chunk.map { e in
                    var id: [UInt8] = []
                    withUnsafeBytes(of: e.id!.high.bigEndian) { id += $0 }
                    withUnsafeBytes(of: e.id!.low.bigEndian) { id += $0 }
                    return BenchRecord(id: id, time: e.occurredAt.micros, payload: EventCodec.encode(e))
                }))
            }
            written += chunk.count
        }
        try log.close()
        let projects = generator.projects

        progress("full replay")
        var last = ProjectionState()
        let replay = try medianRate(runs: runs) { _ in
            let r = try Replay.run(stateDirectory: base, useSnapshots: false)
            last = r.state
            return (r.scanned, r.seconds)
        }
        let sqliteReplay = try db.map { db in
            try medianRate(runs: runs) { _ in
                let t0 = now()
                var state = ProjectionState()
                var seq: UInt64 = 0
                try db.scan { payload in
                    seq += 1
                    state.apply(StoredEvent(seq: seq, recordedAt: Timestamp(micros: 0), event: try EventCodec.decode(payload)))
                }
                return (Int(seq), now() - t0)
            }
        }

        progress("restart from a snapshot")
        let snapshotPath = try SnapshotStore(stateDirectory: base).write(last)
        let snapshotBytes = (try? FileManager.default.attributesOfItem(atPath: snapshotPath)[.size] as? Int) ?? 0
        var restartSeconds: [Double] = []
        var firstFoldSeconds: [Double] = []
        let probe = StoredEvent(seq: last.position + 1, recordedAt: Timestamp(micros: 0), event: Event(
            id: nil, type: .projectImplemented, subject: ReferenceData.bundled.districts[0].key,
            occurredAt: Timestamp(rfc3339: "2021-06-30T00:00:00+05:00")!, source: nil, data: EventData(values: [.string("P-1"), nil])))
        for _ in 0...runs {
            var r = try Replay.run(stateDirectory: base)
            precondition(r.snapshotPosition == last.position && r.state.eventCount == last.eventCount)
            restartSeconds.append(r.seconds)
            // What the first event after a restart costs (nothing is left to rebuild).
            let t0 = now()
            r.state.apply(probe)
            firstFoldSeconds.append(now() - t0)
        }
        let firstFold = medianOf(Array(firstFoldSeconds.dropFirst()))
        let restart = medianOf(Array(restartSeconds.dropFirst()))
        let sqliteRestart = try db.map { _ in
            // One warm-up run first, as for raqam's restart.
            medianOf(Array(try (0...runs).map { _ in
                let t0 = now()
                let reopened = try SQLitePeer(path: base + "/peer.sqlite", synchronous: .normal)
                var state = ProjectionState()
                var seq: UInt64 = 0
                try reopened.scan { payload in
                    seq += 1
                    state.apply(StoredEvent(seq: seq, recordedAt: Timestamp(micros: 0), event: try EventCodec.decode(payload)))
                }
                return now() - t0
            }.dropFirst()))
        }
        // Before the ceiling's copy of every payload in memory, which is not raqam's to carry.
        let rss = peakRSSMiB()

        // The ceiling of any store: the same decode and fold over payloads already in memory,
        // one after the other in one buffer (no I/O, no checksum, the best locality there is).
        progress("decode + fold from memory (the ceiling of any store)")
        var bytes: [UInt8] = []
        var ends: [Int] = []
        ends.reserveCapacity(count)
        try EventLogReader(directory: FileEventStore.eventsDirectory(base)).scan { r in
            bytes.append(contentsOf: r.payload)
            ends.append(bytes.count)
            return true
        }
        let ceiling = try bytes.withUnsafeBytes { all in
            try medianRate(runs: runs) { _ in
                let t0 = now()
                var state = ProjectionState()
                var seq: UInt64 = 0, start = 0
                for end in ends {
                    seq += 1
                    let event = try EventCodec.decode(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                    state.apply(StoredEvent(seq: seq, recordedAt: Timestamp(micros: 0), event: event))
                    start = end
                }
                return (ends.count, now() - t0)
            }
        }

        if json {
            var w = JSONWriter()
            w.beginObject()
            w.key("benchmark"); w.string("projections")
            w.key("events"); w.integer(count)
            w.key("projects"); w.integer(projects)
            w.key("replay_events_per_s"); w.number(replay.median.rounded())
            w.key("sqlite_replay_events_per_s"); if let s = sqliteReplay { w.number(s.median.rounded()) } else { w.null() }
            w.key("replay_ceiling_events_per_s"); w.number(ceiling.median.rounded())
            w.key("replay_ceiling_ratio"); if let s = sqliteReplay { w.number((ceiling.median / s.median * 100).rounded() / 100) } else { w.null() }
            w.key("restart_seconds"); w.number((restart * 1000).rounded() / 1000)
            w.key("sqlite_restart_seconds"); if let s = sqliteRestart { w.number((s * 1000).rounded() / 1000) } else { w.null() }
            w.key("first_project_event_after_restart_seconds"); w.number((firstFold * 1e6).rounded() / 1e6)
            w.key("snapshot_bytes"); w.integer(snapshotBytes)
            w.key("peak_rss_mib"); w.number(rss.rounded())
            w.endObject()
            print(w.text)
            return
        }
        print("raqam-bench projections: \(grouped(Double(count))) events, \(grouped(Double(projects))) projects, 316 entities; median of \(runs) runs")
        print("full replay (read + decode + fold)   raqam \(grouped(replay.median)) events/s" +
              (sqliteReplay.map { String(format: "   SQLite scan + same fold %@ events/s   ratio %.2f×", grouped($0.median), replay.median / $0.median) } ?? ""))
        print("decode + fold from memory           \(grouped(ceiling.median)) events/s: the ceiling of any store" +
              (sqliteReplay.map { String(format: " = %.2f× SQLite's replay", ceiling.median / $0.median) } ?? ""))
        print(String(format: "restart from a snapshot            raqam %.3f s (snapshot %@ bytes)", restart, grouped(Double(snapshotBytes))) +
              (sqliteRestart.map { String(format: "   SQLite reopen + rebuild %.3f s   ratio %.1f×", $0, $0 / restart) } ?? ""))
        print(String(format: "first project event folded after the restart: %.6f s", firstFold))
        print(String(format: "peak RSS of the benchmark process: %.0f MiB", rss))
    }
}

func medianOf(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// A deterministic mix of the programme's events over the real entities.
struct WorkloadGenerator {
    let districts = ReferenceData.bundled.districts.map(\.key)
    let regions = ReferenceData.bundled.regions.map(\.key)
    let orgs = ReferenceData.bundled.organizations.map(\.key)
    private(set) var projects = 0
    private var state: UInt64 = 0x5EED
    private var registeredFirst = false

    mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int(random() % UInt64(xs.count))] }

    /// The next `n` events; the first call starts with the reference registrations.
    mutating func next(_ n: Int, startingAt offset: Int) -> [Event] {
        var out: [Event] = []
        out.reserveCapacity(n)
        if !registeredFirst {
            registeredFirst = true
            out += ReferenceData.bundled.registrationEvents().prefix(n)
        }
        let start = Timestamp(rfc3339: "2020-10-05T09:00:00+05:00")!.micros
        while out.count < n {
            let i = offset + out.count
            let at = Timestamp(micros: start + Int64(random() % 23_000_000) * 1_000_000, offsetMinutes: 300)
            let owner = pick(districts + regions + orgs)
            let id = EventID(high: 0x0B0E_0000_0000_8000 | UInt64(i) << 16, low: random() | 1 << 63)
            let type: EventType
            var subject = owner
            var values: [FieldValue?]
            switch i % 20 {
            case 0:
                type = .projectRegistered
                projects += 1
                values = [.string("P-\(projects)"), .string(owner.kind == .org ? "sector" : "regional"), .string("Digitalization project \(projects)"), .date(CalendarDate(days: 18_700 + Int32(random() % 500)))]
            case 1, 2:
                type = .projectImplemented
                values = [.string("P-\(max(1, Int(random() % UInt64(max(projects, 1)))))"), nil]
            case 3:
                type = .serviceLaunched
                subject = pick(orgs)
                values = [.string("S-\(random() % 5000)"), .string(random() % 3 == 0 ? "mobile" : "portal"), nil]
            case 4, 5, 6, 7:
                type = .portalUpdated
                values = [.integer(Int64(random() % 40))]
            case 8, 9:
                type = .trainingReported
                let staff = Int64(random() % 300)
                values = [.integer(staff), .integer(staff == 0 ? 0 : Int64(random() % UInt64(staff)))]
            case 10:
                type = .assessmentRecorded
                values = [.boolean(random() % 2 == 0), .number(Double(random() % 101)), nil]
            case 11, 12:
                type = .roadmapProductIntroduced
                values = [.string("PR-\(random() % 2000)")]
            case 13:
                type = .economyReported
                subject = pick(regions)
                values = [.string(pick(["2021-Q1", "2021-Q2", "2021-H1"])), .number(Double(random() % 1_000_000) * 1e6)]
            default:
                type = .portalUpdated
                values = [.integer(Int64(random() % 10))]
            }
            out.append(Event(id: id, type: type, subject: subject, occurredAt: at, source: "bench", data: EventData(values: values)))
        }
        return out
    }
}
