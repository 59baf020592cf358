import ArgumentParser
import Foundation
import Glibc
import RaqamControl
import RaqamSystem
import Synchronization

/// A raqamd the benchmarks start: launched with a notify socket of its own (what systemd gives
/// a Type=notify service) and handed back once it sent READY=1, with its control socket in a
/// short folder of their own (a Unix socket's path has at most 107 bytes, and a state
/// directory may be deep). Stopped with SIGTERM, which writes its snapshots.
final class RunningDaemon {
    let process = Process()
    let socketPath: String
    /// Launch → READY=1, seconds.
    let secondsToReady: Double
    private let sockets: String
    private let notify: NotifyListener

    init(binDir: String, state: String, rules: String, extraArguments: [String] = []) throws {
        var template = Array("/tmp/raqam-bench.XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw ValidationError("cannot make a folder for the sockets in /tmp: \(String(cString: strerror(errno)))")
        }
        sockets = String(cString: template.map { UInt8(bitPattern: $0) })
        notify = try NotifyListener(path: sockets + "/notify")
        socketPath = sockets + "/raqamd.sock"
        process.executableURL = URL(fileURLWithPath: binDir + "/raqamd")
        // No HTTP listener unless asked: benchmarks run beside other raqamds.
        process.arguments = ["--state-dir", state, "--rules", rules, "--socket", socketPath]
            + (extraArguments.contains("--http-listen") ? [] : ["--http-listen", ""]) + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        process.environment = env
        process.standardError = FileHandle.nullDevice
        let t0 = now()
        try process.run()
        let p = process
        guard notify.wait(for: "READY=1", seconds: 1200, while: { p.isRunning }) else {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(atPath: sockets)
            throw ValidationError("raqamd (\(binDir)) did not become ready (exited, or 20 minutes passed); its reason is in the journal")
        }
        secondsToReady = now() - t0
        // Read what raqamd sends afterwards (STATUS=, RELOADING=1, READY=1 after a reload), as
        // systemd does: sd_notify waits when the socket's queue (10 datagrams) is full.
        let (listener, done) = (notify, draining)
        Thread { listener.drain(until: done.value) }.start()
    }

    /// Set when the daemon is let go: the drain thread stops.
    private final class Flag: Sendable { let value = Atomic<Bool>(false) }
    private let draining = Flag()

    var pid: Int32 { process.processIdentifier }

    /// SIGTERM, and waits for it to exit.
    func stop() {
        if process.isRunning {
            kill(pid, SIGTERM)
            process.waitUntilExit()
        }
    }

    deinit {
        draining.value.store(true, ordering: .relaxed)
        stop()
        try? FileManager.default.removeItem(atPath: sockets)
    }
}

/// The benchmarks' side of raqamd's control socket: a socket (sendable, so one thread may
/// send while another reads the replies with a `ReplyReader`), one line at a time.
enum Control {
    static func connect(_ path: String) throws -> UnixSocket {
        do { return try UnixSocket(connectingTo: path) } catch { throw ValidationError("cannot connect to raqamd: \(error)") }
    }

    /// Sends one line (a newline is added).
    static func send(_ socket: UnixSocket, _ line: String) throws {
        do { try socket.send(Array((line + "\n").utf8)) } catch { throw ValidationError("raqamd closed the connection: \(error)") }
    }

    /// One request line and its reply.
    static func exchange(_ path: String, _ line: String) throws -> String {
        let socket = try connect(path)
        try send(socket, line)
        var reader = ReplyReader(socket: socket)
        guard let reply = reader.next() else { throw ValidationError("raqamd closed the connection without a reply to \(line)") }
        return reply
    }
}
