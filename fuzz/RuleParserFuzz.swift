// libFuzzer entry for the rule parser: a rule file (YAML → groups → rules, expressions and
// templates checked and compiled) and, on its own, the expression language. Whatever loads
// is evaluated and rendered against sample metrics: no input may crash either.
// Built by `make fuzz` together with Yams, Sources/RaqamModel, the fold of Sources/Projections
// and Sources/Rules into one module (scripts/fuzz.sh).

let sample: [EntityMetrics] = {
    var state = ProjectionState()
    for (i, e) in ReferenceData.bundled.registrationEvents().prefix(40).enumerated() {
        state.apply(StoredEvent(seq: UInt64(i + 1), recordedAt: e.occurredAt, event: e))
    }
    let now = Timestamp(rfc3339: "2021-06-30T12:00:00+05:00")!
    return [EntityKey.nation, EntityKey(snapshotKind: .region, code: "1703"), EntityKey(snapshotKind: .district, code: "1703202")]
        .compactMap { state.metrics(for: $0, now: now) }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRuleParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let now = Timestamp(rfc3339: "2021-06-30T12:00:00+05:00")!.micros
    if data[0] & 1 == 0 {
        // A whole rule file.
        guard case .success(let set) = RuleSet.load(files: [("fuzz.yaml", text)]) else { return 0 }
        for rule in set.rules {
            for m in sample where m.key.kind == rule.scope {
                let v = rule.expression.evaluate(m, now: now)
                _ = rule.summary.render(m, value: .none, now: now)
                _ = rule.description.render(m, value: .none, now: now)
                if let v, case .bool = v {} else if v != nil { fatalError("a rule's condition evaluated to \(String(describing: v))") }
            }
        }
    } else {
        // One expression, for each scope.
        for scope in [EntityKey.Kind.nation, .region, .district, .org] {
            guard let e = try? CompiledExpression(text, scope: scope) else { continue }
            for m in sample { _ = e.evaluate(m, now: now) }
        }
    }
    return 0
}
