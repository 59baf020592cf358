import Foundation
public import Journal
public import Logging
import ServiceLifecycle
import UnixSignals
import RaqamSystem
import RaqamHTTP
import RaqamAccess
import RaqamStore

/// Serves the control socket until the group shuts down. Its work is the accept loop (on a
/// thread of its own): when that fails, `run()` throws and the service group ends, so raqamd
/// exits non-zero with the reason instead of staying "ready" without intake.
struct ControlSocketService: Service {
    let socket: ControlSocket

    func run() async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                    let thread = Thread { [socket] in
                        do {
                            try socket.serve()
                            done.resume()
                        } catch {
                            done.resume(throwing: error)
                        }
                    }
                    thread.start()
                }
            } onGracefulShutdown: {
                // Stops accepting; connections finish their current batch.
                socket.stop()
            }
        } onCancel: {
            socket.stop()
        }
    }
}

/// The evaluator: folds, evaluates and delivers after the log advances, on a thread of its
/// own (its work is CPU-bound and must not hold a thread of the cooperative pool). On
/// shutdown it evaluates what was acknowledged, then returns.
struct EvaluatorService: Service {
    let core: DaemonCore

    func run() async throws {
        // Stopped by a graceful shutdown (SIGTERM) and by a cancellation (another service failed).
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [core] in
                        core.evaluationLoop()
                        done.resume()
                    }
                    thread.stackSize = 8 << 20
                    thread.start()
                }
            } onGracefulShutdown: {
                core.stopEvaluating()
            }
        } onCancel: {
            core.stopEvaluating()
        }
    }
}

/// Evaluates the grid ticks due by the wall clock every `check_interval`, and keeps STATUS= fresh.
struct TickerService: Service {
    let core: DaemonCore
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try core.tick() } catch { logger.error("evaluation failed: \(error)") }
            core.snapshotIfDue()
            SystemdNotifier.notify("STATUS=" + core.statusLine)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(core.configuration.checkInterval)) }
        }
    }
}

/// Verifies the whole log's hash chain (`raqamctl verify`'s check) ten minutes after start
/// (or `verify_interval`, when shorter: a restart loop must not verify a large log each time)
/// and every `verify_interval` after, on a thread of its own, beside intake: an intact chain is reported in
/// `/metrics` (`raqam_chain_verified_timestamp_seconds`, `_position`); damage is logged as
/// critical with the log-corrupt MESSAGE_ID, naming the segment and offset, so that the
/// operator restores it (docs/recovery.md) before it is needed.
struct ChainVerifierService: Service {
    let core: DaemonCore
    let logger: Logger

    func run() async throws {
        let interval = core.configuration.verifyInterval
        guard interval > 0 else { try? await gracefulShutdown(); return }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(min(interval, 600_000_000))) }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let stateDirectory = core.configuration.stateDirectory
            let outcome = await withCheckedContinuation { (done: CheckedContinuation<Result<LogVerification, StoreFailure>, Never>) in
                let thread = Thread {
                    // The chain only: decoding every event too would double the work (`raqamctl verify` does both).
                    done.resume(returning: Result { () throws(StoreFailure) in try FileEventStore.verify(stateDirectory: stateDirectory, events: false) })
                }
                thread.start()
            }
            switch outcome {
            case .success(let report) where report.isIntact:
                core.metrics.verified(at: wallClockMicros(), position: report.lastSeq)
                logger.info("verified the log's hash chain: \(report.records) records, head \(report.headChain)", metadata: ["event.seq": "\(report.lastSeq)"])
            case .success(let report):
                for p in report.problems {
                    logger.critical("the log is damaged: \(p) (raqamctl verify; docs/recovery.md)",
                                    metadata: ["message.id": "\(MessageID.logCorrupt)", "log.segment": "\(p.path)", "log.offset": "\(p.offset)"])
                }
            case .failure(let error):
                logger.error("cannot verify the log: \(error)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(interval)) }
        }
    }
}

/// Sends WATCHDOG=1 at half the interval systemd asks for (WatchdogSec=).
struct WatchdogService: Service {
    func run() async throws {
        guard let usec = SystemdNotifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            SystemdNotifier.notify("WATCHDOG=1")
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(Int64(usec / 2))) }
        }
    }
}

/// Sends READY=1 once the group runs: the group traps SIGTERM and SIGINT before it starts any
/// service, so a stop sent the instant READY arrives is a graceful one (exit 0, snapshot
/// written), never the signal's default action.
///
/// It is the group's last service, so the first to hear of a stop: the HTTP API answers 503
/// from then on, while the rest finishes what was acknowledged.
struct ReadinessService: Service {
    let core: DaemonCore
    let gate: HTTPGate

    func run() async throws {
        gate.open(core)
        SystemdNotifier.notify("READY=1\nSTATUS=" + core.statusLine)
        try? await gracefulShutdown()
        gate.close()
    }
}

