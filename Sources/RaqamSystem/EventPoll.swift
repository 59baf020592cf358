import CRaqamSupport
import Glibc

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
