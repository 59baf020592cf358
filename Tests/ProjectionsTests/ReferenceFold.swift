import Projections
import RaqamModel

/// A deliberately simple fold, written apart from `ProjectionState`: for one entity it
/// filters the whole event list and computes each metric on its own, the obvious way.
struct ReferenceFold {
    let events: [StoredEvent]

    func members(of key: EntityKey) -> [StoredEvent] {
        switch key.kind {
        case .nation: return events
        case .region: return events.filter { $0.event.subject == key || ($0.event.subject.kind == .district && $0.event.subject.regionKey == key) }
        case .district, .org: return events.filter { $0.event.subject == key }
        }
    }

    func latest(_ list: [StoredEvent]) -> StoredEvent? {
        list.max { ($0.event.occurredAt.micros, $0.seq) < ($1.event.occurredAt.micros, $1.seq) }
    }

    func metrics(for key: EntityKey, now: Timestamp) -> [String: MetricValue] {
        let mine = members(of: key)
        let own = events.filter { $0.event.subject == key }
        var m: [String: MetricValue] = [:]
        let today = Int32((now.micros + 5 * 3_600_000_000) / 86_400_000_000)

        // Projects, by (owner, id).
        var planned = 0, implemented = 0, cancelled = 0, overdue = 0, sectorPlanned = 0, regionalImplemented = 0
        let projectEvents = mine.filter { [.projectRegistered, .projectImplemented, .projectCancelled, .projectRescheduled].contains($0.event.type) }
        let keys = Set(projectEvents.map { "\($0.event.subject)|\($0.event[field: "project"]!.string!)" })
        for k in keys {
            let evs = projectEvents.filter { "\($0.event.subject)|\($0.event[field: "project"]!.string!)" == k }
            guard let reg = latest(evs.filter { $0.event.type == .projectRegistered }) else { continue }
            if evs.contains(where: { $0.event.type == .projectCancelled }) { cancelled += 1; continue }
            planned += 1
            let sector = reg.event[field: "program"] == .string("sector")
            if sector { sectorPlanned += 1 }
            let due = latest(evs.filter { $0.event.type == .projectRescheduled })?.event[field: "due"]?.date ?? reg.event[field: "due"]!.date!
            if evs.contains(where: { $0.event.type == .projectImplemented }) {
                implemented += 1
                if !sector { regionalImplemented += 1 }
            } else if due.days < today {
                overdue += 1
            }
        }
        m["projects.planned"] = .number(Double(planned))
        m["projects.implemented"] = .number(Double(implemented))
        m["projects.cancelled"] = .number(Double(cancelled))
        m["projects.overdue"] = .number(Double(overdue))
        m["projects.completion"] = planned == 0 ? MetricValue.none : .number(Double(implemented) / Double(planned))
        m["projects.sector.planned"] = .number(Double(sectorPlanned))
        m["projects.regional.implemented"] = .number(Double(regionalImplemented))

        func distinct(_ type: EventType, _ field: String, where cond: (StoredEvent) -> Bool = { _ in true }) -> Int {
            Set(mine.filter { $0.event.type == type && cond($0) }.map { "\($0.event.subject)|\($0.event[field: field]!.string!)" }).count
        }
        if key.kind == .nation || key.kind == .org {
            m["services.portal"] = .number(Double(distinct(.serviceLaunched, "service") { $0.event[field: "channel"] == .string("portal") }))
            m["services.mobile"] = .number(Double(distinct(.serviceLaunched, "service") { $0.event[field: "channel"] == .string("mobile") }))
            m["services.simplified"] = .number(Double(distinct(.serviceSimplified, "service")))
        }
        // Road maps: the latest approval of each entity, summed.
        let approvers = Set(mine.filter { $0.event.type == .roadmapApproved }.map(\.event.subject))
        let productsPlanned = approvers.map { s in latest(mine.filter { $0.event.type == .roadmapApproved && $0.event.subject == s })!.event[field: "products_planned"]!.integer! }.reduce(0, +)
        let introduced = distinct(.roadmapProductIntroduced, "product")
        m["roadmap.products_planned"] = .number(Double(productsPlanned))
        m["roadmap.products_introduced"] = .number(Double(introduced))
        if key.kind != .nation {
            m["roadmap.approved"] = .flag(own.contains { $0.event.type == .roadmapApproved })
            m["portal.launched"] = .flag(own.contains { $0.event.type == .portalLaunched })
            let portal = latest(own.filter { $0.event.type == .portalLaunched || $0.event.type == .portalUpdated })
            m["portal.last_update"] = portal.map { .time($0.event.occurredAt) } ?? MetricValue.none
            let assessment = latest(own.filter { $0.event.type == .assessmentRecorded })
            m["assessment.score"] = assessment.map { .number($0.event[field: "score"]!.number!) } ?? MetricValue.none
            m["assessment.organized"] = assessment.map { .flag($0.event[field: "organized"]!.boolean!) } ?? MetricValue.none
        }
        m["portal.posts"] = .number(Double(mine.filter { $0.event.type == .portalUpdated }.map { $0.event[field: "posts"]!.integer! }.reduce(0, +)))
        // Staff: each entity's latest report, summed.
        let reporters = Set(mine.filter { $0.event.type == .trainingReported }.map(\.event.subject))
        let reports = reporters.map { s in latest(mine.filter { $0.event.type == .trainingReported && $0.event.subject == s })! }
        let staff = reports.map { $0.event[field: "staff"]!.integer! }.reduce(0, +)
        let trained = reports.map { $0.event[field: "trained"]!.integer! }.reduce(0, +)
        m["staff.total"] = reports.isEmpty ? MetricValue.none : .number(Double(staff))
        m["staff.trained_share"] = reports.isEmpty || staff == 0 ? MetricValue.none : .number(Double(trained) / Double(staff))
        m["activity.events"] = .number(Double(mine.count))
        m["activity.last_event"] = latest(mine).map { .time($0.event.occurredAt) } ?? MetricValue.none
        if key.kind == .nation || key.kind == .region {
            let reports = own.filter { $0.event.type == .economyReported }
            let byPeriod = Dictionary(grouping: reports) { $0.event[field: "period"]!.string! }
            let lastPeriod = byPeriod.keys.max { periodKey($0) < periodKey($1) }
            m["economy.services_volume_uzs"] = lastPeriod.map { .number(latest(byPeriod[$0]!)!.event[field: "services_volume_uzs"]!.number!) } ?? MetricValue.none
        }
        if key.kind == .nation || key.kind == .org {
            m["startups.funded"] = .number(Double(distinct(.startupFunded, "startup")))
        }
        return m
    }

    func periodKey(_ p: String) -> (Int, Int, Int) {
        let parts = p.split(separator: "-")
        let y = Int(parts[0])!
        guard parts.count == 2 else { return (y, 12, 12) }
        switch parts[1] {
        case "H1": return (y, 6, 6)
        case "H2": return (y, 12, 6)
        case "Q1": return (y, 3, 3)
        case "Q2": return (y, 6, 3)
        case "Q3": return (y, 9, 3)
        case "Q4": return (y, 12, 3)
        default: return (y, Int(parts[1])!, 1)
        }
    }
}
