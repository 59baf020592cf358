public import RaqamModel
import Yams

/// How loud an alert is; its journal PRIORITY is 2, 4 or 6.
public enum Severity: String, Sendable, CaseIterable {
    case critical, warning, info
}

/// One alerting rule, checked and compiled.
public struct Rule: Sendable {
    public var name: String
    public var group: String
    public var scope: EntityKey.Kind
    public var expression: CompiledExpression
    /// How long (µs of evaluation time) the condition must hold before the alert fires.
    public var holdFor: Int64
    /// How long (µs) a firing alert stays firing after its condition stops holding.
    public var keepFiringFor: Int64
    public var severity: Severity
    public var summary: Template
    public var description: Template
    /// What a resolved transition says (after "Resolved: "); nil: the fixed form
    /// (`Evaluator.resolvedText`).
    public var resolvedSummary: Template?
    /// The rule's other `annotations:` (not summary, description, resolved_summary), by name.
    public var annotations: [String: Template]
    /// The rule's `labels:`, fixed text; a `severity` label is taken out into `severity`.
    public var labels: [String: String]
    public var file: String
    public var line: Int
    /// Where `expr` starts, for lints that point at it.
    public var exprLine: Int
    public var exprColumn: Int
    /// Where `summary` is (the rule's line when it has none).
    public var summaryLine: Int
    public var summaryColumn: Int
}

/// A whole rule set: every file parsed, every rule checked, then frozen. Immutable and
/// `Sendable`, so evaluation can share it across threads.
public struct RuleSet: Sendable {
    public let rules: [Rule]
    public let files: [String]
    /// Lints: rules that load but are surely wrong (a condition that can never hold, a
    /// templated label). `raqamctl rules check` fails on them; evaluation runs them.
    public let lints: [RuleError]

    /// Loads rule files (YAML). Every problem of every file is collected; nothing partial is
    /// returned: a rule set is valid whole or not at all.
    public static func load(files: [(path: String, text: String)]) -> Result<RuleSet, RuleErrors> {
        var builder = RuleSetBuilder()
        for f in files { builder.add(file: f.path, text: f.text) }
        return builder.build().map { var set = $0; set.fingerprint = Self.fingerprint(files.map(\.text)); return set }
    }

    /// A hash of the rule files' text, in load order (two 64-bit FNV-1a, hex): what tells a
    /// reload with unchanged rules, and a snapshot taken under other rules, apart.
    public internal(set) var fingerprint = ""

    static func fingerprint(_ texts: [String]) -> String {
        var a: UInt64 = 0xCBF2_9CE4_8422_2325, b: UInt64 = 0x6C62_272E_07BB_0142
        for text in texts {
            for byte in text.utf8 + [0] {
                a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
        }
        return String(a, radix: 16) + String(b, radix: 16)
    }
}

/// Every error of a rule set, in file and line order.
public struct RuleErrors: Error, Sendable {
    public var errors: [RuleError]

    public init(errors: [RuleError]) { self.errors = errors }
}

/// Collects the rules of several files and the problems found, then checks the whole.
struct RuleSetBuilder {
    var rules: [Rule] = []
    var errors: [RuleError] = []
    var lints: [RuleError] = []
    var files: [String] = []

    static let ruleKeys: Set<String> = ["alert", "scope", "expr", "for", "keep_firing_for", "severity", "summary", "description",
                                        "resolved_summary", "labels", "annotations"]

    /// The lines of the file being read, for the indentation of block scalars.
    var lines: [Substring] = []

    mutating func add(file: String, text: String) {
        files.append(file)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            let at = YAMLProblem.locate(error)
            errors.append(RuleError(file: file, line: at.line, column: at.column, message: "not valid YAML: \(at.message)"))
            return
        }
        guard let root, let top = root.mapping else {
            errors.append(RuleError(file: file, line: 1, column: 1, message: "expected a mapping with a 'groups' list"))
            return
        }
        for (k, _) in top where k.string != "groups" {
            error(file, k, "unknown key '\(k.string ?? "?")' at the top level; a rule file has 'groups'")
        }
        guard let groupsNode = top["groups"] else {
            error(file, root, "missing 'groups': a rule file is groups → rules")
            return
        }
        guard let groups = groupsNode.sequence else {
            error(file, groupsNode, "'groups' must be a list")
            return
        }
        for g in groups {
            guard let gm = g.mapping else { error(file, g, "a group is a mapping with 'name' and 'rules'"); continue }
            for (k, _) in gm where k.string != "name" && k.string != "rules" {
                error(file, k, "unknown key '\(k.string ?? "?")' in a group; a group has 'name' and 'rules'")
            }
            let groupName = gm["name"]?.string ?? ""
            if groupName.isEmpty { error(file, g, "a group needs a 'name'") }
            guard let rs = gm["rules"]?.sequence else { error(file, g, "group '\(groupName)' needs a 'rules' list"); continue }
            for r in rs { addRule(file: file, group: groupName, node: r) }
        }
    }

