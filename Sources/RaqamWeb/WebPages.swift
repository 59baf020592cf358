import Foundation
import Mustache
public import Projections
public import RaqamModel
public import Rules
public import RaqamEngine

/// The web view's pages (docs/web.md), rendered from what the API and the CLI read: the
/// projections at a time and the alerts evaluated then. A value built once (the templates
/// compiled), shared by every request.
public struct WebPages: Sendable {
    let library: MustacheLibrary

    /// Compiles the templates. Throws only if one is malformed (a build error in effect: the
    /// tests render every page).
    public init() throws {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in WebTemplates.all { templates[name] = try MustacheTemplate(string: text) }
        library = MustacheLibrary(templates: templates)
    }

    public static var stylesheet: String { WebTemplates.css }
    public static var favicon: String { WebTemplates.favicon }

    /// What every page carries: the language, the times asked for, where it is.
    public struct Frame: Sendable {
        public var lang: WebLanguage
        /// The evaluation time (µs): `at`, else now.
        public var at: Int64
        /// `at=` and `known_at=` as given (kept in every link), nil when absent.
        public var atText: String?
        public var knownAtText: String?
        /// The request's path (`/lagging`), for the time form and the language links.
        public var path: String
        /// The page's own query parameters other than at, known_at and lang (filters).
        public var extra: [(String, String)]

        public init(lang: WebLanguage, at: Int64, atText: String?, knownAtText: String?, path: String, extra: [(String, String)] = []) {
            self.lang = lang
            self.at = at
            self.atText = atText
            self.knownAtText = knownAtText
            self.path = path
            self.extra = extra
        }

        /// `?at=…&known_at=…&lang=…` (with `more`), for links that keep the view's time and language.
        func query(_ more: [(String, String)] = [], lang: WebLanguage? = nil) -> String {
            var items: [(String, String)] = []
            if let atText { items.append(("at", atText)) }
            if let knownAtText { items.append(("known_at", knownAtText)) }
            items.append(("lang", (lang ?? self.lang).rawValue))
            items += more
            return "?" + items.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        }

        public static func encode(_ s: String) -> String {
            s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~:"))) ?? s
        }
    }

    // MARK: Pages

    public func login(lang: WebLanguage, message: String?, next: String) -> String {
        var c = base(title: lang.word("sign_in"), lang: lang, path: "/login", signedIn: false)
        c["message"] = message ?? ""
        c["hasMessage"] = message != nil
        c["next"] = next
        c["langs"] = WebLanguage.allCases.map { l in ["code": l.rawValue, "name": l.ownName, "href": "/login?lang=\(l.rawValue)&next=\(Frame.encode(next))", "current": l == lang] }
        return library.render(c, withTemplate: "login") ?? ""
    }

