public import Glibc

/// A system call that failed: what was being done, and the errno it left, kept as the cause.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being done, e.g. "connect to /run/raqam/raqamd.sock".
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno))) (errno \(errno))" }
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

    /// The longest path a socket can have, in bytes (`sun_path` less its terminating NUL).
    public static let maxPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    private init(fd: Int32) { self.fd = fd }

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

    /// A stream socket listening at `path` with file mode `mode` (a stale socket file from an
    /// earlier run is replaced).
    public convenience init(listeningAt path: String, mode: UInt16, backlog: Int32 = 128) throws(SystemError) {
        let fd = try Self.make(.stream, path)
        do throws(SystemError) {
            let bound = try Self.withAddress(path, "listen on") { address, length in
                unlink(path)
                return bind(fd, address, length) == 0
            }
            guard bound, chmod(path, mode_t(mode)) == 0, listen(fd, backlog) == 0 else { throw SystemError("listen on \(path)") }
        } catch {
            close(fd)
            throw error
        }
        self.init(fd: fd)
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

    /// Waits at most `seconds` in `receive` (EAGAIN afterwards).
    public func setReceiveTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Ends reading, writing or both (a blocked `accept` or `receive` returns).
    public func shutdown(reading: Bool = true, writing: Bool = true) {
        _ = Glibc.shutdown(fd, reading && writing ? Int32(SHUT_RDWR) : reading ? Int32(SHUT_RD) : Int32(SHUT_WR))
    }
}
