import Foundation
import Glibc
public import Logging
import RaqamControl
import RaqamModel
import RaqamStore
import RaqamSystem
import Synchronization

/// The control socket: a Unix stream socket (mode from the configuration) that speaks a line
/// protocol (docs/control-socket.md). Each connection is served by its own thread, at most
/// `max_clients` at once; a connection's events are appended in batches and acknowledged only
/// once durable, and the next lines are not read before: memory stays bounded by
/// `max_clients × (a read buffer + max_batch events)`.
public final class ControlSocket: Sendable {
    let path: String
    let core: DaemonCore
    let logger: Logger
    let listener: UnixSocket
    let slots: DispatchSemaphore
    private let stopped = Atomic<Bool>(false)
    /// The connections being served, by descriptor (to end their reads on `stop`).
    private let connections = Mutex<[Int32: UnixSocket]>([:])

    /// Binds and listens. A stale socket file from an earlier run is replaced; anything else at
    /// the path (a file, a socket a live raqamd answers on) is refused, untouched.
    public init(path: String, mode: UInt16, core: DaemonCore, logger: Logger) throws {
        self.path = path
        self.core = core
        self.logger = logger
        slots = DispatchSemaphore(value: core.configuration.maxClients)
        do {
            listener = try UnixSocket(listeningAt: path, mode: mode)
        } catch {
            throw DaemonError("cannot listen on the control socket \(path): \(error)")
        }
    }

    /// Accepts connections until `stop()`; blocks the calling thread.
    /// - Throws: `DaemonError` when accepting fails for another reason than a stop (EMFILE:
    ///   out of file descriptors, say): intake is dead, and raqamd must not stay "ready".
    public func serve() throws {
        while !stopped.load(ordering: .acquiring) {
            let connection: UnixSocket
            do throws(SystemError) {
                connection = try listener.accept()
            } catch {
                if error.errno == ECONNABORTED { continue }
                if stopped.load(ordering: .acquiring) { return }  // the listener was shut down
                throw DaemonError("the control socket \(path) stopped accepting connections: accept: \(String(cString: strerror(error.errno))) (errno \(error.errno)); raqamd stops so that it is restarted (Restart= in the unit) rather than stay ready without intake")
            }
            slots.wait()
            connections.withLock { $0[connection.fd] = connection }
            let thread = Thread { [self] in
                serveConnection(connection.fd)
                connections.withLock { _ = $0.removeValue(forKey: connection.fd) }
                slots.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Stops accepting, ends the connections' reads (their appends in progress finish and are
    /// acknowledged), removes the socket file.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        listener.shutdown()
        listener.removeBoundFile(path)
        connections.withLock { for c in $0.values { c.shutdown(reading: true, writing: false) } }
    }

    func serveConnection(_ fd: Int32) {
        var buffer: [UInt8] = []
        var lineNumber = 0
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            buffer.append(contentsOf: chunk[0..<n])
            // Whole lines only; a line longer than the limit is refused and skipped.
            var lines: [(Int, ArraySlice<UInt8>)] = []
            var start = buffer.startIndex
            while let nl = buffer[start...].firstIndex(of: 0x0A) {
                lineNumber += 1
                lines.append((lineNumber, buffer[start..<nl]))
                start = nl + 1
            }
            buffer.removeSubrange(buffer.startIndex..<start)
            if buffer.count > EventDecoder.maxLineBytes {
                lineNumber += 1
                guard reply(fd, "error \(lineNumber): the line has more than \(EventDecoder.maxLineBytes) bytes") else { return }
                buffer.removeAll()
            }
            guard handle(lines, fd: fd) else { return }
        }
    }

    /// Answers a group of lines in order; false when the client went away or asked to quit.
    func handle(_ lines: [(Int, ArraySlice<UInt8>)], fd: Int32) -> Bool {
        var i = 0
        while i < lines.count {
            let (n, text) = lines[i]
            let trimmed = text.last == 0x0D ? text.dropLast() : text
            if ControlProtocol.isEvent(trimmed) {
                // A run of event lines: one batch.
                var batch: [(Int, ArraySlice<UInt8>)] = []
                while i < lines.count, batch.count < core.configuration.maxBatch, ControlProtocol.isEvent(lines[i].1) {
                    batch.append(lines[i])
                    i += 1
                }
                guard reply(fd, append(batch)) else { return false }
                continue
            }
            i += 1
            let command = String(decoding: trimmed, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            switch command {
            case "": continue
            case "status":
                guard reply(fd, Self.statusJSON(core.status)) else { return false }
            case "sync":
                let done = core.waitUntilEvaluated(seconds: 60)
                let s = core.status
                guard reply(fd, done ? "ok \(s.evaluated)" : "error \(n): sync: not caught up after 60 s (evaluated \(s.evaluated) of \(s.position)\(s.degraded.map { "; \($0)" } ?? ""))") else { return false }
            case "reload":
                let problems = core.reload()
                guard reply(fd, problems.isEmpty ? "ok reloaded" : "error " + problems.joined(separator: "; ")) else { return false }
            case "quit":
                return false
            default:
                guard reply(fd, "error \(n): unknown command '\(command)'; send an event (a JSON object), status, sync, reload or quit") else { return false }
            }
        }
        return true
    }

    /// Hands a batch to the ingest pipeline (line by line: the valid events are appended
    /// durably, the others refused) and returns one reply line per input line: `ok SEQ`,
    /// `duplicate SEQ`, or `error LINE: problem` (`error LINE: conflict: …` for an id stored
    /// with other content).
    func append(_ batch: [(Int, ArraySlice<UInt8>)]) -> String {
        let lines = batch.map { InputLine(number: $0.0, bytes: Array($0.1)) }
        do {
            return try core.submit(lines).map(ControlProtocol.reply(for:)).joined(separator: "\n")
        } catch {
            return lines.map { "error \($0.number): not appended: \(error)" }.joined(separator: "\n")
        }
    }

    /// The `status` reply: one JSON object.
    static func statusJSON(_ s: DaemonCore.Status) -> String {
        ControlStatus(position: s.position, evaluated: s.evaluated, firing: s.firing, pending: s.pending, rules: s.rules,
                      clock: s.clock.rawValue, owed: s.owed, degraded: s.degraded).json
    }

    func reply(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array((text + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return true
    }
}

/// A daemon error with a message a person can act on.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
