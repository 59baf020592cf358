public import Projections
import RaqamModel

/// A summary or description with `{{ … }}` fields, checked against the scope's metrics when
/// the rule is loaded, so no template error waits for an alert to fire.
///
/// Fields: `{{ name }}` (the entity's name), `{{ key }}`, `{{ scope }}`, `{{ region }}` (the
/// region's key, for districts), `{{ value }}` (the value of the metric that decides the
/// rule, `Expression.decidingMetric`), and any metric of the scope (`{{ projects.planned }}`).
/// A field may take a format: `{{ projects.completion | percent }}`, `| days`, `| date`,
/// `| days_since`.
public struct Template: Sendable {
    enum Part: Sendable {
        case text(String)
        case field(String, format: Format)
    }

    enum Format: String, Sendable, CaseIterable {
        /// A number as is, a time in RFC 3339, a flag as yes/no.
        case plain
        /// A ratio as a whole percentage: 0.724 → 72%.
        case percent
        /// A number of days: 12.4 → 12 days.
        case days
        /// A time as its day in Tashkent: 2021-03-01.
        case date
        /// A time as the whole days from it to the evaluation time: 45 days.
        case daysSince = "days_since"
    }

    let parts: [Part]

    init(parts: [Part]) { self.parts = parts }

    /// The names of its fields, in order.
    public var fields: [String] {
        parts.compactMap { if case .field(let name, _) = $0 { name } else { nil } }
    }

    static let builtins: Set<String> = ["name", "key", "scope", "region", "value"]

    init(_ text: String, scope: EntityKey.Kind, file: String, line: Int, column: Int) throws(RuleError) {
        var parts: [Part] = []
        var rest = Substring(text)
        var consumed = 0
        func position(_ offset: Int) -> (Int, Int) {
            let before = text.prefix(offset)
            let newlines = before.filter { $0 == "\n" }.count
            if newlines == 0 { return (line, column + offset) }
            return (line + newlines, before.count - (before.lastIndex(of: "\n").map { before.distance(from: before.startIndex, to: $0) } ?? 0))
        }
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            let fieldStart = consumed + rest.distance(from: rest.startIndex, to: open.lowerBound)
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                let (l, c) = position(fieldStart)
                throw RuleError(file: file, line: l, column: c, message: "'{{' without a closing '}}'")
            }
            let inner = rest[open.upperBound..<close.lowerBound].split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: " ") }
            let name = inner[0]
            guard !name.isEmpty else {
                let (l, c) = position(fieldStart)
                throw RuleError(file: file, line: l, column: c, message: "'{{\(rest[open.upperBound..<close.lowerBound])}}' names no field; write {{ name }}, {{ value }} or a metric such as {{ projects.planned }}")
            }
            let format = inner.count > 1 ? Format(rawValue: inner[1]) : .plain
            let (l, c) = position(fieldStart)
            guard let format else {
                throw RuleError(file: file, line: l, column: c, message: "unknown format '\(inner[1])' in '{{ \(name) | \(inner[1]) }}'; use percent, days, date or days_since")
            }
            if !Self.builtins.contains(name) && ExpressionParser.metricType(name, scope: scope) == nil {
                let candidates = Array(Self.builtins) + ExpressionParser.names(for: scope)
                throw RuleError(file: file, line: l, column: c,
                                message: "unknown template field '{{ \(name) }}' for scope \(scope)\(ExpressionParser.suggestion(name, candidates))")
            }
            parts.append(.field(name, format: format))
            consumed = fieldStart + rest.distance(from: open.lowerBound, to: close.upperBound)
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// A number rounded to a whole one, without trapping on values beyond `Int`.
    static func whole(_ x: Double) -> String {
        let r = x.rounded()
        return r.isFinite && abs(r) < 1e15 ? String(Int64(r)) : MetricValue.number(r).description
    }

    /// The text for one entity at evaluation time `now` (µs).
    public func render(_ m: EntityMetrics, value: MetricValue, now: Int64) -> String {
        parts.map { part in
            switch part {
            case .text(let t): return t
            case .field(let name, let format):
                let v: MetricValue
                switch name {
                case "name": return m.name
                case "key": return m.key.description
                case "scope": return m.key.kind.description
                case "region": return (m.key.regionKey ?? m.parent)?.description ?? ""
                case "value": v = value
                default: v = m[name] ?? .none
                }
                switch (format, v) {
                case (.percent, .number(let x)): return Self.whole(x * 100) + "%"
                case (.days, .number(let x)): return Self.whole(x) + " days"
                case (.date, .time(let t)): return CalendarDate(tashkentDayOf: t).description
                case (.daysSince, .time(let t)): return String((now - t.micros) / 86_400_000_000) + " days"
                default: return v.description
                }
            }
        }.joined()
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
