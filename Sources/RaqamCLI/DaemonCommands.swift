import ArgumentParser
import Foundation
import RaqamControl
import RaqamEngine
import RaqamModel
import Rules

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Ask the running raqamd for its position, firing and pending alerts, rules and clock.",
        discussion: """
            position is the last acknowledged (durable) event, evaluated the last one the \
            evaluator has folded (acknowledgements do not wait for evaluation); owed and \
            degraded say when alert delivery is failing and being retried. --wait first waits \
            (up to 60 s) until everything acknowledged is evaluated and delivered. Exits 74 \
            when no raqamd listens on --socket, 1 when --wait timed out.
            """
    )

    @OptionGroup var global: SocketOptions
    @OptionGroup var remote: RemoteOptions
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table
    @Flag(help: "Wait until raqamd has evaluated and delivered everything acknowledged so far.") var wait = false

    func run() throws {
        if let server = try remote.remote() {
            let reply = try server.get("/v1/status").text.trimmingCharacters(in: .newlines)
            if output == .json { print(reply); return }
            guard let s = ControlStatus(json: reply) else {
                printError("raqamctl: \(server.base) answered status with \(reply)")
                throw Exit.ioError
            }
            printStatus(s)
            return
        }
        guard let daemon = try controlClient(global.socketPath, toDo: "ask raqamd's status") else {
            printError("raqamctl: no raqamd listens on \(global.socketPath)")
            throw Exit.ioError
        }
        if wait, let problem = ControlProtocol.errorText(try daemon.request(.sync)) {
            printError("raqamctl: \(problem)")
            throw Exit.findings
        }
        let reply = try daemon.request(.status)
        if output == .json { print(reply); return }
        guard let s = ControlStatus(json: reply) else {
            printError("raqamctl: raqamd answered status with \(reply)")
            throw Exit.ioError
        }
        printStatus(s)
    }

    func printStatus(_ s: ControlStatus) {
        for (k, v) in [("position", "\(s.position)"), ("evaluated", "\(s.evaluated)"), ("firing", "\(s.firing)"), ("pending", "\(s.pending)"),
                       ("rules", "\(s.rules)"), ("clock", s.clock), ("owed", "\(s.owed)"), ("degraded", s.degraded ?? "no")] {
            print("\(k.padding(toLength: 9, withPad: " ", startingAt: 0))  \(v)")
        }
    }
}

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running raqamd load its rules again (as SIGHUP does).",
        discussion: "Prints the problems and exits 65 when the new rule set is broken (the old rules keep running); 74 when no raqamd listens."
    )

    @OptionGroup var global: SocketOptions

    func run() throws {
        guard let daemon = try controlClient(global.socketPath, toDo: "reload raqamd's rules") else {
            printError("raqamctl: no raqamd listens on \(global.socketPath)")
            throw Exit.ioError
        }
        guard let problems = ControlProtocol.errorText(try daemon.request(.reload)) else { print("raqamd reloaded its rules"); return }
        for problem in problems.components(separatedBy: "; ") { printError(problem) }
        printError("raqamctl: raqamd refused the new rules; the old ones keep running")
        throw Exit.dataError
    }
}

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "What raqamd reported: the alert log's transitions, or the alerts firing now.",
        discussion: """
            Reads <state-dir>/alerts/ (no daemon needed; safe while it runs; when raqamd listens \
            on --socket, after it has evaluated what it acknowledged). Without flags: \
            the latest transition of every alert. --firing: only alerts whose latest \
            transition is firing, each with its value, summary and annotations as they are now \
            (the log folded to the present with --rules, --clock and --interval, as raqamd \
            folds it), not as they were when it fired. --history: every transition, oldest \
            first. -o json prints {alert_id, rule, subject, name, scope, region, severity, \
            state, active_since, at, value, summary, description, labels, annotations, \
            event_seq} objects.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var language: LanguageOptions
    @OptionGroup var remote: RemoteOptions
    @OptionGroup var evaluation: EvaluationOptions
    @Flag(help: "Only alerts firing now.") var firing = false
    @Flag(help: "Every transition, oldest first.") var history = false
    @Option(name: .shortAndLong, help: "Output format: table, json, ndjson or csv.") var output: OutputFormat = .table

    func run() throws {
        if let server = try remote.remote() {
            let a = try server.get("/v1/alerts" + RemoteServer.query([("state", firing ? "firing" : "all"), ("history", history ? "true" : nil)]))
            let rows = a.json as? [[String: Any]] ?? []
            switch output {
            case .json: print(a.text.trimmingCharacters(in: .newlines))
            case .ndjson:
                for o in rows { print(String(decoding: (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])) ?? Data(), as: UTF8.self)) }
            case .csv:
                print(csvRows(rows, columns: ["alert_id", "rule", "subject", "name", "state", "active_since", "at", "value", "summary"]), terminator: "")
            case .table:
                print(renderTable(["STATE", "ALERT", "SUBJECT", "SINCE", "AT", "SUMMARY"], rows.map { o in
                    ["state", "rule", "subject", "active_since", "at", "summary"].map { k in
                        let v = o[k] as? String ?? ""
                        return k == "active_since" ? String(v.prefix(10)) : v
                    }
                }))
                print("\(plural(rows.count, history ? "transition" : "alert")) (\(server.base))")
            }
            return
        }
        // Read after write: when raqamd runs, let it finish evaluating what it acknowledged.
        if let daemon = ControlClient(path: global.socketPath), let reply = try? daemon.request(.sync), let problem = ControlProtocol.errorText(reply) {
            printError("raqamctl: raqamd has not caught up (\(problem)); showing the alert log as it is")
        }
        guard FileManager.default.fileExists(atPath: global.stateDirectory) else {
            printError("raqamctl: no state directory \(global.stateDirectory) (raqamctl init makes one; --state-dir names another)")
            throw Exit.ioError
        }
        var rows: [AlertRecord]
        if !FileManager.default.fileExists(atPath: AlertLog.directory(global.stateDirectory)) {
            // raqamd has not run here yet: it has reported nothing, which is an empty list.
            printError("raqamctl: no alert log in \(global.stateDirectory) yet: raqamd has not run there, so it has reported no alert")
            rows = []
        } else if firing && !history {
            let (rules, clock, step) = try evaluation.resolved(stateDirectory: global.stateDirectory)
            rows = try withStoreErrors {
                try Queries.firingNow(stateDirectory: global.stateDirectory, rules: rules, clock: clock, interval: step,
                                      now: Int64(Date().timeIntervalSince1970 * 1_000_000))
            }
        } else {
            rows = try Queries.alertRecords(stateDirectory: global.stateDirectory, history: history, firingOnly: firing)
        }
        rows = rows.map { r in
            var r = r
            r.entityName = language.name(of: r.entity, fallback: r.entityName)
            return r
        }
        func time(_ t: Int64) -> String { Timestamp(micros: t, offsetMinutes: 300).rfc3339 }
        switch output {
        case .json, .ndjson:
            let objects = rows.map(Queries.alertJSON)
            print(output == .json ? "[" + objects.joined(separator: ",\n") + "]" : objects.joined(separator: "\n"))
        case .csv:
            print("alert_id,rule,subject,name,state,active_since,at,value,summary")
            for r in rows {
                // The value as lagging's CSV writes it: a flag true/false, none empty.
                let value = ["yes": "true", "no": "false", "-": ""][r.value] ?? r.value
                print([r.alertID, r.rule, r.entity.description, r.entityName, r.state.rawValue, time(r.activeSince), time(r.at), value, r.summary].map(csvField).joined(separator: ","))
            }
        case .table:
            print(renderTable(["STATE", "ALERT", "SUBJECT", "SINCE", "AT", "SUMMARY"], rows.map {
                [$0.state.rawValue, $0.rule, $0.entity.description, CalendarDate(tashkentDayOf: Timestamp(micros: $0.activeSince)).description,
                 Timestamp(micros: $0.at, offsetMinutes: 300).rfc3339, $0.summary]
            }))
            print("\(plural(rows.count, history ? "transition" : "alert"))")
        }
    }
}
