import Projections
import RaqamModel
import Rules
import Testing

/// Labels, annotations, severities and durations as Prometheus users write them, and what a
/// resolved transition says.
@Suite struct RuleLabelsAndAnnotationsTests {
    static let day: Int64 = 86_400_000_000
    static let start = Timestamp(rfc3339: "2021-01-01T00:00:00+05:00")!.micros
    static let district = EntityKey(snapshotKind: .district, code: "1703202")

    func problems(_ rule: String) -> [String] {
        let yaml = "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: projects.overdue > 1\n" + rule
        switch RuleSet.load(files: [("rules/test.yaml", yaml)]) {
        case .success: return []
        case .failure(let e): return e.errors.map(\.description)
        }
    }

    func rule(_ extra: String) throws -> Rule {
        let yaml = "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: projects.overdue > 1\n" + extra
        return try RuleSet.load(files: [("rules/test.yaml", yaml)]).get().rules[0]
    }

    @Test func annotationsCarryTheSummaryDescriptionAndTemplatedExtras() throws {
        let r = try rule("""
                    annotations:
                      summary: "{{ name }}: {{ projects.overdue }} overdue"
                      description: "Projects past their due date."
                      runbook_url: "https://wiki.example.uz/runbooks/overdue?subject={{ key }}"
            """ + "\n")
        #expect(r.summary.fields == ["name", "projects.overdue"])
        #expect(Array(r.annotations.keys) == ["runbook_url"])
        #expect(r.annotations["runbook_url"]?.fields == ["key"])
    }

    static let malformed: [(String, String)] = [
        ("        summary: x\n        annotations:\n          summary: y\n",
         "rules/test.yaml:9:11: summary of A is given twice: at line 7 and under annotations; keep one"),
        ("        description: x\n        annotations:\n          description: y\n",
         "rules/test.yaml:9:11: description of A is given twice"),
        ("        annotations:\n          value: x\n",
         "rules/test.yaml:8:11: annotation 'value' is set by raqam"),
        ("        annotations:\n          runbook: \"{{ projects.overdu }}\"\n",
         "rules/test.yaml:8:21: unknown template field '{{ projects.overdu }}'"),
        ("        annotations: [a, b]\n",
         "rules/test.yaml:7:22: annotations must be a mapping"),
        ("        severity: warning\n        labels:\n          severity: critical\n",
         "rules/test.yaml:9:21: A says severity warning and label severity critical; the label is the severity, say it once"),
        ("        labels:\n          severity: urgent\n",
         "rules/test.yaml:8:21: label severity 'urgent' is not one of critical, warning, info"),
        ("        labels:\n          subject: x\n",
         "rules/test.yaml:8:11: label 'subject' is set by raqam on every alert"),
        ("        labels:\n          alertname: x\n",
         "rules/test.yaml:8:11: label 'alertname' is set by raqam on every alert"),
        ("        labels:\n          team-name: x\n",
         "rules/test.yaml:8:11: label name 'team-name' must be letters, digits and underscores"),
        ("        labels:\n          __meta: x\n",
         "rules/test.yaml:8:11: label name '__meta' must be letters, digits and underscores, not starting with a digit or '__'"),
        ("        labels:\n          team: x\n          TEAM: y\n",
         "rules/test.yaml:9:11: labels 'team' and 'TEAM' would both be the journal field RAQAM_LABEL_TEAM"),
        ("        labels:\n          \(String(repeating: "a", count: 53)): x\n",
         "rules/test.yaml:8:11: label name '\(String(repeating: "a", count: 53))' is too long: its journal field RAQAM_LABEL_\(String(repeating: "A", count: 53)) has 65 characters, journald takes at most 64"),
        ("        labels:\n          team: \"\"\n",
         "rules/test.yaml:8:17: label team must be a non-empty text"),
        ("        for: 30m1h\n",
         "rules/test.yaml:7:14: for '30m1h' is not a duration such as 14d, 12h, 30m or 1h30m"),
    ]

