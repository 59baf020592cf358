public import RaqamModel

/// The figures of the state of the programme on 30 June 2021 (`shared/seed/SUMMARY.md`: the
/// report to the President of 13 July 2021) that the scenario reproduces.
public struct ScenarioFigures: Sendable {
    public var start: CalendarDate
    public var end: CalendarDate
    public var sectorProjects: Int
    public var sectorImplemented: Int
    public var regionalProjects: Int
    public var regionalImplemented: Int
    public var portalServices: Int
    /// The scenario's choice (the report gives no count): behind the pace toward 100.
    public var mobileServices: Int
    /// The scenario's choice (the report asks for "more than 50" simplified this year).
    public var simplifiedServices: Int
    public var economyPeriod: String
    public var economyVolumeUZS: Double
    public var softwareExportUSD: Double
    public var economyTargetUZS: Double
    public var exportTargetUSD: Double
    public var mobileTarget: Double
    /// When the targets are set and their deadline (the report gives none: the scenario reads
    /// them as targets for the year 2021).
    public var targetsSet: CalendarDate
    public var targetsDeadline: CalendarDate
    public var laggingOrganizations: Int
    public var laggingDistricts: Int

    public static let h1_2021 = ScenarioFigures(
        start: CalendarDate(iso: "2020-10-05")!, end: CalendarDate(iso: "2021-06-30")!,
        sectorProjects: 443, sectorImplemented: 194, regionalProjects: 1_643, regionalImplemented: 1_172,
        portalServices: 253, mobileServices: 35, simplifiedServices: 21,
        economyPeriod: "2021-H1", economyVolumeUZS: 7_200_000_000_000, softwareExportUSD: 17_500_000,
        economyTargetUZS: 16_000_000_000_000, exportTargetUSD: 40_000_000, mobileTarget: 100,
        targetsSet: CalendarDate(iso: "2021-01-04")!, targetsDeadline: CalendarDate(iso: "2021-12-31")!,
        laggingOrganizations: 65, laggingDistricts: 116)
}

/// The H1-2021 scenario: the programme's events from the decree of 5 October 2020 to
/// 30 June 2021 over the bundled reference data, made by a seeded generator.
///
/// Which bodies and districts lag is drawn from the seed; *why* they lag is in their events
/// (a poor assessment, projects behind or overdue, no road map, no or a stale portal, untrained
/// staff, silence), so the bundled rules find exactly `figures.laggingOrganizations` and
/// `figures.laggingDistricts` of them as of `figures.end`, and nothing of the rest. The same
/// seed gives the same events, byte for byte, on every machine.
public struct H1Scenario: Sendable {
    /// The seed of `raqamctl demo` and `make demo`.
    public static let defaultSeed: UInt64 = 2021

    public let seed: UInt64
    public let figures: ScenarioFigures
    /// In the order they occurred (ties in the order they were made), with ids derived from the
    /// seed, so that streaming the scenario twice stores it once.
    public let events: [Event]
    /// The entities the generator made lag, with the causes it gave them: what the tests hold
    /// the rules' findings against.
    public let lagging: [EntityKey: [LagCause]]

    public init(seed: UInt64 = H1Scenario.defaultSeed, reference: ReferenceData = .bundled) {
        var builder = ScenarioBuilder(seed: seed, reference: reference, figures: .h1_2021)
        builder.build()
        self.seed = seed
        figures = .h1_2021
        events = builder.finish()
        lagging = builder.lagging
    }
}

/// Why the generator made an entity lag; each is caught by one bundled rule.
public enum LagCause: String, Sendable, CaseIterable, Comparable {
    /// Too few of its projects implemented (SectorProjectsLagging, RegionalProjectsLagging).
    case completion
    /// Two or more projects past their due date (OrgProjectsOverdue, DistrictProjectsOverdue).
    case overdue
    /// No approved road map (NoRoadmap; organizations only).
    case roadmap
    /// No portal (OrgPortalMissing, HokimPortalMissing).
    case portalMissing = "portal-missing"
    /// A portal with nothing posted for a quarter (OrgPortalStale, HokimPortalStale).
    case portalStale = "portal-stale"
    /// Less than half the staff trained (OrgStaffUntrained, DistrictStaffUntrained).
    case untrained
    /// An assessment "not organized at the proper level" (…DigitalizationNotOrganized).
    case assessment
    /// No report for over 60 days (OrgSilent, DistrictSilent).
    case silent

    public static func < (a: LagCause, b: LagCause) -> Bool { a.rawValue < b.rawValue }
}
