import Glibc
import Synchronization
import RaqamSystem

/// Where journal entries are sent. raqamd's core takes one: `Journal` (journald, else standard
/// error) in the daemon, an in-memory sink (`InMemoryJournal`) in tests.
public protocol JournalSink: Sendable {
    /// Sends an entry and says where it went.
    @discardableResult
    func send(_ entry: JournalEntry) -> Journal.Destination
}

/// Where journal entries go: journald when it listens, standard error otherwise.
///
/// `sd_journal_sendv` returns 0 even when nothing listens on journald's socket, and an entry
/// sent there is lost. So before each entry the journal checks the socket itself (a datagram
/// connect: refused or missing means no journald) and, without one, writes the entry to
/// standard error in a readable line. Thread-safe.
public final class Journal: JournalSink {
    /// Where an entry went.
    public enum Destination: Sendable, Equatable { case journald, stderr, memory }

    /// `SYSLOG_IDENTIFIER` of every entry.
    public let identifier: String
    let socketPath: String
    /// Serializes standard-error lines so that concurrent entries do not interleave.

    /// - Parameters:
    ///   - socketPath: the socket probed for journald. `sd_journal_sendv` always sends to
    ///     journald's own path, so any other path means "no journald": entries go to standard
    ///     error (what tests of the fallback use).
    public init(identifier: String = "raqamd", socketPath: String = "/run/systemd/journal/socket") {
        self.identifier = identifier
        self.socketPath = socketPath
    }

    /// True when journald listens on the socket now.
    public var isListening: Bool { JournalSocket.isListening(socketPath) }

    /// Sends an entry (adding `SYSLOG_IDENTIFIER`) and says where it went.
    @discardableResult
    public func send(_ entry: JournalEntry) -> Destination {
        var entry = entry
        if entry["SYSLOG_IDENTIFIER"] == nil { entry.add("SYSLOG_IDENTIFIER", identifier) }
        if socketPath == "/run/systemd/journal/socket", isListening,
           Systemd.journalSendv(entry.fields.map { Array("\($0.name)=\($0.value)".utf8) }) == 0 {
            return .journald
        }
        Self.writeToStandardError(Self.stderrLine(entry) + "\n")
        return .stderr
    }

    private static let stderrLock = Mutex(())

    /// Writes `line` to standard error whole (one write, not interleaved with another thread's).
    public static func writeToStandardError(_ line: String) {
        stderrLock.withLock { _ in
            line.utf8CString.withUnsafeBufferPointer { p in _ = write(2, p.baseAddress, p.count - 1) }
        }
    }

    /// `raqamd[warning]: MESSAGE (RAQAM_RULE=… RAQAM_ENTITY=…)`: what an operator reads when
    /// no journald runs.
    public static func stderrLine(_ entry: JournalEntry) -> String {
        let priority = entry["PRIORITY"].flatMap(Int.init).flatMap(JournalEntry.Priority.init(rawValue:))?.name ?? "info"
        let extra = entry.fields.filter { !["MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"].contains($0.name) }
            .map { "\($0.name)=\($0.value.contains(" ") ? "\"\($0.value)\"" : $0.value)" }
        let message = (entry["MESSAGE"] ?? "").replacingNewlines()
        return "\(entry["SYSLOG_IDENTIFIER"] ?? "raqamd")[\(priority)]: \(message)" + (extra.isEmpty ? "" : " (\(extra.joined(separator: " ")))")
    }
}

/// journald's native socket.
enum JournalSocket {
    /// Connects a datagram socket to `path`: journald listens when that succeeds.
    static func isListening(_ path: String) -> Bool {
        (try? UnixSocket(connectingTo: path, kind: .datagram)) != nil
    }
}

extension String {
    func replacingNewlines() -> String {
        String(map { $0 == "\n" ? " " : $0 })
    }
}
