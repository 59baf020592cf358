import RaqamModel
public import RaqamStore

/// raqamd's control-socket line protocol (docs/control-socket.md), both sides of it in one
/// place: raqamd answers with these lines, raqamctl and the benchmarks read them back.
///
/// A client sends lines: an event (a JSON object, `{…}`), or a command (`status`, `sync`,
/// `reload`, `quit`). raqamd answers each event line with `ok SEQ`, `duplicate SEQ` or
/// `error LINE: problem`, and each command with one line.
public enum ControlProtocol {
    /// The commands besides events.
    public enum Command: String, Sendable, CaseIterable {
        case status, sync, reload, quit
    }

    /// True for an event line (it starts with `{`); anything else is read as a command.
    /// True when the line is an event: a JSON object, a UTF-8 byte order mark allowed before it.
    public static func isEvent(_ line: some Collection<UInt8>) -> Bool {
        var bytes = line.makeIterator()
        guard let first = bytes.next() else { return false }
        if first == UInt8(ascii: "{") { return true }
        return first == 0xEF && bytes.next() == 0xBB && bytes.next() == 0xBF && bytes.next() == UInt8(ascii: "{")
    }

    /// What raqamd answers an event line with, from its `LineResult`.
    public static func reply(for result: LineResult) -> String {
        switch result.outcome {
        case .stored(let seq): "ok \(seq)"
        case .duplicate(let seq): "duplicate \(seq)"
        case .conflict(_, let issue): "error \(result.line): \(issue.message)"
        case .refused(let issues): "error " + issues.map { "\(result.line): \($0.field.map { "\($0): " } ?? "")\($0.message)" }.joined(separator: "; ")
        case .notAppended: "error \(result.line): not appended"
        }
    }

    /// An acknowledged event: `ok SEQ` (stored now) or `duplicate SEQ` (stored before).
    public struct Ack: Sendable, Equatable {
        public var seq: UInt64
        public var isDuplicate: Bool

        /// The ack a reply line carries, or nil for an `error …` (or any other) line.
        public init?(reply: some StringProtocol) {
            let parts = reply.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let seq = UInt64(parts[1]), parts[0] == "ok" || parts[0] == "duplicate" else { return nil }
            self.seq = seq
            isDuplicate = parts[0] == "duplicate"
        }
    }

    /// The text of an `error …` reply without its prefix, or nil for another line.
    public static func errorText(_ reply: String) -> String? {
        reply.hasPrefix("error ") ? String(reply.dropFirst(6)) : nil
    }
}

/// The `status` reply: one JSON object.
public struct ControlStatus: Sendable, Equatable {
    /// The seq of the last durable event.
    public var position: UInt64
    /// The seq of the last event evaluated (alerts reported up to it).
    public var evaluated: UInt64
    public var firing: Int
    public var pending: Int
    public var rules: Int
    /// The state directory's clock: wall or events.
    public var clock: String
    /// Transitions not yet reported (the alert log or the journal refused them; retried).
    public var owed: Int
    /// Why raqamd is not fully working (delivery retrying, disk full), or nil.
    public var degraded: String?

    public init(position: UInt64, evaluated: UInt64, firing: Int, pending: Int, rules: Int, clock: String, owed: Int, degraded: String?) {
        self.position = position
        self.evaluated = evaluated
        self.firing = firing
        self.pending = pending
        self.rules = rules
        self.clock = clock
        self.owed = owed
        self.degraded = degraded
    }

    /// The reply line.
    public var json: String {
        var w = JSONWriter()
        w.beginObject()
        w.key("position"); w.integer(position)
        w.key("evaluated"); w.integer(evaluated)
        w.key("firing"); w.integer(firing)
        w.key("pending"); w.integer(pending)
        w.key("rules"); w.integer(rules)
        w.key("clock"); w.string(clock)
        w.key("owed"); w.integer(owed)
        w.key("degraded"); if let degraded { w.string(degraded) } else { w.null() }
        w.endObject()
        return w.text
    }

    /// The status a reply line holds, or nil when it is not one.
    public init?(json line: String) {
        guard case .object(let members)? = try? JSONParser.parse(Array(line.utf8)) else { return nil }
        func value(_ k: String) -> JSONValue? { members.first { $0.key == k }?.value }
        func integer(_ k: String) -> Int? {
            if case .number(_, true, let text)? = value(k) { return Int(text) }
            return nil
        }
        guard let position = integer("position"), let evaluated = integer("evaluated"), let firing = integer("firing"),
              let pending = integer("pending"), let rules = integer("rules"), case .string(let clock)? = value("clock") else { return nil }
        self.init(position: UInt64(position), evaluated: UInt64(evaluated), firing: firing, pending: pending, rules: rules, clock: clock,
                  owed: integer("owed") ?? 0, degraded: { if case .string(let d)? = value("degraded") { return d }; return nil }())
    }
}
