public import RaqamModel

/// The metrics of one entity at one evaluation time, in catalog order.
public struct EntityMetrics: Sendable {
    public var key: EntityKey
    /// The registered name (the key for the nation or an unregistered entity).
    public var name: String
    /// region, district, city, org or nation.
    public var kind: String
    /// The region a district or city lies in.
    public var parent: EntityKey?
    /// The values indexed by `MetricCatalog.slot(_:)`, for evaluation without string
    /// look-ups; `.none` where the entity has no such metric.
    public var slots: [MetricValue]
    /// The metrics that have a target (`targets.<metric>.*` are in `slots`).
    public var targets: [String]

    /// Metrics from names and values (names the catalog does not know are dropped).
    public init(key: EntityKey, name: String, kind: String, parent: EntityKey?, values: [(name: String, value: MetricValue)]) {
        var slots = [MetricValue](repeating: .none, count: MetricCatalog.slotCount)
        var targets: [String] = []
        for (n, v) in values {
            if let i = MetricCatalog.slot(n) { slots[i] = v }
            if n.hasPrefix("targets."), n.hasSuffix(".value") { targets.append(String(n.dropFirst(8).dropLast(6))) }
        }
        self.init(key: key, name: name, kind: kind, parent: parent, slots: slots, targets: targets)
    }

    init(key: EntityKey, name: String, kind: String, parent: EntityKey?, slots: [MetricValue], targets: [String]) {
        self.key = key
        self.name = name
        self.kind = kind
        self.parent = parent
        self.slots = slots
        self.targets = targets
    }

    /// Every metric of the entity's scope, then each target's fields, by dotted name.
    public var values: [(name: String, value: MetricValue)] {
        var out: [(name: String, value: MetricValue)] = []
        for (i, spec) in MetricCatalog.specs.enumerated() where spec.scopes.contains(key.kind) { out.append((spec.name, slots[i])) }
        for metric in targets {
            for field in MetricCatalog.targetFields {
                let name = "targets.\(metric).\(field)"
                out.append((name, slots[MetricCatalog.slot(name)!]))
            }
        }
        return out
    }

    public subscript(name: String) -> MetricValue? {
        guard let i = MetricCatalog.slot(name) else { return nil }
        if i < MetricCatalog.specs.count, !MetricCatalog.specs[i].scopes.contains(key.kind) { return nil }
        return slots[i]
    }

    /// The value in a slot (`MetricCatalog.slot(_:)`).
    @inlinable public subscript(slot slot: Int) -> MetricValue { slots[slot] }
}

/// Counts that add up across entities: a region is its own plus its districts', the nation
/// everyone's.
struct Aggregate {
    var planned = 0, implemented = 0, cancelled = 0, overdue = 0
    var sectorPlanned = 0, sectorImplemented = 0, regionalPlanned = 0, regionalImplemented = 0
    var portal = 0, mobile = 0, simplified = 0
    var productsPlanned: Int64 = 0, productsIntroduced = 0
    var posts: Int64 = 0
    var staff: Int64 = 0, trained: Int64 = 0, hasTraining = false
    var lastEvent: Timestamp?
    var events = 0
    var latenessLatest: Latest<Int64>?
    var startups = 0
    var startupAmount = 0.0

    mutating func add(_ r: EntityRecord, today: Int32) {
        let c = r.projectCounts
        planned += c.planned
        implemented += c.implemented
        cancelled += c.cancelled
        overdue += c.overdue(today: today)
        sectorPlanned += c.sectorPlanned
        sectorImplemented += c.sectorImplemented
        regionalPlanned += c.planned - c.sectorPlanned
        regionalImplemented += c.implemented - c.sectorImplemented
        portal += r.servicesPortal.count
        mobile += r.servicesMobile.count
        simplified += r.servicesSimplified.count
        productsPlanned += r.roadmap?.value ?? 0
        productsIntroduced += r.productsIntroduced.count
        posts += r.posts
        if let t = r.training {
            hasTraining = true
            staff += t.value.staff
            trained += t.value.trained
        }
        if let l = r.lastEvent, lastEvent.map({ $0.micros < l.micros }) ?? true { lastEvent = l }
        events += r.events
        if let l = r.latenessLatest { Latest.offer(&latenessLatest, at: l.at, seq: l.seq, l.value) }
        startups += r.startups.count
        startupAmount += r.startupAmount
    }
}

extension ProjectionState {
    /// True when `key` is the nation or was registered by an event in the state.
    public func isRegistered(_ key: EntityKey) -> Bool {
        key == .nation || index[key].map { entities[$0].registration != nil } ?? false
    }

