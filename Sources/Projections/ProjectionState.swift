public import RaqamModel

/// The newest of several reports of the same thing: by when it occurred, then by seq, so
/// that the answer depends on which events there are, not on the order they arrived in.
struct Latest<Value: Sendable>: Sendable {
    var at: Int64
    var seq: UInt64
    var value: Value

    /// Keeps `value` when it is newer than the current one.
    static func offer(_ current: inout Latest?, at: Int64, seq: UInt64, _ value: Value) {
        if let c = current, (c.at, c.seq) > (at, seq) { return }
        current = Latest(at: at, seq: seq, value: value)
    }
}

/// The 64-bit FNV-1a hash of an id (a project, service, product or start-up).
///
/// The fold only ever asks whether it saw an id before, so it keeps ids as these hashes:
/// sets of integers are far cheaper to build, store and restore from a snapshot than sets of
/// strings. Two ids of one entity collide with probability about n²/2⁶⁵ (10⁻¹² for 5,000).
func idHash(_ id: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in id.utf8 {
        h ^= UInt64(b)
        h = h &* 0x0000_0100_0000_01B3
    }
    return h
}

/// One project of one owner, as its events describe it.
struct ProjectRecord: Sendable {
    var owner: Int
    /// `idHash` of the project id.
    var id: UInt64
    var registered: Latest<Registered>?
    var rescheduled: Latest<CalendarDate>?
    var implemented = false
    var cancelled = false

    /// The due date: of the latest reschedule when there is one, else of the registration.
    var due: CalendarDate? { rescheduled?.value ?? registered?.value.due }
}

/// The reports of a figure per period (the digital-economy volume, software export), with the
/// latest period kept as they are folded: latest end, then the longest span (a half-year over
/// its last quarter or month), then the period's text, so that the answer does not depend on
/// the order the reports came in.
struct PeriodReports: Sendable {
    private(set) var byPeriod: [String: Latest<Double>] = [:]
    private var latestPeriod: (order: (Int, Int, Int), text: String)?

    init() {}

    init(_ byPeriod: [String: Latest<Double>]) {
        for (period, report) in byPeriod { offer(period: period, at: report.at, seq: report.seq, report.value) }
    }

    mutating func offer(period: String, at: Int64, seq: UInt64, _ value: Double) {
        Latest.offer(&byPeriod[period], at: at, seq: seq, value)
        let order = Self.order(period)
        if latestPeriod.map({ ($0.order.0, $0.order.1, $0.order.2, $0.text) < (order.0, order.1, order.2, period) }) ?? true {
            latestPeriod = (order, period)
        }
    }

    /// The value of the latest period, or nil when none was reported.
    var latest: Double? { latestPeriod.flatMap { byPeriod[$0.text]?.value } }

    /// (year, last month, span in months) of a period text.
    static func order(_ p: String) -> (Int, Int, Int) {
        let parts = p.split(separator: "-")
        let year = Int(parts.first ?? "") ?? 0
        guard parts.count == 2 else { return (year, 12, 12) }
        switch parts[1] {
        case "H1": return (year, 6, 6)
        case "H2": return (year, 12, 6)
        case "Q1": return (year, 3, 3)
        case "Q2": return (year, 6, 3)
        case "Q3": return (year, 9, 3)
        case "Q4": return (year, 12, 3)
        default: return (year, Int(parts[1]) ?? 0, 1)
        }
    }
}

/// What a project.registered event says of its project.
struct Registered: Sendable {
    /// A sector programme's project (else a regional one).
    var sector: Bool
    var due: CalendarDate
}

/// What a target.set event says.
struct Target: Sendable {
    var value: Double
    var deadline: CalendarDate
    var setAt: Int64
}

/// Everything known about one entity from its own events (roll-ups happen at query time).
struct EntityRecord: Sendable {
    let key: EntityKey
    var registration: Latest<(kind: String, name: String, parent: String?, registeredAt: Int64)>?
    var projects: [Int] = []
    /// What `projects` count for, kept up to date by `ProjectionState.updateProject`.
    var projectCounts = ProjectCounts()
    // Sets of `idHash`es.
    var servicesPortal: Set<UInt64> = []
    var servicesMobile: Set<UInt64> = []
    var servicesSimplified: Set<UInt64> = []
    var roadmap: Latest<Int64>?
    var productsIntroduced: Set<UInt64> = []
    var portalLaunched = false
    var portalLastUpdate: Timestamp?
    var posts: Int64 = 0
    var training: Latest<(staff: Int64, trained: Int64)>?
    var assessment: Latest<(organized: Bool, score: Double, at: Timestamp)>?
    var lastEvent: Timestamp?
    var events = 0
    /// `events` by type, indexed by `EventType.wireCode - 1` (empty until the first).
    var eventsByType: [Int] = []
    /// Lateness (seconds) of the most recently recorded event.
    var latenessLatest: Latest<Int64>?
    /// The lateness of the entity's own events of the last 90 days before the latest
    /// occurred_at folded, for the 90-day median (older ones are dropped: no query of this
    /// state looks before then).
    var lateness = LatenessWindow()
    /// For a region: its own and its districts' samples; for the nation: every registered
    /// entity's. Kept as events are folded, so a roll-up's median is not a merge and a sort.
    var latenessRollup = LatenessWindow()
    var economy = PeriodReports()
    var export = PeriodReports()
    var startups: Set<UInt64> = []
    var startupAmount: Double = 0
    var targets: [String: Latest<Target>] = [:]

