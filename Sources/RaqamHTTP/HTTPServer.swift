import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import ServiceLifecycle
import NIOCore
import NIOPosix
import NIOSSL
import CompressNIO
public import Logging
public import RaqamAccess
import RaqamModel
import RaqamEngine
public import RaqamStore
import RaqamWeb
import Foundation

/// raqamd's HTTP API (docs/api.md): the intake, status and health. Built once, then run as a
/// Service (Hummingbird's `Application`) in raqamd's service group.
public struct HTTPServer: Sendable {
    let configuration: HTTPConfiguration
    let gate: HTTPGate
    let tokens: TokenRegistry
    let limiter: RateLimiter
    let logger: Logger
    /// What `/metrics` reports; raqamd's core records into the same.
    public let metrics: ServiceMetrics
    /// The appends wait for the disk (fdatasync): they run here, not on the event loops or the
    /// cooperative pool, so that 64 concurrent reporters share syncs instead of queueing.
    let blocking: NIOThreadPool
    /// The wall clock, µs (expiry, rate limits).
    let now: @Sendable () -> Int64
    /// The web view's templates and its sign-in sessions.
    let pages: WebPages
    let sessions = WebSessions()
    let asOfViews = AsOfViews()
    let trends = TrendCache()
    let alertTrends = AlertTrendCache()
    /// The alert log of each state directory, followed (one per state directory).
    let followers = AlertLogFollowers()

