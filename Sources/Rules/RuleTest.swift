import Projections
import RaqamModel
import Yams

/// Unit tests for rules, in the spirit of `promtool test rules`: a YAML file names rule files,
/// gives events (inline or from an NDJSON file) and, at evaluation times, the alerts expected to
/// fire (or be pending) with their summaries. Events are evaluated on the `events` clock (each
/// at its `occurred_at`), so a test reads like the history it describes.
///
/// ```yaml
/// rule_files: [../programme.yaml]        # relative to this file
/// evaluation_interval: 1d                # optional, default 1d
/// tests:
///   - name: a district below 60% for two weeks
///     reference_data: true               # optional, default true: the bundled entities
///     events_file: entities.ndjson       # optional, relative to this file; read first
///     events:                            # then these
///       - {type: project.registered, subject: "district:1703202", occurred_at: "2021-03-01T10:00:00+05:00",
///          data: {project: P1, program: regional, title: T, due: "2021-12-31"}}
///     expect:
///       - at: 2021-03-20                 # a day (its end, Tashkent) or an RFC 3339 instant
///         alert: RegionalProjectsLagging # optional: compare only this rule's alerts
///         firing:
///           - {subject: "district:1703202", summary: "…"}   # summary, active_since optional
///         pending: []                    # optional
/// ```
public struct RuleTestFile: Sendable {
    /// What running one file found.
    public struct Outcome: Sendable {
        public var tests = 0
        public var passed = 0
        /// Readable reports of each failed expectation.
        public var failures: [String] = []
        /// Problems of the test file or of the rule files it names.
        public var errors: [String] = []
    }

    struct Expected: Equatable {
        var alert: String
        var subject: String
        var summary: String?
        var activeSince: Int64?
    }

    struct Expectation {
        var line: Int
        var at: Int64
        var atText: String
        var alert: String?
        var firing: [Expected]
        var pending: [Expected]?
    }

    struct Case {
        var name: String
        var line: Int
        var events: [Event]
        var expectations: [Expectation]
        /// Every alert name the case mentions, where: each must be a rule of the files under test.
        var alertNames: [(name: String, line: Int, column: Int)] = []
    }

    /// Runs the tests of one file. `read` returns the text of a path relative to the file's
    /// folder (rule files, events files), or throws a message.
    public static func run(path: String, text: String, read: (String) throws -> String) -> Outcome {
        var outcome = Outcome()
        var problems: [String] = []
        func problem(_ node: Node?, _ message: String) {
            problems.append("\(path):\(node?.mark?.line ?? 1):\(node?.mark?.column ?? 1): \(message)")
        }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let at = YAMLProblem.locate(error)
            outcome.errors = ["\(path):\(at.line):\(at.column): not valid YAML: \(at.message)"]
            return outcome
        }
        guard let top = root?.mapping else {
            outcome.errors = ["\(path):1:1: expected a mapping with 'rule_files' and 'tests'"]
            return outcome
        }
        for (k, _) in top where !["rule_files", "evaluation_interval", "tests"].contains(k.string ?? "") {
            problem(k, "unknown key '\(k.string ?? "?")'; a rule test file has rule_files, evaluation_interval, tests")
        }

        // The rule set under test.
        var ruleFiles: [(path: String, text: String)] = []
        if let list = top["rule_files"]?.sequence, !list.isEmpty {
            for f in list {
                guard let name = f.string else { problem(f, "a rule file is a path"); continue }
                do { ruleFiles.append((name, try read(name))) } catch { problem(f, "cannot read rule file \(name): \(error)") }
            }
        } else {
            problem(top["rule_files"] ?? root, "'rule_files' must list the rule files under test")
        }
        var interval = AlertTimeline.defaultInterval
        if let n = top["evaluation_interval"] {
            if let d = n.string.flatMap(parseDuration), d > 0 { interval = d } else { problem(n, "evaluation_interval must be a duration such as 1d or 1h") }
        }
        var cases: [Case] = []
        if let tests = top["tests"]?.sequence {
            for t in tests {
                if let c = parseCase(t, read: read, problem: problem) { cases.append(c) }
            }
        } else {
            problem(top["tests"] ?? root, "'tests' must be a list of tests")
        }
        var rules: RuleSet?
        if problems.isEmpty {
            switch RuleSet.load(files: ruleFiles) {
            case .success(let set): rules = set
            case .failure(let e): problems += e.errors.map(\.description)
            }
        }
        if let rules {
            // An expectation about an alert no rule defines would pass by never matching.
            let names = rules.rules.map(\.name)
            for c in cases {
                for ref in c.alertNames where !names.contains(ref.name) {
                    problems.append("\(path):\(ref.line):\(ref.column): no rule file under test defines alert \(ref.name)"
                                    + (ExpressionParser.suggestion(ref.name, names).isEmpty ? " (the rules are: \(names.joined(separator: ", ")))"
                                                                                        : ExpressionParser.suggestion(ref.name, names)))
                }
            }
        }
        guard problems.isEmpty, let rules else {
            outcome.errors = problems
            return outcome
        }

