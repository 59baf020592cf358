public import Logging

/// A swift-log handler that writes raqamd's own diagnostics to the journal (standard error
/// without journald), with `CODE_FILE`, `CODE_LINE`, `CODE_FUNC`, the logger's label as
/// `RAQAM_LOGGER`, and each metadata key as a field (`event.seq` → `RAQAM_EVENT_SEQ`).
///
/// A log message with metadata `message.id` is sent with that `MESSAGE_ID`.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    /// Also write each entry that went to journald on standard error: set when standard error
    /// is a terminal, so that raqamd started by hand says why it stops (under systemd its
    /// standard error is the journal itself).
    public var echoToTerminal = false
    let label: String
    let journal: Journal

    public init(label: String, journal: Journal) {
        self.label = label
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let priority: JournalEntry.Priority = switch event.level {
        case .trace, .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let messageID = all.removeValue(forKey: "message.id").map { MessageID(rawValue: "\($0)") }
        var entry = JournalEntry(message: "\(event.message)", priority: priority, messageID: messageID)
        entry.add("CODE_FILE", event.file)
        entry.add("CODE_LINE", String(event.line))
        entry.add("CODE_FUNC", event.function)
        entry.add("RAQAM_LOGGER", label)
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            entry.add(JournalEntry.fieldName(forMetadataKey: key), "\(value)")
        }
        if journal.send(entry) == .journald && echoToTerminal {
            var shown = entry
            shown.add("SYSLOG_IDENTIFIER", "raqamd")
            Journal.writeToStandardError(Journal.stderrLine(shown) + "\n")
        }
    }
}