    /// The registered entities of a kind, sorted by key.
    public func keys(of kind: EntityKey.Kind) -> [EntityKey] {
        // By index: `entities.filter` would copy every record.
        entities.indices.compactMap { i in
            entities[i].key.kind == kind && (entities[i].key == .nation || entities[i].registration != nil) ? entities[i].key : nil
        }.sorted()
    }

    /// How many events were folded about the entities `concerned` admits, registered or
    /// not, of the types `types` admits: what a page says stands behind a figure ("from 12
    /// events") without reading the log.
    public func eventCount(where concerned: (EntityKey) -> Bool, types: (EventType) -> Bool) -> Int {
        var n = 0
        for i in entities.indices where concerned(entities[i].key) {
            for (t, count) in entities[i].eventsByType.enumerated() where count > 0 && types(EventType.allCases[t]) { n += count }
        }
        return n
    }

    /// The latest `activity.last_event` among the registered entities of `kind` (the nation's
    /// when it is in the state), as `metrics(for:now:)` gives it for each, without computing
    /// their other metrics: `/metrics` reports it per scope at every scrape. O(entities).
    public func newestEvent(of kind: EntityKey.Kind) -> Timestamp? {
        // By index, as `keys(of:)`: a record taken as a value would be retained and released.
        var latest: Int64?
        func offer(_ i: Int) { if let t = entities[i].lastEvent, latest.map({ $0 < t.micros }) ?? true { latest = t.micros } }
        func registered(_ i: Int) -> Bool { entities[i].registration != nil }
        switch kind {
        case .nation:
            // `keys(of: .nation)` lists the nation only when an event was about it.
            guard index[.nation] != nil else { return nil }
            for i in entities.indices where entities[i].key == .nation || registered(i) { offer(i) }
        case .region:
            let regions = entities.indices.filter { entities[$0].key.kind == .region && registered($0) }.map { entities[$0].key.code }
            for i in entities.indices {
                let key = entities[i].key
                if key.kind == .region ? registered(i) : key.kind == .district && regions.contains(where: { key.code.hasPrefix($0) }) { offer(i) }
            }
        case .district, .org:
            for i in entities.indices where entities[i].key.kind == kind && registered(i) { offer(i) }
        }
        return latest.map { Timestamp(micros: $0) }
    }

    /// The events folded about `key` itself (0 for one the state has not seen).
    public func ownEventCount(of key: EntityKey) -> Int { index[key].map { entities[$0].events } ?? 0 }

    /// The registered name of an entity, or nil.
    public func name(of key: EntityKey) -> String? {
        index[key].flatMap { entities[$0].registration?.value.name }
    }

    /// Every registered entity with its names (for looking one up by name).
    public var registeredNames: [(key: EntityKey, name: String)] {
        entities.compactMap { r in r.registration.map { (r.key, $0.value.name) } }
    }

    /// The metrics of `key` at evaluation time `now`, or nil when it is not registered.
    ///
    /// - Complexity: O(1) in the events for an entity's own figures but the lateness median and
    ///   the overdue count (`LatenessWindow`, `ProjectCounts`: O(samples or open projects / block));
    ///   a region adds up its districts', the nation every registered entity's.
    public func metrics(for key: EntityKey, now: Timestamp) -> EntityMetrics? {
        // Records are read through a buffer pointer, in place: `entities[i]` as an argument is a
        // copy, which retains and releases each of the record's arrays and sets.
        entities.withUnsafeBufferPointer { all in
            if let i = index[key] {
                return all[i].registration != nil || key == .nation ? metrics(for: key, own: all[i], all: all, now: now) : nil
            }
            return key == .nation ? metrics(for: key, own: EntityRecord(key: key), all: all, now: now) : nil
        }
    }

