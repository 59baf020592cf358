import Rules
import Testing

@Suite struct LintTests {
    func lints(_ scope: String, _ expr: String, summary: String = "{{ name }}", labels: String = "") -> [String] {
        let yaml = """
            groups:
              - name: g
                rules:
                  - alert: R
                    scope: \(scope)
                    expr: \(expr)
                    summary: "\(summary)"
            \(labels)
            """
        switch RuleSet.load(files: [("rules/l.yaml", yaml)]) {
        case .success(let set): return set.lints.map(\.description)
        case .failure(let e): return e.errors.map { "error: \($0)" }
        }
    }

    @Test(arguments: [
        ("district", "targets.services.mobile.pace < 0.8", "rules/l.yaml:6:15: R can never fire: it reads targets.services.mobile.pace, but targets are set for the nation, regions and organizations, never for a district"),
        ("district", "projects.completion > 1.5", "rules/l.yaml:6:15: R can never fire"),
        ("org", "projects.planned < 0", "rules/l.yaml:6:15: R can never fire"),
        ("org", "assessment.score > 100 or staff.trained_share >= 2", "rules/l.yaml:6:15: R can never fire"),
        ("region", "projects.planned >= 5 and -1 > projects.overdue", "rules/l.yaml:6:15: R can never fire"),
    ])
    func aRuleThatCanNeverFireIsLinted(scope: String, expr: String, expected: String) {
        let found = lints(scope, expr)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix(expected) == true, "\(found)")
    }

    @Test(arguments: ["projects.completion < 1", "projects.planned >= 0", "assessment.score == 100", "projects.completion > 1.5 or projects.overdue > 2"])
    func aRuleThatCanFireIsNotLinted(expr: String) {
        #expect(lints("district", expr).isEmpty)
    }

    @Test func aTemplatedLabelWouldChangeTheAlertsIdentity() {
        let found = lints("district", "projects.overdue > 2", labels: "        labels: {count: \"{{ projects.overdue }}\"}")
        #expect(found == ["rules/l.yaml:8:25: label count of R is a template: labels are part of an alert's identity, so a value in one would make a new alert whenever the value changes; put values in summary or description"])
    }

    @Test func aSummaryThatDoesNotNameItsEntityIsLinted() {
        #expect(lints("org", "projects.overdue > 2", summary: "{{ projects.overdue }} overdue")
            == ["rules/l.yaml:7:18: the summary of R does not name the entity ({{ name }} or {{ key }}): its journal entries for different orgs would read the same"])
        #expect(lints("nation", "projects.overdue > 2", summary: "{{ projects.overdue }} overdue").isEmpty)
    }
}
