import Projections
public import RaqamEngine
public import RaqamModel

/// A monthly trend as a small inline SVG the server draws: a line through the month-end
/// values (as-of values: each what the page shows with `?at=` that day) and the page's own
/// value last, a dot on the last point. No script: the values are in the title (a tooltip
/// and what a screen reader says) and in `data-points` (`day=value;…`, for scripts and tests).
enum Sparkline {
    struct Point {
        var day: String
        var value: Double?
    }

    static let width = 96.0
    static let height = 22.0

    /// The SVG, or "" when fewer than two points have a value (no trend to draw).
    static func svg(_ points: [Point], label: String, format: (Double) -> String) -> String {
        let known = points.enumerated().compactMap { i, p in p.value.map { (i, $0) } }
        guard known.count >= 2 else { return "" }
        let values = known.map(\.1)
        let low = values.min()!, high = values.max()!
        let span = high - low
        func x(_ i: Int) -> Double { points.count < 2 ? 0 : 2 + Double(i) * (width - 4) / Double(points.count - 1) }
        func y(_ v: Double) -> Double { span == 0 ? height / 2 : height - 2 - (v - low) / span * (height - 4) }
        let line = known.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
        let last = known.last!
        let title = points.map { "\($0.day): \($0.value.map(format) ?? "—")" }.joined(separator: "; ")
        let data = points.map { "\($0.day)=\($0.value.map { shortest($0) } ?? "")" }.joined(separator: ";")
        return """
            <svg class="spark" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" \
            aria-label="\(escape(label)): \(escape(title))" data-points="\(data)"><title>\(escape(label)): \(escape(title))</title>\
            <polyline points="\(line)"/><circle cx="\(String(format: "%.1f", x(last.0)))" cy="\(String(format: "%.1f", y(last.1)))" r="2"/></svg>
            """
    }

    /// A value as `show` prints numbers (integers bare, others with up to 4 decimals).
    static func shortest(_ v: Double) -> String { MetricValue.number(v).description }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// What a page's monthly trends are drawn from: every entity's metrics at each month's end
/// (`TrendCache`) and the alerts firing then (`AlertTrendCache`; nil while being computed).
public struct Trends: Sendable {
    /// Nil while they are being computed.
    public var months: [MonthEnd]?
    /// Per month end, the alerts firing then per entity; nil while they are being computed.
    let firing: [[EntityKey: Int]]?

    /// - Parameter firing: per month end (in `months`' order), how many alerts fire about each entity.
    public init(months: [MonthEnd]?, firing: [[EntityKey: Int]]?) {
        self.months = months
        self.firing = firing
    }

    public static let empty = Trends(months: [], firing: [])

    /// A metric's value at each month end (nil where the entity had none), then `now`; nil
    /// while the points are being computed.
    func points(_ key: EntityKey, _ metric: String, now: MetricValue?, nowDay: String) -> [Sparkline.Point]? {
        guard let months else { return nil }
        return months.map { Sparkline.Point(day: $0.day.description, value: Self.number($0.metrics[key]?[metric])) }
            + [Sparkline.Point(day: nowDay, value: Self.number(now))]
    }

    /// The alerts firing at each month end about the entities `concerned` admits, then
    /// `now`; nil while they are being computed.
    func alertPoints(where concerned: (EntityKey) -> Bool, now: Int, nowDay: String) -> [Sparkline.Point]? {
        guard let firing, let months else { return nil }
        return zip(months, firing).map { m, counts in
            Sparkline.Point(day: m.day.description, value: Double(counts.filter { concerned($0.key) }.values.reduce(0, +)))
        } + [Sparkline.Point(day: nowDay, value: Double(now))]
    }

    /// Numbers as they are, flags as 1 and 0; times and nothing as no value.
    static func number(_ v: MetricValue?) -> Double? {
        switch v {
        case .number(let x)?: x
        case .flag(let b)?: b ? 1 : 0
        default: nil
        }
    }
}
