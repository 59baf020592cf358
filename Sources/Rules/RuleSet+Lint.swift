import RaqamModel

/// Lints: rules that are valid but surely not what their author meant.
extension RuleSetBuilder {
    static func lint(_ rule: Rule) -> [RuleError] {
        var found: [RuleError] = []
        func report(_ message: String) {
            found.append(RuleError(file: rule.file, line: rule.exprLine, column: rule.exprColumn, message: message))
        }
        let e = rule.expression.expression
        if rule.scope == .district, let t = e.metrics.first(where: { $0.hasPrefix("targets.") }) {
            report("\(rule.name) can never fire: it reads \(t), but targets are set for the nation, regions and organizations, never for a district")
        } else if RangeAnalysis.neverHolds(e) {
            report("\(rule.name) can never fire: its condition is false for every possible value of its metrics (check the bounds: counts are ≥ 0, shares and completions lie in 0…1, scores in 0…100)")
        }
        let namesEntity = rule.summary.fields.contains { $0 == "name" || $0 == "key" }
        if rule.scope != .nation && !namesEntity {
            found.append(RuleError(file: rule.file, line: rule.summaryLine, column: rule.summaryColumn,
                                   message: "the summary of \(rule.name) does not name the entity ({{ name }} or {{ key }}): its journal entries for different \(rule.scope)s would read the same"))
        }
        return found
    }
}

/// What values a metric can take, to find conditions that can never hold.
enum RangeAnalysis {
    /// The closed range of a metric's values, or nil when it is unbounded.
    static func bounds(_ name: String) -> ClosedRange<Double>? {
        switch name {
        case "projects.completion", "roadmap.completion", "staff.trained_share": return 0...1
        case "assessment.score": return 0...100
        case "reporting.lateness_latest", "reporting.lateness_median_90d": return nil
        default:
            if name.hasPrefix("targets.") {
                return name.hasSuffix(".expected") ? 0...1 : nil
            }
            return 0...Double.greatestFiniteMagnitude
        }
    }

    /// True when the condition is false (or has no data) whatever the metrics are.
    static func neverHolds(_ e: Expression) -> Bool {
        switch e {
        case .bool(let b): return !b
        case .binary(.and, let a, let b): return neverHolds(a) || neverHolds(b)
        case .binary(.or, let a, let b): return neverHolds(a) && neverHolds(b)
        case .binary(let op, .metric(let name, .number, _), let k):
            return constant(k).map { impossible(op, bounds(name), $0) } ?? false
        case .binary(let op, let k, .metric(let name, .number, _)):
            let mirrored: [Expression.BinaryOperator: Expression.BinaryOperator] = [.lt: .gt, .le: .ge, .gt: .lt, .ge: .le, .eq: .eq, .ne: .ne]
            guard let c = constant(k), let m = mirrored[op] else { return false }
            return impossible(m, bounds(name), c)
        default: return false
        }
    }

    /// The value of a constant number (`0.6`, `-1`), or nil.
    static func constant(_ e: Expression) -> Double? {
        switch e {
        case .number(let v): v
        case .negate(let x): constant(x).map { -$0 }
        default: nil
        }
    }

    static func impossible(_ op: Expression.BinaryOperator, _ range: ClosedRange<Double>?, _ c: Double) -> Bool {
        guard let r = range else { return false }
        switch op {
        case .lt: return r.lowerBound >= c
        case .le: return r.lowerBound > c
        case .gt: return r.upperBound <= c
        case .ge: return r.upperBound < c
        case .eq: return !r.contains(c)
        default: return false
        }
    }
}
