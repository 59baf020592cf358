import Foundation
import Glibc
public import Logging
import RaqamControl
import RaqamModel
import RaqamStore
import RaqamSystem
import Synchronization

/// The control socket: a Unix stream socket (mode from the configuration) that speaks a line
/// protocol (docs/control-socket.md).
///
/// One thread (`serve()`, the service's work) accepts connections and reads them all with
/// epoll(7): a connection costs a descriptor and the line it is in the middle of, not a
/// thread, so clients that stall (half a line, or nothing) hold nobody up. Complete lines go to
/// a pool of worker threads, one batch of a connection at a time: its events are appended and
/// acknowledged only once durable, and its next lines are not read before, so memory stays
/// bounded by `max_clients × 64 KiB + workers × max_batch events`. A connection over
/// `max_clients` is answered `error busy` and closed; one in the middle of a line for
/// `line_timeout`, or silent for `idle_timeout`, is answered with why and closed.
public final class ControlSocket: Sendable {
    let path: String
    let core: DaemonCore
    let logger: Logger
    let listener: UnixSocket
    private let stopped = Atomic<Bool>(false)
    private let wake: WakeSignal
    /// Connections whose batch a worker has answered: watch again (true) or close (false).
    private let answered = Mutex<[(fd: Int32, keep: Bool)]>([])
    private let jobs = Mutex<[Job]>([])
    private let jobsReady = DispatchSemaphore(value: 0)

    /// Worker threads: appends wait for the disk, so several run at once (their records share
    /// one fdatasync).
    var workerCount: Int { max(1, min(64, core.configuration.maxClients)) }

    /// The lines of one connection, and the connection to answer on.
    struct Job: Sendable {
        var socket: UnixSocket
        var pieces: [LineAssembler.Piece]
    }

    /// Binds and listens. A stale socket file from an earlier run is replaced; anything else at
    /// the path (a file, a socket a live raqamd answers on) is refused, untouched.
    public init(path: String, mode: UInt16, core: DaemonCore, logger: Logger) throws {
        self.path = path
        self.core = core
        self.logger = logger
        do {
            listener = try UnixSocket(listeningAt: path, mode: mode)
            listener.setNonBlocking()
            wake = try WakeSignal()
        } catch {
            throw DaemonError("cannot listen on the control socket \(path): \(error)")
        }
    }

    /// One connection, as the serving thread sees it.
    private struct Open {
        var socket: UnixSocket
        var assembler = LineAssembler(maxLineBytes: EventDecoder.maxLineBytes)
        var lastActivity: Int64
        /// When the line in progress began (nil between lines).
        var lineStarted: Int64?
        /// A worker has its lines: not read meanwhile.
        var inFlight = false
    }

