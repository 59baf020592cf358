/// Every v1 event type, with what its subject may be and which `data` fields it carries.
/// The raw value is the `type` string of the JSON form; the wire code is its byte in the
/// binary form and never changes once released.
public enum EventType: String, Sendable, CaseIterable, CustomStringConvertible {
    case entityRegistered = "entity.registered"
    case projectRegistered = "project.registered"
    case projectImplemented = "project.implemented"
    case projectCancelled = "project.cancelled"
    case projectRescheduled = "project.rescheduled"
    case serviceLaunched = "service.launched"
    case serviceSimplified = "service.simplified"
    case roadmapApproved = "roadmap.approved"
    case roadmapProductIntroduced = "roadmap.product_introduced"
    case portalLaunched = "portal.launched"
    case portalUpdated = "portal.updated"
    case trainingReported = "training.reported"
    case assessmentRecorded = "assessment.recorded"
    case economyReported = "economy.reported"
    case exportReported = "export.reported"
    case startupFunded = "startup.funded"
    case targetSet = "target.set"

    public var description: String { rawValue }

    /// The byte that stands for the type in the binary form: written out, so that a case moved
    /// in the declaration cannot change a released code (and read per folded event: no search).
    public var wireCode: UInt8 {
        switch self {
        case .entityRegistered: 1
        case .projectRegistered: 2
        case .projectImplemented: 3
        case .projectCancelled: 4
        case .projectRescheduled: 5
        case .serviceLaunched: 6
        case .serviceSimplified: 7
        case .roadmapApproved: 8
        case .roadmapProductIntroduced: 9
        case .portalLaunched: 10
        case .portalUpdated: 11
        case .trainingReported: 12
        case .assessmentRecorded: 13
        case .economyReported: 14
        case .exportReported: 15
        case .startupFunded: 16
        case .targetSet: 17
        }
    }

    /// The types by wire code - 1 (built once: `allCases` makes a new array each time).
    private static let byWireCode: [EventType] = allCases.sorted { $0.wireCode < $1.wireCode }

    public init?(wireCode: UInt8) {
        guard wireCode >= 1, Int(wireCode) <= Self.byWireCode.count else { return nil }
        self = Self.byWireCode[Int(wireCode) - 1]
    }

    /// The schema of this type: allowed subjects and fields, in their fixed order.
    public var schema: EventSchema { EventSchema.all[Int(wireCode) - 1] }

    /// The wire kinds of the type's fields, 4 bits each from the lowest, and their count:
    /// what the binary decoder needs, as plain integers (no array to retain per event).
    var wireLayout: (kinds: UInt64, count: Int) {
        switch self {
        case .entityRegistered: (0x11111, 5)        // choice, string, regionKey, string, string: all strings on the wire
        case .projectRegistered: (0x5111, 4)        // string, choice, string, date
        case .projectImplemented, .projectCancelled: (0x11, 2)
        case .projectRescheduled: (0x51, 2)
        case .serviceLaunched: (0x111, 3)
        case .serviceSimplified, .roadmapProductIntroduced, .portalLaunched: (0x1, 1)
        case .roadmapApproved, .portalUpdated: (0x2, 1)
        case .trainingReported: (0x22, 2)
        case .assessmentRecorded: (0x134, 3)        // boolean, number, string
        case .economyReported, .exportReported, .startupFunded: (0x31, 2)
        case .targetSet: (0x531, 3)                 // string, number, date
        }
    }
}

/// What one field of an event's `data` holds.
public enum FieldKind: Sendable, Equatable {
    case string
    /// One of the listed strings.
    case choice([String])
    /// A whole number within the range.
    case integer(ClosedRange<Int64>)
    /// A number (integer or decimal) within the range.
    case number(ClosedRange<Double>)
    case boolean
    /// A calendar day, `YYYY-MM-DD`.
    case date
    /// A reporting period: `2021`, `2021-H1`, `2021-Q2`, `2021-06`.
    case period
    /// An entity key of the region kind (`region:1703`).
    case regionKey
    /// An absolute `http` or `https` URL.
    case url

