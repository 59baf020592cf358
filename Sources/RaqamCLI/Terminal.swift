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
