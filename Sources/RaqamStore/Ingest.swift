public import RaqamModel
import Glibc

/// One line of NDJSON input, numbered from 1 in its source (a file, a connection, a request).
public struct InputLine: Sendable {
    public var number: Int
    public var bytes: [UInt8]

    public init(number: Int, bytes: [UInt8]) {
        self.number = number
        self.bytes = bytes
    }
}

/// What became of one input line.
public enum LineOutcome: Sendable, Equatable {
    /// Stored now, at this seq.
    case stored(seq: UInt64)
    /// Its id was stored before with the same content, at this seq: nothing stored.
    case duplicate(seq: UInt64)
    /// Its id was stored before, at this seq, with other content: nothing stored.
    case conflict(seq: UInt64, issue: ValidationIssue)
    /// Invalid (or, under `allOrNothing`, valid but refused with the rest): nothing stored.
    case refused([ValidationIssue])
    /// Valid, and not stored because another line of an all-or-nothing batch was refused.
    case notAppended

    /// The seq of a line that was stored or was already.
    public var acknowledgedSeq: UInt64? {
        switch self {
        case .stored(let s), .duplicate(let s): s
        default: nil
        }
    }
}

/// A line's number and outcome.
public struct LineResult: Sendable, Equatable {
    public var line: Int
    public var outcome: LineOutcome

    public init(line: Int, outcome: LineOutcome) {
        self.line = line
        self.outcome = outcome
    }
}

/// Checks input lines one after another: syntax and fields (`EventDecoder`), then what only
/// the store can tell: subjects not registered (counting registrations earlier in the same
/// input), events dated in the future, ids stored with other content. A value that carries
/// what the input registered so far, so a file can be checked in chunks, in bounded memory.
public struct IngestCheck {
    let isRegistered: (EntityKey) -> Bool
    let storedEvent: ((EventID) throws(StoreError) -> StoredEvent?)?
    let latest: Int64
    let file: String?
    private var registeredHere: Set<EntityKey> = []

    /// How far in the future an event may be dated: clocks of reporting systems drift, but an
    /// event reported before it happened is a mistake (and the projections' 90-day windows
    /// assume none).
    public static let futureTolerance: Int64 = 86_400_000_000

    /// - Parameters:
    ///   - isRegistered: whether the store knows a subject.
    ///   - storedEvent: the store's event with an id, to find conflicts before appending;
    ///     nil where only the writer can tell (a client checking before it sends).
    ///   - now: the wall clock, µs (injectable: tests pass a fixed time).
    ///   - file: the input's name, for the issues.
    public init(isRegistered: @escaping (EntityKey) -> Bool,
                storedEvent: ((EventID) throws(StoreError) -> StoredEvent?)? = nil,
                now: Int64 = wallClockMicros(), file: String? = nil) {
        self.isRegistered = isRegistered
        self.storedEvent = storedEvent
        self.latest = now + Self.futureTolerance
        self.file = file
    }

    /// The event of a line, or every problem found in it.
    public mutating func check(_ line: InputLine) throws(StoreError) -> Result<Event, LineProblem> {
        try check(line, decoded: EventDecoder.decode(line: line.bytes))
    }

    /// The same, for a line already decoded (`EventDecoder.decode(line:)`, which is pure, so
    /// a bulk path may decode many lines at once on all cores and check them here in order).
    public mutating func check(_ line: InputLine, decoded: EventDecoder.Decoded) throws(StoreError) -> Result<Event, LineProblem> {
        let event: Event
        switch decoded {
        case .invalid(let found):
            return .failure(.invalid(found.map { var i = $0; i.file = file; i.line = line.number; return i }))
        case .event(let e):
            event = e
        }
        var issues: [ValidationIssue] = []
        if event.occurredAt.micros > latest {
            issues.append(ValidationIssue(file: file, line: line.number, field: "occurred_at",
                                          message: "\(event.occurredAt.rfc3339) is in the future; an event is reported after it happens"))
        }
        if event.type != .entityRegistered && !registeredHere.contains(event.subject) && !isRegistered(event.subject) {
            issues.append(Self.unknownSubject(event.subject, file: file, line: line.number))
        }
        if !issues.isEmpty { return .failure(.invalid(issues)) }
        // Only a registration that will be stored introduces its subject to later lines.
        if event.type == .entityRegistered { registeredHere.insert(event.subject) }
        if let id = event.id, let stored = try storedEvent?(id), let field = event.difference(from: stored.event) {
            return .failure(.conflict(seq: stored.seq, issue: Self.conflict(id: id, seq: stored.seq, field: field, file: file, line: line.number)))
        }
        return .success(event)
    }

    /// Why a line cannot be stored.
    public enum LineProblem: Error, Sendable, Equatable {
        case invalid([ValidationIssue])
        case conflict(seq: UInt64, issue: ValidationIssue)

        public var issues: [ValidationIssue] {
            switch self {
            case .invalid(let i): i
            case .conflict(_, let i): [i]
            }
        }

        var outcome: LineOutcome {
            switch self {
            case .invalid(let i): .refused(i)
            case .conflict(let seq, let i): .conflict(seq: seq, issue: i)
            }
        }
    }

