import ArgumentParser
import Foundation
import Projections
import RaqamEngine
import RaqamModel
import Rules

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Why a subject is flagged: each alert's expression with the value of every clause and metric, and the events behind each value.",
        discussion: """
            Explains the alerts pending or firing for SUBJECT at --at (default now), or RULE \
            alone whether or not it flags the subject. Each clause of the rule's and/or is \
            shown with its value; each metric it reads with its value and the events that \
            produced it (about the subject, and for a region its districts and cities; of the \
            types that move the metric; occurred by --at and recorded by --known-at), newest \
            first with their seq (raqamctl events shows them whole). Alerts are evaluated as \
            raqamctl lagging does (--rules, --clock, --interval); the figures are as of --at, as \
            known at --known-at. -o json prints an array of {rule, subject, at, holds, state, \
            active_since, expression, clauses [{text, value, holds, depth}], metrics [{metric, \
            value, events_total, events [{seq, type, subject, occurred_at, recorded_at, \
            source}]}]}, as GET /v1/explain does.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var asOf: AsOfOptions
    @OptionGroup var evaluation: EvaluationOptions
    @Argument(help: ArgumentHelp("The entity: key, slug or name.", valueName: "subject")) var subject: String
    @Argument(help: ArgumentHelp("One rule (alert name) to explain.", valueName: "rule")) var rule: String?
    @Option(name: .shortAndLong, help: "Output format: table or json.") var output: ReportFormat = .table

    func run() throws {
        let (rules, clock, step) = try evaluation.resolved(stateDirectory: global.stateDirectory)
        if let rule, !rules.rules.contains(where: { $0.name == rule }) {
            printError("raqamctl: no rule \(rule) in \(try evaluation.ruleOptions.paths().joined(separator: ", "))\(NearMiss.suggestion(rule, among: rules.rules.map(\.name), quote: "'"))")
            throw Exit.dataError
        }
        let (state, now, at, knownAt) = try asOf.replay(global)
        let key: EntityKey
        do { key = try SubjectResolver(state: state).resolve(subject) } catch {
            printError("raqamctl: \(error.description)")
            throw Exit.dataError
        }
        // The projections replayed once (above): for the subject and for the explanation.
        let found = try withStoreErrors {
            let alerts = try Queries.lagging(stateDirectory: global.stateDirectory, rules: rules, clock: clock, interval: step, at: now.micros,
                                             includePending: true).alerts
            return try Queries.explain(state: state, alerts: alerts, rules: rules, stateDirectory: global.stateDirectory, subject: key, rule: rule,
                                       at: now.micros, foldedBy: at?.micros, knownAt: knownAt)
        }
        guard let found else {
            printError("raqamctl: \(key) is not registered\(at.map { " as of \($0.rfc3339)" } ?? "")")
            throw Exit.dataError
        }
        if output == .json {
            print("[" + found.map(Queries.explanationJSON).joined(separator: ",\n") + "]")
            return
        }
        let name = state.name(of: key) ?? key.description
        if found.isEmpty {
            print("\(name) (\(key)) is not flagged at \(now.rfc3339); raqamctl explain \(key) RULE explains one rule anyway")
            return
        }
        for x in found {
            let e = x.explanation
            let state = x.alert.map { "\($0.state.rawValue) since \(Timestamp(micros: $0.activeSince, offsetMinutes: 300).rfc3339)" } ?? "not flagged"
            print("\(e.rule.name) for \(name) (\(key)) at \(Timestamp(micros: e.at, offsetMinutes: 300).rfc3339): \(state)")
            print(renderTable(["CLAUSE", "VALUE"], e.clauses.map { [String(repeating: "  ", count: $0.depth + 1) + $0.text, $0.value] }))
            for m in x.evidence {
                print("  \(m.metric) = \(tableValue(m.value)), from \(plural(m.total, "event"))\(m.total > m.events.count ? " (the newest \(m.events.count))" : ""):")
                for s in m.events {
                    print("    seq \(s.seq)  \(s.event.type.rawValue)  \(s.event.subject)  occurred \(s.event.occurredAt.rfc3339)  source \(s.event.source ?? "-")")
                }
            }
            print("")
        }
    }
}
