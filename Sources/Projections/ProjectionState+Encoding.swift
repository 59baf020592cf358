import RaqamModel

extension ProjectionState {
    /// The version of the state's layout. Change it whenever the fold or its fields change:
    /// a snapshot of another version is ignored and the log replayed in full.
    public static let schemaVersion = "projections-5"

    /// The state in binary form, for snapshots. Sets are written sorted, so the same state
    /// always gives the same bytes.
    package func encoded() -> [UInt8] {
        var w = BinaryWriter()
        let latenessHorizon = maxOccurred - LatenessWindow.length
        w.u64(position)
        w.varint(eventCount)
        w.i64(maxOccurred)
        w.i64(lastRecorded)
        w.varint(entities.count)
        for r in entities {
            w.u8(r.key.kind.rawValue)
            w.string(r.key.code)
            w.optional(r.registration) { w, l in
                w.i64(l.at); w.u64(l.seq)
                w.string(l.value.kind); w.string(l.value.name)
                w.optional(l.value.parent) { $0.string($1) }
                w.i64(l.value.registeredAt)
            }
            w.varint(r.projects.count)
            for p in r.projects { w.varint(p) }
            w.raw(r.servicesPortal.sorted())
            w.raw(r.servicesMobile.sorted())
            w.raw(r.servicesSimplified.sorted())
            w.optional(r.roadmap) { w, l in w.i64(l.at); w.u64(l.seq); w.i64(l.value) }
            w.raw(r.productsIntroduced.sorted())
            w.bool(r.portalLaunched)
            w.optional(r.portalLastUpdate) { $0.timestamp($1) }
            w.i64(r.posts)
            w.optional(r.training) { w, l in w.i64(l.at); w.u64(l.seq); w.i64(l.value.staff); w.i64(l.value.trained) }
            w.optional(r.assessment) { w, l in
                w.i64(l.at); w.u64(l.seq); w.bool(l.value.organized); w.double(l.value.score); w.timestamp(l.value.at)
            }
            w.optional(r.lastEvent) { $0.timestamp($1) }
            w.varint(r.events)
            w.varint(r.eventsByType.count)
            for n in r.eventsByType { w.varint(n) }
            w.optional(r.latenessLatest) { w, l in w.i64(l.at); w.u64(l.seq); w.i64(l.value) }
            // Only the samples a query can still use (`pruneAll`), so the same state gives the same bytes.
            w.raw(r.lateness.samples.filter { $0.occurred > latenessHorizon }.map { Sample(occurred: $0.occurred, seconds: $0.seconds) })
            for periods in [r.economy.byPeriod, r.export.byPeriod] {
                w.varint(periods.count)
                for k in periods.keys.sorted() {
                    let l = periods[k]!
                    w.string(k); w.i64(l.at); w.u64(l.seq); w.double(l.value)
                }
            }
            w.raw(r.startups.sorted())
            w.double(r.startupAmount)
            w.varint(r.targets.count)
            for k in r.targets.keys.sorted() {
                let l = r.targets[k]!
                w.string(k); w.i64(l.at); w.u64(l.seq)
                w.double(l.value.value); w.i64(Int64(l.value.deadline.days)); w.i64(l.value.setAt)
            }
        }
        w.varint(projects.count)
        for p in projects {
            w.varint(p.owner)
            w.u64(p.id)
            // One flags byte: registered, rescheduled, implemented, cancelled, sector.
            var flags: UInt8 = 0
            if p.registered != nil { flags |= 1 }
            if p.rescheduled != nil { flags |= 2 }
            if p.implemented { flags |= 4 }
            if p.cancelled { flags |= 8 }
            if p.registered?.value.sector == true { flags |= 16 }
            w.u8(flags)
            if let l = p.registered { w.i64(l.at); w.u64(l.seq); w.i64(Int64(l.value.due.days)) }
            if let l = p.rescheduled { w.i64(l.at); w.u64(l.seq); w.i64(Int64(l.value.days)) }
        }
        return w.bytes
    }

    /// A lateness sample as stored: two little-endian words (the layout of
    /// `LatenessWindow.Sample`, which the decoder reads directly).
    struct Sample: BitwiseCopyable {
        var occurred: Int64
        var seconds: Int64
    }

    /// The state from `encoded()` bytes; throws when they are cut short.
    package init(decoding bytes: [UInt8]) throws(BinaryReader.Truncated) {
        try self.init(reading: BinaryReader(bytes: bytes))
    }

