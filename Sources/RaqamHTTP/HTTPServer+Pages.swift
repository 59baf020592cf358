import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import Projections
import RaqamAccess
import RaqamEngine
import RaqamModel
import RaqamStore
import RaqamWeb
import Rules

/// The web view (docs/web.md): server-rendered pages from the same engine as the API, behind a
/// sign-in with a read token (a session cookie) or `Authorization: Bearer`.
extension HTTPServer {
    static let sessionCookie = "raqam_session"
    static let languageCookie = "raqam_lang"

    func addPages(to router: Router<BasicRequestContext>) {
        router.get("static/raqam.css") { _, _ in Self.asset(WebPages.stylesheet, type: "text/css; charset=utf-8") }
        router.get("static/favicon.svg") { _, _ in Self.asset(WebPages.favicon, type: "image/svg+xml") }
        router.get("favicon.ico") { _, _ in Self.asset(WebPages.favicon, type: "image/svg+xml") }
        router.get("login") { request, _ in
            let lang = self.language(request)
            return self.html(.ok, self.pages.login(lang: lang, message: nil, next: Self.safeNext(NonEmptyQuery(request).get("next"))), lang: lang, request: request)
        }
        router.post("login") { request, _ in try await self.signIn(request) }
        router.post("logout") { request, _ in
            if let id = Self.cookie(Self.sessionCookie, in: request) { self.sessions.close(id) }
            var r = Self.redirect("/login?lang=\(self.language(request).rawValue)")
            r.headers.append(HTTPField(name: .setCookie, value: self.sessionCookieHeader("", maxAge: 0)))
            return r
        }
        router.get("") { request, _ in
            try await self.page(request) { p in
                guard p.principal.mayRead(.nation) else { throw Self.forbidden(p.principal, .nation) }
                let (state, alerts) = try await self.view(p, pending: false)
                return self.pages.nation(state: state, alerts: alerts.filter { p.principal.mayRead($0.entity) }, frame: p.frame)
            }
        }
        router.get("lagging") { request, _ in
            try await self.page(request) { p in
                let filters = try Self.laggingFilters(request)
                let (state, alerts) = try await self.view(p, pending: filters.pending)
                let visible = filters.apply(alerts).filter { p.principal.mayRead($0.entity) }
                return self.pages.lagging(state: state, alerts: visible, rules: p.backend.evaluation.rules, filters: filters, frame: p.frame)
            }
        }
        router.get("lagging.csv") { request, _ in
            try await self.respond(request) { p in
                let filters = try Self.laggingFilters(request)
                let (_, alerts) = try await self.view(p, pending: filters.pending)
                let csv = Queries.laggingCSV(filters.apply(alerts).filter { p.principal.mayRead($0.entity) })
                var headers = HTTPFields()
                headers[.contentType] = "text/csv; charset=utf-8"
                headers[.contentDisposition] = "attachment; filename=\"lagging-\(WebDay.of(p.frame.at)).csv\""
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: csv)))
            }
        }
        router.get("regions/{key}") { request, context in
            try await self.page(request) { p in
                let key = try Self.entity(context.parameters.get("key"), kind: .region)
                guard p.principal.mayRead(key) else { throw Self.forbidden(p.principal, key) }
                let (state, alerts) = try await self.view(p, pending: false)
                let trends = try await self.trends(p)
                guard let page = self.pages.region(key, state: state, alerts: alerts.filter { p.principal.mayRead($0.entity) }, trends: trends, frame: p.frame) else {
                    throw APIError(status: .notFound, code: "unknown_subject", message: "\(key) is not registered")
                }
                return page
            }
        }
        router.get("subjects/{key}") { request, context in
            try await self.page(request) { p in
                let text = context.parameters.get("key") ?? ""
                let (state, alerts) = try await self.view(p, pending: true)
                let key: EntityKey
                do { key = try SubjectResolver(state: state).resolve(text) } catch {
                    throw APIError(status: .notFound, code: "unknown_subject", message: "\(error)")
                }
                guard p.principal.mayRead(key) else { throw Self.forbidden(p.principal, key) }
                let number = Int(try Self.integer(NonEmptyQuery(request).get("page"), name: "page", default: 1, range: 1...1_000_000))
                let history = try await self.alertHistory(p)
                let events = try await self.subjectEvents(key, p, state: state, page: number)
                let trends = try await self.trends(p)
                let rules = p.backend.evaluation.rules
                let explanations = try await self.blocking.runIfActive {
                    try Queries.explain(state: state, alerts: alerts, rules: rules, stateDirectory: p.backend.stateDirectory, subject: key, rule: nil,
                                        at: p.frame.at, foldedBy: p.foldedBy, knownAt: p.knownAt) ?? []
                }
                let mine = Array(history.filter { $0.entity == key }.reversed().prefix(50))
                guard let page = self.pages.subject(key, state: state, alerts: alerts, events: events, history: mine, explanations: explanations,
                                                    trends: trends, frame: p.frame) else {
                    throw APIError(status: .notFound, code: "unknown_subject", message: "\(key) is not registered")
                }
                return page
            }
        }
    }

    // MARK: Sign-in

    /// `POST /login` with `token` (and `next`) as a form: a valid token opens a session.
    func signIn(_ request: Request) async throws -> Response {
        let lang = language(request)
        var request = request
        let body = try await request.collectBody(upTo: 16 << 10)
        let form = Self.form(String(buffer: body))
        let next = Self.safeNext(form["next"])
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            _ = try tokens.authenticate(authorization: "Bearer " + token, now: now())
        } catch let r as TokenRegistry.Refusal {
            return html(.unauthorized, pages.login(lang: lang, message: lang.word("bad_token") + ": " + r.message, next: next), lang: lang, request: request)
        }
        let id = sessions.open(token: token, now: now())
        var r = Self.redirect(next)
        r.headers.append(HTTPField(name: .setCookie, value: sessionCookieHeader(id, maxAge: Int(WebSessions.lifetime / 1_000_000))))
        return r
    }

    func sessionCookieHeader(_ value: String, maxAge: Int) -> String {
        // Secure when raqamd serves TLS, or when its public address (a TLS proxy's) is https.
        let secure = configuration.tlsCertificate != nil || configuration.externalURL?.lowercased().hasPrefix("https://") == true
        return "\(Self.sessionCookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The reader of a page: `Authorization: Bearer`, else the session's token.
    func pageReader(_ request: Request) throws -> (any IntakeBackend, Principal) {
        let backend = try backend()
        if request.headers[.authorization] != nil { return (backend, try principal(request)) }
        guard let id = Self.cookie(Self.sessionCookie, in: request), let token = sessions.token(id, now: now()) else {
            throw SignInNeeded(reason: nil)
        }
        do {
            return (backend, try tokens.authenticate(authorization: "Bearer " + token, now: now()))
        } catch let r as TokenRegistry.Refusal {
            sessions.close(id)
            throw SignInNeeded(reason: r.message)
        }
    }

    struct SignInNeeded: Error { var reason: String? }

    /// One page's request as the pages read it: who, for what time, in what language, and
    /// for a page of the present (no `at=`, no `known_at=`) the live engine's view.
    struct PageRequest: Sendable {
        var frame: WebPages.Frame
        var backend: any IntakeBackend
        var principal: Principal
        var at: Timestamp?
        var knownAt: Timestamp?
        var live: LiveView?

        /// The time the page's projections are folded as of: none for the present (every
        /// event raqamd folded), else the page's time (`at=`, or now for a page with
        /// `known_at=` alone).
        var foldedBy: Int64? { live == nil ? frame.at : nil }
    }

    /// Runs a page: who reads, at what time, in what language; errors become pages (a missing
    /// sign-in a redirect to `/login`).
    func page(_ request: Request, _ body: (PageRequest) async throws -> String) async throws -> Response {
        try await respond(request) { p in
            self.html(.ok, try await body(p), lang: p.frame.lang, request: request)
        }
    }

    /// Runs a page or a download: a missing or ended sign-in redirects to `/login`, an
    /// `APIError` becomes a page saying it.
    func respond(_ request: Request, _ body: (PageRequest) async throws -> Response) async throws -> Response {
        let lang = language(request)
        do {
            let (backend, principal) = try pageReader(request)
            let (at, knownAt) = try Self.times(request)
            var live: LiveView?
            if at == nil && knownAt == nil {
                // The present: what raqamd evaluated last, once what was acknowledged is in it.
                _ = backend.waitUntilEvaluated(seconds: 5)
                live = backend.liveView()
            }
            let frame = try self.frame(request, at: at?.micros ?? live?.at ?? now())
            return try await body(PageRequest(frame: frame, backend: backend, principal: principal, at: at, knownAt: knownAt, live: live))
        } catch let s as SignInNeeded {
            let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
            var r = Self.redirect("/login?lang=\(lang.rawValue)&next=\(WebPages.Frame.encode(next))")
            if s.reason != nil { r.headers.append(HTTPField(name: .setCookie, value: sessionCookieHeader("", maxAge: 0))) }
            return r
        } catch let e as APIError {
            return html(e.status, Self.errorPage(e, lang: lang), lang: lang, request: request)
        }
    }

    /// The projections and the alerts a page shows (pending ones only when asked). For the
    /// present, the live engine's: the same numbers as `/v1/alerts` and the journal, at no
    /// cost of folding. For another time, the projections at `at` as known at `known_at` (as
    /// `show --at --known-at`) and the alerts evaluated at `at` (as `lagging --at`), folded
    /// once per log position and time (`AsOfViews`).
    func view(_ p: PageRequest, pending: Bool) async throws -> (ProjectionState, [AlertReport]) {
        let all: (state: ProjectionState, alerts: [AlertReport])
        if let live = p.live {
            all = (live.state, live.alerts)
        } else {
            _ = p.backend.waitUntilEvaluated(seconds: 5)
            let evaluation = p.backend.evaluation
            let position = p.backend.evaluatedPosition
            // Keyed by the evaluation time itself: a page with known_at= alone is of now, which moves.
            let key = AsOfViews.Key(at: p.frame.at, knownAt: p.knownAt?.micros,
                                    evaluation: "\(evaluation.rules.fingerprint)|\(evaluation.clock.rawValue)|\(evaluation.interval)")
            if let kept = asOfViews.get(key, position: position) {
                all = (kept.state, kept.alerts)
            } else {
                let directory = p.backend.stateDirectory
                all = try await blocking.runIfActive {
                    let state = try Replay.run(stateDirectory: directory, at: p.foldedBy.map { Timestamp(micros: $0) }, knownAt: p.knownAt).state
                    let alerts = try Queries.lagging(stateDirectory: directory, rules: evaluation.rules, clock: evaluation.clock,
                                                     interval: evaluation.interval, at: p.frame.at, includePending: true).alerts
                    return (state, alerts)
                }
                asOfViews.put(.init(key: key, position: position, state: all.state, alerts: all.alerts))
            }
        }
        return (all.state, pending ? all.alerts : all.alerts.filter { $0.state == .firing })
    }

    /// The alert log's transitions, oldest first (none when raqamd has written none yet).
    func alertHistory(_ p: PageRequest) async throws -> [AlertRecord] {
        let follower = followers.follower(p.backend.stateDirectory)
        return try await blocking.runIfActive { try follower.records() }
    }

    /// The monthly trends' points: the 12 month ends before the page's time, as known at
    /// `known_at` (`TrendCache`), and the alerts firing then (`AlertTrendCache`); each folded
    /// off the request (the page that starts a fold waits `trendWait` seconds for it, then
    /// says the trend is being computed).
    func trends(_ p: PageRequest) async throws -> Trends {
        let days = MonthlyTrends.monthEnds(before: p.frame.at, count: 12)
        let position = p.live?.state.position ?? p.backend.evaluatedPosition
        let directory = p.backend.stateDirectory
        let evaluation = p.backend.evaluation
        let (cache, alertCache, logger) = (trends, alertTrends, logger)
        return try await blocking.runIfActive {
            // A trend that cannot be folded (the log unreadable) is said in the journal; the
            // page shows without it, and a later load tries again.
            func orNil<T>(_ what: String, _ body: () throws -> T?) -> T? {
                do { return try body() } catch {
                    logger.error("the web view cannot fold the \(what) trend: \(error)")
                    return nil
                }
            }
            let months = orNil("metrics") { try cache.points(stateDirectory: directory, days: days, knownAt: p.knownAt?.micros, position: position, wait: Self.trendWait) }
            let alerts = orNil("alerts") {
                try alertCache.points(stateDirectory: directory, rules: evaluation.rules, clock: evaluation.clock, interval: evaluation.interval,
                                      days: days, position: position, wait: Self.trendWait)
            }
            return Trends(months: months, firing: alerts)
        }
    }

    /// How long the page that starts a trend's fold waits for it.
    static let trendWait = 0.5

    /// A page of the subject's events, newest first: those that occurred by `at` and were
    /// recorded by `known_at`, read back from the log's end only as far as the page needs;
    /// their number from the projections (which count every event they fold).
    func subjectEvents(_ key: EntityKey, _ p: PageRequest, state: ProjectionState, page: Int) async throws -> WebPages.EventPage {
        let directory = p.backend.stateDirectory
        let size = WebPages.EventPage.size
        let skip = (page - 1) * size
        let total = state.ownEventCount(of: key)
        guard skip < total else { return WebPages.EventPage(events: [], total: total, page: page) }
        let events: [StoredEvent] = try await blocking.runIfActive {
            var seen = 0
            var out: [StoredEvent] = []
            try StoredEventReader(stateDirectory: directory).scanNewestFirst(filter: .subject(key), through: state.position, occurredBy: p.foldedBy, recordedBy: p.knownAt?.micros) { s in
                seen += 1
                if seen > skip { out.append(s) }
                return out.count < size && seen < total
            }
            return out
        }
        return WebPages.EventPage(events: events, total: total, page: page)
    }

    func frame(_ request: Request, at: Int64) throws -> WebPages.Frame {
        let query = NonEmptyQuery(request)
        var extra: [(String, String)] = []
        for name in ["scope", "region", "rule", "severity", "pending", "page", "sort"] { if let v = query.get(name) { extra.append((name, v)) } }
        return WebPages.Frame(lang: language(request), at: at, atText: query.get("at"), knownAtText: query.get("known_at"),
                              path: request.uri.path, extra: extra)
    }

    /// `scope`, `region`, `rule`, `severity` and `pending` of `/lagging`, `/lagging.csv` and
    /// `/v1/lagging` (400 for a value that is none of those it names).
    static func laggingFilters(_ request: Request) throws -> WebPages.LaggingFilters {
        let q = NonEmptyQuery(request)
        var f = WebPages.LaggingFilters()
        if let s = q.get("scope") {
            guard let k = EntityKey.Kind.allCases.first(where: { $0.description == s }) else {
                throw APIError(status: .badRequest, code: "bad_request", message: "?scope= must be nation, region, district or org, got \"\(s)\"")
            }
            f.scope = k
        }
        if let r = q.get("region") {
            guard let k = try? EntityKey(parsing: r.hasPrefix("region:") ? r : "region:" + r), k.kind == .region else {
                throw APIError(status: .badRequest, code: "bad_request", message: "?region= must be a region key such as region:1703, got \"\(r)\"")
            }
            f.region = k
        }
        f.rule = q.get("rule")
        if let s = q.get("severity") {
            guard let v = Severity(rawValue: s) else { throw APIError(status: .badRequest, code: "bad_request", message: "?severity= must be critical, warning or info, got \"\(s)\"") }
            f.severity = v
        }
        f.pending = try flag(q.get("pending"), name: "pending", default: false)
        return f
    }

    static func entity(_ text: String?, kind: EntityKey.Kind) throws -> EntityKey {
        guard let text, let k = try? EntityKey(parsing: text), k.kind == kind else {
            throw APIError(status: .notFound, code: "unknown_subject", message: "\"\(text ?? "")\" is not a \(kind) key such as \(kind == .region ? "region:1703" : "district:1703202")")
        }
        return k
    }

    static func forbidden(_ principal: Principal, _ key: EntityKey) -> APIError {
        APIError(status: .forbidden, code: "forbidden", message: "a token of \(principal.subject) may not read \(key)")
    }

    // MARK: HTTP details

    /// `?lang=`, else the remembered one (cookie), else English.
    func language(_ request: Request) -> WebLanguage {
        WebLanguage(code: NonEmptyQuery(request).get("lang")) ?? WebLanguage(code: Self.cookie(Self.languageCookie, in: request)) ?? .en
    }

    func html(_ status: HTTPResponse.Status, _ text: String, lang: WebLanguage, request: Request) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = "default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'"
        headers[.xContentTypeOptions] = "nosniff"
        headers.append(HTTPField(name: .setCookie, value: "\(Self.languageCookie)=\(lang.rawValue); Path=/; Max-Age=31536000; SameSite=Strict"))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=3600"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// A place to go after signing in: a path of this server, never another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\") else { return "/" }
        return next
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == name { return String(kv[1]) }
            }
        }
        return nil
    }

    /// An `application/x-www-form-urlencoded` body.
    static func form(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if let k = kv.first { out[k] = kv.count > 1 ? kv[1] : "" }
        }
        return out
    }

    static func errorPage(_ e: APIError, lang: WebLanguage) -> String {
        func escape(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;") }
        return """
            <!doctype html><html lang="\(lang.rawValue)"><head><meta charset="utf-8"><title>\(e.status.code) · raqam</title>
            <link rel="stylesheet" href="/static/raqam.css"><link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
            <body><main><h1>\(e.status.code) \(escape(e.status.reasonPhrase))</h1><p class="error" role="alert">\(escape(e.message))</p>
            <p><a href="/?lang=\(lang.rawValue)">\(escape(lang.word("nation")))</a></p></main></body></html>
            """
    }
}

enum WebDay {
    static func of(_ micros: Int64) -> String { CalendarDate(tashkentDayOf: Timestamp(micros: micros)).description }
}
