import ArgumentParser
import Foundation
import RaqamModel
import RaqamStore
import RaqamControl
import RaqamSystem
import RaqamEngine

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The state directory holding events/ (default: $RAQAM_STATE_DIR, else /var/lib/raqam).", valueName: "dir"))
    var stateDir: String?

    var stateDirectory: String {
        stateDir ?? ProcessInfo.processInfo.environment["RAQAM_STATE_DIR"] ?? "/var/lib/raqam"
    }

    @OptionGroup var daemon: SocketOptions

    @Flag(help: "Never pipe the output through the pager ($RAQAM_PAGER, else $PAGER, else less; only on a terminal).")
    var noPager = false

    var socketPath: String { daemon.socketPath }

    /// The log's directory, for commands that only read: exit 74 with a hint when there is none.
    func existingEventsDirectory() throws -> String {
        let dir = FileEventStore.eventsDirectory(stateDirectory)
        do { _ = try FileCalls.information(dir) } catch {
            // EACCES: the state directory exists but this user may not enter it.
            if error.errno == EACCES {
                printError("raqamctl: permission denied on \(stateDirectory): to read the log, be a member of its group (raqam-read, when installed from the package: adduser \(NSUserName()) raqam-read)")
            } else {
                printError("raqamctl: no event log in \(stateDirectory) (run raqamctl init first)")
            }
            throw Exit.ioError
        }
        return dir
    }
}

/// `--socket`: where raqamctl finds a running raqamd.
struct SocketOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("raqamd's control socket (default: $RAQAM_SOCKET, else /run/raqam/raqamd.sock): where raqamctl finds a running raqamd (append and init write through it, reads wait there until what it acknowledged is evaluated, status and reload ask it).", valueName: "path"))
    var socket: String?

    var socketPath: String {
        socket ?? ProcessInfo.processInfo.environment["RAQAM_SOCKET"] ?? "/run/raqam/raqamd.sock"
    }
}

/// `-o table|json`: the commands whose answer is one report, not a list of rows.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// CSV of JSON objects as the HTTP API answers them: `columns` in order, strings as they are,
/// null empty, flags and numbers as JSON writes them.
func csvRows(_ objects: [[String: Any]], columns: [String]) -> String {
    func field(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return ""
        case let s as String: return s
        default: return "\(v!)"
        }
    }
    var out = columns.joined(separator: ",") + "\n"
    for o in objects { out += columns.map { Queries.csvField(field(o[$0])) }.joined(separator: ",") + "\n" }
    return out
}

/// `-o table|json|ndjson|csv`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, ndjson, csv
}

/// The documented exit codes (sysexits.h numbers where one fits).
enum Exit {
    static let findings = ExitCode(1)
    static let usage = ExitCode(2)
    static let dataError = ExitCode(65)
    static let ioError = ExitCode(74)
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints why the store refused and returns the exit code that says so.
func storeExitCode(for error: StoreError) -> ExitCode {
    switch error {
    case .invalid(let issues):
        for i in issues { printError(i.description) }
        return Exit.dataError
    case .failed(let e):
        printError("raqamctl: \(e.description)")
        return Exit.ioError
    case .undecodable:
        printError("raqamctl: \(error.description)")
        return Exit.ioError
    }
}

/// Runs `body`, turning store and log errors into their message and exit code.
@discardableResult
func withStoreErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as StoreError {
        throw storeExitCode(for: e)
    } catch let e as StoreFailure {
        // A log read directly (a record log's reader): the same message and exit code.
        printError("raqamctl: \(e.description)")
        throw Exit.ioError
    }
}

/// A time option's value (`--at`, `--since`, …), in the forms journalctl takes
/// (`TimeExpression`): parsed with the command line, so a value that is none of them is a
/// usage error (exit 64) naming the option, with the subcommand's usage.
func timeArgument(_ text: String) throws -> TimeExpression {
    guard let t = TimeExpression(text) else { throw ValidationError("\"\(text)\" is not a time; use \(TimeExpression.forms)") }
    return t
}

/// The present, as a time options are resolved against.
func wallNow() -> Timestamp { Timestamp(micros: Int64(Date().timeIntervalSince1970 * 1_000_000), offsetMinutes: CalendarDate.tashkentOffsetMinutes) }

extension TimeExpression {
    /// The instant meant by an option that asks "by when" (a day is its end).
    var byWhen: Timestamp { resolve(now: wallNow(), edge: .end) }
    /// The instant meant by an option that asks "from when" (a day is its start).
    var fromWhen: Timestamp { resolve(now: wallNow(), edge: .start) }
}

/// Left-aligned columns separated by two spaces, for people; on a terminal the header is
/// bold and a row may have a colour (`Terminal.paint`).
func renderTable(_ header: [String], _ rows: [[String]], colour: (([String]) -> String?)? = nil) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }
            .joined(separator: "  ")
    }
    let body = rows.map { row in colour?(row).map { Terminal.paint(line(row), $0) } ?? line(row) }
    return ([Terminal.paint(line(header), "1")] + body).joined(separator: "\n")
}

/// The colour of a row by its severity cell: critical red, warning yellow.
func severityColour(column: Int) -> ([String]) -> String? {
    { row in
        guard column < row.count else { return nil }
        switch row[column] {
        case "critical": return "31"
        case "warning": return "33"
        default: return nil
        }
    }
}

/// A CSV field, quoted when it must be (RFC 4180).
func csvField(_ s: String) -> String { Queries.csvField(s) }

/// Standard output, written in large blocks (a log dump can be millions of lines).
final class Output {
    private var buffer: [UInt8] = []

    func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}

/// "1 event", "2 events".
func plural(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }

/// The running raqamd on its control socket, or nil when none listens there (a command that
/// writes then writes the log itself). A socket this user may not connect to is not "no
/// raqamd": the command stops (74) and says who may, instead of trying the log behind it.
func controlClient(_ path: String, toDo purpose: String) throws -> ControlClient? {
    do { return try ControlClient(connectingTo: path) } catch {
        guard error.errno == EACCES || error.errno == EPERM else { return nil }
        printError("raqamctl: permission denied on raqamd's control socket \(path): to \(purpose), be a member of its group (raqam, when installed from the package: adduser \(NSUserName()) raqam)")
        throw Exit.ioError
    }
}