    /// The nation: the programme's figures beside their targets, alerts by scope and
    /// severity, the regions' map.
    public func nation(state: ProjectionState, alerts: [AlertReport], frame: Frame) -> String {
        let lang = frame.lang
        let now = Timestamp(micros: frame.at)
        var c = context(title: lang.word("nation"), state: state, frame: frame)
        let m = state.metrics(for: .nation, now: now)
        func v(_ name: String) -> Double? { WebFormat.number(m?[name]) }
        c["name"] = lang.name(of: .nation, fallback: m?.name ?? "Republic of Uzbekistan")
        var figures: [[String: Any]] = []
        func figure(_ id: String, _ label: String, value: Double?, target: Double?, progress: Double?, pace: Double?,
                    text: (Double) -> String) {
            var f: [String: Any] = ["id": id, "label": lang.word(label), "value": value.map(text) ?? "—", "target": target.map(text) ?? "",
                                    "pace": pace.map { WebFormat.plain(.number($0)) } ?? "", "behind": (pace ?? 1) < 0.8]
            if let p = progress, p.isFinite {
                f["progress"] = WebFormat.percent(p)
                f["bar"] = Int((min(max(p, 0), 1) * 120).rounded())
            }
            figures.append(f)
        }
        let count = { (x: Double) in WebFormat.count(x, lang) }
        func ratio(_ a: Double?, _ b: Double?) -> Double? { if let a, let b, b > 0 { a / b } else { nil } }
        figure("sector-projects", "sector_projects", value: v("projects.sector.implemented"), target: v("projects.sector.planned"),
               progress: ratio(v("projects.sector.implemented"), v("projects.sector.planned")), pace: nil, text: count)
        figure("regional-projects", "regional_projects", value: v("projects.regional.implemented"), target: v("projects.regional.planned"),
               progress: ratio(v("projects.regional.implemented"), v("projects.regional.planned")), pace: nil, text: count)
        figure("portal-services", "portal_services", value: v("services.portal"), target: nil, progress: nil, pace: nil, text: count)
        figure("mobile-services", "mobile_services", value: v("services.mobile"), target: v("targets.services.mobile.value"),
               progress: v("targets.services.mobile.progress"), pace: v("targets.services.mobile.pace"), text: count)
        figure("simplified-services", "simplified_services", value: v("services.simplified"), target: nil, progress: nil, pace: nil, text: count)
        figure("economy-volume", "economy_volume", value: v("economy.services_volume_uzs"), target: v("targets.economy.services_volume_uzs.value"),
               progress: v("targets.economy.services_volume_uzs.progress"), pace: v("targets.economy.services_volume_uzs.pace"),
               text: { WebFormat.amount($0, unit: "sums", lang) })
        figure("software-export", "software_export", value: v("export.software_usd"), target: v("targets.export.software_usd.value"),
               progress: v("targets.export.software_usd.progress"), pace: v("targets.export.software_usd.pace"),
               text: { WebFormat.amount($0, unit: "usd", lang) })
        c["figures"] = figures

        let firing = alerts.filter { $0.state == .firing }
        c["scopes"] = [EntityKey.Kind.nation, .region, .district, .org].map { kind -> [String: Any] in
            let mine = firing.filter { $0.entity.kind == kind }
            func n(_ s: Severity) -> Int { mine.filter { $0.rule.severity == s }.count }
            return ["scope": kind.description, "label": lang.word("scope_" + kind.description),
                    "critical": n(.critical), "warning": n(.warning), "info": n(.info), "flagged": Set(mine.map(\.entity)).count]
        }
        let flaggedDistricts = Set(firing.filter { $0.entity.kind == .district }.map(\.entity))
        let tiles = state.keys(of: .region).map { region -> RegionTileMap.Tile in
            let districts = state.keys(of: .district).filter { $0.regionKey == region }
            return RegionTileMap.Tile(key: region, name: lang.name(of: region, fallback: state.name(of: region) ?? region.description),
                                      districts: districts.count, flagged: districts.filter(flaggedDistricts.contains).count,
                                      href: "/regions/\(region)" + frame.query())
        }
        c["map"] = RegionTileMap.svg(tiles, flaggedWord: lang.word("flagged"))
        return library.render(c, withTemplate: "nation") ?? ""
    }

    /// Who lags: what `raqamctl lagging` lists, filtered; `alerts` are already filtered.
    public struct LaggingFilters: Sendable {
        public var scope: EntityKey.Kind?
        public var region: EntityKey?
        public var rule: String?
        public var severity: Severity?
        public var pending: Bool

        public init(scope: EntityKey.Kind? = nil, region: EntityKey? = nil, rule: String? = nil, severity: Severity? = nil, pending: Bool = false) {
            self.scope = scope
            self.region = region
            self.rule = rule
            self.severity = severity
            self.pending = pending
        }

        /// Keeps the alerts these filters select.
        public func apply(_ alerts: [AlertReport]) -> [AlertReport] {
            alerts.filter { a in
                (scope == nil || a.entity.kind == scope) && (region == nil || a.region == region) && (rule == nil || a.rule.name == rule)
                    && (severity == nil || a.rule.severity == severity) && (pending || a.state == .firing)
            }
        }

