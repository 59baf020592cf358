import RaqamModel

/// Makes the events of `H1Scenario`: plans who lags and why, splits the programme's totals
/// over the owners within the bounds the plan sets, then writes each owner's history.
struct ScenarioBuilder {
    let reference: ReferenceData
    let figures: ScenarioFigures
    let seed: UInt64
    var rng: ScenarioRandom
    private(set) var lagging: [EntityKey: [LagCause]] = [:]
    var made: [(at: Timestamp, event: Event)] = []
    /// The last day an entity reports on (before its silence), where it is not `figures.end`.
    var lastDay: [EntityKey: Int32] = [:]

    /// An organization or a district: owner of projects, a portal, staff and an assessment.
    struct Owner {
        var key: EntityKey
        var source: String
        var url: String
        var region: Int
        var isOrg: Bool
        var causes: Set<LagCause> = []
        var projects = 0
        var implemented = 0
    }

    init(seed: UInt64, reference: ReferenceData, figures: ScenarioFigures) {
        self.seed = seed
        self.reference = reference
        self.figures = figures
        rng = ScenarioRandom(seed: seed ^ 0x5241_5141_4D5F_4831)  // "RAQAM_H1"
    }

    // MARK: Days

    static func day(_ iso: String) -> Int32 { CalendarDate(iso: iso)!.days }

    /// A random working-hours instant of `day`, in Tashkent time.
    mutating func instant(_ day: Int32) -> Timestamp {
        let start = CalendarDate(days: day).tashkentStart
        let minutes = Int64(rng.int(in: 9 * 60...17 * 60 + 59))
        return Timestamp(micros: start.micros + minutes * 60_000_000, offsetMinutes: start.offsetMinutes)
    }

    mutating func day(_ from: String, _ to: String) -> Int32 { day(Self.day(from), Self.day(to)) }

    mutating func day(_ from: Int32, _ to: Int32) -> Int32 {
        Int32(rng.int(in: Int(from)...Int(max(from, to))))
    }

    /// The last day `key` reports on.
    func reportsUntil(_ key: EntityKey) -> Int32 { lastDay[key] ?? figures.end.days }

    /// Records an event, unless it falls after its subject fell silent.
    mutating func emit(_ type: EventType, _ subject: EntityKey, on day: Int32, source: String, _ values: [FieldValue?]) {
        guard day <= reportsUntil(subject) else { return }
        let at = instant(day)
        made.append((at, Event(id: nil, type: type, subject: subject, occurredAt: at, source: source, data: EventData(values: values))))
    }

    // MARK: The whole

    mutating func build() {
        let effective = figures.start.tashkentStart
        for e in reference.registrationEvents(effective: effective) { made.append((effective, e)) }

        var orgs = reference.organizations.map { o in
            Owner(key: o.key, source: o.slug, url: "https://\(o.slug).gov.uz", region: -1, isOrg: true)
        }
        let regionIndex = Dictionary(uniqueKeysWithValues: reference.regions.enumerated().map { ($1.code, $0) })
        var districts = reference.districts.map { d in
            let region = reference.regions[regionIndex[d.regionCode]!]
            return Owner(key: d.key, source: "hokimiyat-\(d.slug)", url: "https://\(d.slug).\(region.slug).uz",
                         region: regionIndex[d.regionCode]!, isOrg: false)
        }

        // A draw whose implemented projects cannot meet every owner's bounds (too many owners
        // drawn to lag on completion in one region, say) is drawn again with the generator's
        // next numbers: the seed still decides everything, and every seed gives a scenario.
        let (drawnOrgs, drawnDistricts) = (orgs, districts)
        var fits = false
        while !fits {
            (orgs, districts) = (drawnOrgs, drawnDistricts)
            lagging = [:]
            lastDay = [:]
            let categoryWeight = ["ministry": 2.0, "committee": 1.2, "agency": 1.0, "inspection": 0.6]
            spread(figures.sectorProjects, over: &orgs, minimum: 1,
                   weights: reference.organizations.map { categoryWeight[$0.category] ?? 0.6 })
            spread(figures.regionalProjects, over: &districts, minimum: 4, weights: districts.map { _ in 1 })

            planLagging(&orgs, count: figures.laggingOrganizations)
            planLagging(&districts, count: figures.laggingDistricts)

            fits = distributeImplemented(figures.sectorImplemented, over: &orgs, indices: Array(orgs.indices))
            // Each region at the national rate, so that no region as a whole lags.
            let regions = reference.regions.indices.map { r in districts.indices.filter { districts[$0].region == r } }
            let planned = regions.map { $0.reduce(0) { $0 + districts[$1].projects } }
            let targets = largestRemainder(figures.regionalImplemented, weights: planned.map(Double.init))
            for (r, members) in regions.enumerated() where fits {
                fits = distributeImplemented(targets[r], over: &districts, indices: members)
            }
        }

        for o in orgs { history(of: o) }
        for d in districts { history(of: d) }
        for r in reference.regions { history(of: r) }
        services(orgs)
        nation()
    }

