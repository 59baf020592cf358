import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
public import RaqamEngine
public import RaqamHTTP
public import RaqamStore
public import ServiceLifecycle
import Synchronization

/// Hands alerts to the configured Alertmanagers as Prometheus does (`POST /api/v2/alerts`;
/// docs/alerting.md). A transition is queued for each Alertmanager the moment it is
/// delivered (after the alert log holds it) and the whole firing set, with what resolved
/// lately, is queued again every `resend_delay`. Each Alertmanager has a bounded queue and a
/// sender of its own: one that is down is retried with backoff (capped below the resend delay)
/// while the others are served, and `notify` never waits: ingest and evaluation do not
/// depend on an Alertmanager.
public final class AlertmanagerNotifier: Service, Sendable {
    let configuration: AlertmanagerConfiguration
    /// The web view's base, for `generatorURL`.
    let linkBase: String?
    let logger: Logger
    let metrics: ServiceMetrics
    let wallClock: @Sendable () -> Int64
    private let book = Mutex(AlertmanagerBook())
    private let targets: [Target]
    /// `Authorization:` for every POST (nil: none).
    private let authorization: String?

    /// One Alertmanager: its queue and what wakes its sender.
    final class Target: Sendable {
        let url: String
        let queue: Mutex<AlertmanagerQueue>
        let wakes: AsyncStream<Void>
        let wake: AsyncStream<Void>.Continuation
        /// Since when it has been failing, and how many alerts were dropped meanwhile.
        let outage = Mutex<(since: Int64, dropped: Int)?>(nil)

        init(url: String, capacity: Int) {
            self.url = url
            queue = Mutex(AlertmanagerQueue(capacity: capacity))
            (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }
    }

    public init(configuration: AlertmanagerConfiguration, linkBase: String?, logger: Logger, metrics: ServiceMetrics,
                wallClock: @escaping @Sendable () -> Int64 = { wallClockMicros() }) throws {
        self.configuration = configuration
        authorization = try Self.authorizationHeader(configuration)
        self.linkBase = linkBase
        self.logger = logger
        self.metrics = metrics
        self.wallClock = wallClock
        targets = configuration.urls.map { Target(url: $0, capacity: configuration.queueCapacity) }
    }

    public var isEnabled: Bool { !targets.isEmpty }

    /// The latest transition of every alert, from the alert log at start-up: the firing ones,
    /// and those resolved within `resolved_retention`, are sent when the notifier runs.
    public func restore(_ latest: [AlertRecord]) {
        guard isEnabled else { return }
        book.withLock { b in for r in latest { b.apply(r) } }
    }

    /// Transitions just delivered: queued for every Alertmanager at once. Never blocks.
    public func notify(_ records: [AlertRecord]) {
        guard isEnabled, !records.isEmpty else { return }
        book.withLock { b in for r in records { b.apply(r) } }
        offer(records)
    }

    private func offer(_ records: [AlertRecord]) {
        let endsAt = wallClock() + 4 * configuration.resendDelay
        let alerts = records.map { AlertmanagerAlert($0, firingEndsAt: endsAt, linkBase: linkBase) }
        for t in targets {
            let (dropped, queued) = t.queue.withLock { q in (q.offer(alerts), q.count) }
            noteDropped(dropped, at: t, reason: "queue_full")
            metrics.alertmanager(url: t.url, queued: queued)
            t.wake.yield()
        }
    }

    private func noteDropped(_ n: Int, at t: Target, reason: String) {
        guard n > 0 else { return }
        metrics.alertmanager(url: t.url, dropped: n, reason: reason)
        let first = t.outage.withLock { o -> Bool in
            guard o != nil else { return true }
            defer { o!.dropped += n }
            return o!.dropped == 0
        }
        if first || reason != "queue_full" {
            logger.error("Alertmanager \(t.url): \(n) alerts dropped (\(reason == "queue_full" ? "its queue of \(configuration.queueCapacity) is full while it cannot be reached" : "it refused them")); they are counted in raqam_alertmanager_alerts_dropped_total, and firing ones are sent again at the next resend",
                         metadata: ["alertmanager.url": "\(t.url)"])
        }
    }

    public func run() async throws {
        guard isEnabled else { try? await gracefulShutdown(); return }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = configuration.caFile { tls.trustRoots = .file(ca) }
        var http = HTTPClient.Configuration(
            tlsConfiguration: tls, timeout: .init(connect: .microseconds(configuration.timeout), read: .microseconds(configuration.timeout)))
        // A refused connection fails the POST at once: the queue's own backoff retries it, and
        // the outage is said (and counted) now, not after `timeout` of silent reconnecting.
        http.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        logger.info("sending alerts to \(targets.map(\.url).joined(separator: ", ")) every \(configuration.resendDelay / 1_000_000) s")
        await withTaskGroup(of: Void.self) { group in
            for t in targets { group.addTask { await self.send(to: t, client: client, authorization: self.authorization) } }
            group.addTask { await self.resendLoop() }
        }
        try? await client.shutdown()
    }

