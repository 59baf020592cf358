public import Projections
public import RaqamModel

/// An alert instance that is pending or firing, or a transition of one, with what a report
/// needs: the rule, the entity, the value and the rendered texts.
public struct AlertReport: Sendable {
    public var rule: Rule
    public var entity: EntityKey
    public var entityName: String
    /// The region of a district or city (the region itself for a region).
    public var region: EntityKey?
    /// The state after the evaluation.
    public var state: AlertInstance.State
    /// The transition that produced this report; nil when the report lists a current alert.
    public var transition: AlertInstance.Transition?
    /// When the condition was first seen holding in this episode (evaluation time, µs).
    public var activeSince: Int64
    /// When the alert fired (µs), if it has.
    public var firedAt: Int64?
    /// The evaluation time of the report (µs).
    public var at: Int64
    /// The value of the metric that decides the rule (`Expression.decidingMetric`) when the
    /// condition last held.
    public var value: MetricValue
    /// The summary; for a resolved transition, what it says at resolution
    /// (`Evaluator.resolvedText`).
    public var summary: String
    public var description: String
    /// The rule's other annotations, rendered.
    public var annotations: [String: String]

    /// A stable id for one episode of one alert (rule, entity, `activeSince`): the firing and
    /// the resolved entry of an episode share it, and a repeated delivery carries the same one.
    public var alertID: String {
        EventID(derivedFrom: "alert/\(rule.name)/\(entity)/\(activeSince)").description
    }
}

/// Evaluates a rule set against projections at evaluation times and drives each alert
/// instance's lifecycle. A value: it holds the instances and nothing else; what to evaluate
/// and when is the caller's (`AlertTimeline` folds a log into it; the daemon does the same live).
///
/// Not thread-safe as a value is not: one owner mutates it.
public struct Evaluator: Sendable {
    public let rules: RuleSet
    /// Rule positions by scope.
    let rulesByScope: [EntityKey.Kind: [Int]]
    /// The slot of the first metric each rule reads (its `{{ value }}`), or nil.
    let valueSlots: [Int?]
    /// Rules whose deciding metric is that of the `or` operand that holds (`Expression.decidingMetric(holdingIn:at:)`).
    let decidesByClause: [Bool]

    struct Entry: Sendable {
        var instance = AlertInstance()
        var value: MetricValue = .none
    }

    /// Every rule's condition as instructions, one after the other (`ranges`), so a pass
    /// runs over one buffer and copies no `Rule`; with each rule's durations apart.
    let code: [ExpressionProgram.Instruction]
    let ranges: [Range<Int>]
    let stackDepth: Int
    let holdFor: [Int64]
    let keepFiringFor: [Int64]

    /// The instances of the entities that have one not inactive, by the rule's position
    /// among its scope's rules (`rulesByScope[kind]`): one look-up per entity, not per rule.
    private(set) var entries: [EntityKey: [Entry]] = [:]

    /// Puts back the instances a snapshot held (`AlertTimeline(decoding:rules:)`).
    mutating func restore(_ entries: [EntityKey: [Entry]]) { self.entries = entries }

    public init(rules: RuleSet) {
        self.rules = rules
        var byScope: [EntityKey.Kind: [Int]] = [:]
        for (i, r) in rules.rules.enumerated() { byScope[r.scope, default: []].append(i) }
        rulesByScope = byScope
        valueSlots = rules.rules.map { r in r.expression.expression.decidingMetric.flatMap(MetricCatalog.slot) }
        decidesByClause = rules.rules.map { $0.expression.expression.decidesByClause }
        var code: [ExpressionProgram.Instruction] = []
        var ranges: [Range<Int>] = []
        for r in rules.rules {
            let start = code.count
            code += r.expression.program.instructions
            ranges.append(start..<code.count)
        }
        self.code = code
        self.ranges = ranges
        stackDepth = max(1, rules.rules.map(\.expression.program.depth).max() ?? 1)
        holdFor = rules.rules.map(\.holdFor)
        keepFiringFor = rules.rules.map(\.keepFiringFor)
    }

    /// True when some rule applies to entities of this kind.
    public func hasRules(for kind: EntityKey.Kind) -> Bool { rulesByScope[kind] != nil }

