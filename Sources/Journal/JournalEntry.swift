/// One journal entry: `MESSAGE`, `PRIORITY` and more fields, in order.
///
/// Field names must be `[A-Z0-9_]`, start with a letter or a digit and be at most 64
/// characters: journald silently drops any other field, so the entry refuses them at once
/// (a programming error, not bad input).
public struct JournalEntry: Sendable, Equatable {
    /// syslog priorities (`PRIORITY=`).
    public enum Priority: Int, Sendable, Comparable {
        case emergency = 0, alert, critical, error, warning, notice, info, debug

        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }

        /// `crit`, `warning`, … as journalctl and syslog name them.
        public var name: String {
            ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"][rawValue]
        }
    }

    public private(set) var fields: [(name: String, value: String)]

    public static func == (a: JournalEntry, b: JournalEntry) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public init(message: String, priority: Priority, messageID: MessageID? = nil) {
        fields = [("MESSAGE", message), ("PRIORITY", String(priority.rawValue))]
        if let messageID { fields.append(("MESSAGE_ID", messageID.rawValue)) }
    }

    /// Adds a field. - Precondition: `name` is a valid journal field name.
    public mutating func add(_ name: String, _ value: String) {
        precondition(Self.isValidName(name), "journal field name \(name) would be dropped by journald: use [A-Z0-9_], at most 64")
        fields.append((name, value))
    }

    /// The value of a field, or nil.
    public subscript(name: String) -> String? { fields.first { $0.name == name }?.value }

    /// `[A-Z0-9_]`, not starting with `_` (trusted fields are journald's), 1…64 characters.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.first != "_"
            && name.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// A metadata key such as `event.seq` as a field name (`RAQAM_EVENT_SEQ`).
    public static func fieldName(forMetadataKey key: String) -> String {
        let upper = key.uppercased().map { c -> Character in c.isLetter || c.isNumber ? c : "_" }
        let name = "RAQAM_" + String(upper)
        return String(name.prefix(64))
    }
}

/// The fixed MESSAGE_ID of each kind of entry raqamd writes; `systemd/raqamd.catalog`
/// explains each for `journalctl -x`.
public struct MessageID: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public var description: String { rawValue }

    public static let alertFiring = MessageID(rawValue: "1dce8befec544ea59fd2724f1e0048ba")
    public static let alertResolved = MessageID(rawValue: "9a7393d29fde4da49bba7da39df0c30c")
    public static let rulesReloaded = MessageID(rawValue: "89fd9e8480014127a39b5c4090082127")
    public static let rulesRejected = MessageID(rawValue: "44779b86ae8b4fd8ba47a9581813905f")
    /// The rule files are broken when raqamd starts: there are no previous rules to keep.
    public static let rulesBrokenAtStart = MessageID(rawValue: "0c37a3ed2cf3486586ad91977882b02d")
    public static let logRecovered = MessageID(rawValue: "31207bdaebfd467aa3448373e2197b45")
    public static let logCorrupt = MessageID(rawValue: "2bb3dce006e9482b88ddd8e1d81d12e8")

    public static let all: [MessageID] = [.alertFiring, .alertResolved, .rulesReloaded, .rulesRejected, .rulesBrokenAtStart, .logRecovered, .logCorrupt]
}
