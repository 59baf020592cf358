/// The group-commit protocol as a value: appenders queue requests; one of them at a time is
/// the leader, which writes and syncs every request queued so far in one go, then hands the
/// lead to the first request that queued meanwhile. The methods return what the caller must
/// do; the state machine itself does no I/O, so it tests without files.
struct GroupCommit<Request> {
    private var queue: [Request] = []
    private(set) var leading = false

    enum Submitted {
        /// No one leads: the caller leads and must flush this batch (its own request included).
        case lead([Request])
        /// A leader is flushing: the caller waits until its request is done or it is handed the lead.
        case wait
    }

    /// Queues a request.
    mutating func submit(_ request: Request) -> Submitted {
        queue.append(request)
        if leading { return .wait }
        leading = true
        return .lead(takeBatch())
    }

    enum Finished {
        /// Nothing is queued; no one leads now.
        case idle
        /// Requests queued while the leader flushed; the lead passes to this one, which must call `takeBatch()`.
        case handOff(Request)
    }

    /// The leader finished flushing its batch.
    mutating func finished() -> Finished {
        guard let next = queue.first else {
            leading = false
            return .idle
        }
        return .handOff(next)
    }

    /// Everything queued so far, for the (new) leader to flush.
    mutating func takeBatch() -> [Request] {
        precondition(leading, "only the leader takes a batch")
        defer { queue.removeAll(keepingCapacity: true) }
        return queue
    }

    /// After a failed flush: every queued request, which must fail too (their sequence numbers
    /// were counted after the failed ones). No one leads afterwards.
    mutating func abandon() -> [Request] {
        defer {
            queue.removeAll()
            leading = false
        }
        return queue
    }
}