    init(key: EntityKey) { self.key = key }
}

/// The fold of events into per-entity state: a value, built by `apply` one event at a time.
///
/// Pure: the same events (in any order) give the same state, since "latest" means latest by
/// occurred_at (then seq), and everything else is a set or a sum. Queries (`metrics`) take the
/// evaluation time, which decides what is overdue and what "the last 90 days" are.
public struct ProjectionState: Sendable {
    /// The seq of the last event applied.
    public internal(set) var position: UInt64 = 0
    /// How many events were applied.
    public internal(set) var eventCount = 0
    /// The latest occurred_at of the events applied (µs; `Int64.min` when none).
    public internal(set) var maxOccurred = Int64.min
    /// The recorded_at of the event at `position` (µs).
    public internal(set) var lastRecorded: Int64 = 0

    var index: [EntityKey: Int] = [:]
    var entities: [EntityRecord] = []
    /// (owner, project) to its place in `projects` (rebuilt, not stored, by snapshots).
    var projectIndex = ProjectTable()
    var projects: [ProjectRecord] = []

    public init() {
        _ = entityIndex(.nation)
    }

    mutating func entityIndex(_ key: EntityKey) -> Int {
        if let i = index[key] { return i }
        index[key] = entities.count
        entities.append(EntityRecord(key: key))
        return entities.count - 1
    }

    mutating func projectIndex(owner: Int, _ project: String) -> Int {
        let id = idHash(project)
        let k = ProjectTable.key(owner: owner, project: id)
        if let i = projectIndex[k] { return i }
        projectIndex.insert(k, projects.count)
        projects.append(ProjectRecord(owner: owner, id: id))
        entities[owner].projects.append(projects.count - 1)
        return projects.count - 1
    }

    /// Folds one stored event into the state.
    public mutating func apply(_ stored: StoredEvent) {
        let e = stored.event
        let seq = stored.seq
        let at = e.occurredAt.micros
        let i = entityIndex(e.subject)
        if seq >= position {
            position = seq
            lastRecorded = stored.recordedAt.micros
        }
        maxOccurred = max(maxOccurred, at)
        eventCount += 1
        entities[i].events += 1
        let typeIndex = Int(e.type.wireCode) - 1
        if entities[i].eventsByType.isEmpty { entities[i].eventsByType = Array(repeating: 0, count: EventType.allCases.count) }
        entities[i].eventsByType[typeIndex] += 1
        if entities[i].lastEvent.map({ $0.micros < at }) ?? true { entities[i].lastEvent = e.occurredAt }
        let late = (stored.recordedAt.micros - at) / 1_000_000
        Latest.offer(&entities[i].latenessLatest, at: stored.recordedAt.micros, seq: seq, late)
        let wasRegistered = entities[i].registration != nil
        let d = e.data
        switch e.type {
        case .entityRegistered:
            Latest.offer(&entities[i].registration, at: at, seq: seq,
                         (d[0]?.string ?? "", d[1]?.string ?? "", d[2]?.string, at))
        case .projectRegistered:
            updateProject(projectIndex(owner: i, d[0]?.string ?? "")) { p in
                Latest.offer(&p.registered, at: at, seq: seq, Registered(sector: d[1]?.string == "sector", due: d[3]?.date ?? CalendarDate(days: 0)))
            }
        case .projectImplemented:
            updateProject(projectIndex(owner: i, d[0]?.string ?? "")) { $0.implemented = true }
        case .projectCancelled:
            updateProject(projectIndex(owner: i, d[0]?.string ?? "")) { $0.cancelled = true }
        case .projectRescheduled:
            updateProject(projectIndex(owner: i, d[0]?.string ?? "")) { p in
                Latest.offer(&p.rescheduled, at: at, seq: seq, d[1]?.date ?? CalendarDate(days: 0))
            }
        case .serviceLaunched:
            let service = idHash(d[0]?.string ?? "")
            if d[1]?.string == "mobile" { entities[i].servicesMobile.insert(service) } else { entities[i].servicesPortal.insert(service) }
        case .serviceSimplified:
            entities[i].servicesSimplified.insert(idHash(d[0]?.string ?? ""))
        case .roadmapApproved:
            Latest.offer(&entities[i].roadmap, at: at, seq: seq, d[0]?.integer ?? 0)
        case .roadmapProductIntroduced:
            entities[i].productsIntroduced.insert(idHash(d[0]?.string ?? ""))
        case .portalLaunched:
            entities[i].portalLaunched = true
            touchPortal(i, e.occurredAt)
        case .portalUpdated:
            entities[i].posts += d[0]?.integer ?? 0
            touchPortal(i, e.occurredAt)
        case .trainingReported:
            Latest.offer(&entities[i].training, at: at, seq: seq, (d[0]?.integer ?? 0, d[1]?.integer ?? 0))
        case .assessmentRecorded:
            Latest.offer(&entities[i].assessment, at: at, seq: seq, (d[0]?.boolean ?? false, d[1]?.number ?? 0, e.occurredAt))
        case .economyReported:
            entities[i].economy.offer(period: d[0]?.string ?? "", at: at, seq: seq, d[1]?.number ?? 0)
        case .exportReported:
            entities[i].export.offer(period: d[0]?.string ?? "", at: at, seq: seq, d[1]?.number ?? 0)
        case .startupFunded:
            entities[i].startups.insert(idHash(d[0]?.string ?? ""))
            entities[i].startupAmount += d[1]?.number ?? 0
        case .targetSet:
            Latest.offer(&entities[i].targets[d[0]?.string ?? ""], at: at, seq: seq,
                         Target(value: d[1]?.number ?? 0, deadline: d[2]?.date ?? CalendarDate(days: 0), setAt: at))
        }
        addLateness(i, occurred: at, seconds: late, newlyRegistered: !wasRegistered && entities[i].registration != nil)
    }

