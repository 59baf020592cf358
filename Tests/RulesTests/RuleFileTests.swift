import Foundation
import Testing
import Rules

@Suite struct RuleFileTests {
    func problems(_ yaml: String) -> [String] {
        switch RuleSet.load(files: [("rules/test.yaml", yaml)]) {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    static let valid = """
    groups:
      - name: regional
        rules:
          - alert: RegionalProjectsLagging
            scope: district
            expr: projects.planned >= 5 and projects.completion < 0.60
            for: 14d
            keep_firing_for: 7d
            severity: warning
            summary: "{{ name }}: {{ projects.implemented }} of {{ projects.planned }} ({{ projects.completion | percent }})"
    """

    @Test func aValidFileCompilesIntoAFrozenRuleSet() throws {
        let set = try RuleSet.load(files: [("rules/test.yaml", Self.valid)]).get()
        #expect(set.rules.count == 1)
        let r = set.rules[0]
        #expect(r.name == "RegionalProjectsLagging")
        #expect(r.scope == .district)
        #expect(r.holdFor == 14 * 86_400_000_000)
        #expect(r.keepFiringFor == 7 * 86_400_000_000)
        #expect(r.severity == .warning)
        #expect(r.line == 4)
    }

    @Test(arguments: [
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: projects.complete < 0.6\n",
         "rules/test.yaml:6:15: unknown metric 'projects.complete'; did you mean 'projects.completion'?"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: \"projects.planned > 'x'\"\n",
         "rules/test.yaml:6:33: cannot compare number with string"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: county\n        expr: true\n",
         "rules/test.yaml:5:16: scope 'county' is not one of nation, region, district, org"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: projects.planned\n",
         "rules/test.yaml:6:15: expr of A is a number; a rule's expr must be a condition (true or false)"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: true\n        for: two weeks\n",
         "rules/test.yaml:7:14: for 'two weeks' is not a duration such as 14d, 12h, 30m or 1h30m"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: true\n        severity: urgent\n",
         "rules/test.yaml:7:19: severity 'urgent' is not one of critical, warning, info"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: true\n        sumary: x\n",
         "rules/test.yaml:7:9: unknown key 'sumary' in a rule; did you mean 'summary'?"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: true\n        summary: \"{{ name }} has {{ services.mobile }}\"\n",
         "rules/test.yaml:7:34: unknown template field '{{ services.mobile }}' for scope district"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: true\n        summary: \"{{ projects.planned | percentage }}\"\n",
         "rules/test.yaml:7:19: unknown format 'percentage' in '{{ projects.planned | percentage }}'; use percent, days, date or days_since"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: true\n        summary: \"{{ name \"\n",
         "rules/test.yaml:7:19: '{{' without a closing '}}'"),
        ("groups:\n  - name: g\n    rules:\n      - scope: org\n        expr: true\n",
         "rules/test.yaml:4:9: a rule needs 'alert' (its name)"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n",
         "rules/test.yaml:4:9: rule A needs 'expr'"),
        ("groups: []\nrulez: 1\n", "rules/test.yaml:2:1: unknown key 'rulez' at the top level; a rule file has 'groups'"),
        ("groups: [\n", "rules/test.yaml:2:1: not valid YAML"),
        // A YAML syntax error is placed where libyaml finds it, not at 1:1.
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: true\n      summary: x\n", "rules/test.yaml:7:"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: [true\n", "rules/test.yaml:6:"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: true\n      - alert: A\n        scope: org\n        expr: false\n",
         "rules/test.yaml:7:1: duplicate alert name A (first at rules/test.yaml:4); alert names identify alerts and must be unique"),
        ("groups:\n  - name: g\n    rules:\n      - alert: Bad-Name\n        scope: org\n        expr: true\n",
         "rules/test.yaml:4:16: alert name 'Bad-Name' must be letters, digits and underscores, like RegionalProjectsLagging"),
        ("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: |\n          projects.planned >= 5\n            and projects.completon < 0.6\n",
         "rules/test.yaml:8:17: unknown metric 'projects.completon'; did you mean 'projects.completion'?"),
    ])
    func malformedRuleFilesAreRefusedWithFileLineAndColumn(yaml: String, message: String) {
        let found = problems(yaml)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.hasPrefix(message) == true, "got \(found.first ?? "nothing")")
    }

    @Test func everyProblemOfEveryFileIsReportedAtOnce() {
        let a = "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: bogus > 1\n"
        let b = "groups:\n  - name: g\n    rules:\n      - alert: B\n        scope: moon\n        expr: true\n"
        guard case .failure(let e) = RuleSet.load(files: [("a.yaml", a), ("b.yaml", b)]) else { Issue.record("accepted"); return }
        #expect(e.errors.map(\.file) == ["a.yaml", "b.yaml"])
    }

    /// fuzz/regressions/rule-parser/crash-ff62…: a template field with no name (`{{}}`)
    /// indexed an empty list and trapped the loader.
    @Test func aTemplateFieldWithNoNameIsAnErrorNotATrap() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fuzz/regressions/rule-parser/crash-ff62d455d80974ee8cd3ba8b87ff0958cd21755e")
        let text = String(decoding: try Data(contentsOf: file).dropFirst(), as: UTF8.self)  // the first byte picks the mode
        #expect(problems(text).contains { $0.contains("'{{}}' names no field") }, "\(problems(text))")
        #expect(problems("groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: org\n        expr: true\n        summary: \"{{ | percent }} x\"\n")
            .first?.hasPrefix("rules/test.yaml:7:19: '{{ | percent }}' names no field") == true)
    }
}