    /// The words of an error message saying what was expected.
    var expectation: String {
        switch self {
        case .string: "a non-empty string"
        case .choice(let values): "one of " + values.map { "\"\($0)\"" }.joined(separator: ", ")
        case .integer(let r): r.upperBound == .max ? "a whole number ≥ \(r.lowerBound)" : "a whole number from \(r.lowerBound) to \(r.upperBound)"
        case .number(let r): r.upperBound == .greatestFiniteMagnitude ? "a number ≥ \(formatNumber(r.lowerBound))" : "a number from \(formatNumber(r.lowerBound)) to \(formatNumber(r.upperBound))"
        case .boolean: "true or false"
        case .date: "a date YYYY-MM-DD"
        case .period: "a period such as 2021, 2021-H1, 2021-Q2 or 2021-06"
        case .regionKey: "a region key such as \"region:1703\""
        case .url: "an http(s) URL"
        }
    }
}

/// One field of a schema.
public struct FieldSpec: Sendable {
    public var name: String
    public var kind: FieldKind
    public var required: Bool
}

/// The subjects and `data` fields of one event type.
public struct EventSchema: Sendable {
    public var type: EventType
    public var subjects: Set<EntityKey.Kind>
    public var fields: [FieldSpec]

    /// The position of a field in `fields` (and so in `EventData`), or nil.
    public func index(of name: String) -> Int? { fields.firstIndex { $0.name == name } }

    static let counts: ClosedRange<Int64> = 0...Int64.max
    static let amounts: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude
    static let owners: Set<EntityKey.Kind> = [.org, .region, .district]

    static func req(_ name: String, _ kind: FieldKind) -> FieldSpec { FieldSpec(name: name, kind: kind, required: true) }
    static func opt(_ name: String, _ kind: FieldKind) -> FieldSpec { FieldSpec(name: name, kind: kind, required: false) }

    /// The metrics a `target.set` may name: the dotted names the projections compute.
    public static let targetMetrics = [
        "economy.services_volume_uzs", "export.software_usd", "services.mobile", "services.portal", "services.simplified",
        "projects.implemented", "projects.completion", "roadmap.products_introduced", "staff.trained_share",
        "startups.funded", "startups.amount_uzs", "portal.posts",
    ]

    /// In `EventType.allCases` order.
    static let all: [EventSchema] = [
        EventSchema(type: .entityRegistered, subjects: [.region, .district, .org],
                    fields: [req("kind", .choice(["region", "district", "city", "org"])), req("name", .string),
                             opt("parent", .regionKey), opt("name_uz", .string), opt("name_ru", .string)]),
        EventSchema(type: .projectRegistered, subjects: owners,
                    fields: [req("project", .string), req("program", .choice(["sector", "regional"])), req("title", .string), req("due", .date)]),
        EventSchema(type: .projectImplemented, subjects: owners, fields: [req("project", .string), opt("reason", .string)]),
        EventSchema(type: .projectCancelled, subjects: owners, fields: [req("project", .string), opt("reason", .string)]),
        EventSchema(type: .projectRescheduled, subjects: owners, fields: [req("project", .string), req("due", .date)]),
        EventSchema(type: .serviceLaunched, subjects: [.org],
                    fields: [req("service", .string), req("channel", .choice(["portal", "mobile"])), opt("title", .string)]),
        EventSchema(type: .serviceSimplified, subjects: [.org], fields: [req("service", .string)]),
        EventSchema(type: .roadmapApproved, subjects: owners, fields: [req("products_planned", .integer(counts))]),
        EventSchema(type: .roadmapProductIntroduced, subjects: owners, fields: [req("product", .string)]),
        EventSchema(type: .portalLaunched, subjects: owners, fields: [req("url", .url)]),
        EventSchema(type: .portalUpdated, subjects: owners, fields: [req("posts", .integer(counts))]),
        EventSchema(type: .trainingReported, subjects: owners, fields: [req("staff", .integer(counts)), req("trained", .integer(counts))]),
        EventSchema(type: .assessmentRecorded, subjects: owners,
                    fields: [req("organized", .boolean), req("score", .number(0...100)), opt("note", .string)]),
        EventSchema(type: .economyReported, subjects: [.nation, .region],
                    fields: [req("period", .period), req("services_volume_uzs", .number(amounts))]),
        EventSchema(type: .exportReported, subjects: [.nation, .org], fields: [req("period", .period), req("software_usd", .number(amounts))]),
        EventSchema(type: .startupFunded, subjects: [.org], fields: [req("startup", .string), req("amount_uzs", .number(amounts))]),
        EventSchema(type: .targetSet, subjects: [.nation, .region, .org],
                    fields: [req("metric", .choice(targetMetrics)), req("value", .number(-Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude)), req("deadline", .date)]),
    ]
}

/// A number as JSON writes it: integers without a decimal point.
func formatNumber(_ v: Double) -> String {
    if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
}
