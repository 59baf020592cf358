import Foundation
public import Journal
public import Logging
import ServiceLifecycle
import UnixSignals

/// Serves the control socket until the group shuts down.
struct ControlSocketService: Service {
    let socket: ControlSocket

    func run() async throws {
        let thread = Thread { [socket] in socket.serve() }
        thread.start()
        // Sleeps until shutdown; then stops accepting (connections finish their current batch).
        try? await gracefulShutdown()
        socket.stop()
    }
}

/// Evaluates the grid ticks due by the wall clock every `check_interval`, and keeps STATUS= fresh.
struct TickerService: Service {
    let core: DaemonCore
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try core.tick() } catch { logger.error("evaluation failed: \(error)") }
            SystemdNotifier.notify("STATUS=" + core.statusLine)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .microseconds(core.configuration.checkInterval)) }
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

/// Reloads the rules on SIGHUP: RELOADING=1 … READY=1; a broken set is refused and logged,
/// the old rules keep running.
struct ReloadService: Service {
    let core: DaemonCore

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            SystemdNotifier.notify("RELOADING=1\nMONOTONIC_USEC=\(DispatchTime.now().uptimeNanoseconds / 1000)")
            core.reload()
            SystemdNotifier.notify("READY=1\nSTATUS=" + core.statusLine)
        }
    }
}

extension DaemonCore {
    /// `STATUS=`: position and alerts, as `systemctl status raqamd` shows it.
    public var statusLine: String {
        let s = status
        return "\(s.position) events; \(s.firing) alerts firing, \(s.pending) pending; \(s.rules) rules; \(s.clock.rawValue) clock"
    }
}

/// raqamd from start to stop: open and replay, serve, stop cleanly.
public enum Daemon {
    /// Runs until SIGTERM or SIGINT. READY=1 is sent once the log is recovered and folded and
    /// the socket listens; on SIGTERM intake stops, what was acknowledged is durable, a
    /// snapshot is written, and the function returns (exit 0).
    public static func run(configuration: DaemonConfiguration, journal: Journal, logger: Logger) async throws {
        let core = try DaemonCore(configuration: configuration, journal: journal, logger: logger)
        let socket = try ControlSocket(path: configuration.socket, mode: configuration.socketMode, core: core, logger: logger)
        SystemdNotifier.notify("READY=1\nSTATUS=" + core.statusLine)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: ControlSocketService(socket: socket)),
                .init(service: TickerService(core: core, logger: logger)),
                .init(service: WatchdogService()),
                .init(service: ReloadService(core: core)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        SystemdNotifier.notify("STOPPING=1\nSTATUS=stopping: writing a snapshot")
        socket.stop()
        try core.shutdown()
        logger.info("raqamd stopped: \(core.statusLine)")
    }
}
