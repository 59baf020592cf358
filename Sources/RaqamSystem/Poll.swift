import Glibc

/// Waiting on many descriptors at once (`poll(2)`), and an `eventfd(2)` to wake the waiter
/// from another thread: what serves many connections from one thread.
public enum Poll {
    /// What to wait for on one descriptor, and what came.
    public struct Watch: Sendable {
        public var fd: Int32
        public var readable: Bool
        /// Set by `wait`: the descriptor can be read (data, the peer's end, or an error).
        public var ready = false

        public init(fd: Int32, readable: Bool = true) {
            self.fd = fd
            self.readable = readable
        }
    }

    /// Waits until one of `watches` is ready or `timeoutMilliseconds` pass (-1: no limit);
    /// marks the ready ones. An interrupted wait returns with none marked.
    /// - Throws: `SystemError` when poll(2) fails for another reason than EINTR.
    public static func wait(_ watches: inout [Watch], timeoutMilliseconds: Int) throws(SystemError) {
        var fds = watches.map { pollfd(fd: $0.fd, events: $0.readable ? Int16(POLLIN) : 0, revents: 0) }
        let n = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), Int32(clamping: timeoutMilliseconds)) }
        if n < 0 {
            if errno == EINTR { return }
            throw SystemError("poll")
        }
        for i in watches.indices { watches[i].ready = fds[i].revents != 0 }
    }

    /// CLOCK_MONOTONIC in milliseconds.
    public static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A self-pipe (`pipe(2)`, both ends non-blocking and close-on-exec): one thread's `signal()` makes `fd` readable, so a
/// thread in `Poll.wait` on it wakes up; `drain()` makes it quiet again.
public final class WakeSignal: Sendable {
    /// The end to watch.
    public let fd: Int32
    private let writeEnd: Int32

    public init() throws(SystemError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SystemError("pipe") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        fd = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(fd)
        close(writeEnd)
    }

    /// Wakes the waiter (`write(2)` of one byte; a full pipe is awake already).
    public func signal() {
        var one: UInt8 = 1
        _ = write(writeEnd, &one, 1)
    }

    /// Takes the wake-ups so far (`read(2)` until empty).
    public func drain() {
        var bytes = [UInt8](repeating: 0, count: 256)
        while bytes.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
}

/// The process's limit on open descriptors (`getrlimit(2)`/`setrlimit(2)`, RLIMIT_NOFILE).
public enum OpenFileLimit {
    /// Raises the soft limit to the hard one (systemd's default soft limit is 1024, its hard
    /// one far higher: a program that needs more descriptors is expected to raise it itself).
    /// Returns the soft limit in force afterwards.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
