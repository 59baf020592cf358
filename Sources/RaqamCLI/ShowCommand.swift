import ArgumentParser
import Foundation
import Projections
import RaqamEngine
import RaqamModel
import RaqamStore

/// `--at` and `--known-at`, shared by the commands that answer as of a time.
struct AsOfOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Answer as of this time: only events that occurred by then; overdue and \"now\" are measured then. A day (2021-06-30, today), month or quarter means its end (Tashkent time); -1d, now and RFC 3339 times as journalctl takes them.", valueName: "time"), transform: timeArgument)
    var at: TimeExpression?

    @Option(parsing: .unconditional, help: ArgumentHelp("Answer with what the log had recorded by this time (the same forms).", valueName: "time"), transform: timeArgument)
    var knownAt: TimeExpression?

    func resolved() throws -> (at: Timestamp?, knownAt: Timestamp?, now: Timestamp) {
        let a = at?.byWhen
        let k = knownAt?.byWhen
        return (a, k, a ?? wallNow())
    }

    /// `at` and `known_at` as the HTTP API takes them (RFC 3339), for a remote server.
    var query: [(String, String?)] { [("at", at?.byWhen.rfc3339), ("known_at", knownAt?.byWhen.rfc3339)] }

    func replay(_ global: GlobalOptions) throws -> (state: ProjectionState, now: Timestamp, at: Timestamp?, knownAt: Timestamp?) {
        _ = try global.existingEventsDirectory()
        let (a, k, now) = try resolved()
        var line: ProgressLine?
        let outcome = try withStoreErrors {
            try Replay.run(stateDirectory: global.stateDirectory, at: a, knownAt: k) { position, end in
                if line == nil { line = ProgressLine("folding the log", total: Int64(end), unit: .events) }
                line?.update(Int64(position))
            }
        }
        line?.finish()
        for notice in outcome.notices { printError("raqamctl: \(notice)") }
        return (outcome.state, now, a, k)
    }
}

