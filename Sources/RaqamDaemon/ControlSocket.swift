import EventLog
import Foundation
import Glibc
public import Logging
import RaqamModel
import RaqamStore
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
    let listener: Int32
    let slots: DispatchSemaphore
    private let stopped = Atomic<Bool>(false)
    private let connections = Mutex<Set<Int32>>([])

    /// Binds and listens (a stale socket file from an earlier run is replaced).
    public init(path: String, mode: UInt16, core: DaemonCore, logger: Logger) throws {
        self.path = path
        self.core = core
        self.logger = logger
        slots = DispatchSemaphore(value: core.configuration.maxClients)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DaemonError("cannot create the control socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw DaemonError("control socket path \(path) is too long (at most \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, mode_t(mode)) == 0, listen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DaemonError("cannot listen on the control socket \(path): \(reason)")
        }
        listener = fd
    }

    /// Accepts connections until `stop()`; blocks the calling thread.
    public func serve() {
        while !stopped.load(ordering: .acquiring) {
            let fd = accept(listener, nil, nil)
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // the listener was shut down
            }
            slots.wait()
            connections.withLock { _ = $0.insert(fd) }
            let thread = Thread { [self] in
                serveConnection(fd)
                connections.withLock { _ = $0.remove(fd) }
                close(fd)
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
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
        connections.withLock { for fd in $0 { shutdown(fd, Int32(SHUT_RD)) } }
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
            if trimmed.first == UInt8(ascii: "{") {
                // A run of event lines: one batch.
                var batch: [(Int, ArraySlice<UInt8>)] = []
                while i < lines.count, batch.count < core.configuration.maxBatch, lines[i].1.first == UInt8(ascii: "{") {
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
                let s = core.status
                guard reply(fd, #"{"position":\#(s.position),"firing":\#(s.firing),"pending":\#(s.pending),"rules":\#(s.rules),"clock":"\#(s.clock.rawValue)"}"#) else { return false }
            case "reload":
                let problems = core.reload()
                guard reply(fd, problems.isEmpty ? "ok reloaded" : "error " + problems.joined(separator: "; ")) else { return false }
            case "quit":
                return false
            default:
                guard reply(fd, "error \(n): unknown command '\(command)'; send an event (a JSON object), status, reload or quit") else { return false }
            }
        }
        return true
    }

    /// Validates a batch, appends the valid events (durably), and returns one reply line per
    /// input line: `ok SEQ`, `duplicate SEQ` or `error LINE: problem`.
    func append(_ batch: [(Int, ArraySlice<UInt8>)]) -> String {
        var replies = [String](repeating: "", count: batch.count)
        var events: [Event] = []
        var positions: [Int] = []
        var lines: [Int] = []
        for (k, (n, text)) in batch.enumerated() {
            switch EventDecoder.decode(line: Array(text)) {
            case .event(let e):
                events.append(e)
                positions.append(k)
                lines.append(n)
            case .invalid(let issues):
                replies[k] = "error " + issues.map { "\(n): \($0.field.map { "\($0): " } ?? "")\($0.message)" }.joined(separator: "; ")
            }
        }
        // Unknown subjects, events far in the future: refused line by line, the rest goes in.
        let issues = core.store.contextIssues(events, lines: lines)
        let bad = Set(issues.compactMap(\.line))
        for issue in issues {
            if let line = issue.line, let k = batch.firstIndex(where: { $0.0 == line }) {
                replies[k] = "error \(line): \(issue.field.map { "\($0): " } ?? "")\(issue.message)"
            }
        }
        let keep = events.indices.filter { !bad.contains(lines[$0]) }
        if !keep.isEmpty {
            do {
                let appended = try core.ingest(keep.map { events[$0] }, lines: keep.map { lines[$0] })
                for (j, a) in zip(keep, appended) { replies[positions[j]] = (a.isDuplicate ? "duplicate " : "ok ") + String(a.seq) }
            } catch {
                for j in keep { replies[positions[j]] = "error \(lines[j]): not appended: \(error)" }
            }
        }
        return replies.joined(separator: "\n")
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