    /// A configuration that cannot be served.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(configuration: HTTPConfiguration, gate: HTTPGate, tokens: TokenRegistry, logger: Logger, metrics: ServiceMetrics,
                now: @escaping @Sendable () -> Int64 = { wallClockMicros() }) {
        self.configuration = configuration
        self.metrics = metrics
        self.gate = gate
        self.tokens = tokens
        self.logger = logger
        self.now = now
        limiter = RateLimiter(rate: configuration.rateLimit, burst: max(configuration.rateBurst, 1))
        blocking = NIOThreadPool(numberOfThreads: 64)
        // The templates are compiled into raqamd; one that does not parse is a build defect.
        pages = try! WebPages()
    }

    /// The listener as a Service: binds `http.listen` (plain or TLS) when the group runs it.
    /// - Throws: `Problem` when the TLS files cannot be read or listen is off.
    public func makeService() throws(Problem) -> any Service {
        guard let listen = configuration.listen else { throw Problem(description: "http.listen is empty: the listener is off") }
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .microseconds(configuration.idleTimeout)))
        let server: HTTPServerBuilder
        switch (configuration.tlsCertificate, configuration.tlsKey) {
        case (nil, nil):
            server = http1
        case (let cert?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
                let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                // A context now, not at the first connection: a key that does not match its
                // certificate stops raqamd at start with the reason.
                _ = try NIOSSLContext(configuration: tls)
                server = try .tls(http1, tlsConfiguration: tls)
            } catch {
                throw Problem(description: "http.tls_certificate \(cert) / http.tls_key \(key): cannot be used: \(error) (PEM files readable by raqamd are expected)")
            }
        default:
            throw Problem(description: "http.tls_certificate and http.tls_key go together: give both, or neither for plain HTTP")
        }
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        let logger = self.logger
        blocking.start()
        return Application(
            router: makeRouter(), server: server,
            // A deep accept queue: a burst of connections (a thousand reporters reconnecting
            // after a restart) must not drop the SYN of the next one for seconds.
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "raqamd", backlog: 4096, reuseAddress: true),
            onServerRunning: { channel in
                let port = channel.localAddress?.port.map(String.init) ?? "?"
                logger.notice("HTTP API listening on \(scheme)://\(listen.host.contains(":") ? "[\(listen.host)]" : listen.host):\(port)",
                              metadata: ["http.port": "\(port)"])
            },
            logger: logger)
    }

    /// Every path and its methods (for 405 with `Allow` on a method a path does not list).
    static let routes: [(path: [Substring], methods: String)] = [
        ("/healthz", "GET"), ("/readyz", "GET"), ("/metrics", "GET"), ("/v1/openapi.yaml", "GET"), ("/v1/status", "GET"),
        ("/v1/events", "GET, POST"), ("/v1/subjects/{key}", "GET"), ("/v1/lagging", "GET"), ("/v1/alerts", "GET"), ("/v1/explain", "GET"),
        ("/", "GET"), ("/login", "GET, POST"), ("/logout", "POST"), ("/lagging", "GET"), ("/lagging.csv", "GET"),
        ("/regions/{key}", "GET"), ("/subjects/{key}", "GET"),
    ].map { ($0.0.split(separator: "/"), $0.1) }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: CountingMiddleware(metrics: metrics))
        router.add(middleware: JSONErrorMiddleware(routes: Self.routes))
        router.get("healthz") { _, _ in jsonResponse(.ok, #"{"status":"alive"}"#) }
        router.get("v1/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml + "\n")))
        }
        router.get("readyz") { [gate] _, _ in
            switch gate.current {
            case .ready: jsonResponse(.ok, #"{"status":"ready"}"#)
            case .starting: APIError.unavailable("raqamd is starting: replaying the log").response
            case .stopping: APIError.unavailable("raqamd is stopping").response
            }
        }
        router.get("v1/status") { request, _ in
            let backend = try self.backend()
            _ = try self.principal(request)
            return jsonResponse(.ok, backend.statusJSON())
        }
        router.post("v1/events") { request, context in
            try await self.postEvents(request, context: context)
        }
        router.get("metrics") { request, _ in
            try self.authorizeScrape(request)
            let snapshot: MetricsSnapshot? = if case .ready(let backend) = self.gate.current { backend.metricsSnapshot() } else { nil }
            let text = snapshot.map { self.metrics.render($0) } ?? self.metrics.registry.emitToString()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        addReads(to: router)
        addPages(to: router)
        return router
    }

    func backend() throws -> any IntakeBackend {
        switch gate.current {
        case .ready(let b): b
        case .starting: throw APIError.unavailable("raqamd is starting: replaying the log; try again shortly", retryAfter: 2)
        case .stopping: throw APIError.unavailable("raqamd is stopping; try again once it is back", retryAfter: 5)
        }
    }

    /// `/metrics` is open unless `http.metrics_token` is set; then it needs that bearer token
    /// (compared in constant time) or any valid read or admin token.
    func authorizeScrape(_ request: Request) throws {
        guard let expected = configuration.metricsToken else { return }
        let header = request.headers[.authorization] ?? ""
        let presented = Array(header.hasPrefix("Bearer ") ? String(header.dropFirst(7)).utf8 : "".utf8)
        if constantTimeEqual(presented, Array(expected.utf8)) { return }
        let p = try principal(request)
        guard p.role != .report else { throw APIError(status: .forbidden, code: "forbidden", message: "/metrics needs http.metrics_token, or a read or admin token") }
    }

    func principal(_ request: Request) throws -> Principal {
        do {
            return try tokens.authenticate(authorization: request.headers[.authorization], now: now())
        } catch let r as TokenRegistry.Refusal {
            throw APIError.unauthorized(r.message)
        } catch {
            logger.error("cannot read the token log: \(error)")
            throw APIError.unavailable("raqamd cannot read its token log: \(error)")
        }
    }
}

extension HTTPServer {
    static let eventTypes: Set<String> = ["application/x-ndjson", "application/ndjson", "application/jsonl", "application/json"]

    /// `POST /v1/events` (docs/api.md): authenticate, read the body, check the token's scope,
    /// then `Ingest` as every entry point does.
    func postEvents(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let backend = try backend()
        let principal = try principal(request)
        let query = NonEmptyQuery(request)
        let atomic = try Self.flag(query.get("atomic"), name: "atomic", default: true)
        let dryRun = try Self.flag(query.get("dry_run"), name: "dry_run", default: false)

        let mediaType = request.headers[.contentType].map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType, Self.eventTypes.contains(mediaType) else {
            throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                           message: "Content-Type \(mediaType.map { "\"\($0)\"" } ?? "missing"): send application/x-ndjson (one event per line) or application/json (an array of events)")
        }
        let encoding = request.headers[.contentEncoding]?.trimmingCharacters(in: .whitespaces).lowercased() ?? "identity"
        guard encoding == "gzip" || encoding == "identity" else {
            throw APIError(status: .unsupportedMediaType, code: "unsupported_encoding", message: "Content-Encoding \"\(encoding)\": send gzip or none")
        }
        let limit = configuration.maxBody
        let tooLarge = APIError(status: .contentTooLarge, code: "too_large",
                                message: "the body is larger than http.max_body (\(limit) bytes); split it, or compress it with gzip")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        var request = request
        var buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch { throw tooLarge }
        if encoding == "gzip" {
            do { buffer = try buffer.decompress(with: .gzip(), maxSize: limit * HTTPConfiguration.maxExpansion) } catch {
                if "\(error)".contains("bufferOverflow") {
                    throw APIError(status: .contentTooLarge, code: "too_large",
                                   message: "the gzip body expands to more than \(HTTPConfiguration.maxExpansion) × http.max_body (\(limit * HTTPConfiguration.maxExpansion) bytes); split it")
                }
                throw APIError(status: .badRequest, code: "bad_gzip", message: "the body is not valid gzip: \(error)")
            }
        }
        var body: EventsBody
        do { body = try EventsBody(bytes: buffer.readBytes(length: buffer.readableBytes) ?? [], limit: HTTPConfiguration.maxEventsPerRequest) } catch {
            throw APIError(status: error.tooMany ? .contentTooLarge : .badRequest, code: error.tooMany ? "too_many_events" : "bad_request", message: error.message)
        }
        if configuration.rateLimit > 0, Double(body.lines.count) > configuration.rateBurst {
            throw APIError(status: .contentTooLarge, code: "too_many_events",
                           message: "\(body.lines.count) events in one request; http.rate_burst lets a token send at most \(Int(configuration.rateBurst)) at once (split the file)")
        }
        if let wait = limiter.admit(body.lines.count, token: principal.tokenID, now: now()) {
            throw APIError(status: .tooManyRequests, code: "rate_limited",
                           message: "\(body.lines.count) events exceed the rate limit of \(principal.tokenID) (http.rate_limit \(configuration.rateLimit)/s, burst \(configuration.rateBurst)); retry after the Retry-After seconds",
                           retryAfter: max(1, Int(wait.rounded(.up))))
        }
        let forbidden = principal.admit(&body)
        var ids: [Int: EventID] = [:]
        for (k, d) in body.decoded.enumerated() { if case .event(let e) = d, let id = e.id { ids[body.lines[k].number] = id } }
        if !forbidden.isEmpty {
            metrics.refused(reason: "forbidden", count: forbidden.count)
            let summary = ImportSummary(forbidden: forbidden, received: body.lines.count, ids: ids)
            return jsonResponse(.forbidden, summary.json)
        }
        let lines = body.lines, decoded = body.decoded
        // The append and its receipt in one trip to the blocking pool: each hop between
        // threads costs latency a single-event report feels.
        let results: [LineResult]
        let receipt: Receipt?
        do {
            (results, receipt) = try await blocking.runIfActive { () throws -> ([LineResult], Receipt?) in
                if dryRun { return (try backend.preview(lines, decoded: decoded), nil) }
                let results = try backend.submit(lines, decoded: decoded, policy: atomic ? .allOrNothing : .perLine)
                let acked = results.compactMap(\.outcome.acknowledgedSeq)
                guard let lo = acked.min(), let hi = acked.max() else { return (results, nil) }
                return (results, try? backend.receipt(first: lo, last: hi))
            }
        } catch let e as StoreError {
            logger.error("the log refused an HTTP append: \(e)", metadata: ["token.id": "\(principal.tokenID)"])
            throw APIError.unavailable("the log refused the append: \(e); nothing of this request was stored", retryAfter: 5)
        }
        var summary = ImportSummary(results: results, ids: ids, dryRun: dryRun, atomic: atomic)
        if !dryRun {
            let kind = principal.role == .admin ? "admin" : principal.subject.kind.description
            for (k, r) in results.enumerated() {
                if case .stored = r.outcome, case .event(let e) = decoded[k] { metrics.appended(e.type, principal: kind) }
            }
            metrics.refused(reason: "invalid", count: summary.refused)
            metrics.refused(reason: "conflict", count: summary.conflicts)
            metrics.refused(reason: "not_stored", count: summary.notStored)
        }
        summary.receipt = receipt
        return jsonResponse(summary.status == .ok ? .ok : .unprocessableContent, summary.json)
    }
}