func writeMetricValue(_ v: MetricValue, into w: inout JSONWriter) { Queries.writeMetricValue(v, into: &w) }

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one entity's metrics: a region, district, city, organization or the nation.",
        discussion: """
            SUBJECT is a key (district:1703202, region:1703, org:ministry-justice, nation), a \
            slug of the reference data (andijan, andijan-district) or a registered name \
            ("Andijan District"). -o json prints the metrics nested by their dotted names, \
            the names rules use: {"projects": {"planned": 12, …}, …}.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var language: LanguageOptions
    @OptionGroup var asOf: AsOfOptions
    @OptionGroup var remote: RemoteOptions
    @Argument(help: ArgumentHelp("The entity: key, slug or name.", valueName: "subject")) var subject: String
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table

    func run() throws {
        if let server = try remote.remote() {
            let a = try server.get("/v1/subjects/" + RemoteServer.segment(subject) + RemoteServer.query(asOf.query))
            if output == .json { print(a.text.trimmingCharacters(in: .newlines)); return }
            let object = a.json as? [String: Any] ?? [:]
            let entity = object["entity"] as? [String: Any] ?? [:]
            print("\(entity["key"] as? String ?? subject)  \(entity["name"] as? String ?? "")  (\(entity["kind"] as? String ?? "")\((entity["parent"] as? String).map { " in \($0)" } ?? ""))")
            print("as of \(object["at"] as? String ?? "")\((object["known_at"] as? String).map { ", as recorded by \($0)" } ?? ""); log position \(object["position"] ?? "") (\(server.base))")
            print("")
            var rows: [[String]] = []
            func flatten(_ prefix: String, _ value: Any) {
                if let o = value as? [String: Any] {
                    for k in o.keys.sorted() { flatten(prefix.isEmpty ? k : prefix + "." + k, o[k]!) }
                } else {
                    rows.append([prefix, value is NSNull ? "none" : "\(value)"])
                }
            }
            for (k, v) in object where !["entity", "at", "known_at", "position"].contains(k) { flatten(k, v) }
            print(renderTable(["METRIC", "VALUE"], rows.sorted { $0[0] < $1[0] }))
            return
        }
        let (state, now, at, knownAt) = try asOf.replay(global)
        let key: EntityKey
        do { key = try SubjectResolver(state: state).resolve(subject) } catch {
            printError("raqamctl: \(error.description)")
            throw Exit.dataError
        }
        guard let m = state.metrics(for: key, now: now) else {
            printError("raqamctl: \(key) is not registered\(at.map { " as of \($0.rfc3339)" } ?? "")")
            throw Exit.dataError
        }
        if output == .json {
            print(Queries.subjectJSON(state: state, key: key, now: now, knownAt: knownAt)!)
            return
        }
        print("\(key)  \(language.name(of: key, fallback: m.name))  (\(m.kind)\(m.parent.map { " in \($0)" } ?? ""))")
        print("as of \(now.rfc3339)\(at == nil ? " (now)" : "")\(knownAt.map { ", as recorded by \($0.rfc3339)" } ?? ""); log position \(state.position)")
        print("")
        print(renderTable(["METRIC", "VALUE"], m.values.map { [$0.name, $0.value.description] }))
    }
}

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "One row per region, district and city, or organization, with the key metrics; sortable.",
        discussion: """
            --sort takes a metric name (projects.completion); rows go in ascending order, or \
            descending with --descending; entities without a value come last. -o csv prints \
            every metric of the scope as a column, for spreadsheets.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var language: LanguageOptions
    @OptionGroup var asOf: AsOfOptions
    @Option(help: "region, district or org.") var scope: ScopeArgument = .region
    @Option(help: ArgumentHelp("Sort by this metric, ascending.", valueName: "metric")) var sort: String?
    @Flag(help: "Sort descending.") var descending = false
    @Option(name: .shortAndLong, help: "Output format: table, json, ndjson or csv.") var output: OutputFormat = .table

    func validate() throws {
        if let name = sort {
            guard MetricCatalog.spec(name) != nil else {
                throw ValidationError("--sort: unknown metric \"\(name)\"; see `raqamctl show nation` for the names")
            }
        }
    }

    func run() throws {
        let (state, now, _, _) = try asOf.replay(global)
        var rows = state.keys(of: scope.kind).compactMap { state.metrics(for: $0, now: now) }.map { m in
            var m = m
            m.name = language.name(of: m.key, fallback: m.name)
            return m
        }
        if let name = sort {
            rows.sort { a, b in
                switch (a[name]?.number, b[name]?.number) {
                case (let x?, let y?): return descending ? x > y : x < y
                case (_?, nil): return true
                default: return false
                }
            }
        }
        let out = Output()
        switch output {
        case .csv:
            let names = rows.first?.values.map(\.name) ?? []
            out.line((["key", "name", "kind", "parent"] + names).joined(separator: ","))
            for m in rows {
                out.line(([m.key.description, m.name, m.kind, m.parent?.description ?? ""] + m.values.map { csvValue($0.value) }).map(csvField).joined(separator: ","))
            }
        case .json, .ndjson:
            if output == .json { out.line("[") }
            for (i, m) in rows.enumerated() {
                var w = JSONWriter()
                w.beginObject()
                w.key("key"); w.string(m.key.description)
                w.key("name"); w.string(m.name)
                w.key("kind"); w.string(m.kind)
                Queries.writeNestedMetrics(m.values, into: &w)
                w.endObject()
                out.line((output == .json && i > 0 ? "," : "") + w.text)
            }
            if output == .json { out.line("]") }
        case .table:
            let columns = ["projects.planned", "projects.implemented", "projects.completion", "projects.overdue",
                           "roadmap.approved", "portal.launched", "staff.trained_share", "assessment.score", "activity.last_event"]
                .filter { MetricCatalog.spec($0)?.scopes.contains(scope.kind) ?? false }
            let header = ["KEY", "NAME"] + ["PLANNED", "IMPL", "DONE", "OVERDUE", "ROADMAP", "PORTAL", "TRAINED", "SCORE", "LAST EVENT"]
            out.line(renderTable(header, rows.map { m in
                [m.key.description, m.name] + columns.map { c in
                    switch m[c] ?? .none {
                    case .number(let v) where c.hasSuffix("completion") || c.hasSuffix("share"): String(format: "%.0f%%", v * 100)
                    case .time(let t): String(t.rfc3339.prefix(10))
                    case let v: v.description
                    }
                }
            }))
        }
    }
}