        var query: [(String, String)] {
            var q: [(String, String)] = []
            if let scope { q.append(("scope", scope.description)) }
            if let region { q.append(("region", region.description)) }
            if let rule { q.append(("rule", rule)) }
            if let severity { q.append(("severity", severity.rawValue)) }
            if pending { q.append(("pending", "true")) }
            return q
        }
    }

    /// Rows of the who-lags table per page.
    public static let laggingPageSize = 250

    public func lagging(state: ProjectionState, alerts: [AlertReport], rules: RuleSet, filters: LaggingFilters, frame: Frame) -> String {
        let lang = frame.lang
        var c = context(title: lang.word("who_lags"), state: state, frame: frame)
        let sorted = alerts.sorted { ($0.entity, $0.rule.name) < ($1.entity, $1.rule.name) }
        // A page of rows at a time (the counts above are of all of them; the CSV has all).
        let size = Self.laggingPageSize
        let pages = max(1, (sorted.count + size - 1) / size)
        let page = min(pages, max(1, Int(frame.extra.first { $0.0 == "page" }?.1 ?? "") ?? 1))
        let rows = sorted.dropFirst((page - 1) * size).prefix(size)
        let others = frame.extra.filter { $0.0 != "page" }
        c["rowPages"] = "\(page) / \(pages)"
        c["rowRange"] = sorted.isEmpty ? "0" : "\((page - 1) * size + 1)–\((page - 1) * size + rows.count) / \(sorted.count)"
        c["hasNewer"] = page > 1
        c["hasOlder"] = page < pages
        c["newer"] = page > 1 ? frame.path + frame.query(others + [("page", String(page - 1))]) : ""
        c["older"] = page < pages ? frame.path + frame.query(others + [("page", String(page + 1))]) : ""
        c["rows"] = rows.map { a -> [String: Any] in
            ["subject": a.entity.description, "href": "/subjects/\(a.entity)" + frame.query(),
             "name": lang.name(of: a.entity, fallback: a.entityName), "rule": a.rule.name, "severity": a.rule.severity.rawValue,
             "severityLabel": lang.word(a.rule.severity.rawValue), "state": a.state.rawValue, "pending": a.state == .pending,
             "scope": a.entity.kind.description, "value": Self.valueText(a.value), "since": WebFormat.day(a.activeSince), "summary": a.summary]
        }
        let firing = alerts.filter { $0.state == .firing }
        func flagged(_ kind: EntityKey.Kind) -> Int { Set(firing.filter { $0.entity.kind == kind }.map(\.entity)).count }
        c["firing"] = firing.count
        c["orgs"] = flagged(.org)
        c["districts"] = flagged(.district)
        c["regions"] = flagged(.region)
        c["nationFlagged"] = flagged(.nation)
        c["countText"] = "\(firing.count) \(lang.word("firing_count")): \(flagged(.org)) \(lang.word("scope_org")), \(flagged(.district)) \(lang.word("scope_district")), \(flagged(.region)) \(lang.word("scope_region"))"
            + (flagged(.nation) > 0 ? ", " + lang.word("scope_nation") : "")
        c["scopeOptions"] = [EntityKey.Kind.nation, .region, .district, .org].map { ["value": $0.description, "label": lang.word("scope_" + $0.description), "selected": filters.scope == $0] }
        c["regionOptions"] = state.keys(of: .region).map { ["value": $0.description, "label": lang.name(of: $0, fallback: state.name(of: $0) ?? $0.description), "selected": filters.region == $0] }
        c["ruleOptions"] = rules.rules.map(\.name).sorted().map { ["value": $0, "label": $0, "selected": filters.rule == $0] }
        c["severityOptions"] = Severity.allCases.map { ["value": $0.rawValue, "label": lang.word($0.rawValue), "selected": filters.severity == $0] }
        c["pending"] = filters.pending
        c["csvHref"] = "/lagging.csv" + frame.query(filters.query)
        return library.render(c, withTemplate: "lagging") ?? ""
    }