    /// Changes one project and what its owner's `projectCounts` hold of it.
    mutating func updateProject(_ p: Int, _ change: (inout ProjectRecord) -> Void) {
        let owner = projects[p].owner
        entities[owner].projectCounts.count(projects[p], -1)
        change(&projects[p])
        entities[owner].projectCounts.count(projects[p], 1)
    }

    /// The nation's record: always the first.
    static let nationIndex = 0

    /// Adds a lateness sample to the entity's window and to the roll-ups it counts in (its
    /// region's; the nation's once the entity is registered, when its earlier samples join too).
    mutating func addLateness(_ i: Int, occurred: Int64, seconds: Int64, newlyRegistered: Bool) {
        let horizon = maxOccurred - LatenessWindow.length
        entities[i].lateness.expire(through: horizon)
        if let region = entities[i].key.regionKey {
            let r = entityIndex(region)
            entities[r].latenessRollup.expire(through: horizon)
            entities[r].latenessRollup.insert(occurred: occurred, seconds: seconds)
        }
        let n = Self.nationIndex
        entities[n].latenessRollup.expire(through: horizon)
        if newlyRegistered && i != n {
            for s in entities[i].lateness.samples { entities[n].latenessRollup.insert(occurred: s.occurred, seconds: s.seconds) }
        }
        if i == n || entities[i].registration != nil { entities[n].latenessRollup.insert(occurred: occurred, seconds: seconds) }
        entities[i].lateness.insert(occurred: occurred, seconds: seconds)
    }

    /// Drops every lateness sample no query of this state can use (before a snapshot is
    /// written). A state answers for times at or after the latest occurred_at it folded
    /// (`Replay` folds only events that occurred by the time asked, and the append path
    /// refuses events dated in the future), so samples more than 90 days before that can never
    /// fall in a window again.
    package mutating func pruneAll() {
        let horizon = maxOccurred - LatenessWindow.length
        for i in entities.indices {
            entities[i].lateness.expire(through: horizon)
            entities[i].latenessRollup.expire(through: horizon)
        }
    }

    /// Rebuilds the roll-up windows from the entities' own (after a snapshot is read).
    mutating func rebuildLatenessRollups() {
        let horizon = maxOccurred - LatenessWindow.length
        var members: [Int: [Int]] = [:]
        for i in entities.indices where entities[i].lateness.count > 0 {
            if let region = entities[i].key.regionKey { members[entityIndex(region), default: []].append(i) }
            if i == Self.nationIndex || entities[i].registration != nil { members[Self.nationIndex, default: []].append(i) }
        }
        // The nation's window holds every sample, the regions' the same again between them:
        // built side by side on all cores.
        let targets = Array(members.keys)
        let windows = targets.map { t in members[t]!.map { entities[$0].lateness } }
        let built = parallelMap(Array(windows.indices), minimumChunk: 1) { LatenessWindow(merging: windows[$0], horizon: horizon) }
        for i in entities.indices { entities[i].latenessRollup = LatenessWindow(samples: [], horizon: horizon) }
        for (t, window) in zip(targets, built) { entities[t].latenessRollup = window }
    }

    private mutating func touchPortal(_ i: Int, _ t: Timestamp) {
        if entities[i].portalLastUpdate.map({ $0.micros < t.micros }) ?? true { entities[i].portalLastUpdate = t }
    }
}
