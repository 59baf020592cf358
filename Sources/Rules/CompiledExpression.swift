public import Projections
public import RaqamModel

/// An expression checked for a scope, ready to evaluate against any entity of that scope.
public struct CompiledExpression: Sendable {
    public let text: String
    public let scope: EntityKey.Kind
    public let expression: Expression
    public let type: ValueType
    /// The same expression as flat instructions, what evaluation runs.
    let program: ExpressionProgram

    /// Parses and type-checks `text` for `scope`. `file`, `line` and `column` say where the
    /// text starts in its file, and `indent` how far its later lines are indented there (a
    /// YAML block scalar's indentation), so errors point at the offending character.
    /// - Throws: `RuleError` as `file:line:column: message`.
    public init(_ text: String, scope: EntityKey.Kind, file: String = "<expr>", line: Int = 1, column: Int = 1, indent: Int = 0) throws(RuleError) {
        do throws(ExpressionProblem) {
            (expression, type) = try ExpressionParser.parse(text, scope: scope)
        } catch {
            let l = line + error.position.line - 1
            let c = error.position.line == 1 ? column + error.position.column - 1 : indent + error.position.column
            throw RuleError(file: file, line: l, column: c, message: error.message)
        }
        self.text = text
        self.scope = scope
        program = ExpressionProgram(expression)
    }

    /// The value for one entity at evaluation time `now` (µs); nil when a metric it needs has
    /// no data (a comparison with no data is false, as with an absent Prometheus series).
    public func evaluate(_ metrics: EntityMetrics, now: Int64) -> ExpressionValue? {
        program.value(program.run(metrics, now: now))
    }

    /// True when the expression is a condition that holds for the entity.
    public func holds(_ metrics: EntityMetrics, now: Int64) -> Bool {
        let v = program.run(metrics, now: now)
        return v.tag == .bool && v.integer == 1
    }

    /// The value computed from the tree, recursively: the definition the flat program must
    /// match (tests compare the two).
    func evaluateTree(_ metrics: EntityMetrics, now: Int64) -> ExpressionValue? {
        Self.evaluate(expression, metrics, now)
    }

    static func evaluate(_ e: Expression, _ m: EntityMetrics, _ now: Int64) -> ExpressionValue? {
        switch e {
        case .number(let v): return .number(v)
        case .string(let s): return .string(s)
        case .bool(let b): return .bool(b)
        case .duration(let d): return .duration(d)
        case .time(let t): return .time(t)
        case .now: return .time(now)
        case .metric(_, _, let slot):
            switch m[slot: slot] {
            case .number(let v): return .number(v)
            case .flag(let b): return .bool(b)
            case .time(let t): return .time(t.micros)
            case .none: return nil
            }
        case .not(let x):
            guard case .bool(let b)? = evaluate(x, m, now) else { return nil }
            return .bool(!b)
        case .negate(let x):
            switch evaluate(x, m, now) {
            case .number(let v)?: return .number(-v)
            case .duration(let d)?: return .duration(-d)
            default: return nil
            }
        case .binary(let op, let a, let b):
            if op == .and || op == .or {
                // Three-valued: false and (no data) is false; true or (no data) is true.
                let x = evaluate(a, m, now), y = evaluate(b, m, now)
                if op == .and {
                    if x == .bool(false) || y == .bool(false) { return .bool(false) }
                    return x == .bool(true) && y == .bool(true) ? .bool(true) : nil
                }
                if x == .bool(true) || y == .bool(true) { return .bool(true) }
                return x == .bool(false) && y == .bool(false) ? .bool(false) : nil
            }
            guard let x = evaluate(a, m, now), let y = evaluate(b, m, now) else { return nil }
            return binary(op, x, y)
        case .call(let fn, let args):
            let values = args.map { evaluate($0, m, now) }
            switch fn {
            case .daysSince:
                guard case .time(let t)? = values[0] else { return nil }
                return .number(Double(now - t) / 86_400_000_000)
            case .ratio:
                guard case .number(let a)? = values[0], case .number(let b)? = values[1], b != 0 else { return nil }
                return .number(a / b)
            case .min, .max:
                let present = values.compactMap { $0 }
                guard present.count == values.count else { return nil }
                return present.dropFirst().reduce(present[0]) { acc, v in
                    let less = binary(.lt, v, acc) == .bool(true)
                    return (fn == .min) == less ? v : acc
                }
            case .date:
                return nil  // folded into a time constant by the parser
            }
        }
    }

    static func binary(_ op: Expression.BinaryOperator, _ x: ExpressionValue, _ y: ExpressionValue) -> ExpressionValue? {
        func order(_ a: Double, _ b: Double) -> ExpressionValue? {
            switch op {
            case .eq: .bool(a == b)
            case .ne: .bool(a != b)
            case .lt: .bool(a < b)
            case .le: .bool(a <= b)
            case .gt: .bool(a > b)
            case .ge: .bool(a >= b)
            default: nil
            }
        }
        switch (x, y) {
        case (.number(let a), .number(let b)):
            switch op {
            case .add: return .number(a + b)
            case .sub: return .number(a - b)
            case .mul: return .number(a * b)
            case .div: return b == 0 ? nil : .number(a / b)
            default: return order(a, b)
            }
        case (.duration(let a), .duration(let b)):
            switch op {
            case .add: return ExpressionProgram.checked(a.addingReportingOverflow(b)).map { .duration($0) }
            case .sub: return ExpressionProgram.checked(a.subtractingReportingOverflow(b)).map { .duration($0) }
            default: return order(Double(a), Double(b))
            }
        case (.time(let a), .time(let b)):
            return op == .sub ? ExpressionProgram.checked(a.subtractingReportingOverflow(b)).map { .duration($0) } : order(Double(a), Double(b))
        case (.time(let t), .duration(let d)):
            let r = op == .add ? t.addingReportingOverflow(d) : op == .sub ? t.subtractingReportingOverflow(d) : nil
            return r.flatMap(ExpressionProgram.checked).map { .time($0) }
        case (.duration(let d), .time(let t)):
            return op == .add ? ExpressionProgram.checked(t.addingReportingOverflow(d)).map { .time($0) } : nil
        case (.string(let a), .string(let b)):
            return op == .eq ? .bool(a == b) : op == .ne ? .bool(a != b) : nil
        case (.bool(let a), .bool(let b)):
            return op == .eq ? .bool(a == b) : op == .ne ? .bool(a != b) : nil
        default:
            return nil
        }
    }
}