    /// A region: its districts and cities, flagged first.
    public func region(_ key: EntityKey, state: ProjectionState, alerts: [AlertReport], trends: Trends, frame: Frame) -> String? {
        let now = Timestamp(micros: frame.at)
        guard let m = state.metrics(for: key, now: now) else { return nil }
        let lang = frame.lang
        var c = context(title: lang.name(of: key, fallback: m.name), state: state, frame: frame)
        c["name"] = lang.name(of: key, fallback: m.name)
        c["key"] = key.description
        let firing = alerts.filter { $0.state == .firing }
        let today = WebFormat.day(frame.at)
        func inRegion(_ e: EntityKey) -> Bool { e == key || e.regionKey == key }
        c["completionTrend"] = Self.trend(trends.points(key, "projects.completion", now: m["projects.completion"], nowDay: today),
                                          label: lang.word("progress"), lang: lang, format: WebFormat.percent)
        c["alertsTrend"] = Self.trend(trends.alertPoints(where: inRegion, now: firing.filter { inRegion($0.entity) }.count, nowDay: today),
                                      label: lang.word("alerts_firing"), lang: lang, format: { String(Int($0)) })
        c["completion"] = WebFormat.number(m["projects.completion"]).map(WebFormat.percent) ?? "—"
        c["alertCount"] = firing.filter { inRegion($0.entity) }.count
        struct Row { var alerts: Int; var completion: Double?; var overdue: Double?; var last: Int64?; var fields: [String: Any] }
        let rows = state.keys(of: .district).filter { $0.regionKey == key }.compactMap { d -> Row? in
            guard let dm = state.metrics(for: d, now: now) else { return nil }
            let count = firing.filter { $0.entity == d }.count
            let completion = WebFormat.number(dm["projects.completion"])
            let overdue = WebFormat.number(dm["projects.overdue"])
            var last: Int64?
            if case .time(let t)? = dm["activity.last_event"] { last = t.micros }
            return Row(alerts: count, completion: completion, overdue: overdue, last: last, fields: [
                "key": d.description, "href": "/subjects/\(d)" + frame.query(), "name": lang.name(of: d, fallback: dm.name),
                "completion": completion.map(WebFormat.percent) ?? "—", "overdue": overdue.map { WebFormat.count($0, lang) } ?? "—",
                "alerts": count, "flagged": count > 0, "lastReport": last.map(WebFormat.day) ?? "",
                "trend": Self.trend(trends.points(d, "projects.completion", now: dm["projects.completion"], nowDay: today),
                                    label: lang.word("progress"), lang: lang, format: WebFormat.percent)])
        }
        // Sorted as asked (?sort=): the worst first each time; by default flagged first, then
        // by completion. Ties go by key, so the order is the same on every load.
        let sort = frame.extra.first { $0.0 == "sort" }?.1 ?? ""
        func order(_ r: Row) -> (Double, Double) {
            switch sort {
            case "completion": (r.completion ?? 2, 0)
            case "overdue": (-(r.overdue ?? -1), 0)
            case "alerts": (Double(-r.alerts), 0)
            case "last_report": (Double(r.last ?? .max), 0)
            default: (r.alerts > 0 ? 0 : 1, r.completion ?? 2)
            }
        }
        c["districts"] = rows.sorted { a, b in
            let (x, y) = (order(a), order(b))
            return x != y ? x < y : (a.fields["key"] as? String ?? "") < (b.fields["key"] as? String ?? "")
        }.map(\.fields)
        let others = frame.extra.filter { $0.0 != "sort" }
        c["sorts"] = Dictionary(uniqueKeysWithValues: ["completion", "overdue", "alerts", "last_report"].map { ($0, frame.path + frame.query(others + [("sort", $0)])) })
        c["sortedBy"] = sort.isEmpty ? "flagged" : sort
        return library.render(c, withTemplate: "region") ?? ""
    }

