package import Projections
import RaqamModel

extension AlertTimeline {
    /// The version of the timeline's layout (with `ProjectionState.schemaVersion`): a
    /// snapshot of another version is ignored and the log folded again.
    package static let schemaVersion = "timeline-1"

    /// The timeline in binary form, for engine snapshots: the clock's place (evaluation time,
    /// last tick, entities awaiting evaluation), every alert instance not inactive, and the
    /// projections. The same timeline always gives the same bytes.
    package func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.u8(clock == .wall ? 0 : 1)
        w.i64(interval)
        w.optional(now) { $0.i64($1) }
        w.optional(lastTick) { $0.i64($1) }
        w.varint(dirty.count)
        for key in dirty.sorted() { w.key(key) }
        let entries = evaluator.entries
        w.varint(entries.count)
        for key in entries.keys.sorted() {
            w.key(key)
            let list = entries[key]!
            w.varint(list.count)
            for e in list {
                let i = e.instance
                w.u8(Self.stateCode(i.state))
                for v in [i.activeSince, i.lastHeld, i.firedAt, i.resolvedAt] { w.optional(v) { $0.i64($1) } }
                w.metricValue(e.value)
            }
        }
        let state = projections.encoded()
        w.varint(state.count)
        w.bytes += state
        return w.bytes
    }

    /// The timeline `encoded()` wrote, under `rules` (the same rule set: the instances are
    /// kept by each rule's place among its scope's rules).
    /// - Throws: `Truncated` when the bytes are not such a timeline or do not fit the rules.
    package init(decoding bytes: [UInt8], rules: RuleSet) throws(BinaryReader.Truncated) {
        var r = BinaryReader(bytes: bytes)
        let clock: EvaluationClock = try r.u8() == 0 ? .wall : .events
        let interval = try r.i64()
        guard interval > 0 else { throw BinaryReader.Truncated() }
        let now = try r.optional { (r) throws(BinaryReader.Truncated) in try r.i64() }
        let lastTick = try r.optional { (r) throws(BinaryReader.Truncated) in try r.i64() }
        var dirty: Set<EntityKey> = []
        for _ in 0..<(try r.varint()) { dirty.insert(try r.key()) }
        var evaluator = Evaluator(rules: rules)
        var entries: [EntityKey: [Evaluator.Entry]] = [:]
        for _ in 0..<(try r.varint()) {
            let key = try r.key()
            let count = try r.varint()
            guard count == evaluator.rulesByScope[key.kind]?.count else { throw BinaryReader.Truncated() }
            var list: [Evaluator.Entry] = []
            for _ in 0..<count {
                guard let state = Self.state(code: try r.u8()) else { throw BinaryReader.Truncated() }
                var times: [Int64?] = []
                for _ in 0..<4 { times.append(try r.optional { (r) throws(BinaryReader.Truncated) in try r.i64() }) }
                let instance = AlertInstance(state: state, activeSince: times[0], lastHeld: times[1], firedAt: times[2], resolvedAt: times[3])
                list.append(Evaluator.Entry(instance: instance, value: try r.metricValue()))
            }
            entries[key] = list
        }
        evaluator.restore(entries)
        let n = try r.varint()
        guard n == r.end - r.offset else { throw BinaryReader.Truncated() }
        let projections = try ProjectionState(reading: r)
        self.init(rules: rules, clock: clock, interval: interval, projections: projections)
        self.evaluator = evaluator
        self.now = now
        self.lastTick = lastTick
        self.dirty = dirty
    }

    static func stateCode(_ s: AlertInstance.State) -> UInt8 {
        switch s {
        case .inactive: 0
        case .pending: 1
        case .firing: 2
        case .resolved: 3
        }
    }

    static func state(code: UInt8) -> AlertInstance.State? {
        [.inactive, .pending, .firing, .resolved][safe: Int(code)]
    }
}

extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}

extension BinaryWriter {
    mutating func key(_ k: EntityKey) {
        u8(k.kind.rawValue)
        string(k.code)
    }

    mutating func metricValue(_ v: MetricValue) {
        switch v {
        case .none: u8(0)
        case .number(let x): u8(1); double(x)
        case .flag(let b): u8(2); bool(b)
        case .time(let t): u8(3); timestamp(t)
        }
    }
}

extension BinaryReader {
    mutating func key() throws(Truncated) -> EntityKey {
        guard let kind = EntityKey.Kind(rawValue: try u8()) else { throw Truncated() }
        return EntityKey(snapshotKind: kind, code: try string())
    }

    mutating func metricValue() throws(Truncated) -> MetricValue {
        switch try u8() {
        case 0: .none
        case 1: .number(try double())
        case 2: .flag(try bool())
        case 3: .time(try timestamp())
        default: throw Truncated()
        }
    }
}