    /// Accepts and reads connections until `stop()`; blocks the calling thread.
    /// - Throws: `DaemonError` when accepting fails for another reason than a stop (EMFILE:
    ///   out of file descriptors, say): intake is dead, and raqamd must not stay "ready".
    public func serve() throws {
        let configuration = core.configuration
        for _ in 0..<workerCount {
            let thread = Thread { [self] in work() }
            thread.stackSize = 1 << 20
            thread.start()
        }
        defer {
            // Each worker ends at an empty job.
            jobs.withLock { $0.append(contentsOf: Array(repeating: Job(socket: listener, pieces: []), count: workerCount)) }
            for _ in 0..<workerCount { jobsReady.signal() }
        }
        let idleTimeout = Int64(configuration.idleTimeout / 1000), lineTimeout = Int64(configuration.lineTimeout / 1000)
        // Stalled connections are looked for this often (a timeout fires at most this late).
        let sweepEvery = max(10, min(1_000, min(idleTimeout, lineTimeout) / 4))
        let poll: EventPoll
        do throws(SystemError) {
            poll = try EventPoll()
            try poll.add(listener.fd)
            try poll.add(wake.fd)
        } catch {
            throw DaemonError("the control socket \(path) cannot watch its connections: \(error)")
        }
        var open: [Int32: Open] = [:]
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var ready: [Int32] = []
        var nextSweep = Monotonic.milliseconds() + sweepEvery
        while !stopped.load(ordering: .acquiring) {
            do throws(SystemError) {
                try poll.wait(timeoutMilliseconds: Int(max(0, nextSweep - Monotonic.milliseconds())), into: &ready)
            } catch {
                throw DaemonError("the control socket \(path) cannot wait for its connections: \(error); raqamd stops so that it is restarted")
            }
            if stopped.load(ordering: .acquiring) { break }
            let now = Monotonic.milliseconds()
            for fd in ready {
                if fd == wake.fd {
                    wake.drain()
                    let done: [(fd: Int32, keep: Bool)] = answered.withLock { a in
                        let taken = a
                        a = []
                        return taken
                    }
                    for (fd, keep) in done {
                        if keep, open[fd] != nil, (try? poll.add(fd)) != nil {
                            open[fd]!.inFlight = false
                            open[fd]!.lastActivity = now
                            // The clock of a line begun before the batch restarts: the client
                            // waited for raqamd meanwhile.
                            if open[fd]!.lineStarted != nil { open[fd]!.lineStarted = now }
                        } else {
                            open[fd] = nil
                        }
                    }
                } else if fd == listener.fd {
                    try acceptAll(into: &open, poll: poll, now: now)
                } else if var c = open[fd], !c.inFlight {
                    let socket = c.socket
                    guard let received = chunk.withUnsafeMutableBytes({ try? socket.receiveNow(into: $0) }) else {
                        open[fd] = nil
                        continue
                    }
                    switch received {
                    case .nothingYet:
                        continue
                    case .end:
                        open[fd] = nil
                    case .bytes(let n):
                        let pieces = chunk.withUnsafeBytes { c.assembler.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                        c.lastActivity = now
                        if !c.assembler.isInLine { c.lineStarted = nil } else if c.lineStarted == nil || !pieces.isEmpty { c.lineStarted = now }
                        if !pieces.isEmpty {
                            // Not read again before its lines are answered.
                            poll.remove(fd)
                            c.inFlight = true
                            submit(Job(socket: c.socket, pieces: pieces))
                        }
                        open[fd] = c
                    }
                }
            }
            guard now >= nextSweep else { continue }
            nextSweep = now + sweepEvery
            // Connections that stalled: told why, then closed.
            for (fd, c) in open where !c.inFlight {
                if let started = c.lineStarted, now - started >= lineTimeout {
                    try? c.socket.send(Array("error \(c.assembler.lineNumber + 1): the line was not finished within \(lineTimeout / 1000) s (line_timeout); closing the connection\n".utf8), timeoutMilliseconds: 100)
                    open[fd] = nil
                } else if c.lineStarted == nil, now - c.lastActivity >= idleTimeout {
                    try? c.socket.send(Array("error idle: no request for \(idleTimeout / 1000) s (idle_timeout); closing the connection\n".utf8), timeoutMilliseconds: 100)
                    open[fd] = nil
                }
            }
        }
    }

    /// Takes every connection waiting in the backlog; one over `max_clients` is told `busy`.
    private func acceptAll(into open: inout [Int32: Open], poll: EventPoll, now: Int64) throws {
        while true {
            let connection: UnixSocket
            do throws(SystemError) {
                connection = try listener.accept()
            } catch {
                if error.errno == EAGAIN || error.errno == EWOULDBLOCK { return }
                if error.errno == ECONNABORTED { continue }
                if stopped.load(ordering: .acquiring) { return }  // the listener was shut down
                throw DaemonError("the control socket \(path) stopped accepting connections: accept: \(String(cString: strerror(error.errno))) (errno \(error.errno)); raqamd stops so that it is restarted (Restart= in the unit) rather than stay ready without intake")
            }
            connection.setNonBlocking()
            if open.count >= core.configuration.maxClients {
                try? connection.send(Array("error busy: raqamd serves at most \(core.configuration.maxClients) connections at once (max_clients); retry later\n".utf8), timeoutMilliseconds: 100)
                continue
            }
            do throws(SystemError) { try poll.add(connection.fd) } catch { continue }
            open[connection.fd] = Open(socket: connection, lastActivity: now)
        }
    }

    private func submit(_ job: Job) {
        jobs.withLock { $0.append(job) }
        jobsReady.signal()
    }

    /// A worker's loop: answers jobs until an empty one.
    private func work() {
        while true {
            jobsReady.wait()
            let job = jobs.withLock { $0.removeFirst() }
            if job.pieces.isEmpty { return }
            let keep = handle(job.pieces, on: job.socket) && !stopped.load(ordering: .acquiring)
            answered.withLock { $0.append((job.socket.fd, keep)) }
            wake.signal()
        }
    }

    /// Stops accepting and reading; batches being appended finish and are acknowledged. Removes
    /// the socket file.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        listener.shutdown()
        listener.removeBoundFile(path)
        wake.signal()
    }

    /// Answers a connection's pieces in order; false when the client went away or asked to quit.
    func handle(_ pieces: [LineAssembler.Piece], on socket: UnixSocket) -> Bool {
        var i = 0
        while i < pieces.count {
            let (n, text): (Int, ArraySlice<UInt8>)
            switch pieces[i] {
            case .tooLong(let number, let head):
                i += 1
                var quoted = ""
                JSONWriter.quote(String(decoding: head, as: UTF8.self), into: &quoted)
                guard reply(socket, "error \(number): the line has more than \(EventDecoder.maxLineBytes) bytes, the most an event may have; it was skipped to its newline (it began \(quoted))") else { return false }
                continue
            case .line(let number, let bytes):
                (n, text) = (number, bytes[...])
            }
            let trimmed = text.last == 0x0D ? text.dropLast() : text
            if ControlProtocol.isEvent(trimmed) {
                // A run of event lines: one batch.
                var batch: [(Int, ArraySlice<UInt8>)] = []
                while i < pieces.count, batch.count < core.configuration.maxBatch,
                      case .line(let number, let bytes) = pieces[i], ControlProtocol.isEvent(bytes) {
                    batch.append((number, bytes[...]))
                    i += 1
                }
                guard reply(socket, append(batch)) else { return false }
                continue
            }
            i += 1
            let command = String(decoding: trimmed, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            switch command {
            case "": continue
            case "status":
                guard reply(socket, core.status.json) else { return false }
            case "sync":
                let done = core.waitUntilEvaluated(seconds: 60)
                let s = core.status
                guard reply(socket, done ? "ok \(s.evaluated)" : "error \(n): sync: not caught up after 60 s (evaluated \(s.evaluated) of \(s.position)\(s.degraded.map { "; \($0)" } ?? ""))") else { return false }
            case "reload":
                let problems = core.reload()
                guard reply(socket, problems.isEmpty ? "ok reloaded" : "error " + problems.joined(separator: "; ")) else { return false }
            case "quit":
                return false
            default:
                guard reply(socket, "error \(n): unknown command '\(command)'; send an event (a JSON object), status, sync, reload or quit") else { return false }
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

    /// Sends one reply line; false when the client went away or read nothing for `line_timeout`.
    func reply(_ socket: UnixSocket, _ text: String) -> Bool {
        do throws(SystemError) {
            try socket.send(Array((text + "\n").utf8), timeoutMilliseconds: Int(core.configuration.lineTimeout / 1000))
            return true
        } catch {
            return false
        }
    }
}

/// A daemon error with a message a person can act on.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