    /// One page of a subject's events, newest first.
    public struct EventPage: Sendable {
        public var events: [StoredEvent]
        public var total: Int
        /// 1-based.
        public var page: Int
        public static let size = 50

        public init(events: [StoredEvent], total: Int, page: Int) {
            self.events = events
            self.total = total
            self.page = page
        }
    }

    /// A subject: its alerts, every metric, its events (paged, newest first) and its alert
    /// history (the alert log's transitions, newest first).
    public func subject(_ key: EntityKey, state: ProjectionState, alerts: [AlertReport], events: EventPage, history: [AlertRecord],
                        explanations: [Explanation], trends: Trends, frame: Frame) -> String? {
        guard let m = state.metrics(for: key, now: Timestamp(micros: frame.at)) else { return nil }
        let lang = frame.lang
        var c = context(title: lang.name(of: key, fallback: m.name), state: state, frame: frame)
        c["name"] = lang.name(of: key, fallback: m.name)
        c["key"] = key.description
        let today = WebFormat.day(frame.at)
        c["metrics"] = m.values.map { v -> [String: Any] in
            ["name": v.name, "value": WebFormat.plain(v.value),
             "trend": Self.trend(trends.points(key, v.name, now: v.value, nowDay: today), label: v.name, lang: lang, format: { Sparkline.shortest($0) })]
        }
        let mine = alerts.filter { $0.entity == key }
        c["alertsTrend"] = Self.trend(trends.alertPoints(where: { $0 == key }, now: mine.filter { $0.state == .firing }.count, nowDay: today),
                                      label: lang.word("alerts_firing"), lang: lang, format: { String(Int($0)) })
        c["hasAlerts"] = !mine.isEmpty
        c["alerts"] = mine.map { a -> [String: Any] in
            ["rule": a.rule.name, "severityLabel": lang.word(a.rule.severity.rawValue), "state": a.state.rawValue, "pending": a.state == .pending,
             "summary": a.summary, "since": WebFormat.day(a.activeSince)]
        }
        // Why: each alert's clauses with their values, each metric with the events behind it.
        c["explanations"] = explanations.map { x -> [String: Any] in
            ["rule": x.explanation.rule.name, "id": "explain-" + x.explanation.rule.name, "state": x.alert?.state.rawValue ?? "inactive",
             "clauses": x.explanation.clauses.map { c -> [String: Any] in
                 ["text": c.text, "value": c.value, "indent": c.depth, "holds": c.holds == true, "fails": c.holds == false]
             },
             "metrics": x.evidence.map { m -> [String: Any] in
                 ["metric": m.metric, "value": WebFormat.plain(m.value), "total": m.total, "more": m.total > m.events.count,
                  "events": m.events.map { s -> [String: Any] in
                      ["seq": s.seq, "type": s.event.type.rawValue, "occurred": WebFormat.minute(s.event.occurredAt.micros), "source": s.event.source ?? "",
                       "subject": s.event.subject.description, "href": "/v1/events?subject=\(s.event.subject)&after_seq=\(s.seq - 1)&limit=1"]
                  }]
             }]
        }
        c["events"] = events.events.map { e -> [String: Any] in
            ["seq": e.seq, "type": e.event.type.rawValue, "occurred": WebFormat.minute(e.event.occurredAt.micros),
             "recorded": WebFormat.minute(e.recordedAt.micros), "lateness": Self.lateness(e.recordedAt.micros - e.event.occurredAt.micros),
             "source": e.event.source ?? "", "href": "/v1/events?subject=\(key)&after_seq=\(e.seq - 1)&limit=1"]
        }
        c["eventTotal"] = events.total
        let pages = max(1, (events.total + EventPage.size - 1) / EventPage.size)
        c["eventPages"] = "\(events.page) / \(pages)"
        let others = frame.extra.filter { $0.0 != "page" }
        c["hasNewer"] = events.page > 1
        c["hasOlder"] = events.page < pages
        c["newer"] = events.page > 1 ? frame.path + frame.query(others + [("page", String(events.page - 1))]) : ""
        c["older"] = events.page < pages ? frame.path + frame.query(others + [("page", String(events.page + 1))]) : ""
        c["history"] = history.map { r -> [String: Any] in
            ["state": r.state.rawValue, "rule": r.rule, "at": WebFormat.minute(r.at), "since": WebFormat.day(r.activeSince), "value": r.value, "summary": r.summary]
        }
        c["hasHistory"] = !history.isEmpty
        return library.render(c, withTemplate: "subject") ?? ""
    }

