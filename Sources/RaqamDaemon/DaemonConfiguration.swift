import RaqamStore
public import RaqamHTTP
public import Rules
import Yams

/// raqamd's configuration: a plain value with documented defaults. `load(file:)` maps the
/// keys of `/etc/raqam/raqamd.yaml` onto it; raqamd's flags override what the file says
/// (`docs/configuration.md` lists each key).
public struct DaemonConfiguration: Sendable, Equatable {
    /// `state_dir`: events/, alerts/, snapshots/ (systemd: StateDirectory=raqam).
    public var stateDirectory = "/var/lib/raqam"
    /// `rules`: rule files or folders of *.yaml.
    public var rules = ["/etc/raqam/rules"]
    /// `socket`: the control socket (systemd: RuntimeDirectory=raqam).
    public var socket = "/run/raqam/raqamd.sock"
    /// `socket_mode`: its permissions, octal.
    public var socketMode: UInt16 = 0o660
    /// `clock`: wall or events; nil: the state directory's (raqamctl init --clock), else wall.
    public var clock: EvaluationClock?
    /// `evaluation_interval`: the grid of evaluation ticks (µs).
    public var evaluationInterval: Int64 = AlertTimeline.defaultInterval
    /// `check_interval`: how often raqamd looks at the wall clock for due ticks (µs).
    public var checkInterval: Int64 = 60_000_000
    /// `max_clients`: control-socket connections open at once; one more is answered
    /// `error busy` and closed. raqamd raises its soft descriptor limit to the hard one.
    public var maxClients = 1_000
    /// `idle_timeout`: a connection that sends nothing between requests for this long is
    /// closed (µs).
    public var idleTimeout: Int64 = 300_000_000
    /// `line_timeout`: a line begun must end (its newline) within this long, and a reply must
    /// be read within it, or the connection is closed (µs).
    public var lineTimeout: Int64 = 10_000_000
    /// `max_batch`: events of one connection appended and evaluated together.
    public var maxBatch = 1_000
    /// `snapshot_every`: write an engine snapshot once the log is this many events past the
    /// last one (0: only at stop).
    public var snapshotEvery = 100_000
    /// `snapshot_interval`: and at least this often while events arrive (µs; 0: never by time).
    public var snapshotInterval: Int64 = 600_000_000
    /// `verify_interval`: how often raqamd verifies the whole log's hash chain, beside intake
    /// (µs; 0: never; the first 10 minutes after start, or after this when shorter).
    public var verifyInterval: Int64 = 86_400_000_000
    /// `http:`: the HTTP API's listener, TLS, limits (`http.listen` …).
    public var http = HTTPConfiguration()
    /// `alertmanager:`: delivery of alerts to Alertmanager (`alertmanager.urls` …).
    public var alertmanager = AlertmanagerConfiguration()

    public init() {}

    /// A configuration problem: `file:line:column: message`.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    static let keys = ["state_dir", "rules", "socket", "socket_mode", "clock", "evaluation_interval", "check_interval", "max_clients", "max_batch", "idle_timeout", "line_timeout", "snapshot_every", "snapshot_interval", "verify_interval", "http", "alertmanager"]
    static let httpKeys = ["listen", "tls_certificate", "tls_key", "max_body", "rate_limit", "rate_burst", "idle_timeout", "metrics_token", "external_url"]

