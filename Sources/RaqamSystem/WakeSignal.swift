import Glibc

/// A self-pipe (`pipe(2)`, both ends non-blocking and close-on-exec): one thread's `signal()`
/// makes `fd` readable, so a thread waiting in an `EventPoll` that watches it wakes up;
/// `drain()` makes it quiet again.
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