/// A metric value in a CSV cell: empty for no data.
func csvValue(_ v: MetricValue) -> String { Queries.csvValue(v) }

/// `--scope region|district|org`.
enum ScopeArgument: String, ExpressibleByArgument, CaseIterable {
    case region, district, org
    var kind: EntityKey.Kind {
        switch self {
        case .region: .region
        case .district: .district
        case .org: .org
        }
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Rebuild the projections from the log and report how long it took.",
        discussion: """
            Starts from the newest valid snapshot (snapshots/ in the state directory) unless \
            --no-snapshots; --write-snapshot saves one at the end, so later commands fold only \
            the events after it. With --until, only events that occurred by then are folded \
            (as `show --at` does), and no snapshot is written.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Fold only events that occurred by this time (a day: its end).", valueName: "time"), transform: timeArgument) var until: TimeExpression?
    @Flag(help: "Ignore snapshots: fold the whole log.") var noSnapshots = false
    @Flag(help: "Write a snapshot of the result.") var writeSnapshot = false
    @Option(help: ArgumentHelp("While replaying, write a snapshot every this many events.", valueName: "n")) var snapshotEvery: Int?
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table

    func validate() throws {
        if until != nil && (writeSnapshot || snapshotEvery != nil) {
            throw ValidationError("a snapshot must fold every event: --until cannot go with --write-snapshot or --snapshot-every")
        }
        if let n = snapshotEvery, n < 1 { throw ValidationError("--snapshot-every takes a positive number of events") }
    }

    func run() throws {
        _ = try global.existingEventsDirectory()
        let at = until?.byWhen
        var line: ProgressLine?
        let r = try withStoreErrors {
            try Replay.run(stateDirectory: global.stateDirectory, at: at, useSnapshots: !noSnapshots, snapshotEvery: snapshotEvery) { position, end in
                if line == nil { line = ProgressLine("replaying", total: Int64(end), unit: .events) }
                line?.update(Int64(position))
            }
        }
        line?.finish()
        for notice in r.notices { printError("raqamctl: \(notice)") }
        var written: String?
        if writeSnapshot {
            written = try withStoreErrors { try SnapshotStore(stateDirectory: global.stateDirectory).write(r.state) }
        }
        let entities = EntityKey.Kind.allCases.reduce(0) { $0 + r.state.keys(of: $1).count }
        let rate = r.seconds > 0 ? Double(r.scanned) / r.seconds : 0
        if output == .json {
            var w = JSONWriter()
            w.beginObject()
            w.key("events"); w.integer(r.state.eventCount)
            w.key("position"); w.integer(r.state.position)
            w.key("from_snapshot"); if let p = r.snapshotPosition { w.integer(p) } else { w.null() }
            w.key("folded"); w.integer(r.scanned)
            w.key("entities"); w.integer(entities)
            w.key("seconds"); w.number((r.seconds * 1e6).rounded() / 1e6)
            w.key("events_per_second"); w.number(rate.rounded())
            w.key("snapshot_written"); if let written { w.string(written) } else { w.null() }
            w.endObject()
            print(w.text)
        } else {
            let from = r.snapshotPosition.map { "from the snapshot at seq \($0), then " } ?? ""
            print("replayed \(from)\(r.scanned) events up to log position \(r.state.position) (\(r.state.eventCount) in all) into \(entities) entities in \(String(format: "%.3f", r.seconds)) s (\(Int(rate)) events/s)")
            if let written { print("wrote the snapshot \(written)") }
        }
    }
}