    mutating func addRule(file: String, group: String, node: Node) {
        guard let m = node.mapping else { error(file, node, "a rule is a mapping with 'alert', 'scope' and 'expr'"); return }
        for (k, _) in m {
            guard let key = k.string, Self.ruleKeys.contains(key) else {
                let key = k.string ?? "?"
                error(file, k, "unknown key '\(key)' in a rule\(suggestion(key, Array(Self.ruleKeys)))")
                continue
            }
        }
        let before = errors.count
        guard let nameNode = m["alert"], let name = nameNode.string, !name.isEmpty else { error(file, node, "a rule needs 'alert' (its name)"); return }
        if !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) || name.first?.isNumber == true {
            error(file, nameNode, "alert name '\(name)' must be letters, digits and underscores, like RegionalProjectsLagging")
        }
        guard let scopeNode = m["scope"] else { error(file, node, "rule \(name) needs 'scope' (nation, region, district or org)"); return }
        let scopes: [String: EntityKey.Kind] = ["nation": .nation, "region": .region, "district": .district, "org": .org]
        guard let scopeText = scopeNode.string, let scope = scopes[scopeText] else {
            error(file, scopeNode, "scope '\(scopeNode.string ?? "?")' is not one of nation, region, district, org")
            return
        }
        guard let exprNode = m["expr"], let exprText = exprNode.string else { error(file, node, "rule \(name) needs 'expr'"); return }
        let (line, column, indent) = contentStart(exprNode)
        var expression: CompiledExpression?
        do throws(RuleError) {
            let compiled = try CompiledExpression(exprText, scope: scope, file: file, line: line, column: column, indent: indent)
            if compiled.type != .bool {
                error(file, exprNode, "expr of \(name) is a \(compiled.type); a rule's expr must be a condition (true or false)")
            } else {
                expression = compiled
            }
        } catch {
            errors.append(error)
        }
        let holdFor = duration(file, m["for"], name: "for") ?? 0
        let keep = duration(file, m["keep_firing_for"], name: "keep_firing_for") ?? 0
        var severity: Severity?
        if let s = m["severity"] {
            if let v = s.string.flatMap(Severity.init(rawValue:)) { severity = v } else {
                error(file, s, "severity '\(s.string ?? "?")' is not one of critical, warning, info")
            }
        }
        let labels = labels(file, m["labels"], rule: name, severity: &severity)
        // The texts: top-level summary, description and resolved_summary are shorthand for
        // the same keys under annotations; saying one twice is an error.
        var texts: [String: Node] = [:]
        for key in ["summary", "description", "resolved_summary"] { texts[key] = m[key] }
        var annotations: [String: Template] = [:]
        if let a = m["annotations"] {
            if let am = a.mapping {
                for (k, v) in am {
                    guard let key = k.string, Self.isLabelName(key) else {
                        error(file, k, "annotation name '\(k.string ?? "?")' must be letters, digits and underscores, not starting with a digit")
                        continue
                    }
                    if let top = texts[key] {
                        error(file, k, "\(key) of \(name) is given twice: at line \(top.mark?.line ?? 0) and under annotations; keep one")
                    } else if ["summary", "description", "resolved_summary"].contains(key) {
                        texts[key] = v
                    } else if key == "value" {
                        error(file, k, "annotation 'value' is set by raqam (the deciding metric's value); choose another name")
                    } else if let t = template(file, v, scope: scope) {
                        annotations[key] = t
                    }
                }
            } else {
                error(file, a, "annotations must be a mapping of names to texts (summary, description, runbook_url, …)")
            }
        }
        let summary = template(file, texts["summary"], scope: scope) ?? Template(parts: [.text(name)])
        let description = template(file, texts["description"], scope: scope) ?? Template(parts: [])
        let resolvedSummary = template(file, texts["resolved_summary"], scope: scope)
        guard errors.count == before, let expression else { return }
        rules.append(Rule(name: name, group: group, scope: scope, expression: expression, holdFor: holdFor, keepFiringFor: keep,
                          severity: severity ?? .warning, summary: summary, description: description, resolvedSummary: resolvedSummary,
                          annotations: annotations, labels: labels,
                          file: file, line: nameNode.mark?.line ?? 0, exprLine: line, exprColumn: column,
                          summaryLine: texts["summary"]?.mark?.line ?? nameNode.mark?.line ?? 0, summaryColumn: texts["summary"]?.mark?.column ?? 1))
    }

    func build() -> Result<RuleSet, RuleErrors> {
        var all = errors
        var seen: [String: Rule] = [:]
        for r in rules {
            if let first = seen[r.name] {
                all.append(RuleError(file: r.file, line: r.line, column: 1,
                                     message: "duplicate alert name \(r.name) (first at \(first.file):\(first.line)); alert names identify alerts and must be unique"))
            } else {
                seen[r.name] = r
            }
        }
        if !all.isEmpty {
            return .failure(RuleErrors(errors: all.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }))
        }
        let found = (lints + rules.flatMap(Self.lint)).sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }
        return .success(RuleSet(rules: rules, files: files, lints: found))
    }

    /// Where a scalar's text begins (line, column) and how far its later lines are indented:
    /// after the quote of a quoted scalar; on the next line, past its indentation, for a block
    /// scalar (`|`, `>`).
    func contentStart(_ node: Node) -> (Int, Int, Int) {
        guard let mark = node.mark, case .scalar(let s) = node else { return (1, 1, 0) }
        switch s.style {
        case .singleQuoted, .doubleQuoted: return (mark.line, mark.column + 1, 0)
        case .literal, .folded:
            let first = mark.line < lines.count ? lines[mark.line] : ""
            let indent = first.prefix { $0 == " " }.count
            return (mark.line + 1, indent + 1, indent)
        default: return (mark.line, mark.column, 0)
        }
    }

    mutating func duration(_ file: String, _ node: Node?, name: String) -> Int64? {
        guard let node else { return nil }
        guard let text = node.string, let d = parseDuration(text) else {
            error(file, node, "\(name) '\(node.string ?? "?")' is not a duration such as 14d, 12h, 30m or 1h30m")
            return nil
        }
        return d
    }

    /// The labels raqam sets on every alert itself: a rule may not set them.
    static let raqamLabels: Set<String> = ["alertname", "scope", "subject", "region", "subject_name"]

    /// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// A rule's `labels:`, checked: Prometheus label names, not raqam's own, each a journal
    /// field `RAQAM_LABEL_<NAME>` within journald's rules (at most 64 characters of
    /// `[A-Z0-9_]`, so two names that differ only in case would collide). A `severity` label
    /// is the rule's severity: it is taken out of the labels and must agree with `severity:`.
    mutating func labels(_ file: String, _ node: Node?, rule: String, severity: inout Severity?) -> [String: String] {
        guard let node else { return [:] }
        guard let lm = node.mapping else {
            error(file, node, "labels must be a mapping of names to values")
            return [:]
        }
        var labels: [String: String] = [:]
        var fields: [String: String] = [:]
        for (k, v) in lm {
            guard let key = k.string, Self.isLabelName(key), !key.hasPrefix("__") else {
                error(file, k, "label name '\(k.string ?? "?")' must be letters, digits and underscores, not starting with a digit or '__' (Prometheus label names)")
                continue
            }
            guard !Self.raqamLabels.contains(key) else {
                error(file, k, "label '\(key)' is set by raqam on every alert (\(Self.raqamLabels.sorted().joined(separator: ", "))); choose another name")
                continue
            }
            guard case .scalar(let scalar) = v, !scalar.string.isEmpty else {
                error(file, v, "label \(key) must be a non-empty text (an empty label is no label to Alertmanager)")
                continue
            }
            let value = scalar.string
            if key == "severity" {
                guard let s = Severity(rawValue: value) else {
                    error(file, v, "label severity '\(value)' is not one of critical, warning, info")
                    continue
                }
                if let said = severity, said != s {
                    error(file, v, "\(rule) says severity \(said.rawValue) and label severity \(value); the label is the severity, say it once")
                }
                severity = s
                continue
            }
            let field = "RAQAM_LABEL_" + key.uppercased()
            if field.count > 64 {
                error(file, k, "label name '\(key)' is too long: its journal field \(field) has \(field.count) characters, journald takes at most 64")
                continue
            }
            if let other = fields[field] {
                error(file, k, "labels '\(other)' and '\(key)' would both be the journal field \(field); journal field names have no case")
                continue
            }
            fields[field] = key
            if value.contains("{{") {
                lints.append(RuleError(file: file, line: v.mark?.line ?? 1, column: v.mark?.column ?? 1,
                                       message: "label \(key) of \(rule) is a template: labels are part of an alert's identity, so a value in one would make a new alert whenever the value changes; put values in summary or description"))
            }
            labels[key] = value
        }
        return labels
    }

    mutating func template(_ file: String, _ node: Node?, scope: EntityKey.Kind) -> Template? {
        guard let node else { return nil }
        guard let text = node.string else { error(file, node, "expected text"); return nil }
        let (line, column, _) = contentStart(node)
        do throws(RuleError) {
            return try Template(text, scope: scope, file: file, line: line, column: column)
        } catch {
            errors.append(error)
            return nil
        }
    }

    mutating func error(_ file: String, _ node: Node, _ message: String) {
        errors.append(RuleError(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message: message))
    }

    func suggestion(_ word: String, _ candidates: [String]) -> String {
        let s = ExpressionParser.suggestion(word, candidates)
        return s.isEmpty ? "; a rule has " + Self.ruleKeys.sorted().joined(separator: ", ") : s
    }
}