    /// The issue of an event about a subject no `entity.registered` event introduced.
    public static func unknownSubject(_ key: EntityKey, file: String?, line: Int?) -> ValidationIssue {
        ValidationIssue(file: file, line: line, field: "subject",
                        message: "unknown subject \(key); register it first (raqamctl init registers the reference data)")
    }

    /// The issue of an id that is stored with other content.
    public static func conflict(id: EventID, seq: UInt64, field: String, file: String?, line: Int?) -> ValidationIssue {
        ValidationIssue(file: file, line: line, field: "id",
                        message: "conflict: \(id) is stored at seq \(seq) with another \(field); an id names one report (send a new id for a correction)")
    }
}

/// The one ingest pipeline: every entry point (the control socket, `raqamctl append` and
/// `append --stream`, and the HTTP intake) hands lines to it, and it validates them once and
/// appends what may be stored, with a result for every line.
public struct Ingest: Sendable {
    /// What happens to a batch with a bad line.
    public enum Policy: Sendable {
        /// Nothing of the batch is stored (a file, an atomic request).
        case allOrNothing
        /// The good lines are stored, the bad ones refused each with its reason (a stream).
        case perLine
    }

    public let store: any EventStoreWriter
    /// The wall clock, µs: what "in the future" is measured against.
    let now: @Sendable () -> Int64

    public init(store: any EventStoreWriter, now: @escaping @Sendable () -> Int64 = { wallClockMicros() }) {
        self.store = store
        self.now = now
    }

    /// A check against this store: registered subjects and stored ids.
    public func makeCheck(file: String? = nil) -> IngestCheck {
        let store = self.store
        return IngestCheck(isRegistered: { store.isRegistered($0) }, storedEvent: { (id) throws(StoreError) in try store.storedEvent(withID: id) },
                           now: now(), file: file)
    }

    /// Validates `lines` and appends, as `policy` says; one result per line, in order.
    /// A conflict found by the writer itself (a concurrent append of the same id) comes back
    /// as a conflict too; under `allOrNothing` the other lines are then stored.
    /// - Throws: `StoreError` when the store fails (nothing of this call is then stored).
    public func submit(_ lines: [InputLine], policy: Policy, file: String? = nil) throws(StoreError) -> [LineResult] {
        try submit(lines, decoded: lines.map { EventDecoder.decode(line: $0.bytes) }, policy: policy, file: file)
    }

    /// The same, for lines already decoded (`EventDecoder`): the HTTP intake decodes first to
    /// check the token's scope and to set each event's `source` from the principal.
    public func submit(_ lines: [InputLine], decoded: [EventDecoder.Decoded], policy: Policy, file: String? = nil) throws(StoreError) -> [LineResult] {
        var check = makeCheck(file: file)
        var outcomes = [LineOutcome](repeating: .notAppended, count: lines.count)
        var events: [Event] = []
        var positions: [Int] = []
        var refused = false
        for (k, line) in lines.enumerated() {
            switch try check.check(line, decoded: decoded[k]) {
            case .success(let e):
                events.append(e)
                positions.append(k)
            case .failure(let problem):
                outcomes[k] = problem.outcome
                refused = true
            }
        }
        if !(refused && policy == .allOrNothing), !events.isEmpty {
            let appended = try store.append(events)
            for (k, (e, a)) in zip(positions, zip(events, appended)) { outcomes[k] = Self.outcome(a, line: lines[k].number, id: e.id, file: file) }
        }
        return zip(lines, outcomes).map { LineResult(line: $0.number, outcome: $1) }
    }

    /// What `submit` would do, without storing anything (a dry run): a line that would be
    /// stored comes back as `.notAppended`, one whose id is stored with the same content as
    /// `.duplicate`, the others as `.refused` or `.conflict`.
    public func preview(_ lines: [InputLine], decoded: [EventDecoder.Decoded], file: String? = nil) throws(StoreError) -> [LineResult] {
        var check = makeCheck(file: file)
        var results: [LineResult] = []
        results.reserveCapacity(lines.count)
        for (k, line) in lines.enumerated() {
            switch try check.check(line, decoded: decoded[k]) {
            case .success(let e):
                if let id = e.id, let stored = try store.storedEvent(withID: id) {
                    results.append(LineResult(line: line.number, outcome: .duplicate(seq: stored.seq)))
                } else {
                    results.append(LineResult(line: line.number, outcome: .notAppended))
                }
            case .failure(let problem):
                results.append(LineResult(line: line.number, outcome: problem.outcome))
            }
        }
        return results
    }

    /// Appends events that a check passed (the second pass over a file checked whole), with
    /// their line numbers; one result per event.
    public func append(checked events: [Event], lines: [Int], file: String? = nil) throws(StoreError) -> [LineResult] {
        let appended = try store.append(events)
        return zip(zip(events, lines), appended).map { pair, a in
            LineResult(line: pair.1, outcome: Self.outcome(a, line: pair.1, id: pair.0.id, file: file))
        }
    }

    static func outcome(_ a: AppendResult, line: Int, id: EventID?, file: String?) -> LineOutcome {
        switch a.kind {
        case .stored: .stored(seq: a.seq)
        case .duplicate: .duplicate(seq: a.seq)
        case .conflict(let field): .conflict(seq: a.seq, issue: IngestCheck.conflict(id: id!, seq: a.seq, field: field, file: file, line: line))
        }
    }
}

/// The wall clock in µs since the Unix epoch.
public func wallClockMicros() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}
