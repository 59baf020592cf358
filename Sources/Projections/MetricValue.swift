public import RaqamModel

/// The value of one metric: a number, a yes/no, an instant, or nothing (no data: a ratio
/// of zero things, a time that never happened). Rules treat `none` like an absent series.
public enum MetricValue: Equatable, Sendable, CustomStringConvertible {
    case number(Double)
    case flag(Bool)
    case time(Timestamp)
    case none

    public var number: Double? { if case .number(let v) = self { v } else { nil } }

    public var description: String {
        switch self {
        case .number(let v): formatMetricNumber(v)
        case .flag(let b): b ? "yes" : "no"
        case .time(let t): t.rfc3339
        case .none: "-"
        }
    }
}

/// Integers without a decimal point, other numbers with up to 4 decimals.
func formatMetricNumber(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String((v * 10_000).rounded() / 10_000)
}

/// A metric's name, kind, the scopes it exists for, and what it means.
public struct MetricSpec: Sendable {
    public enum Kind: String, Sendable { case number, flag, time }

    public var name: String
    public var kind: Kind
    public var scopes: Set<EntityKey.Kind>
    public var description: String
}

/// Every metric the projections compute, by its dotted name: the names `show -o json`
/// prints and rules use. Targets add `targets.<metric>.{value,current,progress,expected,pace}`
/// for each `target.set` metric (a dotted metric name such as `services.mobile`).
public enum MetricCatalog {
    static let all: Set<EntityKey.Kind> = [.nation, .region, .district, .org]
    static let places: Set<EntityKey.Kind> = [.region, .district, .org]

    public static let specs: [MetricSpec] = [
        .init(name: "projects.planned", kind: .number, scopes: all, description: "projects registered and not cancelled (regions: their own and their districts'; the nation: all)"),
        .init(name: "projects.implemented", kind: .number, scopes: all, description: "planned projects reported implemented"),
        .init(name: "projects.cancelled", kind: .number, scopes: all, description: "projects cancelled"),
        .init(name: "projects.overdue", kind: .number, scopes: all, description: "planned projects whose due date is before the evaluation day and that are not implemented"),
        .init(name: "projects.completion", kind: .number, scopes: all, description: "implemented ÷ planned (none when nothing is planned)"),
        .init(name: "projects.sector.planned", kind: .number, scopes: all, description: "planned projects of sector programmes"),
        .init(name: "projects.sector.implemented", kind: .number, scopes: all, description: "implemented projects of sector programmes"),
        .init(name: "projects.regional.planned", kind: .number, scopes: all, description: "planned projects of regional programmes"),
        .init(name: "projects.regional.implemented", kind: .number, scopes: all, description: "implemented projects of regional programmes"),
        .init(name: "services.portal", kind: .number, scopes: [.nation, .org], description: "distinct services launched on the Single Portal of Interactive Public Services"),
        .init(name: "services.mobile", kind: .number, scopes: [.nation, .org], description: "distinct services launched in the mobile app"),
        .init(name: "services.simplified", kind: .number, scopes: [.nation, .org], description: "distinct services reported simplified"),
        .init(name: "roadmap.approved", kind: .flag, scopes: places, description: "a road map of new software products is approved"),
        .init(name: "roadmap.products_planned", kind: .number, scopes: all, description: "products planned by the latest approved road map (summed over a region's districts, and for the nation)"),
        .init(name: "roadmap.products_introduced", kind: .number, scopes: all, description: "distinct road-map products reported introduced"),
        .init(name: "roadmap.completion", kind: .number, scopes: all, description: "introduced ÷ planned products (none when none are planned)"),
        .init(name: "portal.launched", kind: .flag, scopes: places, description: "the body's or hokim's portal is launched"),
        .init(name: "portal.last_update", kind: .time, scopes: places, description: "when the portal was last launched or updated (none if never)"),
        .init(name: "portal.posts", kind: .number, scopes: all, description: "posts reported on the portal, in all updates"),
        .init(name: "staff.total", kind: .number, scopes: all, description: "staff in the latest training report (summed for regions and the nation)"),
        .init(name: "staff.trained", kind: .number, scopes: all, description: "trained staff in the latest training report"),
        .init(name: "staff.trained_share", kind: .number, scopes: all, description: "trained ÷ total staff (none without a report)"),
        .init(name: "assessment.organized", kind: .flag, scopes: places, description: "the latest assessment found digitalization organized at the proper level"),
        .init(name: "assessment.score", kind: .number, scopes: places, description: "score 0–100 of the latest assessment (none without one)"),
        .init(name: "assessment.at", kind: .time, scopes: places, description: "when the latest assessment occurred"),
        .init(name: "activity.last_event", kind: .time, scopes: all, description: "when the latest event about the entity occurred (regions include their districts)"),
        .init(name: "activity.events", kind: .number, scopes: all, description: "events about the entity, registration included"),
        .init(name: "reporting.lateness_latest", kind: .number, scopes: all, description: "seconds between occurred_at and recorded_at of the most recently recorded event"),
        .init(name: "reporting.lateness_median_90d", kind: .number, scopes: all, description: "median of those seconds over events that occurred in the 90 days up to the evaluation time"),
        .init(name: "economy.services_volume_uzs", kind: .number, scopes: [.nation, .region], description: "digital-economy services volume of the latest reported period, in sums"),
        .init(name: "export.software_usd", kind: .number, scopes: [.nation, .org], description: "software export of the latest reported period, in US dollars"),
        .init(name: "startups.funded", kind: .number, scopes: [.nation, .org], description: "distinct start-ups funded"),
        .init(name: "startups.amount_uzs", kind: .number, scopes: [.nation, .org], description: "funding reported for start-ups, in sums"),
    ]

    /// The spec of a dotted name, or nil.
    public static func spec(_ name: String) -> MetricSpec? { index[name].flatMap { $0 < specs.count ? specs[$0] : nil } }

    /// The fields every target has: `targets.<metric>.<field>`.
    public static let targetFields = ["value", "deadline", "current", "progress", "expected", "pace"]

    /// Catalog metrics first, then each target metric's fields.
    public static let slotCount = specs.count + EventSchema.targetMetrics.count * targetFields.count

    private static let index: [String: Int] = {
        var d: [String: Int] = [:]
        for (i, s) in specs.enumerated() { d[s.name] = i }
        for (m, metric) in EventSchema.targetMetrics.enumerated() {
            for (f, field) in targetFields.enumerated() { d["targets.\(metric).\(field)"] = specs.count + m * targetFields.count + f }
        }
        return d
    }()

    /// Whether each catalog metric exists for a scope, by slot.
    static func inScope(_ kind: EntityKey.Kind) -> [Bool] {
        switch kind {
        case .nation: scopeMasks[0]
        case .region: scopeMasks[1]
        case .district: scopeMasks[2]
        case .org: scopeMasks[3]
        }
    }

    private static let scopeMasks: [[Bool]] = [EntityKey.Kind.nation, .region, .district, .org].map { k in specs.map { $0.scopes.contains(k) } }

    /// The slot of `targets.<metric>.value`; the other fields follow in `targetFields` order.
    static func targetSlot(_ metric: String) -> Int {
        specs.count + (EventSchema.targetMetrics.firstIndex(of: metric) ?? 0) * targetFields.count
    }

    /// The position of a metric (a catalog name or `targets.<metric>.<field>`) in
    /// `EntityMetrics.slots`, or nil for an unknown name.
    public static func slot(_ name: String) -> Int? { index[name] }
}