/// A duration in µs: `14d`, `12h`, `30m`, `45s`, `2w`, `500ms`, `1y` (365 days), a decimal
/// one such as `1.5d`, or Prometheus' compound form with units from the largest down, each
/// once, in whole numbers (`1h30m`, `2d12h`, `1m30s500ms`); `0` is zero. Nil for anything
/// else, a negative duration or one longer than `DurationUnit.longest`.
public func parseDuration(_ text: String) -> Int64? {
    if text == "0" { return 0 }
    var parts: [(number: Substring, unit: Substring)] = []
    var rest = Substring(text)
    while !rest.isEmpty {
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(number.count)
        let unit = rest.prefix { $0.isASCII && $0.isLetter }
        rest = rest.dropFirst(unit.count)
        guard !number.isEmpty, !unit.isEmpty else { return nil }
        parts.append((number, unit))
    }
    if parts.count == 1, let value = Double(parts[0].number), value >= 0 {
        return DurationUnit.micros(value, unit: String(parts[0].unit))
    }
    var total: Double = 0
    var previous = Int.max
    for (number, unit) in parts {
        guard let rank = DurationUnit.order.firstIndex(of: String(unit)).map({ DurationUnit.order.count - $0 }), rank < previous,
              let value = Int64(number), let micros = DurationUnit.micros(Double(value), unit: String(unit)) else { return nil }
        previous = rank
        total += Double(micros)
    }
    guard !parts.isEmpty, total <= DurationUnit.longest else { return nil }
    return Int64(total)
}

/// The units of durations, shared by rule files, expressions and the CLI.
enum DurationUnit {
    static let scales: [String: Double] = ["y": 365 * 86_400e6, "w": 7 * 86_400e6, "d": 86_400e6, "h": 3_600e6, "m": 60e6, "s": 1e6, "ms": 1e3]
    /// The units from the largest down: the order of a compound duration's parts.
    static let order = ["y", "w", "d", "h", "m", "s", "ms"]
    /// 100 years: far beyond any rule's horizon, far inside Int64 µs.
    static let longest: Double = 36_500 * 86_400e6

    /// `value` of `unit` in µs, or nil when the unit is unknown or the result is not a finite
    /// duration of at most `longest` either way.
    static func micros(_ value: Double, unit: String) -> Int64? {
        guard let scale = scales[unit] else { return nil }
        let micros = value * scale
        guard micros.isFinite, abs(micros) <= longest else { return nil }
        return Int64(micros)
    }
}
