import Projections
import RaqamModel
@testable import Rules
import RaqamTestSupport
import Testing

/// The flat program that evaluation runs must compute what the expression tree defines.
@Suite struct ExpressionProgramTests {
    static let expressions = [
        "projects.planned >= 5 and projects.completion < 0.60",
        "now - portal.last_update > 90d",
        "not roadmap.approved",
        "not portal.launched or now - portal.last_update > 60d",
        "ratio(staff.trained, staff.total) < 0.5 or days_since(activity.last_event) > 60",
        "min(projects.planned, 3) * 2 + max(1, projects.overdue) / 4 == -1 or projects.overdue - 1 > -2",
        "assessment.organized == false or assessment.score < 50",
        "date(\"2021-12-31\") - now < 30d and \"a\" != 'b'",
        "(projects.overdue >= 2) == true and \"x\" == \"x\"",
        "max(portal.last_update, assessment.at, activity.last_event) + 2d < now",
        "min(now - activity.last_event, 400d) >= 10d or -projects.completion < -0.5",
        "projects.planned / projects.implemented > 1.5 and projects.cancelled * 0 == 0",
    ]

    /// Random metric values for a district, `none` included, so "no data" paths run too.
    static func randomMetrics(_ rng: inout SeededGenerator) -> EntityMetrics {
        var values: [(String, MetricValue)] = []
        let now = Timestamp(rfc3339: "2021-06-30T12:00:00+05:00")!.micros
        for spec in MetricCatalog.specs where spec.scopes.contains(.district) {
            guard Int.random(in: 0..<5, using: &rng) > 0 else { values.append((spec.name, .none)); continue }
            switch spec.kind {
            case .number: values.append((spec.name, .number(Double(Int.random(in: 0...20, using: &rng)) / Double(Int.random(in: 1...10, using: &rng)))))
            case .flag: values.append((spec.name, .flag(Bool.random(using: &rng))))
            case .time: values.append((spec.name, .time(Timestamp(micros: now - Int64.random(in: 0...(200 * 86_400_000_000), using: &rng)))))
            }
        }
        return EntityMetrics(key: EntityKey(snapshotKind: .district, code: "1703202"), name: "Altinkul District", kind: "district", parent: nil, values: values)
    }

    @Test(arguments: expressions)
    func theProgramComputesWhatTheTreeDefines(text: String) throws {
        let e = try CompiledExpression(text, scope: .district)
        var rng = SeededGenerator(seed: 42)
        let now = Timestamp(rfc3339: "2021-06-30T12:00:00+05:00")!.micros
        var answers: Set<String> = []
        for _ in 0..<500 {
            let m = Self.randomMetrics(&rng)
            let tree = e.evaluateTree(m, now: now)
            #expect(e.evaluate(m, now: now) == tree, "\(text)")
            answers.insert(String(describing: tree))
        }
        #expect(answers.count >= 2 || text.contains("\"a\""), "the random metrics should reach more than one answer for \(text)")
    }
}