    @Test(arguments: malformed)
    func malformedLabelsAndAnnotationsAreRefusedWhereTheyAre(rule: String, message: String) {
        let found = problems(rule)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.hasPrefix(message) == true, "got \(found.first ?? "nothing")")
    }

    @Test func aSeverityLabelIsTheSeverityAndAgreeingTwiceIsFine() throws {
        let labelled = try rule("        labels:\n          severity: critical\n          team: districts\n")
        #expect(labelled.severity == .critical)
        #expect(labelled.labels == ["team": "districts"])
        let both = try rule("        severity: info\n        labels:\n          severity: info\n")
        #expect(both.severity == .info)
    }

    static let durations: [(String, Int64)] = [
        ("1h30m", 5_400_000_000), ("2d12h", 2 * 86_400_000_000 + 12 * 3_600_000_000), ("1m30s500ms", 90_500_000),
        ("500ms", 500_000), ("1y", 365 * 86_400_000_000), ("1.5d", 129_600_000_000), ("14d", 14 * 86_400_000_000), ("0", 0),
        ("1w2d", 9 * 86_400_000_000),
    ]

    @Test(arguments: durations)
    func durationsReadAsPrometheusWritesThem(text: String, micros: Int64) {
        #expect(parseDuration(text) == micros)
    }

    @Test(arguments: ["30m1h", "1h1h", "1.5h30m", "h", "1", "-1d", "1d 2h", "1x", ""])
    func durationsOutOfOrderRepeatedOrHalfWrittenAreRefused(text: String) {
        #expect(parseDuration(text) == nil)
    }

    @Test func compoundDurationsWorkInForAndInExpressions() throws {
        let r = try RuleSet.load(files: [("r.yaml", """
            groups:
              - name: g
                rules:
                  - alert: Stale
                    scope: district
                    expr: portal.launched and now - portal.last_update > 1d12h
                    for: 1h30m
                    summary: "{{ name }}"
            """)]).get().rules[0]
        #expect(r.holdFor == 5_400_000_000)
        guard case .failure(let e) = RuleSet.load(files: [("r.yaml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        scope: district\n        expr: now - portal.last_update > 12h1d\n")]) else {
            Issue.record("a duration out of order was accepted"); return
        }
        #expect(e.errors.first?.description.contains("'12h1d' is not a duration") == true, "\(e.errors)")
    }

    static let rules = try! RuleSet.load(files: [("rules/t.yaml", """
        groups:
          - name: g
            rules:
              - alert: Silent
                scope: district
                expr: days_since(activity.last_event) > 10
                summary: "{{ name }} silent since {{ activity.last_event | date }}"
                resolved_summary: "{{ name }} reports again ({{ value | date }})"
                labels: {team: districts, severity: critical}
                annotations:
                  runbook_url: "https://wiki.example.uz/silent/{{ key }}"
              - alert: Quiet
                scope: district
                expr: days_since(activity.last_event) > 10
                summary: "{{ name }} quiet"
        """)]).get()

    func registered(_ t: inout AlertTimeline) -> [AlertReport] {
        var reports: [AlertReport] = []
        for (i, key) in [EntityKey(snapshotKind: .region, code: "1703"), Self.district].enumerated() {
            let kind = key.kind == .region ? "region" : "district"
            reports += t.apply(StoredEvent(seq: UInt64(i + 1), recordedAt: Timestamp(micros: Self.start), event: Event(
                id: nil, type: .entityRegistered, subject: key, occurredAt: Timestamp(micros: Self.start), source: nil,
                data: EventData(values: [.string(kind), .string("Shahrikhan District"), key.regionKey.map { .string($0.description) }]))))
        }
        return reports
    }

    @Test func aResolvedTransitionTellsThePresentValueInItsResolvedWording() {
        var t = AlertTimeline(rules: Self.rules, clock: .events)
        var reports = registered(&t)
        reports += t.advance(to: Self.start + 20 * Self.day)
        let back = Self.start + 20 * Self.day + 3_600_000_000
        reports += t.apply(StoredEvent(seq: 3, recordedAt: Timestamp(micros: back), event: Event(
            id: nil, type: .portalUpdated, subject: Self.district, occurredAt: Timestamp(micros: back), source: nil, data: EventData(values: [.integer(1)]))))
        reports += t.advance(to: Self.start + 22 * Self.day)

        let fired = reports.first { $0.rule.name == "Silent" && $0.transition == .firing }
        let resolved = reports.first { $0.rule.name == "Silent" && $0.transition == .resolved }
        #expect(fired?.summary == "Shahrikhan District silent since 2021-01-01")
        #expect(fired?.value == .time(Timestamp(micros: Self.start)))
        #expect(fired?.annotations == ["runbook_url": "https://wiki.example.uz/silent/district:1703202"])
        #expect(fired?.rule.severity == .critical)
        // At resolution: the value of now, and the rule's resolved wording.
        #expect(resolved?.value == .time(Timestamp(micros: back)))
        #expect(resolved?.summary == "Resolved: Shahrikhan District reports again (2021-01-21)")
        // Without a resolved_summary: the fixed form, with the deciding metric's present value.
        let quiet = reports.first { $0.rule.name == "Quiet" && $0.transition == .resolved }
        #expect(quiet?.summary.hasPrefix("Resolved: Quiet for Shahrikhan District (activity.last_event is now 2021-01-21)") == true, "\(quiet?.summary ?? "none")")
    }

    @Test func aRuleTestNamingAnAlertNoRuleDefinesIsAnError() {
        let rules = """
            groups:
              - name: g
                rules:
                  - alert: Silent
                    scope: district
                    expr: days_since(activity.last_event) > 10
                    summary: "{{ name }} silent"
            """
        let test = """
            rule_files: [rules.yaml]
            tests:
              - name: nobody fires
                expect:
                  - at: 2021-01-02
                    alert: Silnet
                    firing: []
                  - at: 2021-01-03
                    firing:
                      - {alert: Loud, subject: "district:1703202"}
            """
        let outcome = RuleTestFile.run(path: "tests/t.yaml", text: test) { _ in rules }
        #expect(outcome.errors == [
            "tests/t.yaml:6:16: no rule file under test defines alert Silnet; did you mean 'Silent'?",
            "tests/t.yaml:10:21: no rule file under test defines alert Loud (the rules are: Silent)",
        ])
        #expect(outcome.passed == 0)
    }
}

@Suite struct RuleExplanationTests {
    @Test(arguments: [
        "projects.planned >= 5 and projects.completion < 0.6",
        "assessment.organized == false or assessment.score < 50",
        "portal.launched and now - portal.last_update > 90d",
        "days_since(activity.last_event) > 60",
        "not portal.launched",
        "(projects.overdue + 1) * 2 > 4 or staff.trained_share < 0.5 and staff.total > 0",
    ])
    func anExpressionWrittenBackParsesToTheSameExpression(text: String) throws {
        let first = try CompiledExpression(text, scope: .district, file: "t", line: 1, column: 1, indent: 0)
        let again = try CompiledExpression(first.expression.text, scope: .district, file: "t", line: 1, column: 1, indent: 0)
        #expect(again.expression.text == first.expression.text)
        #expect(first.expression.text.filter { !$0.isWhitespace } == text.filter { !$0.isWhitespace } || text.hasPrefix("("))
    }
}
