import Foundation
import Testing
import Projections
import RaqamModel
import Rules

@Suite struct ExpressionTests {
    static let district = try! EntityKey(parsing: "district:1703202")

    func metrics(_ values: [(String, MetricValue)]) -> EntityMetrics {
        EntityMetrics(key: Self.district, name: "Altinkul District", kind: "district", parent: nil, values: values)
    }

    @Test(arguments: [
        ("projects.complete < 0.6", "rules/lagging.yaml:12:9: unknown metric 'projects.complete'; did you mean 'projects.completion'?"),
        ("services.mobile < 3", "rules/lagging.yaml:12:9: metric 'services.mobile' does not exist for scope district"),
        ("projects.planned >= 5 and projects.completion", "rules/lagging.yaml:12:31: 'and' joins conditions; got a number where a bool was expected"),
        ("projects.planned > \"five\"", "rules/lagging.yaml:12:26: cannot compare number with string"),
        ("projects.planned = 5", "rules/lagging.yaml:12:26: '=' is not an operator; compare with '=='"),
        ("projects.planned >= 5 && roadmap.approved", "rules/lagging.yaml:12:31: '&' is not an operator; use 'and' / 'or'"),
        ("days_since(projects.planned) > 30", "rules/lagging.yaml:12:9: days_since takes one time (days_since(portal.last_update)), got (number)"),
        ("day_since(portal.last_update) > 30", "rules/lagging.yaml:12:9: unknown function 'day_since'; did you mean 'days_since'?"),
        ("now - portal.last_update > 30", "rules/lagging.yaml:12:34: cannot compare duration with number"),
        ("now - portal.last_update > 30x", "rules/lagging.yaml:12:36: unknown duration unit 'x' in '30x'; use ms, s, m, h, d, w or y"),
        ("now - portal.last_update > 99999999999999999999d", "rules/lagging.yaml:12:36: duration '99999999999999999999d' is too long; at most 36500d (100 years)"),
        ("(projects.overdue > 3", "rules/lagging.yaml:12:30: expected ')' but found 'end of expression'"),
        ("projects.overdue > 3)", "rules/lagging.yaml:12:29: unexpected ')' after a complete expression"),
        ("projects.overdue >", "rules/lagging.yaml:12:27: unexpected end of expression; expected a value"),
        ("1 < projects.overdue < 5", "rules/lagging.yaml:12:30: comparisons do not chain; join them with 'and'"),
        ("roadmap.approved < true", "rules/lagging.yaml:12:26: '<' orders numbers, times and durations, not bools"),
        ("not projects.planned", "rules/lagging.yaml:12:9: 'not' negates a condition; got a number where a bool was expected"),
        ("ratio(projects.implemented) < 0.5", "rules/lagging.yaml:12:9: ratio takes two numbers (ratio(a, b) is a ÷ b, none when b is 0)"),
        ("min(projects.planned, portal.last_update) > 1", "rules/lagging.yaml:12:9: min takes two or more numbers, durations or times of one type"),
        ("portal.last_update < date(\"2021-02-30\")", "rules/lagging.yaml:12:30: date takes one date string, date(\"2021-12-31\")"),
        ("\"open", "rules/lagging.yaml:12:9: unterminated string"),
        ("projects.planned * roadmap.approved > 1", "rules/lagging.yaml:12:26: '*' takes numbers, not number and bool"),
        ("-roadmap.approved", "rules/lagging.yaml:12:9: '-' negates a number or a duration, not a bool"),
        ("projects.planned >= 5 and and", "rules/lagging.yaml:12:35: expected a value before 'and'"),
        ("projects.planned # 3", "rules/lagging.yaml:12:26: unexpected character '#'"),
    ])
    func malformedExpressionsAreRefusedWithFileLineAndColumn(text: String, message: String) {
        let error = #expect(throws: RuleError.self) {
            try CompiledExpression(text, scope: .district, file: "rules/lagging.yaml", line: 12, column: 9)
        }
        #expect(error?.description == message)
    }

    @Test func anErrorOnALaterLineOfAMultiLineExpressionPointsThere() {
        let error = #expect(throws: RuleError.self) {
            try CompiledExpression("projects.planned >= 5\n  and projects.complet < 0.6", scope: .district, file: "r.yaml", line: 7, column: 11)
        }
        #expect(error?.description == "r.yaml:8:7: unknown metric 'projects.complet'; did you mean 'projects.completion'?")
    }

    @Test func conditionsEvaluateAgainstAnEntitysMetrics() throws {
        let lagging = try CompiledExpression("projects.planned >= 5 and projects.completion < 0.60", scope: .district)
        #expect(lagging.holds(metrics([("projects.planned", .number(12)), ("projects.completion", .number(0.5))]), now: 0))
        #expect(!lagging.holds(metrics([("projects.planned", .number(12)), ("projects.completion", .number(0.7))]), now: 0))
        #expect(!lagging.holds(metrics([("projects.planned", .number(3)), ("projects.completion", .number(0.1))]), now: 0))
        // No data is not a match.
        #expect(!lagging.holds(metrics([("projects.planned", .number(12)), ("projects.completion", .none)]), now: 0))
    }

    @Test func timesDurationsAndFunctionsEvaluate() throws {
        let day: Int64 = 86_400_000_000
        let updated = Timestamp(micros: 100 * day)
        let m = metrics([("portal.last_update", .time(updated)), ("projects.implemented", .number(3)), ("projects.planned", .number(12))])
        #expect(try CompiledExpression("now - portal.last_update > 30d", scope: .district).holds(m, now: 131 * day))
        #expect(!(try CompiledExpression("now - portal.last_update > 30d", scope: .district).holds(m, now: 129 * day)))
        #expect(try CompiledExpression("days_since(portal.last_update)", scope: .district).evaluate(m, now: 145 * day) == .number(45))
        #expect(try CompiledExpression("ratio(projects.implemented, projects.planned)", scope: .district).evaluate(m, now: 0) == .number(0.25))
        #expect(try CompiledExpression("max(projects.implemented, 2 * 2)", scope: .district).evaluate(m, now: 0) == .number(4))
        #expect(try CompiledExpression("portal.last_update < date(\"2021-01-01\")", scope: .district).holds(m, now: 0))
        #expect(try CompiledExpression("not roadmap.approved or projects.planned > 10", scope: .district)
            .holds(metrics([("roadmap.approved", .flag(true)), ("projects.planned", .number(11))]), now: 0))
    }

    @Test func targetMetricsAreNamedByTheirTargetedMetric() throws {
        let pace = try CompiledExpression("targets.services.mobile.pace < 1", scope: .nation)
        #expect(pace.type == .bool)
        let error = #expect(throws: RuleError.self) { try CompiledExpression("targets.services.mobile.speed < 1", scope: .nation) }
        #expect(error?.message.hasPrefix("unknown metric 'targets.services.mobile.speed'") == true)
    }

    /// A target's deadline is the end of its day, as its pace counts it: a rule comparing now
    /// with the deadline holds only once the day is over (it held from the day's first minute).
    @Test func aDeadlineIsTheEndOfItsDaySoARuleOnItFiresTheDayAfter() throws {
        var state = ProjectionState()
        let set = Event(id: nil, type: .targetSet, subject: .nation, occurredAt: Timestamp(rfc3339: "2021-01-01T00:00:00+05:00")!, source: nil,
                        data: EventData(values: [.string("services.mobile"), .number(100), .date(CalendarDate(iso: "2021-06-30")!)]))
        state.apply(StoredEvent(seq: 1, recordedAt: set.occurredAt, event: set))
        let overdue = try CompiledExpression("now > targets.services.mobile.deadline", scope: .nation)
        for (time, holds) in [("2021-06-30T00:00:00+05:00", false), ("2021-06-30T23:59:00+05:00", false), ("2021-07-01T00:00:00+05:00", true)] {
            let now = Timestamp(rfc3339: time)!
            let m = try #require(state.metrics(for: .nation, now: now))
            #expect(overdue.holds(m, now: now.micros) == holds, "at \(time)")
            if time.hasPrefix("2021-06-30T23:59") { #expect((m["targets.services.mobile.expected"]?.number ?? 0) < 1, "the target's time is not all gone before the day ends") }
        }
        #expect(state.metrics(for: .nation, now: Timestamp(rfc3339: "2021-07-01T00:00:00+05:00")!)?["targets.services.mobile.deadline"]?.description == "2021-06-30T23:59:59.999999+05:00")
    }

    /// fuzz/regressions/rule-parser/crash-490f…: a duration of 10^60 days overflowed Int64 and
    /// trapped the lexer.
    @Test func aHugeDurationIsAnErrorNotATrap() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/regressions/rule-parser/crash-490faef5904201daf3a00e0ab30d60f4a4113752")
        let text = String(decoding: try Data(contentsOf: file).dropFirst(), as: UTF8.self)  // the first byte picks the mode
        for scope in [EntityKey.Kind.nation, .region, .district, .org] {
            #expect(throws: RuleError.self) { try CompiledExpression(text, scope: scope) }
        }
    }
}