    /// Evaluates every rule of the entity's scope for `key` at time `t` (µs) and returns the
    /// transitions, pending and abandoned included (callers report firing and resolved).
    /// An entity that is not registered at `t` is skipped.
    ///
    /// - Complexity: one `metrics(for:now:)` plus one evaluation per rule of the scope.
    public mutating func evaluate(_ key: EntityKey, in state: ProjectionState, at t: Int64) -> [AlertReport] {
        guard let verdict = verdict(for: key, in: state, at: t) else { return [] }
        return step(key, by: verdict, at: t)
    }

    /// Evaluates every registered entity of every scope that has rules, at `t`, in key order.
    /// The conditions of many entities are computed on all cores (they read the projections
    /// and nothing else); the instances are then stepped in key order, on this thread.
    public mutating func evaluateAll(in state: ProjectionState, at t: Int64) -> [AlertReport] {
        let keys = [EntityKey.Kind.nation, .region, .district, .org].filter { rulesByScope[$0] != nil }.flatMap { state.keys(of: $0) }
        let evaluator = self
        let verdicts = parallelMap(keys) { evaluator.verdict(for: $0, in: state, at: t) }
        var reports: [AlertReport] = []
        for (key, verdict) in zip(keys, verdicts) {
            if let verdict { reports += step(key, by: verdict, at: t) }
        }
        return reports
    }

    /// What an entity's rules say at one time: its metrics and, by the rule's position among
    /// its scope's rules, whether each condition holds. Computed without the instances.
    struct Verdict: Sendable {
        var metrics: EntityMetrics
        var holds: [Bool]
    }

    func verdict(for key: EntityKey, in state: ProjectionState, at t: Int64) -> Verdict? {
        guard let indexes = rulesByScope[key.kind], let metrics = state.metrics(for: key, now: Timestamp(micros: t)) else { return nil }
        var holds = [Bool](repeating: false, count: indexes.count)
        code.withUnsafeBufferPointer { code in
            withUnsafeTemporaryAllocation(of: ExpressionProgram.Value.self, capacity: stackDepth) { stack in
                for (n, i) in indexes.enumerated() {
                    let v = ExpressionProgram.run(code, ranges[i], stack: stack, metrics, now: t)
                    holds[n] = v.tag == .bool && v.integer == 1
                }
            }
        }
        return Verdict(metrics: metrics, holds: holds)
    }

    /// Steps the entity's instances by a verdict and returns the transitions. An entity with
    /// no instance gets them only when a condition holds. (The entries are taken out and put
    /// back: stepping them in place through `entries.values[i]` copies the whole dictionary.)
    mutating func step(_ key: EntityKey, by verdict: Verdict, at t: Int64) -> [AlertReport] {
        var reports: [AlertReport] = []
        if var mine = entries.removeValue(forKey: key) {
            if step(&mine, key, by: verdict, at: t, into: &reports) > 0 { entries[key] = mine }
        } else if verdict.holds.contains(true) {
            var mine = [Entry](repeating: Entry(), count: verdict.holds.count)
            if step(&mine, key, by: verdict, at: t, into: &reports) > 0 { entries[key] = mine }
        }
        return reports
    }

    /// Steps one entity's entries; returns how many are left pending or firing.
    private func step(_ mine: inout [Entry], _ key: EntityKey, by verdict: Verdict, at t: Int64, into reports: inout [AlertReport]) -> Int {
        guard let indexes = rulesByScope[key.kind] else { return 0 }
        var active = 0
        mine.withUnsafeMutableBufferPointer { mine in
            for (n, i) in indexes.enumerated() {
                let holds = verdict.holds[n]
                if !holds && mine[n].instance.state == .inactive { continue }
                let transition = mine[n].instance.evaluate(holds: holds, at: t, holdFor: holdFor[i], keepFiringFor: keepFiringFor[i])
                // The value while the condition holds, and at resolution the present one: a
                // resolved alert never shows the numbers of when it fired.
                if holds && decidesByClause[i],
                   let slot = rules.rules[i].expression.expression.decidingMetric(holdingIn: verdict.metrics, at: t).flatMap(MetricCatalog.slot) {
                    mine[n].value = verdict.metrics[slot: slot]
                } else if holds || transition == .resolved, let slot = valueSlots[i] {
                    mine[n].value = verdict.metrics[slot: slot]
                }
                if let transition {
                    reports.append(report(rule: rules.rules[i], entry: mine[n], metrics: verdict.metrics, transition: transition, at: t))
                }
                if mine[n].instance.state != .inactive { active += 1 }
            }
        }
        return active
    }

