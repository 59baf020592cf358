import ArgumentParser
import Foundation
import Projections
import RaqamModel
import RaqamStore
import RaqamEngine
import Rules

struct LaggingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lagging",
        abstract: "Who is flagged: the alerts firing at a time, by rule, with the value and since when; grouped by region.",
        discussion: """
            Folds the log in order and evaluates the rules as the daemon does (after each batch \
            for the entities it touched, at every tick of the evaluation grid for all), so \
            pending, firing and active_since come out as they would in raqamd at that time. \
            With the wall clock, events count from when they were recorded; with the events \
            clock, from when they occurred (see docs/rules.md, "Evaluation time"). When raqamd \
            left an engine snapshot taken under the same rules, clock and step and evaluated by \
            --at, the fold starts there and reads only the log after it. \
            -o json prints an array of {rule, subject, name, scope, region, severity, state, \
            value, active_since, fired_at, summary}.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var language: LanguageOptions
    @OptionGroup var remote: RemoteOptions
    @OptionGroup var evaluation: EvaluationOptions
    @Option(parsing: .unconditional, help: ArgumentHelp("Evaluate at this time (default: now). A day (2021-06-30, yesterday), month or quarter means its end (Tashkent time); -1d and RFC 3339 times as journalctl takes them.", valueName: "time"), transform: timeArgument)
    var at: TimeExpression?
    @Option(help: "Only entities of this scope: nation, region, district or org.") var scope: LaggingScope?
    @Flag(help: "Include pending alerts (condition holds, waiting for the rule's 'for').") var pending = false
    @Flag(help: "Fold the whole log instead of starting from raqamd's engine snapshot (the answer is the same; this is for checking that).")
    var noSnapshot = false
    @Option(name: .shortAndLong, help: "Output format: table, json, ndjson or csv.") var output: OutputFormat = .table

    func run() throws {
        if let server = try remote.remote() {
            // The server's rules, clock and step: the answer raqamd itself gives.
            let a = try server.get("/v1/lagging" + RemoteServer.query([("at", at?.byWhen.rfc3339), ("scope", scope?.rawValue), ("pending", pending ? "true" : nil)]))
            let alerts = a.json as? [[String: Any]] ?? []
            switch output {
            case .json: Swift.print(a.text.trimmingCharacters(in: .newlines))
            case .ndjson:
                for o in alerts { Swift.print(String(decoding: (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data(), as: UTF8.self)) }
            case .csv:
                Swift.print(csvRows(alerts, columns: ["rule", "subject", "name", "scope", "region", "severity", "state", "value", "active_since", "fired_at", "summary"]), terminator: "")
            case .table:
                Swift.print(renderTable(["SUBJECT", "ALERT", "SEVERITY", "VALUE", "SINCE", "SUMMARY"], alerts.map { o in
                    [o["subject"] as? String ?? "", (o["rule"] as? String ?? "") + (o["state"] as? String == "pending" ? " (pending)" : ""),
                     o["severity"] as? String ?? "", o["value"].map { $0 is NSNull ? "none" : "\($0)" } ?? "", String((o["active_since"] as? String ?? "").prefix(10)),
                     o["summary"] as? String ?? ""]
                }, colour: severityColour(column: 2)))
                Swift.print("\(plural(alerts.count, "alert")) (\(server.base))")
            }
            return
        }
        _ = try global.existingEventsDirectory()
        let (rules, clock, step) = try evaluation.resolved(stateDirectory: global.stateDirectory)
        let t = (at?.byWhen ?? wallNow()).micros
        var line: ProgressLine?
        let found = try withStoreErrors {
            try Queries.lagging(stateDirectory: global.stateDirectory, rules: rules, clock: clock, interval: step, at: t,
                                includePending: pending, useSnapshot: !noSnapshot) { position, end in
                if line == nil { line = ProgressLine("evaluating the rules over the log", total: Int64(end), unit: .events) }
                line?.update(Int64(position))
            }
        }
        line?.finish()
        for n in found.notices { printError("raqamctl: \(n)") }
        if found.state.position == 0 {
            printError("raqamctl: no event counts by \(Timestamp(micros: t, offsetMinutes: 300)) on the \(clock.rawValue) clock"
                       + (clock == .wall ? "; --clock events evaluates events from when they occurred" : ""))
        }
        var alerts = found.alerts.map { a in
            var a = a
            a.entityName = language.name(of: a.entity, fallback: a.entityName)
            return a
        }
        if let scope { alerts = alerts.filter { $0.entity.kind == scope.kind } }
        print(alerts, state: found.state, at: t, clock: clock)
    }

    func print(_ alerts: [AlertReport], state: ProjectionState, at t: Int64, clock: EvaluationClock) {
        let out = Output()
        func time(_ micros: Int64?) -> String? { micros.map { Timestamp(micros: $0, offsetMinutes: 300).rfc3339 } }
        switch output {
        case .json, .ndjson:
            for (i, a) in alerts.enumerated() {
                let text = Queries.laggingJSON(a)
                if output == .ndjson {
                    out.line(text)
                } else {
                    out.line((i == 0 ? "[" : ",") + text)
                }
            }
            if output == .json { out.line(alerts.isEmpty ? "[]" : "]") }
        case .csv:
            Swift.print(Queries.laggingCSV(alerts), terminator: "")
        case .table:
            // Grouped: the nation, each region (its own alerts and its districts'), then organizations.
            func group(_ a: AlertReport) -> (Int, String) {
                switch a.entity.kind {
                case .nation: (0, "")
                case .region, .district: (1, a.region?.description ?? "")
                case .org: (2, "")
                }
            }
            let groups = Dictionary(grouping: alerts, by: { "\(group($0).0) \(group($0).1)" }).sorted { $0.key < $1.key }
            for (_, members) in groups {
                let first = members[0]
                let title: String
                switch first.entity.kind {
                case .nation: title = "Nation"
                case .org: title = "Organizations"
                case .region, .district:
                    let key = first.region
                    title = "\(key.flatMap { k in state.name(of: k).map { language.name(of: k, fallback: $0) } } ?? key?.description ?? "?") (\(key?.description ?? "?"))"
                }
                let entities = Set(members.map(\.entity)).count
                out.line("\(title): \(entities) flagged")
                let rows = members.sorted { ($0.entity, $0.rule.name) < ($1.entity, $1.rule.name) }.map { a in
                    ["  " + a.entity.description, a.rule.name + (a.state == .pending ? " (pending)" : ""), a.rule.severity.rawValue,
                     tableValue(a.value), CalendarDate(tashkentDayOf: Timestamp(micros: a.activeSince)).description, a.summary]
                }
                out.line(renderTable(["  SUBJECT", "ALERT", "SEVERITY", "VALUE", "SINCE", "SUMMARY"], rows, colour: severityColour(column: 2)))
                out.line("")
            }
            let firing = alerts.filter { $0.state == .firing }
            func count(_ kind: EntityKey.Kind) -> Int { Set(firing.filter { $0.entity.kind == kind }.map(\.entity)).count }
            // With --pending the pending ones are counted too; the subjects counted are those with a firing alert.
            let waiting = pending ? " and \(alerts.count - firing.count) pending" : ""
            let districts = count(.district) == 1 ? "1 district or city" : "\(count(.district)) districts and cities"
            out.line("\(plural(firing.count, "alert")) firing\(waiting): \(plural(count(.org), "organization")), \(districts), \(plural(count(.region), "region"))\(count(.nation) > 0 ? ", the nation" : "") (at \(time(t)!), \(clock.rawValue) clock)")
        }
        out.flush()
    }
}

/// A value in the table: times as their day, numbers as `show` prints them.
func tableValue(_ v: MetricValue) -> String {
    if case .time(let t) = v { return CalendarDate(tashkentDayOf: t).description }
    return v.description
}

enum LaggingScope: String, ExpressibleByArgument, CaseIterable {
    case nation, region, district, org
    var kind: EntityKey.Kind {
        switch self {
        case .nation: .nation
        case .region: .region
        case .district: .district
        case .org: .org
        }
    }
}

