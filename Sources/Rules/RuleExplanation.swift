public import Projections
public import RaqamModel

/// Why a rule holds or not for one entity at one time: its expression taken apart into the
/// clauses of its `and`/`or`, each with its value then, and every metric it reads with that
/// metric's value. What `raqamctl explain`, `GET /v1/explain` and the web view show.
public struct RuleExplanation: Sendable {
    /// One clause: the whole expression (depth 0), then the operands of each `and`/`or`.
    public struct Clause: Sendable {
        public var text: String
        /// The clause's value as the rule language writes it (`true`, `0.44`, `12d`), or
        /// `no data` when a metric it reads has none.
        public var value: String
        /// For a condition: whether it holds (nil: no data).
        public var holds: Bool?
        public var depth: Int
    }

    public struct Reading: Sendable {
        public var metric: String
        public var value: MetricValue
    }

    public var rule: Rule
    public var entity: EntityKey
    public var at: Int64
    /// Whether the rule's condition holds at `at`.
    public var holds: Bool
    public var clauses: [Clause]
    public var readings: [Reading]

    /// Explains `rule` for the entity whose metrics at `t` (µs) are `m`.
    public init(rule: Rule, metrics m: EntityMetrics, at t: Int64) {
        self.rule = rule
        entity = m.key
        at = t
        let e = rule.expression.expression
        holds = CompiledExpression.evaluate(e, m, t) == .bool(true)
        var clauses: [Clause] = []
        func walk(_ x: Expression, depth: Int) {
            let v = CompiledExpression.evaluate(x, m, t)
            clauses.append(Clause(text: x.text, value: v.map(Self.text) ?? "no data", holds: v.flatMap { if case .bool(let b) = $0 { b } else { nil } }, depth: depth))
            if case .binary(let op, let a, let b) = x, op == .and || op == .or {
                walk(a, depth: depth + 1)
                walk(b, depth: depth + 1)
            }
        }
        walk(e, depth: 0)
        self.clauses = clauses
        var seen: Set<String> = []
        readings = e.metrics.filter { seen.insert($0).inserted }.map { Reading(metric: $0, value: m[$0] ?? .none) }
    }

    static func text(_ v: ExpressionValue) -> String {
        switch v {
        case .number(let x): MetricValue.number(x).description
        case .bool(let b): b ? "true" : "false"
        case .string(let s): "\"\(s)\""
        case .time(let t): Timestamp(micros: t, offsetMinutes: CalendarDate.tashkentOffsetMinutes).rfc3339
        case .duration(let d): Expression.durationText(d)
        }
    }
}

extension Expression {
    /// The expression written back in the rule language (`projects.planned >= 5 and …`), with
    /// parentheses where an operand binds looser than its operator.
    public var text: String {
        switch self {
        case .number(let x): return MetricValue.number(x).description
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return b ? "true" : "false"
        case .duration(let d): return Self.durationText(d)
        case .time(let t): return "date(\"\(CalendarDate(tashkentDayOf: Timestamp(micros: t)))\")"
        case .metric(let name, _, _): return name
        case .now: return "now"
        case .not(let x): return "not " + x.operand(of: 7)
        case .negate(let x): return "-" + x.operand(of: 7)
        case .call(let f, let args): return f.rawValue + "(" + args.map(\.text).joined(separator: ", ") + ")"
        case .binary(let op, let a, let b):
            let p = Self.precedence(op)
            return a.operand(of: p) + " " + op.rawValue + " " + b.operand(of: p + 1)
        }
    }

    func operand(of precedence: Int) -> String {
        if case .binary(let op, _, _) = self, Self.precedence(op) < precedence { return "(" + text + ")" }
        return text
    }

    static func precedence(_ op: BinaryOperator) -> Int {
        switch op {
        case .or: 1
        case .and: 2
        case .eq, .ne, .lt, .le, .gt, .ge: 3
        case .add, .sub: 4
        case .mul, .div: 5
        }
    }

    /// A duration in the largest unit that divides it: 90d, 12h, 1h30m.
    static func durationText(_ micros: Int64) -> String {
        if micros == 0 { return "0s" }
        var rest = abs(micros)
        var out = micros < 0 ? "-" : ""
        for (unit, scale) in [("w", Int64(7 * 86_400_000_000)), ("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000), ("ms", 1_000)] where rest >= scale {
            if unit == "w" && rest % scale != 0 { continue }
            out += "\(rest / scale)\(unit)"
            rest %= scale
        }
        return out
    }
}
