import ArgumentParser
import Foundation
import Glibc
import Projections
import RaqamModel
import RaqamStore

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print stored events, filtered, in log order.",
        discussion: """
            --since and --until filter on occurred_at (when the reported thing happened). They \
            take times as journalctl does: now, today, yesterday, -1d, -2w, 2021, 2021-Q2, \
            2021-06, 2021-06-30, "2021-06-30 12:00", RFC 3339 with or without an offset \
            (Tashkent's, UTC+05:00, when none); a day, month or quarter starts --since at its \
            first microsecond and ends --until at its last. --after-seq starts after a sequence number (resume from the last one you saw). \
            --follow keeps printing events as they are appended, until interrupted.
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var remote: RemoteOptions

    @Option(name: .customLong("type"), help: ArgumentHelp("Only events of this type (repeatable).", valueName: "type"))
    var types: [String] = []

    @Option(name: .customLong("subject"), help: ArgumentHelp("Only events about this subject: a key (district:1703202), a slug or a name in English, Uzbek or Russian (repeatable).", valueName: "subject"))
    var subjects: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Only events that occurred at or after this time (a day: its start; -1d, today, 2021-06, RFC 3339 as journalctl takes them).", valueName: "time"), transform: timeArgument) var since: TimeExpression?
    @Option(parsing: .unconditional, help: ArgumentHelp("Only events that occurred at or before this time (a day: its end).", valueName: "time"), transform: timeArgument) var until: TimeExpression?
    @Option(help: ArgumentHelp("Only events after this sequence number.", valueName: "seq")) var afterSeq: UInt64 = 0
    @Option(help: ArgumentHelp("Print at most this many events.", valueName: "n")) var limit: Int?
    @Option(name: [.customShort("n"), .customLong("lines")], help: ArgumentHelp("Print the last n matching events (in log order), as journalctl -n; with --follow, then the new ones.", valueName: "n")) var lines: Int?
    @Flag(help: "Keep printing new events as they are appended.") var follow = false
    @Option(name: .shortAndLong, help: "Output format: table, json, ndjson or csv.") var output: OutputFormat = .table

    func validate() throws {
        for t in types where EventType(rawValue: t) == nil {
            throw ValidationError("--type: unknown event type \"\(t)\"; expected one of \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        _ = try subjectKeys()
        if follow && output == .json { throw ValidationError("--follow writes a stream: use -o ndjson, table or csv") }
        if let lines, lines < 0 { throw ValidationError("--lines: expected a count of 0 or more, not \(lines)") }
        if lines != nil && limit != nil { throw ValidationError("--lines takes the last events, --limit the first: give one of them") }
    }

    /// The --subject values as keys: each a key, a slug or a name of the reference data (in any
    /// of its three languages).
    func subjectKeys() throws -> [EntityKey] {
        let resolver = SubjectResolver()
        var keys: [EntityKey] = []
        for text in subjects {
            do { keys.append(try resolver.resolve(text)) } catch { throw ValidationError("--subject: \(error.description)") }
        }
        return keys
    }

    func run() throws {
        if let server = try remote.remote() { return try runRemotely(server) }
        _ = try global.existingEventsDirectory()
        let typeFilter = Set(types.compactMap(EventType.init(rawValue:)))
        let subjectFilter = Set(try subjectKeys())
        let from = since?.fromWhen.micros ?? .min
        let to = until?.byWhen.micros ?? .max
        let range: ClosedRange<Int64>? = (since == nil && until == nil) ? nil : from...max(from, to)
        let reader = StoredEventReader(stateDirectory: global.stateDirectory)
        let out = Output()
        var printed = 0
        var rows: [[String]] = []
        if output == .json { out.line("[") }
        if output == .csv { out.line("seq,id,type,subject,occurred_at,recorded_at,source,data") }
        var next = afterSeq + 1
        signal(SIGPIPE, SIG_DFL)
        func matches(_ s: StoredEvent) -> Bool {
            (typeFilter.isEmpty || typeFilter.contains(s.event.type)) && (subjectFilter.isEmpty || subjectFilter.contains(s.event.subject))
        }
        func emit(_ s: StoredEvent) {
            printed += 1
            switch output {
            case .ndjson: out.line(EventJSON.line(s))
            case .json: out.line((printed > 1 ? "," : "") + EventJSON.line(s))
            case .csv: out.line(Self.csvRow(s))
            case .table:
                let row = [String(s.seq), s.event.occurredAt.rfc3339, s.event.type.rawValue, s.event.subject.description, Self.dataSummary(s.event)]
                if follow { out.line(row.joined(separator: "  ")) } else { rows.append(row) }
            }
        }
        if let lines {
            // The last n: read newest first up to the log's end as it is now, then printed in
            // log order; --follow goes on from that end.
            let end = try withStoreErrors { try reader.lastSeq() }
            var newest: [StoredEvent] = []
            if lines > 0 {
                let filter: StoredEventReader.SubjectFilter = subjectFilter.count == 1 ? .subject(subjectFilter.first!) : .all
                try withStoreErrors {
                    try reader.scanNewestFirst(filter: filter, through: end, occurredBy: until?.byWhen.micros, recordedBy: nil) { s in
                        guard s.seq > afterSeq else { return false }
                        if matches(s), s.event.occurredAt.micros >= from { newest.append(s) }
                        return newest.count < lines
                    }
                }
            }
            newest.reversed().forEach(emit)
            next = max(next, end + 1)
        }
        while lines == nil || follow {
            let last = try withStoreErrors {
                try reader.scan(from: next, occurred: range) { s in
                    guard matches(s) else { return true }
                    if let limit, printed >= limit { return false }
                    emit(s)
                    return true
                }
            }
            next = max(next, last + 1)
            if !follow || (limit.map { printed >= $0 } ?? false) { break }
            out.flush()
            usleep(200_000)
        }
        if output == .json { out.line("]") }
        if output == .table && !follow {
            out.line(rows.isEmpty ? "no events" : renderTable(["SEQ", "OCCURRED_AT", "TYPE", "SUBJECT", "DATA"], rows))
        }
    }

    static func dataSummary(_ e: Event) -> String {
        zip(e.type.schema.fields, e.data.values).compactMap { spec, v in
            v.map { "\(spec.name)=\(display($0))" }
        }.joined(separator: " ")
    }

    static func display(_ v: FieldValue) -> String {
        switch v {
        case .string(let s): s.contains(" ") ? "\"\(s)\"" : s
        case .integer(let n): String(n)
        case .number(let d): formatNumberForDisplay(d)
        case .boolean(let b): String(b)
        case .date(let d): d.description
        }
    }

    static func formatNumberForDisplay(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    static func csvRow(_ s: StoredEvent) -> String {
        var data = JSONWriter()
        EventJSON.writeData(s.event, into: &data)
        return [String(s.seq), s.event.id?.description ?? "", s.event.type.rawValue, s.event.subject.description,
                s.event.occurredAt.rfc3339, s.recordedAt.rfc3339, s.event.source ?? "", data.text].map(csvField).joined(separator: ",")
    }
}

extension EventsCommand {
    /// The events from `GET /v1/events`, page after page (by seq), filtered as locally.
    func runRemotely(_ server: RemoteServer) throws {
        if follow { throw ValidationError("--follow works on the local machine only (over HTTP: page with --after-seq)") }
        let keys = try subjectKeys()
        let from = since?.fromWhen.micros
        var after = afterSeq
        var printed = 0
        if output == .json { print("[", terminator: "") }
        if output == .table { print(renderTable(["SEQ", "TYPE", "SUBJECT", "OCCURRED_AT"], [])) }
        pages: while true {
            let a = try server.get("/v1/events" + RemoteServer.query([
                ("after_seq", String(after)), ("limit", "10000"), ("at", until?.byWhen.rfc3339),
                ("type", types.count == 1 ? types[0] : nil), ("subject", keys.count == 1 ? keys[0].description : nil)]))
            for line in a.text.split(separator: "\n") {
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                if !types.isEmpty, !types.contains(o["type"] as? String ?? "") { continue }
                if !keys.isEmpty, !keys.contains(where: { $0.description == o["subject"] as? String }) { continue }
                if let from, let t = (o["occurred_at"] as? String).flatMap({ Timestamp(rfc3339: $0) }), t.micros < from { continue }
                printed += 1
                switch output {
                case .ndjson: print(line)
                case .json: print((printed > 1 ? ",\n" : "") + line, terminator: "")
                default: print("\(o["seq"] ?? "")  \(o["type"] ?? "")  \(o["subject"] ?? "")  \(o["occurred_at"] ?? "")")
                }
                if let limit, printed >= limit { break pages }
            }
            guard let next = a.headers.first(name: "Raqam-Next-After-Seq").flatMap({ UInt64($0) }) else { break }
            after = next
        }
        if output == .json { print("]") }
    }
}
