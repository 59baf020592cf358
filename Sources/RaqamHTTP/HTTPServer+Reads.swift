import Hummingbird
import NIOCore
import Projections
import RaqamAccess
import RaqamEngine
import RaqamModel
import RaqamStore
import Rules

/// The reads (docs/api.md, "Reads"): the same answers as `raqamctl show`, `lagging`, `alerts`
/// and `events` for the same log position and time, each filtered to what the token may read.
extension HTTPServer {
    func addReads(to router: Router<BasicRequestContext>) {
        router.get("v1/subjects/{key}") { request, context in
            let (backend, principal) = try self.reader(request)
            let text = context.parameters.get("key") ?? ""
            let (at, knownAt) = try Self.times(request)
            let now = at ?? Timestamp(micros: self.now(), offsetMinutes: CalendarDate.tashkentOffsetMinutes)
            _ = backend.waitUntilEvaluated(seconds: 5)
            let outcome = try await self.blocking.runIfActive { try Replay.run(stateDirectory: backend.stateDirectory, at: at, knownAt: knownAt) }
            let key: EntityKey
            do { key = try SubjectResolver(state: outcome.state).resolve(text) } catch {
                throw APIError(status: .notFound, code: "unknown_subject", message: "\(error)")
            }
            guard principal.mayRead(key) else {
                throw APIError(status: .forbidden, code: "forbidden", message: "a token of \(principal.subject) may read \(principal.subject) and what it reports about, not \(key)")
            }
            guard let json = Queries.subjectJSON(state: outcome.state, key: key, now: now, knownAt: knownAt) else {
                throw APIError(status: .notFound, code: "unknown_subject", message: "\(key) is not registered\(at.map { " as of \($0.rfc3339)" } ?? "")")
            }
            return jsonResponse(.ok, json)
        }
        router.get("v1/lagging") { request, _ in
            let (backend, principal) = try self.reader(request)
            let (at, _) = try Self.times(request, knownAt: false)
            let t = at?.micros ?? self.now()
            let filters = try Self.laggingFilters(request)
            _ = backend.waitUntilEvaluated(seconds: 5)
            let evaluation = backend.evaluation
            if let rule = filters.rule, !evaluation.rules.rules.contains(where: { $0.name == rule }) {
                throw APIError(status: .badRequest, code: "bad_request", message: "?rule=\(rule): raqamd runs no rule of that name")
            }
            let found = try await self.blocking.runIfActive {
                try Queries.lagging(stateDirectory: backend.stateDirectory, rules: evaluation.rules, clock: evaluation.clock,
                                    interval: evaluation.interval, at: t, includePending: filters.pending)
            }
            let alerts = filters.apply(found.alerts).filter { principal.mayRead($0.entity) }
            return jsonResponse(.ok, "[" + alerts.map(Queries.laggingJSON).joined(separator: ",\n") + "]")
        }
        router.get("v1/explain") { request, _ in
            let (backend, principal) = try self.reader(request)
            let query = NonEmptyQuery(request)
            guard let text = query.get("subject") else {
                throw APIError(status: .badRequest, code: "bad_request", message: "?subject= is required: an entity key (district:1703202), a slug or a name")
            }
            let (at, knownAt) = try Self.times(request)
            let t = at?.micros ?? self.now()
            _ = backend.waitUntilEvaluated(seconds: 5)
            let evaluation = backend.evaluation
            let rule = query.get("rule")
            if let rule, !evaluation.rules.rules.contains(where: { $0.name == rule }) {
                throw APIError(status: .badRequest, code: "bad_request", message: "?rule=\(rule): raqamd runs no rule of that name")
            }
            let found = try await self.blocking.runIfActive { () -> (EntityKey, [Explanation]?) in
                let state = try Replay.run(stateDirectory: backend.stateDirectory, at: Timestamp(micros: t), knownAt: knownAt).state
                let key: EntityKey
                do { key = try SubjectResolver(state: state).resolve(text) } catch {
                    throw APIError(status: .notFound, code: "unknown_subject", message: "\(error)")
                }
                guard principal.mayRead(key) else {
                    throw APIError(status: .forbidden, code: "forbidden", message: "a token of \(principal.subject) may not read \(key)")
                }
                // The projections replayed once: for the subject's name and for the explanation.
                let alerts = try Queries.lagging(stateDirectory: backend.stateDirectory, rules: evaluation.rules, clock: evaluation.clock,
                                                 interval: evaluation.interval, at: t, includePending: true).alerts
                return (key, try Queries.explain(state: state, alerts: alerts, rules: evaluation.rules, stateDirectory: backend.stateDirectory,
                                                 subject: key, rule: rule, at: t, foldedBy: t, knownAt: knownAt))
            }
            guard let explanations = found.1 else {
                throw APIError(status: .notFound, code: "unknown_subject", message: "\(found.0) is not registered\(at.map { " as of \($0.rfc3339)" } ?? "")")
            }
            return jsonResponse(.ok, "[" + explanations.map(Queries.explanationJSON).joined(separator: ",\n") + "]")
        }
        router.get("v1/alerts") { request, _ in
            let (backend, principal) = try self.reader(request)
            let query = NonEmptyQuery(request)
            let state = query.get("state") ?? "all"
            guard ["firing", "pending", "all"].contains(state) else {
                throw APIError(status: .badRequest, code: "bad_request", message: "?state= must be firing, pending or all, got \"\(state)\"")
            }
            let history = try Self.flag(query.get("history"), name: "history", default: false)
            _ = backend.waitUntilEvaluated(seconds: 5)
            if state == "pending" {
                // Pending alerts are not transitions (the alert log records firing and
                // resolved): they come from evaluating now, as `lagging --pending` shows them.
                let evaluation = backend.evaluation
                let t = self.now()
                let found = try await self.blocking.runIfActive {
                    try Queries.lagging(stateDirectory: backend.stateDirectory, rules: evaluation.rules, clock: evaluation.clock,
                                        interval: evaluation.interval, at: t, includePending: true)
                }
                let pending = found.alerts.filter { $0.state == .pending && principal.mayRead($0.entity) }
                return jsonResponse(.ok, "[" + pending.map(Queries.laggingJSON).joined(separator: ",\n") + "]")
            }
            var records = try await self.blocking.runIfActive {
                try Queries.alertRecords(stateDirectory: backend.stateDirectory, history: history, firingOnly: state == "firing")
            }
            // Alerts firing now show the present value and texts, not those they fired with.
            if state == "firing" && !history { records = Queries.current(records, from: backend.firingAlerts()) }
            let visible = records.filter { principal.mayRead($0.entity) }
            return jsonResponse(.ok, "[" + visible.map(Queries.alertJSON).joined(separator: ",\n") + "]")
        }
        router.get("v1/events") { request, _ in
            let (backend, principal) = try self.reader(request)
            let query = NonEmptyQuery(request)
            let subject = try query.get("subject").map { s in
                do { return try EntityKey(parsing: s) } catch {
                    throw APIError(status: .badRequest, code: "bad_request", message: "?subject=: \(error)")
                }
            }
            if let subject, !principal.mayRead(subject) {
                throw APIError(status: .forbidden, code: "forbidden", message: "a token of \(principal.subject) may not read the events of \(subject)")
            }
            let type = try query.get("type").map { t in
                guard let e = EventType(rawValue: t) else {
                    throw APIError(status: .badRequest, code: "bad_request", message: "?type=: unknown event type \"\(t)\"")
                }
                return e
            }
            let after = try Self.integer(query.get("after_seq"), name: "after_seq", default: 0, range: 0...UInt64.max)
            let limit = Int(try Self.integer(query.get("limit"), name: "limit", default: 1_000, range: 1...10_000))
            let (at, knownAt) = try Self.times(request)
            let occurred: ClosedRange<Int64>? = at.map { Int64.min...$0.micros }
            // Pages by seq: the answer ends at the `limit`-th event, and Raqam-Next-After-Seq
            // says where the next page starts (absent at the end of the log).
            let page = try await self.blocking.runIfActive { () -> (lines: [String], next: UInt64?) in
                var lines: [String] = []
                var next: UInt64?
                try StoredEventReader(stateDirectory: backend.stateDirectory).scan(from: after + 1, occurred: occurred) { s in
                    if let knownAt, s.recordedAt.micros > knownAt.micros { return false }
                    guard principal.mayRead(s.event.subject), subject == nil || s.event.subject == subject, type == nil || s.event.type == type else { return true }
                    lines.append(EventJSON.line(s))
                    if lines.count == limit { next = s.seq; return false }
                    return true
                }
                return (lines, next)
            }
            var headers: HTTPFields = [.contentType: "application/x-ndjson"]
            if let next = page.next { headers[.init("Raqam-Next-After-Seq")!] = "\(next)" }
            let body = page.lines.isEmpty ? "" : page.lines.joined(separator: "\n") + "\n"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
    }

    /// The backend and the principal of a read: any valid token.
    func reader(_ request: Request) throws -> (any IntakeBackend, Principal) {
        let backend = try backend()
        return (backend, try principal(request))
    }

    /// `at=` and `known_at=`: RFC 3339, or a date (the end of that day, Tashkent time), as the CLI's `--at`.
    static func times(_ request: Request, knownAt allowKnownAt: Bool = true) throws -> (at: Timestamp?, knownAt: Timestamp?) {
        func parse(_ name: String) throws -> Timestamp? {
            guard let text = NonEmptyQuery(request).get(name) else { return nil }
            if let t = Timestamp(rfc3339: text) { return t }
            if let d = CalendarDate(iso: text) { return d.tashkentEnd }
            throw APIError(status: .badRequest, code: "bad_request", message: "?\(name)=\(text): expected a date (2021-06-30) or an RFC 3339 time (2021-06-30T18:00:00+05:00)")
        }
        let known = try parse("known_at")
        if known != nil && !allowKnownAt {
            throw APIError(status: .badRequest, code: "bad_request", message: "?known_at= does not apply here: lagging folds what the log holds (as raqamctl lagging does)")
        }
        return (try parse("at"), known)
    }

    static func flag(_ text: String?, name: String, default value: Bool) throws -> Bool {
        guard let text else { return value }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError(status: .badRequest, code: "bad_request", message: "?\(name)= must be true or false, got \"\(text)\"")
        }
    }

    static func integer(_ text: String?, name: String, default value: UInt64, range: ClosedRange<UInt64>) throws -> UInt64 {
        guard let text else { return value }
        guard let n = UInt64(text), range.contains(n) else {
            throw APIError(status: .badRequest, code: "bad_request", message: "?\(name)= must be a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(text)\"")
        }
        return n
    }
}

/// The query's parameters, an empty value (`?at=`) read as absent.
struct NonEmptyQuery {
    let parameters: Hummingbird.Parameters

    init(_ request: Request) { parameters = request.uri.queryParameters }

    func get(_ name: String) -> String? {
        guard let v = parameters.get(name), !v.isEmpty else { return nil }
        return v
    }
}