        for c in cases {
            outcome.tests += 1
            var failed = false
            for x in c.expectations {
                let (firing, pending) = evaluate(rules: rules, interval: interval, events: c.events, at: x.at)
                var lines: [String] = []
                compare(x.firing, with: firing, only: x.alert, state: "firing", into: &lines)
                if let p = x.pending { compare(p, with: pending, only: x.alert, state: "pending", into: &lines) }
                if !lines.isEmpty {
                    failed = true
                    outcome.failures.append("\(path):\(x.line): test \"\(c.name)\" at \(x.atText)\(x.alert.map { " (\($0))" } ?? ""):\n" + lines.joined(separator: "\n"))
                }
            }
            if !failed { outcome.passed += 1 }
        }
        return outcome
    }

    /// The alerts firing and pending at `t` after folding the events that occurred by `t`.
    static func evaluate(rules: RuleSet, interval: Int64, events: [Event], at t: Int64) -> ([Expected], [Expected]) {
        var timeline = AlertTimeline(rules: rules, clock: .events, interval: interval)
        for (i, e) in events.enumerated() {
            guard e.occurredAt.micros <= t else { continue }
            _ = timeline.apply(StoredEvent(seq: UInt64(i + 1), recordedAt: e.occurredAt, event: e))
        }
        _ = timeline.evaluate(at: t)
        let active = timeline.evaluator.active(in: timeline.projections, at: t)
        func list(_ state: AlertInstance.State) -> [Expected] {
            active.filter { $0.state == state }.map {
                Expected(alert: $0.rule.name, subject: $0.entity.description, summary: $0.summary, activeSince: $0.activeSince)
            }
        }
        return (list(.firing), list(.pending))
    }

    static func compare(_ expected: [Expected], with actual: [Expected], only alert: String?, state: String, into lines: inout [String]) {
        let actual = actual.filter { alert == nil || $0.alert == alert }
        func id(_ e: Expected) -> String { "\(e.alert) \(e.subject)" }
        let got = Dictionary(actual.map { (id($0), $0) }, uniquingKeysWith: { a, _ in a })
        let want = Set(expected.map(id))
        for e in expected {
            guard let a = got[id(e)] else {
                lines.append("  missing \(state)    \(id(e))\(e.summary.map { " \"\($0)\"" } ?? "")")
                continue
            }
            if let s = e.summary, s != a.summary {
                lines.append("  summary of \(id(e)):\n    expected: \"\(s)\"\n    got:      \"\(a.summary ?? "")\"")
            }
            if let since = e.activeSince, since != a.activeSince {
                lines.append("  active_since of \(id(e)): expected \(Timestamp(micros: since, offsetMinutes: 300)), got \(Timestamp(micros: a.activeSince ?? 0, offsetMinutes: 300))")
            }
        }
        for a in actual where !want.contains(id(a)) {
            lines.append("  unexpected \(state) \(id(a)) \"\(a.summary ?? "")\"")
        }
    }

    static func parseCase(_ node: Node, read: (String) throws -> String, problem: (Node?, String) -> Void) -> Case? {
        guard let m = node.mapping else { problem(node, "a test is a mapping with name, events and expect"); return nil }
        for (k, _) in m where !["name", "reference_data", "events", "events_file", "expect"].contains(k.string ?? "") {
            problem(k, "unknown key '\(k.string ?? "?")' in a test; a test has name, reference_data, events, events_file, expect")
        }
        let name = m["name"]?.string ?? "test at line \(node.mark?.line ?? 0)"
        var events: [Event] = []
        if m["reference_data"]?.bool ?? true { events += ReferenceData.bundled.registrationEvents() }
        if let f = m["events_file"] {
            guard let file = f.string else { problem(f, "events_file is a path"); return nil }
            do {
                let text = try read(file)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.allSatisfy({ $0 == " " }) {
                    switch EventDecoder.decode(line: Array(line.utf8)) {
                    case .event(let e): events.append(e)
                    case .invalid(let issues): for i in issues { problem(f, "\(file):\(n + 1): \(i.field.map { "\($0): " } ?? "")\(i.message)") }
                    }
                }
            } catch {
                problem(f, "cannot read events file \(file): \(error)")
            }
        }
        if let list = m["events"] {
            guard let items = list.sequence else { problem(list, "'events' must be a list of events"); return nil }
            for item in items {
                switch EventDecoder.decode(json(item)) {
                case .event(let e): events.append(e)
                case .invalid(let issues): for i in issues { problem(item, "event: \(i.field.map { "\($0): " } ?? "")\(i.message)") }
                }
            }
        }
        var expectations: [Expectation] = []
        var alertNames: [(name: String, line: Int, column: Int)] = []
        guard let xs = m["expect"]?.sequence, !xs.isEmpty else { problem(m["expect"] ?? node, "test \"\(name)\" needs 'expect': a list of times and alerts"); return nil }
        for x in xs {
            guard let xm = x.mapping else { problem(x, "an expectation is a mapping with at and firing"); continue }
            for (k, _) in xm where !["at", "alert", "firing", "pending"].contains(k.string ?? "") {
                problem(k, "unknown key '\(k.string ?? "?")' in an expectation; it has at, alert, firing, pending")
            }
            guard let atNode = xm["at"], let atText = atNode.string, let at = parseInstant(atText) else {
                problem(xm["at"] ?? x, "'at' must be a day (2021-06-30, its end in Tashkent) or an RFC 3339 instant"); continue
            }
            let alert = xm["alert"]?.string
            if let n = xm["alert"], let name = alert { alertNames.append((name, n.mark?.line ?? 0, n.mark?.column ?? 0)) }
            func alerts(_ key: String) -> [Expected]? {
                guard let n = xm[key] else { return nil }
                guard let items = n.sequence else { problem(n, "'\(key)' must be a list of alerts"); return [] }
                return items.compactMap { item -> Expected? in
                    guard let im = item.mapping, let subject = im["subject"]?.string else {
                        problem(item, "an expected alert has subject (and alert, summary, active_since)"); return nil
                    }
                    guard let rule = im["alert"]?.string ?? alert else { problem(item, "say which alert: 'alert' here or on the expectation"); return nil }
                    if let n = im["alert"], let name = n.string { alertNames.append((name, n.mark?.line ?? 0, n.mark?.column ?? 0)) }
                    var since: Int64?
                    if let s = im["active_since"] {
                        guard let v = s.string.flatMap(parseInstant) else { problem(s, "active_since must be an RFC 3339 instant or a day"); return nil }
                        since = v
                    }
                    return Expected(alert: rule, subject: subject, summary: im["summary"]?.string, activeSince: since)
                }
            }
            expectations.append(Expectation(line: x.mark?.line ?? 0, at: at, atText: atText, alert: alert,
                                            firing: alerts("firing") ?? [], pending: alerts("pending")))
        }
        return Case(name: name, line: node.mark?.line ?? 0, events: events, expectations: expectations, alertNames: alertNames)
    }

    /// A YAML value as the JSON value it spells (plain scalars typed by YAML's core schema).
    static func json(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let m): return .object(m.map { (key: $0.key.string ?? "", value: json($0.value)) })
        case .sequence(let s): return .array(s.map(json))
        case .alias: return .null
        case .scalar(let s):
            if s.style == .plain {
                switch node.tag.rawValue {
                case Tag.Name.null.rawValue: return .null
                case Tag.Name.bool.rawValue: if let b = node.bool { return .bool(b) }
                case Tag.Name.int.rawValue: if let i = node.int { return .number(Double(i), isInteger: true, text: String(i)) }
                case Tag.Name.float.rawValue: if let f = node.float { return .number(f, isInteger: false, text: s.string) }
                default: break
                }
            }
            return .string(s.string)
        }
    }
}

/// A day (`2021-06-30`: its last µs in Tashkent) or an RFC 3339 instant, in µs.
public func parseInstant(_ text: String) -> Int64? {
    if let d = CalendarDate(iso: text) { return d.tashkentEnd.micros }
    return Timestamp(rfc3339: text)?.micros
}