    /// `Authorization:` from the bearer token or basic-auth password file (read at start: a
    /// missing file fails the start with its name).
    static func authorizationHeader(_ configuration: AlertmanagerConfiguration) throws -> String? {
        func read(_ path: String) throws -> String {
            do { return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
                throw DaemonConfiguration.Problem(description: "alertmanager: cannot read \(path): \(error.localizedDescription)")
            }
        }
        if let f = configuration.bearerTokenFile { return "Bearer " + (try read(f)) }
        if let user = configuration.basicAuthUser, let f = configuration.basicAuthPasswordFile {
            return "Basic " + Data((user + ":" + (try read(f))).utf8).base64EncodedString()
        }
        return nil
    }

    /// Every `resend_delay`: the firing set and what resolved lately, to every Alertmanager
    /// (the first time at once: after a restart of raqamd the set is sent again).
    func resendLoop() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let due = book.withLock { $0.due(now: wallClock(), retention: configuration.resolvedRetention) }
            if !due.isEmpty { offer(due) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(self.configuration.resendDelay)) }
        }
    }

    /// One Alertmanager's sender: batches of `max_batch`, oldest first; a failed POST is put
    /// back and retried after a backoff (100 ms doubling, at most half the resend delay and
    /// 30 s); a 4xx answer drops the batch (it would be refused again) and says why. On stop,
    /// what is queued gets one last try.
    func send(to t: Target, client: HTTPClient, authorization: String?) async {
        var backoff = Self.initialBackoff
        await drain(t, client: client, authorization: authorization, backoff: &backoff)
        // Woken by each offer; ends at the stop.
        for await _ in t.wakes.cancelOnGracefulShutdown() {
            await drain(t, client: client, authorization: authorization, backoff: &backoff)
        }
        await drain(t, client: client, authorization: authorization, backoff: &backoff)
    }

    static let initialBackoff: Int64 = 100_000

    /// Sends until the queue is empty, or (stopping) until a POST fails.
    func drain(_ t: Target, client: HTTPClient, authorization: String?, backoff: inout Int64) async {
        let cap = max(Self.initialBackoff, min(configuration.resendDelay / 2, 30_000_000))
        while true {
            let batch = t.queue.withLock { $0.take(configuration.maxBatch) }
            guard !batch.isEmpty else { metrics.alertmanager(url: t.url, queued: 0); return }
            switch await post(batch, to: t.url, client: client, authorization: authorization) {
            case .sent:
                metrics.alertmanager(url: t.url, sent: batch.count)
                backoff = Self.initialBackoff
                if let o = t.outage.withLock({ o in defer { o = nil }; return o }) {
                    logger.notice("Alertmanager \(t.url) takes alerts again after \((wallClock() - o.since) / 1_000_000) s\(o.dropped > 0 ? "; \(o.dropped) alerts were dropped meanwhile" : "")",
                                  metadata: ["alertmanager.url": "\(t.url)"])
                }
            case .refused(let why):
                noteDropped(batch.count, at: t, reason: "rejected")
                logger.error("Alertmanager \(t.url) refused \(batch.count) alerts: \(why)", metadata: ["alertmanager.url": "\(t.url)"])
            case .failed(let why):
                metrics.alertmanagerFailed(url: t.url)
                let dropped = t.queue.withLock { $0.putBack(batch) }
                let first = t.outage.withLock { o -> Bool in
                    guard o == nil else { return false }
                    o = (wallClock(), 0)
                    return true
                }
                if first {
                    logger.warning("Alertmanager \(t.url) cannot take alerts: \(why); retrying with backoff, \(t.queue.withLock { $0.count }) alerts queued (at most \(configuration.queueCapacity)); intake goes on",
                                   metadata: ["alertmanager.url": "\(t.url)"])
                }
                noteDropped(dropped, at: t, reason: "queue_full")
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
                let wait = backoff
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(wait)) }
                backoff = min(backoff * 2, cap)
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
            }
        }
    }

    enum Outcome { case sent, refused(String), failed(String) }

    func post(_ batch: [AlertmanagerAlert], to url: String, client: HTTPClient, authorization: String?) async -> Outcome {
        var request = HTTPClientRequest(url: url + "/api/v2/alerts")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "raqamd")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(string: AlertmanagerAlert.body(batch)))
        do {
            let response = try await client.execute(request, timeout: .microseconds(configuration.timeout))
            let body = try await response.body.collect(upTo: 64 << 10)
            let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
            switch response.status.code {
            case 200..<300: return .sent
            case 400..<500 where response.status.code != 429 && response.status.code != 408:
                return .refused("HTTP \(response.status.code) \(text.prefix(300))")
            default: return .failed("HTTP \(response.status.code) \(text.prefix(300))")
            }
        } catch {
            return .failed("\(error)")
        }
    }
}
