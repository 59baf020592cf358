import ArgumentParser
import Foundation
import RaqamModel
import RaqamStore

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Describe the log: segments, size, sequence range, times, events per type, registered entities."
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table

    func run() throws {
        let dir = try global.existingEventsDirectory()
        var perType: [EventType: Int] = [:]
        var entities: [String: Int] = [:]
        var count = 0
        var first: StoredEvent?, last: StoredEvent?
        try withStoreErrors {
            try StoredEventReader(stateDirectory: global.stateDirectory).scan { s in
                count += 1
                perType[s.event.type, default: 0] += 1
                if s.event.type == .entityRegistered, let kind = s.event[field: "kind"]?.string { entities[kind, default: 0] += 1 }
                if first == nil { first = s }
                last = s
                return true
            }
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let segments = files.filter { $0.hasSuffix(".seg") }
        let bytes = files.reduce(0) { total, f in
            total + ((try? FileManager.default.attributesOfItem(atPath: dir + "/" + f)[.size] as? Int) ?? 0)
        }
        if output == .json {
            var w = JSONWriter()
            w.beginObject()
            w.key("state_dir"); w.string(global.stateDirectory)
            w.key("segments"); w.integer(segments.count)
            w.key("bytes_on_disk"); w.integer(bytes)
            w.key("events"); w.integer(count)
            w.key("first_seq"); w.integer(first?.seq ?? 0)
            w.key("last_seq"); w.integer(last?.seq ?? 0)
            w.key("first_recorded_at"); if let f = first { w.string(f.recordedAt.rfc3339) } else { w.null() }
            w.key("last_recorded_at"); if let l = last { w.string(l.recordedAt.rfc3339) } else { w.null() }
            w.key("events_by_type"); w.beginObject()
            for t in EventType.allCases where perType[t] != nil { w.key(t.rawValue); w.integer(perType[t]!) }
            w.endObject()
            w.key("registered"); w.beginObject()
            for k in entities.keys.sorted() { w.key(k); w.integer(entities[k]!) }
            w.endObject()
            w.endObject()
            print(w.text)
            return
        }
        print("state dir      \(global.stateDirectory)")
        print("segments       \(segments.count) (\(bytes / 1024) KiB on disk, preallocated)")
        print("events         \(count)" + (count > 0 ? " (seq \(first!.seq)…\(last!.seq))" : ""))
        if let f = first, let l = last { print("recorded       \(f.recordedAt.rfc3339) … \(l.recordedAt.rfc3339)") }
        print("registered     " + (entities.isEmpty ? "none" : entities.keys.sorted().map { "\(entities[$0]!) \($0)" }.joined(separator: ", ")))
        if !perType.isEmpty {
            print("")
            print(renderTable(["TYPE", "EVENTS"], EventType.allCases.filter { perType[$0] != nil }.map { [$0.rawValue, String(perType[$0]!)] }))
        }
    }
}
