import Synchronization

/// Where raqamd stands, for the HTTP API: the listener opens before the log is replayed, so
/// a reporter learns "starting, try again" (503 with Retry-After) instead of a refused
/// connection, and after SIGTERM it learns "stopping" while raqamd finishes what it took.
public final class HTTPGate: Sendable {
    public enum Phase: Sendable {
        case starting
        case ready(any IntakeBackend)
        case stopping
    }

    private let phase = Mutex<Phase>(.starting)

    public init() {}

    public var current: Phase { phase.withLock { $0 } }

    /// The log is replayed: requests are served by `backend`.
    public func open(_ backend: any IntakeBackend) { phase.withLock { $0 = .ready(backend) } }

    /// raqamd stops: every request that needs the log is answered 503 from now on.
    public func close() { phase.withLock { $0 = .stopping } }
}
