import ArgumentParser
import EventLog
import Foundation
import Glibc
import Projections
import RaqamModel
import RaqamStore

struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append NDJSON events (one JSON object per line) to the log.",
        discussion: """
            The whole input is validated before anything is written: every problem is printed \
            as FILE:LINE: field: message, the command exits 65, and nothing is appended. With \
            --skip-invalid, the valid lines are appended and the others go to REJECTS as JSON \
            lines {"file","line","errors","text"}.

            Events whose "id" the log already holds are not stored again; they are counted as \
            already stored, with their original seq (retries are safe).

            When raqamd listens on --socket, the events go through it (the same checks first; \
            the daemon's durability policy applies); otherwise they are appended directly, \
            which needs the log's writer lock.

            With --stream, lines are appended as they arrive (a pipe from a reporter), each \
            acknowledged on stdout as {"line":N,"seq":S,"duplicate":false} once it is durable; \
            invalid lines are reported on stderr and skipped, and the exit code is 65 if there \
            were any.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The NDJSON file, or - for standard input.", valueName: "file"))
    var file: String = "-"

    @Option(help: ArgumentHelp("Append the valid lines and write the invalid ones, with their errors, to this file.", valueName: "rejects"))
    var skipInvalid: String?

    @Flag(help: "Append each line as it arrives and acknowledge it on stdout (for pipes).")
    var stream = false

    @Option(help: ArgumentHelp("When an append is acknowledged: always (after fdatasync), interval (fdatasync every 200 ms), none (one sync at the end; bulk import).", valueName: "policy"))
    var durability: DurabilityArgument = .always

    @Option(name: .shortAndLong, help: "Summary format: table or json.") var output: OutputFormat = .table

    @Option(help: ArgumentHelp("After appending, write a projections snapshot when the log is this many events past the newest one (0: never).", valueName: "n"))
    var snapshotEvery = 100_000

    func validate() throws {
        if stream && skipInvalid != nil { throw ValidationError("--stream reports invalid lines on stderr; --skip-invalid is for whole files") }
    }

    func run() throws {
        if stream { return try runStream() }
        let name = file == "-" ? "<stdin>" : file
        let bytes: [UInt8]
        if file == "-" {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("raqamctl: cannot read \(file): \(FileManager.default.fileExists(atPath: file) ? "permission denied" : "no such file")")
                throw Exit.ioError
            }
            bytes = [UInt8](data)
        }
        var batch = NDJSONBatch(bytes: bytes, file: name)
        if let daemon = DaemonClient(path: global.socketPath) {
            return try appendThroughDaemon(daemon, batch: &batch, bytes: bytes, name: name)
        }
        try withStoreErrors {
            let store = try EventStore(stateDirectory: global.stateDirectory, configuration: .init(durability: durability.policy))
            for line in store.log.recovery.lines { printError("raqamctl: \(line)") }
            try refuseOrSetAside(store.contextIssues(batch.events, lines: batch.lines, file: name), in: &batch, lineBytes: Self.lines(of: bytes), name: name)
            let results = batch.events.isEmpty ? [] : try store.append(batch.events, lines: batch.lines, file: name)
            try store.close()
            try snapshotIfDue(store)
            report(results, rejected: batch.rejected.count)
        }
    }

    /// Adds the problems only the log can tell (unknown subjects, future dates) to the batch's,
    /// then either refuses the whole input (exit 65, every problem printed) or, with
    /// --skip-invalid, moves the bad lines to the rejects file.
    private func refuseOrSetAside(_ contextIssues: [ValidationIssue], in batch: inout NDJSONBatch, lineBytes: [[UInt8]], name: String) throws {
        if !contextIssues.isEmpty {
            let bad = Set(contextIssues.compactMap(\.line))
            for (i, line) in batch.lines.enumerated().reversed() where bad.contains(line) {
                batch.rejected.append((line, lineBytes[line - 1]))
                batch.events.remove(at: i)
                batch.lines.remove(at: i)
            }
            batch.issues += contextIssues
        }
        batch.issues.sort { ($0.line ?? 0) < ($1.line ?? 0) }
        if !batch.issues.isEmpty {
            guard let rejects = skipInvalid else {
                for issue in batch.issues { printError(issue.description) }
                printError("raqamctl: \(batch.issues.count) problems in \(name); nothing was appended")
                throw Exit.dataError
            }
            try writeRejects(batch, to: rejects, file: name)
        }
    }

    /// The same contract through a running raqamd: the whole input is checked first (syntax,
    /// and subjects against the log, read without its lock), then the valid lines are sent and
    /// each acknowledged once durable. The daemon's durability policy applies.
    private func appendThroughDaemon(_ daemon: DaemonClient, batch: inout NDJSONBatch, bytes: [UInt8], name: String) throws {
        let known = try withStoreErrors { try EventStore.registeredSubjects(stateDirectory: global.stateDirectory) }
        let lineBytes = Self.lines(of: bytes)
        try refuseOrSetAside(EventStore.contextIssues(batch.events, known: known, lines: batch.lines, file: name), in: &batch, lineBytes: lineBytes, name: name)
        let replies: [String]
        do {
            replies = try daemon.exchange(batch.lines.map { lineBytes[$0 - 1][...] })
        } catch {
            printError("raqamctl: \(error); the events acknowledged before it are stored")
            throw Exit.ioError
        }
        var results: [EventLog.Appended] = []
        var refused = 0
        for (line, reply) in zip(batch.lines, replies) {
            if let ack = parseAck(reply) {
                results.append(.init(seq: ack.seq, isDuplicate: ack.isDuplicate))
            } else {
                refused += 1
                printError("\(name):\(line): raqamd refused it: \(reply)")
            }
        }
        report(results, rejected: batch.rejected.count)
        if refused > 0 { throw Exit.dataError }
    }

    /// `--stream` through raqamd: each chunk's lines are sent as they arrive; the daemon
    /// validates them and acknowledges each once durable.
    private func streamThroughDaemon(_ daemon: DaemonClient, fd: Int32, name: String) throws {
        let out = Output()
        var invalid = 0
        try forEachChunkOfLines(fd) { chunk in
            var lines: [ArraySlice<UInt8>] = [], numbers: [Int] = []
            for (lineNumber, line) in chunk {
                if line.first != UInt8(ascii: "{") {
                    printError("\(name):\(lineNumber): malformed JSON: expected an object")
                    invalid += 1
                    continue
                }
                lines.append(line[...])
                numbers.append(lineNumber)
            }
            guard !lines.isEmpty else { return }
            let replies: [String]
            do { replies = try daemon.exchange(lines) } catch {
                printError("raqamctl: \(error)")
                throw Exit.ioError
            }
            for (line, reply) in zip(numbers, replies) {
                if let ack = parseAck(reply) {
                    out.line("{\"line\":\(line),\"seq\":\(ack.seq),\"duplicate\":\(ack.isDuplicate)}")
                } else {
                    printError("\(name):\(line): \(reply.hasPrefix("error ") ? String(reply.dropFirst(6)) : reply)")
                    invalid += 1
                }
            }
            out.flush()
        }
        if invalid > 0 {
            printError("raqamctl: \(invalid) invalid lines were skipped")
            throw Exit.dataError
        }
    }

    /// Keeps restarts short: a snapshot every `--snapshot-every` events (docs/projections.md).
    private func snapshotIfDue(_ store: EventStore) throws {
        if let written = try Replay.snapshotIfDue(stateDirectory: global.stateDirectory, lastSeq: store.log.lastSeq, every: snapshotEvery) {
            printError("raqamctl: wrote the snapshot \(written)")
        }
    }

    private func report(_ results: [EventLog.Appended], rejected: Int) {
        let added = results.filter { !$0.isDuplicate }
        if output == .json {
            var w = JSONWriter()
            w.beginObject()
            w.key("appended"); w.integer(added.count)
            w.key("already_stored"); w.integer(results.count - added.count)
            w.key("rejected"); w.integer(rejected)
            w.key("first_seq"); if let f = added.first { w.integer(f.seq) } else { w.null() }
            w.key("last_seq"); if let l = added.last { w.integer(l.seq) } else { w.null() }
            w.endObject()
            print(w.text)
        } else {
            var text = "appended \(plural(added.count, "event"))"
            if let f = added.first, let l = added.last { text += f.seq == l.seq ? " (seq \(f.seq))" : " (seq \(f.seq)…\(l.seq))" }
            if results.count > added.count { text += "; \(plural(results.count - added.count, "event")) already stored" }
            if rejected > 0 { text += "; \(plural(rejected, "invalid line")) written to \(skipInvalid!)" }
            print(text)
        }
    }

    private func writeRejects(_ batch: NDJSONBatch, to path: String, file: String) throws {
        var out = ""
        let byLine = Dictionary(grouping: batch.issues, by: { $0.line ?? 0 })
        for (line, text) in batch.rejected.sorted(by: { $0.line < $1.line }) {
            var w = JSONWriter()
            w.beginObject()
            w.key("file"); w.string(file)
            w.key("line"); w.integer(line)
            w.key("errors"); w.beginArray()
            for issue in byLine[line] ?? [] { w.string((issue.field.map { $0 + ": " } ?? "") + issue.message) }
            w.endArray()
            w.key("text"); w.string(String(decoding: text, as: UTF8.self))
            w.endObject()
            out += w.text + "\n"
        }
        for issue in batch.issues where issue.line == nil { printError(issue.description) }
        do {
            try out.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            printError("raqamctl: cannot write \(path): \(error.localizedDescription); nothing was appended")
            throw Exit.ioError
        }
    }

    static func lines(of bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { var l = Array($0); if l.last == 0x0D { l.removeLast() }; return l }
    }

    /// Appends lines as they arrive, in groups of whatever is buffered.
    private func runStream() throws {
        let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY)
        guard fd >= 0 else {
            printError("raqamctl: cannot read \(file): \(String(cString: strerror(errno)))")
            throw Exit.ioError
        }
        let name = file == "-" ? "<stdin>" : file
        if let daemon = DaemonClient(path: global.socketPath) {
            return try streamThroughDaemon(daemon, fd: fd, name: name)
        }
        let out = Output()
        var invalid = 0
        try withStoreErrors {
            let store = try EventStore(stateDirectory: global.stateDirectory, configuration: .init(durability: durability.policy))
            for line in store.log.recovery.lines { printError("raqamctl: \(line)") }
            try forEachChunkOfLines(fd) { chunk in
                var events: [Event] = [], lines: [Int] = []
                for (lineNumber, line) in chunk {
                    switch EventDecoder.decode(line: line) {
                    case .event(let e):
                        let registeredHere = events.contains { $0.type == .entityRegistered && $0.subject == e.subject }
                        if e.type != .entityRegistered && !registeredHere && !store.isRegistered(e.subject) {
                            printError(EventStore.unknownSubject(e.subject, file: name, line: lineNumber).description)
                            invalid += 1
                        } else {
                            events.append(e)
                            lines.append(lineNumber)
                        }
                    case .invalid(let issues):
                        for var i in issues {
                            i.file = name
                            i.line = lineNumber
                            printError(i.description)
                        }
                        invalid += 1
                    }
                }
                guard !events.isEmpty else { return }
                let results = try store.append(events, lines: lines, file: name)
                for (line, r) in zip(lines, results) {
                    out.line("{\"line\":\(line),\"seq\":\(r.seq),\"duplicate\":\(r.isDuplicate)}")
                }
                out.flush()
            }
            try store.close()
            try snapshotIfDue(store)
        }
        if invalid > 0 {
            printError("raqamctl: \(invalid) invalid lines were skipped")
            throw Exit.dataError
        }
    }
}

/// `--durability always|interval|none`.
enum DurabilityArgument: String, ExpressibleByArgument, CaseIterable {
    case always, interval, none

    var policy: EventLog.Durability {
        switch self {
        case .always: .always
        case .interval: .interval(milliseconds: 200)
        case .none: .none
        }
    }
}

/// Reads `fd` a chunk at a time (64 KiB) until its end and hands `body` the lines each chunk
/// completed, numbered from 1, without their line ends (LF or CRLF); blank lines are counted
/// but not handed over; a last line without a newline is handed over at the end. What both
/// kinds of `append --stream` (direct and through raqamd) read their input with.
func forEachChunkOfLines(_ fd: Int32, _ body: ([(number: Int, bytes: [UInt8])]) throws -> Void) throws {
    var pending: [UInt8] = []
    var lineNumber = 0
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var eof = false
    while !eof {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { eof = true } else { pending += chunk[0..<n] }
        var lines: [(number: Int, bytes: [UInt8])] = []
        while let nl = pending.firstIndex(of: 0x0A) ?? (eof && !pending.isEmpty ? pending.count : nil) {
            var line = Array(pending[..<nl])
            pending.removeFirst(min(nl + 1, pending.count))
            lineNumber += 1
            if line.last == 0x0D { line.removeLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            lines.append((lineNumber, line))
        }
        if !lines.isEmpty { try body(lines) }
    }
}
