/// The HTTP listener's settings (`http:` in raqamd.yaml; docs/configuration.md).
public struct HTTPConfiguration: Sendable, Equatable {
    /// `http.listen`: `HOST:PORT` (`[::1]:8470` for IPv6); nil (an empty value): no listener.
    public var listen: (host: String, port: Int)? = ("127.0.0.1", 8470)
    /// `http.tls_certificate`, `http.tls_key`: PEM files; both or neither (then plain HTTP, for
    /// loopback or behind a TLS-terminating proxy).
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// `http.max_body`: the most bytes a request body may have as sent (413 above it). A gzip
    /// body may expand to at most `maxExpansion` times this.
    public var maxBody = 16 << 20
    /// `http.rate_limit`: events per second per token, sustained (0: no limit).
    public var rateLimit: Double = 5_000
    /// `http.rate_burst`: the most events a token may send at once (a full bucket); a request
    /// with more is refused with 413, as it could never pass.
    public var rateBurst: Double = 100_000
    /// `http.idle_timeout`: a connection with no request for this long is closed (µs).
    public var idleTimeout: Int64 = 60_000_000
    /// `http.metrics_token`: when set, `/metrics` needs this bearer token (or a read or admin token).
    public var metricsToken: String?
    /// `http.external_url`: where people reach raqamd (behind a proxy, say), for the links
    /// raqamd hands out (an alert's `generatorURL`); nil: the listener's own address.
    public var externalURL: String?

    /// The base of links to raqamd's pages: `external_url`, else `http(s)://listen`; nil
    /// without a listener.
    public var linkBase: String? {
        if let externalURL { return externalURL }
        guard let l = listen else { return nil }
        let host = l.host == "0.0.0.0" || l.host == "::" ? "127.0.0.1" : l.host
        return (tlsCertificate == nil ? "http://" : "https://") + (host.contains(":") ? "[\(host)]" : host) + ":\(l.port)"
    }

    /// The most events one `POST /v1/events` may carry (413 above it).
    public static let maxEventsPerRequest = 100_000
    /// How far a gzip body may expand (a bound on what a small compressed body can cost).
    public static let maxExpansion = 8

    public init() {}

    public static func == (a: HTTPConfiguration, b: HTTPConfiguration) -> Bool {
        a.listen?.host == b.listen?.host && a.listen?.port == b.listen?.port && a.tlsCertificate == b.tlsCertificate
            && a.tlsKey == b.tlsKey && a.maxBody == b.maxBody && a.rateLimit == b.rateLimit && a.rateBurst == b.rateBurst
            && a.idleTimeout == b.idleTimeout && a.metricsToken == b.metricsToken && a.externalURL == b.externalURL
    }

    /// `HOST:PORT` or `[V6]:PORT` as `(host, port)`, nil when it is not one.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        var host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }

    /// What `http.listen` says, as written back.
    public var listenDescription: String {
        guard let l = listen else { return "off" }
        return l.host.contains(":") ? "[\(l.host)]:\(l.port)" : "\(l.host):\(l.port)"
    }
}
