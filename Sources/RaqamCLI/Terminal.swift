import Foundation
import Glibc
import Synchronization

/// Colours and the pager, as journalctl has them: only when standard output is a terminal.
/// Colours are off under `NO_COLOR` (https://no-color.org) or `TERM=dumb`; the pager is
/// `$RAQAM_PAGER`, else `$PAGER`, else `less` (with `LESS=FRSXMK` when `LESS` is unset: it
/// quits when the output fits one screen, and passes colours through); `--no-pager`, or a pager
/// set to `cat` or to nothing, turns it off.
enum Terminal {
    /// Decided once, before a pager takes standard output over.
    static let colours: Bool = {
        let env = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) != 0 && (env["NO_COLOR"] ?? "").isEmpty && env["TERM"] != "dumb"
    }()

    /// `text` in an SGR colour (`31` red, `33` yellow) when colours are on.
    static func paint(_ text: String, _ code: String) -> String {
        colours ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// The subcommands whose output is a listing worth paging (not a follow, not a report of
    /// work done).
    static let pagedCommands: Set<String> = ["events", "show", "summary", "lagging", "alerts", "explain", "stats", "tokens"]

    /// Whether raqamctl run with `arguments` (as parsed: the subcommand first) pages.
    static func pages(_ arguments: [String]) -> Bool {
        guard let command = arguments.first, pagedCommands.contains(command), isatty(STDOUT_FILENO) != 0 else { return false }
        return !arguments.contains { ["--no-pager", "--follow", "-f", "--help", "-h"].contains($0) }
    }

    /// Pipes standard output through the pager until the process exits (then waits for it).
    static func startPager() {
        let env = ProcessInfo.processInfo.environment
        let command = env["RAQAM_PAGER"] ?? env["PAGER"] ?? "less"
        guard !command.trimmingCharacters(in: .whitespaces).isEmpty, command != "cat" else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        defer { posix_spawn_file_actions_destroy(&actions) }
        var environment = env
        if environment["LESS"] == nil { environment["LESS"] = "FRSXMK" }
        let argv = ["/bin/sh", "-c", command]
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", &actions, nil, cArgs, cEnv) == 0 else {
            close(fds[0]); close(fds[1])
            return
        }
        close(fds[0])
        dup2(fds[1], STDOUT_FILENO)
        close(fds[1])
        pagerPID.store(pid, ordering: .relaxed)
        atexit {
            fflush(nil)
            close(STDOUT_FILENO)
            var status: Int32 = 0
            _ = waitpid(Terminal.pagerPID.load(ordering: .relaxed), &status, 0)
        }
    }

    static let pagerPID = Atomic<Int32>(0)
}

/// A progress line on standard error for long work, when standard error is a terminal: what is
/// done of what, the rate and the time left, rewritten in place at most four times a second,
/// shown only once the work has taken a second (`RAQAM_PROGRESS_AFTER`), and erased when it ends (the command's own
/// report follows).
///     checking feed.ndjson: 41% (1.2 GB of 2.9 GB), 38 MB/s, 44 s left
final class ProgressLine {
    enum Unit { case bytes, events }

    private let label: String
    private let total: Int64
    private let unit: Unit
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private var shown = false

    /// nil when standard error is not a terminal.
    init?(_ label: String, total: Int64, unit: Unit) {
        guard isatty(STDERR_FILENO) != 0, total > 0 else { return nil }
        self.label = label
        self.total = total
        self.unit = unit
    }

    func update(_ done: Int64) {
        let now = Date()
        let elapsed = now.timeIntervalSince(started)
        guard elapsed >= Self.delay, now.timeIntervalSince(lastDrawn) >= 0.25 else { return }
        lastDrawn = now
        shown = true
        let rate = Double(done) / elapsed
        let left = rate > 0 ? Double(total - done) / rate : 0
        let share = min(100, Int(Double(done) * 100 / Double(total)))
        let text = "\(label): \(share)% (\(amount(done)) of \(amount(total))), \(amount(Int64(rate)))/s, \(Self.duration(left)) left"
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    /// Seconds of work before the line appears: 1, or `RAQAM_PROGRESS_AFTER`.
    static let delay: Double = ProcessInfo.processInfo.environment["RAQAM_PROGRESS_AFTER"].flatMap(Double.init) ?? 1

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }

    private func amount(_ n: Int64) -> String {
        switch unit {
        case .events: return n >= 1_000_000 ? String(format: "%.1fM events", Double(n) / 1e6) : "\(n) events"
        case .bytes:
            if n >= 1 << 30 { return String(format: "%.1f GB", Double(n) / Double(1 << 30)) }
            if n >= 1 << 20 { return String(format: "%.1f MB", Double(n) / Double(1 << 20)) }
            return "\(n / 1024) KB"
        }
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600) h \(s % 3600 / 60) min" : s >= 60 ? "\(s / 60) min \(s % 60) s" : "\(s) s"
    }
}