    /// The state from the `encoded()` bytes between the reader's offset and end.
    package init(reading reader: BinaryReader) throws(BinaryReader.Truncated) {
        var r = reader
        self.init()
        entities = []
        index = [:]
        position = try r.u64()
        eventCount = try r.varint()
        maxOccurred = try r.i64()
        lastRecorded = try r.i64()
        let entityCount = try r.varint()
        var lateness: [[LatenessWindow.Sample]] = []
        for i in 0..<entityCount {
            guard let kind = EntityKey.Kind(rawValue: try r.u8()) else { throw BinaryReader.Truncated() }
            let key = EntityKey(snapshotKind: kind, code: try r.string())
            var e = EntityRecord(key: key)
            e.registration = try r.optional { (r) throws(BinaryReader.Truncated) in
                Latest(at: try r.i64(), seq: try r.u64(),
                       value: (kind: try r.string(), name: try r.string(), parent: try r.optional { (r) throws(BinaryReader.Truncated) in try r.string() }, registeredAt: try r.i64()))
            }
            let projectCount = try r.varint()
            e.projects.reserveCapacity(projectCount)
            for _ in 0..<projectCount { e.projects.append(try r.varint()) }
            e.servicesPortal = Set(try r.raw(UInt64.self))
            e.servicesMobile = Set(try r.raw(UInt64.self))
            e.servicesSimplified = Set(try r.raw(UInt64.self))
            e.roadmap = try r.optional { (r) throws(BinaryReader.Truncated) in Latest(at: try r.i64(), seq: try r.u64(), value: try r.i64()) }
            e.productsIntroduced = Set(try r.raw(UInt64.self))
            e.portalLaunched = try r.bool()
            e.portalLastUpdate = try r.optional { (r) throws(BinaryReader.Truncated) in try r.timestamp() }
            e.posts = try r.i64()
            e.training = try r.optional { (r) throws(BinaryReader.Truncated) in
                Latest(at: try r.i64(), seq: try r.u64(), value: (staff: try r.i64(), trained: try r.i64()))
            }
            e.assessment = try r.optional { (r) throws(BinaryReader.Truncated) in
                Latest(at: try r.i64(), seq: try r.u64(), value: (organized: try r.bool(), score: try r.double(), at: try r.timestamp()))
            }
            e.lastEvent = try r.optional { (r) throws(BinaryReader.Truncated) in try r.timestamp() }
            e.events = try r.varint()
            let types = try r.varint()
            guard types <= EventType.allCases.count else { throw BinaryReader.Truncated() }
            for _ in 0..<types { e.eventsByType.append(try r.varint()) }
            e.latenessLatest = try r.optional { (r) throws(BinaryReader.Truncated) in Latest(at: try r.i64(), seq: try r.u64(), value: try r.i64()) }
            // Read straight into the window's own sample type: the same two words, in order.
            lateness.append(try r.raw(LatenessWindow.Sample.self))
            for which in 0..<2 {
                var periods: [String: Latest<Double>] = [:]
                for _ in 0..<(try r.varint()) {
                    let k = try r.string()
                    periods[k] = Latest(at: try r.i64(), seq: try r.u64(), value: try r.double())
                }
                if which == 0 { e.economy = PeriodReports(periods) } else { e.export = PeriodReports(periods) }
            }
            e.startups = Set(try r.raw(UInt64.self))
            e.startupAmount = try r.double()
            for _ in 0..<(try r.varint()) {
                let k = try r.string()
                let at = try r.i64(), seq = try r.u64()
                e.targets[k] = Latest(at: at, seq: seq, value: Target(value: try r.double(), deadline: CalendarDate(days: Int32(truncatingIfNeeded: try r.i64())), setAt: try r.i64()))
            }
            index[key] = i
            entities.append(e)
        }
        guard entities.first?.key == .nation else { throw BinaryReader.Truncated() }
        for (i, samples) in lateness.enumerated() {
            entities[i].lateness = LatenessWindow(samples: samples, horizon: maxOccurred - LatenessWindow.length)
        }
        rebuildLatenessRollups()
        let projectCount = try r.varint()
        guard projectCount <= r.end - r.offset else { throw BinaryReader.Truncated() }
        projects.reserveCapacity(projectCount)
        for _ in 0..<projectCount {
            var p = ProjectRecord(owner: try r.varint(), id: try r.u64())
            guard p.owner < entities.count else { throw BinaryReader.Truncated() }
            let flags = try r.u8()
            if flags & 1 != 0 {
                p.registered = Latest(at: try r.i64(), seq: try r.u64(),
                                      value: Registered(sector: flags & 16 != 0, due: CalendarDate(days: Int32(truncatingIfNeeded: try r.i64()))))
            }
            if flags & 2 != 0 {
                p.rescheduled = Latest(at: try r.i64(), seq: try r.u64(), value: CalendarDate(days: Int32(truncatingIfNeeded: try r.i64())))
            }
            p.implemented = flags & 4 != 0
            p.cancelled = flags & 8 != 0
            entities[p.owner].projectCounts.count(p, 1)
            projects.append(p)
        }
        projectIndex = ProjectTable(capacity: projects.count)
        for (i, p) in projects.enumerated() { projectIndex.insert(ProjectTable.key(owner: p.owner, project: p.id), i) }
        guard r.offset == r.end else { throw BinaryReader.Truncated() }
    }
}
