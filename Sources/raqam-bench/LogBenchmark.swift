import ArgumentParser
import Dispatch
import EventLog
import Foundation
import RaqamModel

/// One record as both stores get it: the event's binary form, its id and its time.
struct BenchRecord: Sendable {
    var id: [UInt8]
    var time: Int64
    var payload: [UInt8]
}

/// `raqam-bench log`: the event log beside SQLite, same records, same guarantees.
struct LogBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Append (1 and 64 producers, durable), bulk import and read+decode: raqam's log beside SQLite (WAL).",
        discussion: """
            Each figure is the median of --runs timed runs after one warm-up run. Files go to \
            --dir (default $TMPDIR or /tmp), which must be on the disk you want to measure: a \
            tmpfs makes fsync free. Events are project.registered events whose binary form is \
            about 250 bytes.
            """
    )

    @Flag(help: "Smaller sizes, about a minute in all (the smoke run of make test uses it).") var quick = false
    @Option(help: "Timed runs per figure.") var runs = 5
    @Option(help: "Directory for the stores.") var dir: String = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Run only these scenarios (comma-separated: single, many, bulk, read).") var only: String?

    func selected(_ name: String) -> Bool { only.map { $0.split(separator: ",").contains(Substring(name)) } ?? true }

    struct Row {
        var scenario: String
        var raqam: Double
        var sqlite: Double
        var unit = "events/s"
        var note: String
    }

    func run() throws {
        let sizes = quick
            ? (single: 300, perProducer: 40, bulk: 100_000, read: 100_000)
            : (single: 1500, perProducer: 150, bulk: 1_000_000, read: 1_000_000)
        let producers = 64
        let records = makeRecords(max(sizes.bulk, sizes.read, producers * sizes.perProducer, sizes.single))
        let payloadMean = records.prefix(1000).reduce(0) { $0 + $1.payload.count } / 1000
        let base = dir + "/raqam-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        var rows: [Row] = []
        func fresh(_ name: String) -> String {
            let p = base + "/" + name
            try? FileManager.default.removeItem(atPath: p)
            try? FileManager.default.removeItem(atPath: p + "-wal")
            try? FileManager.default.removeItem(atPath: p + "-shm")
            return p
        }
        func progress(_ s: String) { if !json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) } }

        // 1 producer, durable: one append (one transaction) per event.
        if selected("single") {
        progress("durable append, 1 producer")
        let r1 = try medianRate(runs: runs) { _ in
            let log = try EventLog(directory: fresh("single"), configuration: .init(durability: .always))
            let t0 = now()
            for r in records.prefix(sizes.single) { try log.append([entry(r)]) }
            return (sizes.single, now() - t0)
        }
        let s1 = try medianRate(runs: runs) { _ in
            let db = try SQLitePeer(path: fresh("single.sqlite"), synchronous: .full)
            let t0 = now()
            for i in 0..<sizes.single { try db.insertTransaction(records[i...i]) }
            return (sizes.single, now() - t0)
        }
        rows.append(Row(scenario: "durable append, 1 producer", raqam: r1.median, sqlite: s1.median,
                        note: "raqam always (fdatasync) vs SQLite WAL synchronous=FULL, 1 transaction per event"))
        }

        // 64 producers, durable: each event acknowledged only once synced.
        if selected("many") {
        progress("durable append, \(producers) producers")
        let total64 = producers * sizes.perProducer
        var groupSize = 0.0, flushMicros = 0.0
        let r64 = try medianRate(runs: runs) { _ in
            let log = try EventLog(directory: fresh("many"), configuration: .init(durability: .always))
            let t0 = now()
            runTasks(producers) { p in
                for i in 0..<sizes.perProducer { try! await log.append([entry(records[p * sizes.perProducer + i])]) }
            }
            let elapsed = now() - t0
            let st = log.statistics
            groupSize = Double(st.records) / Double(st.flushes)
            flushMicros = Double(st.flushNanos) / Double(st.flushes) / 1000
            return (total64, elapsed)
        }
        let s64 = try medianRate(runs: runs) { _ in
            let db = try SQLitePeer(path: fresh("many.sqlite"), synchronous: .full)
            let t0 = now()
            runTasks(producers) { p in
                for i in 0..<sizes.perProducer { await db.insert(records[p * sizes.perProducer + i]) }
            }
            return (total64, now() - t0)
        }
        rows.append(Row(scenario: "durable append, \(producers) producers", raqam: r64.median, sqlite: s64.median,
                        note: String(format: "%.0f records per group commit, %.0f µs per flush; ", groupSize, flushMicros) + "64 async tasks; raqam group commit vs SQLite FULL with one writer committing all queued (1 transaction per batch)"))
        }

        // Bulk import: no sync per batch, one at the end.
        if selected("bulk") {
        progress("bulk import")
        let rb = try medianRate(runs: runs) { _ in
            let log = try EventLog(directory: fresh("bulk"), configuration: .init(durability: .none))
            let t0 = now()
            var i = 0
            while i < sizes.bulk {
                let end = min(sizes.bulk, i + 1000)
                try log.append(records[i..<end].map(entry))
                i = end
            }
            try log.sync()
            return (sizes.bulk, now() - t0)
        }
        let sb = try medianRate(runs: runs) { _ in
            let db = try SQLitePeer(path: fresh("bulk.sqlite"), synchronous: .normal)
            let t0 = now()
            var i = 0
            while i < sizes.bulk {
                let end = min(sizes.bulk, i + 1000)
                try db.insertTransaction(records[i..<end])
                i = end
            }
            try db.exec("PRAGMA wal_checkpoint(FULL)")
            return (sizes.bulk, now() - t0)
        }
        rows.append(Row(scenario: "bulk import", raqam: rb.median, sqlite: sb.median,
                        note: "raqam none + final sync vs SQLite NORMAL, 1,000 per transaction + checkpoint"))
        }

        // Read and decode every event, sequentially.
        if selected("read") {
        progress("sequential read and decode")
        let readLog = fresh("read")
        do {
            let log = try EventLog(directory: readLog, configuration: .init(durability: .none))
            var i = 0
            while i < sizes.read {
                let end = min(sizes.read, i + 1000)
                try log.append(records[i..<end].map(entry))
                i = end
            }
            try log.close()
        }
        let readDB = try SQLitePeer(path: fresh("read.sqlite"), synchronous: .normal)
        var i = 0
        while i < sizes.read {
            let end = min(sizes.read, i + 1000)
            try readDB.insertTransaction(records[i..<end])
            i = end
        }
        let rr = try medianRate(runs: runs) { _ in
            var n = 0, checksum = 0
            let t0 = now()
            try EventLogReader(directory: readLog).scan { r in
                let e = try EventCodec.decode(r.payload)
                checksum &+= e.data.count
                n += 1
                return true
            }
            precondition(n == sizes.read && checksum > 0)
            return (n, now() - t0)
        }
        let sr = try medianRate(runs: runs) { _ in
            var n = 0, checksum = 0
            let t0 = now()
            try readDB.scan { payload in
                let e = try EventCodec.decode(payload)
                checksum &+= e.data.count
                n += 1
            }
            precondition(n == sizes.read && checksum > 0)
            return (n, now() - t0)
        }
        rows.append(Row(scenario: "sequential read + decode", raqam: rr.median, sqlite: sr.median,
                        note: "every record's CRC checked (raqam), the same binary decoder for both"))
        }

        progress("ceilings: fdatasync latency, per-record hashing and copying")
        // A frame: the 88-byte header and the payload, 8-byte aligned.
        let frame = (88 + payloadMean + 7) / 8 * 8
        let sync = try Ceilings.fdatasyncMicros(dir: base, recordBytes: frame)
        let groupSync = try Ceilings.fdatasyncMicros(dir: base, recordBytes: frame, records: producers)
        let floor = try Ceilings.recordFloorMicros(payloads: ArraySlice(records.prefix(quick ? 50_000 : 200_000).map(\.payload)), dir: base)
        let bounds = Bounds(fdatasyncMicros: sync, groupSyncMicros: groupSync, producers: producers, hashMicros: floor.hash, copyMicros: floor.copy,
                            sqlite: Dictionary(rows.map { ($0.scenario, $0.sqlite) }, uniquingKeysWith: { a, _ in a }))
        report(rows, bounds: bounds, payloadMean: payloadMean, sizes: "1 producer \(sizes.single), \(producers)×\(sizes.perProducer), bulk \(sizes.bulk), read \(sizes.read)")
    }

    /// The ceilings of this run, and what they allow against SQLite's figures of the same run.
    struct Bounds {
        var fdatasyncMicros: Double
        /// The same for `producers` frames at once: what a full group commit waits for.
        var groupSyncMicros: Double
        var producers: Int
        var hashMicros: Double
        var copyMicros: Double
        var sqlite: [String: Double]

        /// One durable append per fdatasync.
        var single: Double { 1e6 / fdatasyncMicros }
        /// Each producer has one append in flight, so at most `producers` records share a sync.
        var many: Double { Double(producers) * 1e6 / groupSyncMicros }
        /// Hashing and copying each record, nothing else.
        var bulk: Double { 1e6 / (hashMicros + copyMicros) }

        func ratio(_ ceiling: Double, _ scenario: String) -> Double? { sqlite[scenario].map { ceiling / $0 } }
    }

    func entry(_ r: BenchRecord) -> EventLog.Entry {
        EventLog.Entry(key: RecordKey(bytes: r.id), time: r.time, payload: r.payload)
    }

    func report(_ rows: [Row], bounds b: Bounds, payloadMean: Int, sizes: String) {
        let many = "durable append, \(b.producers) producers"
        if json {
            var w = JSONWriter()
            w.beginObject()
            w.key("benchmark"); w.string("log")
            w.key("runs"); w.integer(runs)
            w.key("payload_bytes"); w.integer(payloadMean)
            w.key("sizes"); w.string(sizes)
            w.key("rows"); w.beginArray()
            for r in rows {
                w.beginObject()
                w.key("scenario"); w.string(r.scenario)
                w.key("raqam_events_per_s"); w.number(r.raqam.rounded())
                w.key("sqlite_events_per_s"); w.number(r.sqlite.rounded())
                w.key("ratio"); w.number((r.raqam / r.sqlite * 100).rounded() / 100)
                w.key("note"); w.string(r.note)
                w.endObject()
            }
            w.endArray()
            w.key("bounds"); w.beginObject()
            w.key("fdatasync_us"); w.number((b.fdatasyncMicros * 10).rounded() / 10)
            w.key("group_fdatasync_us"); w.number((b.groupSyncMicros * 10).rounded() / 10)
            w.key("one_producer_ceiling_per_s"); w.number(b.single.rounded())
            w.key("many_producers_ceiling_per_s"); w.number(b.many.rounded())
            w.key("many_producers_ceiling_ratio"); if let r = b.ratio(b.many, many) { w.number((r * 100).rounded() / 100) } else { w.null() }
            w.key("record_hash_us"); w.number((b.hashMicros * 1000).rounded() / 1000)
            w.key("record_copy_us"); w.number((b.copyMicros * 1000).rounded() / 1000)
            w.key("bulk_ceiling_per_s"); w.number(b.bulk.rounded())
            w.key("bulk_ceiling_ratio"); if let r = b.ratio(b.bulk, "bulk import") { w.number((r * 100).rounded() / 100) } else { w.null() }
            w.endObject()
            w.endObject()
            print(w.text)
            return
        }
        print("raqam-bench log: median of \(runs) runs; events of \(payloadMean) bytes (binary form); \(sizes); CRC-32C in hardware: \(crcHardware)")
        let header = ["scenario", "raqam events/s", "SQLite events/s", "raqam/SQLite", "how"]
        let table = rows.map { [$0.scenario, grouped($0.raqam), grouped($0.sqlite), String(format: "%.2f×", $0.raqam / $0.sqlite), $0.note] }
        var widths = header.map(\.count)
        for r in table { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                if i == cells.count - 1 { return c }
                let padding = String(repeating: " ", count: widths[i] - c.count)
                return (i == 0 ? c + padding : padding + c)
            }.joined(separator: "  ")
        }
        print(line(header))
        for r in table { print(line(r)) }
        print("ceilings measured in this run (what any log on this machine could reach):")
        func against(_ r: Double?) -> String { r.map { String(format: " = %.2f× SQLite's figure", $0) } ?? "" }
        print(String(format: "  pwrite of one frame after the last + fdatasync (preallocated file), median: %.0f µs → 1 producer ≤ %@/s%@", b.fdatasyncMicros,
                     grouped(b.single), against(b.ratio(b.single, "durable append, 1 producer"))))
        print(String(format: "  %d producers with one append in flight each: ≤ %d records per sync; %d frames + fdatasync, median %.0f µs → ≤ %@/s%@",
                     b.producers, b.producers, b.producers, b.groupSyncMicros, grouped(b.many), against(b.ratio(b.many, many))))
        print(String(format: "  per record: SHA-256 of the chain %.3f µs + copy into the page cache %.3f µs → bulk ≤ %@/s%@",
                     b.hashMicros, b.copyMicros, grouped(b.bulk), against(b.ratio(b.bulk, "bulk import"))))
        print(String(format: "peak RSS of the benchmark process: %.0f MiB", peakRSSMiB()))
    }

    var crcHardware: String { EventLog.checksumsInHardware ? "yes (SSE4.2)" : "no (table)" }

    /// `count` project.registered events over real districts, each with its own id.
    func makeRecords(_ count: Int) -> [BenchRecord] {
        let districts = ReferenceData.bundled.districts
        var out: [BenchRecord] = []
        out.reserveCapacity(count)
        let start = Timestamp(rfc3339: "2020-10-05T09:00:00+05:00")!
        for i in 0..<count {
            let d = districts[i % districts.count]
            let id = EventID(derivedFrom: "bench-\(i)")
            let e = Event(
                id: id, type: .projectRegistered, subject: d.key,
                occurredAt: Timestamp(micros: start.micros + Int64(i) * 60_000_000, offsetMinutes: 300),
                source: "hokimiyat-\(d.slug)",
                data: EventData(values: [.string("RP-\(d.code)-\(i)"), .string("regional"),
                                         .string("Digitalization of public services in \(d.nameEn): electronic document flow, online reception, open data"),
                                         .date(CalendarDate(days: 18992 + Int32(i % 500)))]))
            var idBytes: [UInt8] = []
            withUnsafeBytes(of: id.high.bigEndian) { idBytes += $0 }
            withUnsafeBytes(of: id.low.bigEndian) { idBytes += $0 }
            out.append(BenchRecord(id: idBytes, time: e.occurredAt.micros, payload: EventCodec.encode(e)))
        }
        return out
    }
}
