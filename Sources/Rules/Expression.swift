public import Projections
import RaqamModel

/// The static type of an expression.
public enum ValueType: String, Sendable, CustomStringConvertible {
    case number, bool, string, time, duration
    public var description: String { rawValue }
}

/// A parsed, type-checked expression of the rule language.
public indirect enum Expression: Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    /// A duration in µs (`30d`, `12h`).
    case duration(Int64)
    /// An instant in µs (`date("2021-12-31")`: the start of that day, Tashkent time).
    case time(Int64)
    /// A metric by name, with its type and its `MetricCatalog.slot`.
    case metric(String, ValueType, slot: Int)
    case now
    case not(Expression)
    case negate(Expression)
    case binary(BinaryOperator, Expression, Expression)
    case call(Function, [Expression])

    public enum BinaryOperator: String, Sendable {
        case and, or, eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">=", add = "+", sub = "-", mul = "*", div = "/"
    }

    public enum Function: String, Sendable, CaseIterable {
        case daysSince = "days_since", min, max, ratio, date
    }

    /// The metric an alert reports as its value (`{{ value }}`, RAQAM_VALUE): in `a and b`
    /// the one of `b` (the left operands of a conjunction are guards, such as
    /// `projects.planned >= 5`), otherwise the first metric read.
    public var decidingMetric: String? {
        if case .binary(.and, let a, let b) = self { return b.decidingMetric ?? a.decidingMetric }
        return metrics.first
    }

    /// The metric an alert reports as its value at an evaluation where the rule holds: as
    /// `decidingMetric`, except that in `a or b` it is the one of the first operand that
    /// holds (for `assessment.organized == false or assessment.score < 50` with a body that
    /// is organized but scored 41, the score), not the first metric read.
    public func decidingMetric(holdingIn m: EntityMetrics, at t: Int64) -> String? {
        switch self {
        case .binary(.and, let a, let b):
            return b.decidingMetric(holdingIn: m, at: t) ?? a.decidingMetric(holdingIn: m, at: t)
        case .binary(.or, let a, let b):
            for side in [a, b] where CompiledExpression.evaluate(side, m, t) == .bool(true) { return side.decidingMetric(holdingIn: m, at: t) }
            return metrics.first
        default:
            return decidingMetric
        }
    }

    /// Whether which metric decides depends on which operand of an `or` holds.
    var decidesByClause: Bool {
        switch self {
        case .binary(.and, let a, let b): b.decidesByClause || (b.decidingMetric == nil && a.decidesByClause)
        case .binary(.or, _, _): true
        default: false
        }
    }

    /// The metrics the expression reads.
    public var metrics: [String] {
        switch self {
        case .metric(let name, _, _): [name]
        case .not(let e), .negate(let e): e.metrics
        case .binary(_, let a, let b): a.metrics + b.metrics
        case .call(_, let args): args.flatMap(\.metrics)
        default: []
        }
    }
}

/// A value during evaluation; `nil` stands for "no data" and makes comparisons false.
public enum ExpressionValue: Sendable, Equatable {
    case number(Double)
    case bool(Bool)
    case string(String)
    case time(Int64)
    case duration(Int64)
}