    /// The events in the order they occurred, with ids derived from the seed (the reference
    /// registrations keep theirs, so `raqamctl init` and the scenario agree).
    mutating func finish() -> [Event] {
        let order = made.indices.sorted { (made[$0].at.micros, $0) < (made[$1].at.micros, $1) }
        return order.enumerated().map { n, i in
            var e = made[i].event
            if e.id == nil { e.id = EventID(derivedFrom: "raqam-demo:h1-2021:\(seed):\(n)") }
            return e
        }
    }

    // MARK: Planning

    /// Spreads `total` projects over `owners`: `minimum` each, the rest drawn by weight.
    mutating func spread(_ total: Int, over owners: inout [Owner], minimum: Int, weights: [Double]) {
        let weights = weights.map { $0 * rng.unit(0.5, 1.5) }
        for i in owners.indices { owners[i].projects = minimum }
        for _ in 0..<(total - minimum * owners.count) { owners[rng.index(weights: weights)].projects += 1 }
    }

    /// Picks `count` owners to lag and the causes of each: one by weight among those its
    /// projects allow, then now and then a second.
    mutating func planLagging(_ owners: inout [Owner], count: Int) {
        let weights: [(LagCause, Double)] = [
            (.assessment, 36), (.completion, 18), (.overdue, 14), (.roadmap, 12), (.portalMissing, 9),
            (.portalStale, 10), (.untrained, 14), (.silent, 6),
        ]
        for i in rng.sample(count, of: owners.count).sorted() {
            let o = owners[i]
            let possible = weights.filter { cause, _ in
                switch cause {
                case .roadmap: o.isOrg
                case .completion: o.projects >= (o.isOrg ? 3 : 5)
                case .overdue: o.projects >= 2
                default: true
                }
            }
            var causes: Set<LagCause> = [possible[rng.index(weights: possible.map(\.1))].0]
            if rng.chance(0.15) {
                let second = possible[rng.index(weights: possible.map(\.1))].0
                // A portal is either missing or stale, not both.
                if !causes.union([second]).isSuperset(of: [.portalMissing, .portalStale]) { causes.insert(second) }
            }
            owners[i].causes = causes
            lagging[o.key] = causes.sorted()
            if causes.contains(.silent) { lastDay[o.key] = day("2021-03-20", "2021-04-20") }
        }
    }

    /// Sets each owner's implemented projects so that they add up to `total`: few where the
    /// plan says completion lags, at least two unimplemented where projects are overdue, well
    /// above the rules' threshold where the owner is clean. Returns false, changing nothing
    /// the caller keeps, when no such numbers add up to `total`.
    mutating func distributeImplemented(_ total: Int, over owners: inout [Owner], indices: [Int]) -> Bool {
        var bounds: [ClosedRange<Int>] = []
        for i in indices {
            let o = owners[i], p = o.projects
            let (threshold, margin, sample) = o.isOrg ? (30, 35, 3) : (60, 65, 5)
            var low = 0, high = p
            if o.causes.contains(.completion) { high = (threshold * p - 1) / 100 }
            if o.causes.contains(.overdue) { high = min(high, p - 2) }
            if o.causes.isEmpty, p >= sample { low = (margin * p + 99) / 100 }
            bounds.append(low...high)
            let rate = o.causes.contains(.completion) ? rng.unit(0, 0.2) : rng.unit(0.6, 0.9)
            owners[i].implemented = min(high, max(low, Int((Double(p) * rate).rounded())))
        }
        var sum = indices.reduce(0) { $0 + owners[$1].implemented }
        guard bounds.reduce(0, { $0 + $1.lowerBound }) <= total && total <= bounds.reduce(0, { $0 + $1.upperBound }) else { return false }
        while sum != total {
            let step = sum < total ? 1 : -1
            var n = rng.int(in: 0...(indices.count - 1))
            while !bounds[n].contains(owners[indices[n]].implemented + step) { n = (n + 1) % indices.count }
            owners[indices[n]].implemented += step
            sum += step
        }
        return true
    }

    /// `total` split in proportion to `weights`, in whole numbers.
    func largestRemainder(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        let exact = weights.map { Double(total) * $0 / sum }
        var parts = exact.map { Int($0) }
        let byRemainder = exact.indices.sorted { (exact[$0] - Double(parts[$0]), -$0) > (exact[$1] - Double(parts[$1]), -$1) }
        for i in byRemainder.prefix(total - parts.reduce(0, +)) { parts[i] += 1 }
        return parts
    }
}
