import CRaqamSupport
import Glibc

/// Monotonic time for deadlines.
public enum Poll {
    /// CLOCK_MONOTONIC in milliseconds.
    public static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// An epoll(7) set: waiting costs what is ready, not what is watched, so one thread serves
/// thousands of mostly idle connections. Level-triggered, reads only.
public final class EventPoll: Sendable {
    private let fd: Int32

    public init() throws(SystemError) {
        fd = raqam_epoll_create()
        guard fd >= 0 else { throw SystemError("epoll_create1") }
    }

    deinit { close(fd) }

    /// Watches `watched` for reading (`epoll_ctl` EPOLL_CTL_ADD).
    public func add(_ watched: Int32) throws(SystemError) {
        guard raqam_epoll_add(fd, watched) == 0 else { throw SystemError("epoll_ctl add") }
    }

    /// Stops watching `watched` (`epoll_ctl` EPOLL_CTL_DEL; closing it does that too).
    public func remove(_ watched: Int32) {
        _ = raqam_epoll_remove(fd, watched)
    }

    /// The descriptors ready to read, waiting at most `timeoutMilliseconds` (-1: no limit);
    /// none when interrupted.
    /// - Throws: `SystemError` when epoll_wait(2) fails for another reason than EINTR.
    public func wait(timeoutMilliseconds: Int, into ready: inout [Int32]) throws(SystemError) {
        if ready.count < 256 { ready = [Int32](repeating: -1, count: 256) }
        let n = ready.withUnsafeMutableBufferPointer { raqam_epoll_wait(fd, $0.baseAddress, Int32($0.count), Int32(clamping: timeoutMilliseconds)) }
        if n < 0 {
            if errno == EINTR { ready.removeAll(keepingCapacity: true); return }
            throw SystemError("epoll_wait")
        }
        ready.removeSubrange(Int(n)...)
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
