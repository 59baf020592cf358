public import Journal
import Synchronization

/// A journal sink that keeps the entries it is sent, for tests of code that reports through the
/// journal (as swift-log's InMemoryLogging does for loggers). Thread-safe.
public final class InMemoryJournal: JournalSink {
    private let stored = Mutex<[JournalEntry]>([])

    public init() {}

    @discardableResult
    public func send(_ entry: JournalEntry) -> Journal.Destination {
        stored.withLock { $0.append(entry) }
        return .memory
    }

    /// Every entry sent so far, in order.
    public var entries: [JournalEntry] { stored.withLock { $0 } }

    /// The entries whose field `name` has `value`.
    public func entries(where name: String, is value: String) -> [JournalEntry] {
        entries.filter { $0[name] == value }
    }
}