    /// The alerts that are pending or firing, sorted by rule name then entity, with their
    /// texts rendered from the projections at `t`.
    public func active(in state: ProjectionState, at t: Int64, includePending: Bool = true) -> [AlertReport] {
        var out: [AlertReport] = []
        var metricsCache: [EntityKey: EntityMetrics] = [:]
        for (entity, list) in entries {
            for (n, entry) in list.enumerated() {
                guard entry.instance.state == .firing || (includePending && entry.instance.state == .pending) else { continue }
                guard let m = metricsCache[entity] ?? state.metrics(for: entity, now: Timestamp(micros: t)) else { continue }
                metricsCache[entity] = m
                out.append(report(rule: rules.rules[rulesByScope[entity.kind]![n]], entry: entry, metrics: m, transition: nil, at: t))
            }
        }
        return out.sorted { ($0.rule.name, $0.entity) < ($1.rule.name, $1.entity) }
    }

    /// How many alerts are firing and pending.
    public var activeCounts: (firing: Int, pending: Int) {
        var firing = 0, pending = 0
        for list in entries.values {
            for e in list {
                if e.instance.state == .firing { firing += 1 } else if e.instance.state == .pending { pending += 1 }
            }
        }
        return (firing, pending)
    }

    func report(rule: Rule, entry: Entry, metrics: EntityMetrics, transition: AlertInstance.Transition?, at t: Int64) -> AlertReport {
        AlertReport(rule: rule, entity: metrics.key, entityName: metrics.name,
                    region: metrics.key.regionKey ?? metrics.parent,
                    state: entry.instance.state, transition: transition,
                    activeSince: entry.instance.activeSince ?? entry.instance.firedAt ?? t, firedAt: entry.instance.firedAt,
                    at: t, value: entry.value,
                    summary: transition == .resolved
                        ? Self.resolvedText(rule, metrics, value: entry.value, now: t)
                        : rule.summary.render(metrics, value: entry.value, now: t),
                    description: rule.description.render(metrics, value: entry.value, now: t),
                    annotations: rule.annotations.mapValues { $0.render(metrics, value: entry.value, now: t) })
    }

    /// The report of an alert that resolved while nobody evaluated it (raqamd was down, or the
    /// rules were reloaded): the present value and the resolved wording, from the projections
    /// at `t`. Nil when no rule of that name applies to the entity's scope, or the entity is
    /// not registered at `t`.
    public func resolution(rule name: String, entity: EntityKey, activeSince: Int64, in state: ProjectionState, at t: Int64) -> AlertReport? {
        guard let rule = rules.rules.first(where: { $0.name == name && $0.scope == entity.kind }),
              let metrics = state.metrics(for: entity, now: Timestamp(micros: t)) else { return nil }
        let value = rule.expression.expression.decidingMetric.flatMap { metrics[$0] } ?? .none
        var entry = Entry()
        entry.value = value
        var r = report(rule: rule, entry: entry, metrics: metrics, transition: .resolved, at: t)
        r.activeSince = activeSince
        return r
    }

    /// What a resolved transition says, from the state at resolution: "Resolved: " and the
    /// rule's `resolved_summary` (`Resolved: Shahrikhan District now has a hokim's portal`),
    /// else the fixed form `Resolved: DistrictWithoutPortal for Shahrikhan District
    /// (activity.last_event is now 2021-03-02)` (the deciding metric and its present value; without one,
    /// just the rule and the entity). Never the firing summary: its wording says what is wrong.
    public static func resolvedText(_ rule: Rule, _ metrics: EntityMetrics, value: MetricValue, now t: Int64) -> String {
        if let r = rule.resolvedSummary { return "Resolved: " + r.render(metrics, value: value, now: t) }
        let subject = "Resolved: \(rule.name) for \(metrics.name.isEmpty ? metrics.key.description : metrics.name)"
        guard let metric = rule.expression.expression.decidingMetric else { return subject }
        // A time reads as its day in Tashkent, as `| date` renders it.
        let format: Template.Format = if case .time = value { .date } else { .plain }
        return subject + " (\(metric) is now \(Template(parts: [.field("value", format: format)]).render(metrics, value: value, now: t)))"
    }
}

