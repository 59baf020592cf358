public import Glibc

/// A system call that failed: what was being done, and the errno it left, kept as the cause.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being done, e.g. "connect to /run/raqam/raqamd.sock" or "open".
    public var operation: String
    /// The file it was done to, when the operation does not name it.
    public var path: String?
    public var errno: Int32

    public init(_ operation: String, path: String? = nil, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String { "\(operation)\(path.map { " " + $0 } ?? ""): \(reason)" }

    /// What errno says, as strerror(3) words it, with its number: for a message that already
    /// says what was being done.
    public var reason: String { "\(String(cString: strerror(errno))) (errno \(errno))" }
}

/// One Unix-domain socket, stream or datagram, owning its descriptor (closed when the value
/// goes). The one place raqam builds a `sockaddr_un`, so the path-length limit is checked
/// everywhere. Sendable: it holds only the descriptor, and the kernel serialises calls on it
/// (a connection's reader and writer may be two threads).
public final class UnixSocket: Sendable {
    public enum Kind: Sendable {
        case stream, datagram
        var raw: Int32 { self == .stream ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue) }
    }

    public let fd: Int32
    /// The device and inode of the socket file a listener bound (to remove only its own).
    private let boundFile: FileIdentity?

    struct FileIdentity: Sendable, Equatable {
        var device: UInt64
        var inode: UInt64

        /// `lstat(2)` of `path`, or nil when nothing is there.
        init?(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    /// The longest path a socket can have, in bytes (`sun_path` less its terminating NUL).
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    private init(fd: Int32, boundFile: FileIdentity? = nil) {
        self.fd = fd
        self.boundFile = boundFile
    }

    private static func make(_ kind: Kind, _ what: String) throws(SystemError) -> Int32 {
        let fd = socket(AF_UNIX, kind.raw | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("create a socket for \(what)") }
        return fd
    }

    /// Calls `body` with the address of `path`; throws ENAMETOOLONG for a path over `maxPathBytes`.
    private static func withAddress<R>(_ path: String, _ what: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(SystemError) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count <= maxPathBytes else {
            throw SystemError("\(what) \(path): the path has \(bytes.count) bytes, a socket's at most \(maxPathBytes)", errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A socket connected to `path`.
    public convenience init(connectingTo path: String, kind: Kind = .stream) throws(SystemError) {
        let fd = try Self.make(kind, path)
        let ok: Bool
        do throws(SystemError) { ok = try Self.withAddress(path, "connect to") { connect(fd, $0, $1) == 0 } } catch {
            close(fd)
            throw error
        }
        guard ok else {
            let error = SystemError("connect to \(path)")
            close(fd)
            throw error
        }
        self.init(fd: fd)
    }

    /// A stream socket listening at `path` with file mode `mode`.
    ///
    /// Replaces only a stale socket file (one nobody accepts on, left by a process that died):
    /// - Throws: `SystemError` with EEXIST when `path` exists and is not a socket (a regular
    ///   file named by mistake is never deleted), EADDRINUSE when a live process accepts
    ///   connections on it (another raqamd: the path is not taken over), ENAMETOOLONG, or the
    ///   errno of the failed call.
    public convenience init(listeningAt path: String, mode: UInt16, backlog: Int32 = 128) throws(SystemError) {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw SystemError("listen on \(path): something other than a socket is there (a regular file or a directory, say); it is left alone: choose another socket path, or move it away", errno: EEXIST)
            }
            if Self.someoneListens(at: path) {
                throw SystemError("listen on \(path): another process (another raqamd?) accepts connections on it; stop it, or give this one another socket path", errno: EADDRINUSE)
            }
            // Nobody answers: a socket file left by a process that died. Replace it.
            unlink(path)
        }
        let fd = try Self.make(.stream, path)
        do throws(SystemError) {
            let bound = try Self.withAddress(path, "listen on") { address, length in bind(fd, address, length) == 0 }
            guard bound, chmod(path, mode_t(mode)) == 0, listen(fd, backlog) == 0 else { throw SystemError("listen on \(path)") }
        } catch {
            close(fd)
            throw error
        }
        self.init(fd: fd, boundFile: FileIdentity(path))
    }

    /// True when a process listens on the socket at `path`: a non-blocking connect succeeds,
    /// or finds the backlog full (EAGAIN); a stale file refuses (ECONNREFUSED).
    static func someoneListens(at path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let result = try? withAddress(path, "connect to") { connect(fd, $0, $1) == 0 ? 0 : Glibc.errno }
        return result == 0 || result == EAGAIN
    }

    /// Removes the socket file a listener bound, when `path` still is that file (not one
    /// something else put there since).
    public func removeBoundFile(_ path: String) {
        guard let boundFile, FileIdentity(path) == boundFile else { return }
        unlink(path)
    }

    /// A datagram socket bound at `path` (what receives sd_notify messages).
    public convenience init(datagramBoundAt path: String) throws(SystemError) {
        let fd = try Self.make(.datagram, path)
        do throws(SystemError) {
            let bound = try Self.withAddress(path, "bind") { address, length in
                unlink(path)
                return bind(fd, address, length) == 0
            }
            guard bound else { throw SystemError("bind \(path)") }
        } catch {
            close(fd)
            throw error
        }
        self.init(fd: fd)
    }

    deinit { close(fd) }

    /// The next connection (interrupted waits are retried).
    /// - Throws: `SystemError` with the errno (ECONNABORTED, EMFILE, EINVAL after `shutdown`…).
    public func accept() throws(SystemError) -> UnixSocket {
        while true {
            let c = Glibc.accept(fd, nil, nil)
            if c >= 0 {
                _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                return UnixSocket(fd: c)
            }
            if errno == EINTR { continue }
            throw SystemError("accept a connection")
        }
    }

    /// Writes all of `bytes` (never raising SIGPIPE).
    /// - Throws: `SystemError` when the peer went away (EPIPE) or the write failed.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("send")
            }
            done += n
        }
    }

    public func send(_ bytes: [UInt8]) throws(SystemError) {
        let r: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try send(raw); return .success(()) } catch { return .failure(error) }
        }
        try r.get()
    }

    /// Reads what is there into `buffer` (at most its size): the byte count, 0 at the end.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SystemError("receive")
        }
    }

    /// Waits at most `timeout` in `receive` (EAGAIN afterwards): SO_RCVTIMEO.
    public func setReceiveTimeout(_ timeout: Duration) {
        let (seconds, attoseconds) = timeout.components
        var t = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Waits at most `seconds` in `receive` (EAGAIN afterwards).
    public func setReceiveTimeout(seconds: Int) {
        setReceiveTimeout(.seconds(seconds))
    }

    /// Makes reads and writes return at once instead of waiting (`fcntl(2)` O_NONBLOCK): for a
    /// socket watched with `Poll`.
    public func setNonBlocking() {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// What a non-blocking read found.
    public enum Received: Equatable, Sendable {
        /// This many bytes.
        case bytes(Int)
        /// Nothing yet (EAGAIN).
        case nothingYet
        /// The peer closed its end.
        case end
    }

    /// Reads what is there into `buffer` without waiting (`recv(2)` on a non-blocking socket).
    public func receiveNow(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Received {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .end }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return .nothingYet }
            throw SystemError("receive")
        }
    }

    /// Writes all of `bytes` on a non-blocking socket, waiting with `poll(2)` while the peer's
    /// buffer is full, at most `timeoutMilliseconds` in all (never raising SIGPIPE).
    /// - Throws: `SystemError` with ETIMEDOUT when the peer reads nothing for that long,
    ///   EPIPE when it went away, or the errno of the failed call.
    public func send(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(SystemError) {
        let deadline = Monotonic.milliseconds() + Int64(timeoutMilliseconds)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n >= 0 { done += n; continue }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw SystemError("send") }
            let left = deadline - Monotonic.milliseconds()
            guard left > 0 else { throw SystemError("send: the peer read nothing for \(timeoutMilliseconds) ms", errno: ETIMEDOUT) }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&p, 1, Int32(min(left, Int64(Int32.max))))
        }
    }

    /// Ends reading, writing or both (a blocked `accept` or `receive` returns).
    public func shutdown(reading: Bool = true, writing: Bool = true) {
        _ = Glibc.shutdown(fd, reading && writing ? Int32(SHUT_RDWR) : reading ? Int32(SHUT_RD) : Int32(SHUT_WR))
    }
}