    /// Reads the YAML file's keys over the defaults; every unknown key or bad value is an error.
    public static func load(file: String, text: String) throws(Problem) -> DaemonConfiguration {
        var c = DaemonConfiguration()
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            let at = YAMLProblem.locate(error)
            throw Problem(description: "\(file):\(at.line):\(at.column): not valid YAML: \(at.message)")
        }
        guard let root else { return c }
        guard let m = root.mapping else { throw Problem(description: "\(file):1:1: expected a mapping of keys (\(keys.joined(separator: ", ")))") }
        func fail(_ node: Node, _ message: String) -> Problem {
            Problem(description: "\(file):\(node.mark?.line ?? 1):\(node.mark?.column ?? 1): \(message)")
        }
        for (k, v) in m {
            let key = k.string ?? ""
            switch key {
            case "state_dir": guard let s = v.string, !s.isEmpty else { throw fail(v, "state_dir must be a path") }; c.stateDirectory = s
            case "rules":
                if let s = v.string { c.rules = [s] } else if let list = v.sequence?.compactMap(\.string), !list.isEmpty { c.rules = list } else {
                    throw fail(v, "rules must be a path or a list of paths")
                }
            case "socket": guard let s = v.string, !s.isEmpty else { throw fail(v, "socket must be a path") }; c.socket = s
            case "socket_mode":
                guard let s = v.string, let mode = UInt16(s, radix: 8), mode <= 0o777 else { throw fail(v, "socket_mode must be octal permissions such as 0660") }
                c.socketMode = mode
            case "clock":
                guard let s = v.string, let clock = EvaluationClock(rawValue: s) else { throw fail(v, "clock must be wall or events") }
                c.clock = clock
            case "evaluation_interval", "check_interval", "idle_timeout", "line_timeout":
                guard let s = v.string, let d = parseDuration(s), d > 0 else { throw fail(v, "\(key) must be a duration such as 1d, 1h or 30s") }
                switch key {
                case "evaluation_interval": c.evaluationInterval = d
                case "check_interval": c.checkInterval = d
                case "idle_timeout": c.idleTimeout = d
                default: c.lineTimeout = d
                }
            case "snapshot_every":
                guard let n = v.int, n >= 0 else { throw fail(v, "snapshot_every must be a number of events (0: only at stop)") }
                c.snapshotEvery = n
            case "verify_interval":
                guard let s = v.string, let d = s == "0" ? 0 : parseDuration(s), d >= 0 else { throw fail(v, "verify_interval must be a duration such as 24h (0: never)") }
                c.verifyInterval = d
            case "snapshot_interval":
                guard let s = v.string, let d = s == "0" ? 0 : parseDuration(s), d >= 0 else { throw fail(v, "snapshot_interval must be a duration such as 10m (0: never by time)") }
                c.snapshotInterval = d
            case "max_clients", "max_batch":
                guard let n = v.int, n > 0 else { throw fail(v, "\(key) must be a positive number") }
                if key == "max_clients" { c.maxClients = n } else { c.maxBatch = n }
            case "http":
                guard let hm = v.mapping else { throw fail(v, "http must be a mapping of \(httpKeys.joined(separator: ", "))") }
                for (hk, hv) in hm {
                    let name = hk.string ?? ""
                    switch name {
                    case "listen":
                        let s = hv.string ?? ""
                        if s.isEmpty { c.http.listen = nil; break }
                        guard let l = HTTPConfiguration.parseListen(s) else { throw fail(hv, "http.listen must be HOST:PORT such as 127.0.0.1:8470 or [::]:8470 (empty: off)") }
                        c.http.listen = l
                    case "tls_certificate", "tls_key":
                        guard let s = hv.string, !s.isEmpty else { throw fail(hv, "http.\(name) must be the path of a PEM file") }
                        if name == "tls_key" { c.http.tlsKey = s } else { c.http.tlsCertificate = s }
                    case "max_body":
                        guard let n = hv.int, n >= 1024 else { throw fail(hv, "http.max_body must be a number of bytes, at least 1024") }
                        c.http.maxBody = n
                    case "rate_limit", "rate_burst":
                        guard let n = hv.float, n >= 0 else { throw fail(hv, "http.\(name) must be a number of events (per second for rate_limit; 0: no limit)") }
                        if name == "rate_limit" { c.http.rateLimit = n } else { c.http.rateBurst = n }
                    case "idle_timeout":
                        guard let s = hv.string, let d = parseDuration(s), d > 0 else { throw fail(hv, "http.idle_timeout must be a duration such as 60s") }
                        c.http.idleTimeout = d
                    case "metrics_token":
                        guard let s = hv.string, s.count >= 16 else { throw fail(hv, "http.metrics_token must be a secret of at least 16 characters (Prometheus sends it as a bearer token)") }
                        c.http.metricsToken = s
                    case "external_url":
                        guard let s = hv.string, s.hasPrefix("http://") || s.hasPrefix("https://") else {
                            throw fail(hv, "http.external_url must be the URL people reach raqamd's web view at, such as https://raqam.example.uz")
                        }
                        c.http.externalURL = s.hasSuffix("/") ? String(s.dropLast()) : s
                    default:
                        throw fail(hk, "unknown key 'http.\(name)'; http has \(httpKeys.joined(separator: ", "))")
                    }
                }
                if (c.http.tlsCertificate == nil) != (c.http.tlsKey == nil) {
                    throw fail(v, "http.tls_certificate and http.tls_key go together: give both, or neither for plain HTTP")
                }
                if c.http.rateBurst < 1 { throw fail(v, "http.rate_burst must be at least 1 event") }
            case "alertmanager":
                c.alertmanager = try alertmanager(v, fail: fail)
            default:
                throw fail(k, "unknown key '\(key)'; raqamd.yaml has \(keys.joined(separator: ", "))")
            }
        }
        return c
    }

    static func alertmanager(_ v: Node, fail: (Node, String) -> Problem) throws(Problem) -> AlertmanagerConfiguration {
        let keys = AlertmanagerConfiguration.keys
        guard let m = v.mapping else { throw fail(v, "alertmanager must be a mapping of \(keys.joined(separator: ", "))") }
        var a = AlertmanagerConfiguration()
        func url(_ node: Node) throws(Problem) -> String {
            guard let s = node.string, s.hasPrefix("http://") || s.hasPrefix("https://"), s.count > 8 else {
                throw fail(node, "alertmanager.urls: '\(node.string ?? "?")' is not an Alertmanager's base URL such as http://127.0.0.1:9093")
            }
            return s.hasSuffix("/") ? String(s.dropLast()) : s
        }
        for (k, node) in m {
            let name = k.string ?? ""
            switch name {
            case "urls":
                if node.string != nil { a.urls = [try url(node)]; break }
                guard let list = node.sequence else { throw fail(node, "alertmanager.urls must be a URL or a list of URLs") }
                a.urls = []
                for item in list { a.urls.append(try url(item)) }
            case "resend_delay", "resolved_retention", "timeout":
                guard let s = node.string, let d = parseDuration(s), d > 0 else { throw fail(node, "alertmanager.\(name) must be a duration such as 1m or 15m") }
                switch name {
                case "resend_delay": a.resendDelay = d
                case "resolved_retention": a.resolvedRetention = d
                default: a.timeout = d
                }
            case "queue_capacity", "max_batch":
                guard let n = node.int, n > 0 else { throw fail(node, "alertmanager.\(name) must be a positive number of alerts") }
                if name == "queue_capacity" { a.queueCapacity = n } else { a.maxBatch = n }
            case "bearer_token_file", "ca_file":
                guard let s = node.string, !s.isEmpty else { throw fail(node, "alertmanager.\(name) must be the path of a file") }
                if name == "ca_file" { a.caFile = s } else { a.bearerTokenFile = s }
            case "basic_auth":
                guard let bm = node.mapping else { throw fail(node, "alertmanager.basic_auth must be a mapping of username and password_file") }
                for (bk, bv) in bm {
                    switch bk.string ?? "" {
                    case "username": guard let s = bv.string, !s.isEmpty else { throw fail(bv, "alertmanager.basic_auth.username must be a name") }; a.basicAuthUser = s
                    case "password_file": guard let s = bv.string, !s.isEmpty else { throw fail(bv, "alertmanager.basic_auth.password_file must be the path of a file") }; a.basicAuthPasswordFile = s
                    default: throw fail(bk, "unknown key 'alertmanager.basic_auth.\(bk.string ?? "")'; basic_auth has username, password_file")
                    }
                }
                if (a.basicAuthUser == nil) != (a.basicAuthPasswordFile == nil) { throw fail(node, "alertmanager.basic_auth needs both username and password_file") }
            default:
                throw fail(k, "unknown key 'alertmanager.\(name)'; alertmanager has \(keys.joined(separator: ", "))")
            }
        }
        if a.bearerTokenFile != nil && a.basicAuthUser != nil { throw fail(v, "alertmanager: bearer_token_file and basic_auth exclude each other; give one") }
        return a
    }
}
