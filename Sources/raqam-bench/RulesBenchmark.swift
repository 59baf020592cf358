import ArgumentParser
import Foundation
import Projections
import RaqamModel
import Rules

/// Rule evaluation, raqam alone (SQLite has no rule engine to compare with): a full pass of
/// 100 rules over the 316 reference entities plus 10,000 synthetic ones, and the incremental
/// evaluation after one event (its subject only, as raqamd does after each batch).
struct RulesBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Rule evaluation: a full pass and the incremental evaluation after one event."
    )

    @Option(help: "Synthetic entities added to the reference data (half districts, half organizations).") var entities = 10_000
    @Option(help: "Rules in the set (spread over the four scopes).") var rules = 100
    @Option(help: "Timed runs; the median is reported.") var runs = 7
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Fewer runs (a smoke run).") var quick = false

    func run() throws {
        let runs = quick ? 3 : self.runs
        let set = try RuleSet.load(files: [("bench.yaml", Self.ruleFile(count: rules))]).get()
        var state = ProjectionState()
        var seq: UInt64 = 0
        func fold(_ e: Event) {
            seq += 1
            state.apply(StoredEvent(seq: seq, recordedAt: e.occurredAt, event: e))
        }
        for e in ReferenceData.bundled.registrationEvents() { fold(e) }
        let events = Self.syntheticEvents(entities: entities)
        for e in events { fold(e) }
        let evaluationTime = Timestamp(rfc3339: "2021-06-30T12:00:00+05:00")!.micros
        let total = state.keys(of: .nation).count + state.keys(of: .region).count + state.keys(of: .district).count + state.keys(of: .org).count

        // Full pass: every rule for every entity of its scope.
        var evaluator = Evaluator(rules: set)
        var firing = 0
        let full = medianRate(runs: runs) { _ in
            let start = now()
            let reports = evaluator.evaluateAll(in: state, at: evaluationTime)
            let s = now() - start
            firing = max(firing, reports.count)
            return (1, s)
        }
        let fullMs = 1000 / full.median

        // Of which: computing every entity's metrics.
        let keys = [EntityKey.Kind.nation, .region, .district, .org].flatMap { state.keys(of: $0) }
        var sink = 0
        let metricsOnly = medianRate(runs: runs) { _ in
            let start = now()
            for k in keys { sink &+= state.metrics(for: k, now: Timestamp(micros: evaluationTime))?.slots.count ?? 0 }
            return (1, now() - start)
        }
        let metricsMs = 1000 / metricsOnly.median

        // Incremental: fold one event about a district, evaluate its subject.
        var timeline = AlertTimeline(rules: set, clock: .events, projections: state)
        _ = timeline.evaluate(at: evaluationTime)
        let districts = state.keys(of: .district)
        var i = 0
        let perRun = 20_000
        let incremental = medianRate(runs: runs) { run in
            let start = now()
            for _ in 0..<perRun {
                i += 1
                let subject = districts[i % districts.count]
                let e = Event(id: nil, type: .portalUpdated, subject: subject, occurredAt: Timestamp(micros: evaluationTime + Int64(i)), source: nil,
                              data: EventData(values: [.integer(1)]))
                seq += 1
                _ = timeline.apply(StoredEvent(seq: seq, recordedAt: e.occurredAt, event: e))
                _ = timeline.flush()
            }
            return (perRun, now() - start)
        }
        let incrementalMicros = 1e6 / incremental.median

        if json {
            print(#"{"benchmark":"rules","rules":\#(set.rules.count),"entities":\#(total),"full_pass_ms":\#(fullMs),"metrics_ms":\#(metricsMs),"incremental_us":\#(incrementalMicros),"first_pass_transitions":\#(firing)}"#)
        } else {
            print("rule evaluation: \(set.rules.count) rules, \(grouped(Double(total))) entities, median of \(runs) runs")
            print(renderRows([
                ["full pass (every rule, every entity)", String(format: "%.1f ms", fullMs), "target < 50 ms", "\(grouped(Double(firing))) transitions"],
                ["  of which computing the metrics", String(format: "%.1f ms", metricsMs), "", ""],
                ["after one event (fold + its subject)", String(format: "%.2f µs", incrementalMicros), "target < 20 µs", ""],
            ]))
        }
    }

    /// `count` rules: the shapes of the bundled ones with varied thresholds, over all scopes.
    static func ruleFile(count: Int) -> String {
        let shapes: [(scope: String, expr: (Int) -> String)] = [
            ("district", { "projects.planned >= \($0 % 5 + 3) and projects.completion < 0.\(50 + $0 % 40)" }),
            ("district", { "projects.overdue >= \($0 % 4 + 1)" }),
            ("district", { "not portal.launched or now - portal.last_update > \(60 + $0)d" }),
            ("district", { "staff.trained_share < 0.\(30 + $0 % 60)" }),
            ("district", { "assessment.organized == false or assessment.score < \(40 + $0 % 30)" }),
            ("district", { "days_since(activity.last_event) > \(30 + $0)" }),
            ("org", { "projects.planned >= \($0 % 5 + 2) and projects.completion < 0.\(20 + $0 % 40)" }),
            ("org", { "not roadmap.approved or roadmap.completion < 0.\(10 + $0 % 50)" }),
            ("org", { "ratio(staff.trained, staff.total) < 0.\(30 + $0 % 60) and projects.overdue >= \($0 % 3)" }),
            ("region", { "projects.planned >= \(10 + $0) and projects.completion < 0.\(55 + $0 % 30)" }),
            ("nation", { "targets.services.mobile.pace < 0.\(60 + $0 % 30)" }),
        ]
        var text = "groups:\n  - name: bench\n    rules:\n"
        for i in 0..<count {
            let shape = shapes[i % shapes.count]
            text += """
                  - alert: Bench\(i)
                    scope: \(shape.scope)
                    expr: \(shape.expr(i))
                    for: \(i % 3 == 0 ? "0d" : "14d")
                    summary: "{{ name }}: {{ value }}"

            """
        }
        return text
    }

    /// Half districts (in the 14 regions), half organizations, each registered with 5
    /// projects (some implemented), a portal, a training report and an assessment.
    static func syntheticEvents(entities: Int) -> [Event] {
        var rng = SystemRandomNumberGenerator()
        let regions = ReferenceData.bundled.regions.map(\.code)
        var out: [Event] = []
        let at = Timestamp(rfc3339: "2021-01-01T00:00:00+05:00")!
        func e(_ type: EventType, _ subject: EntityKey, _ days: Int64, _ values: [FieldValue?]) {
            out.append(Event(id: nil, type: type, subject: subject, occurredAt: Timestamp(micros: at.micros + days * 86_400_000_000), source: nil,
                             data: EventData(values: values)))
        }
        for n in 0..<entities {
            let key: EntityKey
            if n % 2 == 0 {
                let region = regions[n / 2 % regions.count]
                key = EntityKey(snapshotKind: .district, code: region + String(500 + n / 2 / regions.count))
                e(.entityRegistered, key, 0, [.string("district"), .string("Synthetic district \(n)"), .string("region:\(region)")])
            } else {
                key = EntityKey(snapshotKind: .org, code: "synthetic-\(n)")
                e(.entityRegistered, key, 0, [.string("org"), .string("Synthetic body \(n)")])
            }
            for p in 0..<5 {
                let id = "P-\(n)-\(p)"
                e(.projectRegistered, key, 10, [.string(id), .string(key.kind == .org ? "sector" : "regional"), .string("t"),
                                               .date(CalendarDate(tashkentDayOf: Timestamp(micros: at.micros + Int64.random(in: 30...300, using: &rng) * 86_400_000_000)))])
                if Bool.random(using: &rng) { e(.projectImplemented, key, Int64.random(in: 20...170, using: &rng), [.string(id), nil]) }
            }
            e(.portalLaunched, key, 20, [.string("https://example.uz/\(n)")])
            e(.trainingReported, key, 40, [.integer(100), .integer(Int64.random(in: 10...100, using: &rng))])
            e(.assessmentRecorded, key, 60, [.boolean(Bool.random(using: &rng)), .number(Double(Int.random(in: 20...95, using: &rng))), nil])
        }
        return out
    }
}

/// Rows with left-aligned columns.
func renderRows(_ rows: [[String]]) -> String {
    var widths: [Int] = []
    for r in rows { for (i, c) in r.enumerated() { if i >= widths.count { widths.append(0) }; widths[i] = max(widths[i], c.count) } }
    return rows.map { r in r.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ") }.joined(separator: "\n")
}