    func metrics(for key: EntityKey, own: EntityRecord, all: UnsafeBufferPointer<EntityRecord>, now: Timestamp) -> EntityMetrics {
        let today = CalendarDate(tashkentDayOf: now).days
        var agg = Aggregate()
        switch key.kind {
        case .nation:
            for i in all.indices where all[i].key == .nation || all[i].registration != nil {
                agg.add(all[i], today: today)
            }
        case .region:
            for i in all.indices where all[i].key == key || (all[i].key.kind == .district && all[i].key.code.hasPrefix(key.code)) {
                agg.add(all[i], today: today)
            }
        case .district, .org:
            agg.add(own, today: today)
        }

        var slots = [MetricValue](repeating: .none, count: MetricCatalog.slotCount)
        var slot = 0
        let inScope = MetricCatalog.inScope(key.kind)
        // In catalog order, so that the n-th `put` fills slot n.
        func put(_ name: StaticString, _ v: MetricValue) {
            assert(MetricCatalog.specs[slot].name == name.description, "metrics(for:) must put metrics in catalog order")
            if inScope[slot] { slots[slot] = v }
            slot += 1
        }
        func count(_ n: some BinaryInteger) -> MetricValue { .number(Double(n)) }
        func ratio(_ a: some BinaryInteger, _ b: some BinaryInteger) -> MetricValue { b == 0 ? .none : .number(Double(a) / Double(b)) }
        put("projects.planned", count(agg.planned))
        put("projects.implemented", count(agg.implemented))
        put("projects.cancelled", count(agg.cancelled))
        put("projects.overdue", count(agg.overdue))
        put("projects.completion", ratio(agg.implemented, agg.planned))
        put("projects.sector.planned", count(agg.sectorPlanned))
        put("projects.sector.implemented", count(agg.sectorImplemented))
        put("projects.regional.planned", count(agg.regionalPlanned))
        put("projects.regional.implemented", count(agg.regionalImplemented))
        put("services.portal", count(agg.portal))
        put("services.mobile", count(agg.mobile))
        put("services.simplified", count(agg.simplified))
        put("roadmap.approved", .flag(own.roadmap != nil))
        put("roadmap.products_planned", count(agg.productsPlanned))
        put("roadmap.products_introduced", count(agg.productsIntroduced))
        put("roadmap.completion", ratio(Int64(agg.productsIntroduced), agg.productsPlanned))
        put("portal.launched", .flag(own.portalLaunched))
        put("portal.last_update", own.portalLastUpdate.map { .time($0) } ?? .none)
        put("portal.posts", count(agg.posts))
        put("staff.total", agg.hasTraining ? count(agg.staff) : .none)
        put("staff.trained", agg.hasTraining ? count(agg.trained) : .none)
        put("staff.trained_share", agg.hasTraining ? ratio(agg.trained, agg.staff) : .none)
        put("assessment.organized", own.assessment.map { .flag($0.value.organized) } ?? .none)
        put("assessment.score", own.assessment.map { .number($0.value.score) } ?? .none)
        put("assessment.at", own.assessment.map { .time($0.value.at) } ?? .none)
        put("activity.last_event", agg.lastEvent.map { .time($0) } ?? .none)
        put("activity.events", count(agg.events))
        put("reporting.lateness_latest", agg.latenessLatest.map { count($0.value) } ?? .none)
        let lateness = key.kind == .region || key.kind == .nation ? own.latenessRollup : own.lateness
        put("reporting.lateness_median_90d", lateness.median(now: now.micros).map { .number($0) } ?? .none)
        put("economy.services_volume_uzs", own.economy.latest.map { .number($0) } ?? .none)
        put("export.software_usd", own.export.latest.map { .number($0) } ?? .none)
        put("startups.funded", count(agg.startups))
        put("startups.amount_uzs", .number(agg.startupAmount))

        // Targets, measured against the metrics above.
        for metric in own.targets.keys.sorted() {
            let t = own.targets[metric]!.value
            let current = MetricCatalog.slot(metric).flatMap { $0 < inScope.count && inScope[$0] ? slots[$0].number : nil }
            let span = Double(t.deadline.tashkentEnd.micros + 1 - t.setAt)
            let expected = span <= 0 ? 1 : min(1, max(0, Double(now.micros - t.setAt) / span))
            let progress = current.map { t.value == 0 ? 1 : $0 / t.value }
            let fields: [(String, MetricValue)] = [
                ("value", .number(t.value)),
                // The deadline day counts whole, as pace counts it: its last microsecond.
                ("deadline", .time(t.deadline.tashkentEnd)),
                ("current", current.map { .number($0) } ?? .none),
                ("progress", progress.map { .number($0) } ?? .none),
                ("expected", .number(expected)),
                ("pace", progress.flatMap { p in expected > 0 ? .number(p / expected) : nil } ?? .none),
            ]
            let first = MetricCatalog.targetSlot(metric)
            for (n, (_, v)) in fields.enumerated() { slots[first + n] = v }
        }

        let reg = own.registration?.value
        return EntityMetrics(
            key: key, name: reg?.name ?? (key == .nation ? "Republic of Uzbekistan" : key.description),
            kind: reg?.kind ?? key.kind.description,
            parent: key.kind == .district ? key.regionKey : reg?.parent.flatMap { try? EntityKey(parsing: $0) },
            slots: slots, targets: own.targets.keys.sorted())
    }
}
