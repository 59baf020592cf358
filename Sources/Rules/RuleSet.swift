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

    static let ruleKeys: Set<String> = ["alert", "scope", "expr", "for", "keep_firing_for", "severity", "summary", "description", "labels"]

    /// The lines of the file being read, for the indentation of block scalars.
    var lines: [Substring] = []

    mutating func add(file: String, text: String) {
        files.append(file)
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            errors.append(RuleError(file: file, line: 1, column: 1, message: "not valid YAML: \(error)"))
            return
        } catch {
            errors.append(RuleError(file: file, line: 1, column: 1, message: "not valid YAML: \(error)"))
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
        var severity = Severity.warning
        if let s = m["severity"] {
            if let v = s.string.flatMap(Severity.init(rawValue:)) { severity = v } else {
                error(file, s, "severity '\(s.string ?? "?")' is not one of critical, warning, info")
            }
        }
        let summary = template(file, m["summary"], scope: scope) ?? Template(parts: [.text(name)])
        let description = template(file, m["description"], scope: scope) ?? Template(parts: [])
        var labels: [String: String] = [:]
        if let l = m["labels"] {
            if let lm = l.mapping {
                for (k, v) in lm {
                    labels[k.string ?? ""] = v.string ?? ""
                    if v.string?.contains("{{") == true {
                        lints.append(RuleError(file: file, line: v.mark?.line ?? 1, column: v.mark?.column ?? 1,
                                               message: "label \(k.string ?? "?") of \(name) is a template: labels are part of an alert's identity, so a value in one would make a new alert whenever the value changes; put values in summary or description"))
                    }
                }
            } else {
                error(file, l, "labels must be a mapping of names to values")
            }
        }
        guard errors.count == before, let expression else { return }
        rules.append(Rule(name: name, group: group, scope: scope, expression: expression, holdFor: holdFor, keepFiringFor: keep,
                          severity: severity, summary: summary, description: description, labels: labels,
                          file: file, line: nameNode.mark?.line ?? 0, exprLine: line, exprColumn: column,
                          summaryLine: m["summary"]?.mark?.line ?? nameNode.mark?.line ?? 0, summaryColumn: m["summary"]?.mark?.column ?? 1))
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
            error(file, node, "\(name) '\(node.string ?? "?")' is not a duration such as 14d, 12h or 30m")
            return nil
        }
        return d
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

/// `14d`, `12h`, `30m`, `45s`, `2w` in µs; nil for anything else, a negative duration or
/// one longer than `Duration.longest`.
public func parseDuration(_ text: String) -> Int64? {
    guard let unit = text.last, let value = Double(text.dropLast()), value >= 0 else { return text == "0" ? 0 : nil }
    return DurationUnit.micros(value, unit: String(unit))
}

/// The units of durations, shared by rule files, expressions and the CLI.
enum DurationUnit {
    static let scales: [String: Double] = ["d": 86_400e6, "h": 3_600e6, "m": 60e6, "s": 1e6, "w": 7 * 86_400e6]
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