    // MARK: Shared parts

    /// A trend's sparkline, or a word saying it is being computed.
    static func trend(_ points: [Sparkline.Point]?, label: String, lang: WebLanguage, format: (Double) -> String) -> String {
        guard let points else { return "<span class=\"computing\">" + lang.word("trend_computing") + "</span>" }
        return Sparkline.svg(points, label: label, format: format)
    }

    /// How long after it happened an event was recorded: 45 min, 6 h, 3 d 4 h.
    static func lateness(_ micros: Int64) -> String {
        let minutes = max(0, micros / 60_000_000)
        if minutes < 60 { return "\(minutes) min" }
        if minutes < 24 * 60 { return "\(minutes / 60) h" }
        let hours = minutes / 60
        return hours % 24 == 0 ? "\(hours / 24) d" : "\(hours / 24) d \(hours % 24) h"
    }

    static func valueText(_ v: MetricValue) -> String {
        if case .time(let t) = v { return WebFormat.day(t.micros) }
        return v.description
    }

    func base(title: String, lang: WebLanguage, path: String, signedIn: Bool) -> [String: Any] {
        ["title": title, "lang": lang.rawValue, "t": lang.table, "path": path, "signedIn": signedIn, "q": "?lang=\(lang.rawValue)", "position": 0]
    }

    /// The frame of a signed-in page: time form, language links, freshness.
    func context(title: String, state: ProjectionState, frame: Frame) -> [String: Any] {
        let lang = frame.lang
        var c = base(title: title, lang: lang, path: frame.path, signedIn: true)
        c["q"] = frame.query()
        c["position"] = state.position
        c["langs"] = WebLanguage.allCases.map { l in
            ["code": l.rawValue, "name": l.ownName, "href": frame.path + frame.query(frame.extra, lang: l), "current": l == lang]
        }
        c["atValue"] = frame.atText.map { String($0.prefix(10)) } ?? ""
        c["knownAtValue"] = frame.knownAtText.map { String($0.prefix(10)) } ?? ""
        c["hidden"] = frame.extra.map { ["name": $0.0, "value": $0.1] }
        c["asOf"] = WebFormat.minute(frame.at)
        c["knownText"] = frame.knownAtText.map { lang.word("known_at") + " " + $0 } ?? lang.word("known_now")
        // Freshness: the newest report, and who has been silent longest.
        let now = Timestamp(micros: frame.at)
        var last: [(key: EntityKey, at: Int64)] = []
        for kind in [EntityKey.Kind.district, .org] {
            for key in state.keys(of: kind) {
                if case .time(let t)? = state.metrics(for: key, now: now)?["activity.last_event"] { last.append((key, t.micros)) }
            }
        }
        c["newest"] = last.map(\.at).max().map(WebFormat.minute) ?? lang.word("none")
        let silent = last.sorted { ($0.at, $0.key) < ($1.at, $1.key) }.prefix(3)
        c["hasSilent"] = !silent.isEmpty
        c["silent"] = silent.enumerated().map { i, s -> [String: Any] in
            ["name": lang.name(of: s.key, fallback: state.name(of: s.key) ?? s.key.description), "href": "/subjects/\(s.key)" + frame.query(),
             "since": WebFormat.day(s.at), "last": i == silent.count - 1]
        }
        return c
    }
}