/// Reloads the rules on SIGHUP: RELOADING=1 … READY=1; a broken set is refused and logged,
/// the old rules keep running. `signals` is trapped before READY, so an early SIGHUP reloads
/// instead of ending the process.
struct ReloadService: Service {
    let core: DaemonCore
    let signals: UnixSignalsSequence

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            SystemdNotifier.notify("RELOADING=1\nMONOTONIC_USEC=\(DispatchTime.now().uptimeNanoseconds / 1000)")
            // A changed rule set is folded over the whole log: on a thread of its own, not on the
            // cooperative pool, so the watchdog, the ticker and the socket keep running meanwhile.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread { [core] in
                    core.reload()
                    done.resume()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            SystemdNotifier.notify("READY=1\nSTATUS=" + core.statusLine)
        }
    }
}

extension DaemonCore {
    /// `STATUS=`: position and alerts, as `systemctl status raqamd` shows it.
    public var statusLine: String {
        let s = status
        let evaluated = s.evaluated == s.position ? "" : " (\(s.evaluated) evaluated)"
        return "\(s.position) events\(evaluated); \(s.firing) alerts firing, \(s.pending) pending; \(s.rules) rules; \(s.clock) clock"
            + (s.degraded.map { "; DEGRADED: \($0)" } ?? "")
    }
}

/// raqamd from start to stop: the HTTP listener, then the log opened and replayed, then
/// intake, evaluation and delivery; on SIGTERM the reverse.
public enum Daemon {
    /// Runs until SIGTERM or SIGINT. The HTTP listener (when `http.listen` is set) opens first
    /// and answers 503 until the log is recovered and folded; READY=1 is sent once the control
    /// socket listens; on SIGTERM intake stops (HTTP answers 503), what was acknowledged is
    /// durable, a snapshot is written, the listener closes, and the function returns (exit 0).
    /// - Throws: `HTTPServer.Problem` for TLS files that cannot be used; what opening the log
    ///   or the rules throws; the HTTP listener's bind error.
    public static func run(configuration: DaemonConfiguration, journal: any JournalSink, logger: Logger) async throws {
        let gate = HTTPGate()
        let metrics = ServiceMetrics()
        let http = try configuration.http.listen.map { _ in
            try HTTPServer(configuration: configuration.http, gate: gate, tokens: TokenRegistry(stateDirectory: configuration.stateDirectory),
                           logger: logger, metrics: metrics).makeService()
        }
        // Trapped before anything runs: an early SIGHUP reloads instead of ending the process.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // Shut down last: in-flight requests are answered (503 once raqamd stops).
        if let http { services.append(.init(service: http, failureTerminationBehavior: .gracefullyShutdownGroup)) }
        // A token file that cannot be read fails the start, with its name.
        let alertmanager = try AlertmanagerNotifier(configuration: configuration.alertmanager, linkBase: configuration.http.linkBase, logger: logger, metrics: metrics)
        services.append(.init(service: EngineServices(configuration: configuration, journal: journal, logger: logger, gate: gate, hangups: hangups,
                                                      metrics: metrics, alertmanager: alertmanager)))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The log and everything over it: opens and replays it (on a thread of its own: minutes on
/// a large log without a snapshot), then runs intake, evaluation, the ticker, the watchdog
/// and reload as a group of their own; once that group ends, closes the log durably and
/// writes the snapshots.
struct EngineServices: Service {
    let configuration: DaemonConfiguration
    let journal: any JournalSink
    let logger: Logger
    let gate: HTTPGate
    let hangups: UnixSignalsSequence
    let metrics: ServiceMetrics
    let alertmanager: AlertmanagerNotifier

    func run() async throws {
        let core = try await withCheckedThrowingContinuation { (done: CheckedContinuation<DaemonCore, any Error>) in
            let thread = Thread { [configuration, journal, logger, metrics, alertmanager] in
                done.resume(with: Result {
                    try DaemonCore(configuration: configuration, journal: journal, logger: logger, metrics: metrics,
                                   alertmanager: alertmanager.isEnabled ? alertmanager : nil)
                })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        // Each connection is a descriptor: systemd's default soft limit (1024) is for programs
        // that do not ask for more.
        let descriptors = OpenFileLimit.raiseToHardLimit()
        if descriptors < configuration.maxClients + 64 {
            logger.warning("max_clients is \(configuration.maxClients) but raqamd may open only \(descriptors) descriptors (LimitNOFILE=): more clients than that end intake, and raqamd with it")
        }
        let socket = try ControlSocket(path: configuration.socket, mode: configuration.socketMode, core: core, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [
                // Shut down in reverse order: intake first, then the evaluator (which finishes
                // what was acknowledged), then Alertmanager delivery (one last try of its queue).
                .init(service: alertmanager),
                .init(service: EvaluatorService(core: core)),
                // Intake that fails shuts the group down gracefully (the evaluator finishes what
                // was acknowledged), then raqamd exits non-zero with the reason.
                .init(service: ControlSocketService(socket: socket), failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: TickerService(core: core, logger: logger)),
                .init(service: WatchdogService()),
                .init(service: ChainVerifierService(core: core, logger: logger)),
                .init(service: ReloadService(core: core, signals: hangups)),
                .init(service: ReadinessService(core: core, gate: gate)),
            ],
            logger: logger))
        do {
            try await group.run()
        } catch {
            gate.close()
            socket.stop()
            throw error
        }
        gate.close()
        SystemdNotifier.notify("STOPPING=1\nSTATUS=stopping: writing a snapshot")
        socket.stop()
        try core.shutdown()
        logger.info("raqamd stopped: \(core.statusLine)")
    }
}
